"""scripts/select_matcher.py: leave-one-seed-out choice of the matcher's averaging windows on saved calls."""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from scriptload import load_script
from test_match import ANGRY, CALM, CHEERFUL, windows_table

from tonekit.analysis import EVENT_COLUMNS

sm = load_script("select_matcher.py", "tonekit_select_matcher")

COLD = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}


def _call(agent, caller, true_events, duration=100):
    """A saved call as evaluate_calls.py --dump-dir writes it: analysis, ground truth, record."""
    analysis = SimpleNamespace(windows=windows_table(duration, agent=agent, caller=caller),
                               events=pd.DataFrame(columns=EVENT_COLUMNS))
    truth = {"telephone": False, "caller_angry": [],
             "events": [{"tip": t, "start_s": a, "end_s": b} for t, a, b in true_events]}
    record = {"call": "x", "telephone": False, "duration_s": float(duration), "seconds": 1.0}
    return {"analysis": analysis, "truth": truth, "record": record}


def _seed(folder: Path):
    folder.mkdir()
    calls = [
        # an unsmiling agent for 50 s with a calm caller: tip 7
        _call({(0, 20): CALM, (20, 70): COLD, (70, 100): CALM}, {(0, 100): CALM}, [(7, 20, 70)]),
        # the agent mirrors an angry caller: tip 8
        _call({(0, 30): CALM, (30, 60): ANGRY, (60, 100): CALM}, {(0, 80): ANGRY}, [(8, 30, 60)]),
        # the agent sounds cheerful to an angry caller: tip 9
        _call({(0, 30): CALM, (30, 60): CHEERFUL, (60, 100): CALM}, {(0, 80): ANGRY}, [(9, 30, 60)]),
    ]
    for i, c in enumerate(calls):
        with open(folder / f"0_call_{i:03d}.pkl", "wb") as fh:
            pickle.dump(c, fh)


def test_select_matcher_scores_saved_calls(tmp_path, capsys):
    for s in ("0", "1"):
        _seed(tmp_path / s)
    assert sm.main([str(tmp_path / "0"), str(tmp_path / "1")]) == 0
    out = capsys.readouterr().out
    # each tip's scripted event is found and nothing else is flagged, by the defaults and by the choice
    assert "all seeds: chose" in out
    for line in out.splitlines():
        if line.startswith(("held out", "all seeds")):
            assert line.count("1.00 / 1.00") == line.count(" / "), line


def test_select_matcher_scores_every_setting_on_fresh_seeds(tmp_path, capsys):
    for s in ("0", "1", "2"):
        _seed(tmp_path / s)
    assert sm.main([str(tmp_path / "0"), str(tmp_path / "1"), "--fresh", str(tmp_path / "2")]) == 0
    out = capsys.readouterr().out
    assert out.count("fresh seeds 2 (not used to choose)") == len(sm.GRIDS)
    scored = [line for line in out.splitlines() if line.startswith("  {")]
    # one line per setting of each grid, plus the default where it is not in the grid
    defaults = sm.MatchOptions()
    n = sum(len(g) + ({k: getattr(defaults, k) for k in g[0]} not in g) for _, g in sm.GRIDS)
    assert len(scored) == n
    assert sum("(default)" in line for line in scored) == len(sm.GRIDS)


def test_select_matcher_searches_only_the_grids_asked_for(tmp_path, capsys):
    for s in ("0", "1"):
        _seed(tmp_path / s)
    assert sm.main([str(tmp_path / "0"), str(tmp_path / "1"), "--grid", "2", "--grid", "4"]) == 0
    out = capsys.readouterr().out
    assert [line.split(",")[0] for line in out.splitlines() if line.startswith("## ")] == ["## grid 2", "## grid 4"]
    assert "caller_onset_s" in out and "no_smile_window_s" in out and "upbeat_on" not in out
    with pytest.raises(SystemExit, match="--grid must be 1-6, not 7"):
        sm.main([str(tmp_path / "0"), str(tmp_path / "1"), "--grid", "7"])


def test_select_matcher_keeps_tip_8_without_the_raised_voice_on_a_tie(tmp_path, capsys):
    """Grid 6: where asking tip 8 for a raised voice changes nothing, the default (not asking) is the pick."""
    for s in ("0", "1"):
        _seed(tmp_path / s)
    assert sm.main([str(tmp_path / "0"), str(tmp_path / "1"), "--grid", "6"]) == 0
    out = capsys.readouterr().out
    assert "## grid 6, tips 8, 9: mirrored_needs_rise, mirrored_rise_db, mirrored_rise_st" in out
    chosen = [line for line in out.splitlines() if line.startswith(("held out", "all seeds"))]
    assert len(chosen) == 3
    assert all("chose {'mirrored_needs_rise': False" in line for line in chosen)


def test_select_matcher_needs_saved_calls(tmp_path):
    (tmp_path / "0").mkdir()
    (tmp_path / "1").mkdir()
    with pytest.raises(SystemExit, match="no saved calls"):
        sm.main([str(tmp_path / "0"), str(tmp_path / "1")])
    with pytest.raises(SystemExit, match="at least two folders"):
        sm.main([str(tmp_path / "0")])


def test_evaluate_calls_rescores_saved_calls_with_the_current_matcher(tmp_path, capsys):
    _seed(tmp_path / "0")
    ec = sm.ec
    summary, setup, records = ec.rescore(tmp_path / "0")
    # the three scripted tone events are found, nothing else is flagged
    for tip in (7, 8, 9):
        assert (summary["tips"][tip]["recall"], summary["tips"][tip]["precision"]) == (1.0, 1.0), tip
    assert len(records) == 3 and "rescored" in setup and setup["matcher"]["upbeat_on"] == sm.MatchOptions().upbeat_on
    assert ec.main(["--rescore", str(tmp_path / "0"), "--out", str(tmp_path / "r")]) == 0
    assert "Events re-made from the saved analyses" in (tmp_path / "r.md").read_text()
    assert ec.main(["--rescore", str(tmp_path / "empty")]) == 2          # no saved calls: a one-line error
    assert "no saved calls" in capsys.readouterr().err
    # --set: a matcher option other than its default, named in the report; an upbeat threshold no agent
    # reaches flags no tip 9
    assert ec.main(["--rescore", str(tmp_path / "0"), "--set", "upbeat_on=0.99", "--out", str(tmp_path / "s")]) == 0
    assert "current defaults but upbeat_on=0.99" in (tmp_path / "s.md").read_text()
    assert json.loads((tmp_path / "s.json").read_text())["summary"]["tips"]["9"]["flagged"] == 0
    capsys.readouterr()
    for bad in (["--set", "upbeat_on=0.99"], ["--rescore", str(tmp_path / "0"), "--set", "upbeat_on"],
                ["--rescore", str(tmp_path / "0"), "--set", "no_such=1"]):
        assert ec.main(bad) == 2
        assert capsys.readouterr().err.startswith("Error: ")
    assert "seed" not in setup                                           # these truths carry no seed
    # calls made by simulate_calls carry their seed (seed * 1000 + fold): the rescored set keeps it,
    # so scripts/pool_calls.py can pool rescored files
    for i, f in enumerate(sorted((tmp_path / "0").glob("*.pkl"))):
        with open(f, "rb") as fh:
            saved = pickle.load(fh)
        saved["truth"]["seed"] = [7000 + i, i]
        with open(f, "wb") as fh:
            pickle.dump(saved, fh)
    assert ec.rescore(tmp_path / "0")[1]["seed"] == 7


def test_select_matcher_other_mix_scores_by_the_worse_mix(tmp_path, capsys):
    """With --other-mix a setting is judged by the lower of the two mixes' worst figures. The second mix's
    caller sounds angry at 0.47 throughout (under the default anger_on 0.5): its tip 8 is found only with
    grid 1's lowest caller-anger threshold (0.45), so that is the choice, while the first mix is found whole
    by every setting."""
    border = {"anger": 0.47, "calm": 0.1, "warmth": 0.2}
    for s in ("0", "1"):
        _seed(tmp_path / s)
        folder = tmp_path / f"a{s}"
        folder.mkdir()
        c = _call({(0, 30): CALM, (30, 60): ANGRY, (60, 100): CALM}, {(0, 100): border}, [(8, 30, 60)])
        with open(folder / "0_call_000.pkl", "wb") as fh:
            pickle.dump(c, fh)
    base = [str(tmp_path / "0"), str(tmp_path / "1"), "--grid", "1"]
    assert sm.main(base + ["--other-mix", str(tmp_path / "a0"), "--other-mix", str(tmp_path / "a1")]) == 0
    out = capsys.readouterr().out
    chosen = [line for line in out.splitlines() if line.startswith(("held out", "all seeds"))]
    assert len(chosen) == 3
    for line in chosen:
        pick, default = line.split("; default -> ")
        assert "'anger_on': 0.45" in pick.split("->")[0], line
        # the pick finds mix 2's tip 8 and keeps mix 1 whole; the default misses it
        assert "mix 2: tip 7" in pick and "tip 8 1.00 / 1.00" in pick.split("mix 2:")[1]
        assert pick.split("mix 2:")[0].count("1.00 / 1.00") == 3
        assert default.split("mix 2:")[0].count("1.00 / 1.00") == 3
        assert "tip 8 0.00" in default.split("mix 2:")[1]
    with pytest.raises(SystemExit, match="one folder per seed"):
        sm.main(base + ["--other-mix", str(tmp_path / "a0")])
