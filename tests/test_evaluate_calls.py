"""scripts/evaluate_calls.py: the summary's split by the caller's timeline, with known counts."""
from __future__ import annotations

import pandas as pd
import pytest
from scriptload import load_script

ec = load_script("evaluate_calls.py", "tonekit_evaluate_calls")


def _record(timeline, found9, true9, anger, label):
    counts = {t: {"true": 0, "found": 0, "flagged": 0, "hits": 0, "kinds": []} for t in ec.TIPS}
    counts[9] = {"true": true9, "found": found9, "flagged": found9, "hits": found9, "kinds": ["upbeat_vs_angry"]}
    return {"call": "c", "telephone": False, "duration_s": 100.0, "seconds": 1.0, "timeline": timeline,
            "counts": counts, "anger_windows": pd.DataFrame({"anger": anger, "label": label})}


def test_summary_splits_callers_angry_throughout_from_the_usual_calls():
    usual = _record("mixed", 3, 4, [0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    angry = _record("angry_caller", 1, 4, [0.6, 0.3, 0.2, 0.4], [1, 1, 1, 1])
    s = ec.summarise([usual, angry])
    assert s["tips"][9]["recall"] == pytest.approx(4 / 8)
    assert s["tips_by_timeline"]["mixed"][9]["recall"] == pytest.approx(3 / 4)
    assert s["tips_by_timeline"]["angry_caller"][9]["recall"] == pytest.approx(1 / 4)
    # the share of the caller's angry windows scored above 0.5: 2 of 2, and 1 of 4
    assert s["angry_windows_over_half"] == {"mixed": 1.0, "angry_caller": 0.25}
    text = ec.markdown(s, {"mode": "test", "description": "known counts", "command": "x"})
    assert "| 9 | 0.75 / 1.00 | 0.25 / 1.00 |" in text
    assert "| caller's angry windows above 0.5 | 1.00 | 0.25 |" in text
    # calls of one timeline only (every run before the option): no split, the report as before
    only = ec.summarise([usual, dict(usual)])
    assert "tips_by_timeline" not in only
    assert "timeline" not in ec.markdown(only, {"mode": "test", "description": "known counts", "command": "x"})


def test_event_timing_with_known_spans():
    """A true upbeat stretch 30-40 s flagged as 23-43 s (7 s early, half its time on the truth) and another
    20-30 s flagged as 21-29 s (1 s late, all on it); a true event missed adds no onset."""
    events = pd.DataFrame({"tip": [9, 9], "kind": ["upbeat_vs_angry"] * 2, "start_s": [23.0, 121.0],
                           "end_s": [43.0, 129.0]})
    truth = {"events": [{"tip": 9, "start_s": 30.0, "end_s": 40.0}, {"tip": 9, "start_s": 120.0, "end_s": 130.0},
                        {"tip": 9, "start_s": 200.0, "end_s": 210.0}]}
    counts = ec.call_counts(truth, events)[9]
    assert (counts["found"], counts["hits"], counts["onsets"]) == (2, 2, [-7.0, 1.0])
    assert (counts["flagged_s"], counts["on_truth_s"]) == (28.0, 18.0)
    rec = {"call": "c", "telephone": False, "duration_s": 300.0, "seconds": 1.0,
           "counts": {**{t: ec.call_counts({"events": []}, events.iloc[:0])[t] for t in ec.TIPS}, 9: counts},
           "anger_windows": pd.DataFrame({"anger": [0.9, 0.1], "label": [1, 0]})}
    s = ec.summarise([rec])
    assert s["tips"][9]["onset_median_s"] == pytest.approx(-3.0)
    assert s["tips"][9]["onset_within_3s"] == pytest.approx(0.5)
    assert s["tips"][9]["on_truth_share"] == pytest.approx(18 / 28)
    text = ec.markdown(s, {"mode": "test", "description": "known spans", "command": "x"})
    assert "| 9 | -3.0 s | 0.50 | 0.64 |" in text


def test_fold_models_train_on_the_held_in_speakers_with_the_copies_asked_for(monkeypatch):
    """``--copies crop``: the fold models see the training copies as well, and never the held-out speakers."""
    import tonekit.models.train as train

    seen = {}

    def fake_train_models(table, **kw):
        seen.update(speakers=set(table.speaker), **kw)
        return {}

    monkeypatch.setattr(train, "train_models", fake_train_models)
    table = pd.DataFrame({"speaker": ["a", "b", "c"], "corpus": ["x"] * 3})
    shipped = ("wideband", "telephone", "noise-wideband", "noise-telephone")
    ec.train_fold_models(table, ["b"], None, copies="crop")
    assert seen["speakers"] == {"a", "c"}
    assert seen["conditions"] == shipped + ("crop-wideband", "crop-telephone")
    ec.train_fold_models(table, ["a"], None)
    assert seen["speakers"] == {"b", "c"} and seen["conditions"] == shipped
    # the noisy copies are the shipped recipe's: asking for them again adds nothing; the release before had none
    ec.train_fold_models(table, ["a"], None, copies="noise")
    assert seen["conditions"] == shipped
    ec.train_fold_models(table, ["a"], None, noise_copies=False)
    assert seen["conditions"] == ("wideband", "telephone")


@pytest.mark.parametrize("option", [["--copies", "crop"], ["--no-noise-copies"]])
def test_copies_need_fold_training(option):
    with pytest.raises(SystemExit) as exc:
        ec.main(["--models-dir", "trained", *option])
    assert exc.value.code == 2


def test_noise_option_parses_kind_and_ratio():
    import argparse

    assert ec._noise("pink:10") == ("pink", 10.0)
    assert ec._noise("white:-2.5") == ("white", -2.5)
    for bad in ("loud:3", "pink", "pink:x"):
        with pytest.raises(argparse.ArgumentTypeError, match="KIND:SNR_DB, KIND one of white, pink, hum, swelling"):
            ec._noise(bad)


def test_noise_is_added_in_place_at_the_asked_ratio(tmp_path):
    """A stereo 8-kHz µ-law call: each side speaks (a sung tone, with vibrato: a steady one would be taken for a
    ringback) over its own second, silent otherwise; white noise 10 dB under each side's speech is added in
    place, and the file keeps its rate and encoding."""
    import numpy as np
    import soundfile as sf

    sr = 8000
    t = np.arange(3 * sr) / sr

    def sung(f0):   # +-5 % vibrato at 5 Hz
        return np.sqrt(2) * np.sin(2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t))) / sr)
    y = np.column_stack([np.where(t < 1, 0.2 * sung(220), 0.0), np.where((t >= 1.5) & (t < 2.5), 0.05 * sung(140), 0.0)])
    path = tmp_path / "call.wav"
    sf.write(path, y, sr, subtype="ULAW")
    before, _ = sf.read(path, always_2d=True)
    ec.add_noise(path, "white", 10, seed=[1, 2, 3])
    info = sf.info(str(path))
    assert (info.samplerate, info.subtype, info.channels) == (8000, "ULAW", 2)
    after, _ = sf.read(path, always_2d=True)
    quiet = (t >= 2.7)          # neither side speaks: the noise alone
    for ch, level in ((0, 0.2), (1, 0.05)):
        noise_rms = np.sqrt(np.mean((after[quiet, ch] - before[quiet, ch]) ** 2))
        assert noise_rms == pytest.approx(level * 10 ** -0.5, rel=0.15), ch


def test_previous_release_option_reaches_the_fold_models(monkeypatch):
    """--previous-release: every target's fold model averages in probability (the shipped anger and calm average
    in log-odds); without it the fold models are the shipped recipe's."""
    import tonekit.models.train as train

    seen = {}
    monkeypatch.setattr(train, "train_models", lambda table, **kw: seen.update(kw) or {})
    table = pd.DataFrame({"speaker": ["a", "b"], "path": ["x", "y"]})
    ec.train_fold_models(table, ["a"], None, average=ec.PREVIOUS_RELEASE)
    assert {t: p["average"] for t, p in seen["params"].items()} == dict.fromkeys(ec.MODEL_TARGETS, "probability")
    assert seen["params"]["anger"]["embedding_C"] == train.DEFAULT_PARAMS["anger"]["embedding_C"]
    assert {t: train.DEFAULT_PARAMS[t].get("average", "probability") for t in ec.MODEL_TARGETS} == {
        "anger": "log-odds", "calm": "log-odds", "warmth": "probability"}
    ec.train_fold_models(table, ["a"], None)
    assert seen["params"] == {}     # train_models then takes DEFAULT_PARAMS
