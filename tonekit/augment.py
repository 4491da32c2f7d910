"""Telephone-line degradation, for training augmentation and robustness checks."""
from __future__ import annotations

import numpy as np
import scipy.signal

from .audio import resample

TELEPHONE_SR = 8000


def mulaw(y: np.ndarray, mu: int = 255) -> np.ndarray:
    """Round-trip through 8-bit µ-law (G.711) quantisation."""
    y = np.clip(y, -1.0, 1.0)
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    q = np.round(c * 127) / 127
    return np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu


def telephone(y: np.ndarray, sr: int, *, rng=None, noise_dbfs: float = -50.0, gain_db: float = 0.0,
              band_hz=(300.0, 3400.0)) -> tuple[np.ndarray, int]:
    """A signal as heard through a telephone line.

    Band-pass ``band_hz`` (4th-order Butterworth), resample to 8 kHz, change
    the level by ``gain_db``, add white line noise at ``noise_dbfs``, and
    quantise with µ-law.

    Parameters
    ----------
    y : np.ndarray
        Mono signal at ``sr``.
    sr : int
        Its sampling rate in Hz.
    rng : numpy.random.Generator, optional
        For the noise (seeded default).

    Returns
    -------
    y8 : np.ndarray
    sr8 : int
        8000.

    Examples
    --------
    >>> y8, sr8 = telephone(np.zeros(16000) + 0.01, 16000)
    >>> sr8, len(y8)
    (8000, 8000)
    """
    rng = np.random.default_rng(0) if rng is None else rng
    y8 = resample(np.asarray(y, float), sr, TELEPHONE_SR)
    sos = scipy.signal.butter(4, band_hz, btype="bandpass", fs=TELEPHONE_SR, output="sos")
    y8 = scipy.signal.sosfiltfilt(sos, y8) * 10 ** (gain_db / 20)
    y8 = y8 + rng.normal(0.0, 10 ** (noise_dbfs / 20), len(y8))
    return mulaw(y8), TELEPHONE_SR
