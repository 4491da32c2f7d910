"""Fundamental frequency with Praat's autocorrelation method (through parselmouth).

Praat objects stay inside this module: callers get numpy arrays, unvoiced
frames as NaN.
"""
from __future__ import annotations

import warnings

import numpy as np
import parselmouth

from ..errors import AudioError, ParameterError
from ..notes import note

#: Search range of the first, speaker-agnostic pass (Hz).
WIDE_FLOOR_HZ = 60.0
WIDE_CEILING_HZ = 700.0


def track_pitch(y: np.ndarray, sr: int, *, floor_hz: float = 75.0, ceiling_hz: float = 600.0,
                time_step_s: float = 0.01, voicing_threshold: float = 0.45,
                silence_threshold: float = 0.03, octave_jump_cost: float = 0.5, pulses: bool = False):
    """Pitch track of a mono signal.

    Parameters
    ----------
    y : np.ndarray
        Mono signal.
    sr : int > 0
        Sampling rate in Hz.
    floor_hz, ceiling_hz : float > 0
        Pitch search range in Hz (see :func:`pitch_range` for a speaker's).
    time_step_s : float > 0
        Hop between frames in seconds.
    voicing_threshold, silence_threshold, octave_jump_cost : float
        Praat's path-finder settings (Praat defaults 0.45, 0.03, 0.35; a
        higher octave-jump cost gives fewer octave errors on real speech).

    Returns
    -------
    times_s : np.ndarray
        Frame centres in seconds from the start of ``y``.
    f0_hz : np.ndarray
        f0 in Hz, NaN where unvoiced.
    strength : np.ndarray
        Autocorrelation peak height (0..1) of the chosen candidate, NaN where unvoiced.
    pulse_times_s : np.ndarray
        Only with ``pulses=True``: glottal pulse times (Praat's "To PointProcess (cc)").

    Examples
    --------
    >>> sr = 16000; t = np.arange(sr) / sr
    >>> _, f0, _ = track_pitch(np.sin(2 * np.pi * 200 * t), sr)
    >>> round(float(np.nanmedian(f0)))
    200
    """
    if not 0 < floor_hz < ceiling_hz:
        raise ParameterError(f"need 0 < floor_hz < ceiling_hz, got {floor_hz} and {ceiling_hz}")
    min_len = 3.0 / floor_hz + 2 * time_step_s
    if len(y) < min_len * sr:
        n = max(0, int(len(y) / sr / time_step_s))
        empty = (np.arange(n) * time_step_s, np.full(n, np.nan), np.full(n, np.nan))
        return empty + (np.zeros(0),) if pulses else empty
    try:
        snd = parselmouth.Sound(np.ascontiguousarray(y, dtype=np.float64), sampling_frequency=sr)
        pitch = snd.to_pitch_ac(time_step=time_step_s, pitch_floor=floor_hz, pitch_ceiling=ceiling_hz,
                                max_number_of_candidates=15, silence_threshold=silence_threshold,
                                voicing_threshold=voicing_threshold, octave_cost=0.01,
                                octave_jump_cost=octave_jump_cost, voiced_unvoiced_cost=0.14)
    except parselmouth.PraatError as exc:
        raise AudioError(None, f"Praat pitch analysis failed: {str(exc).strip().splitlines()[0]}") from None
    arr = pitch.selected_array
    f0 = arr["frequency"].astype(np.float64)
    strength = arr["strength"].astype(np.float64)
    unvoiced = f0 <= 0
    f0[unvoiced] = np.nan
    strength[unvoiced] = np.nan
    if not pulses:
        return np.asarray(pitch.xs()), f0, strength
    try:
        points = parselmouth.praat.call([snd, pitch], "To PointProcess (cc)")
        if parselmouth.praat.call(points, "Get number of points") == 0:   # nothing voiced: no pulses
            pulse_times = np.zeros(0)
        else:
            pulse_times = parselmouth.praat.call(points, "To Matrix").values[0].astype(np.float64)
    except parselmouth.PraatError as exc:   # not worth the call: jitter and shimmer go unmeasured, said so
        warnings.warn(note("no_pulses", error=str(exc).strip().splitlines()[0]), stacklevel=2)
        pulse_times = np.zeros(0)
    return np.asarray(pitch.xs()), f0, strength, pulse_times


def perturbation(y: np.ndarray, sr: int, pulse_times_s: np.ndarray, *, floor_hz: float, ceiling_hz: float,
                 max_period_factor: float = 1.3):
    """Cycle-to-cycle jitter and shimmer at each glottal pulse (Praat's "local" definitions).

    For consecutive periods ``T[i-1], T[i]`` inside the pitch range whose ratio
    is at most ``max_period_factor``: jitter = |T[i] - T[i-1]| / mean(T), and
    shimmer = |A[i] - A[i-1]| / mean(A) with A the peak amplitude of a period.

    Returns
    -------
    times_s, jitter, shimmer : np.ndarray
        One value per qualifying pulse.

    Examples
    --------
    >>> t, j, s = perturbation(np.ones(1000), 1000, np.array([0.0, .01, .02, .03]), floor_hz=50, ceiling_hz=500)
    >>> [round(float(v), 6) for v in j], [round(float(v), 6) for v in s]
    ([0.0, 0.0], [0.0, 0.0])
    """
    t = np.asarray(pulse_times_s, float)
    if len(t) < 3:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    period = np.diff(t)
    idx = np.clip(np.rint(t * sr).astype(int), 0, max(len(y) - 1, 0))
    a_y = np.abs(np.asarray(y, dtype=np.float64))
    starts = idx[:-1]
    nonempty = idx[1:] > starts
    amp = np.full(len(starts), np.nan)
    if nonempty.any() and len(a_y):
        # peak of each period; reduceat over the non-empty periods' starts (strictly increasing)
        s = starts[nonempty]
        peaks = np.maximum.reduceat(a_y, s)
        ends = idx[1:][nonempty]
        # reduceat runs to the next start; clip the last period at its own end
        peaks[-1] = a_y[s[-1]: ends[-1]].max()
        amp[nonempty] = peaks
    ok = (period >= 1.0 / ceiling_hz) & (period <= 1.0 / floor_hz)
    p0, p1 = period[:-1], period[1:]
    pair = ok[:-1] & ok[1:] & (np.maximum(p0, p1) / np.minimum(p0, p1) <= max_period_factor)
    jitter = np.abs(p1 - p0) / ((p0 + p1) / 2)
    a0, a1 = amp[:-1], amp[1:]
    shimmer = np.abs(a1 - a0) / np.maximum((a0 + a1) / 2, 1e-12)
    return t[1:-1][pair], jitter[pair], shimmer[pair]


def pitch_range(f0_hz: np.ndarray) -> tuple[float, float]:
    """A speaker's pitch floor and ceiling from a first-pass track (after Hirst 2011).

    floor = 0.75 x 15th percentile, ceiling = 2.2 x 85th percentile (generous,
    since angry and cheerful speech reach far above a speaker's usual range),
    clamped to 50-250 Hz and 250-800 Hz.

    Examples
    --------
    >>> pitch_range(np.linspace(100.0, 130.0, 50))
    (78.4, 276.1)
    """
    v = np.asarray(f0_hz, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 20:
        return 70.0, 600.0
    q15, q85 = np.percentile(v, [15, 85])
    floor = float(np.clip(0.75 * q15, 50.0, 250.0))
    ceiling = float(np.clip(2.2 * q85, 250.0, 800.0))
    return round(floor, 1), round(ceiling, 1)


def fill_voicing_gaps(f0_hz: np.ndarray, *, max_gap: int = 3, max_jump: float = 0.15) -> np.ndarray:
    """Bridge short unvoiced dropouts inside a voiced stretch.

    Praat's path finder drops single frames of irregular (creaky, breathy)
    phonation in the middle of a vowel. A gap of at most ``max_gap`` frames
    whose neighbours differ by less than ``max_jump`` (relative) is filled by
    linear interpolation in log frequency.

    Examples
    --------
    >>> fill_voicing_gaps(np.array([100.0, np.nan, 104.0]))
    array([100.        , 101.98039027, 104.        ])
    """
    f = np.asarray(f0_hz, dtype=float).copy()
    voiced = np.isfinite(f)
    idx = np.flatnonzero(voiced)
    if len(idx) < 2:
        return f
    gaps = np.diff(idx) - 1
    for k in np.flatnonzero((gaps > 0) & (gaps <= max_gap)):
        a, b = idx[k], idx[k + 1]
        if abs(f[b] / f[a] - 1.0) <= max_jump:
            w = np.arange(1, b - a) / (b - a)
            f[a + 1: b] = np.exp((1 - w) * np.log(f[a]) + w * np.log(f[b]))
    return f
