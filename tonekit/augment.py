"""Telephone-line degradation, for training augmentation and robustness checks; pitch-shifted and cropped
training copies."""
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


#: Largest pitch shift of :func:`pitch_copy`, in semitones either way.
PITCH_SHIFT_ST = 3.0


def pitch_shifted(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """``y`` with its pitch moved by ``semitones`` (Praat's PSOLA resynthesis: duration, formants and level
    kept; unvoiced stretches unchanged)."""
    import parselmouth
    from parselmouth.praat import call

    snd = parselmouth.Sound(np.asarray(y, dtype=np.float64), float(sr))
    manipulation = call(snd, "To Manipulation", 0.01, 75, 600)
    tier = call(manipulation, "Extract pitch tier")
    call(tier, "Multiply frequencies", snd.xmin, snd.xmax, 2.0 ** (semitones / 12))
    call([tier, manipulation], "Replace pitch tier")
    out = call(manipulation, "Get resynthesis (overlap-add)").values[0]
    return out[:len(y)].astype(np.float32)


def pitch_copy(y: np.ndarray, sr: int, seed: int, *, line: bool = False) -> tuple[np.ndarray, int]:
    """A training copy whose pitch is moved by a shift drawn from ``seed`` (uniform within
    +-:data:`PITCH_SHIFT_ST` semitones); ``line=True`` also passes it through :func:`telephone_copy`.

    Each utterance of a speaker gets its own shift, so the speaker-relative pitch of the copies carries
    noise of about 1.7 semitones (standard deviation): a model trained on them as well leans less on how
    high a voice is against its speaker's usual pitch, a cue the corpora disagree on (anger is voiced
    lower than the other emotions in TurEV-DB, higher in the others). Measured and not shipped
    (``scripts/select_embedding_c.py --grid 0.001,0.001+pitch``)."""
    rng = np.random.default_rng([seed, 1])
    z = pitch_shifted(y, sr, rng.uniform(-PITCH_SHIFT_ST, PITCH_SHIFT_ST))
    return telephone_copy(z, sr, seed) if line else (z, sr)


#: Durations of :func:`crop_copy`'s stretches of speech, in seconds.
CROP_S = (1.0, 2.0)


def crop_copy(y: np.ndarray, sr: int, seed: int, *, line: bool = False) -> tuple[np.ndarray, int]:
    """A training copy that keeps a random stretch of the utterance's speech, its length drawn from ``seed``
    (uniform in :data:`CROP_S`; an utterance whose speech is no longer is kept whole, from its first to its
    last speech frame); ``line=True`` also passes it through :func:`telephone_copy`.

    Call windows often hold a short turn, and the corpora differ in length (TurEV-DB's single words are about
    1 s, the others' sentences 2-4 s): a model trained on short stretches as well meets fewer feature values
    it never saw. Measured and not shipped (``scripts/select_embedding_c.py --grid 0.001,0.001+crop``)."""
    from .activity import UTTERANCE_SPEECH, speech_from_intensity
    from .features.energy import intensity_db
    from .features.frames import HOP_S

    rng = np.random.default_rng([seed, 2])
    dur = rng.uniform(*CROP_S)
    level = intensity_db(np.asarray(y, float), sr, hop_s=HOP_S)
    active = np.flatnonzero(speech_from_intensity(level, **UTTERANCE_SPEECH))
    if len(active):
        first, last = int(active[0] * HOP_S * sr), min(len(y), int((active[-1] + 1) * HOP_S * sr))
    else:
        first, last = 0, len(y)
    n = int(round(dur * sr))
    start = first + int(rng.integers(0, max(1, last - first - n + 1)))
    z = np.asarray(y, np.float32)[start: min(last, start + n)]
    return telephone_copy(z, sr, seed) if line else (z, sr)


#: Kinds of :func:`background_noise`.
NOISE_KINDS = ("white", "pink", "hum", "swelling")


def background_noise(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a background noise at unit RMS: ``"white"``, ``"pink"`` (power falling as 1/f),
    ``"hum"`` (50 Hz and four harmonics at 1/k) or ``"swelling"`` (pink, its level moved by up to +-6 dB
    by two slow sines, a few times a second).

    >>> x = background_noise("pink", 16000, 16000, np.random.default_rng(0))
    >>> round(float(np.sqrt(np.mean(x ** 2))), 6)
    1.0
    """
    t = np.arange(n) / sr
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "swelling"):
        f = np.fft.rfftfreq(n, 1 / sr)
        spec = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) / np.maximum(f, 20.0) ** 0.5
        x = np.fft.irfft(spec, n)
        if kind == "swelling":
            x = x * 10 ** (6 * np.sin(2 * np.pi * 0.7 * t) * np.sin(2 * np.pi * 2.3 * t + 1) / 20)
    elif kind == "hum":
        x = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 6))
    else:
        raise ValueError(f"unknown noise {kind!r}: one of {', '.join(NOISE_KINDS)}")
    return x / np.sqrt(np.mean(x ** 2))


#: Signal-to-noise ratios of :func:`noise_copy` (dB, against the speech's active level).
NOISE_SNR_DB = (5.0, 20.0)


def noise_copy(y: np.ndarray, sr: int, seed: int, *, line: bool = False) -> tuple[np.ndarray, int]:
    """A training copy with background noise: white or pink (drawn from ``seed``), at a signal-to-noise
    ratio drawn uniformly from :data:`NOISE_SNR_DB` against the utterance's active speech level
    (:func:`active_level_db`); ``line=True`` then passes it through :func:`telephone_copy`.

    The corpora are studio recordings and training's phone line adds noise 12-44 dB down only; without these
    copies the models never heard a caller in a noisy room. Part of the shipped recipe
    (:data:`tonekit.models.features.TRAINING_CONDITIONS`; README, Tone models; docs/tone_models.md)."""
    rng = np.random.default_rng([seed, 3])
    kind = ("white", "pink")[int(rng.integers(2))]
    snr_db = rng.uniform(*NOISE_SNR_DB)
    y = np.asarray(y, float)
    level = 10 ** (active_level_db(y, sr) / 20)
    z = np.clip(y + background_noise(kind, len(y), sr, rng) * level * 10 ** (-snr_db / 20), -1, 1)
    z = z.astype(np.float32)
    return telephone_copy(z, sr, seed) if line else (z, sr)
