"""Recalibrating a model for a population: the calibration line, the card's recalibration, tonekit recalibrate."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner
from synth import syllable_train

from tonekit.cli import main
from tonekit.errors import ModelError, ParameterError
from tonekit.features.windows import MODEL_FEATURES
from tonekit.models.store import load_model, recalibrated, sha256, shipped_dir, write_card
from tonekit.models.train import RECALIBRATION_PRIOR, calibration_line, ece, recalibrate_model


def _scores(n, slope, intercept, seed):
    """Balanced labels and probabilities whose labels' true log-odds at even odds are ``slope * logit(p) +
    intercept`` (logit(p) given the class is normal with unit variance)."""
    rng = np.random.default_rng(seed)
    mid = -intercept / slope
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    z = np.where(y == 1, mid + slope / 2, mid - slope / 2) + rng.normal(0, 1, 2 * n)
    return y, 1 / (1 + np.exp(-z))


def test_calibration_line_recovers_a_known_line():
    y, p = _scores(20000, 2.0, -1.0, 0)
    assert calibration_line(y, p, prior=0) == pytest.approx((2.0, -1.0), abs=0.05)
    # the prior weighs as about 10 recordings: against 40000 it changes nothing that matters
    assert calibration_line(y, p) == pytest.approx((2.0, -1.0), abs=0.05)
    # and the line calibrates: even-odds ECE falls from the miscalibrated to the calibrated level
    a, b = calibration_line(y, p)
    assert ece(y, recalibrated(p, a, b), balanced=True) < 0.02 < 0.1 < ece(y, p, balanced=True)


def test_the_prior_holds_a_few_separated_recordings_near_the_models_own_line():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.2, 0.3, 0.4, 0.6, 0.7, 0.8])            # perfectly separated: no finite maximum-likelihood line
    a, b = calibration_line(y, p)
    assert np.isfinite([a, b]).all() and 1 < a < 10 and abs(b) < 1
    a0, _ = calibration_line(y, p, prior=1e-3)
    assert a0 > 2 * a                                       # without it the slope runs away
    # scores that rank the labels backwards flatten the line; they never turn the ranking around
    a1, _ = calibration_line(y, p[::-1], prior=0)
    assert a1 == pytest.approx(0.01)
    with pytest.raises(ValueError, match="both classes"):
        calibration_line([1, 1], [0.4, 0.6])


def _features(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0, 1, (n, len(MODEL_FEATURES))), columns=list(MODEL_FEATURES))


def _copy_shipped(tmp_path, target="anger"):
    shutil.copy(shipped_dir() / f"{target}.skops", tmp_path / f"{target}.skops")
    shutil.copy(shipped_dir() / f"{target}.json", tmp_path / f"{target}.json")
    return tmp_path / f"{target}.skops"


def test_a_cards_recalibration_applies_to_every_probability(tmp_path):
    path = _copy_shipped(tmp_path)
    base = load_model(path).predict_proba(_features())
    card = json.loads(path.with_suffix(".json").read_text())
    card["recalibration"] = {"slope": 0.5, "intercept": -1.0}
    write_card(path.with_suffix(".json"), card)
    got = load_model(path).predict_proba(_features())
    z = np.log(base / (1 - base))
    assert got == pytest.approx(1 / (1 + np.exp(-(0.5 * z - 1.0))), abs=1e-9)
    assert not np.allclose(got, base)


@pytest.mark.parametrize("bad", [{"slope": -1.0, "intercept": 0.0}, {"slope": 0, "intercept": 0.0},
                                 {"slope": "2", "intercept": 0.0}, {"slope": 1.0}, [1, 0],
                                 {"slope": float("inf"), "intercept": 0.0}])
def test_a_card_with_a_bad_recalibration_is_refused(tmp_path, bad):
    path = _copy_shipped(tmp_path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["recalibration"] = bad
    write_card(path.with_suffix(".json"), card)
    with pytest.raises(ModelError, match=r"anger\.json: its recalibration needs a positive slope and an intercept"):
        load_model(path)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """Twelve synthetic recordings of two speakers, labelled anger (fast, high, loud) or neutral, as a manifest."""
    root = tmp_path_factory.mktemp("people")
    rows = []
    for spk, f0 in (("s1", 110.0), ("s2", 200.0)):
        for i in range(6):
            angry = i % 2 == 0
            y = syllable_train(5.5 if angry else 3.5, 2.0, 16000, f0 * (1.3 if angry else 1.0),
                               level=0.5 if angry else 0.15, rng=np.random.default_rng(10 * len(rows)))[0]
            sf.write(root / f"{spk}_{i}.flac", y, 16000)
            rows.append(f"{spk}_{i}.flac,{spk},{'anger' if angry else 'neutral'}")
    manifest = root / "people.csv"
    manifest.write_text("path,speaker,emotion\n" + "\n".join(rows) + "\n")
    return manifest


def test_recalibrate_model_writes_the_line_of_its_recordings(people, tmp_path):
    from tonekit.models.corpora import load_corpora, targets
    from tonekit.models.features import corpus_features

    out = tmp_path / "mine" / "anger.skops"
    # the shipped model hears these synthetic buzzes backwards (the loud, fast, high ones least angry): the line
    # flattens to the smallest slope instead of turning the ranking around, and the user is told
    with pytest.warns(UserWarning, match=r"anger: on these recordings the model ranks anger no better than chance "
                                         r"\(ROC AUC 0\.00\)"):
        card = recalibrate_model("anger", [people], out, cache_dir=tmp_path / "cache")
    rec = card["recalibration"]
    assert rec["slope"] == pytest.approx(0.01)
    # the line is calibration_line of the shipped model's probabilities on these recordings
    table = targets(load_corpora([people]))
    p = load_model("anger").predict_proba(corpus_features(table, "wideband", cache_dir=tmp_path / "cache"))
    y = table.anger.astype(int).to_numpy()
    assert (rec["slope"], rec["intercept"]) == pytest.approx(calibration_line(y, p), abs=1e-5)
    assert rec["slope"] > 0 and rec["n"] == 12 and rec["n_speakers"] == 2 and rec["positive_share"] == 0.5
    assert rec["prior"] == RECALIBRATION_PRIOR and rec["condition"] == "wideband"
    assert rec["data"] == [str(people.resolve())]
    assert rec["ece_balanced_before"] == pytest.approx(ece(y, p, balanced=True), abs=1e-4)
    # the model file is the shipped one, byte for byte; the written model applies the line
    assert sha256(out) == sha256(shipped_dir() / "anger.skops") == card["sha256"]
    mine = load_model(out)
    assert mine.card["recalibration"]["slope"] == rec["slope"]
    q = mine.predict_proba(corpus_features(table, "wideband", cache_dir=tmp_path / "cache"))
    assert q == pytest.approx(recalibrated(p, rec["slope"], rec["intercept"]), abs=1e-6)
    # recalibrating a recalibrated model refits from its own probabilities: the same line, not a second one
    with pytest.warns(UserWarning, match="no better than chance"):
        again = recalibrate_model(out, [people], tmp_path / "again.skops", cache_dir=tmp_path / "cache")
    assert again["recalibration"]["slope"] == rec["slope"]
    assert again["recalibration"]["intercept"] == rec["intercept"]


def test_recalibrate_needs_enough_of_each_class_before_any_work(people, tmp_path):
    few = tmp_path / "few.csv"
    lines = people.read_text().splitlines()
    few.write_text("\n".join([lines[0]] + [f"{people.parent / ln}" for ln in lines[1:] if ln.startswith("s1")]) + "\n")
    cache = tmp_path / "cache"
    with pytest.raises(ParameterError, match=r"few\.csv: recalibrating anger needs at least 5 recordings of each "
                                             r"class \(anger / .*\); found 3 and 3"):
        recalibrate_model("anger", [few], tmp_path / "x.skops", cache_dir=cache)
    assert not cache.exists() and not (tmp_path / "x.skops").exists()


def test_cli_recalibrate(people, tmp_path):
    out = tmp_path / "anger.skops"
    r = CliRunner().invoke(main, ["recalibrate", "anger", str(people), "-o", str(out), "-j", "1"],
                           env={"TONEKIT_CACHE": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output
    rec = load_model(out).card["recalibration"]
    assert "no better than chance" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"wrote {out}: slope {rec['slope']:.3f}, intercept {rec['intercept']:+.3f} from 12 recordings of 2 speakers; "
        f"even-odds ECE on them {rec['ece_balanced_before']:.3f} -> {rec['ece_balanced_after']:.3f}")
    r = CliRunner().invoke(main, ["recalibrate", "anger", str(people), "-o", str(tmp_path / "anger.txt")])
    assert r.exit_code == 2 and "use a .skops file" in r.output


def test_a_call_analysed_with_a_recalibrated_model_says_so_and_reads_through_the_line(tmp_path):
    import tonekit

    for t in ("anger", "calm", "warmth"):
        _copy_shipped(tmp_path, t)
    card = json.loads((tmp_path / "anger.json").read_text())
    card["recalibration"] = {"slope": 0.5, "intercept": -1.0}
    write_card(tmp_path / "anger.json", card)
    shipped = tonekit.analyze(tonekit.demo_path())
    mine = tonekit.analyze(tonekit.demo_path(), models=tmp_path)
    assert shipped.options["recalibration"] is None
    assert mine.options["recalibration"] == {"anger": [0.5, -1.0]}
    a, b = shipped.windows.anger.to_numpy(), mine.windows.anger.to_numpy()
    scored = np.isfinite(a)
    assert scored.sum() > 20 and np.array_equal(scored, np.isfinite(b))
    assert b[scored] == pytest.approx(recalibrated(a[scored], 0.5, -1.0), abs=1e-9)
    assert mine.windows.calm.equals(shipped.windows.calm)
    from tonekit.report.text import render_text
    text = render_text(mine, color=False)
    assert "Models recalibrated for this population (tonekit recalibrate): anger slope 0.50, intercept -1.00" in text
    assert "recalibrated" not in render_text(shipped, color=False)
    from tonekit.report.html import render_html
    assert "anger slope 0.50, intercept -1.00" in render_html(mine)
    assert "recalibrated" not in render_html(shipped)


def test_evaluating_on_the_recalibrations_own_recordings_warns(people, tmp_path):
    from tonekit.models.train import evaluate_model

    out = tmp_path / "anger.skops"
    with pytest.warns(UserWarning, match="no better than chance"):
        recalibrate_model("anger", [people], out, cache_dir=tmp_path / "cache")
    with pytest.warns(UserWarning, match=r"people\.csv: the model was recalibrated on these recordings"):
        res = evaluate_model(out, [people], cache_dir=tmp_path / "cache", conditions=("wideband",))
    assert res.n.tolist() == [12]


def test_cli_recalibrate_leaves_a_bad_recording_out_and_says_so(people, tmp_path):
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"not audio at all")
    manifest = tmp_path / "with_bad.csv"
    manifest.write_text("path,speaker,emotion\n" + "".join(
        f"{people.parent / ln.split(',', 1)[0]},{ln.split(',', 1)[1]}\n" for ln in people.read_text().splitlines()[1:])
        + f"{bad},s3,anger\n")
    out = tmp_path / "anger.skops"
    r = CliRunner().invoke(main, ["recalibrate", "anger", str(manifest), "-o", str(out), "-j", "1"],
                           env={"TONEKIT_CACHE": str(tmp_path / "cache")})
    assert r.exit_code == 1, r.output
    assert "broken.flac" in r.stderr and "left out of the recalibration" in r.stderr
    rec = load_model(out).card["recalibration"]
    assert rec["n"] == 12 and rec["n_speakers"] == 2
    assert len(rec["left_out"]) == 1 and "broken.flac" in rec["left_out"][0]


def test_recalibrate_through_the_phone_line(people, tmp_path):
    from tonekit.models.corpora import load_corpora, targets
    from tonekit.models.features import corpus_features

    with pytest.raises(ParameterError, match="condition must be one of wideband, telephone, not 'gsm'"):
        recalibrate_model("anger", [people], tmp_path / "x.skops", condition="gsm", cache_dir=tmp_path / "cache")
    card = recalibrate_model("calm", [people], tmp_path / "calm.skops", condition="telephone",
                             cache_dir=tmp_path / "cache")
    rec = card["recalibration"]
    table = targets(load_corpora([people]))
    p = load_model("calm").predict_proba(corpus_features(table, "telephone", cache_dir=tmp_path / "cache"))
    y = table.calm.astype(int).to_numpy()
    assert rec["condition"] == "telephone" and card["target"] == "calm"
    assert (rec["slope"], rec["intercept"]) == pytest.approx(calibration_line(y, p), abs=1e-5)
