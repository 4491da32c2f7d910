"""Speaking rate from syllable nuclei (after de Jong & Wempe 2009).

A syllable nucleus is an intensity peak that is voiced, loud enough relative
to the speaker, and separated from the previous nucleus by a dip of at least
``min_dip_db``.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def syllable_nuclei(intensity_db: np.ndarray, voiced: np.ndarray, *, speech: np.ndarray | None = None,
                    min_dip_db: float = 2.0, below_peak_db: float = 25.0, smooth_frames: int = 3,
                    min_gap_frames: int = 6) -> np.ndarray:
    """Frame indices of syllable nuclei.

    Parameters
    ----------
    intensity_db : np.ndarray
        Intensity contour in dB, one value per frame (10 ms).
    voiced : np.ndarray of bool
        Voicing per frame.
    speech : np.ndarray of bool, optional
        Speech activity per frame; nuclei outside speech are dropped.
    min_dip_db : float
        Minimum dip between two nuclei, in dB (de Jong & Wempe: 2 dB).
    below_peak_db : float
        Peaks more than this many dB below the 99th percentile of the
        speech intensity are ignored (their "silence threshold").
    smooth_frames : int
        Moving-average length applied to the contour first.
    min_gap_frames : int
        Minimum distance between nuclei in frames (60 ms: 16 syllables/s).

    Returns
    -------
    np.ndarray of int
    """
    x = np.asarray(intensity_db, float)
    if len(x) < 3:
        return np.zeros(0, dtype=int)
    if smooth_frames > 1:
        x = uniform_filter1d(x, smooth_frames, mode="nearest")
    ok = np.ones(len(x), bool) if speech is None else np.asarray(speech, bool)
    if not ok.any():
        return np.zeros(0, dtype=int)
    thr = np.percentile(x[ok], 99) - below_peak_db
    peaks = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1
    peaks = peaks[(x[peaks] > thr) & ok[peaks]]
    nuclei = []
    for p in peaks:
        if nuclei:
            q = nuclei[-1]
            dip = x[q: p + 1].min()
            if p - q < min_gap_frames or min(x[q], x[p]) - dip < min_dip_db:
                if x[p] > x[q]:  # keep the louder of two merged peaks
                    nuclei[-1] = p
                continue
        nuclei.append(p)
    nuclei = np.asarray(nuclei, dtype=int)
    v = np.asarray(voiced, bool)
    # voiced at the peak or within 20 ms of it (pitch and intensity frames are not exactly aligned)
    near = np.zeros(len(v), bool)
    for s in (-2, -1, 0, 1, 2):
        near |= np.roll(v, s)
    return nuclei[near[nuclei]] if len(nuclei) else nuclei
