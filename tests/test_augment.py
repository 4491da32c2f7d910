"""The telephone line of training and evaluation, on signals with known levels and spectra."""
from __future__ import annotations

import numpy as np
import pytest

from tonekit.augment import active_level_db, gsm610, mulaw, telephone, telephone_copy

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
