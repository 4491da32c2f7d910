"""How the tone models on a corpus they never heard improve with the number of corpora they are trained on.

The shipped recipe (tonekit.models.train.DEFAULT_PARAMS, the four training copies of every utterance) is
trained on every set of k of the corpora, k = 1 to one less than their number, and tested on each corpus
left out, wideband and through the phone line. For each held-out corpus and k, the ROC AUC, the UAR, the
even-odds ECE and the calibration line's slope (scripts/calibration_limits.py: above 1 under-confident, below
1 over-confident) are averaged over the training sets of k corpora without it; the first table gives their mean
over the held-out corpora, so that every k is judged on the same four test corpora, each weighing the same.
k = 3 with four corpora is the cross-corpus protocol of scripts/evaluate.py (the same fits as
scripts/calibration_limits.py).

It reads the trend the shipped models (trained on all four corpora) continue on corpora, languages and speakers
that are not here, which no split of four corpora can measure directly.

Usage::

    python scripts/corpus_count.py --out results/corpus_count.json

It fits 14 models per target with four corpora (42; about 7 minutes on 2 cores once scripts/evaluate.py has
cached the corpus features). ``--save-predictions FILE.parquet`` keeps the held-out probabilities;
``--predictions FILE.parquet`` reads them back instead of fitting.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from calibration_limits import calibration_line, trained_on  # noqa: E402
from evaluate import _md  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.features import CONDITIONS, TRAINING_CONDITIONS, corpus_features, default_cache_dir  # noqa: E402
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.train import metrics  # noqa: E402

COLUMNS = ["auc", "uar", "ece_balanced", "slope"]


def training_sets(corpora) -> list[tuple]:
    """Every set of 1 to ``len(corpora) - 1`` of the corpora, smallest first."""
    corpora = sorted(corpora)
    return [s for k in range(1, len(corpora)) for s in itertools.combinations(corpora, k)]


def fit_rows(pred: pd.DataFrame) -> pd.DataFrame:
    """One row per target, line, training set and held-out corpus: k, AUC, UAR, even-odds ECE, slope."""
    rows = []
    for (t, c, train, h), g in pred.groupby(["target", "condition", "train", "test"]):
        m = metrics(g.y, g.p)
        rows.append({"target": t, "condition": c, "k": train.count("+") + 1, "train": train, "test": h,
                     "auc": m["auc"], "uar": m["uar"], "ece_balanced": m["ece_balanced"],
                     "slope": calibration_line(g.y, g.p)[0]})
    return pd.DataFrame(rows)


def curves(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(means, per_corpus)``: per held-out corpus and k the mean over its training sets, then per k the mean
    over the held-out corpora."""
    per_corpus = rows.groupby(["target", "condition", "test", "k"], as_index=False)[COLUMNS].mean()
    means = per_corpus.groupby(["target", "condition", "k"], as_index=False)[COLUMNS].mean()
    return means, per_corpus


def report(pred: pd.DataFrame) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(markdown text, means, per_corpus, fits)``: the tables of :func:`curves` and the rows of
    :func:`fit_rows`."""
    fits = fit_rows(pred)
    means, per_corpus = curves(fits)
    text = "\n\n".join([
        "The shipped recipe trained on k corpora and tested on each corpus left out (scripts/corpus_count.py): per "
        "k, the mean over the held-out corpora of each one's mean over the training sets of k corpora without it. "
        "ece_balanced: expected calibration error at even odds (the target: 0.08 or less); slope: the calibration "
        "line's (1 when calibrated, above 1 under-confident, below 1 over-confident):",
        _md(means, ".3f"),
        "Per held-out corpus:",
        _md(per_corpus, ".3f")]) + "\n"
    return text, means, per_corpus, fits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"), help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()))
    ap.add_argument("--targets", default=",".join(TARGET_NAMES))
    ap.add_argument("--jobs", type=int, default=2, help="models fitted at once")
    ap.add_argument("--predictions", help="read the held-out probabilities from this parquet file instead of fitting")
    ap.add_argument("--save-predictions", help="write the held-out probabilities to this parquet file")
    ap.add_argument("--out", help="write the tables as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)
    t0 = time.time()
    names = args.targets.split(",")
    bad = [t for t in names if t not in TARGET_NAMES]
    if bad:
        ap.error(f"--targets: {', '.join(bad)} is not a target ({', '.join(TARGET_NAMES)})")
    if args.predictions and not Path(args.predictions).is_file():
        ap.error(f"--predictions: {args.predictions}: no such file (write one with --save-predictions)")
    if args.predictions:
        pred = pd.read_parquet(args.predictions)
        pred = pred[pred.target.isin(names)]
    else:
        from joblib import Parallel, delayed
        from tqdm import tqdm

        table = targets(load_corpora(args.corpora)).reset_index(drop=True)
        labelled = {t: table.groupby("corpus")[t].nunique().loc[lambda n: n == 2].index for t in names}
        todo = [(t, s) for t in names for s in training_sets(labelled[t])]   # corpora with both classes of t
        if not todo:
            ap.error(f"--corpora: {args.corpora}: no two corpora have both classes of {', '.join(names)}")
        feats = {c: corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
                 for c in dict.fromkeys(TRAINING_CONDITIONS + CONDITIONS)}
        out = Parallel(n_jobs=args.jobs, return_as="generator")(
            delayed(trained_on)(table, feats, t, list(s)) for t, s in todo)
        pred = pd.concat([p.assign(train="+".join(s)) for (t, s), p in
                          zip(todo, tqdm(out, total=len(todo), desc="fits", file=sys.stderr))], ignore_index=True)
    if args.save_predictions:
        Path(args.save_predictions).parent.mkdir(parents=True, exist_ok=True)
        pred.to_parquet(args.save_predictions)
    text, means, per_corpus, fits = report(pred)
    print(text)
    if args.out:
        out_path = Path(args.out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({"means": means.to_dict(orient="records"),
                                        "per_corpus": per_corpus.to_dict(orient="records"),
                                        "fits": fits.to_dict(orient="records"),
                                        "seconds": round(time.time() - t0, 1)}, indent=1, default=float))
        out_path.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
