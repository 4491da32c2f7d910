"""scripts/evaluate.py: every model of the evaluation is trained on its training speakers' rows only, the
reference-mix copies included."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from scriptload import load_script

ev = load_script("evaluate.py", "tonekit_evaluate")

FITS = []


class Spy(ClassifierMixin, BaseEstimator):
    """Records the speakers (``groups``) and rows of every fit; predicts the feature as the probability."""

    def fit(self, X, y, sample_weight=None, groups=None):
        FITS.append({"speakers": set(groups), "n": len(X), "copies": int((X["x"] > 100).sum()),
                     "weights": None if sample_weight is None else np.asarray(sample_weight)})
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.clip(np.asarray(X["x"], float) % 1, 0, 1)
        return np.c_[1 - p, p]


def _table():
    rows = []
    for corpus in ("c1", "c2"):
        for s in range(6):
            for k in range(4):
                rows.append({"corpus": corpus, "speaker": f"{corpus}_{s}", "anger": float(k % 2)})
    return pd.DataFrame(rows)


def test_reference_mix_copies_train_with_their_own_speakers_only():
    table = _table()
    rng = np.random.default_rng(0)
    fw = pd.DataFrame({"x": rng.uniform(0, 1, len(table))})
    ft = pd.DataFrame({"x": rng.uniform(0, 1, len(table))})
    asked = []

    def mix(rows):   # copies marked by x > 100, one row per training row and line
        asked.append(set(table.speaker[rows]))
        return (pd.DataFrame({"x": 200 + fw.x[rows].to_numpy()}, index=table.index[rows]),
                pd.DataFrame({"x": 300 + ft.x[rows].to_numpy()}, index=table.index[rows]))

    FITS.clear()
    rows = ev.evaluate(table, fw, ft, Spy(), "anger", corpora=["c1", "c2"], mix=mix)
    assert {(r["protocol"], r["condition"]) for r in rows} == {(p, c) for p in ("within", "cross")
                                                                for c in ("wideband", "telephone")}
    # within: 5 speaker-grouped folds per corpus; each model sees the two lines and the two mixed copies of
    # its training speakers, never a copy of a held-out speaker
    within = [f for f in FITS if f["weights"] is None]          # one corpus: no corpus weights
    cross = [f for f in FITS if f["weights"] is not None]
    assert len(within) == 10 and len(cross) == 2
    for f, a in zip(FITS, asked):
        assert a == f["speakers"]                       # copies asked for exactly the training speakers
        assert f["n"] == 4 * 4 * len(f["speakers"]) and f["copies"] == f["n"] // 2
    for f in within:                                     # 4 or 5 of a corpus's 6 speakers
        assert len(f["speakers"]) in (4, 5)
    for f, held_out in zip(cross, ("c1", "c2")):         # the other corpus, all four copies weighted alike
        assert len(f["speakers"]) == 6 and not any(s.startswith(held_out) for s in f["speakers"])
        assert np.allclose(f["weights"], 1.0)
    # without a mix: the plain two lines only
    FITS.clear()
    ev.evaluate(table, fw, ft, Spy(), "anger", corpora=["c1"], mix=None)
    assert all(f["copies"] == 0 for f in FITS)


def test_an_unseen_condition_is_scored_by_the_cross_corpus_models_only():
    """``extra`` test conditions (the GSM line) never train a model: each cross-corpus model scores them as
    it scores the two lines, and the within-corpus rows keep the two lines only."""
    from tonekit.models.train import metrics

    table = _table()
    rng = np.random.default_rng(1)
    fw, ft, fg = (pd.DataFrame({"x": rng.uniform(0, 1, len(table))}) for _ in range(3))
    FITS.clear()
    rows = ev.evaluate(table, fw, ft, Spy(), "anger", corpora=["c1", "c2"], extra={"gsm": fg})
    assert {(r["protocol"], r["condition"]) for r in rows} == (
        {(p, c) for p in ("within", "cross") for c in ("wideband", "telephone")} | {("cross", "gsm")})
    assert len(FITS) == 12 and all(f["n"] == 2 * 4 * len(f["speakers"]) for f in FITS)   # two lines only
    for r in rows:
        if r["condition"] == "gsm":                      # the Spy's probability is the feature: known metrics
            held = (table.corpus == r["corpus"]).to_numpy()
            assert r["auc"] == metrics(table.anger[held].astype(int), fg.x[held])["auc"]


@pytest.mark.parametrize("n_copies", [1, 2])
def test_copies_train_with_their_own_speakers_rows_only(n_copies):
    """A GSM copy (one condition) or the crop copies (two, one per line) join each model's training rows:
    exactly its training speakers' rows of each copy."""
    import functools

    table = _table()
    rng = np.random.default_rng(2)
    fw, ft = (pd.DataFrame({"x": rng.uniform(0, 1, len(table))}) for _ in range(2))
    fg = pd.DataFrame({"x": 200 + np.arange(len(table), dtype=float)})   # copies marked by x > 100
    FITS.clear()
    ev.evaluate(table, fw, ft, Spy(), "anger", corpora=["c1", "c2"],
                mix=functools.partial(ev._copies, (fg,) * n_copies))
    assert len(FITS) == 12
    k = 2 + n_copies
    for f in FITS:   # the two lines and the copies of each training speaker's 4 rows
        assert f["n"] == k * 4 * len(f["speakers"]) and f["copies"] == n_copies * f["n"] // k


def test_joined_mixes_add_the_noisy_copies_and_an_explorations_after_them():
    """The shipped recipe's noisy copies (two conditions) and an exploration's GSM copy, joined: each model's
    training has its speakers' rows of all three, in that order; no mix at all is None."""
    import functools

    assert ev._joined([None]) is None and ev._joined([]) is None
    table = _table()
    n = len(table)
    noisy = tuple(pd.DataFrame({"x": base + np.arange(n, dtype=float)}) for base in (1000, 2000))
    gsm = pd.DataFrame({"x": 3000 + np.arange(n, dtype=float)})
    mix = ev._joined([functools.partial(ev._copies, noisy), None, functools.partial(ev._copies, (gsm,))])
    rows = (table.corpus == "c1").to_numpy()
    got = mix(rows)
    assert len(got) == 3
    for f, base in zip(got, (1000, 2000, 3000)):
        np.testing.assert_array_equal(f.x.to_numpy(), base + np.flatnonzero(rows))
    FITS.clear()
    rng = np.random.default_rng(3)
    fw, ft = (pd.DataFrame({"x": rng.uniform(0, 1, n)}) for _ in range(2))
    ev.evaluate(table, fw, ft, Spy(), "anger", corpora=["c1", "c2"], mix=mix)
    for f in FITS:   # 2 lines + 3 copies of each training speaker's 4 rows
        assert f["n"] == 5 * 4 * len(f["speakers"]) and f["copies"] == 3 * 4 * len(f["speakers"])


@pytest.mark.parametrize("script", ["evaluate.py", "train_models.py", "evaluate_reference.py", "select_embedding_c.py"])
def test_scripts_say_in_one_line_that_the_corpora_are_not_there(tmp_path, script):
    """A researcher's typo in --corpora: one 'Error:' line and exit status 1, not a traceback."""
    import subprocess
    import sys
    from pathlib import Path

    r = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "scripts" / script),
                        "--corpora", str(tmp_path / "nope")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"Error: {tmp_path / 'nope'}: no such corpus folder"]
