"""Feature extraction against known answers: synthetic signals first, then real corpora (skipped when absent)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from synth import VOWELS, stereo_call, syllable_train, vowel
from tonekit.activity import speech_from_intensity
from tonekit.augment import telephone
from tonekit.errors import ParameterError
from tonekit.features.energy import intensity_db
from tonekit.features.formants import formant_settings, track_formants
from tonekit.features.frames import signal_frames
from tonekit.features.pitch import fill_voicing_gaps, pitch_range, track_pitch
from tonekit.features.windows import speaker_windows

SR = 16000
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def _pad(y, sr, rng, pad_s=0.25, noise_dbfs=-80.0):
    """Silence (with faint noise) around a signal, so speech detection has a floor to stand on."""
    z = np.zeros(int(pad_s * sr))
    y = np.concatenate([z, y, z])
    return y + 10 ** (noise_dbfs / 20) * rng.standard_normal(len(y))


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

VOWEL_CASES = {
    "a_male": (110.0, (700.0, 1220.0, 2600.0), (3500.0, 4500.0)),
    "i_male": (110.0, (300.0, 2300.0, 3000.0), (3500.0, 4500.0)),
    "u_male": (110.0, (320.0, 870.0, 2250.0), (3500.0, 4500.0)),
    "ae_female": (210.0, (850.0, 1400.0, 2950.0), (4000.0, 5000.0)),
}

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
def vowel_formants():
    """Median F1-F3 of each synthetic vowel, wideband and through a telephone line (cached per module)."""
    rng = np.random.default_rng(0)
    out = {}
    for name, (f0, fmts, higher) in VOWEL_CASES.items():
        y = _pad(vowel(f0, fmts, 1.0, SR, higher_formants_hz=higher), SR, rng)
        fr = signal_frames(y, SR)
        out[name, "wide"] = np.array([np.nanmedian(fr[c]) for c in ("f1_hz", "f2_hz", "f3_hz")])
        y8, sr8 = telephone(y, SR, rng=np.random.default_rng(0))
        fr8 = signal_frames(y8, sr8)
        out[name, "telephone"] = np.array([np.nanmedian(fr8[c]) for c in ("f1_hz", "f2_hz", "f3_hz")])
    return out


@pytest.mark.parametrize("name, band, k", list(_formant_params()))
def test_formant_median_relative_error(vowel_formants, name, band, k):
    true = VOWEL_CASES[name][1][k]
    limit = 0.15 if (band == "telephone" and k == 2) else 0.08
    assert abs(vowel_formants[name, band][k] / true - 1) <= limit


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
    out = {}
    for rate in (2, 3, 4, 5, 6, 7):
        y, n_syl, _ = syllable_train(rate, 6.0, SR, f0_hz=140.0)
        fr = signal_frames(y, SR, formants=False)
        measured = len(fr.nuclei) / (fr.speech.sum() * fr.hop_s)
        out[rate] = (n_syl, len(fr.nuclei), measured)
    return out


def test_syllable_train_rate_mean_relative_error(rate_errors):
    errs = [abs(measured / rate - 1) for rate, (_, _, measured) in rate_errors.items()]
    assert np.mean(errs) <= 0.15
    assert max(errs) <= 0.25


def test_syllable_train_nuclei_count(rate_errors):
    for rate, (n_syl, n_nuclei, _) in rate_errors.items():
        assert abs(n_nuclei - n_syl) <= max(1, 0.1 * n_syl), rate


# --------------------------------------------------------------------------- smile cue

def test_smile_cue_separates_brighter_half():
    # Three vowels (/a/ /i/ /u/) in turn: every 3 s window holds 4 of each, so its median F2/F3 is one
    # vowel's value. (With a 4-vowel cycle the window median falls between two vowels and flips: AUC 0.68.)
    rng = np.random.default_rng(3)
    first, _, _ = syllable_train(4, 15.0, SR, f0_hz=130.0, lead_s=0.25, rng=rng, vowels=VOWELS[:3])
    second, _, _ = syllable_train(4, 15.0, SR, f0_hz=130.0, lead_s=0.25, rng=rng, vowels=VOWELS[:3],
                                  formant_scale=1.05)
    mid_s = len(first) / SR
    fr = signal_frames(np.concatenate([first, second]), SR)
    win, _ = speaker_windows(fr)
    win = win.dropna(subset=["smile_cue"])
    centre = (win.start_s + win.end_s) / 2
    label = (centre > mid_s).to_numpy()
    assert label.sum() >= 8 and (~label).sum() >= 8
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(label, win.smile_cue) >= 0.9
    # about +5 % brighter: the second half's median cue sits 3-7 points above the first half's
    shift = win.smile_cue[label].median() - win.smile_cue[~label].median()
    assert 3.0 <= shift <= 7.0


# --------------------------------------------------------------------------- speech activity

@pytest.fixture(scope="module")
def call_levels():
    y, truth = stereo_call(8000, seed=0)
    levels = [intensity_db(ch, 8000) for ch in y]
    n = min(len(levels[0]), truth.shape[1])
    return [lv[:n] for lv in levels], truth[:, :n]


@pytest.mark.parametrize("channel", [0, 1])
def test_speech_activity_with_crosstalk_gate(call_levels, channel):
    levels, truth = call_levels
    gated = speech_from_intensity(levels[channel], other_db=levels[1 - channel])
    assert np.mean(gated == truth[channel]) >= 0.95


@pytest.mark.parametrize("channel", [0, 1])
def test_speech_activity_without_gate_takes_crosstalk_for_speech(call_levels, channel):
    levels, truth = call_levels
    gated = np.mean(speech_from_intensity(levels[channel], other_db=levels[1 - channel]) == truth[channel])
    plain = np.mean(speech_from_intensity(levels[channel]) == truth[channel])
    assert plain <= 0.8
    assert gated - plain >= 0.15


def test_stereo_call_truth_has_one_overlap(call_levels):
    _, truth = call_levels
    both = truth[0] & truth[1]
    runs = np.flatnonzero(np.diff(both.astype(int)) == 1)
    assert len(runs) == 1 and 40 <= both.sum() <= 100


# --------------------------------------------------------------------------- real speech (corpora)

def _corpus(name):
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"corpus {name} not found at {path} (../shared/corpora is absent)")
    return path


def _fda_errors(telephone_band: bool):
    from tonekit.audio import load_audio

    files = sorted(_corpus("fda").glob("*.flac"))
    assert len(files) == 50
    n_both = n_gross = n_all = n_vde = 0
    for f in files:
        ref = np.loadtxt(f.with_suffix(".f0ref"))
        y, sr = load_audio(f)
        if telephone_band:
            y, sr = telephone(y, sr, rng=np.random.default_rng(0), noise_dbfs=-50)
        f0 = signal_frames(y, sr, formants=False)["f0_hz"]
        idx = np.rint(np.arange(len(ref)) * 0.015 / 0.01).astype(int)
        keep = idx < len(f0)
        ref, est = ref[keep], f0[idx[keep]]
        ref_v, est_v = ref > 0, np.isfinite(est)
        both = ref_v & est_v
        n_both += both.sum()
        n_gross += np.sum(np.abs(est[both] / ref[both] - 1) > 0.2)
        n_all += len(ref)
        n_vde += np.sum(ref_v != est_v)
    return n_gross / n_both, n_vde / n_all


@pytest.mark.corpus
@pytest.mark.parametrize("band, max_gpe, max_vde", [("wide", 0.02, 0.07), ("telephone", 0.03, 0.10)])
def test_fda_pitch_gross_and_voicing_errors(band, max_gpe, max_vde):
    gpe, vde = _fda_errors(band == "telephone")
    assert gpe <= max_gpe
    assert vde <= max_vde


def _read_silb(path):
    """Syllable count and duration (first syllable start to the end mark) of an EmoDB .silb file; '(' is a pause."""
    rows = [line.split() for line in path.read_bytes().decode("latin-1").splitlines() if line.strip()]
    if not rows or rows[-1][-1] != ".":
        return None
    labels = [r[1] for r in rows]
    times = [float(r[0]) for r in rows]
    count = sum(1 for lab in labels if lab not in ("(", "."))
    return count, times[-1] - times[0]


@pytest.mark.corpus
def test_emodb_speaking_rate_rank_correlation():
    from tonekit.audio import load_audio

    root = _corpus("emodb")
    true, est = [], []
    for silb in sorted((root / "silb").glob("*.silb"))[::3]:  # every 3rd file: about 180 utterances
        got = _read_silb(silb)
        if got is None:
            continue
        y, sr = load_audio(root / "wav" / f"{silb.stem}.flac")
        fr = signal_frames(y, sr, formants=False)
        true.append(got[0] / got[1])
        est.append(len(fr.nuclei) / (fr.speech.sum() * fr.hop_s))
    assert len(true) >= 150
    assert spearmanr(true, est)[0] >= 0.6


@pytest.mark.corpus
def test_ravdess_syllable_count():
    """Both RAVDESS sentences have 7 syllables ("Kids are talking by the door", "Dogs are sitting by the door")."""
    from tonekit.audio import load_audio

    root = _corpus("ravdess")
    counts = []
    for f in sorted(root.glob("Actor_*/*.flac"))[::7]:  # every 7th file: about 155 utterances, all actors
        y, sr = load_audio(f)
        counts.append(len(signal_frames(y, sr, formants=False).nuclei))
    counts = np.array(counts)
    assert len(counts) >= 150
    assert np.median(counts) == 7
    assert np.mean(np.abs(counts - 7)) <= 1.0  # measured 0.68
