#!/usr/bin/env python3
"""Simulated calls of a corpus the models never heard, before and after ``tonekit recalibrate``.

For each corpus calls are voiced from (``simulate_calls.CORPORA``: Emo-DB, RAVDESS and nEMO; TurEV-DB's single
words make no call), models are trained as the shipped ones on the other corpora, TurEV-DB included
(``evaluate_calls.train_fold_models`` with every speaker of that corpus held out). Two of its speakers
(drawn with the seed) are the "labelled speakers" of a population: their utterances give each model a
calibration line (:func:`tonekit.models.train.calibration_line`, as ``tonekit recalibrate`` fits it, on the
recordings as recorded). Calls are simulated from the corpus's other speakers only
(``simulate_calls.py``), analysed with the models, and their tone events (tips 7, 8, 9) made twice: from
the windows as scored, and from the same windows with each model's line applied (the matcher re-run on them,
as ``evaluate_calls.py --rescore`` does: what an analysis with the recalibrated models gives, since the
events come from the windows). Tips 1 and 12 and the caller-anger AUC do not depend on it (the line is
increasing).

Usage::

    python scripts/recalibrated_calls.py --n-calls 24 --seed 20 --out results/recalibrated_calls

About 15 minutes on 2 cores once the corpus features are cached (one model set of three targets per corpus).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate_calls as ec  # noqa: E402
from evaluate import _md  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.features import corpus_features, default_cache_dir  # noqa: E402
from tonekit.models.store import recalibrated  # noqa: E402
from tonekit.models.train import analysed, calibration_line  # noqa: E402

TARGETS = ("anger", "calm", "warmth")


def reserve_speakers(speakers, k: int, seed: int) -> tuple[list, list]:
    """``(reserved, rest)``: ``k`` of ``speakers`` drawn with ``seed`` (sorted first, so the draw does not depend on
    their order), and the others."""
    spk = sorted(map(str, speakers))
    reserved = sorted(np.random.default_rng(seed).choice(spk, k, replace=False).tolist())
    return reserved, [s for s in spk if s not in reserved]


def fit_lines(models: dict, table: pd.DataFrame, cache_dir=None) -> dict:
    """``{target: (slope, intercept)}``: each model's calibration line on the labelled recordings of ``table``
    (as recorded), as ``tonekit recalibrate`` fits it."""
    X = corpus_features(table, "wideband", cache_dir=cache_dir)
    ok = analysed(X).to_numpy()
    lines = {}
    for t in TARGETS:
        rows = ok & table[t].notna().to_numpy()
        y = table.loc[rows, t].astype(int).to_numpy()
        lines[t] = calibration_line(y, models[t].predict_proba(X[rows]))
    return lines


def recalibrated_windows(windows: pd.DataFrame, lines: dict) -> pd.DataFrame:
    """A copy of an analysis's windows with each target's line applied to its column (NaN stays NaN)."""
    out = windows.copy()
    for t, (slope, intercept) in lines.items():
        p = out[t].to_numpy(dtype=float, copy=True)
        scored = np.isfinite(p)
        p[scored] = recalibrated(p[scored], slope, intercept)
        out[t] = p
    return out


def tips_table(summaries: dict) -> pd.DataFrame:
    """Rows of (corpus, models, tip): recall, precision, true events; from :func:`evaluate_calls.summarise`
    outputs keyed by (corpus, models)."""
    rows = []
    for (corpus, which), s in summaries.items():
        for tip in (7, 8, 9):
            t = s["tips"][tip]
            rows.append({"corpus": corpus, "models": which, "tip": tip, "true": t["true"], "found": t["found"],
                         "flagged": t["flagged"], "recall": t["recall"], "precision": t["precision"]})
    return pd.DataFrame(rows)


def run(corpora, *, n_calls: int, seed: int, k: int = 2, cache_dir=None, only=None,
        whisper_every=None) -> tuple[dict, dict]:
    import dataclasses

    import tonekit
    from tonekit.match import MatchOptions
    from tqdm import tqdm

    sim = ec._simulator()
    table = targets(load_corpora(corpora))
    pool = sim.load_pool(corpora)
    records = {}
    lines_by_corpus = {}
    for corpus in sorted(pool.corpus.unique()):
        if only and corpus not in only:
            continue
        speakers = sorted(pool.loc[pool.corpus == corpus, "speaker"].unique())
        reserved, rest = reserve_speakers(speakers, k, seed)
        print(f"{corpus}: training without its {len(speakers)} speakers ...", file=sys.stderr)
        models = ec.train_fold_models(table, speakers, cache_dir)
        lines = fit_lines(models, table[table.speaker.isin(reserved)].reset_index(drop=True), cache_dir)
        lines_by_corpus[corpus] = {"reserved": reserved, **{t: list(v) for t, v in lines.items()}}
        root = Path(tempfile.mkdtemp(prefix="tonekit_recal_"))
        try:
            paths = sim.simulate_calls(corpora, root, n_calls=n_calls, seed=seed * 1000 + len(records),
                                       speakers=rest)
            base, recal = [], []
            for path in tqdm(paths, desc=corpus, unit="call", file=sys.stderr):
                truth = json.loads(path.read_text(encoding="utf-8"))
                rec = {"call": path.with_suffix("").name, "corpus": corpus, "telephone": truth["telephone"],
                       "duration_s": truth["duration_s"], "timeline": truth.get("timeline", "mixed"), "seconds": 0.0}
                try:
                    a = tonekit.analyze(str(path.parent / truth["audio"]), models=models,
                                        **({} if whisper_every is None else {"whisper_every": whisper_every}))
                except Exception as exc:   # one failed call must not stop the run
                    base.append({**rec, "error": f"{type(exc).__name__}: {exc}"})
                    recal.append(base[-1])
                    continue
                saved = {"truth": truth, "analysis": a, "record": rec}
                opts = MatchOptions()
                base.append(ec.rescored_record(saved, opts))
                a2 = dataclasses.replace(a, windows=recalibrated_windows(a.windows, lines))
                recal.append(ec.rescored_record({**saved, "analysis": a2}, opts))
            records[(corpus, "shipped recipe")] = base
            records[(corpus, "recalibrated")] = recal
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return records, lines_by_corpus


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"), help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--n-calls", type=int, default=24, help="calls per corpus (default %(default)s)")
    ap.add_argument("--seed", type=int, default=20,
                    help="seed of the simulated calls and of the speakers picked (default %(default)s)")
    ap.add_argument("--speakers", type=int, default=2, help="labelled speakers per corpus (default %(default)s)")
    ap.add_argument("--only", default=None, help="comma-separated corpora (default: all)")
    ap.add_argument("--whisper-every", type=int, default=None, metavar="N",
                    help="analyze(whisper_every=N) (default: its own, one piece in 8)")
    ap.add_argument("--out", default=None, help="writes NAME.md and NAME.json")
    args = ap.parse_args(argv)
    if args.whisper_every is not None and args.whisper_every < 1:
        ap.error("--whisper-every must be 1 or more")
    records, lines = run(args.corpora, n_calls=args.n_calls, seed=args.seed, k=args.speakers,
                         cache_dir=args.cache_dir, only=args.only.split(",") if args.only else None,
                         whisper_every=args.whisper_every)
    summaries = {key: ec.summarise(recs) for key, recs in records.items()}
    pooled = {}
    for which in ("shipped recipe", "recalibrated"):
        pooled[("all", which)] = ec.summarise([r for (c, w), recs in records.items() if w == which for r in recs])
    table = tips_table({**summaries, **pooled})
    auc = pd.DataFrame([{"corpus": c, "caller_anger_auc": s["caller_anger_auc"]["all"], "calls": s["analysed"]}
                        for (c, w), s in {**summaries, **pooled}.items() if w == "shipped recipe"])
    text = "\n\n".join([
        "Simulated calls of a corpus the models never heard (scripts/recalibrated_calls.py): models trained on the "
        f"other corpora; {args.speakers} speakers of the corpus recalibrate them (as tonekit recalibrate), the calls "
        f"are voiced by its other speakers ({args.n_calls} per corpus, seed {args.seed}"
        f"{'' if args.whisper_every is None else f'; analyze(whisper_every={args.whisper_every})'}). Tips 7-9, before "
        "and after:",
        _md(table, ".2f"),
        "Caller anger per window (ROC AUC; the same before and after: the line is increasing):",
        auc.round(3).to_string(index=False),
        "Lines fitted (slope, intercept) and the speakers they were fitted on:",
        json.dumps(lines, indent=1)]) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text, encoding="utf-8")
        out.with_suffix(".json").write_text(json.dumps(ec._plain({
            "tips": table.to_dict(orient="records"), "caller_anger_auc": auc.to_dict(orient="records"),
            "lines": lines, "seed": args.seed, "n_calls": args.n_calls,
            "command": " ".join(["python", "scripts/recalibrated_calls.py", *sys.argv[1:]])}), indent=1) + "\n",
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
