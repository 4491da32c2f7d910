"""scripts/pool_calls.py: several evaluate_calls.py runs pooled into one table, with known counts."""
from __future__ import annotations

import json

import pytest
from scriptload import load_script

pc = load_script("pool_calls.py", "tonekit_pool_calls")


def _counts(found8, true8, hits8, flagged8):
    base = {"true": 1, "found": 1, "flagged": 1, "hits": 1, "kinds": []}
    out = {str(t): dict(base) for t in (1, 7, 9, 12)}
    out["8"] = {"true": true8, "found": found8, "flagged": flagged8, "hits": hits8, "kinds": ["mirrored_anger"]}
    return out


def _run(path, seed, calls):
    records = [{"call": f"c{i}", "telephone": tel, "duration_s": 100.0, "seconds": 1.0, "counts": counts}
               for i, (tel, counts) in enumerate(calls)]
    summary = {"caller_anger_auc": {"all": 0.9, "wideband": 0.95, "telephone": 0.85}}
    path.write_text(json.dumps({"setup": {"seed": seed}, "summary": summary, "calls": records}))
    return str(path)


def test_pooled_recall_and_precision_are_counted_over_all_calls(tmp_path, capsys):
    a = _run(tmp_path / "a.json", 6, [(False, _counts(1, 2, 1, 1)), (True, _counts(0, 2, 0, 2))])
    b = _run(tmp_path / "b.json", 5, [(False, _counts(3, 4, 3, 3))])
    assert pc.main([a, b]) == 0
    rows = {line.split(" | ")[0]: line for line in capsys.readouterr().out.splitlines()}
    # tip 8: seed 6 found 1 of 4, 1 of 3 flagged right; seed 5 3 of 4 and 3 of 3;
    # pooled 4 of 8 and 4 of 6; wideband 4 of 6 and 4 of 4; telephone 0 of 2 and 0 of 2
    assert rows["| 8"].split(" | ")[1:] == ["0.25 / 0.33", "0.75 / 1.00", "0.50 / 0.67", "0.67 / 1.00",
                                            "0.00 / 0.00 |"]
    assert "pooled (3 calls)" in rows["| tip"]
    assert rows["| telephone"].split(" | ")[1:] == ["0.850", "0.850 |"]


def test_a_file_that_is_not_a_result_is_named(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit, match="notes.json: not a results file"):
        pc.main([str(bad)])
