"""Training and evaluating the tone models, always grouped by speaker.

Example
-------
>>> from tonekit.models.corpora import load_corpora, targets        # doctest: +SKIP
>>> table = targets(load_corpora("../shared/corpora"))              # doctest: +SKIP
>>> models = train_models(table)                                    # doctest: +SKIP
"""
from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import GroupKFold

from ..errors import ParameterError
from ..features.windows import MODEL_FEATURES
from .estimators import FusedToneClassifier, at_prior
from .features import (ALL_CONDITIONS, CONDITIONS, EMBEDDING_VERSION, TEST_CONDITIONS, TRAINING_CONDITIONS,
                       WHISPER_VERSION, corpus_features,
                       embedding_prefixes, piece_encoder, population_baseline, population_embedding,
                       reference_shrinkage)
from .store import TARGET_NAMES

#: The shipped estimator settings, chosen by speaker-grouped cross-validation (scripts/evaluate.py
#: --select, results/selection.md): the mean of an RBF SVM (C=0.3, Platt-scaled on speaker-grouped
#: folds) and a logistic regression (C=0.1). On unseen corpora the blend beats both members on UAR
#: for all three targets, and on ROC AUC but for two rows where it trails one of them by 0.001; it is
#: the better calibrated for calm and warmth (7 of 8 rows), the SVM alone for anger. These are the
#: settings of the fused model's prosodic member.
#: The embedding member is a logistic regression: on unseen corpora it matched a blend on the
#: embedding (anger AUC 0.844/0.845 against 0.846/0.843, wideband/telephone; warmth 0.01-0.014 lower),
#: is better calibrated for anger and calm, and scores a window ~100x faster (no 256-d SVM).
#: The fusion is recalibrated (``fusion="calibrated"``): the mean of the members' probabilities, mapped
#: through a sigmoid fitted on speaker-grouped out-of-fold scores. The plain mean of two calibrated members
#: is under-confident where they agree; recalibrating halves the even-odds calibration error within a
#: corpus (anger 0.071/0.076 -> 0.036/0.031) and keeps the ranking (ROC AUC) of the mean.
#: The output of Whisper's second encoder layer (``wsp_*``) is a second embedding member, with the same
#: settings, and the outputs of its first (``wsp_l1_*``) and third (``wsp_l3_*``) layers, from the same pass, a
#: third and a fourth (each chosen by nested leave-one-corpus-out for all three targets; docs/tone_models.md); the
#: calibrated fusion averages the members a row has (results/evaluation.md).
#: The embedding members' C is 0.001 (it was 0.01, measured for one member alone): with five members, a
#: stronger penalty carries over to unseen corpora better. Among C = 0.0003, 0.001, 0.003, 0.01 and 0.03,
#: nested leave-one-corpus-out (for each held-out corpus, the mean AUC over the other three, each predicted
#: from the remaining two) picked 0.001 or a neighbour for all 12 corpus/target pairs and 0.01 for none;
#: across all four held-out corpora 0.001 is the best for anger and warmth and within 0.001 AUC of the
#: best for calm (scripts/select_embedding_c.py, results/select_embedding_c.md).
MEMBER_PREFIXES = ("emb_", "wsp_", "wsp_l1_", "wsp_l3_")
_FUSION = {"embedding_kind": "logreg", "embedding_C": 0.001, "fusion": "calibrated",
           "embedding_prefix": MEMBER_PREFIXES}
#: Anger's and calm's fusion averages the five members in log-odds (``average="log-odds"``), warmth's their
#: probabilities: nested leave-one-corpus-out (``scripts/select_embedding_c.py --grid
#: 0.001+noise+prob,0.001+noise+logit``, results/select_logit_fusion.md) picked log-odds for all four held-out
#: corpora for anger and for calm, and for two of four for warmth (a tie keeps the release before's average).
#: Across corpora it raised anger's telephone ROC AUC from 0.8989 to 0.9005 (docs/tone_models.md).
DEFAULT_PARAMS = {"anger": {"kind": "blend", "C": 0.3, "C_logreg": 0.1, **_FUSION, "average": "log-odds"},
                  "calm": {"kind": "blend", "C": 0.3, "C_logreg": 0.1, **_FUSION, "average": "log-odds"},
                  "warmth": {"kind": "blend", "C": 0.3, "C_logreg": 0.1, **_FUSION}}


#: The reference mix's range of shares (``training_set(reference_mix=...)``, an option the shipped models do not
#: use): besides each line condition's copy of every utterance, read against its speaker's usual voice, a second
#: copy read against a mix of it and the training speakers' usual voice, each speaker's share drawn uniformly from
#: this range (seeded). :func:`tonekit.analyze` reads a caller partly against the population
#: (``population_share``) and :func:`tonekit.score_speaker` leans on it with few recordings; both leave some of
#: the speaker's identity in the features, which training otherwise never shows the models. Measured across
#: corpora against the shipped recipe (``scripts/evaluate.py --reference-mix``, results/reference_mix.md), it
#: did not earn its place: anger's telephone AUC 0.8998 against 0.8995, warmth's telephone UAR loss within a
#: corpus 0.031 against 0.027, and caller anger on simulated calls a little worse (docs/tone_models.md).
REFERENCE_MIX = (0.0, 1.0)


def reference_shares(speakers, reference_mix=REFERENCE_MIX, *, seed: int = 0) -> dict:
    """``{speaker: share}`` of the reference mix: each distinct speaker (sorted) gets a share drawn uniformly
    from ``reference_mix`` by a generator seeded with ``seed`` (deterministic)."""
    low, high = reference_mix
    if not 0 <= low <= high <= 1:
        raise ValueError(f"reference_mix must be (low, high) with 0 <= low <= high <= 1, not {reference_mix!r}")
    spk = sorted(pd.unique(pd.Series(np.asarray(speakers))))
    return dict(zip(spk, np.random.default_rng(seed).uniform(low, high, len(spk))))


def population_reference(table: pd.DataFrame, prefixes=(), *, cache_dir=None, reported: set | None = None) -> dict:
    """``{"baseline": population_baseline, prefix: population_embedding, ...}`` of a corpus table: the
    training speakers' usual voice, as the model card holds it."""
    return {"baseline": population_baseline(table, cache_dir=cache_dir, reported=reported),
            **{p: population_embedding(table, p, cache_dir=cache_dir, reported=reported) for p in prefixes}}


def reference_mix_features(table: pd.DataFrame, condition: str, population: dict, *,
                           reference_mix=REFERENCE_MIX, seed: int = 0, embedding=True, **kwargs) -> pd.DataFrame:
    """:func:`~tonekit.models.features.corpus_features` of ``table`` with each speaker read against a mix of
    their usual voice and ``population`` (:func:`population_reference`), at a share per speaker drawn by
    :func:`reference_shares` (a different draw per condition)."""
    shares = reference_shares(table["speaker"], reference_mix, seed=seed * 100 + ALL_CONDITIONS.index(condition))
    return corpus_features(table, condition, embedding=embedding, population=population, shares=shares, **kwargs)


def training_set(table: pd.DataFrame, target: str, *, conditions=TRAINING_CONDITIONS, cache_dir=None,
                 n_jobs: int = 1, progress: bool = False, embedding=True, reference_mix=None, reported=None):
    """Features ``X``, labels ``y``, speaker groups and corpus for one target, over the given conditions.

    A recording that cannot be analysed is left out with a warning line on stderr, once per message
    (``reported``: a set of the messages already shown, shared by several calls).

    Rows whose label is left out for this target (NaN) are dropped. Each
    condition contributes one copy of every utterance (augmentation; the
    shipped recipe's :data:`~tonekit.models.features.TRAINING_CONDITIONS`:
    both lines, clean and with background noise), and
    with ``reference_mix`` (a range of shares, such as :data:`REFERENCE_MIX`;
    None, the shipped recipe: no mix) a second copy read partly against the
    speakers of ``table``.
    ``X`` has the prosodic :data:`MODEL_FEATURES` and, with ``embedding``,
    the speaker-relative learned embeddings (``emb_*``, ``wsp_*``; a tuple of
    prefixes picks some, as :func:`~tonekit.models.features.corpus_features`).
    """
    if target not in TARGET_NAMES:
        raise ParameterError(f"target must be one of {', '.join(TARGET_NAMES)}, not {target!r}")
    keep = table[table[target].notna()]
    kw = {"cache_dir": cache_dir, "n_jobs": n_jobs, "progress": progress, "embedding": embedding,
          "reported": set() if reported is None else reported}
    population = None
    if reference_mix is not None:
        population = population_reference(table, embedding_prefixes(embedding), cache_dir=cache_dir,
                                          reported=kw["reported"])
    Xs, ys, gs = [], [], []  # features, labels, speakers
    for cond in conditions:
        copies = [corpus_features(keep, cond, **kw)]
        if population is not None:
            copies.append(reference_mix_features(keep, cond, population, reference_mix=reference_mix, **kw))
        for X in copies:
            ok = analysed(X)
            Xs.append(X[ok])
            ys.append(keep.loc[ok, target].astype(int))
            gs.append(keep.loc[ok, "speaker"])
    if not any(len(X) for X in Xs):
        raise ParameterError(f"none of the {len(keep)} recordings labelled for {target} could be analysed "
                             "(their errors are above)")
    corpus = pd.concat([keep.loc[X.index, "corpus"] for X in Xs])
    cols = list(MODEL_FEATURES) + [c for p in embedding_prefixes(embedding) for c in piece_encoder(p).columns]
    return (pd.concat(Xs)[cols], pd.concat(ys), pd.concat(gs), corpus)


def corpus_weights(corpus) -> np.ndarray:
    """Sample weights giving every corpus the same total weight (mean weight 1).

    Without them the largest corpus (TurEV-DB's 1735 single words) would
    dominate; balanced corpora generalise better to an unseen one.
    """
    c = pd.Series(np.asarray(corpus))
    w = 1.0 / c.map(c.value_counts()).to_numpy(float)
    return w * len(w) / w.sum()


def cell_weights(corpus, y) -> np.ndarray:
    """Sample weights giving every (corpus, class) cell the same total weight (mean weight 1).

    Beyond :func:`corpus_weights`, each corpus then weighs its two classes
    equally too, whatever its own share of the class (13 % anger in RAVDESS,
    a third in nEMO), so no corpus's prior leans on the fitted boundary.
    """
    cell = pd.Series([f"{c}\x00{v}" for c, v in zip(np.asarray(corpus), np.asarray(y))])
    w = 1.0 / cell.map(cell.value_counts()).to_numpy(float)
    return w * len(w) / w.sum()


def analysed(X: pd.DataFrame) -> pd.Series:
    """Rows of a corpus feature table whose recording could be analysed (a file that could not be read has no
    prosodic feature at all): what training fits on and evaluation scores."""
    return X[list(MODEL_FEATURES)].notna().any(axis=1)


def fit_target(X, y, *, corpus=None, groups=None, balance: str = "corpus", **params) -> FusedToneClassifier:
    """Fit the tone estimator on a feature table (column names are kept), corpora balanced.

    The estimator is :class:`~tonekit.models.estimators.FusedToneClassifier`: one
    member on the prosodic features, one on each learned embedding ``X`` has
    (``emb_*``, ``wsp_*``). ``params`` are its
    (``kind``, ``C``, ...). ``groups`` (the speaker of each row) makes the
    calibration speaker-independent; ``corpus`` balances the corpora and, with
    ``domain_offsets=True``, gives each corpus its own offset in training.
    ``balance="cells"`` weighs every (corpus, class) cell the same
    (:func:`cell_weights`) instead of every corpus (:func:`corpus_weights`).
    Fitted with one BLAS thread, so the same data give the same model
    whatever the machine's thread count.
    """
    from threadpoolctl import threadpool_limits   # a dependency of scikit-learn

    if balance not in ("corpus", "cells"):
        raise ValueError(f"balance must be 'corpus' or 'cells', not {balance!r}")
    sw = None if corpus is None else corpus_weights(corpus) if balance == "corpus" else cell_weights(corpus, y)
    # one BLAS thread: a multi-threaded BLAS sums in another order, and the fitted numbers (and a saved
    # model's bytes) would differ in the last bits with the machine's thread count
    with threadpool_limits(limits=1):
        return FusedToneClassifier(**params).fit(X, y, sample_weight=sw, groups=groups, domains=corpus)


def train_models(table: pd.DataFrame, targets=TARGET_NAMES, *, cache_dir=None, n_jobs: int = 1,
                 conditions=TRAINING_CONDITIONS, params=None, progress: bool = False,
                 reference_mix=None) -> dict:
    """Fit one model per target on a labelled corpus table (see :func:`tonekit.models.corpora.targets`), as
    the shipped models are (with ``reference_mix``, also on :func:`training_set`'s mixed copies).

    Returns ``{target: ToneModel}`` ready for :func:`tonekit.analyze(..., models=...)`: each card also has
    the training speakers' usual voice (:func:`population_card`), as a shipped model's has.
    """
    from .corpora import targets as add_targets
    from .store import EMBEDDING_PREFIXES, ToneModel

    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    unknown = [str(t) for t in targets if t not in TARGET_NAMES]
    if unknown or not targets:
        raise ParameterError(f"targets must be some of {', '.join(TARGET_NAMES)}, not {', '.join(unknown) or 'none'}")
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"table must be a DataFrame of recordings (tonekit.models.corpora.load_corpora), not "
                             f"{type(table).__name__}")
    if any(t not in table.columns for t in targets):   # load_corpora's table: its labels made targets here
        if "emotion" not in table.columns:
            raise ParameterError("table has neither the target columns (anger, calm, warmth) nor the emotion "
                                 "column to make them from (tonekit.models.corpora.load_corpora gives it)")
        table = add_targets(table)
    for t in targets:
        kinds = set(table[t].dropna().astype(int))
        if kinds != {0, 1}:
            has = ("no recording labelled for it" if not kinds else
                   "only positives" if 1 in kinds else "only negatives")
            raise ParameterError(f"training the {t} model needs recordings of both classes (positives and "
                                 f"negatives); the table has {has}")
    params = {**DEFAULT_PARAMS, **(params or {})}
    out, prefixes, reported = {}, set(), set()
    for t in targets:
        X, y, groups, corpus = training_set(table, t, conditions=conditions, cache_dir=cache_dir, n_jobs=n_jobs,
                                            progress=progress, reference_mix=reference_mix, reported=reported)
        prefixes |= {p for p in EMBEDDING_PREFIXES if any(str(c).startswith(p) for c in X.columns)}
        out[t] = ToneModel(t, fit_target(X, y, corpus=corpus, groups=groups, **params[t]),
                           {"target": t, "params": params[t],
                            **({} if reference_mix is None else {"reference_mix": list(reference_mix)})})
    pop = population_card(table, tuple(p for p in EMBEDDING_PREFIXES if p in prefixes), cache_dir=cache_dir,
                          reported=reported)
    for m in out.values():
        m.card.update(pop)
    return out


# ----------------------------------------------------------------------------- metrics

def balanced_weights(y_true) -> np.ndarray:
    """Sample weights giving each of the two classes half the total (mean weight 1): even odds, as the models
    are trained for (:func:`ece` with ``balanced=True``, :func:`calibration_line`)."""
    y = np.asarray(y_true, int)
    n_pos = int(y.sum())
    return np.where(y == 1, 0.5 / max(n_pos, 1), 0.5 / max(len(y) - n_pos, 1)) * len(y)


def ece(y_true, prob, *, n_bins: int = 10, balanced: bool = False) -> float:
    """Expected calibration error with equal-width bins (weighted mean |accuracy - confidence|).

    ``balanced=True`` weighs the test samples so that both classes count
    equally (each class has half the total weight). That is the calibration
    the shipped models aim for: they are trained with equal class weights, so
    their probability is the posterior at even odds and 0.5 is the threshold
    of best balanced accuracy, whatever the share of angry speech in a corpus
    or a call. The plain ECE also charges the model for the test set's class
    prior (for example 13 % anger in RAVDESS).
    """
    y = np.asarray(y_true, float)
    p = np.asarray(prob, float)
    w = np.ones(len(y))
    if balanced:
        if len(np.unique(y)) < 2:
            return float("nan")
        w = balanced_weights(y)
    w = w / w.sum()
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    err = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            wb = w[m]
            err += wb.sum() * abs(np.average(y[m], weights=wb) - np.average(p[m], weights=wb))
    return float(err)


def metrics(y_true, prob) -> dict:
    """UAR (balanced accuracy at 0.5), ROC AUC and three calibration errors; NaN when only one class is present.

    ``ece`` takes the probabilities and the test set as they are; ``ece_balanced`` weighs both classes
    equally (the even odds the models are trained for); ``ece_prior`` moves the probabilities to the test
    set's own share of the class first (:func:`~tonekit.models.estimators.at_prior`: what a user who knows
    that share gets)."""
    y = np.asarray(y_true, int)
    p = np.asarray(prob, float)
    if len(np.unique(y)) < 2:
        return {"n": len(y), "uar": np.nan, "auc": np.nan, "ece": np.nan, "ece_balanced": np.nan,
                "ece_prior": np.nan}
    return {"n": int(len(y)), "uar": float(balanced_accuracy_score(y, p >= 0.5)),
            "auc": float(roc_auc_score(y, p)), "ece": ece(y, p), "ece_balanced": ece(y, p, balanced=True),
            "ece_prior": ece(y, at_prior(p, y.mean()))}


#: How firmly :func:`calibration_line` (as :func:`recalibrate_model` fits it) holds the line to the model's own
#: (slope 1, intercept 0): a penalty weighing as much as about this many recordings, so that a handful of
#: recordings cannot swing it, and labels the model separates perfectly do not send the slope to infinity.
#: Chosen among 0, 3, 10 and 30 by nested leave-one-corpus-out on sets of 6-25 recordings of each class from
#: 2 speakers of a held-out corpus (3 for every held-out corpus; scripts/calibration_limits.py).
RECALIBRATION_PRIOR = 3.0
#: The smallest slope :func:`calibration_line` gives: on recordings the model ranks backwards the line
#: flattens (every probability near the same value) instead of turning the ranking around.
MIN_SLOPE = 0.01


def calibration_line(y_true, prob, *, prior: float = RECALIBRATION_PRIOR) -> tuple[float, float]:
    """``(slope, intercept)`` of the labels' log-odds on the probabilities' log-odds, both classes weighing the
    same: the line that calibrates ``prob`` at even odds on these labels (``(1, 0)``: already calibrated).

    A logistic regression of ``y_true`` on ``logit(prob)`` whose two parameters are held toward ``(1, 0)`` by
    a penalty ``prior / 2 * ((slope - 1)**2 + intercept**2)``, the recordings weighing ``len(y)`` in all
    (``prior=0``: the plain maximum-likelihood line). The slope is at least :data:`MIN_SLOPE`.
    """
    from scipy.optimize import minimize
    from scipy.special import expit, logit

    y = np.asarray(y_true, int)
    z = logit(np.clip(np.asarray(prob, float), 1e-6, 1 - 1e-6))
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ValueError("calibration_line needs labels of both classes")
    w = balanced_weights(y)

    def loss(theta):
        a, b = theta
        s = a * z + b
        g = w * (expit(s) - y)
        value = (w * np.logaddexp(0.0, np.where(y == 1, -s, s))).sum() + prior / 2 * ((a - 1) ** 2 + b ** 2)
        return value, np.array([(g * z).sum() + prior * (a - 1), g.sum() + prior * b])

    # the slope stays positive: a line that turned the model's ranking around would be another model
    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(MIN_SLOPE, None), (None, None)])
    return float(res.x[0]), float(res.x[1])


def grouped_oof(estimator, X, y, groups, *, n_splits: int = 5, test_mask=None, sample_weight=None) -> np.ndarray:
    """Out-of-fold probabilities with speaker-grouped folds (no speaker in train and test).

    ``test_mask`` (boolean per row) limits which rows are predicted (others get
    NaN) while every row of the other speakers is used for training. An
    estimator whose ``fit`` takes ``groups`` gets the training speakers too.
    """
    X = pd.DataFrame(X).reset_index(drop=True)
    y = np.asarray(y)
    groups = np.asarray(groups)
    test_mask = np.ones(len(y), bool) if test_mask is None else np.asarray(test_mask, bool)
    out = np.full(len(y), np.nan)
    n_splits = min(n_splits, len(np.unique(groups[test_mask])))
    takes_groups = "groups" in inspect.signature(estimator.fit).parameters
    for tr, te in GroupKFold(n_splits=n_splits).split(X, y, groups):
        te_groups = np.unique(groups[te])
        tr = np.flatnonzero(~np.isin(groups, te_groups))
        te = te[test_mask[te]]
        if len(te) == 0 or len(np.unique(y[tr])) < 2:
            continue
        sw = None if sample_weight is None else np.asarray(sample_weight)[tr]
        kw = {"groups": groups[tr]} if takes_groups else {}
        est = clone(estimator).fit(X.iloc[tr], y[tr], sample_weight=sw, **kw)
        out[te] = est.predict_proba(X.iloc[te])[:, 1]
    return out


# ----------------------------------------------------------------------------- CLI helpers

def train_and_save(corpus_folders, target: str, output, *, n_jobs: int = 1, progress: bool = False,
                   cache_dir=None) -> dict:
    """Train one target on corpus folders and save it with a model card (``tonekit train``)."""
    import platform
    import sklearn
    from .. import __version__
    from .corpora import load_corpora, targets as add_targets
    from .store import save_model

    table = add_targets(load_corpora(corpus_folders))
    grouped = check_trainable(table, target, ", ".join(str(f) for f in corpus_folders))
    params = DEFAULT_PARAMS[target]
    reported = set()   # each bad recording's warning once, over every pass of the features
    X, y, groups, corpus = training_set(table, target, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress,
                                        reported=reported)
    if len(np.unique(y)) < 2:   # the recordings of one class were all left out (unreadable, no speech)
        from .corpora import TARGETS

        lack = TARGETS[target][0 if len(y) and np.all(y == 0) else 1]
        raise ParameterError(f"{', '.join(str(f) for f in corpus_folders)}: once the {len(reported)} recording(s) "
                             f"that could not be used are left out (above), none of {', '.join(lack)} remains; the "
                             f"{target} model needs both of its classes")
    est = fit_target(X, y, corpus=corpus, groups=groups, **params)
    embedding = _embedding_card(X)
    card = {"target": target, "tonekit_version": __version__, "sklearn_version": sklearn.__version__,
            "python_version": platform.python_version(), "params": params,
            "features": list(MODEL_FEATURES), "n_train": int(len(y)),
            "training_conditions": list(TRAINING_CONDITIONS),
            "embedding": embedding,
            "data": sorted(table.corpus.unique()), "n_speakers": int(groups.nunique()),
            "positive_share": round(float(np.mean(y)), 4), "sample_weights": "each corpus the same total weight",
            "calibration_folds": "speaker-grouped" if grouped else "stratified, not grouped (fewer than 3 speakers)",
            **population_card(table, tuple(embedding or ()), cache_dir=cache_dir, reported=reported)}
    if reported:   # the recordings left out of training, as their errors were shown (not in a clean run's card)
        card["left_out"] = sorted(reported)
    return save_model(est, output, card)


def check_trainable(table: pd.DataFrame, target: str, where: str) -> bool:
    """Refuse, before any feature is computed, data a ``target`` model cannot be trained on: no recording
    of an emotion the target uses, or only one of its two classes. Warn when fewer than 3 speakers
    have usable recordings: the folds the probabilities are calibrated on cannot then be grouped by
    speaker, and the probabilities come out over-confident for new voices. Returns whether the folds are
    grouped."""
    from .corpora import TARGETS

    pos, neg = TARGETS[target]
    usable = table[table[target].notna()]
    if usable.empty:
        raise ParameterError(f"{where}: no recording for {target} (it learns {', '.join(pos)} against "
                             f"{', '.join(neg)}; found only {', '.join(sorted(table.emotion.unique()))})")
    classes = usable[target].unique()
    if len(classes) < 2:
        have, lack = (pos, neg) if classes[0] == 1 else (neg, pos)
        raise ParameterError(f"{where}: all {len(usable)} recordings usable for {target} are "
                             f"{', '.join(sorted(usable.emotion.unique()))}; it also needs some of "
                             f"{', '.join(lack)}")
    n = usable.speaker.nunique()
    if n < 3:
        warnings.warn(f"{target}: recordings of only {n} speaker(s); the model calibrates its probabilities on "
                      "speakers it did not learn from, and with fewer than 3 it cannot hold any out, so its "
                      "probabilities will be over-confident for new voices (train on 3 or more speakers)",
                      stacklevel=2)
    return n >= 3


def population_card(table: pd.DataFrame, prefixes=(), *, cache_dir=None, reported: set | None = None) -> dict:
    """The card fields that describe the training speakers' usual voice: ``population_baseline`` (for
    ``tonekit.score`` on a lone utterance), ``population_embedding`` of each learned embedding in ``prefixes``
    (for ``score(embeddings=True)`` and ``analyze(population_share=...)``; None without embeddings) and
    ``reference_shrinkage`` (how much ``tonekit.score_speaker`` leans on them with few recordings)."""
    pop = population_reference(table, prefixes, cache_dir=cache_dir, reported=reported)
    return {"population_baseline": {k: round(float(v), 6) for k, v in pop["baseline"].items()},
            "population_embedding": {p: [round(float(v), 6) for v in pop[p]] for p in prefixes} or None,
            "reference_shrinkage": reference_shrinkage(table, tuple(prefixes), cache_dir=cache_dir,
                                                       reported=reported)}


def _embedding_card(X) -> dict | None:
    """What the card says of the learned-embedding members, by column prefix (None when the model has none)."""
    from ..features.embedding import encoder_path
    from ..features.whisper import whisper_path
    from .store import checked_card

    out = {}
    for prefix, path, what, version in (("emb_", encoder_path, "voice encoder", EMBEDDING_VERSION),
                                        ("wsp_", whisper_path, "Whisper encoder", WHISPER_VERSION)):
        if not any(str(c).startswith(prefix) for c in X.columns):
            continue
        cols = piece_encoder(prefix).columns
        card = checked_card(path(), what)   # the encoder the features came from, hash-checked
        out[prefix] = {"columns": f"{cols[0]} .. {cols[-1]}", "encoder": card["file"],
                       "encoder_sha256": card["sha256"], "encoder_source": card["source"]["package"],
                       "encoder_licence": card["licence"], "embedding_version": version}
    return out or None


def training_overlap(table: pd.DataFrame, card: dict) -> str:
    """Which of ``table``'s recordings (:func:`~tonekit.models.corpora.load_corpora`) a model with ``card`` was
    trained on, said for a warning ("" if none): its corpora by name, and those listed under another name (a
    manifest) that bear the file names of a training corpus.

    >>> t = pd.DataFrame({"corpus": ["emodb", "mine", "mine", "mine"],
    ...                   "path": ["03a01Fa.wav", "x/03a01Wa.wav", "x/03a02Wa.wav", "x/take1.wav"]})
    >>> training_overlap(t, {"data": ["emodb", "ravdess"]})
    'emodb; mine (2 of its 3 recordings bear emodb file names)'
    """
    from .corpora import named_like

    data = list(card.get("data") or ())
    said = [c for c in sorted(set(table.corpus)) if c in data]
    for corpus, rows in table[~table.corpus.isin(data)].groupby("corpus", sort=True):
        like = named_like(rows.path, data)
        if like:
            said.append(f"{corpus} ({sum(like.values())} of its {len(rows)} recordings bear "
                        f"{' and '.join(like)} file names)")
    return "; ".join(said)


def evaluate_model(model_path, corpus_folders, *, n_jobs: int = 1, progress: bool = False,
                   cache_dir=None, conditions=CONDITIONS) -> pd.DataFrame:
    """Metrics of a saved model on corpus folders, per corpus and condition (``tonekit evaluate``).

    ``conditions``: of :data:`~tonekit.models.features.TEST_CONDITIONS`, the recordings as they are
    (``wideband``), through training's phone line (``telephone``), or through that line with a codec training
    never hears (``gsm``, ``opus``)."""
    from .corpora import load_corpora, targets as add_targets
    from .store import load_model

    conditions = tuple(conditions)
    bad = [c for c in conditions if c not in TEST_CONDITIONS]
    if bad or not conditions:
        raise ParameterError(f"conditions must be some of {', '.join(TEST_CONDITIONS)}, "
                             f"not {', '.join(bad) or 'none'}")

    model = load_model(model_path)
    table = add_targets(load_corpora(corpus_folders))
    table = table[table[model.target].notna()].reset_index(drop=True)
    if table.empty:
        raise ParameterError(f"no recording in {', '.join(map(str, corpus_folders))} has a {model.target} label "
                             f"(see tonekit.models.corpora.TARGETS)")
    seen = training_overlap(table, model.card)
    if seen:
        warnings.warn(f"{seen}: in this model's training data (its card's data), so these figures are "
                      "not those of new speakers; for an honest measure, evaluate a model trained without it",
                      stacklevel=2)
    fitted_on = set((model.card.get("recalibration") or {}).get("data") or ())
    both = [str(f) for f in corpus_folders if str(Path(f).expanduser().resolve()) in fitted_on]
    if both:
        warnings.warn(f"{', '.join(both)}: the model was recalibrated on these recordings (its card's "
                      "recalibration), so its calibration here is in-sample; evaluate on other speakers",
                      stacklevel=2)
    by_corpus = table.groupby("corpus")[model.target]
    if (by_corpus.nunique() < 2).all():   # nothing to measure anywhere: say so before the features are computed
        kinds = {"positive" if v == 1 else "negative" for v in table[model.target]}
        what = (f"all {len(table)} recordings are {model.target} {kinds.pop()}s" if len(kinds) == 1 else
                f"each corpus's recordings are all {model.target} positives or all negatives")
        raise ParameterError(f"{', '.join(map(str, corpus_folders))}: nothing to measure: {what}; UAR, AUC and ECE "
                             "are measured within a corpus and need both classes")
    for corpus, labels in by_corpus:
        if labels.nunique() < 2:
            kind = "positive" if labels.iloc[0] == 1 else "negative"
            warnings.warn(f"{corpus}: all {len(labels)} recordings are {model.target} {kind}s; UAR, AUC and ECE "
                          f"need both classes (they are NaN)", stacklevel=2)
    rows, reported = [], set()
    for cond in conditions:
        X = corpus_features(table, cond, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress, reported=reported)
        # as in training: a recording that could not be analysed (its error was shown) is left out, not scored
        ok = analysed(X).to_numpy()
        if not ok.all():
            warnings.warn(f"{(~ok).sum()} of {len(ok)} recordings could not be analysed ({cond}) and are left out "
                          f"of the metrics", stacklevel=2)
        p = np.full(len(X), np.nan)
        if ok.any():
            p[ok] = model.predict_proba(X[ok])
        for corpus, idx in table[ok].groupby("corpus").groups.items():
            rows.append({"target": model.target, "corpus": corpus, "condition": cond,
                         **metrics(table.loc[idx, model.target].astype(int), p[idx])})
    if not rows:
        raise ParameterError(f"none of the {len(table)} recordings labelled for {model.target} in "
                             f"{', '.join(map(str, corpus_folders))} could be analysed (their errors are above)")
    out = pd.DataFrame(rows).round(3)
    out.attrs["left_out"] = sorted(reported)   # the errors of the recordings left out (shown on stderr)
    return out


#: The fewest recordings of each class :func:`recalibrate_model` fits a line on.
MIN_RECALIBRATION = 5


def recalibrate_model(model, corpus_folders, output, *, condition: str = "wideband", n_jobs: int = 1,
                      progress: bool = False, cache_dir=None) -> dict:
    """Fit a model's probabilities to a population from labelled recordings of it (``tonekit recalibrate``).

    The shipped models are calibrated at even odds on new speakers of the corpora they know, but a new
    corpus draws the line between its labels elsewhere and is heard more or less sharply
    (scripts/calibration_limits.py: calibration slopes 0.4-2.1 across corpora). A few labelled speakers of
    the population the model will hear fix that: the model's probabilities on their recordings give a
    :func:`calibration_line`, which the written model applies to every probability. The model file is
    copied unchanged (same hash); its card gets ``recalibration`` (slope, intercept, the data, and the
    even-odds ECE on that data before and after, in-sample). A model already recalibrated is refitted
    from its own probabilities, not stacked.

    ``corpus_folders``: folders or manifests as for :func:`train_and_save`; ``condition``: the recordings
    as recorded (``wideband``) or through training's phone line (``telephone``, for recordings made wideband
    when the model will hear phone calls). Returns the new card (its recalibration's ``left_out``: recordings
    that could not be analysed, their errors shown).
    """
    import shutil

    from .. import __version__
    from .corpora import TARGETS, load_corpora, targets as add_targets
    from .store import ToneModel, load_model, model_path, recalibrated, write_card

    if condition not in CONDITIONS:
        raise ParameterError(f"condition must be one of {', '.join(CONDITIONS)}, not {condition!r}")
    where = ", ".join(str(f) for f in corpus_folders)
    loaded = load_model(model)
    card = {k: v for k, v in loaded.card.items() if k != "recalibration"}
    base = ToneModel(loaded.target, loaded.estimator, card)
    target = base.target
    table = add_targets(load_corpora(corpus_folders))
    table = table[table[target].notna()].reset_index(drop=True)

    def check(labels, what):
        n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
        if min(n_pos, n_neg) < MIN_RECALIBRATION:
            pos, neg = TARGETS[target]
            raise ParameterError(f"{where}: recalibrating {target} needs at least {MIN_RECALIBRATION} {what} "
                                 f"of each class ({', '.join(pos)} / {', '.join(neg)}); found {n_pos} and {n_neg}")

    check(table[target], "recordings")
    seen = training_overlap(table, card)
    if seen:
        warnings.warn(f"{seen}: in this model's training data (its card's data); a recalibration is "
                      "for a population the model has not heard", stacklevel=2)
    reported = set()
    X = corpus_features(table, condition, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress, reported=reported)
    ok = analysed(X).to_numpy()
    check(table.loc[ok, target], "analysable recordings")
    y = table.loc[ok, target].astype(int).to_numpy()
    p = base.predict_proba(X[ok])
    slope, intercept = calibration_line(y, p)
    auc = roc_auc_score(y, p)
    if auc <= 0.5:
        warnings.warn(f"{target}: on these recordings the model ranks {target} no better than chance (ROC AUC "
                      f"{auc:.2f}), so the recalibrated model gives them all about the same probability "
                      f"(slope {slope:.2f}); check the labels, or whether these voices are ones the model can "
                      "read at all", stacklevel=2)
    n_speakers = int(table.loc[ok, "speaker"].nunique())
    if n_speakers < 2:
        warnings.warn(f"{target}: recalibrated on one speaker; the line may fit that voice rather than the "
                      "population (measured with 2 or more, scripts/calibration_limits.py)", stacklevel=2)
    card["recalibration"] = {
        "slope": round(slope, 6), "intercept": round(intercept, 6),
        "data": [str(Path(f).expanduser().resolve()) for f in corpus_folders], "condition": condition,
        "n": int(len(y)), "n_speakers": n_speakers, "positive_share": round(float(y.mean()), 4),
        "prior": RECALIBRATION_PRIOR, "ece_balanced_before": round(ece(y, p, balanced=True), 4),
        "ece_balanced_after": round(ece(y, recalibrated(p, slope, intercept), balanced=True), 4),
        "measured_on": "the recalibration's own recordings (in-sample)", "tonekit_version": __version__}
    if reported:   # the recordings left out, as their errors were shown
        card["recalibration"]["left_out"] = sorted(reported)
    src, output = model_path(model), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if not output.exists() or not output.samefile(src):
        shutil.copyfile(src, output)
    card["file"] = output.name
    return write_card(output.with_suffix(".json"), card)
