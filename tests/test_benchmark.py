"""scripts/benchmark.py: its options, and the side-by-side timing of Whisper's densities."""
from __future__ import annotations

import pytest
from scriptload import load_script

bench = load_script("benchmark.py", "tonekit_benchmark")


@pytest.mark.parametrize("bad,message", [("8,x", "not a list of whole numbers"), ("8,0", "must be 1 or more")])
def test_bad_whisper_every_settings_are_refused_before_any_work(bad, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--whisper-every", bad])
    assert message in capsys.readouterr().err


def test_whisper_densities_are_timed_interleaved(monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "analyze_time", lambda path, models, **kw: calls.append(kw["whisper_every"]) or 1.0)
    got = bench.whisper_every_times("call.wav", object(), [8, 1], rounds=3)
    assert calls == [8, 1, 8, 1, 8, 1]   # each round times every setting, so they share the machine's load
    assert got == {8: [1.0, 1.0, 1.0], 1: [1.0, 1.0, 1.0]}
