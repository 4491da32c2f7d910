"""The README's Python example runs as written."""
from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    block = re.search(r"## Python\n\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert (tmp_path / "report.json").stat().st_size > 1000
    assert (tmp_path / "call.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the demo's events: the three scripted ones among them (README, The demo), and the report says the same
    kinds = sorted(scope["a"].events.kind)
    assert {"interruption", "long_silence", "upbeat_vs_angry"} <= set(kinds)
    assert sorted(e["kind"] for e in json.loads((tmp_path / "report.json").read_text())["events"]) == kinds
