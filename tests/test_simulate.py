"""scripts/simulate_calls.py: the audio of a simulated call matches its ground truth.

Corpus tests: they compose calls from ../shared/corpora and skip when it is absent.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scriptload import load_script

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not (CORPORA / "emodb").is_dir(), reason="needs ../shared/corpora"),
]


@pytest.fixture(scope="module")
def sim():
    name = "tonekit_simulate_calls"
    yield load_script("simulate_calls.py", name)
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def pool(sim):
    return sim.load_pool(CORPORA, speakers=["emodb_03", "emodb_08"])


@pytest.fixture(scope="module")
def call(sim, pool, tmp_path_factory):
    """One 2-minute wideband EmoDB call with at least one hold, written and read back."""
    sim.HOLD_CALL_P, keep = 1.0, sim.HOLD_CALL_P
    try:
        audio, sr, truth = sim.compose_call(pool, seed=[3, 1], caller="emodb_03", agent="emodb_08", target_s=100)
    finally:
        sim.HOLD_CALL_P = keep
    path = sim.write_call(tmp_path_factory.mktemp("calls"), "call", audio, sr, truth)
    truth = json.loads(path.read_text())
    x, sr = sf.read(path.parent / truth["audio"], dtype="float64")
    return x, sr, truth


def _db(x) -> float:
    return float(10 * np.log10(np.mean(np.square(x)) + 1e-20))


def _activity(truth, n, sr):
    act = {s: np.zeros(n, bool) for s in ("agent", "caller")}
    for u in truth["utterances"]:
        act[u["speaker"]][round(u["start_s"] * sr):round(u["end_s"] * sr)] = True
    return act


def test_call_shape_and_truth_fields(call):
    x, sr, truth = call
    assert sr == truth["sample_rate"] == 16000 and x.shape[1] == 2
    assert abs(len(x) / sr - truth["duration_s"]) < 1e-3
    assert 90 <= truth["duration_s"] <= 300
    assert truth["corpus"] == "emodb" and truth["caller_speaker"] == "emodb_03" and truth["agent_speaker"] == "emodb_08"
    assert {e["tip"] for e in truth["events"]} >= {12}
    assert truth["caller_angry"], "every call has an angry stretch"


def test_speech_is_where_the_truth_says(call):
    x, sr, truth = call
    act = _activity(truth, len(x), sr)
    silent = ~act["agent"] & ~act["caller"]
    for ch, me, other in ((0, "agent", "caller"), (1, "caller", "agent")):
        speech = _db(x[act[me] & ~act[other], ch])
        assert speech > -27, (me, speech)                            # levelled to about -20 dBFS
        assert speech - _db(x[silent, ch]) > 25, me                  # line noise is -50..-60 dBFS
        assert abs(_db(x[silent, ch]) - truth["line"]["noise_dbfs"][ch]) < 1.0


def test_crosstalk_is_about_minus_25_db(call):
    x, sr, truth = call
    act = _activity(truth, len(x), sr)
    silent = ~act["agent"] & ~act["caller"]
    for ch, me, other in ((0, "agent", "caller"), (1, "caller", "agent")):
        only_other = act[other] & ~act[me]
        leak = 10 * np.log10(10 ** (_db(x[only_other, ch]) / 10) - 10 ** (_db(x[silent, ch]) / 10))
        relative = leak - _db(x[only_other, 1 - ch])
        assert -29 <= relative <= -21
        assert relative == pytest.approx(truth["line"]["crosstalk_db"][ch], abs=1.0)


def test_holds_are_silent_and_other_gaps_short(call):
    x, sr, truth = call
    holds = [e for e in truth["events"] if e["tip"] == 12]
    for e in holds:
        assert 6 <= e["end_s"] - e["start_s"] <= 12
        inside = x[round(e["start_s"] * sr) + 1:round(e["end_s"] * sr) - 1]
        for ch in (0, 1):
            assert _db(inside[:, ch]) < truth["line"]["noise_dbfs"][ch] + 1.0
        assert not any(u["start_s"] < e["end_s"] - 1e-3 and u["end_s"] > e["start_s"] + 1e-3
                       for u in truth["utterances"])
    # Apart from the holds, nobody is silent for more than 4 s.
    act = _activity(truth, len(x), sr)
    speech = act["agent"] | act["caller"]
    for e in holds:
        speech[round(e["start_s"] * sr):round(e["end_s"] * sr)] = True
    idx = np.flatnonzero(speech)
    edges = np.flatnonzero(np.diff(speech[idx[0]:idx[-1] + 1].astype(int)))
    gaps = np.diff(edges)[::2] / sr
    assert gaps.max() <= 4.0 + 1e-3


def test_overlaps_are_the_planned_interruptions(call):
    _, _, truth = call
    turns = [u for u in truth["utterances"] if u["kind"] == "turn"]
    found = sorted((max(a["start_s"], c["start_s"]), min(a["end_s"], c["end_s"]))
                   for a in turns if a["speaker"] == "agent" for c in turns if c["speaker"] == "caller"
                   if min(a["end_s"], c["end_s"]) > max(a["start_s"], c["start_s"]))
    planned = sorted((e["start_s"], e["end_s"]) for e in truth["events"] if e["tip"] == 1)
    backchannels = [u for u in truth["utterances"] if u["kind"] == "backchannel"]
    assert planned and backchannels   # this seed's call plans one interruption and three backchannels
    assert found == planned
    assert all(0.8 - 1e-3 <= b - a <= 2.0 for a, b in planned)
    for b in backchannels:
        assert 0.15 - 1e-3 <= b["end_s"] - b["start_s"] <= 0.4 + 1e-3
        assert any(c["start_s"] <= b["start_s"] and b["end_s"] <= c["end_s"] for c in turns if c["speaker"] == "caller")


def test_same_seed_same_call(sim, pool):
    a = sim.compose_call(pool, seed=11, caller="emodb_08", agent="emodb_03", target_s=60)
    b = sim.compose_call(pool, seed=11, caller="emodb_08", agent="emodb_03", target_s=60)
    assert a[2] == b[2]
    np.testing.assert_array_equal(a[0], b[0])


def test_telephone_call_is_8k_mulaw_and_band_limited(sim, pool, tmp_path):
    audio, sr, truth = sim.compose_call(pool, seed=5, caller="emodb_08", agent="emodb_03", is_telephone=True,
                                        target_s=60)
    path = sim.write_call(tmp_path, "tel", audio, sr, truth)
    info = sf.info(path.parent / json.loads(path.read_text())["audio"])
    assert (info.samplerate, info.channels, info.subtype, info.format) == (8000, 2, "ULAW", "WAV")
    x, _ = sf.read(path.with_suffix(".wav"))
    spec = np.abs(np.fft.rfft(x[:, 1])) ** 2
    freq = np.fft.rfftfreq(len(x), 1 / 8000)
    low = spec[freq < 150].sum() / spec.sum()
    assert low < 0.01


def test_telephone_call_through_an_unseen_codec_codes_each_channel(sim, tmp_path):
    """A telephone call with ``codec="gsm"``: 16-bit PCM of each channel through GSM 06.10 (known: the same
    round trip as tonekit.augment.gsm610, up to 16-bit rounding), the codec in the truth; a wideband call
    ignores the codec; an unknown codec is refused."""
    from tonekit.augment import gsm610

    t = np.arange(8000 * 2) / 8000
    audio = np.column_stack([0.1 * np.sin(2 * np.pi * 200 * t), 0.05 * np.sin(2 * np.pi * 330 * t)])
    path = sim.write_call(tmp_path, "gsm", audio, 8000, {"telephone": True}, codec="gsm")
    truth = json.loads(path.read_text())
    x, sr = sf.read(path.parent / truth["audio"])
    assert truth["codec"] == "gsm" and sr == 8000 and sf.info(path.parent / truth["audio"]).subtype == "PCM_16"
    for c in range(2):
        np.testing.assert_allclose(x[:, c], gsm610(audio[:, c]), atol=1 / 2 ** 15)
    wide = sim.write_call(tmp_path, "wide", audio, 8000, {"telephone": False}, codec="gsm")
    assert "codec" not in json.loads(wide.read_text()) and wide.with_suffix(".flac").exists()
    with pytest.raises(ValueError, match="codec must be one of mulaw, gsm, opus"):
        sim.write_call(tmp_path, "x", audio, 8000, {"telephone": True}, codec="amr")


def test_refuses_to_write_into_the_repository(sim):
    with pytest.raises(SystemExit, match="inside the repository"):
        sim.write_call(REPO / "data" / "sim", "call", np.zeros((10, 2)), 16000, {"telephone": False})


def test_angry_caller_timeline_keeps_the_caller_angry_and_the_usual_calls_unchanged(sim, pool):
    """timeline="angry_caller": every phase has an angry caller, one caller-anger span covers all the caller's
    turns, and no tip-7 truth (that needs a neutral caller); the agent still changes (calm, angry,
    cheerful). The default timeline draws exactly the calls it drew before the option existed."""
    audio, sr, truth = sim.compose_call(pool, seed=[9, 2], caller="emodb_03", agent="emodb_08", target_s=150,
                                        timeline="angry_caller")
    assert truth["timeline"] == "angry_caller"
    assert {p["caller"] for p in truth["phases"]} == {"angry"}
    caller_turns = [u for u in truth["utterances"] if u["speaker"] == "caller" and u["kind"] == "turn"]
    assert all(u["emotion"] == "anger" for u in caller_turns)
    assert truth["caller_angry"] == [[caller_turns[0]["start_s"], max(u["end_s"] for u in caller_turns)]]
    assert 7 not in {e["tip"] for e in truth["events"]}
    mixed = [sim.compose_call(pool, seed=[9, 2], caller="emodb_03", agent="emodb_08", target_s=150, **kw)
             for kw in ({}, {"timeline": "mixed"})]
    np.testing.assert_array_equal(mixed[0][0], mixed[1][0])
    assert mixed[0][2]["timeline"] == "mixed" and {p["caller"] for p in mixed[0][2]["phases"]} == {"neutral", "angry"}
    with pytest.raises(ValueError, match="timeline"):
        sim.compose_call(pool, seed=1, caller="emodb_03", agent="emodb_08", timeline="furious")
    # a share of the calls: evenly spread, the others as before
    calls = sim.assign_calls(pool, 12, 4, 1 / 3, angry_caller_share=0.25)
    assert sum(c["timeline"] == "angry_caller" for c in calls) == 3
    before = sim.assign_calls(pool, 12, 4, 1 / 3)
    assert [{k: v for k, v in c.items() if k != "timeline"} for c in calls] == \
        [{k: v for k, v in c.items() if k != "timeline"} for c in before]
    assert {c["timeline"] for c in before} == {"mixed"}
