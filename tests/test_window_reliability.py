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
    # every window on the right side of 0.5; even-odds ECE: each window a quarter of the weight, alone in its
    # bin, off by 0.1, 0.2, 0.3 and 0.1
    assert ca.loc["all", "uar"] == 1.0 and ca.loc["all", "ece_balanced"] == pytest.approx(0.175)
    assert "| caller anger (evaluate_calls.py labels) | all | 4 (2) | 1.000 | 1.000 | 0.175 | 0.850 | 0.200 |" in \
        wr.markdown(wr.reliability(rows), ["d"], 1)
    # by the call's corpus: the two first caller windows from one corpus, the two far ones from another
    rows = rows.assign(corpus=["a", "a", "a", "b", "b", "b", "b", "b"])
    c = wr.reliability(rows, by="corpus").set_index(["what", "speech_s"]).loc["caller anger (evaluate_calls.py labels)"]
    assert c.loc["a", "n"] == 2 and c.loc["a", "n_pos"] == 2 and np.isnan(c.loc["a", "auc"])
    assert c.loc["b", "mean_neg"] == pytest.approx(0.2) and c.loc["all", "ece_balanced"] == pytest.approx(0.175)
    text = wr.markdown(wr.reliability(rows), ["d"], 1, by_corpus=wr.reliability(rows, by="corpus"))
    assert "| caller anger (evaluate_calls.py labels) | b | 2 (0) |" in text


def test_uar_and_ece_at_even_odds():
    """One of two positives and one of two negatives on the wrong side of 0.5: UAR 0.5. Three negatives in
    one bin (0.25) beside one positive (0.95): the negatives' mean error weighs half, 0.25, the positive's 0.05."""
    s = wr._stats([1, 1, 0, 0], [0.9, 0.4, 0.3, 0.6])
    assert s["uar"] == 0.5 and s["auc"] == 0.75
    s = wr._stats([1, 0, 0, 0], [0.95, 0.25, 0.25, 0.25])
    assert s["uar"] == 1.0
    assert s["ece_balanced"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.25)
