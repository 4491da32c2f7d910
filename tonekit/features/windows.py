"""Functionals over time windows (or whole utterances), normalised to the speaker.

One code path serves both training and calls: a corpus utterance and a
3-second call window are both a *segment*, summarised by
:func:`segment_functionals`; level-type functionals (pitch, loudness,
formant and spectral-envelope means) and all other functionals are then
expressed relative to the speaker's baseline, the median over all of that
speaker's segments (:func:`speaker_baseline`), so a deep voice is not "calm"
and a loud line is not "angry".
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..analysis import WINDOW_COLUMNS
from ..errors import ParameterError
from .energy import N_MFCC
from .frames import SpeakerFrames

MFCC = [f"mfcc{k}" for k in range(1, N_MFCC + 1)]
SPEC = ["centroid_hz", "alpha_ratio_db", "hammarberg_db", "slope_db_khz", "flux_db", "flatness"]

#: Level-type functionals: expressed relative to the speaker's baseline before modelling.
LEVEL_FEATURES = (["f0_st_median", "f0_st_p10", "f0_st_p90", "int_mean", "int_p90", "ln_f1", "ln_f2", "ln_f3",
                   "ln_centroid"] + [f"{m}_mean" for m in MFCC])
#: Functionals that need no baseline (shape, dispersion, voice quality, rate).
SHAPE_FEATURES = (["f0_st_std", "f0_st_range", "f0_slope_st_s", "f0_delta_st", "int_std", "int_range",
                   "int_delta_db", "hnr_mean", "hnr_std", "jitter_mean", "shimmer_mean", "voiced_share", "rate_syl_s", "pause_ratio",
                   "alpha_mean", "alpha_std", "hammarberg_mean", "hammarberg_std", "slope_mean", "slope_std",
                   "flux_mean", "flatness_mean", "centroid_std", "f1_std"] + [f"{m}_std" for m in MFCC])
#: Raw functionals left out of the models: absolute loudness depends on the recording chain
#: (corpora are level-normalised, phone lines have gain control), so it points different
#: ways in different corpora (speaker-grouped, cross-corpus checks in scripts/evaluate.py).
NOT_MODELLED = ("int_mean", "int_p90")
RAW_FEATURES = LEVEL_FEATURES + SHAPE_FEATURES
#: The columns of :func:`segment_functionals`.
FUNCTIONAL_COLUMNS = list(dict.fromkeys(["speech_s", "f0_st_mean"] + RAW_FEATURES))
#: The features the tone models see, in order: every functional relative to the speaker's median.
MODEL_FEATURES = tuple(f"{n}_rel" for n in RAW_FEATURES if n not in NOT_MODELLED)


def _st(f0):
    return 12.0 * np.log2(f0 / 100.0)


def range_moments(x: np.ndarray, ranges, *, rows=None) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and standard deviation of every column of ``x`` over each frame range.

    Running sums make this one pass over the frames however much the ranges
    overlap (windows of 3 s every 1 s share two thirds of their frames).
    Columns are taken one at a time, so a two-hour call needs no large copies.
    ``rows`` (boolean per frame) restricts the frames that count.
    """
    r = np.asarray(ranges, dtype=int).reshape(-1, 2)
    mean = np.full((len(r), x.shape[1]), np.nan)
    std = np.full((len(r), x.shape[1]), np.nan)
    for j in range(x.shape[1]):
        col = np.asarray(x[:, j], dtype=np.float64)
        ok = np.isfinite(col) if rows is None else np.isfinite(col) & rows
        v = np.where(ok, col, 0.0)
        c0 = np.concatenate([[0], np.cumsum(ok)])
        c1 = np.concatenate([[0.0], np.cumsum(v)])
        c2 = np.concatenate([[0.0], np.cumsum(v * v)])
        n = c0[r[:, 1]] - c0[r[:, 0]]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[:, j] = (c1[r[:, 1]] - c1[r[:, 0]]) / n
            std[:, j] = np.sqrt(np.maximum((c2[r[:, 1]] - c2[r[:, 0]]) / n - mean[:, j] ** 2, 0.0))
    return mean, std


def nanmedian_columns(x: np.ndarray) -> np.ndarray:
    """``np.nanmedian(x, axis=0)`` of a 2-D array, without numpy's masked-array path for short columns (ten
    times faster on a window's few hundred frames). The same numbers for float64; float32 input is
    taken as float64, so the mean of the two middle values of an even count can differ from numpy's
    float32 one in the last float32 bits.

    >>> nanmedian_columns(np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan], [2.0, np.nan]]))
    array([ 2., nan])
    """
    s = np.sort(np.asarray(x, float), axis=0)   # NaN sort last
    n = np.isfinite(s).sum(axis=0)
    cols = np.arange(s.shape[1])
    hi = s[np.minimum(n // 2, len(s) - 1), cols]
    lo = s[np.maximum((n - 1) // 2, 0), cols]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def _checked_ranges(ranges, n_frames: int, hop_s: float) -> list:
    """``ranges`` as a list of ``(a, b)`` frame indices within ``0..n_frames``, or ParameterError naming the
    first that is not."""
    pairs = ParameterError("ranges must be a list of (a, b) pairs of frame indices, such as [(0, fr.n_frames)], "
                           f"not {str(ranges)[:60]}")
    try:
        arr = np.asarray(ranges)
    except ValueError:   # ragged: pairs and lone numbers mixed
        raise pairs from None
    if arr.size == 0 and arr.ndim == 1:
        return []
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise pairs
    if arr.dtype.kind not in "iu":
        raise ParameterError(f"ranges must be whole frame indices, not {arr.dtype} values such as "
                             f"{tuple(arr[0].tolist())}: "
                             f"a frame is {hop_s:g} s, so a range from t0 to t1 seconds is "
                             f"(round(t0 / {hop_s:g}), round(t1 / {hop_s:g}))")
    bad = np.flatnonzero((arr[:, 0] < 0) | (arr[:, 0] > arr[:, 1]) | (arr[:, 1] > n_frames))
    if bad.size:
        a, b = (int(v) for v in arr[bad[0]])
        raise ParameterError(f"range ({a}, {b}) is not within the {n_frames} frames: each range (a, b) needs "
                             f"0 <= a <= b <= {n_frames}")
    return [(int(a), int(b)) for a, b in arr]


def segment_functionals(fr: SpeakerFrames, ranges) -> pd.DataFrame:
    """Raw functionals of frame ranges ``[(a, b), ...]`` of one speaker.

    Returns one row per range with ``speech_s``, the level features (absolute:
    f0 in semitones re 100 Hz, intensity in dB, ln formants) and the shape
    features. NaN where a range holds no (voiced) speech. Ranges are frame indices (``a`` to ``b``, ``b``
    excluded, ``0 <= a <= b <= fr.n_frames``); others are a :class:`~tonekit.errors.ParameterError`.
    """
    ranges = _checked_ranges(ranges, fr.n_frames, fr.hop_s)
    hop = fr.hop_s
    rows = []
    nuclei = np.zeros(fr.n_frames, bool)
    nuclei[fr.nuclei] = True
    f0_all = _st(fr["f0_hz"])
    inten_all = fr["intensity_db"]
    from .frames import LLD_NAMES

    col = {n: i for i, n in enumerate(LLD_NAMES)}
    all_means, all_stds = range_moments(fr.lld, ranges, rows=fr.speech)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, (a, b) in enumerate(ranges):
            sp = fr.speech[a:b]
            vo = fr.voiced[a:b]
            n_sp = int(sp.sum())
            r = {"speech_s": n_sp * hop}
            means, stds = all_means[i], all_stds[i]
            f0 = f0_all[a:b][vo]
            inten = inten_all[a:b][sp]
            if len(f0) >= 3:
                p10, p50, p90, p5, p95 = np.percentile(f0, [10, 50, 90, 5, 95])
                tt = np.flatnonzero(vo) * hop
                slope = np.polyfit(tt, f0, 1)[0] if np.ptp(tt) > 0.2 else np.nan
                d = np.diff(f0_all[a:b])
                r.update(f0_st_mean=float(np.mean(f0)), f0_st_median=p50, f0_st_p10=p10, f0_st_p90=p90,
                         f0_st_std=float(np.std(f0)), f0_st_range=p95 - p5, f0_slope_st_s=slope,
                         f0_delta_st=float(np.nanmean(np.abs(d))) if np.isfinite(d).any() else np.nan)
            if n_sp >= 3:
                q10, q90 = np.percentile(inten, [10, 90])
                di = np.diff(inten_all[a:b])[sp[1:] & sp[:-1]]
                r.update(int_mean=float(np.mean(inten)), int_p90=q90, int_std=float(np.std(inten)),
                         int_range=q90 - q10, int_delta_db=float(np.mean(np.abs(di))) if len(di) else np.nan)
                for m in MFCC:
                    r[f"{m}_mean"] = means[col[m]]
                    r[f"{m}_std"] = stds[col[m]]
                r.update(ln_centroid=np.log(means[col["centroid_hz"]]),
                         centroid_std=stds[col["centroid_hz"]] / means[col["centroid_hz"]],
                         alpha_mean=means[col["alpha_ratio_db"]], alpha_std=stds[col["alpha_ratio_db"]],
                         hammarberg_mean=means[col["hammarberg_db"]], hammarberg_std=stds[col["hammarberg_db"]],
                         slope_mean=means[col["slope_db_khz"]], slope_std=stds[col["slope_db_khz"]],
                         flux_mean=means[col["flux_db"]], flatness_mean=means[col["flatness"]],
                         voiced_share=int(vo.sum()) / n_sp, rate_syl_s=int(nuclei[a:b].sum()) / (n_sp * hop))
                idx = np.flatnonzero(sp)
                span = idx[-1] - idx[0] + 1
                r["pause_ratio"] = 1.0 - n_sp / span
            if vo.sum() >= 3:
                fm = fr.lld[a:b, col["f1_hz"]: col["f3_hz"] + 1][vo]
                med = nanmedian_columns(fm)
                r.update(hnr_mean=means[col["hnr_db"]], hnr_std=stds[col["hnr_db"]],
                         jitter_mean=means[col["jitter"]], shimmer_mean=means[col["shimmer"]],
                         ln_f1=np.log(med[0]), ln_f2=np.log(med[1]), ln_f3=np.log(med[2]),
                         f1_std=stds[col["f1_hz"]] / means[col["f1_hz"]])
            rows.append(r)
    return pd.DataFrame(rows, columns=FUNCTIONAL_COLUMNS, dtype=float)


#: A recording whose speech has fewer voiced frames than this (10 ms each) is not scored: noise, hiss or
#: breath has none. Real speech has more: the shortest voiced part of a corpus utterance is 0.09 s as
#: recorded; through the phone line, 4 of 4,523 single words (TurEV-DB) fall under 0.05 s, 2 of them to none.
MIN_VOICED_FRAMES = 5


def unvoiced(raw: pd.DataFrame, hop_s: float = 0.01) -> pd.Series:
    """Which rows of functionals (:func:`segment_functionals`) hold speech with fewer than
    :data:`MIN_VOICED_FRAMES` voiced frames (a row with no speech measured at all, NaN, is not one of them:
    it could not be read).

    >>> unvoiced(pd.DataFrame({"speech_s": [1.0, 1.0, 0.02, np.nan], "voiced_share": [0.5, 0.02, np.nan, np.nan]}))
    0    False
    1     True
    2     True
    3    False
    dtype: bool
    """
    speech = raw["speech_s"].astype(float)
    share = raw["voiced_share"].astype(float).fillna(0.0)   # under 3 speech frames: no share measured
    n_voiced = (share * speech / hop_s).round()
    return (speech.notna() & (n_voiced < MIN_VOICED_FRAMES)).rename(None)


def speaker_baseline(raw: pd.DataFrame, *, min_speech_s: float = 1.0) -> pd.Series:
    """Median of each functional over a speaker's segments with enough speech."""
    ok = raw["speech_s"] >= min_speech_s
    use = raw[ok] if ok.sum() >= 1 else raw
    return use[RAW_FEATURES].median(skipna=True)


def checked_baseline(baseline, names) -> pd.Series:
    """A speaker's baseline (a Series or a mapping of raw functionals by name, NaN where not measured) as floats in
    the order of ``names``; ParameterError when it is not one, or lacks any of ``names`` (a baseline read by
    position, or with a name misspelt, would shift every feature silently).

    >>> checked_baseline({"a": 1, "b": None}, ["b", "a"]).tolist()
    [nan, 1.0]
    >>> checked_baseline([1.0, 2.0], ["a", "b"])
    Traceback (most recent call last):
    tonekit.errors.ParameterError: baseline must be a pandas Series or a dict of functionals by name (e.g. \
speaker_baseline(segment_functionals(...))), not list
    """
    if isinstance(baseline, pd.DataFrame):
        raise ParameterError("baseline must be one value per functional, not a table: take each column's median "
                             "(speaker_baseline(table))")
    if not isinstance(baseline, (pd.Series, dict)):
        raise ParameterError("baseline must be a pandas Series or a dict of functionals by name (e.g. "
                             f"speaker_baseline(segment_functionals(...))), not {type(baseline).__name__}")
    base = pd.Series(baseline, dtype=object)
    missing = [n for n in names if n not in base.index]
    if missing:
        raise ParameterError(f"baseline lacks {len(missing)} of the {len(names)} functionals the models read "
                             f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); "
                             "speaker_baseline(segment_functionals(...)) gives them all")
    try:
        return pd.to_numeric(base.reindex(names), errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"baseline: every functional must be a number ({exc})") from None


def model_features(raw: pd.DataFrame, baseline) -> pd.DataFrame:
    """The tone models' inputs (:data:`MODEL_FEATURES`): functionals minus the speaker's baseline.

    Speaker-relative features let one model serve deep and high, loud and
    soft voices, and carry over between corpora and phone lines far better
    than absolute values (in our leave-one-corpus-out checks).
    """
    names = [n[:-4] for n in MODEL_FEATURES]
    out = raw[names] - checked_baseline(baseline, names).to_numpy()[None, :]
    out.columns = list(MODEL_FEATURES)
    return out


def window_ranges(n_frames: int, hop_s: float, *, win_dur_s: float = 3.0, hop_dur_s: float = 1.0):
    """Frame ranges of windows ``win_dur_s`` long every ``hop_dur_s`` over ``n_frames`` frames."""
    if not (np.isfinite(win_dur_s) and np.isfinite(hop_dur_s) and win_dur_s >= hop_s and hop_dur_s >= hop_s):
        raise ParameterError(f"win_dur_s and hop_dur_s must be finite and at least one frame ({hop_s} s), "
                             f"got {win_dur_s} and {hop_dur_s}")
    if hop_dur_s > win_dur_s:
        raise ParameterError(f"hop_dur_s ({hop_dur_s}) must not exceed win_dur_s ({win_dur_s})")
    w = int(round(win_dur_s / hop_s))
    h = int(round(hop_dur_s / hop_s))
    if n_frames <= w:
        return [(0, n_frames)]
    starts = list(range(0, n_frames - w + 1, h))
    if starts[-1] + w < n_frames:
        starts.append(starts[-1] + h)
    return [(s, min(s + w, n_frames)) for s in starts]


def mixed_reference(own, population, share: float):
    """A speaker's reference steadied by other speakers': ``(1 - share)`` of ``own`` plus ``share`` of
    ``population``. ``own`` itself when ``population`` is None or ``share`` is 0. A Series ``own`` takes
    ``population`` (a dict or Series) by name, keeping its own value where the population has none.

    Examples
    --------
    >>> mixed_reference(np.array([2.0, 4.0]), np.zeros(2), 0.25)
    array([1.5, 3. ])
    >>> mixed_reference(pd.Series({"a": 2.0, "b": 4.0}), {"a": 0.0}, 0.5).to_dict()
    {'a': 1.0, 'b': 4.0}
    """
    if population is None or not share:
        return own
    if isinstance(own, pd.Series):
        population = pd.Series(population, dtype=float).reindex(own.index).fillna(own)
        return (1 - share) * own + share * population
    return (1 - share) * np.asarray(own, float) + share * np.asarray(population, float)


def speaker_windows(fr: SpeakerFrames, *, win_dur_s: float = 3.0, hop_dur_s: float = 1.0,
                    min_speech_s: float = 1.0, population=None, population_share: float = 0.0,
                    duration_s: float | None = None):
    """Windows of one speaker: the public table and the model-feature table (same rows).

    The last window ends with the audio (``duration_s``, when given), not at the end of its last 10-ms frame.
    The model features are relative to the speaker's baseline in this call; with ``population`` (a
    baseline of other speakers, as the model card's ``population_baseline``) and ``population_share`` s,
    to ``(1 - s)`` of it plus ``s`` of the population's. The public table's relative columns always use
    the speaker's own baseline.

    Returns
    -------
    windows : pd.DataFrame
        The window columns (README: Python); ``anger``, ``calm``, ``warmth`` NaN
        (filled by :func:`tonekit.models.score_windows`).
    features : pd.DataFrame
        :data:`MODEL_FEATURES` per window, normalised to the speaker's baseline in this call.
    """
    ranges = window_ranges(fr.n_frames, fr.hop_s, win_dur_s=win_dur_s, hop_dur_s=hop_dur_s)
    raw = segment_functionals(fr, ranges)
    base = speaker_baseline(raw, min_speech_s=min_speech_s)
    feats = model_features(raw, mixed_reference(base, population, population_share))
    win = pd.DataFrame({
        "speaker": fr.speaker,
        "start_s": [a * fr.hop_s for a, _ in ranges],
        "end_s": np.minimum([b * fr.hop_s for _, b in ranges], np.inf if duration_s is None else round(duration_s, 3)),
        "speech_s": raw["speech_s"],
        "f0_st_mean": raw["f0_st_mean"] - base["f0_st_median"],
        "f0_st_std": raw["f0_st_std"],
        "f0_st_range": raw["f0_st_range"],
        "intensity_db_mean": raw["int_mean"] - base["int_mean"],
        "rate_syl_s": raw["rate_syl_s"],
        "pause_ratio": raw["pause_ratio"],
        "smile_cue": smile_cue(raw, base),
    }, columns=WINDOW_COLUMNS)
    for t in ("anger", "calm", "warmth"):
        win[t] = win[t].astype(float)   # NaN until scored; float, not object, so describe() and select_dtypes see them
    enough = raw["speech_s"] >= min_speech_s
    win.loc[~enough, ["rate_syl_s", "smile_cue"]] = np.nan
    return win, feats


def smile_cue(raw: pd.DataFrame, base: pd.Series) -> pd.Series:
    """Smile cue per segment: mean upward shift of F2, F3 and spectral centroid, in percent.

    Each term is ``100 * ln(x / baseline)`` (about the percent change), so a
    speaker whose F2, F3 and brightness all rise 5 % scores about +5; NaN
    terms (no voiced speech) are skipped.
    """
    terms = pd.concat([100 * (raw[c] - base[c]) for c in ("ln_f2", "ln_f3", "ln_centroid")], axis=1)
    return terms.mean(axis=1, skipna=True)
