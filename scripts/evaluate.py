#!/usr/bin/env python3
"""Speaker-independent and cross-corpus evaluation of tonekit's tone models.

For each target (anger, calm, warmth) it reports UAR (balanced accuracy at
0.5), ROC AUC and expected calibration error:

- within each corpus, speaker-grouped 5-fold cross-validation;
- cross-corpus: train on all other corpora, test on the one left out;
- each on wideband test audio and on telephone-degraded copies of it; across corpora, also on
  the held-out corpus's noisy copies (``noise-wideband``, ``noise-telephone``: white or pink
  noise 5-20 dB below the speech, :func:`tonekit.augment.noise_copy`; the kind of noise the
  shipped recipe trains on, never the held-out corpus's own copies).

Models are always trained on wideband + telephone copies of the training
speakers, each also with background noise (augmentation; the shipped recipe's
:data:`tonekit.models.features.TRAINING_CONDITIONS`). With ``--baseline`` it
computes, on the same splits and with the same copies, openSMILE eGeMAPSv02
functionals with the same classifier (needs the ``bench`` extra). ``--select`` compares estimator settings by the same
protocol on the prosodic features (used to choose tonekit.models.train.DEFAULT_PARAMS).

Feature sets: ``tonekit`` is the shipped model (late fusion of the prosodic
features, the GE2E voice embedding and the outputs of Whisper's second, first
and third encoder layers,
:class:`~tonekit.models.estimators.FusedToneClassifier`); ``tonekit-previous``
the previous release's recipe (the same features, settings and copies, every target's members averaged in
probability; for warmth, which averages so still, its rows are the shipped model's);
``tonekit-no-whisper`` without any Whisper member; ``tonekit-prosody`` the
prosodic member alone; ``egemaps`` the baseline.

``--reference-mix`` measures instead the shipped model (``tonekit``) against
the same recipe trained also on a copy of every training utterance read partly
against the training speakers' usual voice (``tonekit-reference-mix``,
:data:`tonekit.models.train.REFERENCE_MIX`, an exploration that did not ship;
README, results/reference_mix.md).

``--unseen-codec`` measures the shipped model alone, its cross-corpus models also
tested on the telephone line through codecs training never hears instead of µ-law:
GSM 06.10 (condition ``gsm``, :func:`tonekit.augment.gsm610`) and Opus at about
10 kbit/s (``opus``, :func:`tonekit.augment.opus_low`) (results/unseen_codec.md).
``--gsm-copy`` does the same for the shipped recipe and for the recipe trained also
on a GSM copy of every training utterance (``tonekit-gsm-copy``), so Opus is the
one codec neither has heard.
``--copies crop`` (or ``pitch``) compares the shipped recipe with it trained also on those copies of every
training utterance on both lines (``tonekit-crop-copies``; :data:`tonekit.models.features.COPY_CONDITIONS`).
Every ``tonekit*`` set is trained on the noisy copies too, as the shipped models are.

Usage::

    python scripts/evaluate.py --corpora ../shared/corpora --baseline --out results/evaluation.json
    python scripts/evaluate.py --reference-mix --out results/reference_mix.json
    python scripts/evaluate.py --unseen-codec --out results/unseen_codec.json
    python scripts/evaluate.py --gsm-copy --out results/gsm_copy.json
    python scripts/evaluate.py --copies crop --out results/crop_copies.json
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.estimators import FusedToneClassifier, ToneClassifier  # noqa: E402
from tonekit.models.features import (COPY_CONDITIONS, cached_rows,  # noqa: E402
                                     corpus_features, default_cache_dir,
                                     normalised_features, raw_embeddings, raw_features, relative_embeddings)
from tonekit.models.train import DEFAULT_PARAMS, corpus_weights, grouped_oof, metrics  # noqa: E402
from tonekit.models.store import TARGET_NAMES  # noqa: E402


def cached_per_file(cache, paths, make_extractor, desc) -> pd.DataFrame:
    """:func:`tonekit.models.features.cached_rows` with an extractor built only if some file is not cached
    yet (``make_extractor()`` returns ``path -> dict or Series``; building it may be slow: openSMILE, PyTorch)."""
    made = []

    def extract(path):
        if not made:
            made.append(make_extractor())
        return made[0](path)

    return cached_rows(cache, paths, extract, desc=desc)


def egemaps(paths, condition, cache_dir, n_jobs=1):
    """eGeMAPSv02 functionals per file (the openSMILE baseline), cached."""
    from tonekit.models.features import FEATURE_VERSION, condition_audio

    def make_extractor():
        import opensmile

        smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                feature_level=opensmile.FeatureLevel.Functionals)
        return lambda p: smile.process_signal(*condition_audio(p, condition)).iloc[0].to_dict()

    return cached_per_file(Path(cache_dir) / f"egemaps-{FEATURE_VERSION}-{condition}.parquet", paths,
                           make_extractor, f"eGeMAPS ({condition})")


def evaluate(table, feats_w, feats_t, est, target, *, corpora, mix=None, extra=None):
    """Within-corpus and cross-corpus metrics for one target and one feature set.

    ``extra`` (``{condition: features}``, the same columns as ``feats_w``): further test conditions (the
    telephone line through other codecs), scored by the cross-corpus models only.

    ``mix``: more training copies, a callable ``mix(rows)`` that returns copies of the rows ``rows`` (a mask of
    ``table``), a tuple of feature tables: training's reference mix (:data:`tonekit.models.train.REFERENCE_MIX`,
    the copies ``(wideband, telephone)`` read partly against those rows' speakers) or one more line
    (:func:`_copies`). Every model is then trained on its training rows' copies as well."""
    rows = []
    lab = table[target].notna().to_numpy()
    cols = list(feats_w.columns)

    def with_mix(X, y, g, sw, train):
        """The training rows plus the mixed copies of ``train`` (the labelled rows of the training speakers)."""
        if mix is None:
            return X, y, g, sw
        copies = [c[cols] for c in mix(train)]
        y_tr = table.loc[train, target].astype(int).to_numpy()
        g_tr = table.speaker[train].to_numpy()
        X = pd.concat([X] + copies, ignore_index=True)
        if sw is not None:
            sw = corpus_weights(np.tile(table.corpus[train], 2 + len(copies)))
        return X, np.r_[y, np.tile(y_tr, len(copies))], np.r_[g, np.tile(g_tr, len(copies))], sw

    for c in corpora:
        in_c = (table.corpus == c).to_numpy() & lab
        if len(np.unique(table.loc[in_c, target])) < 2:
            continue
        for protocol in ("within", "cross"):
            if protocol == "within":
                train = in_c
            else:
                train = (table.corpus != c).to_numpy() & lab
            y_tr = table.loc[train, target].astype(int).to_numpy()
            if protocol == "within":
                # speaker-grouped folds inside the corpus; train on both conditions of other speakers
                X = pd.concat([feats_w[in_c], feats_t[in_c]], ignore_index=True)
                y = np.r_[y_tr, y_tr]
                g = np.r_[table.speaker[in_c], table.speaker[in_c]]
                n = in_c.sum()
                # one model per fold predicts both copies of its held-out speakers (one corpus: no weights)
                if mix is None:
                    p = grouped_oof(est, X, y, g, n_splits=5)
                else:   # grouped_oof's folds, each model also trained on its training speakers' mixed copies
                    p = np.full(len(y), np.nan)
                    for _, te in GroupKFold(n_splits=min(5, len(np.unique(g)))).split(X, y, g):
                        held = np.unique(g[te])
                        tr = ~np.isin(g, held)
                        fold_train = in_c & ~table.speaker.isin(held).to_numpy()
                        Xf, yf, gf, _ = with_mix(X[tr].reset_index(drop=True), y[tr], g[tr], None, fold_train)
                        p[te] = clone(est).fit(Xf, yf, groups=gf).predict_proba(X.iloc[te])[:, 1]
                for cond, part in (("wideband", slice(0, n)), ("telephone", slice(n, 2 * n))):
                    m = metrics(y[part], p[part])
                    rows.append({"target": target, "corpus": c, "protocol": protocol, "condition": cond, **m})
            else:
                X = pd.concat([feats_w[train], feats_t[train]], ignore_index=True)
                sw = corpus_weights(np.r_[table.corpus[train], table.corpus[train]])
                g = np.r_[table.speaker[train], table.speaker[train]]
                X, y, g, sw = with_mix(X, np.r_[y_tr, y_tr], g, sw, train)
                model = clone(est).fit(X, y, sample_weight=sw, groups=g)
                y_te = table.loc[in_c, target].astype(int).to_numpy()
                for cond, F in (("wideband", feats_w), ("telephone", feats_t), *(extra or {}).items()):
                    m = metrics(y_te, model.predict_proba(F[in_c][cols])[:, 1])
                    rows.append({"target": target, "corpus": c, "protocol": protocol, "condition": cond, **m})
    return rows


def reference_mix(table, cache_dir=None):
    """:func:`evaluate`'s ``mix`` for ``table``: the mixed copies of some rows, read partly against the usual
    voice of every recording of those rows' speakers in ``table`` (what training on them would hold)."""
    from tonekit.models.store import EMBEDDING_PREFIXES
    from tonekit.models.train import population_reference, reference_mix_features

    def mix(rows):
        speakers = table.speaker[rows].unique()
        population = population_reference(table[table.speaker.isin(speakers)], EMBEDDING_PREFIXES,
                                          cache_dir=cache_dir)
        return tuple(reference_mix_features(table[rows], cond, population, cache_dir=cache_dir)
                     for cond in ("wideband", "telephone"))
    return mix


def _copies(features, rows):
    """:func:`evaluate`'s ``mix`` for more training copies of every training row: each of ``features`` (a tuple
    of conditions' features, aligned with the table) at the rows ``rows``."""
    return tuple(f[rows] for f in features)


def _joined(mixes):
    """One :func:`evaluate` ``mix`` of several (their copies one after the other), or None for none."""
    mixes = [m for m in mixes if m is not None]
    if not mixes:
        return None
    return lambda rows: sum((tuple(m(rows)) for m in mixes), ())


def evaluate_sets(table, make_sets, targets, *, corpora, t0=None) -> pd.DataFrame:
    """:func:`evaluate`'s rows, with a ``features`` column, for each target and each feature set of
    ``make_sets(target)`` (``{name: ((wideband, telephone), estimator)}``); a progress line per set on stderr."""
    t0 = time.time() if t0 is None else t0
    rows = []
    for target in targets:
        for name, ((fw, ft), est) in make_sets(target).items():
            rows += [{"features": name, **r} for r in evaluate(table, fw, ft, est, target, corpora=corpora)]
            print(f"{target} {name} done ({time.time() - t0:.0f} s)", file=sys.stderr)
    return pd.DataFrame(rows)


def smile_separation(table, raw):
    """ROC AUC of the smile cue for happy against neutral/calm utterances of the same speakers, per corpus.

    The cue of an utterance is computed as for a call window: the mean shift of
    F2, F3 and spectral centroid (percent) against the speaker's median.
    """
    from sklearn.metrics import roc_auc_score
    from tonekit.features.windows import smile_cue, speaker_baseline

    rows = []
    cue = pd.Series(np.nan, index=table.index)
    for _, idx in table.groupby("speaker").groups.items():
        cue.loc[idx] = smile_cue(raw.loc[idx], speaker_baseline(raw.loc[idx])).to_numpy()
    for corpus, sub in table.groupby("corpus"):
        m = sub.emotion.isin(["happiness", "neutral", "calm"]) & cue.loc[sub.index].notna()
        y = (sub.emotion[m] == "happiness").astype(int)
        if y.nunique() == 2:
            rows.append({"corpus": corpus, "n_happy": int(y.sum()), "n_neutral": int((1 - y).sum()),
                         "auc": round(float(roc_auc_score(y, cue.loc[y.index])), 3),
                         "median_happy": round(float(cue.loc[y.index][y == 1].median()), 2),
                         "median_neutral": round(float(cue.loc[y.index][y == 0].median()), 2)})
    return pd.DataFrame(rows)


#: What the previous release's recipe (``tonekit-previous``) changes in DEFAULT_PARAMS: every target's fused members
#: averaged in probability (anger and calm average in log-odds since this release).
PREVIOUS_RELEASE = {"average": "probability"}
#: Estimator settings compared by ``--select`` (kind, C; a blend's logistic regression keeps C_logreg=0.1).
SELECTION_GRID = (("logreg", 0.01), ("logreg", 0.1), ("svm", 0.3), ("svm", 1.0), ("svm", 3.0),
                  ("blend", 0.3), ("blend", 1.0))
ANGER_CUES = ("f0_st_median", "int_mean", "ln_f1", "alpha_mean", "rate_syl_s")


def anger_cues(table, raw):
    """ROC AUC of single speaker-relative cues for anger against every other emotion, per corpus (wideband).

    Above 0.5 the cue is higher in anger. A cue that points different ways in
    different corpora cannot carry a model from one corpus to another.
    """
    from sklearn.metrics import roc_auc_score

    rel = raw[list(ANGER_CUES)] - raw[list(ANGER_CUES)].groupby(table["speaker"]).transform("median")
    rows = []
    for corpus, sub in table[table["anger"].notna()].groupby("corpus"):
        y = sub["anger"].astype(int)
        row = {"corpus": corpus, "n_anger": int(y.sum()), "n_other": int((1 - y).sum())}
        for cue in ANGER_CUES:
            v = rel.loc[sub.index, cue]
            ok = v.notna()
            row[cue] = round(float(roc_auc_score(y[ok], v[ok])), 3) if y[ok].nunique() == 2 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)

#: The metrics of each row (tonekit.models.train.metrics), in table order.
METRICS = ("uar", "auc", "ece", "ece_balanced", "ece_prior")


#: Test conditions in table order (any other after them, alphabetically).
CONDITION_ORDER = ("wideband", "telephone", "noise-wideband", "noise-telephone", "gsm", "opus")


def _condition_rank(condition: str):
    return (CONDITION_ORDER.index(condition), "") if condition in CONDITION_ORDER else (len(CONDITION_ORDER), condition)


def summarise(df):
    """Mean over corpora per target, protocol and condition."""
    return (df.groupby(["features", "target", "protocol", "condition"])[[m for m in METRICS if m in df]]
            .mean().round(3).reset_index())


def _md(frame: pd.DataFrame, fmt: str = ".3f") -> str:
    """A markdown table of ``frame``, floats formatted with ``fmt``."""
    cols = list(frame.columns)
    out = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        out.append("| " + " | ".join(format(v, fmt) if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(out)


def compare_tables(result: dict, names) -> tuple[str, str]:
    """Markdown tables comparing feature sets ``names`` (in that order) in ``result``: UAR, AUC and even-odds
    ECE per target, protocol and line (means over corpora), and anger's cross-corpus AUC per held-out corpus."""
    s = pd.DataFrame(result["summary"])
    wide = s.pivot_table(index=["target", "protocol", "condition"], columns="features",
                         values=["uar", "auc", "ece_balanced"]).round(3)
    wide = wide[[(m, n) for m in ("uar", "auc", "ece_balanced") for n in names if (m, n) in wide.columns]]
    wide.columns = [f"{n} {m}" for m, n in wide.columns]
    rows = pd.DataFrame(result["rows"])
    cross = rows[(rows.protocol == "cross") & (rows.target == "anger")]
    per = cross.pivot_table(index=["corpus", "condition"], columns="features", values="auc").round(3)
    per = per[[n for n in names if n in per.columns]]
    return _md(wide.reset_index()), _md(per.reset_index())


def save_result(out, result, text: str) -> None:
    """Write ``result`` (rows, a summary: anything JSON can hold) as JSON to ``out``, and ``text`` (its
    markdown) next to it, as ``.md``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    out.with_suffix(".md").write_text(text)


def publish(result, text: str, out=None) -> None:
    """Print ``text`` (the result's markdown) and, given ``out``, save both with :func:`save_result`."""
    print(text, end="" if text.endswith("\n") else "\n")
    if out:
        save_result(out, result, text)


def markdown(result: dict) -> str:
    """The evaluation as markdown tables (tonekit against the eGeMAPS baseline when present)."""
    s = pd.DataFrame(result["summary"])
    wide = s.pivot_table(index=["target", "protocol", "condition"], columns="features",
                         values=[m for m in METRICS if m in s]).round(3)
    wide.columns = [f"{name} {metric}" for metric, name in wide.columns]
    wide = wide.sort_index(key=lambda ix: ix.map(_condition_rank) if ix.name == "condition" else ix)
    names = sorted(set(s["features"]), key=lambda n: (n != "tonekit", n != "tonekit-previous",
                                                      n != "tonekit-no-whisper", n != "tonekit-prosody",
                                                      n))  # ours first
    order = [f"{name} {m}" for m in METRICS for name in names if f"{name} {m}" in wide.columns]
    table = wide[order].reset_index()
    parts = ["Mean over the four corpora (UAR = balanced accuracy at 0.5; ECE = expected calibration error on the test "
             "set as it is; ECE balanced = the same with both classes weighted equally, the calibration the models "
             "are trained for; ECE prior = the probabilities moved to the test set's own share of the class first, "
             "tonekit.models.estimators.at_prior):",
             "", _md(table)]
    rows = pd.DataFrame(result["rows"])
    cross = rows[(rows.features == "tonekit") & (rows.protocol == "cross")]
    if len(cross):
        per = cross.pivot_table(index=["target", "corpus"], columns="condition", values=["uar", "auc"]).round(3)
        per.columns = [f"{m} {c}" for m, c in per.columns]
        parts += ["", "tonekit cross-corpus, per held-out corpus:", "", _md(per.reset_index())]
    if result.get("anger_cues"):
        parts += ["", "Single cues, anger against the rest (ROC AUC; speaker-relative, wideband; > 0.5: higher "
                      "in anger):", "", _md(pd.DataFrame(result["anger_cues"]))]
    if result.get("smile_cue"):
        parts += ["", "Smile cue, happy against neutral/calm utterances of the same speakers (wideband):", "",
                  _md(pd.DataFrame(result["smile_cue"]))]
    return "\n".join(parts) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="worker processes for feature extraction (default %(default)s)")
    ap.add_argument("--baseline", action="store_true", help="also evaluate openSMILE eGeMAPSv02 functionals")
    ap.add_argument("--select", action="store_true", help="compare estimator settings (model selection)")
    ap.add_argument("--reference-mix", action="store_true",
                    help="compare the shipped model with the same recipe trained with the reference mix only")
    ap.add_argument("--unseen-codec", action="store_true",
                    help="the shipped model only, its cross-corpus models also tested on the telephone line "
                         "through codecs training never hears: GSM 06.10 and Opus at about 10 kbit/s (conditions "
                         "'gsm', 'opus')")
    ap.add_argument("--gsm-copy", action="store_true",
                    help="as --unseen-codec, for the shipped recipe and for it trained also on a GSM copy of every "
                         "training utterance")
    ap.add_argument("--copies", choices=sorted(COPY_CONDITIONS),
                    help="compare the shipped recipe with it trained also on these copies of every training "
                         "utterance, on both lines (tonekit.models.features.COPY_CONDITIONS)")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES),
                    help="targets to run, comma-separated (default %(default)s)")
    ap.add_argument("--out", help="write all rows and the summary as JSON here (and markdown next to it)")
    ap.add_argument("--report", metavar="JSON", help="only print the markdown tables of an earlier --out file")
    args = ap.parse_args(argv)
    if args.report:
        print(markdown(json.loads(Path(args.report).read_text())))
        return 0

    if sum([args.select, args.reference_mix, args.unseen_codec, args.gsm_copy, bool(args.copies)]) > 1:
        ap.error("--select, --reference-mix, --unseen-codec, --gsm-copy and --copies measure different things; "
                 "use one")
    if args.copies == "noise":
        ap.error("--copies noise: the noisy copies are in the shipped recipe already")
    t0 = time.time()
    table = targets(load_corpora(args.corpora)).reset_index(drop=True)
    corpora = sorted(table.corpus.unique())
    sets = {}
    raw_w = raw_features(table.path, "wideband", cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
    raw_t = raw_features(table.path, "telephone", cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
    prosody = (normalised_features(table, raw_w), normalised_features(table, raw_t))
    emb, wsp = ([relative_embeddings(table, raw_embeddings(table.path, cond, cache_dir=args.cache_dir, n_jobs=args.jobs,
                                                           progress=True, encoder=prefix))
                 for cond in ("wideband", "telephone")] for prefix in ("emb_", "wsp_"))
    # the shipped model: late fusion of prosody, the GE2E voice embedding and Whisper's layers' outputs; for
    # comparison, the previous release's recipe (the same, its members averaged in probability), the model
    # without Whisper and its prosodic member alone
    sets["tonekit"] = tuple(pd.concat([p, e, w], axis=1) for p, e, w in zip(prosody, emb, wsp))
    sets["tonekit-previous"] = sets["tonekit"]
    sets["tonekit-no-whisper"] = tuple(pd.concat([p, e], axis=1) for p, e in zip(prosody, emb))
    sets["tonekit-prosody"] = prosody
    if args.reference_mix:
        sets = {"tonekit": sets["tonekit"], "tonekit-reference-mix": sets["tonekit"]}
    # the shipped recipe's noisy copies (TRAINING_CONDITIONS beyond the two lines): the training rows' ones join
    # each model's training, and the held-out corpus's are tested; --select compares prosodic settings without
    noise_conditions = COPY_CONDITIONS["noise"]
    noisy = () if args.select else tuple(corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs,
                                                         progress=True) for c in noise_conditions)
    copies = ()
    if args.copies:
        sets = {"tonekit": sets["tonekit"], f"tonekit-{args.copies}-copies": sets["tonekit"]}
        copies = tuple(corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
                       for c in COPY_CONDITIONS[args.copies])
    extra = None
    if args.unseen_codec or args.gsm_copy:
        sets = {"tonekit": sets["tonekit"], **({"tonekit-gsm-copy": sets["tonekit"]} if args.gsm_copy else {})}
        extra = {c: corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
                 for c in ("gsm", "opus")}
    raw_w.index = table.index
    smile = smile_separation(table, raw_w)
    print("smile cue, happy vs neutral/calm of the same speakers (wideband):")
    print(smile.to_string(index=False))
    cues = anger_cues(table, raw_w)
    print("single cues, anger vs the rest (ROC AUC, wideband):")
    print(cues.to_string(index=False))
    if args.baseline:
        sets["egemaps"] = (egemaps(list(table.path), "wideband", args.cache_dir),
                           egemaps(list(table.path), "telephone", args.cache_dir))
        egemaps_noisy = tuple(egemaps(list(table.path), c, args.cache_dir) for c in noise_conditions)
    rows = []
    for target in args.targets.split(","):
        if args.select:
            for kind, C in SELECTION_GRID:
                est = ToneClassifier(kind=kind, C=C)
                for r in evaluate(table, *sets["tonekit-prosody"], est, target, corpora=corpora):
                    rows.append({"features": f"tonekit/{kind}/C={C}", **r})
                print(f"{target} {kind} C={C} done ({time.time() - t0:.0f} s)", file=sys.stderr)
            continue
        for name, (fw, ft) in sets.items():
            # each set's own columns pick the members (without embedding columns: the prosodic member alone)
            params = DEFAULT_PARAMS[target]
            if name == "tonekit-previous":
                params = {**params, **PREVIOUS_RELEASE}
                if params == DEFAULT_PARAMS[target]:   # the same recipe as shipped: the same rows
                    rows += [{**r, "features": name} for r in rows if r["features"] == "tonekit"
                             and r["target"] == target]
                    continue
            est = FusedToneClassifier(**params)
            own_noisy = egemaps_noisy if name == "egemaps" else noisy   # this set's features of the noisy copies
            # the training rows' noisy copies join training (the shipped recipe), then the copies an exploration adds
            mixes = [functools.partial(_copies, own_noisy)]
            if name == "tonekit-reference-mix":
                mixes.append(reference_mix(table, args.cache_dir))
            if name == "tonekit-gsm-copy":
                mixes.append(functools.partial(_copies, (extra["gsm"],)))
            if name.endswith("-copies"):
                mixes.append(functools.partial(_copies, copies))
            mix = _joined(mixes)
            # across corpora, also tested on the held-out corpus's noisy copies (each set its own features)
            tests = {**(extra or {}), **dict(zip(noise_conditions, own_noisy))}
            for r in evaluate(table, fw, ft, est, target, corpora=corpora, mix=mix, extra=tests):
                rows.append({"features": name, **r})
        print(f"{target} done ({time.time() - t0:.0f} s)", file=sys.stderr)
    df = pd.DataFrame(rows)
    summ = summarise(df)
    pd.set_option("display.width", 200)
    print(summ.to_string(index=False))
    print("\nper corpus:")
    print(df.round(3).to_string(index=False))
    if args.out:
        result = {"rows": df.to_dict(orient="records"), "smile_cue": smile.to_dict(orient="records"),
                  "anger_cues": cues.to_dict(orient="records"),
                  "summary": summ.to_dict(orient="records"), "seconds": round(time.time() - t0, 1)}
        save_result(args.out, result, markdown(result))
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
