"""scripts/corpus_count.py: the held-out corpora's metrics by the number of corpora trained on."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scriptload import load_script

cc = load_script("corpus_count.py", "tonekit_corpus_count")


def test_training_sets_are_every_proper_subset_smallest_first():
    sets = cc.training_sets(["turev", "emodb", "nemo", "ravdess"])
    assert len(sets) == 4 + 6 + 4
    assert [len(s) for s in sets] == sorted(len(s) for s in sets)
    assert sets[0] == ("emodb",) and sets[-1] == ("nemo", "ravdess", "turev")
    assert len(set(sets)) == len(sets)
    assert cc.training_sets(["a", "b"]) == [("a",), ("b",)]


def _scores(test, train, slope, seed, n=4000):
    """Balanced labels and probabilities whose calibration line has the given slope (intercept 0)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    z = np.where(y == 1, 0.5 / slope, -0.5 / slope) + rng.normal(0, 1 / slope, 2 * n)
    return pd.DataFrame({"target": "anger", "condition": "wideband", "train": train, "test": test, "y": y,
                         "p": expit(z)})


def test_each_held_out_corpus_weighs_the_same_whatever_its_number_of_training_sets():
    # k = 1: corpus "a" is scored by two training sets (both calibrated), corpus "c" by one (over-confident)
    pred = pd.concat([_scores("a", "b", 1.0, 0), _scores("a", "c", 1.0, 1), _scores("c", "a", 0.4, 2)],
                     ignore_index=True)
    rows = cc.fit_rows(pred)
    assert sorted(rows.k) == [1, 1, 1]
    assert rows.set_index(["train", "test"]).loc[("b", "a"), "slope"] == pytest.approx(1.0, abs=0.1)
    assert rows.set_index(["train", "test"]).loc[("a", "c"), "slope"] == pytest.approx(0.4, abs=0.05)
    means, per_corpus = cc.curves(rows)
    per = per_corpus.set_index("test")
    assert per.loc["a", "ece_balanced"] < 0.03 < per.loc["c", "ece_balanced"]
    # the mean over corpora, not over the three fits
    assert means.ece_balanced.iloc[0] == pytest.approx(per.ece_balanced.mean(), abs=1e-12)
    assert means.ece_balanced.iloc[0] != pytest.approx(rows.ece_balanced.mean(), abs=1e-3)


def test_k_is_read_from_the_training_set():
    pred = pd.concat([_scores("d", "a+b+c", 1.0, 3), _scores("d", "a", 1.0, 4)], ignore_index=True)
    means, _ = cc.curves(cc.fit_rows(pred))
    assert list(means.k) == [1, 3]


def test_main_reads_predictions_and_writes_the_tables(tmp_path, capsys):
    src = tmp_path / "pred.parquet"
    pd.concat([_scores("a", "b", 1.0, 5), _scores("b", "a", 0.5, 6)], ignore_index=True).to_parquet(src)
    out = tmp_path / "count.json"
    assert cc.main(["--predictions", str(src), "--targets", "anger", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [r["k"] for r in data["means"]] == [1]
    assert {r["test"] for r in data["per_corpus"]} == {"a", "b"}
    assert sorted((r["train"], r["test"]) for r in data["fits"]) == [("a", "b"), ("b", "a")]
    assert "ece_balanced" in out.with_suffix(".md").read_text()
    assert "Per held-out corpus" in capsys.readouterr().out


def test_unknown_target_and_missing_file_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cc.main(["--predictions", "x.parquet", "--targets", "joy"])
    assert "joy is not a target" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cc.main(["--predictions", str(tmp_path / "none.parquet")])
    assert "none.parquet: no such file" in capsys.readouterr().err
