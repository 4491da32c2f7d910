#!/usr/bin/env python3
"""Choose the embedding estimators' C by nested leave-one-corpus-out (how DEFAULT_PARAMS' 0.001 was chosen).

For each candidate C, the shipped recipe (tonekit.models.train.DEFAULT_PARAMS with that
``embedding_C``) is trained on the wideband and telephone copies of all corpora but one and
tested on the one left out (the "outer" rows, the cross-corpus protocol of scripts/evaluate.py).
A bare C trains on the two lines alone, the recipe of the release before; the shipped recipe also
trains on their noisy copies, the candidate ``C+noise`` (``0.001+noise``;
:data:`tonekit.models.features.TRAINING_CONDITIONS`).
For the nested choice, each corpus left out is set aside and every other corpus is predicted by
a model trained on the remaining ones (the "inner" rows): the C with the best mean inner AUC
is the one that corpus would be scored with, chosen without it. The script prints

- the outer means per target, C and line (UAR, ROC AUC, ECE, even-odds ECE);
- the nested pick for each held-out corpus and target;
- the nested estimate: each held-out corpus scored with its pick (the honest figure of choosing
  C this way).

A candidate may also be a C with one offset per training corpus (``--grid 0.001,0.001+offsets``,
:class:`~tonekit.models.estimators.FusedToneClassifier`'s ``domain_offsets``; measured and not shipped,
results/select_domain_offsets.md), or a C with every (corpus, class) cell weighed the same in training
(``0.001+cells``, :func:`~tonekit.models.train.cell_weights`; measured and not shipped,
results/select_cell_balance.md), or a C trained on a copy of every utterance with a random pitch
shift as well (``--grid 0.001,0.001+pitch``, :func:`tonekit.augment.pitch_copy`), or on a random 1-2 s
stretch of every utterance's speech as well (``0.001+crop``, :func:`tonekit.augment.crop_copy`); both measured
(results/select_pitch_copy.md, results/select_crop_copy_anger.md, results/select_crop_copy.md). ``+logit``
averages the fused members' log-odds instead of their probabilities
(:class:`~tonekit.models.estimators.FusedToneClassifier`'s ``average="log-odds"``), ``+prob`` their
probabilities; without either, each target averages as shipped (anger and calm in log-odds, warmth in
probability). Extras combine: ``--grid 0.001+noise+prob,0.001+noise+logit`` is how the shipped average was chosen
(results/select_logit_fusion.md, run when the release before averaged every target's probabilities, so its
``0.001+noise`` row is ``0.001+noise+prob``).

Usage::

    python scripts/select_embedding_c.py --out results/select_embedding_c.json
    python scripts/select_embedding_c.py --grid 0.001,0.001+offsets --out results/select_domain_offsets.json
    python scripts/select_embedding_c.py --grid 0.001,0.001+cells --out results/select_cell_balance.json
    python scripts/select_embedding_c.py --targets anger --grid 0.001,0.001+pitch --out results/select_pitch_copy.json
    python scripts/select_embedding_c.py --targets anger --grid 0.001,0.001+crop --out results/select_crop_copy_anger.json
    python scripts/select_embedding_c.py --targets calm,warmth --grid 0.001,0.001+crop --out results/select_crop_copy.json
    python scripts/select_embedding_c.py --grid 0.001,0.001+noise --noisy-test --out results/select_noise_copy_noisy_test.json
    python scripts/select_embedding_c.py --grid 0.001+noise+prob,0.001+noise+logit --out results/select_logit_fusion.json

It fits (1 + 3) x corpora x candidates models per target (240 for the defaults; about 15 minutes on
2 cores once the corpus features are cached by scripts/evaluate.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import _md  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.features import COPY_CONDITIONS, corpus_features, default_cache_dir  # noqa: E402
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.train import DEFAULT_PARAMS, fit_target, metrics  # noqa: E402

GRID = (0.0003, 0.001, 0.003, 0.01, 0.03)
CONDITIONS = ("wideband", "telephone")


def jobs(target_names, grid, corpora) -> list:
    """``(target, test corpus, corpora left out of training, C)`` of every fit: the outer ones (the test corpus
    alone left out) and the inner ones (a held-out corpus and the test corpus left out)."""
    out = [(t, h, (h,), c) for t in target_names for c in grid for h in corpora]
    out += [(t, i, (o, i), c) for t in target_names for c in grid for o in corpora for i in corpora if i != o]
    return out


def candidate(C) -> dict:
    """The recipe's parameters for one candidate of the grid: a C (``0.001``), or a C with each corpus's own
    offset in training (``"0.001+offsets"``, :class:`~tonekit.models.estimators.FusedToneClassifier`'s
    ``domain_offsets``), or a C trained on pitch-shifted copies as well (``"0.001+pitch"``, see
    :func:`training_conditions`)."""
    text = str(C)
    value, *extras = text.split("+")
    for extra in extras:
        if extra not in ("offsets", "cells", "logit", "prob", *COPY_CONDITIONS):
            raise ValueError(f"unknown candidate {text!r}: a C, or a C followed by +offsets, +cells, +logit, +prob, "
                             "+pitch, +crop or +noise (several may follow: 0.001+noise+logit)")
    if {"logit", "prob"} <= set(extras):
        raise ValueError(f"candidate {text!r}: +logit and +prob are two ways to average; use one")
    return {"embedding_C": float(value), **({"domain_offsets": True} if "offsets" in extras else {}),
            **({"balance": "cells"} if "cells" in extras else {}),
            **({"average": "log-odds"} if "logit" in extras else {}),
            **({"average": "probability"} if "prob" in extras else {})}


def training_conditions(C) -> tuple:
    """The copies of every training utterance a candidate is trained on: both lines, and for ``C+pitch`` both
    lines again with a random pitch shift per utterance (:func:`tonekit.augment.pitch_copy`), for ``C+crop``
    with a random 1-2 s stretch of its speech (:func:`tonekit.augment.crop_copy`)."""
    return CONDITIONS + sum((COPY_CONDITIONS.get(extra, ()) for extra in str(C).split("+")[1:]), ())


def fit_and_test(table, feats, target, test_corpus, left_out, C, tests=CONDITIONS) -> list:
    """Metrics on ``test_corpus`` (each condition of ``tests``: both lines, and with ``--noisy-test`` their
    noisy copies too) of the shipped recipe with candidate ``C`` (:func:`candidate`), trained without the
    corpora ``left_out``."""
    lab = table[target].notna().to_numpy()
    test = (table.corpus == test_corpus).to_numpy() & lab
    train = (~table.corpus.isin(left_out)).to_numpy() & lab
    y = table.loc[train, target].astype(int).to_numpy()
    conditions = training_conditions(C)
    n = len(conditions)
    X = pd.concat([feats[c][train] for c in conditions], ignore_index=True)
    model = fit_target(X, np.tile(y, n), corpus=np.tile(table.corpus[train].to_numpy(), n),
                       groups=np.tile(table.speaker[train].to_numpy(), n),
                       **{**DEFAULT_PARAMS[target], **candidate(C)})
    cols = list(model.feature_names_in_)
    y_test = table.loc[test, target].astype(int)
    return [{"target": target, "C": C, "test": test_corpus, "left_out": ",".join(sorted(left_out)), "condition": c,
             **metrics(y_test, model.predict_proba(feats[c][test][cols])[:, 1])} for c in tests]


def nested_picks(rows: pd.DataFrame) -> pd.Series:
    """The C picked for each (target, held-out corpus): the best mean AUC over the inner rows of that corpus
    (every other corpus predicted without it), every tested condition (both lines; with ``--noisy-test`` their
    noisy copies too); ties go to the smaller C."""
    inner = rows[rows.left_out != rows.test].copy()
    inner["held_out"] = [next(c for c in lo.split(",") if c != t) for lo, t in zip(inner.left_out, inner.test)]
    score = inner.groupby(["target", "held_out", "C"]).auc.mean().unstack("C")
    return score.idxmax(axis=1).rename("C")


def nested_estimate(rows: pd.DataFrame, picks: pd.Series) -> pd.DataFrame:
    """Outer metrics of each held-out corpus scored with its nested pick, averaged over corpora per target and
    line."""
    outer = rows[rows.left_out == rows.test]
    chosen = [outer[(outer.target == t) & (outer.test == h) & (outer.C == c)] for (t, h), c in picks.items()]
    return (pd.concat(chosen).groupby(["target", "condition"])[["uar", "auc", "ece", "ece_balanced"]]
            .mean().round(4).reset_index())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES),
                    help="targets to run, comma-separated (default %(default)s)")
    ap.add_argument("--grid", default=",".join(map(str, GRID)),
                    help="candidate C values, comma-separated; C+offsets: that C with each training corpus's own "
                         "offset (for example 0.001,0.001+offsets); C+cells: every (corpus, class) weighed the "
                         "same; C+pitch, C+crop, C+noise: that C trained on pitch-shifted, cropped or noisy "
                         "copies as well")
    ap.add_argument("--noisy-test", action="store_true",
                    help="test on the noisy copies of the held-out corpus as well (white or pink noise 5-20 dB "
                         "below the speech, tonekit.augment.noise_copy, on both lines); the nested pick then "
                         "weighs the clean and the noisy lines alike")
    ap.add_argument("--jobs", type=int, default=2, help="models fitted at once")
    ap.add_argument("--out", help="write the rows and tables as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)
    from joblib import Parallel, delayed
    from tqdm import tqdm

    t0 = time.time()
    table = targets(load_corpora(args.corpora)).reset_index(drop=True)
    grid = args.grid.split(",")
    tests = CONDITIONS + (COPY_CONDITIONS["noise"] if args.noisy_test else ())
    feats = {c: corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
             for c in dict.fromkeys([*tests, *(c for C in grid for c in training_conditions(C))])}
    grid = grid if any("+" in c for c in grid) else [float(c) for c in grid]   # labels when offsets are in it
    for c in grid:
        candidate(c)   # an unknown candidate fails here, before any fit
    todo = jobs(args.targets.split(","), grid, sorted(table.corpus.unique()))
    out = Parallel(n_jobs=args.jobs, return_as="generator")(delayed(fit_and_test)(table, feats, *j, tests)
                                                          for j in todo)
    rows = pd.DataFrame([r for rr in tqdm(out, total=len(todo), desc="fits", file=sys.stderr) for r in rr])
    outer = rows[rows.left_out == rows.test]
    means = outer.groupby(["target", "C", "condition"])[["uar", "auc", "ece", "ece_balanced"]].mean().round(4)
    picks = nested_picks(rows)
    estimate = nested_estimate(rows, picks)
    text = "\n\n".join([
        "Embedding estimators' C (scripts/select_embedding_c.py), cross-corpus, means over the held-out corpora:",
        _md(means.reset_index(), '.4g'),
        "Nested pick for each held-out corpus (best mean AUC over the other corpora, each predicted without it):",
        _md(picks.reset_index(), '.4g'),
        "Nested estimate (each held-out corpus scored with its pick):",
        _md(estimate, '.4g')]) + "\n"
    print(text)
    if args.out:
        out_path = Path(args.out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({"rows": rows.to_dict(orient="records"),
                                        "picks": picks.reset_index().to_dict(orient="records"),
                                        "nested_estimate": estimate.to_dict(orient="records"),
                                        "seconds": round(time.time() - t0, 1)}, indent=1, default=float))
        out_path.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
