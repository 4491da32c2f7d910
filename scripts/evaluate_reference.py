#!/usr/bin/env python3
"""How much does knowing the speaker help? Accuracy of ``tonekit.score`` and ``tonekit.score_speaker`` across corpora.

The tone models compare an utterance with its speaker's usual voice: prosody
relative to the speaker's median, the voice embedding and Whisper's relative
to their mean. ``scripts/evaluate.py`` measures them with that reference taken
over all of a speaker's utterances in a corpus (50-300 of them). A user has
less. This script measures, on the cross-corpus protocol of
``scripts/evaluate.py`` (train on three corpora with the shipped recipe, both
lines clean and with background noise; test on the fourth, wideband and telephone):

- ``lone``: ``tonekit.score`` of one utterance: prosody only, against the
  population baseline of the training corpora (the median of their speakers'
  baselines, as the shipped models' card holds);
- ``lone, embeddings``: ``tonekit.score(..., embeddings=True)``: the same, and
  the voice embedding and Whisper's minus the training speakers' mean voice
  (``population_embedding`` in the card);
- ``set of k``: ``tonekit.score_speaker`` on sets of k utterances of one
  speaker (each speaker's utterances in random sets of k, each set scored
  against itself steadied by the training speakers' reference, with the
  empirical-Bayes weights ``reference_shrinkage`` measured on the training
  corpora, as the shipped card holds; three draws);
- ``set alone of k``: the same sets, each against itself alone (what
  ``score_speaker`` did before the shrinkage, kept for comparison);
- ``all``: the speaker's whole corpus as the set (``scripts/evaluate.py``'s number).

The sets are random draws from acted corpora, so each mixes emotions about
as the corpus does; a real set that is mostly angry would make anger the
speaker's usual voice.

Usage::

    python scripts/evaluate_reference.py --out results/reference.json
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as ev  # noqa: E402
from tonekit.features.embedding import relative  # noqa: E402
from tonekit.features.windows import model_features, speaker_baseline  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.features import (CONDITIONS, TRAINING_CONDITIONS, corpus_features, default_cache_dir,  # noqa: E402
                                     population_baseline, population_embedding, raw_embeddings, raw_features,
                                     reference_shrinkage)
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.train import DEFAULT_PARAMS, fit_target, metrics  # noqa: E402
from tonekit.pipeline import population_weight, shrunk_reference  # noqa: E402

PREFIXES = ("emb_", "wsp_")
SET_SIZES = (3, 5, 10, 20)
DRAWS = 3


def own_sets(table, raw, embs, rows, k, rng, population=None, pop_emb=(None, None), shrinkage=None):
    """Features of each speaker's test utterances cut into random sets of ``k``, each set relative to itself,
    steadied by the population's reference by ``shrinkage`` (what :func:`tonekit.score_speaker` does; None:
    the set alone); with the rows' table index, in set order."""
    sh = shrinkage or {}
    parts = []
    for _, idx in table[rows].groupby("speaker").groups.items():
        idx = rng.permutation(np.asarray(idx))
        for s in range(0, len(idx) - k + 1, k):
            ref = idx[s:s + k]
            base = shrunk_reference(speaker_baseline(raw.loc[ref]), population, k, sh.get("prosody"))
            f = [model_features(raw.loc[ref], base)]
            for e, pop, p in zip(embs, pop_emb, PREFIXES):
                E = e.loc[ref].to_numpy()
                share = population_weight(int(np.isfinite(E).all(axis=1).sum()), sh.get(p))
                f.append(pd.DataFrame(relative(E, population=pop, population_share=share), index=ref,
                                      columns=e.columns))
            parts.append(pd.concat(f, axis=1))
    return pd.concat(parts)


def held_out(table, raws, embs, full, target, corpus, cache_dir=None):
    """Metric rows for one target and one held-out corpus."""
    lab = table[target].notna().to_numpy()
    test = (table.corpus == corpus).to_numpy() & lab
    train = (table.corpus != corpus).to_numpy() & lab
    y_tr = table.loc[train, target].astype(int).to_numpy()
    # trained as the shipped models are: both lines, clean and with background noise
    X = pd.concat([full[c][train] for c in TRAINING_CONDITIONS], ignore_index=True)
    k = len(TRAINING_CONDITIONS)
    model = fit_target(X, np.tile(y_tr, k), corpus=np.tile(table.corpus[train].to_numpy(), k),
                       groups=np.tile(table.speaker[train].to_numpy(), k), **DEFAULT_PARAMS[target])
    cols = list(model.feature_names_in_)
    # the lone utterance's reference: the training speakers' usual voice, as the shipped models' card has it
    seen = table[(table.corpus != corpus).to_numpy()]
    population = population_baseline(seen, cache_dir=cache_dir)
    pop_emb = [population_embedding(seen, p, cache_dir=cache_dir) for p in PREFIXES]
    shrinkage = reference_shrinkage(seen, PREFIXES, cache_dir=cache_dir)   # as the card of a model trained on seen
    y = table.loc[test, target]
    out = []
    for cond in CONDITIONS:
        def add(reference, F):
            m = metrics(y.loc[F.index].astype(int), model.predict_proba(F.reindex(columns=cols))[:, 1])
            return {"target": target, "corpus": corpus, "condition": cond, "reference": reference, **m}
        lone = model_features(raws[cond][test], population)
        out.append(add("lone", lone))
        out.append(add("lone, embeddings", pd.concat([lone] + [e[cond][test] - m for e, m in zip(embs, pop_emb)],
                                                     axis=1)))
        for k in SET_SIZES:
            for name, sh in (("set of", shrinkage), ("set alone of", None)):
                draws = [add(f"{name} {k}", own_sets(table, raws[cond], [e[cond] for e in embs], test, k,
                                                     np.random.default_rng(d), population, pop_emb, sh))
                         for d in range(DRAWS)]
                out.append({**draws[0],
                            **pd.DataFrame(draws)[["n", "uar", "auc", "ece", "ece_balanced"]].mean().to_dict()})
        out.append(add("all", full[cond][test]))
    return out


def markdown(result) -> str:
    s = pd.DataFrame(result["summary"])
    order = (["lone", "lone, embeddings"] + [f"set of {k}" for k in SET_SIZES]
             + [f"set alone of {k}" for k in SET_SIZES] + ["all"])
    wide = s.pivot_table(index=["target", "reference"], columns="condition",
                         values=["uar", "auc", "ece_balanced"]).round(3)
    wide = wide.reindex([(t, r) for t in TARGET_NAMES for r in order])
    wide = wide[[(m, c) for m in ("uar", "auc", "ece_balanced") for c in CONDITIONS]]
    wide.columns = [f"{m} {c}" for m, c in wide.columns]
    return ("Accuracy across corpora by what the models know of the speaker (scripts/evaluate_reference.py; "
            "means over the four held-out corpora; ECE at even odds):\n\n" + ev._md(wide.reset_index()) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="processes for features not cached yet, and for the folds")
    ap.add_argument("--out", help="write rows and summary as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)
    from joblib import Parallel, delayed

    t0 = time.time()
    table = targets(load_corpora(args.corpora)).reset_index(drop=True)
    kw = {"cache_dir": args.cache_dir, "n_jobs": args.jobs, "progress": True}
    raws = {c: raw_features(table.path, c, **kw) for c in CONDITIONS}
    embs = [{c: raw_embeddings(table.path, c, encoder=p, **kw) for c in CONDITIONS} for p in PREFIXES]
    full = {c: corpus_features(table, c, **kw) for c in TRAINING_CONDITIONS}   # what evaluate.py's "tonekit" has
    corpora = sorted(table.corpus.unique())
    jobs = [(t, c) for t in TARGET_NAMES for c in corpora]
    rows = Parallel(n_jobs=args.jobs)(delayed(held_out)(table, raws, embs, full, t, c, args.cache_dir)
                                      for t, c in jobs)
    df = pd.DataFrame([r for rr in rows for r in rr])
    summary = (df.groupby(["target", "reference", "condition"])[["uar", "auc", "ece", "ece_balanced"]]
               .mean().round(3).reset_index())
    result = {"rows": df.to_dict(orient="records"), "summary": summary.to_dict(orient="records"),
              "seconds": round(time.time() - t0, 1)}
    ev.publish(result, markdown(result), args.out)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
