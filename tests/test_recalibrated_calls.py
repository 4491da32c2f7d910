"""scripts/recalibrated_calls.py: calls of a corpus the models never heard, before and after recalibration."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scriptload import load_script

rc = load_script("recalibrated_calls.py", "tonekit_recalibrated_calls")


def test_reserved_speakers_are_drawn_with_the_seed_whatever_their_order():
    speakers = [f"s{i}" for i in range(6)]
    reserved, rest = rc.reserve_speakers(speakers, 2, seed=20)
    assert len(reserved) == 2 and len(rest) == 4 and sorted(reserved + rest) == speakers
    assert rc.reserve_speakers(speakers[::-1], 2, seed=20) == (reserved, rest)
    assert rc.reserve_speakers(speakers, 2, seed=21) != (reserved, rest) or rc.reserve_speakers(
        speakers, 2, seed=22) != (reserved, rest)   # another seed, another draw (two tries: 15 possible pairs)


def test_recalibrated_windows_apply_each_targets_line_and_keep_nan():
    w = pd.DataFrame({"speaker": ["caller", "agent", "caller"], "anger": [0.5, 0.8, np.nan],
                      "calm": [0.2, 0.5, 0.9], "warmth": [0.3, 0.3, 0.3]})
    out = rc.recalibrated_windows(w, {"anger": (2.0, 1.0), "calm": (1.0, 0.0)})
    z = np.log(0.8 / 0.2)
    assert out.anger.tolist()[:2] == pytest.approx([1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-(2 * z + 1)))])
    assert np.isnan(out.anger.iloc[2])
    assert out.calm.tolist() == pytest.approx(w.calm.tolist())      # the identity line changes nothing
    assert out.warmth.equals(w.warmth) and w.anger.iloc[0] == 0.5      # no line: untouched; the input is not changed


def test_tips_table_reads_the_summaries():
    tip = {"true": 10, "found": 8, "flagged": 9, "recall": 0.8, "precision": 7 / 9}
    s = {"tips": {7: tip, 8: tip, 9: {**tip, "found": 5, "recall": 0.5}}}
    t = rc.tips_table({("turev", "shipped recipe"): s})
    assert t.tip.tolist() == [7, 8, 9] and t.recall.tolist() == [0.8, 0.8, 0.5]
    assert set(t.columns) == {"corpus", "models", "tip", "true", "found", "flagged", "recall", "precision"}
