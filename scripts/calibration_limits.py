#!/usr/bin/env python3
"""What recalibration can and cannot do across corpora: each held-out corpus's calibration line, and the best
single map for all of them.

For each target, the shipped recipe (:data:`tonekit.models.train.DEFAULT_PARAMS`, trained on
:data:`tonekit.models.features.TRAINING_CONDITIONS`) is trained on all corpora but one and scores the one left
out, on both lines: the cross-corpus protocol of scripts/evaluate.py. The script then reports

- per held-out corpus: ROC AUC, even-odds ECE (:func:`tonekit.models.train.ece` with ``balanced=True``) and the
  corpus's **calibration line**: a logistic regression of its labels on the model's log-odds, both classes
  weighed equally. Slope 1 and intercept 0 is a model calibrated at even odds on that corpus; a slope above 1
  says the model is under-confident there, below 1 over-confident; the intercept moves the point where the
  corpus is at even odds (``even_odds_p``: the model's probability there, 0.5 when calibrated);
- per target and line, the mean even-odds ECE over the held-out corpora as shipped, and after three maps of the
  model's log-odds fitted **on the held-out corpora themselves** (oracles: fitted on the test data, so they
  flatter; bounds, not results):

  - ``common affine``: the one slope and intercept for all corpora that minimise the mean even-odds ECE
    (searched on a grid);
  - ``common isotonic``: one monotone map fitted on every held-out prediction pooled, each corpus and each
    class weighing the same;
  - ``own slope`` and ``own intercept``: each corpus its own slope (how confident to be there) with one intercept
    for all, or one slope with each corpus its own intercept (where it is at even odds): which half of the line
    the corpora disagree on;
  - ``own affine``: each corpus mapped through its own calibration line, what a recalibration that knew the
    corpus could reach.

  Beside them, ``pooled``: the shipped probabilities of all held-out corpora taken as one population (each corpus
  and class weighing the same), where the corpora's errors in opposite directions cancel.

  A recalibration the shipped models could carry is one map for every corpus and call; if the best common map,
  chosen with the answers in hand, leaves the mean above 0.08, no recalibration of these scores meets the target
  on these corpora, and what stands in the way is how differently the corpora's scores relate to their labels;
- without labels (:func:`unlabelled_rows`): each held-out corpus's line read off its own log-odds by two
  Gaussians (:func:`two_gaussian_line`; transductive, a recalibration from a population's unlabelled
  recordings), as the corpus is and with its class thinned to a tenth;
- what ``tonekit recalibrate`` does with a few labelled speakers of a population: per target, line and k (2 and
  4), the line fitted on k speakers of a held-out corpus (20 random sets per corpus) and the even-odds ECE on its
  other speakers before and after (:func:`few_speaker_rows`);
- how firmly that line should hold to the model's own when the set is small (6, 12 or 25 recordings of each
  class from 2 speakers), for several priors, and the prior nested leave-one-corpus-out picks
  (:func:`small_set_rows`; how :data:`tonekit.models.train.RECALIBRATION_PRIOR` was chosen).

Usage::

    python scripts/calibration_limits.py --out results/calibration_limits.json

It fits one model per target and corpus (12; about 4 minutes on 2 cores once scripts/evaluate.py has cached the
corpus features). ``--save-predictions FILE.parquet`` keeps the held-out probabilities;
``--predictions FILE.parquet`` reads them back instead of fitting.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import _md  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.features import CONDITIONS, TRAINING_CONDITIONS, corpus_features, default_cache_dir  # noqa: E402
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.store import recalibrated  # noqa: E402
from tonekit.models.train import DEFAULT_PARAMS, balanced_weights, ece, fit_target, metrics  # noqa: E402
from tonekit.models.train import calibration_line as train_line  # noqa: E402

#: The grid of the common affine map: slopes and intercepts of the log-odds.
SLOPES = np.round(np.arange(0.1, 3.001, 0.05), 2)
INTERCEPTS = np.round(np.arange(-2.0, 2.001, 0.05), 2)


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibration_line(y, p) -> tuple[float, float]:
    """``(slope, intercept)`` of the labels' log-odds on the model's, both classes weighed equally, unpenalised
    (:func:`tonekit.models.train.calibration_line` with ``prior=0``): ``(1, 0)`` for probabilities calibrated at
    even odds."""
    return train_line(y, p, prior=0.0)


def even_odds_p(slope: float, intercept: float) -> float:
    """The model's probability where a calibration line crosses even odds (0.5 when calibrated)."""
    return float(expit(-intercept / slope)) if slope > 0 else float("nan")


def _mean_ece(groups, a: float, b: float) -> tuple[float, list]:
    e = [ece(y, expit(a * z + b), balanced=True) for y, z in groups]
    return float(np.mean(e)), e


def balanced_ece_rows(y, P, n_bins: int = 10) -> np.ndarray:
    """:func:`tonekit.models.train.ece` with ``balanced=True`` of each row of probabilities ``P`` (rows, samples)
    against the same labels ``y``, at once: per bin, the weight times the gap between the mean label and the
    mean probability is the absolute sum of the weighted gaps."""
    P = np.atleast_2d(np.asarray(P, float))
    w = balanced_weights(y) / len(y)
    bins = np.minimum((P * n_bins).astype(int), n_bins - 1) + n_bins * np.arange(len(P))[:, None]
    gap = np.bincount(bins.ravel(), weights=(w * (np.asarray(y, float) - P)).ravel(), minlength=n_bins * len(P))
    return np.abs(gap).reshape(len(P), n_bins).sum(axis=1)


def common_affine(groups, slopes=SLOPES, intercepts=INTERCEPTS) -> dict:
    """The one map ``a * z + b`` of the log-odds ``z`` for every group (``[(y, z), ...]``, one per corpus) that
    minimises the mean even-odds ECE, searched on the grid (ties: the smallest slope, then intercept)."""
    slopes, intercepts = np.asarray(slopes, float), np.asarray(intercepts, float)
    E = ece_grid(groups, slopes, intercepts)
    i, j = np.unravel_index(np.argmin(E.mean(axis=0)), E.shape[1:])
    return {"slope": float(slopes[i]), "intercept": float(intercepts[j]), "mean": float(E[:, i, j].mean()),
            "per_group": E[:, i, j].tolist()}


def common_isotonic(groups) -> dict:
    """One monotone map of the log-odds fitted on every group pooled, each group and each class within it
    weighing the same; its even-odds ECE per group and their mean."""
    from sklearn.isotonic import IsotonicRegression

    z = np.concatenate([z for _, z in groups])
    y = np.concatenate([y for y, _ in groups])
    w = np.concatenate([balanced_weights(y) / len(y) for y, _ in groups])
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(z, y, sample_weight=w)
    e = [ece(y, iso.predict(z), balanced=True) for y, z in groups]
    return {"mean": float(np.mean(e)), "per_group": e}


def own_affine(groups) -> dict:
    """Each group mapped through its own calibration line (in-sample): the even-odds ECE per group and the
    mean."""
    e = []
    for y, z in groups:
        a, b = calibration_line(y, expit(z))
        e.append(ece(y, expit(a * z + b), balanced=True))
    return {"mean": float(np.mean(e)), "per_group": e}


def ece_grid(groups, slopes=SLOPES, intercepts=INTERCEPTS) -> np.ndarray:
    """The even-odds ECE of each group (``[(y, z), ...]``) under every map ``a * z + b`` of the grid: an array
    (groups, slopes, intercepts)."""
    slopes, intercepts = np.asarray(slopes, float), np.asarray(intercepts, float)
    E = np.zeros((len(groups), len(slopes), len(intercepts)))
    for g, (y, z) in enumerate(groups):
        for i, a in enumerate(slopes):
            E[g, i] = balanced_ece_rows(y, expit(a * z[None, :] + intercepts[:, None]))
    return E


def half_oracles(groups, slopes=SLOPES, intercepts=INTERCEPTS) -> dict:
    """Which half of the calibration line the groups disagree on. ``own_slope``: each group its own slope, one
    intercept for all (what a recalibration that knew how confident to be on each corpus, and nothing else,
    could reach); ``own_intercept``: one slope for all, each group its own intercept (knowing only where each
    corpus is at even odds). Mean even-odds ECE, searched on the grid, fitted on the groups themselves
    (oracles)."""
    E = ece_grid(groups, slopes, intercepts)
    return {"own_slope": float(E.min(axis=1).mean(axis=0).min()),
            "own_intercept": float(E.min(axis=2).mean(axis=0).min())}


def pooled_ece(groups, n_bins: int = 10) -> float:
    """The even-odds ECE of every group's predictions pooled, each group and each class within it weighing the
    same: the calibration over the groups taken as one population, where one group's over-confidence can
    cancel another's under-confidence (so no measure of any one corpus)."""
    y = np.concatenate([y for y, _ in groups]).astype(float)
    p = expit(np.concatenate([z for _, z in groups]))
    w = np.concatenate([balanced_weights(y) / len(y) for y, _ in groups])
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    gap = np.bincount(bins, weights=w * (y - p), minlength=n_bins)
    return float(np.abs(gap).sum() / w.sum())


def corpus_rows(pred: pd.DataFrame) -> pd.DataFrame:
    """One row per target, condition and held-out corpus: n, AUC, even-odds ECE, calibration line, even-odds
    point."""
    rows = []
    for (t, c, h), g in pred.groupby(["target", "condition", "test"]):
        m = metrics(g.y, g.p)
        a, b = calibration_line(g.y, g.p)
        rows.append({"target": t, "condition": c, "test": h, "n": m["n"], "auc": m["auc"],
                     "ece_balanced": m["ece_balanced"], "slope": a, "intercept": b, "even_odds_p": even_odds_p(a, b)})
    return pd.DataFrame(rows)


def bound_rows(pred: pd.DataFrame, slopes=SLOPES, intercepts=INTERCEPTS) -> pd.DataFrame:
    """One row per target and condition: the mean even-odds ECE over the held-out corpora as shipped and after
    the oracle maps (:func:`common_affine`, :func:`common_isotonic`, :func:`half_oracles`, :func:`own_affine`),
    the held-out predictions pooled (:func:`pooled_ece`), the common affine
    map's slope and intercept, and the worst corpus as shipped and under the common affine map."""
    rows = []
    for (t, c), g in pred.groupby(["target", "condition"]):
        names = sorted(g.test.unique())
        groups = [(g.y[g.test == h].to_numpy(int), logit(g.p[g.test == h])) for h in names]
        shipped = _mean_ece(groups, 1.0, 0.0)
        aff = common_affine(groups, slopes, intercepts)
        rows.append({"target": t, "condition": c, "shipped": shipped[0],
                     "common_affine": aff["mean"], "common_isotonic": common_isotonic(groups)["mean"],
                     **half_oracles(groups, slopes, intercepts),
                     "own_affine": own_affine(groups)["mean"], "pooled": pooled_ece(groups),
                     "affine_slope": aff["slope"],
                     "affine_intercept": aff["intercept"],
                     "worst_shipped": f"{names[int(np.argmax(shipped[1]))]} {max(shipped[1]):.3f}",
                     "worst_common_affine": f"{names[int(np.argmax(aff['per_group']))]} {max(aff['per_group']):.3f}"})
    return pd.DataFrame(rows)


def two_gaussian_line(z, seed: int = 0) -> tuple[float, float]:
    """``(slope, intercept)`` of the even-odds log-odds under two Gaussians of one shared variance fitted to
    the log-odds ``z`` of a population, with no labels: the upper one taken for the class, slope
    ``(m1 - m0) / s2`` and even odds half way between the means."""
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(2, covariance_type="tied", n_init=3, random_state=seed).fit(np.asarray(z, float)[:, None])
    m0, m1 = np.sort(gm.means_.ravel())
    a = float((m1 - m0) / gm.covariances_.ravel()[0])
    return a, -a * float(m0 + m1) / 2


def unlabelled_rows(pred: pd.DataFrame, shares=(None, 0.1), seed: int = 0) -> pd.DataFrame:
    """A recalibration from a population's own recordings, without their labels (transductive: the held-out
    corpus's log-odds): per target, line and share of the class, the mean even-odds ECE over the held-out
    corpora as shipped, through :func:`two_gaussian_line`, and with its slope alone (the model's own even-odds
    point kept). ``share`` None takes each corpus as it is; 0.1 thins its class to a tenth of the recordings
    (seeded), as in calls where anger is rare."""
    rows = []
    for (t, c, h), g in pred.groupby(["target", "condition", "test"]):
        for share in shares:
            sub = g
            if share is not None:
                pos, neg = g[g.y == 1], g[g.y == 0]
                keep = int(round(share / (1 - share) * len(neg)))
                sub = pd.concat([pos.sample(min(keep, len(pos)), random_state=seed), neg])
            y, z = sub.y.to_numpy(), logit(sub.p)
            a, b = two_gaussian_line(z, seed)
            rows.append({"target": t, "condition": c, "share": "as is" if share is None else f"{share:g}",
                         "test": h, "shipped": ece(y, sub.p, balanced=True),
                         "two_gaussians": ece(y, expit(a * z + b), balanced=True),
                         "their_slope": ece(y, expit(a * z), balanced=True)})
    out = pd.DataFrame(rows)
    return out.groupby(["target", "condition", "share"], sort=False)[
        ["shipped", "two_gaussians", "their_slope"]].mean().reset_index()


def few_speaker_rows(pred: pd.DataFrame, ks=(2, 4), draws: int = 20, seed: int = 0) -> pd.DataFrame:
    """What ``tonekit recalibrate`` does with a few labelled speakers of a held-out corpus: for each target,
    line, held-out corpus and ``k``, ``draws`` random sets of ``k`` of its speakers (seeded), the line fitted on
    their recordings as the command fits it (:func:`tonekit.models.train.calibration_line`) and the even-odds
    ECE on the corpus's other speakers before and after; means per target, line and ``k`` (over corpora, each
    the mean of its draws). A draw whose speakers lack one class is skipped."""
    rng = np.random.default_rng(seed)
    rows = []
    for (t, c, h), g in pred.groupby(["target", "condition", "test"]):
        speakers = np.array(sorted(g.speaker.unique()))
        for k in ks:
            if k >= len(speakers):
                continue
            for _ in range(draws):
                fit = g.speaker.isin(rng.choice(speakers, k, replace=False)).to_numpy()
                if g.y[fit].nunique() < 2 or g.y[~fit].nunique() < 2:
                    continue
                slope, intercept = train_line(g.y[fit], g.p[fit])
                y, p = g.y[~fit].to_numpy(), g.p[~fit].to_numpy()
                rows.append({"target": t, "condition": c, "test": h, "k": k, "before": ece(y, p, balanced=True),
                             "after": ece(y, recalibrated(p, slope, intercept), balanced=True)})
    per_corpus = pd.DataFrame(rows).groupby(["target", "condition", "k", "test"])[["before", "after"]].mean()
    out = per_corpus.groupby(["target", "condition", "k"]).agg(
        before=("before", "mean"), after=("after", "mean"), corpora=("after", "size"),
        worst_after=("after", "max")).reset_index()
    return out


#: The priors :func:`small_set_rows` compares (:func:`tonekit.models.train.calibration_line`'s ``prior``).
PRIORS = (0.0, 3.0, 10.0, 30.0)


def small_set_rows(pred: pd.DataFrame, per_class=(6, 12, 25), priors=PRIORS, draws: int = 20,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How firmly a recalibration from a small set should hold to the model's own line (the choice of
    :data:`tonekit.models.train.RECALIBRATION_PRIOR`): for each target, line, held-out corpus and ``m`` of
    ``per_class``, ``draws`` random sets of ``m`` recordings of each class from 2 random speakers of the corpus
    (seeded; a draw whose speakers have fewer is skipped), the line fitted with each prior, and the even-odds
    ECE on the corpus's other speakers. Returns the means per target, line and ``m`` (over corpora), and the
    nested choice: for each held-out corpus, the prior with the lowest mean over the other corpora (every
    target, line and ``m``), and that corpus's mean with it."""
    rng = np.random.default_rng(seed)
    names = [f"prior_{p:g}" for p in priors]
    rows = []
    for (t, c, h), g in pred.groupby(["target", "condition", "test"]):
        speakers = np.array(sorted(g.speaker.unique()))
        for m in per_class:
            for _ in range(draws):
                pick = g.speaker.isin(rng.choice(speakers, 2, replace=False)).to_numpy()
                fit, rest = g[pick], g[~pick]
                if min(fit.y.sum(), (1 - fit.y).sum()) < m or rest.y.nunique() < 2:
                    continue
                idx = np.r_[rng.choice(np.flatnonzero(fit.y.to_numpy() == 1), m, replace=False),
                            rng.choice(np.flatnonzero(fit.y.to_numpy() == 0), m, replace=False)]
                row = {"target": t, "condition": c, "test": h, "per_class": m,
                       "before": ece(rest.y, rest.p, balanced=True)}
                for name, prior in zip(names, priors):
                    slope, intercept = train_line(fit.y.iloc[idx], fit.p.iloc[idx], prior=prior)
                    row[name] = ece(rest.y, recalibrated(rest.p, slope, intercept), balanced=True)
                rows.append(row)
    per = pd.DataFrame(rows).groupby(["target", "condition", "per_class", "test"])[["before", *names]].mean()
    means = per.groupby(["target", "condition", "per_class"]).mean().reset_index()
    by_corpus = per.groupby("test").mean()
    nested = []
    for h in by_corpus.index:
        pick = by_corpus.drop(h)[names].mean().idxmin()
        nested.append({"test": h, "pick": pick, "before": by_corpus.loc[h, "before"],
                       "with_pick": by_corpus.loc[h, pick]})
    return means, pd.DataFrame(nested)


def held_out_predictions(table: pd.DataFrame, feats: dict, target: str, corpus: str) -> pd.DataFrame:
    """The shipped recipe trained without ``corpus`` (every condition of ``feats`` it trains on) and its
    probabilities on ``corpus``, both lines: columns target, test, condition, speaker, y, p."""
    return trained_on(table, feats, target, sorted(set(table.corpus) - {corpus}))


def trained_on(table: pd.DataFrame, feats: dict, target: str, train: list) -> pd.DataFrame:
    """The shipped recipe trained on the corpora ``train`` (every condition of ``feats`` it trains on) and its
    probabilities on each other corpus, both lines: columns target, test, condition, speaker, y, p (the
    corpora's recordings labelled for ``target``)."""
    lab = table[target].notna().to_numpy()
    fit = table.corpus.isin(train).to_numpy() & lab
    y = table.loc[fit, target].astype(int).to_numpy()
    n = len(TRAINING_CONDITIONS)
    X = pd.concat([feats[c][fit] for c in TRAINING_CONDITIONS], ignore_index=True)
    model = fit_target(X, np.tile(y, n), corpus=np.tile(table.corpus[fit].to_numpy(), n),
                       groups=np.tile(table.speaker[fit].to_numpy(), n), **DEFAULT_PARAMS[target])
    cols = list(model.feature_names_in_)
    out = []
    for corpus in sorted(set(table.corpus) - set(train)):   # one without labels of the target: no rows
        test = (table.corpus == corpus).to_numpy() & lab
        y_test = table.loc[test, target].astype(int).to_numpy()
        speaker = table.loc[test, "speaker"].to_numpy()
        out += [pd.DataFrame({"target": target, "test": corpus, "condition": c, "speaker": speaker, "y": y_test,
                              "p": model.predict_proba(feats[c][test][cols])[:, 1]}) for c in CONDITIONS]
    return pd.concat(out, ignore_index=True)


def report(pred: pd.DataFrame) -> tuple:
    """``(markdown text, per-corpus lines, bounds, unlabelled recalibration, few-speaker rows, small-set rows,
    nested prior choice)``; the last three are None when the predictions have no speaker column."""
    per_corpus = corpus_rows(pred)
    bounds = bound_rows(pred)
    unlabelled = unlabelled_rows(pred)
    few = few_speaker_rows(pred) if "speaker" in pred else None
    small, nested = small_set_rows(pred) if "speaker" in pred else (None, None)
    text = "\n\n".join([
        "Calibration across corpora (scripts/calibration_limits.py): the shipped recipe trained without each corpus "
        "and tested on it. Per held-out corpus, its calibration line (labels' log-odds on the model's, classes "
        "weighed equally; slope 1, intercept 0 = calibrated at even odds; slope > 1 under-confident, < 1 "
        "over-confident) and the model's probability where the corpus is at even odds:",
        _md(per_corpus, ".3f"),
        "Mean even-odds ECE over the held-out corpora, as shipped and after maps of the log-odds fitted on the "
        "held-out corpora themselves (oracles: bounds, not results). common_affine: the one slope and intercept "
        "for all corpora with the lowest mean; common_isotonic: one monotone map on all corpora pooled; "
        "own_slope: each corpus its own slope, one intercept for all; own_intercept: one slope, each corpus its own "
        "intercept; own_affine: each corpus through its own calibration line. pooled: the held-out predictions of "
        "all corpora taken as one population (each corpus and class weighing the same), as shipped, where one "
        "corpus's over-confidence cancels another's under-confidence:",
        _md(bounds, ".3f"),
        "Without labels (transductive; not an oracle, yet it reads the held-out corpus's own recordings): two "
        "Gaussians of one variance fitted to each held-out corpus's log-odds, the upper one taken for the class. "
        "two_gaussians: the even-odds line they imply; their_slope: its slope alone, the model's even-odds point "
        "kept. Mean even-odds ECE over the held-out corpora, each as it is and with its class thinned to a tenth "
        "of the recordings:",
        _md(unlabelled, ".3f")]
        + ([] if few is None else [
            "A few labelled speakers of the held-out corpus (what tonekit recalibrate does): the line fitted on k of "
            "its speakers (20 random sets per corpus), even-odds ECE on its other speakers before and after, means "
            "over the corpora (worst_after: the worst corpus's mean):",
            _md(few, ".3f"),
            "A small set (what RECALIBRATION_PRIOR is chosen on): m recordings of each class from 2 speakers of the "
            "held-out corpus (20 random sets per corpus), the line fitted with each prior, even-odds ECE on the "
            "corpus's other speakers, means over the corpora:",
            _md(small, ".3f"),
            "Nested choice of the prior: for each held-out corpus, the prior with the lowest mean over the other "
            "corpora (every target, line and m), and the corpus's mean with it:",
            _md(nested, ".3f")])) + "\n"
    return text, per_corpus, bounds, unlabelled, few, small, nested


def script_args(description: str) -> argparse.ArgumentParser:
    """The options this script and scripts/corpus_count.py share: corpora, cache, targets, jobs, and the
    held-out probabilities read back or kept, and where the tables go."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"), help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES),
                    help="targets to run, comma-separated (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="models fitted at once")
    ap.add_argument("--predictions", help="read the held-out probabilities from this parquet file instead of fitting")
    ap.add_argument("--save-predictions", help="write the held-out probabilities to this parquet file")
    ap.add_argument("--out", help="write the tables as JSON here (and markdown next to it)")
    return ap


def predictions(ap: argparse.ArgumentParser, args, plan) -> pd.DataFrame:
    """The held-out probabilities of ``args.targets``: read back from ``--predictions``, or fitted, ``plan(table,
    names)`` giving the fits as ``(function, arguments)`` (each run with the features of every condition
    after the table, in ``--jobs`` processes, and returning a table of probabilities); kept in
    ``--save-predictions``. Bad targets or a missing file end the script with a usage error."""
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
        todo = plan(table, names)
        feats = {c: corpus_features(table, c, cache_dir=args.cache_dir, n_jobs=args.jobs, progress=True)
                 for c in dict.fromkeys(TRAINING_CONDITIONS + CONDITIONS)}
        out = Parallel(n_jobs=args.jobs, return_as="generator")(delayed(fn)(table, feats, *a) for fn, a in todo)
        pred = pd.concat(list(tqdm(out, total=len(todo), desc="fits", file=sys.stderr)), ignore_index=True)
    if args.save_predictions:
        Path(args.save_predictions).parent.mkdir(parents=True, exist_ok=True)
        pred.to_parquet(args.save_predictions)
    return pred


def write_tables(out, tables: dict, text: str, t0: float) -> None:
    """``tables`` (name -> table or None) as JSON in ``out``, with the seconds since ``t0``, and ``text`` in the
    markdown file beside it; nothing without ``out``."""
    if not out:
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**{k: None if v is None else v.to_dict(orient="records") for k, v in tables.items()},
                                "seconds": round(time.time() - t0, 1)}, indent=1, default=float))
    path.with_suffix(".md").write_text(text)


def main(argv=None) -> int:
    ap = script_args(__doc__.split("\n\n")[0])
    args = ap.parse_args(argv)
    t0 = time.time()
    pred = predictions(ap, args, lambda table, names: [(held_out_predictions, (t, h)) for t in names
                                                        for h in sorted(table.corpus.unique())])
    text, per_corpus, bounds, unlabelled, few, small, nested = report(pred)
    print(text)
    write_tables(args.out, {"per_corpus": per_corpus, "bounds": bounds, "unlabelled": unlabelled,
                            "few_speakers": few, "small_sets": small, "prior_nested": nested}, text, t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
