"""scripts/window_reliability.py: per-window scores by the speech a window holds, on a known call."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scriptload import load_script

wr = load_script("window_reliability.py", "tonekit_window_reliability")


def _windows(rows):
    return pd.DataFrame(rows, columns=["speaker", "start_s", "end_s", "speech_s", "anger", "calm", "warmth"])


def test_known_call():
    """A caller angry over 10-20 s (scripted), calm from 30 s on; the agent neutral then happy. Windows
    inside the angry stretch are 1, those 1.5 s or more away are 0, those nearer are left out; a window
    half one emotion, half another, has none."""
    truth = {"caller_angry": [[10.0, 20.0]],
             "utterances": [{"speaker": "caller", "start_s": 10.0, "end_s": 20.0, "emotion": "anger"},
                            {"speaker": "caller", "start_s": 30.0, "end_s": 40.0, "emotion": "neutral"},
                            {"speaker": "agent", "start_s": 0.0, "end_s": 5.0, "emotion": "neutral"},
                            {"speaker": "agent", "start_s": 5.0, "end_s": 10.0, "emotion": "happiness"}]}
    w = _windows([
        ("caller", 11.0, 14.0, 1.2, 0.9, 0.1, 0.2),    # inside, short
        ("caller", 14.0, 17.0, 2.8, 0.8, 0.2, 0.1),    # inside, long
        ("caller", 19.5, 22.5, 2.0, 0.6, 0.3, 0.3),    # centre 21.0: 1.0 s out, unlabelled
        ("caller", 31.0, 34.0, 1.2, 0.3, 0.8, 0.2),    # far: 0, short
        ("caller", 35.0, 38.0, 2.8, 0.1, 0.9, 0.3),    # far: 0, long
        ("caller", 50.0, 53.0, 0.0, np.nan, np.nan, np.nan),   # not scored
        ("agent", 0.5, 3.5, 2.6, 0.2, 0.9, 0.1),       # neutral
        ("agent", 3.5, 6.5, 2.6, 0.3, 0.5, 0.5),       # 1.5 s neutral, 1.5 s happy: no emotion
        ("agent", 6.0, 9.0, 1.6, 0.4, 0.2, 0.8),       # happy
    ])
    rows = wr.window_rows(truth, w)
    assert len(rows) == 8
    assert np.array_equal(rows.caller_anger_label.to_numpy(), [1, 1, np.nan, 0, 0] + [np.nan] * 3, equal_nan=True)
    assert rows.emotion.fillna("-").tolist() == ["anger", "anger", "anger", "neutral", "neutral", "neutral", "-",
                                                 "happiness"]
    t = wr.reliability(rows).set_index(["what", "speech_s"])
    ca = t.loc["caller anger (evaluate_calls.py labels)"]
    assert ca.loc["all", "n"] == 4 and ca.loc["all", "auc"] == 1.0
    assert ca.loc["all", "mean_pos"] == pytest.approx(0.85) and ca.loc["all", "mean_neg"] == pytest.approx(0.2)
    assert ca.loc["[1.0, 1.5)", "n"] == 2 and ca.loc["[2.5, 3.01)", "n"] == 2
    warm = t.loc["warmth (utterance emotions, both speakers)"]
    # positives: the agent's happy window (0.8); negatives: 3 anger + 2 caller neutral + 1 agent neutral windows
    assert warm.loc["all", "n"] == 7 and warm.loc["all", "n_pos"] == 1 and warm.loc["all", "mean_pos"] == 0.8
    assert "| caller anger (evaluate_calls.py labels) | all | 4 (2) | 1.000 | 0.850 | 0.200 |" in \
        wr.markdown(wr.reliability(rows), ["d"], 1)
