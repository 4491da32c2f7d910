"""Feature extraction against known answers: synthetic signals first, then real corpora (skipped when absent).

The accuracy measurements (formants, speaking rate, smile cue, speech activity, FDA pitch, EmoDB/RAVDESS
syllables) live in scripts/evaluate_features.py, which also prints them for the README; here they are asserted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scriptload import load_script
from synth import vowel

from tonekit.errors import ParameterError
from tonekit.features.energy import intensity_db
from tonekit.features.formants import formant_settings, track_formants
from tonekit.features.pitch import fill_voicing_gaps, pitch_range, track_pitch

REPO = Path(__file__).resolve().parents[1]
SR = 16000
CORPORA = REPO.parent / "shared" / "corpora"


ev = load_script("evaluate_features.py", "tonekit_evaluate_features")
VOWEL_CASES = ev.VOWEL_CASES


# --------------------------------------------------------------------------- pitch

@pytest.mark.parametrize("f0_hz", [100.0, 200.0, 300.0])
@pytest.mark.parametrize("kind", ["tone", "vowel"])
def test_track_pitch_median_within_1_percent(kind, f0_hz):
    t = np.arange(SR) / SR
    y = 0.3 * np.sin(2 * np.pi * f0_hz * t) if kind == "tone" else vowel(f0_hz, (700, 1220, 2600), 1.0, SR)
    _, f0, strength = track_pitch(y, SR)
    assert np.isfinite(f0).mean() > 0.9
    # the vowel's f0 declines 2 % around f0_hz, so its median sits at f0_hz
    assert abs(np.log2(np.nanmedian(f0) / f0_hz)) < np.log2(1.01)
    assert np.all((strength[np.isfinite(f0)] > 0) & (strength[np.isfinite(f0)] <= 1))


def test_track_pitch_silence_is_nan():
    _, f0, strength = track_pitch(np.zeros(SR), SR)
    assert len(f0) > 50
    assert np.isnan(f0).all() and np.isnan(strength).all()


@pytest.mark.parametrize("floor_hz, ceiling_hz", [(300.0, 300.0), (400.0, 100.0), (0.0, 500.0), (-50.0, 500.0)])
def test_track_pitch_bad_range_raises(floor_hz, ceiling_hz):
    with pytest.raises(ParameterError, match="floor_hz < ceiling_hz"):
        track_pitch(np.zeros(SR), SR, floor_hz=floor_hz, ceiling_hz=ceiling_hz)


def test_pitch_range_known_values():
    assert pitch_range(np.array([100.0, 110, 120, 130])) == (70.0, 600.0)  # fewer than 20 values: default
    f0 = np.linspace(100.0, 200.0, 101)
    floor, ceiling = pitch_range(np.concatenate([f0, [np.nan] * 10]))
    assert floor == pytest.approx(0.75 * 115.0, abs=0.05)
    assert ceiling == pytest.approx(2.2 * 185.0, abs=0.05)
    assert pitch_range(np.full(50, 40.0)) == (50.0, 250.0)  # clamped


def test_fill_voicing_gaps_bridges_short_gaps_only():
    f = np.array([100.0, np.nan, np.nan, 104.0, np.nan, np.nan, np.nan, np.nan, 104.0, np.nan, 200.0])
    out = fill_voicing_gaps(f)
    assert out[1:3] == pytest.approx([100 * (1.04 ** (1 / 3)), 100 * (1.04 ** (2 / 3))])
    assert np.isnan(out[4:8]).all()  # 4 frames: longer than max_gap=3
    assert np.isnan(out[9])  # 104 -> 200 is an octave jump, not a dropout


# --------------------------------------------------------------------------- formants

# Measured misses of the targets (wideband F1-F3 <= 8 %, telephone F2 <= 8 %, F3 <= 15 %), kept visible:
KNOWN_MISSES = {
    ("i_male", "wide", 0): "measured F1 +9.2 %: Burg LPC pulls a 300 Hz F1 towards the 3rd harmonic (330 Hz)",
    ("u_male", "telephone", 2): "measured F3 +29.1 % at 8 kHz: F1 (320 Hz) sits on the 300 Hz band edge and, "
                                "attenuated, Burg (3.5 formants below 3900 Hz) mislabels the peaks",
}


def _formant_params():
    for name in VOWEL_CASES:
        for band, ks in (("wide", (0, 1, 2)), ("telephone", (1, 2))):
            for k in ks:
                marks = ()
                if (name, band, k) in KNOWN_MISSES:
                    marks = pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[(name, band, k)])
                yield pytest.param(name, band, k, marks=marks, id=f"{name}-{band}-F{k + 1}")


@pytest.fixture(scope="module")
def formant_errors():
    """Relative errors of the median F1-F3 of each synthetic vowel, wideband and telephone (cached per module)."""
    return ev.formant_errors()


@pytest.mark.parametrize("name, band, k", list(_formant_params()))
def test_formant_median_relative_error(formant_errors, name, band, k):
    limit = 0.15 if (band == "telephone" and k == 2) else 0.08
    assert abs(formant_errors[name, band][k]) <= limit


@pytest.mark.parametrize("case, bound", [(("i_male", "wide", 0), 0.12), (("u_male", "telephone", 2), 0.35)])
def test_known_formant_misses_stay_bounded(formant_errors, case, bound):
    """The two known misses above fail their target; they may not grow past what was measured (9.2 %, 29.1 %)."""
    name, band, k = case
    assert abs(formant_errors[name, band][k]) <= bound


def test_track_formants_direct_male_a():
    y = vowel(110.0, (700, 1220, 2600), 0.6, SR)
    ceiling, n = formant_settings(110.0, SR)
    assert (ceiling, n) == (5000.0, 5.0)
    times, fm = track_formants(y, SR, ceiling_hz=ceiling, n_formants=n)
    assert len(times) == len(fm) > 40
    med = np.nanmedian(fm[10:-10], axis=0)
    assert med == pytest.approx([700, 1220, 2600], rel=0.05)


def test_track_formants_too_short_is_empty():
    times, fm = track_formants(np.zeros(100), SR)
    assert times.shape == (0,) and fm.shape == (0, 3)


@pytest.mark.parametrize("f0, sr, expected", [(120.0, 16000, (5000.0, 5.0)), (220.0, 16000, (5500.0, 5.0)),
                                              (220.0, 8000, (3900.0, 3.5)), (np.nan, 16000, (5000.0, 5.0))])
def test_formant_settings(f0, sr, expected):
    assert formant_settings(f0, sr) == expected


# --------------------------------------------------------------------------- speaking rate

@pytest.fixture(scope="module")
def rate_errors():
    """rate -> (syllables, nuclei, measured rate) of the synthetic syllable trains."""
    return ev.syllable_rate_errors()


def test_syllable_train_rate_mean_relative_error(rate_errors):
    errs = [abs(measured / rate - 1) for rate, (_, _, measured) in rate_errors.items()]
    assert np.mean(errs) <= 0.15
    assert max(errs) <= 0.25


def test_syllable_train_nuclei_count(rate_errors):
    for rate, (n_syl, n_nuclei, _) in rate_errors.items():
        assert abs(n_nuclei - n_syl) <= max(1, 0.1 * n_syl), rate


# --------------------------------------------------------------------------- smile cue

def test_smile_cue_separates_brighter_half():
    # Three vowels (/a/ /i/ /u/) in turn: every 3 s window holds 4 of each (see ev.smile_cue_windows)
    cue, label = ev.smile_cue_windows()
    assert label.sum() >= 8 and (~label).sum() >= 8
    auc, shift = ev.smile_cue_separation(cue, label)
    assert auc >= 0.9
    # about +5 % brighter: the second half's median cue sits 3-7 points above the first half's
    assert 3.0 <= shift <= 7.0


# --------------------------------------------------------------------------- speech activity

@pytest.fixture(scope="module")
def call_levels():
    """Intensity of both channels of the synthetic stereo call (8 kHz, seed 0) and its true speech."""
    return ev.stereo_call_levels(8000, seed=0)


@pytest.fixture(scope="module")
def activity(call_levels):
    """gate -> (accuracy ch0, accuracy ch1) of speech activity on the synthetic stereo call."""
    return {gate: ev.activity_accuracy(gate, call_levels) for gate in (True, False)}


@pytest.mark.parametrize("channel", [0, 1])
def test_speech_activity_with_crosstalk_gate(activity, channel):
    assert activity[True][channel] >= 0.95


@pytest.mark.parametrize("channel", [0, 1])
def test_speech_activity_without_gate_takes_crosstalk_for_speech(activity, channel):
    gated, plain = activity[True][channel], activity[False][channel]
    assert plain <= 0.8
    assert gated - plain >= 0.15


@pytest.mark.parametrize("zeros_s", [10.0, 60.0])
def test_digital_silence_leaves_the_speech_found_as_it_was(zeros_s):
    """20 s of a line (noise at 50 dB, talk peaking 30 dB over it two seconds in four), then zeros (a
    recorder's silence, -26 dB on this scale): the same speech frames as without the zeros, and none in them.
    Before the floor was read on frames with a signal, the zeros became the floor and the line's noise
    passed for speech."""
    from tonekit.activity import speech_from_intensity

    t = np.arange(2000) * 0.01
    talk = (t % 4) < 2
    syllables = 50 + 30 * np.sin(np.pi * (t % 0.25) / 0.25) ** 2
    line = np.where(talk, np.maximum(syllables, 50), 50) + np.random.default_rng(1).normal(0, 1, t.size)
    silent = intensity_db(np.zeros(int(zeros_s * 8000)), 8000)
    alone = speech_from_intensity(line, noise_adaptive=True)
    got = speech_from_intensity(np.r_[line, silent], noise_adaptive=True)
    assert 0.3 < alone.mean() < 0.5 and not alone[~talk].any()
    assert (got[:t.size] == alone).all() and not got[t.size:].any()


def test_a_lone_utterance_reads_its_floor_on_every_frame_zeros_included():
    """The same line and 60 s of zeros, read as a lone utterance is (activity.UTTERANCE_SPEECH: what the
    shipped models' training recordings got; RAVDESS pads its utterances with zeros): the zeros are the floor,
    so the line's noise, far over them and within 40 dB of the peak, is speech as well, in every frame
    of the line; read as a call's channel, it is not. signal_frames, which scores a lone file and makes the
    training features, follows the utterance rule."""
    from tonekit.activity import UTTERANCE_SPEECH, speech_from_intensity
    from tonekit.features.frames import signal_frames

    assert UTTERANCE_SPEECH == {"signal_floor": False}
    t = np.arange(2000) * 0.01
    talk = (t % 4) < 2
    syllables = 50 + 30 * np.sin(np.pi * (t % 0.25) / 0.25) ** 2
    line = np.where(talk, np.maximum(syllables, 50), 50) + np.random.default_rng(1).normal(0, 1, t.size)
    levels = np.r_[line, intensity_db(np.zeros(60 * 8000), 8000)]
    utterance = speech_from_intensity(levels, **UTTERANCE_SPEECH)
    channel = speech_from_intensity(levels)
    assert utterance[:t.size].all() and not utterance[t.size:].any()
    assert not channel[:t.size][~talk].any() and 0.3 < channel[:t.size].mean() < 0.5

    sr = 16000
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(sr), 0.003 * rng.standard_normal(sr),                 # zeros, then 1 s of the room
              0.3 * np.sin(2 * np.pi * 150 * np.arange(sr) / sr), np.zeros(sr)]   # 1 s of a tone, zeros
    fr = signal_frames(y, sr)
    assert fr.speech[110:190].all()     # -50 dBFS of the room over the zeros (as a call's channel: its noise)
    np.testing.assert_array_equal(fr.speech, speech_from_intensity(intensity_db(y, sr, hop_s=fr.hop_s),
                                                                   **UTTERANCE_SPEECH))
    assert not speech_from_intensity(intensity_db(y, sr, hop_s=fr.hop_s))[110:190].any()


def test_stereo_call_truth_has_one_overlap(call_levels):
    _, truth = call_levels
    both = truth[0] & truth[1]
    runs = np.flatnonzero(np.diff(both.astype(int)) == 1)
    assert len(runs) == 1 and 40 <= both.sum() <= 100


def test_stereo_call_overlap_is_found_where_it_is(call_levels):
    """With the crosstalk gate, both channels' speech overlaps once, at the true overlap (within 0.1 s at
    each end; short gaps inside a turn bridged as activity does), and nowhere else."""
    from tonekit.activity import speech_from_intensity

    levels, truth = call_levels
    speech = [speech_from_intensity(levels[ch], other_db=levels[1 - ch]) for ch in (0, 1)]
    both, true_both = speech[0] & speech[1], truth[0] & truth[1]
    found = np.flatnonzero(both)
    long_runs = [r for r in np.split(found, np.flatnonzero(np.diff(found) > 20) + 1) if len(r) >= 20]
    t = np.flatnonzero(true_both)
    assert len(long_runs) == 1
    assert abs(long_runs[0][0] - t[0]) <= 10 and abs(long_runs[0][-1] - t[-1]) <= 10


# --------------------------------------------------------------------------- spectral shape and HNR

def _spectral(y, sr, name):
    """The median over a signal's frames (the edges' half-empty frames left out) of one spectral descriptor."""
    from tonekit.features.energy import SPECTRAL_NAMES, spectral_frames

    return float(np.nanmedian(spectral_frames(y, sr)[5:-5, SPECTRAL_NAMES.index(name)]))


@pytest.mark.parametrize("sr", [8000, 16000])
def test_alpha_ratio_hammarberg_and_centroid_of_known_tones(sr):
    """500 Hz at 0.1 and 2250 Hz at 0.01 (on FFT bins at both rates): the energy above 1 kHz is 20 dB below the
    energy under it (alpha ratio -20 dB), the peak under 2 kHz 20 dB above the one over it (Hammarberg +20 dB);
    one 1 kHz tone centres the spectrum on 1000 Hz. The same at 8 kHz: the descriptors read the telephone band."""
    t = np.arange(sr) / sr
    two = 0.1 * np.sin(2 * np.pi * 500 * t) + 0.01 * np.sin(2 * np.pi * 2250 * t)
    assert _spectral(two, sr, "alpha_ratio_db") == pytest.approx(-20.0, abs=0.01)
    assert _spectral(two, sr, "hammarberg_db") == pytest.approx(20.0, abs=0.01)
    assert _spectral(0.1 * np.sin(2 * np.pi * 1000 * t), sr, "centroid_hz") == pytest.approx(1000.0, abs=0.5)


def test_flatness_flux_and_slope_of_noise_and_tones():
    """White noise: each bin's power is exponentially distributed, so flatness (geometric over arithmetic mean)
    is exp(-Euler's gamma) = 0.561; a tone's is 0. A steady tone's mel spectrum does not change (flux 0 dB). A
    tilt of -6 dB/kHz put on the noise lowers its spectral slope by 6 dB/kHz."""
    t = np.arange(SR) / SR
    noise = np.random.default_rng(1).normal(0, 0.1, SR)
    tone = 0.1 * np.sin(2 * np.pi * 1000 * t)
    assert _spectral(noise, SR, "flatness") == pytest.approx(np.exp(-np.euler_gamma), abs=0.02)
    assert _spectral(tone, SR, "flatness") < 1e-6
    assert _spectral(tone, SR, "flux_db") < 1e-6 < 1.0 < _spectral(noise, SR, "flux_db")
    f = np.fft.rfftfreq(SR, 1 / SR)
    tilted = np.fft.irfft(np.fft.rfft(noise) * 10 ** (-6 * f / 1000 / 20), SR)
    assert _spectral(tilted, SR, "slope_db_khz") - _spectral(noise, SR, "slope_db_khz") == pytest.approx(-6, abs=0.1)


@pytest.mark.parametrize("sr,n_fft", [(8000, 256), (16000, 512)])
def test_mfcc_are_librosas_over_the_telephone_band(sr, n_fft):
    """MFCC 1-12 of a 24-band HTK mel spectrum over 300-3400 Hz (32-ms Hann frames every 10 ms, centred): the
    same filters and coefficients as librosa's."""
    import librosa

    from tonekit.features.energy import BAND_HZ, N_MELS, _mel_basis, spectral_frames

    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=N_MELS, fmin=BAND_HZ[0], fmax=BAND_HZ[1], htk=True,
                              norm=None)
    np.testing.assert_allclose(_mel_basis(sr, n_fft)[0], ref, atol=1e-6)
    y = np.random.default_rng(2).normal(0, 0.1, sr) * np.hanning(sr)   # a swelling noise: MFCC that change
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=sr // 100, window=np.hanning(n_fft),
                                         pad_mode="constant", n_mels=N_MELS, fmin=BAND_HZ[0], fmax=BAND_HZ[1],
                                         htk=True, norm=None)
    want = librosa.feature.mfcc(S=10 * np.log10(mel + 1e-10), n_mfcc=13, norm="ortho")[1:13].T
    got = spectral_frames(y, sr)[:, :12]
    np.testing.assert_allclose(got, want[:len(got)], atol=1e-4)


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 10.0])
def test_hnr_follows_the_harmonics_to_noise_ratio(snr_db):
    """A 150-Hz harmonic complex in white noise at a known ratio: pitch (and so HNR) is read at 8 kHz, which keeps
    the harmonics' power and half the noise's (0-4 of 0-8 kHz), so HNR = SNR + 3 dB (Boersma's r/(1-r))."""
    from tonekit.features.frames import signal_frames

    t = np.arange(2 * SR) / SR
    h = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20))
    noise = np.random.default_rng(3).normal(0, 1, len(t))
    y = 0.1 * h / h.std() + 0.1 * noise / noise.std() * 10 ** (-snr_db / 20)
    fr = signal_frames(y, SR, formants=False)
    assert np.isfinite(fr["hnr_db"]).mean() > 0.7
    assert np.nanmedian(fr["hnr_db"]) == pytest.approx(snr_db + 3.0, abs=1.5)


# --------------------------------------------------------------------------- real speech (corpora)

def _corpus(name):
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"corpus {name} not found at {path} (../shared/corpora is absent)")
    return path


@pytest.mark.corpus
@pytest.mark.parametrize("band, max_gpe, max_vde", [("wide", 0.02, 0.07), ("telephone", 0.03, 0.10)])
def test_fda_pitch_gross_and_voicing_errors(band, max_gpe, max_vde):
    _corpus("fda")
    assert len(ev.fda_files(CORPORA)) == 50
    gpe, vde = ev.fda_errors(CORPORA, band == "telephone")
    assert gpe <= max_gpe
    assert vde <= max_vde


@pytest.mark.corpus
def test_emodb_speaking_rate_rank_correlation():
    _corpus("emodb")
    rho, n = ev.emodb_rate_spearman(CORPORA)  # every 3rd .silb file: about 180 utterances
    assert n >= 150
    assert rho >= 0.6


@pytest.mark.corpus
def test_ravdess_syllable_count():
    """Both RAVDESS sentences have 7 syllables ("Kids are talking by the door", "Dogs are sitting by the door")."""
    _corpus("ravdess")
    counts = ev.ravdess_syllable_counts(CORPORA)  # every 7th file: about 155 utterances, all actors
    assert len(counts) >= 150
    assert np.median(counts) == 7
    assert np.mean(np.abs(counts - 7)) <= 1.0  # measured 0.73 (scripts/evaluate_features.py)


def test_range_moments_match_numpy():
    from tonekit.features.windows import range_moments

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3))
    x[rng.random(x.shape) < 0.2] = np.nan
    ranges = [(0, 300), (100, 400), (200, 500), (450, 452)]
    mean, std = range_moments(x, ranges)
    for i, (a, b) in enumerate(ranges):
        np.testing.assert_allclose(mean[i], np.nanmean(x[a:b], axis=0), rtol=1e-9)
        np.testing.assert_allclose(std[i], np.nanstd(x[a:b], axis=0), rtol=1e-6, atol=1e-6)


def test_jitter_and_shimmer_of_a_known_pulse_train():
    """Periods alternating 10 ms / 10.2 ms and amplitudes alternating 1.0 / 0.9: jitter 1.98 %, shimmer 10.5 %."""
    from tonekit.features.pitch import perturbation

    sr = 16000
    periods = np.tile([0.010, 0.0102], 50)
    pulses = np.concatenate([[0.0], np.cumsum(periods)])
    y = np.zeros(int(pulses[-1] * sr) + 10)
    for k, t in enumerate(pulses[:-1]):
        y[int(round(t * sr))] = 1.0 if k % 2 == 0 else 0.9
    _, jitter, shimmer = perturbation(y, sr, pulses, floor_hz=75, ceiling_hz=500)
    assert np.median(jitter) == pytest.approx(0.0002 / 0.0101, rel=1e-3)
    assert np.median(shimmer) == pytest.approx(0.1 / 0.95, rel=1e-3)
    # periods outside the pitch range do not count
    assert len(perturbation(y, sr, pulses, floor_hz=200, ceiling_hz=500)[1]) == 0


def test_nanmedian_columns_is_numpys_nanmedian():
    import warnings

    from tonekit.features.windows import nanmedian_columns

    rng = np.random.default_rng(11)
    for _ in range(300):
        x = rng.normal(500, 100, (int(rng.integers(1, 120)), 3))
        x[rng.random(x.shape) < rng.random()] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns
            expected = np.nanmedian(x, axis=0)
        np.testing.assert_array_equal(nanmedian_columns(x), expected)
    assert nanmedian_columns(np.array([[4.0], [1.0], [3.0], [2.0]]))[0] == 2.5


def test_window_ranges_known_values_and_bad_durations():
    from tonekit.features.windows import window_ranges

    # 10 s of 10-ms frames, 3-s windows every 1 s: starts 0..7 s, the last one ending at the last frame
    r = window_ranges(1000, 0.01, win_dur_s=3.0, hop_dur_s=1.0)
    assert r[0] == (0, 300) and r[-1] == (700, 1000) and len(r) == 8
    assert window_ranges(120, 0.01) == [(0, 120)]        # shorter than a window: one window
    for win, hop in ((float("inf"), 1.0), (3.0, float("nan")), (-1.0, 1.0), (3.0, 0.001), (2.0, 3.0)):
        with pytest.raises(ParameterError, match="win_dur_s|hop_dur_s"):
            window_ranges(1000, 0.01, win_dur_s=win, hop_dur_s=hop)


# a dropout of exactly max_gap (3) frames is bridged
def test_fill_voicing_gaps_bridges_a_gap_of_exactly_max_gap():
    from tonekit.features.pitch import fill_voicing_gaps

    out = fill_voicing_gaps(np.array([100.0, np.nan, np.nan, np.nan, 104.0]))
    assert out[1:4] == pytest.approx([100 * 1.04 ** (k / 4) for k in (1, 2, 3)])


# frame i of intensity_db is centred at i * hop: a tone starting at exactly 1 s
def test_intensity_frames_are_centred_on_their_time():
    from tonekit.features.energy import intensity_db

    sr = 16000
    t = np.arange(sr) / sr
    y = np.r_[np.zeros(sr), 0.1 * np.sin(2 * np.pi * 200 * t)]
    x = intensity_db(y, sr)
    steady = np.median(x[120:180])
    assert steady == pytest.approx(20 * np.log10(0.1 / np.sqrt(2) / 2e-5), abs=0.05)
    assert x[100] == pytest.approx(steady - 10 * np.log10(2), abs=0.1)   # half of its 40-ms window is tone
    assert x[99] == pytest.approx(steady - 10 * np.log10(4), abs=0.1)    # a quarter
    assert x[98] < 0                                                      # none (1e-12 floor)
    assert x[102] == pytest.approx(steady, abs=0.1)


# the smile cue is the mean log shift of F2, F3 and centroid (F1 plays no part)
def test_smile_cue_known_answer_ignores_f1():
    from tonekit.features.windows import smile_cue

    base = pd.Series({"ln_f1": np.log(500), "ln_f2": np.log(1500), "ln_f3": np.log(2500), "ln_centroid": np.log(1200)})
    raw = pd.DataFrame([{"ln_f1": base.ln_f1 - 0.10, "ln_f2": base.ln_f2 + 0.06, "ln_f3": base.ln_f3 + 0.03,
                         "ln_centroid": base.ln_centroid + 0.06},
                        {"ln_f1": base.ln_f1, "ln_f2": np.nan, "ln_f3": np.nan,
                         "ln_centroid": base.ln_centroid - 0.02}])
    assert smile_cue(raw, base).tolist() == pytest.approx([5.0, -2.0])


# bleed 15 dB under the other side's speech is not speech (crosstalk gate at 12 dB)
def test_crosstalk_15_db_down_is_not_speech():
    from tonekit.activity import speech_from_intensity

    rng = np.random.default_rng(0)
    other = np.r_[np.full(300, 80.0), np.full(700, 40.0)] + rng.normal(0, 0.3, 1000)
    own = np.r_[np.full(300, 65.0), np.full(300, 40.0), np.full(400, 80.0)] + rng.normal(0, 0.3, 1000)
    speech = speech_from_intensity(own, other_db=other)
    assert not speech[:300].any() and speech[610:990].all()
    # 8 dB down it is the channel's own speech over the other's (a real overlap)
    own[:300] = 72.0
    assert speech_from_intensity(own, other_db=other)[10:290].all()


# the speaker's baseline is the median over windows with at least min_speech_s of speech only
def test_speaker_baseline_leaves_out_windows_with_little_speech():
    from tonekit.features.windows import RAW_FEATURES, speaker_baseline

    raw = pd.DataFrame({"speech_s": [2.5, 2.0, 1.5, 0.3, 0.2], **{c: np.nan for c in RAW_FEATURES}})
    raw["f0_st_median"] = [10.0, 12.0, 14.0, 30.0, 30.0]
    raw["int_mean"] = [60.0, 62.0, 64.0, 40.0, 40.0]
    base = speaker_baseline(raw, min_speech_s=1.0)
    assert (base["f0_st_median"], base["int_mean"]) == (12.0, 62.0)


# fast speech (8-12 syllables a second; 12 is past natural rates but inside the 16.7/s the 60-ms gap allows)
# still counts every syllable
@pytest.mark.parametrize("rate", [8, 10, 12])
def test_fast_syllable_trains_count_every_syllable(rate):
    from synth import syllable_train
    from tonekit.features.frames import signal_frames

    y, n_syl, _ = syllable_train(rate, 4.0, 16000, f0_hz=140.0)
    fr = signal_frames(y, 16000, formants=False)
    assert abs(len(fr.nuclei) - n_syl) <= max(1, 0.1 * n_syl)


def _hummed(sr, dur_s, f0=150.0):
    t = np.arange(int(dur_s * sr)) / sr
    return 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))


@pytest.mark.parametrize("sr", [22050, 11025, 44100])
def test_signal_frames_keep_time_at_a_rate_10_ms_does_not_divide(sr):
    """90 s of faint noise, 5 s of a hummed voice, 5 s of noise at 22.05 / 11.025 / 44.1 kHz: the voice's
    frames are at 90-95 s (a hop rounded to whole samples would drift by 0.2 s by then)."""
    from tonekit.features.frames import signal_frames

    rng = np.random.default_rng(0)
    y = np.concatenate([0.003 * rng.standard_normal(90 * sr), _hummed(sr, 5.0), 0.003 * rng.standard_normal(5 * sr)])
    fr = signal_frames(y, sr, formants=False)
    on = np.flatnonzero(fr.speech) * fr.hop_s
    assert fr.n_frames == pytest.approx(10000, abs=2)
    assert on[0] == pytest.approx(90.0, abs=0.05) and on[-1] == pytest.approx(95.0, abs=0.05)
    assert float(np.nanmedian(fr["f0_hz"][fr.voiced])) == pytest.approx(150.0, rel=0.01)


@pytest.mark.parametrize("y, sr, problem", [
    (None, 0, "sr must be a whole number >= 1, not 0"),
    (None, None, "sr (the sampling rate in Hz) is required with an array"),
    (None, 4000, "sr=4000 Hz is outside 8000..96000 Hz"),
    ("int16", 16000, "samples must be in -1..1, got a peak of 1.474e+04 (integer PCM? divide 16-bit samples by 32768)"),
    ("stereo", 16000, "got shape (2, 32000): mix the channels down (y.mean(axis=0)) or take one (y[0])"),
    ("path", 16000, "a signal must be an array of real numbers, not of <U"),
])
def test_signal_frames_say_what_is_wrong_with_a_signal(y, sr, problem):
    from tonekit.features.frames import signal_frames

    voice = _hummed(16000, 2.0)
    y = {None: voice, "int16": (voice * 32767).astype(np.int16), "stereo": np.stack([voice, voice]),
         "path": "call.wav"}[y]
    with pytest.raises(ParameterError) as err:
        signal_frames(y, sr)
    assert problem in str(err.value)


def test_signal_frames_take_rates_from_8_to_96_khz_and_no_others():
    """The edges of the rates tonekit reads: 8 and 96 kHz give 10-ms frames (2 s: 200), 7999 and 96001 Hz are
    refused with the range."""
    from tonekit.features.frames import signal_frames

    for sr in (8000, 96000):
        assert signal_frames(_hummed(sr, 2.0), sr, formants=False).n_frames == 200
    for sr in (7999, 96001):
        with pytest.raises(ParameterError, match=rf"^sr={sr} Hz is outside 8000\.\.96000 Hz$"):
            signal_frames(_hummed(16000, 2.0), sr)


def test_segment_functionals_refuse_ranges_outside_the_frames():
    """Frame ranges of a 5-s signal (500 frames) with a hummed voice from 1 to 4 s: a range within gives the
    voice's 3 s of speech; one that starts before 0, runs backwards or past the end, or is in seconds, is
    refused with what a range must be."""
    from tonekit.features.frames import signal_frames
    from tonekit.features.windows import segment_functionals

    sr = 16000
    y = np.concatenate([np.zeros(sr), _hummed(sr, 3.0), np.zeros(sr)])
    fr = signal_frames(y, sr)
    assert fr.n_frames == 500
    assert segment_functionals(fr, [(0, 500)]).speech_s.iloc[0] == pytest.approx(3.0, abs=0.05)
    assert segment_functionals(fr, [(500, 500)]).speech_s.tolist() == [0.0]   # an empty range at the end: no speech
    for bad, said in [([(-100, 200)], "range (-100, 200) is not within the 500 frames"),
                      ([(300, 100)], "range (300, 100) is not within the 500 frames"),
                      ([(0, 10 ** 6)], "range (0, 1000000) is not within the 500 frames"),
                      ([(0, 501)], "range (0, 501) is not within the 500 frames"),
                      ([(1.0, 4.0)], "ranges must be whole frame indices, not float64 values such as (1.0, 4.0)"),
                      ((0, 500), "ranges must be a list of (a, b) pairs of frame indices"),
                      ([(0, 100), 200], "ranges must be a list of (a, b) pairs of frame indices")]:
        with pytest.raises(ParameterError) as err:
            segment_functionals(fr, bad)
        assert said in str(err.value)
