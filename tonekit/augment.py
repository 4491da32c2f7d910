"""Telephone-line degradation, for training augmentation and robustness checks."""
from __future__ import annotations

import io

import numpy as np
import scipy.signal
import soundfile as sf

from .audio import resample

TELEPHONE_SR = 8000


def mulaw(y: np.ndarray, mu: int = 255) -> np.ndarray:
    """Round-trip through 8-bit µ-law (G.711) quantisation."""
    y = np.clip(y, -1.0, 1.0)
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    q = np.round(c * 127) / 127
    return np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu


def _round_trip(y: np.ndarray, **coding) -> np.ndarray:
    """An 8-kHz signal written in memory with libsndfile's ``coding`` (format, subtype...) and read back; the
    same length out as in."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(y, float), -1.0, 1.0), TELEPHONE_SR, **coding)
    buf.seek(0)
    out, _ = sf.read(buf, dtype="float64")
    return np.resize(out, len(y)) if len(out) < len(y) else out[:len(y)]


def gsm610(y: np.ndarray) -> np.ndarray:
    """Round-trip of an 8-kHz signal through the GSM 06.10 full-rate codec (13 kbit/s, 2G mobile telephony),
    libsndfile's encoder and decoder; the same length out as in."""
    return _round_trip(y, format="WAV", subtype="GSM610")


def opus_low(y: np.ndarray) -> np.ndarray:
    """Round-trip of an 8-kHz signal through Opus at its lowest quality (libsndfile's encoder at compression
    level 1.0: about 10 kbit/s, a VoIP call on a poor connection); the same length out as in."""
    return _round_trip(y, format="OGG", subtype="OPUS", compression_level=1.0)


#: The line's codecs by name: training's µ-law, and two it never hears (robustness checks).
CODECS = {"mulaw": mulaw, "gsm": gsm610, "opus": opus_low}


def active_level_db(y: np.ndarray, sr: int, *, range_db: float = 25.0) -> float:
    """RMS level (dBFS) of the 10-ms frames within ``range_db`` of the loudest: the speech, not its pauses.

    >>> round(active_level_db(np.r_[np.zeros(8000), np.full(8000, 0.1)], 16000), 1)
    -20.0
    """
    hop = max(1, sr // 100)
    n = max(1, len(y) // hop)
    power = np.mean(np.resize(np.asarray(y, float), n * hop).reshape(n, hop) ** 2, axis=1)
    db = 10 * np.log10(power + 1e-12)
    return float(10 * np.log10(np.mean(power[db > db.max() - range_db]) + 1e-12))


def telephone(y: np.ndarray, sr: int, *, rng=None, noise_dbfs: float = -50.0, gain_db: float = 0.0,
              level_dbfs: float | None = None, band_hz=(300.0, 3400.0),
              codec: str = "mulaw") -> tuple[np.ndarray, int]:
    """A signal as heard through a telephone line.

    Band-pass ``band_hz`` (4th-order Butterworth), resample to 8 kHz, level
    the speech to ``level_dbfs`` (a line's automatic gain control; None keeps
    the input level), change the level by ``gain_db``, add white line noise at
    ``noise_dbfs``, and encode and decode with ``codec``: ``"mulaw"`` (G.711,
    a fixed line; what training uses), ``"gsm"`` (GSM 06.10 full rate, a
    mobile one) or ``"opus"`` (Opus at about 10 kbit/s, VoIP); the last two
    for robustness checks on codecs the models never heard.

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
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)}, not {codec!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    y8 = resample(np.asarray(y, float), sr, TELEPHONE_SR)
    sos = scipy.signal.butter(4, band_hz, btype="bandpass", fs=TELEPHONE_SR, output="sos")
    y8 = scipy.signal.sosfiltfilt(sos, y8)
    if level_dbfs is not None and np.any(y8):
        gain_db = gain_db + level_dbfs - active_level_db(y8, TELEPHONE_SR)
    y8 = y8 * 10 ** (gain_db / 20)
    y8 = y8 + rng.normal(0.0, 10 ** (noise_dbfs / 20), len(y8))
    return CODECS[codec](y8), TELEPHONE_SR


def telephone_copy(y: np.ndarray, sr: int, seed: int, *, codec: str = "mulaw") -> tuple[np.ndarray, int]:
    """The telephone condition of training and evaluation, drawn from ``seed`` (deterministic).

    Speech levelled by the line's gain control to -28..-16 dBFS, line noise at
    -60..-45 dBFS (a signal-to-noise ratio of 12-44 dB, as on real lines),
    300-3400 Hz, 8 kHz, µ-law. Levelling first matters: RAVDESS and part of
    TurEV-DB are recorded 35-45 dB below full scale, and fixed-level noise would otherwise
    bury their speech at SNRs down to 0 dB and below, far under a phone line's.
    ``codec="gsm"`` or ``"opus"`` gives the same line (the same level and noise for a seed) through a codec
    training never hears (:data:`CODECS`).
    """
    rng = np.random.default_rng(seed)
    return telephone(y, sr, rng=rng, level_dbfs=rng.uniform(-28, -16), noise_dbfs=rng.uniform(-60, -45),
                     codec=codec)
