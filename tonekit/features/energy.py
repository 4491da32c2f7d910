"""Intensity and spectral shape per 10 ms frame (numpy; no Praat needed).

Spectral descriptors are computed inside the telephone band (300-3400 Hz) at
every sampling rate, so a model trained on wideband speech sees the same
features on an 8 kHz phone line.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

#: Reference pressure for dB SPL, as in Praat (signal values taken as pascal).
P_REF = 2e-5
BAND_HZ = (300.0, 3400.0)
N_MFCC = 12
N_MELS = 24

SPECTRAL_NAMES = tuple(f"mfcc{k}" for k in range(1, N_MFCC + 1)) + (
    "centroid_hz", "alpha_ratio_db", "hammarberg_db", "slope_db_khz", "flux_db", "flatness")


def block_power(y: np.ndarray, hop: int) -> np.ndarray:
    """Sum of squares of consecutive blocks of ``hop`` samples (last block zero-padded)."""
    n = int(np.ceil(len(y) / hop))
    pad = np.zeros(n * hop)
    pad[: len(y)] = y
    return np.square(pad).reshape(n, hop).sum(axis=1)


def intensity_from_blocks(blocks: np.ndarray, hop: int, *, win_blocks: int = 4) -> np.ndarray:
    """Intensity in dB (re 2e-5) of frames centred on block boundaries.

    Frame ``i`` is centred at ``i * hop`` samples and covers ``win_blocks``
    blocks around it (40 ms with 10 ms blocks).
    """
    half = win_blocks // 2
    padded = np.concatenate([np.zeros(half), blocks, np.zeros(half)])
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    sums = csum[win_blocks:] - csum[:-win_blocks]
    sums = sums[: len(blocks)]
    ms = sums / (win_blocks * hop)
    return 10 * np.log10(np.maximum(ms, 1e-12) / P_REF**2)


def intensity_db(y: np.ndarray, sr: int, *, hop_s: float = 0.01, win_s: float = 0.04) -> np.ndarray:
    """Intensity contour in dB (re 2e-5, Praat's convention), one value per ``hop_s``.

    Frame ``i`` is centred at ``i * hop_s`` seconds.

    Examples
    --------
    >>> sr = 16000; y = 0.1 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)
    >>> round(float(np.median(intensity_db(y, sr))), 1)   # 0.1/sqrt(2) Pa
    71.0
    """
    hop = int(round(hop_s * sr))
    return intensity_from_blocks(block_power(np.asarray(y, float), hop), hop,
                                 win_blocks=max(1, int(round(win_s / hop_s))))


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, float) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10 ** (np.asarray(m, float) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int):
    """Triangular HTK mel filters over the telephone band (same as librosa's htk=True, norm=None)."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(BAND_HZ[0]), _hz_to_mel(BAND_HZ[1]), N_MELS + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    lower = (freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - freqs[None, :]) / np.diff(edges)[1:, None]
    return np.maximum(0.0, np.minimum(lower, upper)), edges[1:-1]


def spectral_frames(y: np.ndarray, sr: int, *, hop_s: float = 0.01, n_frames: int | None = None) -> np.ndarray:
    """Spectral descriptors per frame, in the order of :data:`SPECTRAL_NAMES`.

    Frames are centred at ``i * hop_s`` (32 ms Hann window). Columns: MFCC 1-12
    of a 24-band mel spectrum over 300-3400 Hz; spectral centroid in Hz;
    alpha ratio (1-3.4 kHz over 0.3-1 kHz energy, dB); Hammarberg index
    (peak 0.3-2 kHz minus peak 2-3.4 kHz, dB); spectral slope of the mel
    spectrum in dB/kHz; spectral flux (mean absolute change of the mel
    spectrum in dB); spectral flatness (0..1).
    """
    hop = int(round(hop_s * sr))
    n_fft = 512 if sr >= 16000 else 256
    n = n_frames if n_frames is not None else int(np.ceil(len(y) / hop))
    half = n_fft // 2
    pad = np.zeros((n - 1) * hop + n_fft)
    seg = np.asarray(y, float)[: len(pad) - half]
    pad[half: half + len(seg)] = seg
    idx = np.arange(n)[:, None] * hop + np.arange(n_fft)[None, :]
    frames = pad[idx] * np.hanning(n_fft)[None, :]
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    mel, centers = _mel_basis(sr, n_fft)
    eps = 1e-10
    melspec = power @ mel.T
    logmel = 10 * np.log10(melspec + eps)
    mfcc = scipy.fft.dct(logmel, type=2, norm="ortho", axis=1)[:, 1: N_MFCC + 1]
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    pb = power[:, band]
    fb = freqs[band]
    tot = pb.sum(axis=1) + eps
    centroid = (pb * fb[None, :]).sum(axis=1) / tot
    lo = pb[:, fb < 1000].sum(axis=1) + eps
    hi = pb[:, fb >= 1000].sum(axis=1) + eps
    alpha = 10 * np.log10(hi / lo)
    db = 10 * np.log10(pb + eps)
    hammarberg = db[:, fb < 2000].max(axis=1) - db[:, fb >= 2000].max(axis=1)
    xc = (centers - centers.mean()) / 1000.0
    slope = (logmel - logmel.mean(axis=1, keepdims=True)) @ xc / np.sum(xc**2)
    flux = np.concatenate([[np.nan], np.abs(np.diff(logmel, axis=0)).mean(axis=1)])
    flatness = np.exp(np.mean(np.log(pb + eps), axis=1)) / (pb.mean(axis=1) + eps)
    return np.column_stack([mfcc, centroid, alpha, hammarberg, slope, flux, flatness])
