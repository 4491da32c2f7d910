"""Synthetic speech-like signals with known truth, shared by the tests.

* :func:`vowel` -- a source-filter vowel with known f0 and formants.
* :func:`syllable_train` -- voiced bursts separated by consonant-like dips: a known syllable count.
* :func:`stereo_call` -- two synthetic talkers taking turns on a stereo line, with crosstalk,
  line noise and the true speech masks on a 10 ms grid.
* :func:`non_utf8_path` -- a file whose name is not UTF-8 (an old Latin-1 archive's).
"""
from __future__ import annotations

import numpy as np
import scipy.signal

HOP_S = 0.01


def _pulse_train(f0_track_hz: np.ndarray, sr: int) -> np.ndarray:
    """Unit impulses at glottal closures of an f0 contour (phase accumulation, nearest sample)."""
    phase = np.cumsum(f0_track_hz / sr)
    x = np.zeros(len(f0_track_hz))
    x[np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1] = 1.0
    return x


def _resonators(x: np.ndarray, formants_hz, bandwidths_hz, sr: int) -> np.ndarray:
    """Cascade of 2nd-order resonators (unity gain at 0 Hz), one per formant."""
    for f, bw in zip(formants_hz, bandwidths_hz):
        r = np.exp(-np.pi * bw / sr)
        a = [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
        x = scipy.signal.lfilter([sum(a)], a, x)
    return x


def vowel(f0_hz: float, formants_hz, dur_s: float, sr: int, *, bandwidths=(80, 100, 120), jitter: float = 0.0,
          higher_formants_hz=(3500.0, 4500.0), level: float = 0.3, rng=None) -> np.ndarray:
    """A steady source-filter vowel.

    Glottal source: impulse train at ``f0_hz`` (2 % declination over the vowel,
    0.5 % 5 Hz vibrato, optional relative ``jitter`` per sample of the contour)
    through two one-pole low-passes (-12 dB/oct above about 100 Hz); vocal
    tract: cascaded resonators at ``formants_hz``; lip radiation: first
    difference. Peak-normalised to ``level``.

    ``higher_formants_hz`` (F4, F5, bandwidths 200 and 250 Hz) are added
    above the given ones, as in a real vocal tract; LPC analysis with 5
    formants per 5 kHz expects them and puts spurious poles between F1-F3
    without them. Those at or above Nyquist are left out.
    """
    n = int(round(dur_s * sr))
    t = np.arange(n) / sr
    f0 = f0_hz * (1.01 - 0.02 * t / max(dur_s, 1e-9)) * (1 + 0.005 * np.sin(2 * np.pi * 5 * t))
    if jitter:
        rng = np.random.default_rng(0) if rng is None else rng
        f0 = f0 * (1 + jitter * rng.standard_normal(n))
    src = _pulse_train(f0, sr)
    pole = np.exp(-2 * np.pi * 100 / sr)
    src = scipy.signal.lfilter([1.0], [1.0, -pole], scipy.signal.lfilter([1.0], [1.0, -pole], src))
    bws = list(bandwidths) + [bandwidths[-1]] * (len(formants_hz) - len(bandwidths))
    hi = [f for f in higher_formants_hz if f > max(formants_hz) and f < 0.45 * sr]
    y = _resonators(src, list(formants_hz) + hi, bws + [200.0, 250.0][: len(hi)], sr)
    y = np.diff(y, prepend=0.0)
    return level * y / np.max(np.abs(y))


#: Male /a/, /i/, /u/ (Peterson & Barney-like) used to vary the syllables.
VOWELS = ((700, 1220, 2600), (300, 2300, 3000), (320, 870, 2250), (530, 1840, 2480))


def syllable_train(rate_syl_s: float, dur_s: float, sr: int, f0_hz: float = 150.0, *, formant_scale: float = 1.0,
                   vowels=VOWELS, lead_s: float = 0.5, rng=None, level: float = 0.3):
    """Syllables at ``rate_syl_s``: voiced bursts (60 % duty, raised-cosine) between noise-like consonant dips.

    ``lead_s`` of near-silence (-70 dBFS noise) precede and follow. Returns
    ``(y, n_syllables, speech_mask)``, the mask on the 10 ms grid (frame
    ``i`` centred at ``i * 0.01`` s) true from the first burst's start to the
    last burst's end.
    """
    rng = np.random.default_rng(1) if rng is None else rng
    period = 1.0 / rate_syl_s
    n_syl = int(np.floor(dur_s / period))
    burst_s = 0.6 * period
    total = 2 * lead_s + n_syl * period
    y = 10 ** (-70 / 20) * rng.standard_normal(int(round(total * sr)))
    for k in range(n_syl):
        start = lead_s + k * period
        f = [fm * formant_scale for fm in vowels[k % len(vowels)]]
        # f0 wanders a little from syllable to syllable, like an intonation contour
        v = vowel(f0_hz * (1 + 0.05 * np.sin(k)), f, burst_s, sr, level=level)
        env = np.sin(np.pi * np.arange(len(v)) / len(v)) ** 0.5
        i = int(round(start * sr))
        y[i: i + len(v)] += v * env
        # a consonant in the dip: weak high-passed noise, 25 dB below the vowel
        c0, c1 = i + len(v), int(round((start + period) * sr))
        if k < n_syl - 1 and c1 > c0:
            noise = scipy.signal.lfilter([1, -0.9], [1], rng.standard_normal(c1 - c0))
            y[c0:c1] += level * 10 ** (-25 / 20) * noise / np.max(np.abs(noise))
    n_frames = int(np.ceil(len(y) / (HOP_S * sr)))
    t = np.arange(n_frames) * HOP_S
    mask = (t >= lead_s) & (t < lead_s + (n_syl - 1) * period + burst_s)
    return y, n_syl, mask


TALKERS = {
    "a": {"f0_hz": 115.0, "formant_scale": 1.0},
    "b": {"f0_hz": 220.0, "formant_scale": 1.17},
}


def stereo_call(sr: int = 8000, seed: int = 0, *, crosstalk_db: float = -25.0, noise_dbfs: float = -55.0):
    """A synthetic two-talker stereo call with known speech activity.

    Talker A (channel 0, male-like) and talker B (channel 1, female-like)
    alternate turns of 1.5-3 s with 0.4-1 s gaps; one turn of B starts 0.8 s
    before A's turn ends (an overlap). Each channel also carries the other
    talker at ``crosstalk_db`` and white line noise at ``noise_dbfs`` (RMS).

    Returns
    -------
    y : np.ndarray, shape (2, n)
    truth : np.ndarray of bool, shape (2, n_frames)
        Speech of each talker on the 10 ms grid.
    """
    rng = np.random.default_rng(seed)
    turns = []  # (talker, start_s, dur_s)
    t = prev_end = 0.6
    for k in range(10):
        who = k % 2
        dur = float(rng.uniform(1.5, 3.0))
        start = prev_end - 0.8 if k == 5 else t  # one overlap of 0.8 s
        turns.append((who, start, dur))
        prev_end = start + dur
        t = prev_end + float(rng.uniform(0.4, 1.0))
    total = t + 0.6
    n = int(round(total * sr))
    clean = np.zeros((2, n))
    n_frames = int(np.ceil(n / (HOP_S * sr)))
    truth = np.zeros((2, n_frames), bool)
    for who, start, dur in turns:
        talker = TALKERS["ab"[who]]
        rate = float(rng.uniform(3.5, 5.5))
        seg, _, mask = syllable_train(rate, dur, sr, talker["f0_hz"], formant_scale=talker["formant_scale"],
                                      lead_s=0.0, rng=rng, level=float(rng.uniform(0.5, 0.9)))
        i = int(round(start * sr))
        seg = seg[: n - i]
        clean[who, i: i + len(seg)] += seg
        f = int(round(start / HOP_S))
        m = mask[: n_frames - f]
        truth[who, f: f + len(m)] |= m
    bleed = 10 ** (crosstalk_db / 20)
    y = clean + bleed * clean[::-1]
    y += 10 ** (noise_dbfs / 20) * rng.standard_normal(y.shape)
    return y, truth


def hold_music(dur_s: float, sr: int, *, level_dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    """Synthetic music on hold: a melody of 0.4-s plucked notes (five harmonics, decaying) drawn from the C
    major scale over a held C major chord, at ``level_dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(dur_s * sr))) / sr
    out = 0.3 * sum(np.sin(2 * np.pi * f * t) for f in (130.8, 164.8, 196.0))
    scale = 261.6 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    note = int(0.4 * sr)
    for a in range(0, len(t), note):
        tt = t[a:a + note] - t[a]
        f = scale[rng.integers(len(scale))]
        env = np.minimum(1, tt / 0.02) * np.exp(-tt / 0.6)
        out[a:a + note] += env * sum(np.sin(2 * np.pi * f * h * tt) / h for h in range(1, 6))
    return out * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(out ** 2))


#: Call-progress tones: (frequencies in Hz, seconds on, seconds off; None: steady).
PROGRESS_TONES = {"ringback_fr": ((440.0,), 1.5, 3.5), "ringback_us": ((440.0, 480.0), 2.0, 4.0),
                  "busy_eu": ((425.0,), 0.5, 0.5), "busy_us": ((480.0, 620.0), 0.5, 0.5),
                  "dial_us": ((350.0, 440.0), None, None)}


def progress_tone(kind: str, dur_s: float, sr: int, *, level_dbfs: float = -20.0) -> np.ndarray:
    """A call-progress tone of :data:`PROGRESS_TONES` (the sum of its sines, in its cadence), ``level_dbfs`` RMS
    while it sounds."""
    freqs, on, off = PROGRESS_TONES[kind]
    t = np.arange(int(round(dur_s * sr))) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) * np.sqrt(2 / len(freqs)) * 10 ** (level_dbfs / 20)
    return y if on is None else y * ((t % (on + off)) < on)


def key_tones(keys: str, sr: int, *, on_s: float = 0.1, off_s: float = 0.1, level_dbfs: float = -20.0) -> np.ndarray:
    """A keypad's tones (DTMF, ITU-T Q.23) for each key of ``keys`` (``tonekit.activity.DTMF_KEYS``): its row's
    and column's sines together for ``on_s``, then ``off_s`` of silence; ``level_dbfs`` RMS while a key sounds."""
    from tonekit.activity import DTMF_HIGH_HZ, DTMF_KEYS, DTMF_LOW_HZ

    t = np.arange(int(round(on_s * sr))) / sr
    out = []
    for key in keys:
        row, col = divmod(DTMF_KEYS.index(key), 4)
        out += [(np.sin(2 * np.pi * DTMF_LOW_HZ[row] * t) + np.sin(2 * np.pi * DTMF_HIGH_HZ[col] * t))
                * 10 ** (level_dbfs / 20), np.zeros(int(round(off_s * sr)))]
    return np.concatenate(out) if out else np.zeros(0)


def non_utf8_path(folder, name: bytes):
    """``folder/name`` made as an empty file, for a ``name`` that is not UTF-8 (Python holds it as surrogates);
    skips the test where the file system refuses such names (macOS, Windows)."""
    import os
    from pathlib import Path

    import pytest

    path = Path(os.fsdecode(os.path.join(os.fsencode(str(folder)), name)))
    try:
        path.write_bytes(b"")
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 (or UTF-16) file names")
    return path
