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

import itertools
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from calibration_limits import calibration_line, predictions, script_args, trained_on, write_tables  # noqa: E402
from evaluate import _md  # noqa: E402
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


def _trained_on(table: pd.DataFrame, feats: dict, target: str, train: tuple) -> pd.DataFrame:
    """:func:`calibration_limits.trained_on`, each row naming its training set (``emodb+nemo``)."""
    return trained_on(table, feats, target, list(train)).assign(train="+".join(train))


def plan(table: pd.DataFrame, names: list) -> list:
    """The fits: for each target, every training set of the corpora with both of its classes."""
    todo = []
    for t in names:
        labelled = table.groupby("corpus")[t].nunique().loc[lambda n: n == 2].index
        todo += [(_trained_on, (t, s)) for s in training_sets(labelled)]
    if not todo:
        raise SystemExit(f"corpus_count.py: error: no two corpora have both classes of {', '.join(names)}")
    return todo


def main(argv=None) -> int:
    ap = script_args(__doc__.split("\n\n")[0])
    args = ap.parse_args(argv)
    t0 = time.time()
    text, means, per_corpus, fits = report(predictions(ap, args, plan))
    print(text)
    write_tables(args.out, {"means": means, "per_corpus": per_corpus, "fits": fits}, text, t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
