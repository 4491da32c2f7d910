"""The whole pipeline on the bundled demo call, whose timeline is known (data/demo_call.json)."""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

import tonekit
from tonekit.analysis import EVENT_COLUMNS, WINDOW_COLUMNS
from tonekit.cli import main
from tonekit.match import MatchOptions

DEMO = Path(tonekit.demo_path())
TRUTH = json.loads(DEMO.with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def demo():
    return tonekit.analyze(DEMO)


def _overlaps(ev, truth, tol=1.0):
    return ev.start_s <= truth["end_s"] + tol and ev.end_s >= truth["start_s"] - tol


def _assert_only_scripted(events: pd.DataFrame) -> None:
    """Each flagged event overlaps an expected event of its tip."""
    for e in events.itertuples():
        assert any(e.tip == t["tip"] and _overlaps(e, t) for t in TRUTH["expected_events"]), e


def _assert_every_scripted(events: pd.DataFrame) -> None:
    """Each expected event overlaps a flagged event of its tip."""
    for t in TRUTH["expected_events"]:
        assert any(e.tip == t["tip"] and _overlaps(e, t) for e in events.itertuples()), t


def test_demo_tables_have_the_contract_columns(demo):
    assert list(demo.windows.columns) == WINDOW_COLUMNS
    assert list(demo.events.columns) == EVENT_COLUMNS
    for c in ("anger", "calm", "warmth", "speech_s", "f0_st_mean", "smile_cue"):   # numbers, NaN where unscored
        assert demo.windows[c].dtype == np.float64, c
    assert demo.windows[["anger", "calm", "warmth"]].describe().loc["max"].between(0.5, 1).all()
    assert demo.speakers == ["agent", "caller"]
    assert demo.duration_s == pytest.approx(TRUTH["duration_s"], abs=0.01)


def test_demo_windows_lie_inside_the_call(demo):
    """Windows every second, 3 s long, from 0 s; the last ends with the call (90.222 s), not at the end of
    its last 10-ms frame."""
    for _, w in demo.windows.groupby("speaker"):
        assert w.start_s.tolist() == pytest.approx(list(range(0, 89)))
        assert w.end_s.iloc[-1] == demo.duration_s == 90.222
        assert (w.end_s.iloc[:-1] - w.start_s.iloc[:-1]).to_numpy() == pytest.approx(3.0)


def test_features_of_a_stereo_call_are_the_analysis_windows_without_scores(demo):
    """``tonekit features CALL`` gives both speakers' windows, the same as the analysis's acoustic columns; with
    agent_channel=1 the two sides swap."""
    from tonekit.features.api import extract_features

    acoustic = [c for c in WINDOW_COLUMNS if c not in ("anger", "calm", "warmth")]
    got = extract_features(DEMO)
    assert got[["anger", "calm", "warmth"]].isna().all(axis=None)
    pd.testing.assert_frame_equal(got[acoustic], demo.windows[acoustic])
    # the agent's greeting (0:00.6-0:04.9) fills the window 1-4 s on channel 0 only
    first = got[got.start_s == 1.0].set_index("speaker").speech_s
    assert first["agent"] >= 2.5 and first["caller"] == 0.0
    swapped = extract_features(DEMO, agent_channel=1)
    for side, other in (("agent", "caller"), ("caller", "agent")):
        pd.testing.assert_frame_equal(swapped[swapped.speaker == side][acoustic[1:]].reset_index(drop=True),
                                      got[got.speaker == other][acoustic[1:]].reset_index(drop=True))


def _leaves(x, path="summary"):
    """``(path, value)`` of every leaf of nested dicts and lists."""
    if isinstance(x, dict):
        return [leaf for k, v in x.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(x, (list, tuple)):
        return [leaf for i, v in enumerate(x) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, x)]


def test_demo_summary_and_options_hold_plain_python_values(demo):
    """What ``Analysis.summary`` and ``.options`` hold prints as plain numbers, not ``np.float64(56.0)``."""
    leaves = _leaves(demo.summary) + _leaves(demo.options, "options")
    assert [(p, type(v).__name__) for p, v in leaves if type(v) not in (float, int, str, bool, type(None))] == []
    assert demo.summary["caller_angry_spans"] and all(type(t) is float for span in demo.summary["caller_angry_spans"]
                                                      for t in span)


def test_demo_turns_match_the_script(demo):
    """Every scripted turn is found on the right speaker within 0.3 s."""
    for t in TRUTH["turns"]:
        mine = demo.turns[demo.turns.speaker == t["speaker"]]
        near = mine[(mine.start_s - t["start_s"]).abs() <= 0.3]
        assert len(near) == 1, t


@pytest.mark.parametrize("tip,kind", [(1, "interruption"), (12, "long_silence")])
def test_demo_timeline_events(demo, tip, kind):
    truth = next(e for e in TRUTH["expected_events"] if e["kind"] == kind)
    found = demo.events[demo.events.tip == tip]
    assert len(found) == 1
    ev = found.iloc[0]
    assert ev.kind == kind
    assert ev.start_s == pytest.approx(truth["start_s"], abs=0.3)
    assert ev.end_s == pytest.approx(truth["end_s"], abs=0.3)


def test_demo_upbeat_stretch_is_flagged(demo):
    truth = next(e for e in TRUTH["expected_events"] if e["kind"] == "upbeat_vs_angry")
    found = demo.events[(demo.events.tip == 9)]
    assert len(found) == 1
    assert (found.iloc[0].start_s, found.iloc[0].end_s) == pytest.approx((truth["start_s"], truth["end_s"]), abs=1.0)


@pytest.mark.xfail(strict=True, reason="known false alarm of the shipped models: the synthetic agent's turn "
                   "edges around the hold (0:49, 0:57) read as angry (0.77, 0.89) while the caller's angry span, "
                   "now heard through their last angry turn (0:41-0:45), lasts into them: a tip 8 at 0:50-1:00 "
                   "(README, The demo)")
def test_demo_has_only_the_scripted_events(demo):
    """No event the script did not put there (each flagged event overlaps an expected one of its tip)."""
    _assert_only_scripted(demo.events)


def test_demo_adds_no_false_event_but_the_known_one(demo):
    """While the xfail above stands, nothing else may join it: the events the script did not put there are
    exactly the one tip 8 at 0:50-1:00 (README, The demo), so a new false event or a changed one fails here."""
    extra = [e for e in demo.events.itertuples()
             if not any(e.tip == t["tip"] and _overlaps(e, t) for t in TRUTH["expected_events"])]
    assert [(e.tip, e.kind) for e in extra] == [(8, "mirrored_anger")]
    assert (extra[0].start_s, extra[0].end_s) == pytest.approx((50.0, 60.0), abs=1.0)


def _demo_with_hold_music(tmp_path, channel: int):
    """``(the script's hold, a copy of the demo with synthetic hold music on ``channel`` through that hold)``."""
    from synth import hold_music

    hold = next(e for e in TRUTH["expected_events"] if e["kind"] == "long_silence")
    y, sr = sf.read(DEMO)
    a, b = int((hold["start_s"] + 0.2) * sr), int((hold["end_s"] - 0.8) * sr)
    y[a:b, channel] += hold_music((b - a) / sr, sr)
    path = tmp_path / "demo_music.flac"
    sf.write(path, y, sr)
    return hold, path


@pytest.mark.parametrize("channel,side", [(0, "agent"), (1, "caller")])
def test_music_on_hold_is_still_a_hold(tmp_path, demo, channel, side):
    """The demo with synthetic music on hold (tests/synth.py) in the script's 8-s hold, on either side: the
    music is left out of that side's speech with a warning, tip 12 finds the hold, the turns around it are
    the demo's own, and the music gets no tone score."""
    hold, path = _demo_with_hold_music(tmp_path, channel)
    with pytest.warns(UserWarning, match=rf"demo_music.flac: steady sound, not speech, on the {side}'s side "
                                         rf"\(channel {channel}\) at 0:50-0:57 \(music on hold\?\)"):
        got = tonekit.analyze(path)
    assert got.options["music_gate"] is True     # the default
    found = got.events[got.events.tip == 12]
    assert len(found) == 1
    assert (found.iloc[0].start_s, found.iloc[0].end_s) == pytest.approx((hold["start_s"], hold["end_s"]), abs=0.3)
    # every turn longer than a blip is the demo's own, to the frame
    turns = got.turns[got.turns.end_s - got.turns.start_s >= 0.1]
    pd.testing.assert_frame_equal(turns.reset_index(drop=True), demo.turns.reset_index(drop=True))
    inside = got.windows[(got.windows.speaker == side) & (got.windows.start_s >= 51) & (got.windows.end_s <= 57)]
    assert len(inside) and inside[["anger", "calm", "warmth"]].isna().all(axis=None)


def test_no_music_gate_takes_the_music_for_speech_again(tmp_path):
    """``--no-music-gate``: the hold music on the agent's side is speech again (no warning, no tip 12), and the
    JSON report records the switch; by default it is on."""
    _, path = _demo_with_hold_music(tmp_path, 0)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["report", str(path), "--no-music-gate", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert "steady sound" not in r.stderr
    got = json.loads(out.read_text())
    assert got["options"]["music_gate"] is False
    assert not any(e["tip"] == 12 for e in got["events"])


def test_demo_with_tip_8_asking_for_a_raised_voice_has_only_the_scripted_events():
    """The demo's false tip 8 (agent pitch and loudness not raised) goes with ``mirrored_needs_rise``; the
    scripted events stay (README, The demo)."""
    a = tonekit.analyze(DEMO, mirrored_needs_rise=True)
    _assert_only_scripted(a.events)
    _assert_every_scripted(a.events)


def test_cli_report_reading_every_piece_with_whisper_has_exactly_the_scripted_events(tmp_path):
    """``--whisper-every 1``: Whisper reads every 4-s piece of speech (the default reads one in eight): the demo's
    false tip 8 (the synthetic agent read as angry around the hold) goes, every scripted event stays, and the
    JSON report records the setting."""
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["report", str(DEMO), "--whisper-every", "1", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    got = json.loads(out.read_text())
    assert got["options"]["whisper_every"] == 1
    events = pd.DataFrame(got["events"])
    _assert_only_scripted(events)
    _assert_every_scripted(events)
    r = CliRunner().invoke(main, ["report", str(DEMO), "--whisper-every", "0"])
    assert r.exit_code == 2 and "x>=1" in r.output


def test_demo_caller_calms_down(demo):
    ca = demo.summary["caller_anger"]
    assert ca["start"] > ca["end"] + 0.1


def test_json_report_schema(demo):
    d = json.loads(demo.to_json())
    assert {"tonekit_version", "source", "duration_s", "speakers", "windows", "events", "summary", "options"} <= set(d)
    assert d["source"] == DEMO.name
    assert set(d["windows"][0]) == set(WINDOW_COLUMNS)
    assert set(d["summary"]["events_per_tip"]) == {"1", "7", "8", "9", "12"}
    assert d["summary"]["silences"]["longest_s"] == pytest.approx(8.0, abs=0.4)


def test_a_saved_json_report_reads_back_into_the_same_reports(demo, tmp_path):
    """Analysis.from_json: the demo's JSON report read back gives the same text report to the character, the
    same HTML around its chart (whose curves are drawn from the report's 4-decimal numbers) and the same
    tables; `tonekit report` and `tonekit plot` show a saved report in either language without analysing
    the call again, and refuse the options that would need it analysed."""
    from tonekit.analysis import Analysis
    from tonekit.report import render_html, render_text

    path = tmp_path / "demo.json"
    demo.to_json(path)
    back = Analysis.from_json(path)
    assert render_text(back, color=False) == render_text(demo, color=False)
    assert render_text(back, color=False, lang="fr") == render_text(demo, color=False, lang="fr")
    chartless = lambda page: re.sub(r"<svg.*?</svg>", "", page, flags=re.S)   # noqa: E731
    assert chartless(render_html(back)) == chartless(render_html(demo))
    pd.testing.assert_frame_equal(back.events, demo.events.reset_index(drop=True), atol=1e-4)   # tip stays whole
    assert Analysis.from_json(demo.to_json()).to_json() == back.to_json() == demo.to_json()   # text, file: same
    assert Analysis.from_json({**demo.to_dict(), "events": []}).events.dtypes.to_dict() == demo.events.dtypes.to_dict()
    pd.testing.assert_frame_equal(back.windows[WINDOW_COLUMNS], demo.windows.reset_index(drop=True),
                                  check_dtype=False, atol=1e-4)
    assert back.summary["events_per_tip"] == demo.summary["events_per_tip"] and back.warnings == demo.warnings
    assert back.frames.empty and list(back.frames.columns) == list(demo.frames.columns)

    r = CliRunner().invoke(main, ["report", str(path), "--lang", "fr"])
    assert r.exit_code == 0 and r.output == render_text(demo, color=False, lang="fr"), r.output
    r = CliRunner().invoke(main, ["plot", str(path), "-o", str(tmp_path / "demo.png")])
    assert r.exit_code == 0 and (tmp_path / "demo.png").read_bytes()[:4] == b"\x89PNG"
    r = CliRunner().invoke(main, ["report", str(path), "--set", "long_silence_s=3", "--agent-channel", "1"])
    assert r.exit_code == 2 and "saved JSON report" in r.output and "--agent-channel, --set would need" in r.output


@pytest.mark.parametrize("content, problem", [
    (b'{"windows": []}', "no 'tonekit_version', 'duration_s', 'events', 'summary'"),
    (b"[1, 2]", "no 'tonekit_version'"),
    (b"{not json", "not JSON"),
    (b"\xff\xfe\x00", "not UTF-8 text"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 9, "windows": [{"speaker": "agent", "anger": "high"}], '
     b'"events": [], "summary": {}}', "ValueError"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 9, "windows": {}, "events": [], "summary": {}}',
     "a table is not a list of objects"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 9, "windows": [], "events": [], "summary": []}',
     "its summary is not an object"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 9, "windows": [], "events": [], "summary": {}, "options": "x"}',
     "its options is not an object"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 9, "windows": [], "events": [], "summary": {}, "warnings": "x"}',
     "its warnings is not a list of texts"),
    (b'{"tonekit_version": "0.1.0", "duration_s": -5, "windows": [], "events": [], "summary": {}}', "it lasts -5 s"),
    (b'{"tonekit_version": "0.1.0", "duration_s": 0, "windows": [], "events": [], "summary": {}}', "it lasts 0 s"),
    (b'{"tonekit_version": "0.1.0", "duration_s": null, "windows": [], "events": [], "summary": {}}',
     "it lasts nan s"),
])
def test_a_file_that_is_no_json_report_is_named_in_one_line(tmp_path, content, problem):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(tonekit.TonekitError, match=re.escape(f"{path}: not a tonekit JSON report")) as err:
        tonekit.Analysis.from_json(path)
    assert problem in str(err.value)
    r = CliRunner().invoke(main, ["report", str(path)])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and f"Error: {path}: not a tonekit JSON report" in r.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_folder_given_as_a_report_is_refused_rather_than_waited_on(tmp_path):
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)   # nobody writes to it: reading would wait for ever
    for path, problem in ((fifo, "not a regular file: a pipe or a device?"), (tmp_path, "a folder")):
        with pytest.raises(tonekit.TonekitError, match=re.escape(f"{path}: not a tonekit JSON report ({problem})")):
            tonekit.Analysis.from_json(path)
    r = CliRunner().invoke(main, ["report", str(fifo)])
    assert r.exit_code == 1
    assert r.output == f"Error: {fifo}: not a tonekit JSON report (not a regular file: a pipe or a device?)\n"


def test_a_report_file_named_like_json_text_is_read_as_a_file(tmp_path, demo):
    """from_json takes JSON text too (what to_json returns); a file named "{call}.json" is still a file."""
    path = tmp_path / "{call}.json"
    path.write_text(demo.to_json())
    assert tonekit.Analysis.from_json(str(path)).events.tip.tolist() == demo.events.tip.tolist()
    assert tonekit.Analysis.from_json(demo.to_json()).duration_s == demo.duration_s


def test_entrainment_is_reported(demo):
    ent = demo.summary["entrainment"]
    assert set(ent) == {"f0", "intensity", "rate"}
    for f in ent.values():
        assert set(f) == {"proximity", "convergence", "synchrony"}
        assert f["synchrony"] is None or -1.0 <= f["synchrony"] <= 1.0


def test_two_mono_files_equal_the_stereo_call(tmp_path, demo):
    y, sr = sf.read(DEMO)
    sf.write(tmp_path / "agent.wav", y[:, 0], sr)
    sf.write(tmp_path / "caller.wav", y[:, 1], sr)
    a = tonekit.analyze(agent=tmp_path / "agent.wav", caller=tmp_path / "caller.wav")
    pd.testing.assert_frame_equal(a.turns, demo.turns)


@pytest.mark.parametrize("cut_s", [30.0, 59.5])
def test_two_mono_files_of_different_lengths(tmp_path, demo, cut_s):
    """The agent's file ends early (past the first 60-s read, or before it): the rest of the agent's side is
    silence, not an error, and the digital silence after its end does not lower the agent's noise floor (which
    would make her line noise speech): her turns are the stereo call's turns that end before the cut."""
    y, sr = sf.read(DEMO)
    sf.write(tmp_path / "agent.wav", y[: int(cut_s * sr), 0], sr)
    sf.write(tmp_path / "caller.wav", y[:, 1], sr)
    with pytest.warns(UserWarning, match=rf"agent.wav: the agent's file lasts {cut_s:.1f} s, the caller's 90.2 s: "
                                         rf"the agent's side is silent from 0:{int(cut_s):02d} on"):
        a = tonekit.analyze(agent=tmp_path / "agent.wav", caller=tmp_path / "caller.wav")
    got = a.turns[a.turns.speaker == "agent"][["start_s", "end_s"]].to_numpy()
    want = demo.turns[(demo.turns.speaker == "agent") & (demo.turns.end_s < cut_s)][["start_s", "end_s"]].to_numpy()
    assert got[: len(want)] == pytest.approx(want, abs=0.011)
    assert len(got) <= len(want) + 1 and (len(got) == len(want) or got[-1, 1] <= cut_s + 0.05)
    assert a.summary["duration_s"] == pytest.approx(len(y) / sr, abs=0.01)


def test_a_call_without_speech_is_an_error(tmp_path):
    """Noise on both channels (or a call too short to hold a word) is refused in one line, not reported as a
    call in which nothing happened."""
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.wav"
    sf.write(path, 0.05 * rng.standard_normal((16000 * 20, 2)), 16000)
    with pytest.raises(tonekit.AudioError, match=re.escape(f"{path}: no speech found in 20.0 s of audio")):
        tonekit.analyze(path)
    res = CliRunner().invoke(main, ["report", "-q", str(path)])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"Error: {path}: no speech found in 20.0 s of audio (noise, a tone "
                                               "or silence only?): nothing to analyse"]


def test_analyze_and_score_refuse_what_is_not_a_path_or_an_array():
    with pytest.raises(tonekit.ParameterError, match="source must be a file path, not ndarray"):
        tonekit.analyze(np.zeros(16000))
    with pytest.raises(tonekit.ParameterError, match="not an array with sr: write the signal to a file first"):
        tonekit.analyze(np.zeros((16000, 2)), sr=16000)
    for bad in (None, np.float64(0.1)):
        with pytest.raises(tonekit.ParameterError, match="expected a file path or a 1-D array of samples"):
            tonekit.score(bad)


def test_swapped_channels(tmp_path, demo):
    y, sr = sf.read(DEMO)
    sf.write(tmp_path / "swapped.flac", y[:, ::-1], sr)
    a = tonekit.analyze(tmp_path / "swapped.flac", agent_channel=1)
    pd.testing.assert_frame_equal(a.turns, demo.turns)
    # the report says which channel was taken for the agent (None where the voices are two files)
    assert (a.options["agent_channel"], demo.options["agent_channel"], a.options["agent_label"]) == (1, 0, None)
    sf.write(tmp_path / "agent.flac", y[:, 0], sr)
    sf.write(tmp_path / "caller.flac", y[:, 1], sr)
    two = tonekit.analyze(agent=tmp_path / "agent.flac", caller=tmp_path / "caller.flac")
    assert two.options["agent_channel"] is None
    pd.testing.assert_frame_equal(two.turns, demo.turns)


def _shifted(events: pd.DataFrame, by_s: float) -> list:
    return [(int(e.tip), round(e.start_s - by_s, 1), round(e.end_s - by_s, 1)) for e in events.itertuples()]


def _assert_the_demos_timeline(got, demo) -> None:
    """``got`` has ``demo``'s talk times (within 0.1 s a side), overlaps and events (their tips and kinds, each
    starting within 0.3 s)."""
    for s in ("agent", "caller"):
        assert got.summary["speakers"][s]["talk_time_s"] == pytest.approx(demo.summary["speakers"][s]["talk_time_s"],
                                                                           abs=0.1)
    assert got.summary["overlaps"]["count"] == demo.summary["overlaps"]["count"]
    assert list(zip(got.events.tip, got.events.kind)) == list(zip(demo.events.tip, demo.events.kind))
    assert np.abs(got.events.start_s.to_numpy() - demo.events.start_s.to_numpy()).max() < 0.3


def test_digital_silence_is_no_line_noise(tmp_path, demo):
    """A recorder's zeros (the call padded with 30 s of them at each end, or 60 s of them written during a
    mute at 0:54) hold no signal: the channels' floors stay the line's, so the speech found is the demo's own
    to the frame and the events move with the padding; the mute lengthens the scripted hold (tip 12)."""
    y, sr = sf.read(DEMO)
    zeros = lambda s: np.zeros((int(s * sr), 2))   # noqa: E731
    sf.write(tmp_path / "padded.flac", np.r_[zeros(30), y, zeros(30)], sr, subtype="PCM_16")
    padded = tonekit.analyze(tmp_path / "padded.flac")
    assert _shifted(padded.events, 30.0) == _shifted(demo.events, 0.0)
    assert [padded.summary["speakers"][s]["talk_time_s"] for s in ("agent", "caller")] == \
           [demo.summary["speakers"][s]["talk_time_s"] for s in ("agent", "caller")]
    # the padding is no pause of the call's: the longest is still the hold, as tip 12 sees it
    keys = ("count", "longest_s", "total_s")                  # its share is of the longer call
    assert ({k: padded.summary["silences"][k] for k in keys}
            == pytest.approx({k: demo.summary["silences"][k] for k in keys}))
    turns = padded.turns.assign(start_s=padded.turns.start_s - 30, end_s=padded.turns.end_s - 30)
    pd.testing.assert_frame_equal(turns, demo.turns, atol=0.011)
    _assert_a_minute_at_0_54_lengthens_the_hold(tmp_path / "muted.flac", demo, y, sr, zeros(60))


def _assert_a_minute_at_0_54_lengthens_the_hold(path, demo, y, sr, minute):
    """``minute`` (a minute of samples on both channels) written into the demo at 0:54, inside its hold:
    tip 12 then spans 50.2-118.3 s, and tips 1 and 9 are where they were."""
    at = int(54 * sr)
    sf.write(path, np.r_[y[:at], minute, y[at:]], sr, subtype="PCM_16")
    a = tonekit.analyze(path)
    hold = a.events[a.events.tip == 12]
    assert len(hold) == 1 and (hold.start_s.iloc[0], hold.end_s.iloc[0]) == pytest.approx((50.2, 118.3), abs=0.3)
    assert _shifted(a.events[a.events.tip.isin([1, 9])], 0.0) == _shifted(demo.events[demo.events.tip.isin([1, 9])], 0.0)


def test_a_channel_whose_pauses_are_zeros_keeps_its_speech(tmp_path, demo):
    """The demo with every sample outside its speech set to zero (a noise gate, as some softphones have): no
    line noise is left to read a floor on, the zeros are the quiet, and the speech found is the demo's within
    2 % of each side's talk time, with tips 1, 9 and 12 where they were."""
    from tonekit.activity import detect_activity
    from tonekit.audio import load_call

    y, sr = sf.read(DEMO)
    act = detect_activity(load_call(DEMO))
    for ch, spk in ((0, "agent"), (1, "caller")):
        y[:, ch] *= np.repeat(act.speech[spk], sr // 100)[:len(y)]
    sf.write(tmp_path / "gated.flac", y, sr, subtype="PCM_16")
    gated = tonekit.analyze(tmp_path / "gated.flac")
    for s in ("agent", "caller"):
        assert gated.summary["speakers"][s]["talk_time_s"] == pytest.approx(
            demo.summary["speakers"][s]["talk_time_s"], rel=0.02)
    assert _shifted(gated.events[gated.events.tip != 8], 0.0) == _shifted(demo.events[demo.events.tip != 8], 0.0)


def test_zeros_between_talk_spurts_are_not_the_lines_floor(tmp_path, demo):
    """Silence suppression (a softphone's noise gate or a line's DTX) that writes zeros between the turns and
    keeps the line's noise inside them (the pauses between words and sentences, 50 ms around each turn): the
    zeros were the floor, and the noise inside the turns passed for speech (43.5 s of agent talk for 38.6,
    30.5 s of caller talk for 27.2). The noise at the bottom of the frames with a signal is the floor now: each
    side's talk time is the demo's within 0.1 s, with its overlaps and events."""
    y, sr = sf.read(DEMO)
    truth = json.loads(DEMO.with_suffix(".json").read_text())
    for ch, spk in ((0, "agent"), (1, "caller")):
        spurts = np.zeros(len(y), bool)
        for turn in truth["turns"]:
            if turn["speaker"] == spk:
                spurts[int((turn["start_s"] - 0.05) * sr): int((turn["end_s"] + 0.05) * sr)] = True
        y[~spurts, ch] = 0.0
    sf.write(tmp_path / "dtx.flac", y, sr, subtype="PCM_16")
    got = tonekit.analyze(tmp_path / "dtx.flac")
    _assert_the_demos_timeline(got, demo)


def test_a_quieter_comfort_noise_keeps_the_lines_floor(tmp_path, demo):
    """A line that goes to comfort noise 15 dB quieter than its own (-70 dBFS, white) for 30 s at each end, or
    for a minute at 0:54: that noise would be the whole call's floor, and the line's noise would pass for
    speech (before tonekit.activity.floor_track: 59 overlaps, 71 s of agent talk for 39). Each stretch is
    judged against its own noise: the speech found is the demo's own within 0.05 s a side, and the events
    move with the padding; the minute at 0:54 lengthens the scripted hold (tip 12)."""
    y, sr = sf.read(DEMO)
    rng = np.random.default_rng(0)
    comfort = lambda s: 10 ** (-70 / 20) * rng.standard_normal((int(s * sr), 2))   # noqa: E731
    sf.write(tmp_path / "padded.flac", np.r_[comfort(30), y, comfort(30)], sr, subtype="PCM_16")
    padded = tonekit.analyze(tmp_path / "padded.flac")
    assert _shifted(padded.events, 30.0) == _shifted(demo.events, 0.0)
    for s in ("agent", "caller"):
        assert padded.summary["speakers"][s]["talk_time_s"] == pytest.approx(
            demo.summary["speakers"][s]["talk_time_s"], abs=0.05)
    assert len(padded.overlaps) == len(demo.overlaps)
    _assert_a_minute_at_0_54_lengthens_the_hold(tmp_path / "comfort.flac", demo, y, sr, comfort(60))


def test_a_louder_noise_for_a_while_is_judged_on_its_own_level(tmp_path):
    """The caller walks into a street: pink noise at -40 dBFS (15 dB over the line's, about 20 dB under the
    caller's loudest) on their side from 0:20 to 0:45. Against the call's floor, a third of what was found
    there was that noise (measured: 64 % speech); against the stretch's own noise, the speech found there is
    the demo's own (measured: all of it, and 99 % of the demo's), and the agent's side does not change."""
    from tonekit.activity import HOP_S, detect_activity
    from tonekit.audio import load_call
    from tonekit.augment import background_noise

    y, sr = sf.read(DEMO)
    own = detect_activity(load_call(DEMO))
    a, b = 20 * sr, 45 * sr
    y[a:b, 1] += 10 ** (-40 / 20) * background_noise("pink", b - a, sr, np.random.default_rng(1))
    sf.write(tmp_path / "street.flac", y, sr, subtype="PCM_16")
    stretch = slice(int(20 / HOP_S), int(45 / HOP_S))

    def found(**options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            act = detect_activity(load_call(tmp_path / "street.flac"), **options)
        assert np.array_equal(act.speech["agent"], own.speech["agent"])
        got, truth = act.speech["caller"][stretch], own.speech["caller"][stretch]
        return (got & truth).sum() / got.sum(), (got & truth).sum() / truth.sum()

    precision, recall = found()
    assert precision >= 0.9 and recall >= 0.95
    assert found(local_floor=False)[0] < 0.7


def test_mains_hum_is_heard_past(tmp_path, demo, monkeypatch):
    """Mains hum at -30 dBFS (50 Hz and its harmonics, tonekit.augment.background_noise) on the caller's side
    stood over a third of the caller's softer syllables: 74 % of their talk time was found (measured), with
    the whole signal's levels. The hum lies under 150 Hz, so the caller's speech is looked for above it, with
    a warning: 96 % is found (measured), the agent's side and every event are the demo's own. The tone is
    still read where the speech stands out of the whole signal (Activity.tone_mask), as the models heard
    speech in training: every window's scores are those found without the hum filter, and the warning that
    the caller's speech stands little over its noise stays."""
    import functools

    import tonekit.pipeline
    from tonekit.augment import background_noise

    y, sr = sf.read(DEMO)
    y[:, 1] += 10 ** (-30 / 20) * background_noise("hum", len(y), sr, np.random.default_rng(0))
    sf.write(tmp_path / "hum.flac", y, sr, subtype="PCM_16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hum = tonekit.analyze(tmp_path / "hum.flac")
    said = [str(w.message) for w in caught]
    assert [bool(re.match(r".*hum.flac: mains hum or rumble on the caller's side \(channel 1\): its noise is \d+ "
                          r"dB quieter above 150 Hz, where its speech is looked for$", m)) for m in said] == \
           [True, False], said
    assert re.match(r".*hum.flac: the caller's speech \(channel 1\) stands only [\d.]+ dB over the noise", said[1])
    talk = {s: hum.summary["speakers"][s]["talk_time_s"] / demo.summary["speakers"][s]["talk_time_s"]
            for s in ("agent", "caller")}
    assert talk["agent"] == 1.0 and talk["caller"] >= 0.95
    assert _shifted(hum.events, 0.0) == _shifted(demo.events, 0.0)
    monkeypatch.setattr(tonekit.pipeline, "detect_activity",
                        functools.partial(tonekit.pipeline.detect_activity, hum_filter=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = tonekit.analyze(tmp_path / "hum.flac")
    assert whole.summary["speakers"]["caller"]["talk_time_s"] < 0.8 * demo.summary["speakers"]["caller"]["talk_time_s"]
    pd.testing.assert_frame_equal(hum.windows, whole.windows)


def test_mains_hum_is_heard_past_across_a_mute(tmp_path, demo):
    """The same hum, and a mute written as zeros on the caller's side from 0:46 to 1:04: the zeros were the
    floor of the whole channel, so the hum did not show (the filter never fired, and 25 % of the caller's
    talk time was found, measured). Floors are compared on the frames with a signal: 96 % is found."""
    from tonekit.activity import detect_activity
    from tonekit.audio import load_call
    from tonekit.augment import background_noise

    y, sr = sf.read(DEMO)
    y[:, 1] += 10 ** (-30 / 20) * background_noise("hum", len(y), sr, np.random.default_rng(0))
    y[46 * sr:64 * sr, 1] = 0.0
    sf.write(tmp_path / "muted_hum.flac", y, sr, subtype="PCM_16")
    with pytest.warns(UserWarning, match=r"muted_hum.flac: mains hum or rumble on the caller's side"):
        act = detect_activity(load_call(tmp_path / "muted_hum.flac"))
    assert act.speech["caller"].sum() * act.hop_s >= 0.95 * demo.summary["speakers"]["caller"]["talk_time_s"]


def test_hum_that_starts_halfway_through_the_call(tmp_path, demo):
    """The same hum on the caller's side from 0:45 on (a headset's cable plugged in halfway): the floor of the
    whole channel is that of its clean first half, so the hum did not show, the hummed half passed for music on
    hold, 63 % of the caller's talk time was found and a false hold (tip 12) at 1:04-1:10 (measured). The
    floors are also compared over the stretch whose noise steps up: 97 % is found, with the hum warning, and
    the demo's own events."""
    from tonekit.augment import background_noise

    y, sr = sf.read(DEMO)
    y[45 * sr:, 1] += 10 ** (-30 / 20) * background_noise("hum", len(y) - 45 * sr, sr, np.random.default_rng(0))
    sf.write(tmp_path / "late_hum.flac", y, sr, subtype="PCM_16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tonekit.analyze(tmp_path / "late_hum.flac")
    said = [str(w.message) for w in caught]
    assert any(re.match(r".*late_hum.flac: mains hum or rumble on the caller's side \(channel 1\)", m)
               for m in said), said
    assert not any("steady sound" in m for m in said), said
    assert got.summary["speakers"]["caller"]["talk_time_s"] >= 0.95 * demo.summary["speakers"]["caller"]["talk_time_s"]
    assert _shifted(got.events, 0.0) == _shifted(demo.events, 0.0)


def test_a_mono_mix_under_hum(tmp_path, demo):
    """The demo mixed to mono, with the hum on the caller's part and the script's turns as RTTM. The mix's
    speech is looked for above the hum, with a warning that names the mix, and found as in a noisy stereo
    channel (audit: 7.3 s of the agent's 38.6 s were lost while the mix had no noise-adaptive margin, and
    without the filter 3.9 s of hum passed for the agent's speech); each side's talk time is within 4 % of the
    stereo demo's, and so are its interruption and hold (tips 1 and 12; the hum on the mix's one channel
    moves the agent's tone too, and tip 9 starts at 0:21, as it did before the filter)."""
    from tonekit.augment import background_noise

    y, sr = sf.read(DEMO)
    y[:, 1] += 10 ** (-30 / 20) * background_noise("hum", len(y), sr, np.random.default_rng(0))
    sf.write(tmp_path / "mix.flac", y.mean(axis=1), sr, subtype="PCM_16")
    rttm = tmp_path / "turns.rttm"
    rttm.write_text("".join(f"SPEAKER demo 1 {t['start_s']:.3f} {t['end_s'] - t['start_s']:.3f} <NA> <NA> "
                            f"{'A' if t['speaker'] == 'agent' else 'B'} <NA> <NA>\n" for t in TRUTH["turns"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mix = tonekit.analyze(tmp_path / "mix.flac", turns=rttm, agent_label="A")
    assert any(re.match(r".*mix.flac: mains hum or rumble in the mix \(.*\): its noise is \d+ dB quieter above "
                        r"150 Hz", str(w.message)) for w in caught), [str(w.message) for w in caught]
    for s in ("agent", "caller"):
        assert mix.summary["speakers"][s]["talk_time_s"] == pytest.approx(
            demo.summary["speakers"][s]["talk_time_s"], rel=0.04)
    assert _shifted(mix.events[mix.events.tip.isin([1, 12])], 0.0) == \
           _shifted(demo.events[demo.events.tip.isin([1, 12])], 0.0)


def test_a_call_that_fails_still_shows_its_warnings(monkeypatch):
    """analyze records what is warned of while a call is read (its notes) and gives it again as it came, also
    when the call then fails."""
    import tonekit.pipeline

    def warns_then_fails(*args, **kwargs):
        warnings.warn("call.wav: channel 1 carries a DC offset", stacklevel=2)
        raise tonekit.AudioError("call.wav", "no speech found")

    monkeypatch.setattr(tonekit.pipeline, "_analyze", warns_then_fails)
    with pytest.warns(UserWarning, match="call.wav: channel 1 carries a DC offset"):
        with pytest.raises(tonekit.AudioError, match="no speech found"):
            tonekit.analyze("call.wav")


def test_a_dc_offset_is_taken_off(tmp_path, demo):
    """A DC offset of 0.05 on both channels (-26 dBFS: it filled every pause, and the analysis found 1 s of the
    agent's speech) is taken off with a warning: the demo's speech and events, to the frame. The warnings are
    the reports' notes on the audio (the demo has none)."""
    y, sr = sf.read(DEMO)
    sf.write(tmp_path / "dc.flac", y + 0.05, sr, subtype="PCM_16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tonekit.analyze(tmp_path / "dc.flac")
    said = sorted(str(w.message) for w in caught if "DC offset" in str(w.message))
    assert said == [f"{tmp_path / 'dc.flac'}: channel {c} carries a DC offset of +0.050 (-26 dBFS): taken off "
                    "before analysis" for c in (0, 1)]
    assert _shifted(got.events, 0.0) == _shifted(demo.events, 0.0)
    # the reports carry the warnings as notes on the audio: the JSON, the text and HTML reports, the batch's overview
    from tonekit.batch import overview_row
    from tonekit.report import render_html, render_text

    assert sorted(got.warnings) == said and json.loads(got.to_json())["warnings"] == got.warnings
    assert render_text(got, color=False).split("Notes on the audio\n")[1].splitlines() == [f"  • {n}"
                                                                                          for n in got.warnings]
    page = render_html(got)
    assert '<h2>Notes on the audio</h2>' in page and page.count("carries a DC offset of +0.050") == 2
    assert overview_row(got.to_dict(), "dc.json")["notes"] == " | ".join(got.warnings)
    assert demo.warnings == [] and "Notes on the audio" not in render_text(demo, color=False) + render_html(demo)
    pd.testing.assert_frame_equal(got.turns, demo.turns)
    # a lone utterance too (tonekit score)
    one = tmp_path / "agent.wav"
    piece = y[int(30 * sr):int(36 * sr), 0]
    piece = piece - piece.mean()    # the demo's own (+0.002, under the warning) is not in the comparison
    sf.write(one, piece + 0.05, sr, subtype="FLOAT")
    sf.write(tmp_path / "clean.wav", piece, sr, subtype="FLOAT")
    with pytest.warns(UserWarning, match=r"agent.wav: carries a DC offset of \+0.050 \(-26 dBFS\): taken off before scoring"):
        scores = tonekit.score(one)
    assert scores == pytest.approx(tonekit.score(tmp_path / "clean.wav"), abs=1e-3)


def test_match_options_are_validated():
    with pytest.raises(tonekit.ParameterError, match="anger_off"):
        MatchOptions(anger_on=0.4, anger_off=0.6)
    with pytest.raises(tonekit.ParameterError, match=r"^analyze\(\) got unknown keyword\(s\) not_an_option; it takes "
                                                    r"agent, caller, turns, .*music_gate, and the matcher's "
                                                    r"thresholds agent_anger_on, .*valence_window_s$"):
        tonekit.analyze(DEMO, not_an_option=1)
    for bad in ("x", None, [5]):
        with pytest.raises(tonekit.ParameterError, match=f"long_silence_s must be a number, not {re.escape(repr(bad))}"):
            tonekit.analyze(DEMO, long_silence_s=bad)
    assert MatchOptions.from_kwargs(long_silence_s=np.float32(8), valence_per_stretch=np.bool_(False)).long_silence_s == 8


@pytest.mark.parametrize("options, problem", [
    ({"min_speech_s": 0}, "min_speech_s must be more than 0 and at most the window (win_dur_s, 3 s), not 0.0"),
    ({"min_speech_s": 5}, "min_speech_s must be more than 0 and at most the window (win_dur_s, 3 s), not 5.0"),
    ({"win_dur_s": "3"}, None),   # a number in a string is a number
    ({"win_dur_s": "three"}, "win_dur_s, hop_dur_s and min_speech_s must be numbers (seconds), not 'three', 1.0"),
    ({"hop_dur_s": 0}, "win_dur_s and hop_dur_s must be finite and at least one frame (0.01 s), got 3.0 and 0.0"),
    ({"win_dur_s": 2, "hop_dur_s": 3}, "hop_dur_s (3.0) must not exceed win_dur_s (2.0)"),
    ({"whisper_every": 0}, "whisper_every must be a whole number >= 1, not 0"),
    ({"progress": 1}, "progress must be a function of the step's name, not int"),
    ({"agent_channel": True}, "agent_channel must be 0 or 1, not True"),
    ({"agent_channel": 1.0}, "agent_channel must be 0 or 1, not 1.0"),
])
def test_analysis_options_are_checked_before_the_audio_is_read(tmp_path, options, problem):
    """A window that needs no speech would score silence (NaN means too little speech), one that needs more than
    it holds would score nothing; each bad option is named before any audio is read (the file is not there)."""
    missing = tmp_path / "not_there.flac"
    with pytest.raises(tonekit.TonekitError) as err:
        tonekit.analyze(missing, **options)
    if problem is None:
        assert isinstance(err.value, tonekit.AudioError) and "not_there.flac" in str(err.value)
    else:
        assert isinstance(err.value, tonekit.ParameterError) and str(err.value).startswith(problem), str(err.value)


def test_agent_channel_goes_with_a_stereo_call_only(tmp_path):
    y, sr = sf.read(DEMO)
    sf.write(tmp_path / "agent.flac", y[:, 0], sr)
    sf.write(tmp_path / "caller.flac", y[:, 1], sr)
    with pytest.raises(tonekit.ParameterError, match=r"agent_channel \(--agent-channel\) is for a stereo call file, "
                                                    "not for agent and caller files"):
        tonekit.load_call(agent=tmp_path / "agent.flac", caller=tmp_path / "caller.flac", agent_channel=1)
    with pytest.raises(tonekit.ParameterError, match="not for a single-speaker file"):
        tonekit.load_call(tmp_path / "agent.flac", single=True, agent_channel=1)
    (tmp_path / "t.rttm").write_text("SPEAKER x 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(tonekit.ParameterError, match=r"turns \(--turns\) go with a mono mix of both voices, not with"):
        tonekit.load_call(agent=tmp_path / "agent.flac", caller=tmp_path / "caller.flac", turns=tmp_path / "t.rttm",
                          agent_label="A")
    with pytest.raises(tonekit.ParameterError, match="single=True takes one file"):
        tonekit.load_call(agent=tmp_path / "agent.flac", caller=tmp_path / "caller.flac", single=True)


def test_cli_report_json(tmp_path):
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["report", str(DEMO), "--format", "json", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    got = json.loads(out.read_text())
    assert got["duration_s"] == pytest.approx(TRUTH["duration_s"], abs=0.01)
    assert got["options"]["population_share"] == {"agent": 0.0, "caller": 0.25}
    # no --format: the form -o's extension names (.json)
    r = CliRunner().invoke(main, ["report", str(DEMO), "-o", str(out), "-q", "--population-share", "0.5"])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["options"]["population_share"] == {"agent": 0.5, "caller": 0.5}
    r = CliRunner().invoke(main, ["report", str(DEMO), "-o", str(out), "-q", "--population-share", "caller=0.5"])
    assert r.exit_code == 0, r.output   # each speaker's own share; one left out gets 0
    assert json.loads(out.read_text())["options"]["population_share"] == {"agent": 0.0, "caller": 0.5}
    for bad, problem in [("2", "'2': a share is within 0..1"), ("caller=0.5,agent=-1", "a share is within 0..1"),
                         ("bob=0.2", "use a share S within 0..1 for both speakers, or caller=S,agent=S"),
                         ("caller=0.1,caller=0.2", "or caller=S,agent=S")]:
        r = CliRunner().invoke(main, ["report", str(DEMO), "--population-share", bad])
        assert r.exit_code == 2 and problem in r.output, r.output


def test_cli_report_on_a_mono_file_is_one_line_error(tmp_path):
    p = tmp_path / "mono.wav"
    sf.write(p, 0.1 * np.sin(np.arange(16000) / 5), 16000)
    r = CliRunner().invoke(main, ["report", str(p)])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"Error: {p}: mono file: a call needs a stereo file (a channel for each speaker), a file for each speaker "
        "(agent=, caller=; --agent/--caller) or the turns of the mono mix (turns= with agent_label=; "
        "--turns FILE.rttm with --agent-label)"]


def test_batch_says_a_mono_file_needs_report_not_options_it_lacks(tmp_path):
    """tonekit batch has no --agent/--caller or --turns: a mono file in a batch is told to go to tonekit report;
    an input that is not there may have been meant as a folder."""
    (tmp_path / "in").mkdir()
    p = tmp_path / "in" / "mono.wav"
    sf.write(p, 0.1 * np.sin(np.arange(16000) / 5), 16000)
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1
    fails = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert fails == {str(p): f"{p}: mono file: a batch reads stereo calls (a channel for each speaker); analyse a "
                             "mono call with tonekit report --agent/--caller or --turns FILE.rttm --agent-label"}
    assert f"{p}: mono file: a batch reads stereo calls" in r.output
    gone = tmp_path / "nosuchdir"
    r = CliRunner().invoke(main, ["batch", f"{gone}/", "-o", str(tmp_path / "out2")])
    assert r.exit_code == 1
    fails = json.loads((tmp_path / "out2" / "failures.json").read_text())
    assert fails == {str(gone): f"{gone}: no such file or folder"}


def test_a_mono_mix_copied_to_both_channels_is_refused(tmp_path):
    """The demo's two voices mixed and written to both channels (the right one 6 dB down), or given as
    the agent's and the caller's files: one recording, not two sides of a call."""
    y, sr = sf.read(DEMO)
    mix = y.mean(axis=1)
    both = tmp_path / "mix_on_both.wav"
    sf.write(both, np.c_[mix, 0.5 * mix], sr)
    r = CliRunner().invoke(main, ["report", str(both)])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"Error: {both}: channel 0 and channel 1 carry the same audio (a mono mix on both?): "
        "analyse a mono mix with --turns FILE.rttm and --agent-label"]
    sf.write(tmp_path / "a.wav", mix, sr)
    sf.write(tmp_path / "c.wav", mix, sr)
    with pytest.raises(tonekit.AudioError, match=r"c.wav: carries the same audio as .*a.wav"):
        tonekit.analyze(agent=tmp_path / "a.wav", caller=tmp_path / "c.wav")
    # the agent's channel 26 dB down on the caller's (an echo; the caller never speaks), either way round
    for agent_channel, mute in ((0, "caller"), (1, "agent")):
        echo = tmp_path / f"echo{agent_channel}.wav"
        ag = y[:, 0]
        sf.write(echo, np.c_[ag, 0.05 * ag] if agent_channel == 0 else np.c_[0.05 * ag, ag], sr)
        with pytest.raises(tonekit.AudioError, match=rf"channel {1 - agent_channel} only echoes channel "
                                                     rf"{agent_channel} \(26 dB down\): the {mute} never speaks"):
            tonekit.analyze(echo)


def test_cli_batch_survives_a_bad_file(tmp_path, demo):
    bad = tmp_path / "in" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF....not really")
    good = tmp_path / "in" / "demo.flac"
    good.write_bytes(DEMO.read_bytes())
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert (tmp_path / "out" / "demo.json").exists()
    # the overview: one row, the demo's events (as tonekit.analyze finds them: the scripted tips 1, 9 and 12
    # once each, and the shipped models' false tip 8) and its length
    over = pd.read_csv(tmp_path / "out" / "calls.csv")
    assert over.report.tolist() == ["demo.json"] and over.path.tolist() == [str(good)]
    from tonekit.batch import TIP_COLUMNS
    counts = demo.events.tip.value_counts()
    assert over.loc[0, list(TIP_COLUMNS.values())].tolist() == [int(counts.get(int(t), 0)) for t in TIP_COLUMNS]
    assert {1, 9, 12} <= set(counts.index)
    assert over.duration_s[0] == pytest.approx(TRUTH["duration_s"], abs=0.01)
    assert over.longest_silence_s[0] == pytest.approx(8.0, abs=0.3)   # the scripted hold, 0:50-0:58
    assert over.pause_share[0] == pytest.approx(demo.summary["silences"]["share"], abs=1e-3)
    assert f"(overview: {tmp_path / 'out' / 'calls.csv'})" in r.stderr
    fails = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert list(fails) == [str(bad)]
    assert "not a readable audio file" in fails[str(bad)]
    # resumable: a second run skips the finished call
    r2 = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert "1 already done" in r2.output


def test_overview_row_of_a_known_report():
    from tonekit.batch import OVERVIEW_COLUMNS, overview_row

    report = {"tonekit_version": "x", "source": "c.wav", "duration_s": 120.0,
              "summary": {"speakers": {"agent": {"talk_share": 0.4, "anger_mean": 0.2, "calm_mean": 0.7,
                                                 "warmth_mean": 0.5},
                                       "caller": {"talk_share": 0.35, "anger_mean": 0.6}},
                          "overlaps": {"count": 3, "total_s": 2.5}, "interruptions": {"count": 2},
                          "silences": {"count": 1, "longest_s": 9.0}, "caller_anger": {"start": 0.7, "end": 0.3},
                          "caller_angry_spans": [[5.0, 41.0], [60.0, 70.0]],
                          "events_per_tip": {"1": 2, "8": 1, "12": 1}}}
    row = overview_row(report, "c.json")
    assert list(row) != [] and set(row) == set(OVERVIEW_COLUMNS)
    assert row["caller_angry_s"] == 46.0 and row["overlap_s"] == 2.5 and row["interruptions"] == 2
    assert [row[c] for c in ("tip1_interruptions", "tip7_no_smile", "tip8_not_calm", "tip9_tone_mismatch",
                             "tip12_long_silences")] == [2, 0, 1, 0, 1]
    assert row["caller_anger_at_start"] == 0.7
    assert (row["agent_calm_mean"], row["caller_anger_mean"], row["caller_talk_share"]) == (0.7, 0.6, 0.35)
    # a side never scored (null means in the report): what depends on its tone is empty, not 0
    report["summary"]["speakers"]["caller"]["anger_mean"] = None
    report["summary"]["caller_angry_spans"] = []
    row = overview_row(report, "c.json")
    assert row["caller_angry_s"] is None and row["tip8_not_calm"] is None and row["tip7_no_smile"] == 0
    report["summary"]["speakers"]["agent"]["anger_mean"] = None
    row = overview_row(report, "c.json")
    assert [row[c] for c in ("tip1_interruptions", "tip7_no_smile", "tip8_not_calm", "tip9_tone_mismatch",
                             "tip12_long_silences")] == [2, None, None, None, 1]


def test_cli_textgrid_opens_in_praat(tmp_path):
    import parselmouth
    from parselmouth.praat import call

    out = tmp_path / "demo.TextGrid"
    r = CliRunner().invoke(main, ["report", str(DEMO), "--format", "textgrid", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    tg = parselmouth.read(str(out))
    names = [call(tg, "Get tier name", i) for i in range(1, call(tg, "Get number of tiers") + 1)]
    assert names[:3] == ["agent", "caller", "events"]


def test_a_channel_of_line_noise_has_no_speech(tmp_path):
    """A caller channel with only line noise: no caller speech, a one-line warning, the agent still scored."""
    y, sr = sf.read(DEMO)
    y[:, 1] = np.random.default_rng(0).normal(0, 0.001, len(y))
    p = tmp_path / "one_side.wav"
    sf.write(p, y, sr)
    with pytest.warns(UserWarning, match=r"one_side.wav: no speech found for the caller \(channel 1\)"):
        a = tonekit.analyze(p)
    assert a.summary["speakers"]["caller"]["talk_time_s"] == 0.0
    assert a.windows[a.windows.speaker == "caller"].anger.isna().all()
    assert a.windows[a.windows.speaker == "agent"].anger.notna().sum() > 20
    # one short word of the caller's (0:41.5-0:42.3) and nothing else: said how much, and why not scored
    y, sr = sf.read(DEMO)
    keep = np.zeros(len(y), bool)
    keep[int(41.5 * sr):int(42.3 * sr)] = True
    y[~keep, 1] = np.random.default_rng(0).normal(0, 0.001, (~keep).sum())
    sf.write(p, y, sr)
    with pytest.warns(UserWarning, match=r"one_side.wav: only 0\.\d\d s of speech found for the caller \(channel 1\); "
                                         r"their tone cannot be scored \(a window needs 1 s\)"):
        word = tonekit.analyze(p)
    assert 0.3 <= word.summary["speakers"]["caller"]["talk_time_s"] <= 0.8
    assert word.windows[word.windows.speaker == "caller"].anger.isna().all()
    assert not (a.events.tip == 1).any() and not (word.events.tip == 1).any()   # no caller turn to talk over


@pytest.mark.parametrize("start_s,end_s,agent_apart", [(30, 35, 1), (0, 12, 2), (28, 45, None)])
def test_a_speaker_needs_three_separate_windows_of_speech(tmp_path, start_s, end_s, agent_apart):
    """Each window is read against the speaker's usual voice in the call; the agent's upbeat turn alone (0:30-0:35,
    one 3-s window's worth) would be read against itself, and its scores would be the same whatever was said.
    Fewer than three separate windows with speech: a warning with the count, and no score; three: scored."""
    y, sr = sf.read(DEMO)
    p = tmp_path / "piece.wav"
    sf.write(p, y[int(start_s * sr):int(end_s * sr)], sr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tonekit.analyze(p)
    said = [str(w.message) for w in caught if "for the agent" in str(w.message)]
    agent = got.windows[got.windows.speaker == "agent"]
    if agent_apart is None:
        assert said == [] and agent.anger.notna().sum() >= 3
        return
    assert said == [f"{p}: too little speech for the agent (channel 0) to read their tone against their usual voice "
                    f"in the call: it fills {agent_apart} separate 3-s window{'s' * (agent_apart > 1)} (1 s of speech "
                    "each) of the 3 it takes; their tone is not scored"]
    assert (agent.speech_s >= 1).any() and agent[["anger", "calm", "warmth"]].isna().all(axis=None)
    assert np.isnan(got.summary["speakers"]["agent"]["calm_mean"])
    assert got.summary["speakers"]["agent"]["talk_time_s"] > 3


def test_cli_matcher_settings(tmp_path):
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["report", str(DEMO), "--set", "long_silence_s=10", "--format", "json",
                                  "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    kinds = [e["kind"] for e in json.loads(out.read_text())["events"]]
    assert "long_silence" not in kinds and "interruption" in kinds   # the 8 s hold is under 10 s
    bad = CliRunner().invoke(main, ["report", str(DEMO), "--set", "no_such_threshold=1", "-q"])
    assert bad.exit_code == 2   # a usage error of --set, as a malformed item is
    assert "Invalid value for --set: unknown option(s) no_such_threshold; known: " in bad.output
    worse = CliRunner().invoke(main, ["report", str(DEMO), "--set", "long_silence_s", "-q"])
    assert worse.exit_code == 2 and "use NAME=NUMBER" in worse.output


def test_batch_on_a_dask_cluster(tmp_path, demo):
    """`--scheduler ADDRESS`: the same reports, computed by a local Dask cluster's workers."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (the dask extra)")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "demo.flac").write_bytes(DEMO.read_bytes())
    (tmp_path / "in" / "broken.wav").write_text("not audio")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                      "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 1, r.output
    report = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert sorted(e["kind"] for e in report["events"]) == sorted(demo.events.kind)
    assert {"interruption", "long_silence", "upbeat_vs_angry"} <= set(demo.events.kind)
    assert list(json.loads((tmp_path / "out" / "failures.json").read_text())) == [str(tmp_path / "in" / "broken.wav")]


def test_batch_scheduler_without_dask_says_what_to_install(tmp_path, monkeypatch):
    """Without dask.distributed, --scheduler is a one-line error that names the package (not 'tonekit[dask]',
    which would fetch whatever PyPI holds under that name), and no call is analysed."""
    monkeypatch.setitem(sys.modules, "dask.distributed", None)   # as if not installed: importing it fails
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "demo.flac").write_bytes(DEMO.read_bytes())
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                  "--scheduler", "tcp://127.0.0.1:1"])
    assert r.exit_code == 1, r.output
    assert ("--scheduler needs dask and its distributed scheduler: pip install 'dask[distributed]' (or, in "
            "tonekit's source folder, pip install '.[dask]')") in " ".join(r.output.split())
    assert not (tmp_path / "out" / "demo.json").exists()


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` (a pseudo-terminal) not available")
@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_on_a_terminal(tmp_path, quiet):
    """On a terminal, a call over a minute shows progress on stderr; --quiet silences it."""
    log = tmp_path / "tty.log"
    cmd = f"{sys.executable} -m tonekit.cli report {DEMO} {'-q' if quiet else ''} > {tmp_path / 'out.txt'}"
    subprocess.run(["script", "-qec", cmd, str(log)], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, timeout=120)
    shown = "frames:agent" in log.read_text(errors="replace")
    assert shown is (not quiet)
    assert "tonekit report: demo_call.flac" in (tmp_path / "out.txt").read_text()


def test_score_speaker_uses_the_speakers_own_reference(tmp_path):
    """tonekit.score_speaker: each recording against the set's own baseline, steadied by the training
    speakers' (synthetic voice, known answers: without the card's shrinkage the set's median recording
    sits at the speaker's baseline, so its prosody is all zeros; with it the reference is n / (n + k) of
    the set's and k / (n + k) of the card's population; with a huge k, every recording is scored as
    tonekit.score(embeddings=True) scores it alone); bad and speechless sources are reported, not fatal;
    too few recordings is a clear error."""
    from synth import syllable_train

    from tonekit.errors import ParameterError
    from tonekit.features.embedding import relative, signal_embedding
    from tonekit.features.frames import signal_frames
    from tonekit.features.windows import model_features, segment_functionals, speaker_baseline
    from tonekit.models.features import piece_encoder
    from tonekit.models.store import load_models
    from tonekit.pipeline import score_features

    sr = 16000
    ys = [syllable_train(rate, 3.0, sr, f0_hz=f0, level=lev)[0]
          for rate, f0, lev in ((4.0, 120.0, 0.2), (5.0, 150.0, 0.3), (6.0, 190.0, 0.5))]
    paths = []
    for i, y in enumerate(ys):
        paths.append(tmp_path / f"u{i}.wav")
        sf.write(paths[-1], y, sr)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    silent, short = tmp_path / "silent.wav", tmp_path / "short.wav"
    sf.write(silent, np.zeros(2 * sr), sr)
    sf.write(short, np.r_[np.zeros(sr), ys[1][int(0.5 * sr): int(0.7 * sr)], np.zeros(sr)], sr)   # 0.2 s of voice
    out = tonekit.score_speaker([paths[0], bad, paths[1], silent, paths[2], short])
    assert list(out.columns) == ["path", "anger", "calm", "warmth", "error"]
    assert list(out.path) == [str(p) for p in (paths[0], bad, paths[1], silent, paths[2], short)]
    assert out.error[[0, 2, 4]].isna().all()
    assert f"{bad}: not a readable audio file" in out.error[1]
    assert f"{silent}: audio is silent" in out.error[3]
    assert f"{short}: less than 0.3 s of speech" in out.error[5]
    assert out.loc[[1, 3, 5], ["anger", "calm", "warmth"]].isna().all().all()

    # the same numbers by hand, from the features' own functions, on the samples as read back
    models = load_models()
    card = models["anger"].card
    k = card["reference_shrinkage"]
    assert set(k) == {"prosody", "emb_", "wsp_"} and all(1.0 < v < 5.0 for v in k.values())
    assert all(m.card["reference_shrinkage"] == k for m in models.values())
    w = {b: 3 / (3 + v) for b, v in k.items()}
    ys = [tonekit.load_audio(p)[0] for p in paths]
    raw = pd.concat([segment_functionals(fr, [(0, fr.n_frames)]) for fr in (signal_frames(y, sr) for y in ys)],
                    ignore_index=True)
    E = {p: np.stack([signal_embedding(y, sr, encoder=piece_encoder(p)) for y in ys]) for p in ("emb_", "wsp_")}
    pop = pd.Series(card["population_baseline"])
    own = speaker_baseline(raw)
    base = w["prosody"] * own + (1 - w["prosody"]) * pop.reindex(own.index)
    parts = [model_features(raw, base)] + [
        pd.DataFrame(E[p] - (w[p] * E[p].mean(axis=0) + (1 - w[p]) * np.asarray(card["population_embedding"][p])),
                     columns=list(piece_encoder(p).columns)) for p in ("emb_", "wsp_")]
    expected = score_features(pd.concat(parts, axis=1), models)
    for t in ("anger", "calm", "warmth"):
        np.testing.assert_allclose(out[t][[0, 2, 4]], expected[t], atol=5e-5)

    def with_shrinkage(value):
        shrunk = {n: copy.copy(m) for n, m in models.items()}
        for m in shrunk.values():
            m.card = {**m.card, "reference_shrinkage": value}
        return shrunk

    # without shrinkage (k = 0, or an older card without it) the set alone is the reference: its median
    feats = model_features(raw, own)
    alone = score_features(pd.concat([feats] + [pd.DataFrame(relative(E[p]), columns=list(piece_encoder(p).columns))
                                                for p in ("emb_", "wsp_")], axis=1), models)
    for shrink in ({"prosody": 0.0, "emb_": 0.0, "wsp_": 0.0}, None):
        got = tonekit.score_speaker(paths, models=with_shrinkage(shrink))
        for t in ("anger", "calm", "warmth"):
            np.testing.assert_allclose(got[t], alone[t], atol=5e-5)
    assert max(abs(out[t][[0, 2, 4]].to_numpy() - alone[t].to_numpy()).max() for t in ("anger", "calm", "warmth")) > 1e-3
    # in every feature one recording of three sits exactly on the set's median
    measured = [c for c in feats.columns if feats[c].notna().all()]
    assert len(measured) > 20
    assert ((feats[measured] == 0).sum(axis=0) >= 1).all()
    # a huge k: the population is the reference, as for a lone recording scored with its embeddings
    got = tonekit.score_speaker(paths, models=with_shrinkage({"prosody": 1e12, "emb_": 1e12, "wsp_": 1e12}))
    for i, path in enumerate(paths):
        lone = tonekit.score(path, models=models, embeddings=True)
        for t in ("anger", "calm", "warmth"):
            assert got[t][i] == pytest.approx(lone[t], abs=2e-4)
    # arrays with a rate work like files
    arr = tonekit.score_speaker(ys, sr)
    np.testing.assert_allclose(arr[["anger", "calm", "warmth"]], out.loc[[0, 2, 4], ["anger", "calm", "warmth"]],
                               atol=5e-5)
    assert list(arr.path) == ["<array 0>", "<array 1>", "<array 2>"]
    # how the arrays were given (no rate, integer samples) is said at once, not hidden as "no speech"
    with pytest.raises(ParameterError, match=r"^<array 0>: sr \(the sampling rate in Hz\) is required with an "
                                             r"array$"):
        tonekit.score_speaker(ys, None)
    with pytest.raises(ParameterError, match=r"^<array 0>: a signal's samples must be in -1\.\.1, got a peak of "):
        tonekit.score_speaker([(y * 32767).astype(np.int16) for y in ys], sr)
    with pytest.raises(ParameterError, match=r"^<array 1>: expected a mono signal"):
        tonekit.score_speaker([ys[0], np.stack([ys[1], ys[1]]), ys[2]], sr)
    with pytest.raises(ParameterError, match=rf"needs at least 3 with speech, to measure the speaker's usual voice; "
                                             rf"2 of 3 have it \({bad}: not a readable audio file"):
        tonekit.score_speaker([paths[0], bad, paths[1]])
    with pytest.raises(ParameterError, match="list of recordings"):
        tonekit.score_speaker(str(paths[0]))
    # one recording named three times (once through a symlink) is one sample of the voice, not three
    (tmp_path / "again.wav").symlink_to(paths[0])
    with pytest.raises(ParameterError, match=r"needs at least 3 different ones with speech, to measure the "
                                             r"speaker's usual voice; 3 were given, but only 1 different file$"):
        tonekit.score_speaker([paths[0], str(paths[0]), tmp_path / "again.wav"])
    assert len(tonekit.score_speaker([*paths, paths[0]])) == 4   # a repeat beside three different ones is scored


def test_population_share_moves_only_the_models_reference():
    """speaker_windows(population=, population_share=s): the model features are taken against (1 - s) of the
    speaker's own baseline and s of the population's (known answer: a population 2 units above the speaker
    in every functional moves every model feature by -2 s); the public window table keeps the speaker's
    own baseline."""
    from synth import syllable_train

    from tonekit.features.frames import signal_frames
    from tonekit.features.windows import segment_functionals, speaker_baseline, speaker_windows, window_ranges

    sr = 16000
    y = np.concatenate([syllable_train(rate, 4.0, sr, f0_hz=f0, level=lev)[0]
                        for rate, f0, lev in ((4.0, 120.0, 0.2), (6.0, 180.0, 0.4), (5.0, 150.0, 0.3))])
    fr = signal_frames(y, sr)
    w0, f0 = speaker_windows(fr)
    raw = segment_functionals(fr, window_ranges(fr.n_frames, fr.hop_s))
    own = speaker_baseline(raw)
    for share in (0.25, 1.0):
        w1, f1 = speaker_windows(fr, population=(own + 2.0).to_dict(), population_share=share)
        pd.testing.assert_frame_equal(w1, w0)
        ok = np.isfinite(f0.to_numpy())
        assert ok.sum() > 100
        np.testing.assert_allclose(f1.to_numpy()[ok], f0.to_numpy()[ok] - 2.0 * share, atol=1e-9)
    w2, f2 = speaker_windows(fr, population=(own + 2.0).to_dict(), population_share=0.0)
    pd.testing.assert_frame_equal(f2, f0)


def test_analyze_population_share_checks_its_value_and_the_card():
    import copy

    from tonekit.errors import ParameterError
    from tonekit.models.store import load_models

    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ParameterError, match="population_share"):
            tonekit.analyze(tonekit.demo_path(), population_share=bad)
    for bad in ({"patient": 0.5}, {"caller": 2.0}, {"caller": "half"}):
        with pytest.raises(ParameterError, match="population_share"):
            tonekit.analyze(tonekit.demo_path(), population_share=bad)
    models = {n: copy.copy(m) for n, m in load_models().items()}
    for m in models.values():
        m.card = {k: v for k, v in m.card.items() if k != "population_baseline"}
    with pytest.raises(ParameterError, match="population_baseline"):
        tonekit.analyze(tonekit.demo_path(), models=models, population_share=0.5)
    # by default, a card without the population reference reads each speaker against their own voice, and says so
    with pytest.warns(UserWarning, match="population_baseline"):
        old = tonekit.analyze(tonekit.demo_path(), models=models)
    assert old.options["population_share"] == {"agent": 0.0, "caller": 0.0}
    own = tonekit.analyze(tonekit.demo_path(), population_share=0)
    pd.testing.assert_frame_equal(old.windows, own.windows)


def test_default_population_share_is_the_callers_alone(demo):
    """By default the caller's reference takes 0.25 of the training speakers' and the agent's is her own
    voice alone: the agent's scores are those of population_share=0, the caller's those of 0.25 for both."""
    assert demo.options["population_share"] == {"agent": 0.0, "caller": 0.25}
    own = tonekit.analyze(DEMO, population_share=0)
    both = tonekit.analyze(DEMO, population_share={"caller": 0.25, "agent": 0.25})
    assert both.options["population_share"] == {"agent": 0.25, "caller": 0.25}
    cols = ["anger", "calm", "warmth"]
    agent = (demo.windows.speaker == "agent").to_numpy()
    scored = demo.windows.anger.notna().to_numpy()
    assert (agent & scored).sum() > 10 and (~agent & scored).sum() > 10
    pd.testing.assert_frame_equal(demo.windows[agent][cols], own.windows[agent][cols])
    pd.testing.assert_frame_equal(demo.windows[~agent][cols], both.windows[~agent][cols])
    moved = np.abs(demo.windows[~agent & scored][cols].to_numpy() - own.windows[~agent & scored][cols].to_numpy())
    assert moved.max() > 0.05


@pytest.mark.parametrize("codec", ["mulaw", "gsm"])
@pytest.mark.parametrize("draw", [0, 1])
def test_demo_through_a_phone_line_keeps_the_scripted_events(tmp_path, codec, draw):
    """The demo call through a fixed line (µ-law, as in training) and a mobile one (GSM 06.10, never heard in
    training), each channel at 8 kHz with its line's level and noise (two draws of them): every scripted event
    is still found, and nothing else but the known false tip 8 by the hold (README, The demo: 3 of 12 draws
    give the script alone, scripts/demo_lines.py)."""
    from tonekit.augment import telephone_copy

    y, sr = sf.read(DEMO)
    line = np.column_stack([telephone_copy(y[:, c], sr, seed=2 * draw + c, codec=codec)[0] for c in range(2)])
    path = tmp_path / f"demo_{codec}.wav"
    sf.write(path, line, 8000)
    events = tonekit.analyze(path).events
    _assert_every_scripted(events)
    extra = [e for e in events.itertuples()
             if not any(e.tip == t["tip"] and _overlaps(e, t) for t in TRUTH["expected_events"])]
    assert all(e.tip == 8 and 49 <= e.start_s <= 59 for e in extra), extra


@pytest.mark.parametrize("kind,side,where,codec,span", [
    ("ringback_fr", "caller", "start", None, "0:00-0:06"),   # a callback: the caller's phone rang first
    ("busy_us", "caller", "end", "mulaw", "1:30-1:35"),      # the caller hung up
    ("dial_us", "agent", "end", "gsm", "1:30-1:34"),
])
def test_call_progress_tones_are_not_speech(tmp_path, demo, kind, side, where, codec, span):
    """The demo with a ringback (10 s) before it, or a busy or dial tone (6 s, 4 s) after it, on one side
    (tests/synth.py), as recorded or through a phone line: the tone is left out of that side's speech with a
    warning naming it, and the call keeps the demo's turns and events (moved by the ringback's 10 s)."""
    from synth import progress_tone

    y, sr = sf.read(DEMO)
    channel = 0 if side == "agent" else 1
    dur_s = {"ringback_fr": 10.0, "busy_us": 6.0, "dial_us": 4.0}[kind]
    extra = np.zeros((int(dur_s * sr), 2))
    extra[:, channel] = progress_tone(kind, dur_s, sr)
    if codec is not None:   # the call and the tone each through the line (the tone at the line's level)
        from tonekit.augment import telephone_copy

        def line(x):
            return np.column_stack([telephone_copy(x[:, c], sr, seed=c, codec=codec)[0] if x[:, c].any()
                                    else np.zeros(len(x) // 2) for c in range(2)])
        y, extra, sr = line(y), line(extra), 8000
        sf.write(tmp_path / "demo_line.wav", y, sr)
        demo = tonekit.analyze(tmp_path / "demo_line.wav")
    y = np.r_[extra, y] if where == "start" else np.r_[y, extra]
    shift = dur_s if where == "start" else 0.0
    path = tmp_path / f"demo_{kind}.wav"
    sf.write(path, y, sr)
    with pytest.warns(UserWarning, match=rf"demo_{kind}.wav: steady tones, not speech, on the {side}'s side "
                                         rf"\(channel {channel}\) at {span} \(ringback, busy or dial tone\?\)"):
        got = tonekit.analyze(path)
    turns = got.turns[got.turns.end_s - got.turns.start_s >= 0.1].reset_index(drop=True)
    mine = demo.turns[demo.turns.end_s - demo.turns.start_s >= 0.1].reset_index(drop=True)
    assert list(turns.speaker) == list(mine.speaker)
    assert np.abs(turns[["start_s", "end_s"]].to_numpy() - shift - mine[["start_s", "end_s"]].to_numpy()).max() < 0.1
    assert list(zip(got.events.tip, got.events.kind)) == list(zip(demo.events.tip, demo.events.kind))
    assert np.abs(got.events[["start_s", "end_s"]].to_numpy() - shift
                  - demo.events[["start_s", "end_s"]].to_numpy()).max() < 0.3


def test_a_recording_beep_that_recurs_is_not_speech(tmp_path, demo):
    """A 0.4-s beep at 1400 Hz every 15 s on the caller's channel (a recorder's warning beep): too short and too
    far apart for a cadence, it sounds at one frequency and level again and again. The beeps in the caller's
    pauses are left out of the caller's speech (they had added 1.7 s of talk and 3 overlaps); the call keeps
    the demo's talk times and events."""
    y, sr = sf.read(DEMO)
    beep = 0.1 * np.sin(2 * np.pi * 1400 * np.arange(int(0.4 * sr)) / sr)
    for at in range(5, 90, 15):
        y[int(at * sr): int(at * sr) + len(beep), 1] += beep
    sf.write(tmp_path / "beeps.flac", y, sr)
    with pytest.warns(UserWarning, match=r"beeps.flac: steady tones, not speech, on the caller's side \(channel 1\) "
                                         r"at 0:04-0:05, 0:34-0:35, 0:49-0:50, 1:19-1:20 "):
        got = tonekit.analyze(tmp_path / "beeps.flac")
    _assert_the_demos_timeline(got, demo)


@pytest.mark.parametrize("codec", [None, "mulaw", "gsm"])
def test_key_tones_in_the_hold_are_not_speech(tmp_path, demo, monkeypatch, codec):
    """The caller keys in ten digits (DTMF, 0.1 s on, 0.1 s off) during the demo's hold, as recorded or through
    a phone line: the key tones are left out of the caller's speech with a warning, and the call keeps its talk
    times, overlaps and events. Without the check (below) they were caller talk: about 2 s of it, and the hold
    was no longer a long silence."""
    import tonekit.activity
    from synth import key_tones

    y, sr = sf.read(DEMO)
    keys = key_tones("0612345789", sr)
    at = int(51.5 * sr)
    y[at: at + len(keys), 1] += keys
    if codec is not None:
        from tonekit.augment import telephone_copy

        def line(x):
            return np.column_stack([telephone_copy(x[:, c], sr, seed=c, codec=codec)[0] for c in range(2)])
        sf.write(tmp_path / "demo_line.wav", line(sf.read(DEMO)[0]), 8000)
        demo = tonekit.analyze(tmp_path / "demo_line.wav")
        y, sr = line(y), 8000
    path = tmp_path / "keys.wav"
    sf.write(path, y, sr)
    with pytest.warns(UserWarning, match=r"keys.wav: key tones \(DTMF\), not speech, on the caller's side "
                                         r"\(channel 1\) at 0:51-0:53 \(keypad presses\?\): left out of the caller's"):
        got = tonekit.analyze(path)
    _assert_the_demos_timeline(got, demo)
    monkeypatch.setattr(tonekit.activity, "key_presses", lambda keys, x, **kw: np.zeros(len(keys), bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        off = tonekit.analyze(path)
    assert off.summary["speakers"]["caller"]["talk_time_s"] > demo.summary["speakers"]["caller"]["talk_time_s"] + 1.5


@pytest.mark.parametrize("source,ms,loss_db,two_files", [
    ("agent", 60, 15, False),   # a hybrid's echo: the agent's voice back on the caller's channel
    ("agent", 200, 10, True),   # a VoIP line's, louder and later, on the caller's own file
    ("caller", 30, 20, False),
])
def test_line_echo_is_not_the_other_sides_speech(tmp_path, demo, monkeypatch, source, ms, loss_db, two_files):
    """One side's voice coming back on the other's channel, late and quieter (line echo), passed for that
    side's speech (the caller's talk time up to 57 s for 27, 25-31 overlaps for 1: measured with the echo
    gate off, below). Now the echo is named in a warning, and the call keeps the demo's talk times,
    overlaps and events."""
    import functools

    import tonekit.pipeline

    y, sr = sf.read(DEMO)
    src = 0 if source == "agent" else 1
    dst, other = 1 - src, "caller" if source == "agent" else "agent"
    d = int(ms / 1000 * sr)
    y[d:, dst] += y[:-d, src] * 10 ** (-loss_db / 20)
    if two_files:
        sf.write(tmp_path / "agent.wav", y[:, 0], sr)
        sf.write(tmp_path / "caller.wav", y[:, 1], sr)
        source_kw = {"agent": tmp_path / "agent.wav", "caller": tmp_path / "caller.wav"}
        where = re.escape(f"{tmp_path / 'caller.wav'}: the agent's voice comes back on the caller's side (audio)")
    else:
        sf.write(tmp_path / "echo.flac", y, sr)
        source_kw = {"source": tmp_path / "echo.flac"}
        where = rf".*echo.flac: the {source}'s voice comes back on the {other}'s side \(channel {dst}\)"
    with pytest.warns(UserWarning, match=where + r" \d+ ms later, \d+ dB down \(line echo\): left out of the "
                                              rf"{other}'s speech"):
        got = tonekit.analyze(**source_kw)
    _assert_the_demos_timeline(got, demo)
    monkeypatch.setattr(tonekit.pipeline, "detect_activity",
                        functools.partial(tonekit.pipeline.detect_activity, echo_gate=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        off = tonekit.analyze(**source_kw)
    assert off.summary["speakers"][other]["talk_time_s"] > 1.4 * demo.summary["speakers"][other]["talk_time_s"]


def _inputs(folder: Path, files: dict) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


def test_a_call_whose_name_is_not_utf8_is_reported_listed_and_linked(tmp_path):
    """A call from an old Latin-1 archive (b'appel_\xe9t\xe9.wav', a name that is not UTF-8): its reports name it
    with the replacement character, calls.csv keeps its path as on disk, and the overview page links its page by
    the name's bytes (%E9)."""
    from synth import non_utf8_path

    odd = non_utf8_path(tmp_path, b"appel_\xe9t\xe9.wav")
    y, sr = sf.read(DEMO)
    sf.write(str(tmp_path / "x.wav"), y[:30 * sr], sr)
    os.replace(tmp_path / "x.wav", odd)
    r = CliRunner().invoke(main, ["report", str(odd), "-o", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["source"] == "appel_\ufffdt\ufffd.wav"
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["batch", str(odd), "-o", str(out), "--html"])
    assert r.exit_code == 0 and "1 analysed, 0 already done, 0 failed" in r.output, r.output
    assert (out / "calls.csv").read_bytes().splitlines()[1].startswith(b"appel_\xe9t\xe9.json,")
    assert b'href="html/appel_%E9t%E9.html"' in (out / "calls.html").read_bytes()
    assert (out / "html" / Path(os.fsdecode(b"appel_\xe9t\xe9.html"))).is_file()


def test_batch_overview_leaves_out_a_report_it_cannot_read_and_says_so(tmp_path, monkeypatch):
    """A hand-edited report in the output folder (a span of one time, a summary that is a list) is left out of
    calls.csv with a warning naming it; the calls of the run, and of earlier runs, are listed."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok"})
    out = tmp_path / "out"
    assert batch.run_batch([tmp_path / "in" / "a.wav"], out, echo=lambda s: None) == (1, 0, 0)
    (out / "edited.json").write_text(json.dumps({"tonekit_version": "0.1.0", "duration_s": 3,
                                                 "summary": {"caller_angry_spans": [[1.0]]}}))
    (out / "listed.json").write_text(json.dumps({"tonekit_version": "0.1.0", "duration_s": 3, "summary": [1, 2]}))
    said = []
    assert batch.run_batch([tmp_path / "in" / "b.wav"], out, echo=said.append) == (1, 0, 0)
    assert pd.read_csv(out / "calls.csv").report.tolist() == ["a.json", "b.json"]
    assert [s.split(" (")[0] for s in said if s.startswith("Warning")] == [
        f"Warning: {out / name}: left out of calls.csv: its summary is not a tonekit report's"
        for name in ("edited.json", "listed.json")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_call_named_failures_keeps_its_report(tmp_path, monkeypatch, jobs):
    """A call named failures.wav gets failures.wav.json: failures.json is the list of failed calls, and
    neither may overwrite or delete the other."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"failures.wav": b"ok", "broken.wav": b"bad"})
    out = tmp_path / "out"
    assert batch.run_batch([tmp_path / "in"], out, jobs=jobs, echo=lambda s: None) == (1, 1, 0)
    assert json.loads((out / "failures.wav.json").read_text())["source"] == str(tmp_path / "in/failures.wav")
    assert list(json.loads((out / "failures.json").read_text())) == [str(tmp_path / "in/broken.wav")]
    (tmp_path / "in/broken.wav").unlink()
    assert batch.run_batch([tmp_path / "in"], out, jobs=jobs, echo=lambda s: None) == (0, 0, 1)
    assert (out / "failures.wav.json").exists()


def test_batch_survives_a_worker_process_that_dies(tmp_path, monkeypatch):
    """A worker killed under one call (out of memory, a crash in native code) breaks the process pool;
    that call is listed as failed and every other call still gets its report."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"crash", "c.wav": b"ok", "d.wav": b"bad", "e.wav": b"ok"})
    out, said = tmp_path / "out", []
    assert batch.run_batch([tmp_path / "in"], out, jobs=2, echo=said.append) == (3, 2, 0)
    assert sorted(p.name for p in out.glob("*.json")) == [batch.LEDGER, "a.json", "c.json", "e.json", "failures.json"]
    fails = json.loads((out / "failures.json").read_text())
    assert sorted(fails) == [str(tmp_path / "in/b.wav"), str(tmp_path / "in/d.wav")]
    assert fails[str(tmp_path / "in/b.wav")] == f"{tmp_path / 'in/b.wav'}: {batch.DIED}"
    assert sum(s.startswith("done: ") for s in said) == 3 and sum(s.startswith("Error: ") for s in said) == 2


@pytest.mark.parametrize("names", [["a/b/call.flac", "a__b/call.flac"],
                                   ["a/call.wav", "b/call.wav", "a__call.wav.wav"],
                                   [".tonekit-batch.wav", "failures.wav", "x/.tonekit-batch.journal.wav"],
                                   ["Call.wav", "call.wav"]])
def test_batch_gives_every_call_its_own_report_whatever_the_names(tmp_path, monkeypatch, names):
    """Names that still meet once the clashing stems are spelled out (a/b/call and a__b/call), names of the
    batch's own files (its ledger, journal, failure list), names that differ only in case: every call gets a
    report of its own, its source inside, and the ledger stays the batch's."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {n: b"ok" for n in names})
    out = tmp_path / "out"
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (len(names), 0, 0)
    own = {batch.LEDGER.lower(), "failures.json"}
    reports = [p for p in out.glob("*.json") if p.name.lower() not in own]
    assert sorted(json.loads(p.read_text())["source"] for p in reports) == sorted(str(tmp_path / "in" / n)
                                                                                for n in names)
    assert len({p.name.lower() for p in reports}) == len(names)
    assert isinstance(json.loads((out / batch.LEDGER).read_text()), dict)
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (0, 0, len(names))   # all done


def test_batch_takes_a_call_named_twice_once(tmp_path, monkeypatch):
    """The same file as a relative and an absolute path, and through a symlink: one call, one report."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"call.wav": b"ok"})
    (tmp_path / "link.wav").symlink_to(tmp_path / "in" / "call.wav")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert batch.run_batch(["in/call.wav", tmp_path / "in" / "call.wav", "link.wav"], out,
                           echo=lambda s: None) == (1, 0, 0)
    assert [p.name for p in out.glob("*.json") if p.name != batch.LEDGER] == ["call.json"]


def test_batch_reports_of_calls_with_the_same_stem_do_not_overwrite(tmp_path, monkeypatch):
    """Two calls named call.* in different folders get a report each; failures.json spans the runs into the
    folder, and a call that failed once and then succeeds leaves it (no stale list once nothing fails)."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    for rel, data in [("a/call.wav", b"ok"), ("b/call.flac", b"ok"), ("b/other.wav", b"bad")]:
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_bytes(data)
    out = tmp_path / "out"
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (2, 1, 0)
    reports = {p.name: json.loads(p.read_text())["source"] for p in out.glob("*.json")
               if p.name not in ("failures.json", batch.LEDGER)}
    assert reports == {"a__call.wav.json": str(tmp_path / "in/a/call.wav"),
                       "b__call.flac.json": str(tmp_path / "in/b/call.flac")}
    assert list(json.loads((out / "failures.json").read_text())) == [str(tmp_path / "in/b/other.wav")]
    # a later run given other calls only: the earlier failure stays listed beside the new one, as calls.csv
    # keeps the earlier calls
    (tmp_path / "more").mkdir()
    (tmp_path / "more/broken.wav").write_bytes(b"bad")
    assert batch.run_batch([tmp_path / "more"], out, echo=lambda s: None) == (0, 1, 0)
    assert sorted(json.loads((out / "failures.json").read_text())) == [str(tmp_path / "in/b/other.wav"),
                                                                       str(tmp_path / "more/broken.wav")]
    (tmp_path / "in/b/other.wav").write_bytes(b"ok now")
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (1, 0, 2)
    assert list(json.loads((out / "failures.json").read_text())) == [str(tmp_path / "more/broken.wav")]
    (tmp_path / "more/broken.wav").write_bytes(b"ok now")
    assert batch.run_batch([tmp_path / "more"], out, echo=lambda s: None) == (1, 0, 0)
    assert (out / "other.json").exists() and not (out / "failures.json").exists()


def test_batch_re_analyses_a_changed_call_and_drops_superseded_reports(tmp_path, monkeypatch):
    """A call whose audio changed, or run with other options, is analysed again; one whose report name
    moves (a call of the same name joined) keeps one report; failures.json goes once nothing fails."""
    import os
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"call.wav": b"ok", "other.wav": b"ok", "bad.wav": b"bad"})
    out, run = tmp_path / "out", lambda **kw: batch.run_batch([tmp_path / "in"], out, echo=lambda s: None, **kw)
    assert run() == (2, 1, 0)
    assert run() == (0, 1, 2)                               # bad.wav is tried again, the others skipped
    (tmp_path / "in" / "bad.wav").unlink()
    assert run() == (0, 0, 2) and not (out / "failures.json").exists()
    # a file named but not there fails alone
    assert batch.run_batch([tmp_path / "in", tmp_path / "gone.wav"], out, echo=lambda s: None) == (0, 1, 2)
    assert list(json.loads((out / "failures.json").read_text())) == [str(tmp_path / "gone.wav")]
    assert run() == (0, 0, 2) and not (out / "failures.json").exists()
    (tmp_path / "in" / "call.wav").write_bytes(b"ok, a longer recording")
    assert run() == (1, 0, 1)                               # new audio under the same name
    assert run(options={"agent_channel": 1}) == (2, 0, 0)   # other options: every call again
    assert run(options={"agent_channel": 1}) == (0, 0, 2)
    monkeypatch.setattr(tonekit, "__version__", "99.0")     # another tonekit: every call again
    assert run(options={"agent_channel": 1}) == (2, 0, 0)
    models = tmp_path / "models"                            # other models (their cards' hashes): again
    models.mkdir()
    for t in ("anger", "calm", "warmth"):
        (models / f"{t}.json").write_text(json.dumps({"sha256": f"{t}-retrained"}))
    assert batch.run_batch([tmp_path / "in"], out, models=models, options={"agent_channel": 1},
                           echo=lambda s: None) == (2, 0, 0)
    # the same model file recalibrated (tonekit recalibrate: same hash, another line in the card): again
    (models / "anger.json").write_text(json.dumps({"sha256": "anger-retrained",
                                                   "recalibration": {"slope": 0.8, "intercept": 0.1}}))
    assert batch.run_batch([tmp_path / "in"], out, models=models, options={"agent_channel": 1},
                           echo=lambda s: None) == (2, 0, 0)
    before = (out / "call.json").read_bytes()
    _inputs(tmp_path / "in", {"sub/call.wav": b"ok"})       # a second call.wav: both reports get new names
    again = lambda: batch.run_batch([tmp_path / "in"], out, models=models,   # noqa: E731
                                    options={"agent_channel": 1}, echo=lambda s: None)
    assert again() == (1, 0, 2)   # the new call analysed; call.wav's report renamed to its new name, not redone
    names = sorted(p.name for p in out.glob("*.json"))
    assert names == [batch.LEDGER, "call.wav.json", "other.json", "sub__call.wav.json"]
    assert (out / "call.wav.json").read_bytes() == before
    assert json.loads((out / "call.wav.json").read_text())["source"] == str(tmp_path / "in" / "call.wav")
    assert sorted(json.loads((out / batch.LEDGER).read_text())) == ["call.wav.json", "other.json",
                                                                     "sub__call.wav.json"]
    assert again() == (0, 0, 3)
    (tmp_path / "in" / "sub" / "call.wav").unlink()         # the clash gone: back to call.json, still not redone
    assert again() == (0, 0, 2) and (out / "call.json").read_bytes() == before
    assert not (out / "call.wav.json").exists()
    assert os.path.isabs(json.loads((out / batch.LEDGER).read_text())["other.json"]["path"])


def test_batch_renames_only_a_whole_report_and_frees_the_name_it_leaves(tmp_path, monkeypatch):
    """A report whose name moves is renamed only if it is whole (one cut short is made again, and the broken
    file goes); the name it leaves may be taken by another call of the same run, which is analysed into it."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    out = tmp_path / "out"
    run = lambda *inputs: batch.run_batch(list(inputs), out, echo=lambda s: None)   # noqa: E731
    _inputs(tmp_path / "in", {"call.wav": b"ok"})
    assert run(tmp_path / "in") == (1, 0, 0)
    whole = (out / "call.json").read_bytes()
    (out / "call.json").write_bytes(whole[:len(whole) // 2])   # cut short (a disk that filled up)
    _inputs(tmp_path / "in", {"sub/call.wav": b"ok"})
    assert run(tmp_path / "in") == (2, 0, 0)                   # not renamed: made again
    assert json.loads((out / "call.wav.json").read_text())["source"] == str(tmp_path / "in" / "call.wav")
    assert not (out / "call.json").exists()
    # x/call.wav's report is x__call.wav.json; then a call named x__call.wav.flac joins as y/call.wav leaves:
    # x/call.wav's report is renamed to call.json, and the new call is analysed into x__call.wav.json
    _inputs(tmp_path / "two", {"x/call.wav": b"ok", "y/call.wav": b"ok"})
    out = tmp_path / "out2"
    assert run(tmp_path / "two") == (2, 0, 0)
    before = (out / "x__call.wav.json").read_bytes()
    _inputs(tmp_path / "new", {"x__call.wav.flac": b"ok"})
    assert run(tmp_path / "two" / "x" / "call.wav", tmp_path / "new") == (1, 0, 1)
    assert (out / "call.json").read_bytes() == before
    assert json.loads((out / "x__call.wav.json").read_text())["source"] == str(tmp_path / "new" / "x__call.wav.flac")


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_cut_short_leaves_no_report_without_its_entry(tmp_path, monkeypatch, jobs):
    """A run stopped after its reports were written but before its ledger (Ctrl-C, a killed job): each report's
    entry was journaled as it came, so the next run with other options analyses those calls again, and the
    one after that skips them."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok"})
    out = tmp_path / "out"
    run = lambda **kw: batch.run_batch([tmp_path / "in"], out, echo=lambda s: None, jobs=jobs, **kw)  # noqa: E731

    def cut(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(batch, "_update_ledger", cut)
        with pytest.raises(KeyboardInterrupt):
            run(options={"long_silence_s": 5.0})
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json", "b.json"]   # reports, no ledger
    assert run(options={"long_silence_s": 5.0}) == (0, 0, 2)    # the journal vouches for them
    assert not (out / batch.JOURNAL).exists()                  # folded into the ledger
    with monkeypatch.context() as m:
        m.setattr(batch, "_update_ledger", cut)
        with pytest.raises(KeyboardInterrupt):
            run(options={"long_silence_s": 50.0})
    assert run(options={"long_silence_s": 100.0}) == (2, 0, 0)
    assert all(json.loads((out / f"{c}.json").read_text())["options"] == {"long_silence_s": 100.0} for c in "ab")
    assert run(options={"long_silence_s": 100.0}) == (0, 0, 2)


def test_batch_without_a_record_of_a_report_makes_it_again(tmp_path, monkeypatch):
    """A report the batch has no record of (its ledger lost, or written by a worker after its batch was stopped)
    may have been made with other options: it is made again, not counted as done."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok"})
    out = tmp_path / "out"
    run = lambda **kw: batch.run_batch([tmp_path / "in"], out, echo=lambda s: None, **kw)  # noqa: E731
    assert run(options={"long_silence_s": 0.5}) == (2, 0, 0)
    (out / batch.LEDGER).unlink()
    assert run() == (2, 0, 0)
    assert not any(json.loads((out / f"{c}.json").read_text())["options"] for c in "ab")   # made anew
    assert run() == (0, 0, 2)


def test_batch_failures_are_listed_by_full_path_from_any_folder(tmp_path, monkeypatch):
    """The same broken call given by a relative path, then by its full path, then from another folder is one
    entry of failures.json; mended, it leaves the list; a call whose last try failed is not in calls.csv with
    the report of its earlier audio."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok"})
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    assert batch.run_batch(["in"], out, echo=lambda s: None) == (2, 0, 0)
    (tmp_path / "in" / "b.wav").write_bytes(b"bad")
    assert batch.run_batch(["in"], out, echo=lambda s: None) == (0, 1, 1)
    listed = lambda: json.loads((out / "failures.json").read_text())  # noqa: E731
    assert listed() == {str(tmp_path / "in/b.wav"): "in/b.wav: not a readable audio file"}
    assert pd.read_csv(out / "calls.csv").report.tolist() == ["a.json"]   # b.json is of the audio before
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (0, 1, 1)
    assert list(listed()) == [str(tmp_path / "in/b.wav")]
    monkeypatch.chdir(tmp_path / "in")
    assert batch.run_batch([tmp_path / "in/a.wav"], out, echo=lambda s: None) == (0, 0, 1)
    assert list(listed()) == [str(tmp_path / "in/b.wav")]   # not given, still broken: still listed
    (tmp_path / "in" / "b.wav").write_bytes(b"ok again")
    assert batch.run_batch(["b.wav"], out, echo=lambda s: None) == (1, 0, 0)
    assert not (out / "failures.json").exists()
    assert pd.read_csv(out / "calls.csv").report.tolist() == ["a.json", "b.json"]


def test_batch_stopped_by_ctrl_c_stops_its_workers_and_keeps_what_was_done(tmp_path, monkeypatch):
    """Ctrl-C in a batch of 2 workers: the calls not started are not run (the workers do not go on alone), the
    workers end, the reports done are recorded (calls.csv, the ledger), and the next run makes the rest."""
    import multiprocessing
    import time

    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {f"c{i}.wav": b"slow0.5" for i in range(8)})
    out = tmp_path / "out"
    as_completed = batch.as_completed

    def first_then_ctrl_c(futures):   # Ctrl-C as the first call's result comes in
        for fut in as_completed(futures):
            yield fut
            raise KeyboardInterrupt

    monkeypatch.setattr(batch, "as_completed", first_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        batch.run_batch([tmp_path / "in"], out, jobs=2, echo=lambda s: None)
    assert not multiprocessing.active_children()
    time.sleep(1.0)                          # nobody goes on writing reports
    made = sorted(p.name for p in out.glob("c*.json"))
    assert 1 <= len(made) <= 2, made         # the one recorded, and at most its twin finishing with it: not the 8
    assert len(pd.read_csv(out / "calls.csv")) == len(made)
    ledger = json.loads((out / batch.LEDGER).read_text())
    assert len(ledger) == 1 and set(ledger) <= set(made)   # the one recorded
    monkeypatch.setattr(batch, "as_completed", as_completed)
    assert batch.run_batch([tmp_path / "in"], out, jobs=2, echo=lambda s: None) == (7, 0, 1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the processes' parents in /proc")
def test_batch_workers_end_when_their_batch_is_killed(tmp_path):
    """kill -9 of a batch leaves no worker behind, analysing calls nobody records or waiting forever."""
    import signal
    import subprocess
    import sys
    import time

    _inputs(tmp_path / "in", {f"c{i}.wav": b"slow3" for i in range(6)})
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "import tonekit.batch as batch, batchfakes\n"
              "batch._one = batchfakes.fake_one\n"
              f"batch.run_batch([{str(tmp_path / 'in')!r}], {str(tmp_path / 'out')!r}, jobs=2)\n")
    proc = subprocess.Popen([sys.executable, "-c", script])

    def children():
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == proc.pid:
                kids.append(int(stat.parent.name))
        return kids

    deadline = time.monotonic() + 60
    while len(children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = children()
    assert len(workers) >= 2, "the batch's workers never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"workers {alive} outlived their batch"


def test_cli_batch_passes_the_channel_and_thresholds_to_every_call(tmp_path, monkeypatch):
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok"})
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--agent-channel", "1",
                                  "--set", "long_silence_s=8"])
    assert r.exit_code == 0, r.output
    for name in ("a.json", "b.json"):
        assert json.loads((tmp_path / "out" / name).read_text())["options"] == {"agent_channel": 1,
                                                                                 "long_silence_s": 8.0}
    # another Whisper density is another analysis: both calls are made again, with it
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--agent-channel", "1",
                                  "--set", "long_silence_s=8", "--whisper-every", "1"])
    assert r.exit_code == 0 and "2 analysed, 0 already done" in r.output, r.output
    assert json.loads((tmp_path / "out" / "a.json").read_text())["options"] == {
        "agent_channel": 1, "whisper_every": 1, "long_silence_s": 8.0}
    # so is one without the music gate
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--agent-channel", "1",
                                  "--set", "long_silence_s=8", "--whisper-every", "1", "--no-music-gate"])
    assert r.exit_code == 0 and "2 analysed, 0 already done" in r.output, r.output
    assert json.loads((tmp_path / "out" / "a.json").read_text())["options"] == {
        "agent_channel": 1, "whisper_every": 1, "music_gate": False, "long_silence_s": 8.0}
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--set", "nope=1"])
    assert r.exit_code == 2 and "unknown option(s) nope" in r.output


def test_caller_angry_spans_stay_inside_the_call(tmp_path):
    """The demo cut at 0:30.2, the caller still angry: the last angry span ends with the call, not the
    half-window past it (30.6 s) that the window grid reaches."""
    y, sr = sf.read(DEMO)
    cut = tmp_path / "cut30.wav"
    sf.write(cut, y[:int(30.2 * sr)], sr)
    spans = tonekit.analyze(cut).summary["caller_angry_spans"]
    assert spans and spans[-1][1] == pytest.approx(30.2)
    assert all(0 <= a < b <= 30.2 for a, b in spans)


def test_batch_with_a_tampered_model_folder_stops_once(tmp_path):
    """A model folder that fails its checks is one error before any call, not a failure of every call."""
    from tonekit.models.store import shipped_dir

    models = tmp_path / "models"
    shutil.copytree(shipped_dir(), models, ignore=shutil.ignore_patterns("*.npz"))
    with open(models / "calm.skops", "ab") as fh:
        fh.write(b"\0")
    shutil.copy(DEMO, tmp_path / "a.flac")
    res = CliRunner().invoke(main, ["batch", str(tmp_path / "a.flac"), "-o", str(tmp_path / "out"),
                                    "--models", str(models)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "does not match its model card" in lines[0]
    assert not (tmp_path / "out" / "failures.json").exists()


def test_batch_tells_of_a_folder_without_calls(tmp_path, monkeypatch):
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"call.wav": b"ok"})
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    said = []
    assert batch.run_batch([tmp_path / "in", tmp_path / "empty"], tmp_path / "out", echo=said.append) == (1, 0, 0)
    assert (f"Warning: {tmp_path / 'empty'}: no audio files in this folder (.wav, .flac, .ogg, .mp3 or another "
            "form tonekit reads)") in said
    with pytest.raises(tonekit.ParameterError, match="no audio files found in the inputs"):
        batch.run_batch([tmp_path / "empty"], tmp_path / "out2", echo=said.append)
    assert not (tmp_path / "out2").exists()   # no folder made for nothing


def test_batch_analyses_again_what_is_not_a_whole_report(tmp_path, monkeypatch):
    """A file in a report's place that is cut short or is something else is no report: its call is analysed
    again, with a warning, instead of counting as done and dropping out of calls.csv."""
    import tonekit.batch as batch
    from batchfakes import fake_one

    monkeypatch.setattr(batch, "_one", fake_one)
    _inputs(tmp_path / "in", {"a.wav": b"ok", "b.wav": b"ok", "c.aiff": b"ok"})
    out = tmp_path / "out"
    assert batch.run_batch([tmp_path / "in"], out, echo=lambda s: None) == (3, 0, 0)   # .aiff found too
    whole = (out / "a.json").read_text()
    (out / "a.json").write_text(whole[: len(whole) // 2])
    (out / "b.json").write_text("[]")
    said = []
    assert batch.run_batch([tmp_path / "in"], out, echo=said.append) == (2, 0, 1)
    assert [m for m in said if m.startswith("Warning")] == [
        f"Warning: {out / name}.json: not a whole tonekit report: {tmp_path / 'in' / name}.wav is analysed again"
        for name in ("a", "b")]
    assert (out / "a.json").read_text() == whole


def test_batch_into_a_folder_it_cannot_write_stops_before_any_call(tmp_path, monkeypatch):
    import tempfile

    import tonekit.batch as batch
    from batchfakes import fake_one

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")
    analysed = []
    monkeypatch.setattr(batch, "_one", lambda *a: analysed.append(a) or fake_one(*a))
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refused)
    _inputs(tmp_path / "in", {"a.wav": b"ok"})
    with pytest.raises(tonekit.errors.ParameterError) as err:
        batch.run_batch([tmp_path / "in"], tmp_path / "out", echo=lambda s: None)
    assert str(err.value) == f"{tmp_path / 'out'}: the output folder cannot be written (Permission denied)"
    assert analysed == []


def test_turn_values_read_the_turns_own_frames():
    """A turn at 0.29-0.80 s (times on the 10-ms grid, as turns are) is frames 29-79: its mean loudness is
    theirs alone (int(0.29 / 0.01) is 28, one frame early, which had pulled the mean down)."""
    from tonekit.pipeline import _turn_values

    n = 100
    level = np.full(n, 40.0)
    level[29:80] = 70.0

    class Frames(dict):   # what _turn_values reads of SpeakerFrames
        hop_s, n_frames, nuclei, speech = 0.01, n, np.array([40, 60]), np.ones(n, bool)

    fr = Frames(f0_hz=np.where(level > 50, 200.0, np.nan), intensity_db=level)
    turns = pd.DataFrame({"start_s": [29 * 0.01], "end_s": [80 * 0.01]})
    got = _turn_values(fr, turns).iloc[0]
    assert got.intensity == 70.0 and got.f0 == pytest.approx(12 * np.log2(2))
    assert got.rate == pytest.approx(2 / 0.51)


def test_rttm_turns_start_on_their_own_frame(tmp_path):
    """A mono mix of steady voiced sound with RTTM turns A 2.28-3.01 s and B 3.01-4.01 s: each side's speech
    starts on its turn's own frame (228, 301), not one early (int(2.28 / 0.01) is 227), and A's ends where
    B's begins."""
    from tonekit.activity import detect_activity
    from tonekit.audio import load_call

    sr = 16000
    t = np.arange(6 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    y[: 2 * sr] = 0.001 * np.random.default_rng(0).standard_normal(2 * sr)   # a room before the talk
    y[5 * sr:] = 0.001 * np.random.default_rng(1).standard_normal(sr)
    sf.write(tmp_path / "mix.wav", y, sr)
    rttm = tmp_path / "turns.rttm"
    rttm.write_text("SPEAKER mix 1 2.28 0.73 <NA> <NA> A <NA> <NA>\nSPEAKER mix 1 3.01 1.00 <NA> <NA> B <NA> <NA>\n")
    act = detect_activity(load_call(tmp_path / "mix.wav", turns=rttm, agent_label="A"))
    agent, caller = act.speech["agent"], act.speech["caller"]
    assert np.flatnonzero(agent)[[0, -1]].tolist() == [228, 300]
    assert np.flatnonzero(caller)[[0, -1]].tolist() == [301, 400]


def test_a_praat_failure_names_the_file_and_the_side(tmp_path, monkeypatch):
    """Praat's pitch analysis failing (here made to) is one error naming the call's file and the side, for a
    call, and the file for tonekit.score (STYLE: Praat's errors carry the file and the speaker)."""
    import parselmouth

    from tonekit.errors import AudioError

    def fail(*args, **kwargs):
        raise parselmouth.PraatError("Sound too strange.")

    monkeypatch.setattr(parselmouth.Sound, "to_pitch_ac", fail)
    with pytest.raises(AudioError) as err:
        tonekit.analyze(DEMO)
    assert str(err.value) == (f"{DEMO}: Praat pitch analysis failed: Sound too strange. "
                              "(the agent's side, channel 0)")
    sr = 16000
    t = np.arange(2 * sr) / sr
    sf.write(tmp_path / "hum.wav", 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)), sr)
    with pytest.raises(AudioError, match=rf"^{re.escape(str(tmp_path / 'hum.wav'))}: Praat pitch analysis failed"):
        tonekit.score(tmp_path / "hum.wav")


def test_a_failed_glottal_pulse_step_is_said_not_swallowed(monkeypatch):
    """Praat failing on the pulses of voiced speech: a warning says jitter and shimmer go unmeasured, and the
    pitch track stands; a signal with nothing voiced has no pulses, without a warning."""
    import parselmouth

    from tonekit.features.pitch import track_pitch

    sr = 16000
    y = 0.1 * np.sin(2 * np.pi * 150 * np.arange(sr) / sr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(track_pitch(np.zeros(sr), sr, pulses=True)[3]) == 0
        assert len(track_pitch(y, sr, pulses=True)[3]) > 100
    call = parselmouth.praat.call

    def failing(obj, command, *args):
        if command == "To PointProcess (cc)":
            raise parselmouth.PraatError("Out of memory.")
        return call(obj, command, *args)

    monkeypatch.setattr(parselmouth.praat, "call", failing)
    with pytest.warns(UserWarning, match=r"Praat glottal pulse analysis failed \(Out of memory.\): jitter and "
                                         r"shimmer are not measured there"):
        _, f0, _, pulses = track_pitch(y, sr, pulses=True)
    assert len(pulses) == 0 and np.nanmedian(f0) == pytest.approx(150, rel=0.01)


def test_entrainment_known_answer():
    """Six alternating 1-s turns, agent and caller each at 1, 2 and 3 semitones (and dB, and syllables a
    second) in their first, second and third turn. Adjacent pairs (A1 C1, C1 A2, A2 C2, C2 A3, A3 C3) differ
    by 0, 1, 0, 1, 0 (mean 0.4), all agent-caller pairs by 8/9 on average: proximity 8/9 - 0.4; synchrony is
    the correlation of the pairs' first and second values (1 1 2 2 3 against 1 2 2 3 3); convergence that of
    -|difference| with the pairs' times (1, 2, 3, 4, 5 s)."""
    from tonekit.pipeline import entrainment

    n = 600

    class Frames(dict):
        hop_s, n_frames = 0.01, n

    frames = {}
    for spk, first in (("agent", 0), ("caller", 1)):
        f0, level, nuclei = np.full(n, np.nan), np.full(n, 40.0), []
        for k in range(3):
            a = (2 * k + first) * 100
            f0[a:a + 100] = 100 * 2 ** ((k + 1) / 12)
            level[a:a + 100] = 60.0 + k + 1
            nuclei += list(a + 5 + np.arange(k + 1) * 90 // (k + 1))   # k + 1 syllables in the 1-s turn
        fr = Frames(f0_hz=f0, intensity_db=level)
        fr.speech, fr.nuclei = level > 50, np.array(nuclei)
        frames[spk] = fr
    turns = pd.DataFrame({"speaker": ["agent", "caller"] * 3, "start_s": np.arange(6.0),
                          "end_s": np.arange(6.0) + 1})
    got = entrainment(frames, turns)
    a, b = np.array([1, 1, 2, 2, 3.0]), np.array([1, 2, 2, 3, 3.0])
    for f, shift in (("f0", 0.0), ("intensity", 60.0), ("rate", 0.0)):
        assert got[f]["proximity"] == pytest.approx(8 / 9 - 0.4, abs=1e-9), f
        assert got[f]["synchrony"] == pytest.approx(np.corrcoef(a + shift, b + shift)[0, 1], abs=1e-9), f
        assert got[f]["convergence"] == pytest.approx(np.corrcoef(np.arange(1, 6), -np.abs(a - b))[0, 1],
                                                      abs=1e-9), f


def test_calls_csv_counts_stay_whole_numbers_beside_empty_ones(tmp_path):
    """One call judged (tip 8: 1), one whose agent was never scored (tips 7-9 empty): the counts read 1 and
    0, not 1.0, and the unjudged ones are empty."""
    from tonekit.batch import write_overview

    for name, agent in (("a", 0.2), ("b", None)):
        (tmp_path / f"{name}.json").write_text(json.dumps({
            "tonekit_version": "x", "source": f"{name}.wav", "duration_s": 60.0,
            "summary": {"speakers": {"agent": {"anger_mean": agent}, "caller": {"anger_mean": 0.5}},
                        "interruptions": {"count": 2},
                        "events_per_tip": {"1": 2, "7": 0, "8": 1 if agent else None, "9": 0 if agent else None,
                                           "12": 0}}}))
    lines = write_overview(tmp_path).read_text().splitlines()
    head = lines[0].split(",")
    rows = [dict(zip(head, ln.split(","))) for ln in lines[1:]]
    assert [(r["tip1_interruptions"], r["tip7_no_smile"], r["tip8_not_calm"], r["tip9_tone_mismatch"])
            for r in rows] == [("2", "0", "1", "0"), ("2", "", "", "")]


def test_demo_in_short_names_the_angry_caller_and_the_moments_to_hear(demo):
    """The report's opening lines on the demo: the caller's angry span (the script's angry caller, from the first
    angry turn past the last, over before the caller's first calmer turn, and calmer at the end), the start of
    each scripted event to listen back to with its tip, and the tip judged and clean (7)."""
    import re

    from tonekit.report._common import fmt_clock, in_short
    from tonekit.report.html import render_html
    from tonekit.report.text import render_text

    lines = in_short(demo)
    assert len(lines) == 3
    (a, b), = demo.summary["caller_angry_spans"]
    angry = TRUTH["caller_angry"]
    calmer = next(u["start_s"] for u in TRUTH["turns"] if u["speaker"] == "caller" and u["style"] != "angry")
    assert a <= angry[0][0] + 1.0 and angry[-1][1] <= b < calmer
    assert lines[0] == f"Caller angry {fmt_clock(a)}–{fmt_clock(b)} ({b - a:.0f} s); calmed down by the end."
    moments = dict(re.findall(r"(\d+:\d\d) \((tips? [^)]+)\)", lines[1]))
    assert lines[1].startswith("Listen back to ") and len(moments) == demo.events.start_s.map(fmt_clock).nunique()
    for e in TRUTH["expected_events"]:
        assert str(e["tip"]) in re.findall(r"\d+", moments[fmt_clock(e["start_s"])]), (e, lines[1])
    assert lines[2] == "No event of tip 7 (smile)."
    text = render_text(demo, color=False).splitlines()
    assert text[text.index("In short") + 1:text.index("In short") + 4] == ["  " + ln for ln in lines]
    assert text.index("In short") < text.index("Tone over the call")
    html = render_html(demo)
    assert '<section id="in-short">' in html and html.index('id="in-short"') < html.index('id="tone"')


def test_summary_counts_the_pauses_between_turns(tmp_path):
    """summary["silences"]: total_s and share are the call's pauses (nobody speaks), not the silence before
    the first word or after the last. Known timeline (tests/synth.py syllables): agent 0.5-3.5 s, caller
    5.5-8.5 s, agent 11.5-14.5 s, caller 16.5-19.5 s in a 20-s call, each turn's last syllable ending
    0.08 s before its 3 s are up: pauses of 2.08, 3.08 and 2.08 s, 7.24 s in all; the text report shows them
    on its talk-time line."""
    from synth import syllable_train

    sr, total = 16000, 20.0
    y = np.zeros((int(total * sr), 2))
    for ch, start, f0 in ((0, 0.5, 120.0), (1, 5.5, 210.0), (0, 11.5, 120.0), (1, 16.5, 210.0)):
        seg, _, mask = syllable_train(5.0, 3.0, sr, f0_hz=f0, lead_s=0.0, rng=np.random.default_rng(int(start)),
                                      level=0.5)
        assert mask.sum() * 0.01 == pytest.approx(2.92, abs=0.02)   # speech from the first burst to the last
        i = int(start * sr)
        y[i: i + len(seg), ch] += seg
    y += 10 ** (-60 / 20) * np.random.default_rng(0).standard_normal(y.shape)
    path = tmp_path / "turns.wav"
    sf.write(path, y, sr)
    a = tonekit.analyze(path)
    sil = a.summary["silences"]
    assert sil["total_s"] == pytest.approx(7.24, abs=0.3)
    assert sil["share"] == pytest.approx(sil["total_s"] / a.duration_s, abs=1e-3)
    assert sil["longest_s"] == pytest.approx(3.08, abs=0.2)
    assert sil["count"] == 0                                   # none as long as tip 12's 5 s
    r = CliRunner().invoke(main, ["report", str(path), "-q"])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("Talk time"))
    assert re.search(r"pauses 0:0[67] \([67]\.\d s, 3[3-7]%\)", line), line
    from tonekit.report.html import render_html

    assert re.search(r"Pauses in all \(nobody speaks\)</td><td[^>]*>[67]\.\d s \(3[3-7]%\)", render_html(a))


def _demo_reports(folder: Path, demo) -> None:
    """Three reports in ``folder``: the demo's (a.json: tips 1, 8, 9 and 12), the demo's without its tone
    events (b.json: tips 1 and 12), and one whose tone could not be judged (c.json: tips 7-9 not judged)."""
    folder.mkdir()
    report = json.loads(demo.to_json())
    (folder / "a.json").write_text(json.dumps(report))
    calm = copy.deepcopy(report)
    calm["events"] = [e for e in calm["events"] if e["tip"] in (1, 12)]
    calm["summary"]["events_per_tip"].update({"8": 0, "9": 0})
    (folder / "b.json").write_text(json.dumps(calm))
    unjudged = copy.deepcopy(calm)
    unjudged["summary"]["events_per_tip"].update({"7": None, "8": None, "9": None})
    (folder / "c.json").write_text(json.dumps(unjudged))


def test_batch_pages_overview_and_one_page_per_call(tmp_path, demo):
    """write_pages (tonekit batch --html): a page per report, the same as `tonekit report --format html` of it,
    and calls.html listing the calls with the most tone events first, each linking to its page, an unjudged
    tip's count empty; pages are made again only when stale (report newer, other language), a report that
    cannot be shown is said and listed without a link, and a page whose report is gone goes."""
    from tonekit.analysis import Analysis
    from tonekit.batch import write_pages
    from tonekit.report.html import render_html

    out = tmp_path / "out"
    _demo_reports(out, demo)
    with pytest.raises(tonekit.ParameterError, match="one of en, fr, got 'de'"):
        write_pages(out, lang="de")
    assert not (out / "html").exists() and not (out / "calls.html").exists()
    said = []
    page = write_pages(out, echo=said.append)
    assert page == out / "calls.html" and said == []
    assert sorted(p.name for p in (out / "html").iterdir()) == ["a.html", "b.html", "c.html"]
    assert (out / "html/a.html").read_text(encoding="utf-8") == render_html(Analysis.from_json(out / "a.json"),
                                                                         back="../calls.html")
    assert '<nav><a href="../calls.html">← All calls</a></nav>' in (out / "html/a.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr><td><a href="(html/\w\.html)" title="demo_call.flac">(\w)</a></td>(.*?)</tr>',
                      page.read_text(encoding="utf-8"))
    assert [(href, name) for href, name, _ in rows] == [("html/a.html", "a"), ("html/b.html", "b"),
                                                         ("html/c.html", "c")]
    cells = lambda rest: re.findall(r"<td[^>]*>(.*?)</td>", rest)   # noqa: E731
    assert cells(rows[0][2])[3:8] == ["1", "0", "1", "1", "1"]       # tips 1, 7, 8, 9, 12 of the demo
    assert cells(rows[2][2])[3:8] == ["1", "n/a", "n/a", "n/a", "1"]   # tips 7-9 not judged
    # fresh pages stay as they are; a newer report, or another language, makes them again
    before = {p.name: p.stat().st_mtime_ns for p in (out / "html").iterdir()}
    write_pages(out)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "html").iterdir()} == before
    os.utime(out / "b.json", ns=(before["b.html"] + 10**9, before["b.html"] + 10**9))
    write_pages(out)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "html").iterdir()}
    assert [n for n in before if after[n] != before[n]] == ["b.html"]
    write_pages(out, lang="fr")
    assert all('<html lang="fr">' in p.read_text(encoding="utf-8") for p in (out / "html").iterdir())
    assert "tonekit batch : 3 appels" in (out / "calls.html").read_text(encoding="utf-8")
    # a report that cannot be shown; a report gone
    broken = json.loads((out / "a.json").read_text())
    broken["windows"] = [{"speaker": "agent", "anger": "high"}]
    (out / "a.json").write_text(json.dumps(broken))
    (out / "c.json").unlink()
    write_pages(out, lang="fr", echo=said.append)
    assert len(said) == 1 and said[0].startswith(f"Warning: {out / 'a.json'}: no page made (")
    assert sorted(p.name for p in (out / "html").iterdir()) == ["b.html"]
    listed = (out / "calls.html").read_text(encoding="utf-8")
    assert '<td><span title="demo_call.flac">a</span></td>' in listed and 'href="html/b.html"' in listed
    assert ">c<" not in listed and "failed" not in listed
    # the calls of failures.json, after the table
    (out / "failures.json").write_text(json.dumps({"/calls/x.wav": "/calls/x.wav: empty file"}))
    write_pages(out)
    listed = (out / "calls.html").read_text(encoding="utf-8")
    assert '<h2>Not analysed (1)</h2>\n<ul class="notes">\n<li>/calls/x.wav: empty file</li>' in listed


def test_cli_batch_html(tmp_path, monkeypatch, demo):
    """`tonekit batch --html --lang fr`: the reports, then the pages in French, said on the last line; the
    language is checked before any call is analysed."""
    import tonekit.batch as batch

    def demo_one(audio, out, models, options=None):
        Path(out).write_text(demo.to_json())
        return audio, None

    monkeypatch.setattr(batch, "_one", demo_one)
    _inputs(tmp_path / "in", {"x.wav": b"1", "y.wav": b"2"})
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--html",
                                  "--lang", "fr"])
    assert r.exit_code == 0, r.output
    assert r.stderr.strip().splitlines()[-1].endswith(f"(pages: {tmp_path / 'out' / 'calls.html'})")
    assert sorted(p.name for p in (tmp_path / "out/html").iterdir()) == ["x.html", "y.html"]
    assert "Rapport de ton" in (tmp_path / "out/html/x.html").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out2"), "--lang", "de"])
    assert r.exit_code == 2 and not (tmp_path / "out2").exists()
