"""scripts/calibration_limits.py: calibration lines per held-out corpus, and the best single recalibration."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scriptload import load_script

cl = load_script("calibration_limits.py", "tonekit_calibration_limits")


def _group(n, slope, intercept, seed):
    """Balanced labels and model log-odds ``z`` whose true log-odds at even odds are ``slope * z + intercept``
    (z given the class is normal with unit variance: the log-likelihood ratio is linear in z)."""
    rng = np.random.default_rng(seed)
    mid = -intercept / slope
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    z = np.where(y == 1, mid + slope / 2, mid - slope / 2) + rng.normal(0, 1, 2 * n)
    return y, z


def test_calibration_line_recovers_a_known_slope_and_intercept():
    y, z = _group(20000, 2.0, -1.0, 0)
    a, b = cl.calibration_line(y, cl.expit(z))
    assert a == pytest.approx(2.0, abs=0.05)
    assert b == pytest.approx(-1.0, abs=0.05)
    assert cl.even_odds_p(a, b) == pytest.approx(cl.expit(0.5), abs=0.01)   # 2z - 1 = 0 at z = 0.5


def test_calibration_line_of_calibrated_scores_is_the_identity():
    y, z = _group(20000, 1.0, 0.0, 1)
    a, b = cl.calibration_line(y, cl.expit(z))
    assert (a, b) == pytest.approx((1.0, 0.0), abs=0.05)
    assert cl.even_odds_p(a, b) == pytest.approx(0.5, abs=0.01)


def test_common_affine_finds_the_map_the_groups_share():
    groups = [_group(5000, 2.0, -1.0, s) for s in (2, 3)]
    best = cl.common_affine(groups)
    assert best["slope"] == pytest.approx(2.0, abs=0.3)
    assert best["intercept"] == pytest.approx(-1.0, abs=0.25)
    assert best["mean"] < 0.03 < cl._mean_ece(groups, 1.0, 0.0)[0]


def test_no_common_map_fixes_groups_that_disagree():
    # the same slope, intercepts -1.5 and +1.5: each group alone is fixed by its own line, no single map fixes both
    groups = [_group(5000, 1.0, -1.5, 4), _group(5000, 1.0, 1.5, 5)]
    shipped = cl._mean_ece(groups, 1.0, 0.0)[0]
    common = cl.common_affine(groups)
    iso = cl.common_isotonic(groups)
    own = cl.own_affine(groups)
    assert own["mean"] < 0.02
    assert common["mean"] <= shipped
    assert min(common["mean"], iso["mean"]) > 4 * own["mean"]
    assert common["slope"] < 1   # the best it can do is draw every probability toward 0.5


def test_two_gaussians_find_the_line_without_labels():
    """Unit-variance classes at known means: the two Gaussians fitted to the log-odds alone give the even-odds
    line the labels would, for a balanced population."""
    y, z = _group(20000, 3.0, -1.0, 6)
    a, b = cl.two_gaussian_line(z)
    assert (a, b) == pytest.approx((3.0, -1.0), abs=0.15)
    assert cl.ece(y, cl.expit(a * z + b), balanced=True) < 0.02 < cl.ece(y, cl.expit(z), balanced=True)


def test_many_rows_of_ece_at_once_are_the_library_ece():
    y, z = _group(700, 1.5, 0.3, 8)
    P = np.stack([cl.expit(a * z + b) for a, b in ((1.0, 0.0), (0.4, -1.0), (2.5, 0.7))])
    assert cl.balanced_ece_rows(y, P) == pytest.approx([cl.ece(y, p, balanced=True) for p in P], abs=1e-12)


def _pred():
    rows = []
    for name, (slope, intercept, seed) in {"calibrated": (1.0, 0.0, 6), "shifted": (1.0, 2.0, 7)}.items():
        y, z = _group(3000, slope, intercept, seed)
        rows.append(pd.DataFrame({"target": "anger", "test": name, "condition": "wideband", "y": y, "p": cl.expit(z)}))
    return pd.concat(rows, ignore_index=True)


def test_tables_name_the_corpus_that_is_off():
    pred = _pred()
    per = cl.corpus_rows(pred).set_index("test")
    assert per.loc["calibrated", "ece_balanced"] < 0.03 < per.loc["shifted", "ece_balanced"]
    assert per.loc["shifted", "intercept"] == pytest.approx(2.0, abs=0.15)
    bounds = cl.bound_rows(pred).iloc[0]
    assert bounds.worst_shipped.startswith("shifted ")
    assert bounds.own_affine < bounds.common_affine <= bounds.shipped


def test_main_reads_predictions_and_writes_the_tables(tmp_path, capsys):
    src = tmp_path / "pred.parquet"
    _pred().to_parquet(src)
    out = tmp_path / "limits.json"
    assert cl.main(["--predictions", str(src), "--targets", "anger", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {r["test"] for r in data["per_corpus"]} == {"calibrated", "shifted"}
    assert len(data["bounds"]) == 1
    assert "common_affine" in out.with_suffix(".md").read_text()
    assert "shifted" in capsys.readouterr().out


def test_unknown_target_is_refused(capsys):
    with pytest.raises(SystemExit):
        cl.main(["--predictions", "x.parquet", "--targets", "anger,joy"])
    assert "joy is not a target" in capsys.readouterr().err


def test_missing_predictions_file_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cl.main(["--predictions", str(tmp_path / "none.parquet")])
    assert "none.parquet: no such file" in capsys.readouterr().err


def test_a_few_speakers_of_a_corpus_recalibrate_it_for_the_others():
    # two corpora off in opposite directions, six speakers each: a line fitted on 2 or 4 of a corpus's speakers
    # (as tonekit recalibrate fits it) calibrates its other speakers
    rows = []
    for name, intercept, seed in (("low", -1.5, 9), ("high", 1.5, 10)):
        y, z = _group(1800, 1.0, intercept, seed)
        rows.append(pd.DataFrame({"target": "anger", "test": name, "condition": "wideband", "y": y, "p": cl.expit(z),
                                  "speaker": [f"{name}{i % 6}" for i in range(len(y))]}))
    few = cl.few_speaker_rows(pd.concat(rows, ignore_index=True), ks=(2, 4), draws=5).set_index("k")
    assert list(few.index) == [2, 4] and (few.corpora == 2).all()
    assert (few.before > 0.2).all() and (few.after < 0.05).all()


def test_small_sets_compare_priors_and_pick_one_without_the_corpus():
    rows = []
    for name, intercept, seed in (("low", -1.5, 11), ("high", 1.5, 12), ("mid", 0.5, 13)):
        y, z = _group(900, 1.0, intercept, seed)
        rows.append(pd.DataFrame({"target": "anger", "test": name, "condition": "wideband", "y": y, "p": cl.expit(z),
                                  "speaker": [f"{name}{i % 6}" for i in range(len(y))]}))
    means, nested = cl.small_set_rows(pd.concat(rows, ignore_index=True), per_class=(25,), draws=4)
    names = [f"prior_{p:g}" for p in cl.PRIORS]
    assert list(means.columns) == ["target", "condition", "per_class", "before", *names]
    # every prior's line, from 25 recordings of each class, calibrates the corpora better than none
    assert (means[names].to_numpy() < means[["before"]].to_numpy()).all()
    assert sorted(nested.test) == ["high", "low", "mid"] and set(nested.pick) <= set(names)
    assert (nested.with_pick < nested.before).all()


def test_half_oracles_tell_which_half_of_the_line_the_groups_disagree_on():
    # the same intercept at z = 0, slopes 0.5 and 2: knowing each group's slope fixes both, knowing each
    # group's intercept does not
    slopes = [_group(5000, 0.5, 0.0, 14), _group(5000, 2.0, 0.0, 15)]
    h = cl.half_oracles(slopes)
    assert h["own_slope"] < 0.03 < h["own_intercept"]
    # the same slope, intercepts -1.5 and +1.5: the other way round
    shifts = [_group(5000, 1.0, -1.5, 4), _group(5000, 1.0, 1.5, 5)]
    h = cl.half_oracles(shifts)
    assert h["own_intercept"] < 0.03 < h["own_slope"]


def test_pooled_ece_lets_opposite_errors_cancel():
    # even odds at z = 0 in both groups, slopes 0.5 (over-confident) and 2 (under-confident): each group is off,
    # in opposite directions, and pooled they nearly cancel
    groups = [_group(10000, 0.5, 0.0, 14), _group(10000, 2.0, 0.0, 15)]
    each = cl._mean_ece(groups, 1.0, 0.0)[0]
    assert each > 0.08
    assert cl.pooled_ece(groups) < 0.25 * each
    # one group alone: the pooled figure is that group's even-odds ECE
    y, z = groups[0]
    assert cl.pooled_ece(groups[:1]) == pytest.approx(cl.ece(y, cl.expit(z), balanced=True), abs=1e-12)
