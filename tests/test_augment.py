"""The telephone line of training and evaluation, and the pitch-shifted copies, on signals with known levels,
spectra and pitch."""
from __future__ import annotations

import numpy as np
import pytest

from synth import vowel

from tonekit.augment import (CROP_S, NOISE_SNR_DB, PITCH_SHIFT_ST, active_level_db, background_noise, crop_copy,
                             gsm610, mulaw, noise_copy, pitch_copy, pitch_shifted, telephone, telephone_copy)

SR = 16000


def tone_bursts(level_dbfs: float, freq: float = 1000.0) -> np.ndarray:
    """1 s of a sine at ``level_dbfs`` RMS, then 1 s of digital silence, twice."""
    t = np.arange(SR) / SR
    burst = np.sqrt(2) * 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq * t)
    return np.concatenate([burst, np.zeros(SR), burst, np.zeros(SR)])


def test_active_level_ignores_pauses():
    assert active_level_db(tone_bursts(-30.0), SR) == pytest.approx(-30.0, abs=0.1)


@pytest.mark.parametrize("level", [-50.0, -35.0, -12.0])
def test_line_levels_speech_whatever_the_recording_level(level):
    # corpora sit 10-50 dB below full scale; the line's gain control brings them all to -28..-16 dBFS
    y8, sr8 = telephone_copy(tone_bursts(level), SR, seed=3)
    assert sr8 == 8000 and len(y8) == 4 * 8000
    speech = active_level_db(y8, sr8)
    assert -28.5 <= speech <= -15.5
    pause = 10 * np.log10(np.mean(y8[int(1.2 * sr8): int(1.8 * sr8)] ** 2))
    assert -61 <= pause <= -44          # line noise at -60..-45 dBFS
    assert speech - pause >= 12         # a phone line's SNR, not speech buried in noise


def test_line_is_deterministic_per_seed():
    y = tone_bursts(-30.0)
    assert np.array_equal(telephone_copy(y, SR, 7)[0], telephone_copy(y, SR, 7)[0])
    assert not np.array_equal(telephone_copy(y, SR, 7)[0], telephone_copy(y, SR, 8)[0])


def test_band_pass_removes_low_tones():
    low, _ = telephone(tone_bursts(-20.0, freq=100.0), SR, noise_dbfs=-120.0)
    mid, _ = telephone(tone_bursts(-20.0, freq=1000.0), SR, noise_dbfs=-120.0)
    assert active_level_db(mid, 8000) == pytest.approx(-20.0, abs=1.0)
    assert active_level_db(low, 8000) < -45.0


def test_gsm_line_keeps_level_and_pitch_but_codes_coarser_than_mulaw():
    """The mobile codec (GSM 06.10) of the unseen-codec check: same length, same speech level as the µ-law
    line drawn from the same seed (same gain and noise), the 200-Hz tone still at 200 Hz, and a larger coding
    error than µ-law's."""
    t = np.arange(2 * SR) / SR
    y = 0.1 * np.sin(2 * np.pi * 200 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    fixed, sr8 = telephone_copy(y, SR, seed=5)
    mobile, _ = telephone_copy(y, SR, seed=5, codec="gsm")
    assert sr8 == 8000 and len(mobile) == len(fixed) == 2 * 8000
    assert active_level_db(mobile, sr8) == pytest.approx(active_level_db(fixed, sr8), abs=1.0)
    spec = np.abs(np.fft.rfft(mobile * np.hanning(len(mobile))))
    assert np.argmax(spec) * sr8 / len(mobile) == pytest.approx(200.0, abs=2.0)
    # signal-to-coding-noise ratio on an 8-kHz tone: about 38 dB for 8-bit µ-law, 16 dB for GSM's 13 kbit/s
    x = y[::2]
    snr = {name: 10 * np.log10(np.mean(x ** 2) / np.mean((x - f(x)) ** 2)) for name, f in
           (("mulaw", mulaw), ("gsm", gsm610))}
    assert snr["mulaw"] > 30 and 10 < snr["gsm"] < 25
    with pytest.raises(ValueError, match="codec must be one of mulaw, gsm"):
        telephone(y, SR, codec="amr")


def _median_f0(y, sr):
    import parselmouth

    f0 = parselmouth.Sound(np.asarray(y, dtype=np.float64), sr).to_pitch().selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


@pytest.mark.parametrize("semitones", [-3.0, 2.0])
def test_pitch_shift_moves_f0_by_the_semitones_and_keeps_length_level_and_formants(semitones):
    y = vowel(150.0, (700, 1220, 2600), 1.0, SR)
    z = pitch_shifted(y, SR, semitones)
    assert len(z) == len(y) and z.dtype == np.float32
    assert 12 * np.log2(_median_f0(z, SR) / _median_f0(y, SR)) == pytest.approx(semitones, abs=0.15)
    assert active_level_db(z, SR) == pytest.approx(active_level_db(y, SR), abs=1.5)
    # the spectral envelope stays: most energy still around F1 (700 Hz), not moved with the pitch
    spec = np.abs(np.fft.rfft(z * np.hanning(len(z)))) ** 2
    freqs = np.fft.rfftfreq(len(z), 1 / SR)
    band = (freqs > 400) & (freqs < 1000)
    assert spec[band].sum() > 0.5 * spec[freqs > 80].sum()


def test_pitch_copy_draws_its_shift_from_the_seed_within_the_range():
    y = vowel(150.0, (700, 1220, 2600), 1.0, SR)
    shifts = []
    for seed in range(6):
        z, sr = pitch_copy(y, SR, seed)
        again, _ = pitch_copy(y, SR, seed)
        assert sr == SR and np.array_equal(z, again)
        shifts.append(12 * np.log2(_median_f0(z, SR) / 150.0))
    assert all(abs(s) <= PITCH_SHIFT_ST + 0.2 for s in shifts)
    assert np.ptp(shifts) > 1.0   # different seeds, different shifts
    line, sr8 = pitch_copy(y, SR, 3, line=True)
    assert sr8 == 8000 and len(line) == 8000
    assert _median_f0(line, sr8) == pytest.approx(_median_f0(pitch_copy(y, SR, 3)[0], SR), rel=0.02)


def test_crop_copy_keeps_a_stretch_of_speech_of_the_drawn_length():
    """0.5 s of silence, a 3-s vowel, 0.5 s of silence: each crop is 1-2 s long and all speech (no frame of the
    silences); a 0.8-s vowel is kept whole, from its first to its last speech frame."""
    pad = np.zeros(SR // 2, np.float32)
    y = np.concatenate([pad, vowel(150.0, (700, 1220, 2600), 3.0, SR), pad])
    lengths = []
    for seed in range(8):
        z, sr = crop_copy(y, SR, seed)
        assert sr == SR and np.array_equal(z, crop_copy(y, SR, seed)[0])
        lengths.append(len(z) / SR)
        frames = z[: len(z) // 160 * 160].reshape(-1, 160)
        assert np.sqrt((frames ** 2).mean(axis=1)).min() > 0.01   # every 10-ms frame is in the vowel
    assert all(CROP_S[0] - 0.01 <= d <= CROP_S[1] + 0.01 for d in lengths) and np.ptp(lengths) > 0.3
    short = np.concatenate([pad, vowel(150.0, (700, 1220, 2600), 0.8, SR), pad])
    z, _ = crop_copy(short, SR, 0)
    assert len(z) / SR == pytest.approx(0.8, abs=0.05)
    line, sr8 = crop_copy(y, SR, 3, line=True)
    assert sr8 == 8000 and len(line) == pytest.approx(lengths[3] * 8000, abs=1)


def test_noise_copy_adds_noise_at_a_drawn_ratio_to_the_speech():
    """A 2-s vowel at -20 dBFS active level: each copy's added noise stands 5-20 dB below it, drawn from the
    seed (the same seed, the same copy), white or pink; with the line, the copy is at 8 kHz."""
    y = vowel(150.0, (700, 1220, 2600), 2.0, SR)
    y = (y * 10 ** ((-20 - active_level_db(y, SR)) / 20)).astype(np.float32)
    snrs = []
    for seed in range(10):
        z, sr = noise_copy(y, SR, seed)
        assert sr == SR and np.array_equal(z, noise_copy(y, SR, seed)[0])
        noise_db = 10 * np.log10(np.mean((z.astype(float) - y) ** 2))
        snrs.append(-20 - noise_db)
    assert all(NOISE_SNR_DB[0] - 0.1 <= r <= NOISE_SNR_DB[1] + 0.1 for r in snrs) and np.ptp(snrs) > 5
    line, sr8 = noise_copy(y, SR, 3, line=True)
    assert sr8 == 8000 and len(line) == pytest.approx(2.0 * 8000, abs=2)


@pytest.mark.parametrize("kind", ["white", "pink", "hum", "swelling"])
def test_background_noise_has_unit_level_and_its_spectrum(kind):
    x = background_noise(kind, 4 * SR, SR, np.random.default_rng(0))
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0)
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    low, high = power[(f > 100) & (f < 1000)].mean(), power[(f > 4000) & (f < 7000)].mean()
    if kind == "white":
        assert 0.8 < low / high < 1.25                    # flat
    elif kind in ("pink", "swelling"):
        assert 10 < low / high < 40                       # 1/f: about 19 times more power per Hz down there
    else:
        assert f[np.argmax(power)] == pytest.approx(50, abs=0.5) and high < 1e-6 * low


def test_background_noise_names_its_kinds():
    with pytest.raises(ValueError, match="unknown noise 'brown': one of white, pink, hum, swelling"):
        background_noise("brown", 100, SR, np.random.default_rng(0))
