"""Tone models: estimator conventions, safe loading, scoring, and accuracy on held-out speakers."""
from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner
from sklearn.utils.estimator_checks import parametrize_with_checks

import tonekit
from tonekit.cli import main
from tonekit.errors import ModelError, ParameterError
from tonekit.models.corpora import load_corpora, parse_emodb, parse_nemo, parse_ravdess, parse_turev, targets
from tonekit.models.estimators import FusedToneClassifier, ToneClassifier
from tonekit.models.store import load_model, load_models, shipped_dir, write_card
from tonekit.models.train import DEFAULT_PARAMS, cell_weights, corpus_weights, ece, fit_target, metrics

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def needs(*names):
    """Skip unless each corpus folder ``names`` is in ../shared/corpora (a machine may hold only some)."""
    missing = [n for n in names if not (CORPORA / n).is_dir()]
    return pytest.mark.skipif(bool(missing), reason=f"needs the corpora {', '.join(missing)} at {CORPORA}")


needs_corpora = needs("emodb", "ravdess", "nemo", "turev")   # all the shipped models were trained on


def _expected_failures(est):
    if est.kind in ("svm", "blend") or getattr(est, "fusion", "mean") == "calibrated":
        # Platt scaling fits on internal CV folds: repeating a sample changes the folds,
        # so weighting and repeating cannot agree exactly (as for sklearn's CalibratedClassifierCV), and
        # the SVM kinds stop with an IndexError where the check's zero weights empty a class from a fold;
        # the calibrated fusion's out-of-fold calibration likewise.
        return {"check_sample_weight_equivalence_on_dense_data": "internal CV folds change with repeats"}
    return {}


@parametrize_with_checks([ToneClassifier(), ToneClassifier(kind="svm", C=1.0), ToneClassifier(kind="blend", C=1.0),
                          FusedToneClassifier(kind="logreg", n_embedding=1),
                          FusedToneClassifier(kind="blend", C=1.0, n_embedding=2),
                          FusedToneClassifier(kind="blend", C=1.0, n_embedding=2, fusion="calibrated"),
                          FusedToneClassifier(kind="logreg", n_embedding=2, fusion="calibrated", average="log-odds")],
                         expected_failed_checks=_expected_failures)
def test_sklearn_conventions(estimator, check):
    check(estimator)


def _copies_of_speakers(rng, n_speakers, per=16, d=3):
    """Utterances whose label shows only in a speaker's own direction (nothing carries over to a
    new speaker), each in two near-identical copies stacked like training's wideband-then-telephone rows."""
    X, y, g = [], [], []
    for s in range(n_speakers):
        lab = np.arange(per) % 2
        base = rng.normal(0, 1.0, d) + rng.normal(0, 0.3, (per, d)) + lab[:, None] * rng.normal(0, 1, d)
        X.append(base), y.append(lab), g.append(np.full(per, s))
    X, y, g = np.vstack(X), np.concatenate(y), np.concatenate(g)
    return np.r_[X, X + rng.normal(0, 0.02, X.shape)], np.r_[y, y], np.r_[g, g]


def test_speaker_grouped_calibration_stays_at_chance_on_new_speakers():
    """Known answer: on new speakers the label cannot be predicted, so probabilities should stay near 0.5.

    Calibration folds that split the copies of an utterance (or a speaker) see the SVM "predict"
    them perfectly and make it over-confident; speaker-grouped calibration folds do not.
    """
    rng = np.random.default_rng(0)
    X, y, g = _copies_of_speakers(rng, 10)
    X_new, _, _ = _copies_of_speakers(rng, 10)
    grouped = ToneClassifier(kind="svm", C=30.0).fit(X, y, groups=g)
    folds = grouped.pipeline_["clf"].cv.test_fold
    assert all(len(np.unique(folds[g == s])) == 1 for s in np.unique(g))  # no speaker split by calibration
    assert len(np.unique(folds)) == 3
    assert np.abs(grouped.predict_proba(X_new)[:, 1] - 0.5).mean() < 0.1
    leaky = ToneClassifier(kind="svm", C=30.0).fit(X, y)
    assert np.abs(leaky.predict_proba(X_new)[:, 1] - 0.5).mean() > 0.3


def test_groups_must_match_samples():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="groups has 3 labels for 20 samples"):
        ToneClassifier(kind="svm").fit(X, y, groups=[0, 1, 2])
    # one speaker only: no grouped folds, plain 3-fold calibration
    assert ToneClassifier(kind="svm").fit(X, y, groups=np.zeros(20)).pipeline_["clf"].cv == 3
    # logistic regression needs no calibration folds: groups change nothing
    with_groups = ToneClassifier().fit(X, y, groups=np.arange(20) // 5).predict_proba(X)
    np.testing.assert_allclose(with_groups, ToneClassifier().fit(X, y).predict_proba(X))


def test_dataframe_with_the_fitted_columns_scores_as_the_validated_array():
    import warnings

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["f0", "rate", "tilt"])
    X.iloc[3, 1] = np.nan
    y = (X.f0 + 0.5 * rng.normal(size=80) > 0).astype(int)
    est = ToneClassifier(kind="blend", C=1.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "X does not have valid feature names"
        validated = est.predict_proba(X.to_numpy())     # sklearn's validate_data path
    np.testing.assert_allclose(est.predict_proba(X), validated, rtol=0, atol=1e-12)   # the shortcut
    with pytest.raises(ValueError, match="feature names"):
        est.predict_proba(X[["rate", "f0", "tilt"]])    # other order: sklearn's check still refuses it


def test_blend_is_the_mean_of_its_svm_and_logistic_regression():
    """Known answer: a blend's probability is the mean of the two models fitted alone on the same data."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(0, 0.5, 120) > 1).astype(int)
    g = np.arange(120) // 10
    w = rng.uniform(0.5, 2.0, 120)
    blend = ToneClassifier(kind="blend", C=1.0, C_logreg=0.3).fit(X, y, sample_weight=w, groups=g)
    svm = ToneClassifier(kind="svm", C=1.0).fit(X, y, sample_weight=w, groups=g)
    lr = ToneClassifier(kind="logreg", C=0.3).fit(X, y, sample_weight=w, groups=g)
    X_new = rng.normal(size=(30, 3))
    expected = (svm.predict_proba(X_new) + lr.predict_proba(X_new)) / 2
    np.testing.assert_allclose(blend.predict_proba(X_new), expected, atol=1e-12)
    # the blend's SVM is calibrated on the same speaker-grouped folds as the SVM alone
    np.testing.assert_array_equal(blend.pipeline_["clf"].estimators_[0].cv.test_fold, svm.pipeline_["clf"].cv.test_fold)
    with pytest.raises(ValueError, match="C_logreg must be a number > 0, not 0$"):
        ToneClassifier(kind="blend", C_logreg=0).fit(X, y)
    for bad in ("a", True, float("nan"), None):   # refused as settings, not a TypeError deep in scikit-learn
        with pytest.raises(ValueError, match=rf"^C must be a number > 0, not {re.escape(repr(bad))}$"):
            ToneClassifier(kind="svm", C=bad).fit(X, y)
        with pytest.raises(ValueError, match=r"^calibration_C must be a number > 0"):
            FusedToneClassifier(calibration_C=bad).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)


def test_blend_saves_and_loads_with_trusted_types_only(tmp_path):
    from tonekit.models.store import save_model

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(80, 4)), columns=["f0_st_median", "int_mean", "ln_f1", "alpha_mean"])
    y = (X.iloc[:, 0] > 0).astype(int).to_numpy()
    est = ToneClassifier(kind="blend", C=0.3).fit(X, y, groups=np.arange(80) // 8)
    save_model(est, tmp_path / "anger.skops", {"target": "anger"})
    back = load_model(tmp_path / "anger.skops").estimator
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("name,expected", [
    ("03a01Wa.flac", ("emodb_03", "anger")),
    ("16b10Fb.flac", ("emodb_16", "happiness")),
])
def test_parse_emodb(name, expected):
    lab = parse_emodb(name)
    assert (lab["speaker"], lab["emotion"]) == expected


def test_parse_other_corpora():
    assert parse_ravdess("03-01-05-02-01-02-12.flac") == {"speaker": "ravdess_12", "emotion": "anger",
                                                          "intensity": "strong"}
    assert parse_nemo("EB0_anger_1.flac")["emotion"] == "anger"
    assert parse_turev("1157_kz_acik.flac") == {"speaker": "turev_1157", "emotion": "anger", "intensity": "normal"}
    assert parse_emodb("notes.flac") is None


def _manifest(tmp_path, text, name="mine.csv", files=("a/1.wav", "a/2.wav", "b/3.wav")):
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"RIFF")          # only their existence is checked when loading
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_manifest_labels_synonyms_and_paths(tmp_path):
    from tonekit.models.corpora import load_manifest

    m = _manifest(tmp_path, "Path, Speaker, Emotion, Intensity\n"
                            "a/1.wav,s1,Angry,strong\n"
                            f"{tmp_path / 'a' / '2.wav'},s1, neutral ,\n"
                            "b/3.wav,s2,HAPPY,normal\n")
    t = load_manifest(m)
    assert t.columns.tolist() == ["path", "corpus", "speaker", "emotion", "intensity"]
    import os
    here = os.getcwd()
    try:   # a manifest named by a relative path still gives absolute paths
        os.chdir(tmp_path)
        assert load_manifest("mine.csv").path.tolist() == t.path.tolist()
    finally:
        os.chdir(here)
    assert t.path.tolist() == [str(tmp_path / "a" / "1.wav"), str(tmp_path / "a" / "2.wav"),
                               str(tmp_path / "b" / "3.wav")]
    assert t.corpus.tolist() == ["mine"] * 3
    assert t.speaker.tolist() == ["mine_s1", "mine_s1", "mine_s2"]
    assert t.emotion.tolist() == ["anger", "neutral", "happiness"]
    assert t.intensity.tolist() == ["strong", "normal", "normal"]
    y = targets(t)
    assert y.anger.tolist() == [1, 0, 0] and y.warmth.tolist() == [0, 0, 1] and y.calm.tolist() == [0, 1, 0]
    # a corpus column wins over the file name; a TSV file is read as such; load_corpora takes manifests
    tsv = _manifest(tmp_path, "path\tspeaker\temotion\tcorpus\nc/4.wav\tx\tsad\tcc\n", name="m.tsv",
                    files=("c/4.wav",))
    both = load_corpora([m, tsv])
    assert both.corpus.tolist() == ["mine"] * 3 + ["cc"] and both.speaker.iloc[-1] == "cc_x"
    assert both.emotion.iloc[-1] == "sadness"
    # one recording from two sources (here a/1.wav, in mine.csv too) is refused, not taken as two speakers'
    again = _manifest(tmp_path, "path,speaker,emotion\nc/4.wav,y,sad\n./a/1.wav,y,angry\n", name="again.csv",
                      files=())
    with pytest.raises(ParameterError, match=rf"^{re.escape(str(tmp_path / 'a' / '1.wav'))}: the same recording "
                                             rf"comes from {re.escape(str(m))} and from {re.escape(str(again))}"):
        load_corpora([m, again])
    with pytest.raises(ParameterError, match=rf"^{re.escape(str(tmp_path / 'mine.csv'))}: given twice"):
        load_corpora([m, tmp_path / "." / "mine.csv"])


@pytest.mark.parametrize("text,message", [
    ("path,emotion\na/1.wav,angry\n", r"mine.csv: manifest lacks column\(s\) speaker"),
    ("path,speaker,emotion\n", "mine.csv: manifest lists no recordings"),
    ("path,speaker,emotion\na/1.wav,s1,angry\na/2.wav,s1,grumpy\n", r"unknown emotion 'grumpy' \(line 3\)"),
    ("path,speaker,emotion\na/1.wav,s1,angry\na/9.wav,s1,sad\n",
     r"1 listed recording\(s\) not found, the first on line 3: a/9.wav"),
    ("path,speaker,emotion\na/1.wav,s1,angry\nb,s1,sad\n",
     r"mine.csv: line 3 lists b, a folder, not a recording; list each audio file"),
    ("path,speaker,emotion\na/1.wav,,angry\n", "empty speaker on line 2"),
    ("path,speaker,emotion\n,s1,angry\n", "empty path on line 2"),
    ("path,speaker,emotion\n\na/1.wav,s1,angry\n\n\na/2.wav,s1,furious\n", r"unknown emotion 'furious' \(line 6\)"),
    ("path,speaker,emotion\na/1.wav,s1,angry,extra\n",
     r"mine.csv: line 2 has 4 field\(s\), the header 3 \(path,speaker,emotion\); a field with a ',' in it"),
    ('path,speaker,emotion\na/1.wav,s1,angry\n"a/2.wav,s1,sad\na/3.wav,s2,neutral\n',
     "mine.csv: a double quote opened on line 3 is never closed"),
    ("path,speaker,emotion\na/1.wav,s1,angry\na/2.wav,s1,sad\n./a/1.wav,s1,neutral\n",
     r"line 4 lists ./a/1.wav again \(first on line 2\)"),
    ("", r"manifest lacks column\(s\) path, speaker, emotion"),
    ("path,Path ,speaker,emotion\na/1.wav,a/2.wav,s1,angry\n", "mine.csv: the header names path twice"),
])
def test_manifest_errors_name_the_file_and_line(tmp_path, text, message):
    from tonekit.models.corpora import load_manifest

    with pytest.raises(ParameterError, match=message):
        load_manifest(_manifest(tmp_path, text))


def test_a_corpus_folder_named_like_a_manifest_is_read_as_a_folder(tmp_path):
    from tonekit.models.corpora import load_manifest

    folder = tmp_path / "emodb.csv" / "wav"
    folder.mkdir(parents=True)
    (folder / "03a01Wa.wav").write_bytes(b"RIFF")
    assert load_corpora(tmp_path / "emodb.csv").emotion.tolist() == ["anger"]
    with pytest.raises(ParameterError, match=re.escape(f"{tmp_path / 'emodb.csv'}: a folder, not a manifest")):
        load_manifest(tmp_path / "emodb.csv")


def test_corpus_naming_is_told_by_the_files_before_the_folder_name(tmp_path):
    """nEMO's file names in a folder whose name says ravdess are read as nEMO; a folder name decides only
    when the files fit no convention."""
    from tonekit.models.corpora import detect_corpus

    folder = tmp_path / "ravdess_nemo_copy"
    folder.mkdir()
    for name in ("SM0_happiness_66.flac", "EB0_anger_79.flac", "KD0_neutral_7.flac"):
        (folder / name).write_bytes(b"")
    assert detect_corpus(folder) == "nemo"
    other = tmp_path / "emodb_mine"
    other.mkdir()
    (other / "take1.flac").write_bytes(b"")
    assert detect_corpus(other) == "emodb"


def test_a_corpus_folder_with_files_of_another_naming_is_refused_not_shrunk(tmp_path):
    """Emo-DB's files beside RAVDESS's, or a stray take, are named with the folder instead of left out unseen (the
    files decide the convention: here RAVDESS's, 5 of 6); a parent of corpus folders is expanded, and the one
    RAVDESS duplicate of the original release is left out without a word."""
    from tonekit.models.corpora import load_corpora, load_corpus

    mixed = tmp_path / "mine"
    mixed.mkdir()
    for name in ("03-01-05-01-01-01-01.flac", "03-01-01-01-01-01-02.flac", "03-01-03-02-02-01-03.flac",
                 "03-01-04-01-01-01-04.flac", "03-01-02-01-01-01-05.flac", "03a01Wa.flac"):
        (mixed / name).write_bytes(b"")
    with pytest.raises(ParameterError, match=re.escape(f"{mixed}: 1 of its 6 audio files do not follow the ravdess "
                                                       "naming (such as 03a01Wa.flac)")):
        load_corpus(mixed)
    (mixed / "03a01Wa.flac").unlink()
    (mixed / "03-01-03-01-02-02-07.flac").write_bytes(b"")   # the release's duplicate
    assert load_corpus(mixed).emotion.tolist() == ["neutral", "calm", "happiness", "sadness", "anger"]
    emodb = tmp_path / "corpora" / "emodb"
    emodb.mkdir(parents=True)
    (emodb / "03a01Wa.flac").write_bytes(b"")
    mixed.rename(tmp_path / "corpora" / "ravdess")
    assert load_corpora(tmp_path / "corpora").corpus.tolist() == ["emodb"] + ["ravdess"] * 5
    with pytest.raises(ParameterError, match=re.escape("1 of its 6 audio files do not follow the ravdess naming (such as corpora/emodb/03a01Wa")):
        load_corpora(tmp_path)   # the folder above: not a corpus, nor a folder of corpora
    with pytest.raises(ParameterError, match="no corpus folders or manifests given"):
        load_corpora([])


def test_target_mapping():
    import pandas as pd

    t = targets(pd.DataFrame({"emotion": ["anger", "neutral", "disgust", "surprise", "happiness"]}))
    assert t.anger.tolist() == [1, 0, 0, 0, 0]
    assert t.calm.fillna(-1).tolist() == [0, 1, -1, 0, 0]
    assert t.warmth.fillna(-1).tolist() == [0, 0, 0, -1, 1]


def test_metrics_known_values():
    y = np.array([0, 0, 1, 1])
    m = metrics(y, np.array([0.1, 0.6, 0.4, 0.9]))
    assert m["uar"] == pytest.approx(0.5)
    assert m["auc"] == pytest.approx(0.75)
    assert ece(np.array([1, 1, 0, 0]), np.array([1.0, 1.0, 0.0, 0.0])) == 0.0
    assert ece(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)


def test_variance_ratio_recovers_the_known_within_over_between_ratio():
    """Empirical-Bayes weight of the population reference: within-speaker over between-speaker variance,
    corrected for the spread that few utterances per speaker add to their means (known answers)."""
    from tonekit.models.features import variance_ratio

    rng = np.random.default_rng(7)
    spk = np.repeat(np.arange(3000), 5)                 # few utterances each: the naive ratio would be 4 / 1.8
    X = pd.DataFrame({"a": rng.normal(0, 1, 3000)[spk] + rng.normal(0, 2, len(spk)),      # ratio 4
                      "b": rng.normal(0, 2, 3000)[spk] + rng.normal(0, 1, len(spk)),      # ratio 0.25
                      "c": rng.normal(0, 1, 3000)[spk] + rng.normal(0, 1, len(spk))})     # ratio 1
    assert variance_ratio(X[["a"]], spk) == pytest.approx(4.0, rel=0.1)
    assert variance_ratio(X[["b"]], spk) == pytest.approx(0.25, rel=0.1)
    assert variance_ratio(X, spk) == pytest.approx(1.0, rel=0.1)          # the median over the columns
    # no spread between speakers at all: the population is all there is (a huge k, not a division by zero)
    assert variance_ratio(pd.DataFrame({"a": rng.normal(0, 1, len(spk))}), spk) > 10
    with pytest.raises(ValueError, match="2 speakers"):
        variance_ratio(X, np.zeros(len(spk)))


def test_shrunk_reference_weighs_own_and_population_by_n_and_k():
    from tonekit.pipeline import shrunk_reference

    own = pd.Series({"f0": 10.0, "loud": 70.0, "rate": 4.0})
    pop = {"loud": 60.0, "f0": 4.0}                     # no "rate": the speaker's own stays
    got = shrunk_reference(own, pop, 3, 1.0)
    assert got.to_dict() == pytest.approx({"f0": 8.5, "loud": 67.5, "rate": 4.0})
    assert shrunk_reference(own, pop, 3, 0.0) is own and shrunk_reference(own, None, 3, 2.0) is own
    np.testing.assert_allclose(shrunk_reference(np.array([1.0, 3.0]), np.array([3.0, 1.0]), 2, 2.0), [2.0, 2.0])


def test_balanced_ece_removes_the_test_prior_only():
    # 1 angry among 10, every probability 0.5: right at even odds, wrong for a 10 % prior
    y = np.array([1] + [0] * 9)
    p = np.full(10, 0.5)
    assert ece(y, p) == pytest.approx(0.4)
    assert ece(y, p, balanced=True) == pytest.approx(0.0)
    # a real miscalibration stays: 2 positives at 0.9, 8 negatives at 0.1
    y = np.array([1, 1] + [0] * 8)
    p = np.array([0.9, 0.9] + [0.1] * 8)
    assert ece(y, p) == pytest.approx(0.1)
    assert ece(y, p, balanced=True) == pytest.approx(0.1)
    assert np.isnan(ece(np.zeros(4), np.full(4, 0.2), balanced=True))
    assert metrics(y, p)["ece_balanced"] == pytest.approx(0.1)


def test_at_prior_is_bayes_rule_on_the_odds():
    from tonekit.models.estimators import at_prior

    # odds times prior odds: 0.5 -> the prior; 0.9 (odds 9) at a 10 % prior (odds 1/9) -> even
    np.testing.assert_allclose(at_prior([0.5, 0.9, 0.75], 0.1), [0.1, 0.5, 0.25])
    np.testing.assert_allclose(at_prior([0.2, 0.7], 0.5), [0.2, 0.7])
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="prior must be strictly between 0 and 1"):
            at_prior(0.5, bad)


def test_ece_prior_charges_miscalibration_at_the_test_sets_share_only():
    from scipy.special import expit

    # known answer: labels drawn with posterior q; the set's share of positives is pi, so the posterior at
    # even odds (what the models give) is q's odds divided by pi's. It is off for this set as it is, and
    # calibrated at even odds and once moved back to the set's share
    rng = np.random.default_rng(0)
    q = expit(rng.normal(-1.5, 2, 200000))
    y = (rng.random(len(q)) < q).astype(int)
    pi = y.mean()
    even = expit(np.log(q / (1 - q)) - np.log(pi / (1 - pi)))
    m = metrics(y, even)
    assert 0.15 < pi < 0.3
    assert m["ece"] > 0.1
    assert m["ece_balanced"] < 0.01 and m["ece_prior"] < 0.01
    assert metrics(y, q)["ece_prior"] > 0.1      # probabilities already at the prior, moved again: off


def test_shipped_models_load_with_cards():
    models = load_models()
    assert set(models) == {"anger", "calm", "warmth"}
    for t, m in models.items():
        assert m.card["target"] == t
        # the prosodic features by name, then the 256 GE2E and 1536 Whisper columns (its second, first and third
        # layers' outputs), one member each; the card names each encoder by hash
        assert m.features == (list(m.card["features"]) + [f"emb_{i}" for i in range(256)]
                              + [f"{p}{i}" for p in ("wsp_", "wsp_l1_", "wsp_l3_") for i in range(512)])
        assert [len(c) for c in m.estimator.member_columns_] == [256, 512, 512, 512]
        assert len(m.card["features"]) == len(tonekit.features_list()) == 55
        assert m.embedding_prefixes == ("emb_", "wsp_")
        for prefix, name in (("emb_", "voice_encoder"), ("wsp_", "whisper_encoder")):
            assert m.card["embedding"][prefix]["encoder_sha256"] == json.loads(
                (shipped_dir() / f"{name}.json").read_text())["sha256"]
        assert m.estimator.fusion == "calibrated"
        # the shipped recipe: anger and calm average their members in log-odds, warmth in probability
        assert m.estimator.average == DEFAULT_PARAMS[t].get("average", "probability")
        assert m.estimator.average == ("probability" if t == "warmth" else "log-odds")
        assert m.estimator.component_names_ == ["prosody/svm", "prosody/logreg", "embedding:emb_/logreg",
                                                "embedding:wsp_/logreg", "embedding:wsp_l1_/logreg",
                                                "embedding:wsp_l3_/logreg"]


def test_tone_model_picks_its_features_by_name_and_scores_as_its_estimator():
    m = load_models()["anger"]
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(5, len(m.features))), columns=m.features)
    X.iloc[1, 4] = np.nan                       # a missing feature is imputed as at training
    expected = m.estimator.predict_proba(X)[:, 1]
    shuffled = X[list(reversed(m.features))].assign(extra=1.0)   # other order, one column more
    np.testing.assert_allclose(m.predict_proba(shuffled), expected, rtol=0, atol=1e-12)
    with pytest.raises(ModelError, match=rf"^the feature table for the anger model lacks 1 of its columns "
                                         rf"\({m.features[0]}\): tonekit.features.windows.model_features makes them all$"):
        m.predict_proba(X.drop(columns=m.features[0]))
    with pytest.raises(ModelError, match="the feature table for the anger model has no column names: give a pandas "
                                         "DataFrame whose columns are named as the model's features"):
        m.predict_proba(X.to_numpy())
    # a model fitted on a feature this tonekit does not make (another version's): retrain it
    other = copy.copy(m.estimator)
    other.feature_names_in_ = np.array(["jitter_ppq9_rel", *m.features[1:]], dtype=object)
    with pytest.raises(ModelError, match=r"^the anger model expects features this tonekit does not compute "
                                         r"\(jitter_ppq9_rel\); retrain it with scripts/train_models.py$"):
        dataclasses.replace(m, estimator=other).predict_proba(X)
    # without the embedding columns a row is scored on its prosodic features alone
    prosody = X[[f for f in m.features if not f.startswith("emb_")]]
    no_emb = X.assign(**{f: np.nan for f in m.features if f.startswith("emb_")})
    expected = m.estimator.predict_proba(no_emb)[:, 1]
    np.testing.assert_allclose(m.predict_proba(prosody), expected, rtol=0, atol=1e-12)
    assert np.abs(expected - m.predict_proba(X)).max() > 1e-3    # the embedding counts when it is there


@needs_corpora
def test_corpus_features_are_those_the_shipped_models_were_trained_on(monkeypatch):
    """scripts/train_models.py keeps the features of every 150th corpus recording as it computed them
    (trained/utterance_features.json: prosody in the four training conditions, the embeddings' first
    dimensions); the code computes the same ones now, or the shipped models would no
    longer rebuild from the corpora (and the calls' scores drift from training's). Reading the floor of a
    lone recording on the frames with a signal (as a call's channel), RAVDESS's zero-padded recordings get
    other speech frames, and other features: the check sees it."""
    import tonekit.activity
    from scriptload import load_script
    from tonekit.models.features import EMBEDDING_VERSION, FEATURE_VERSION, WHISPER_VERSION

    tm = load_script("train_models.py", "tonekit_train_models")
    text = (shipped_dir() / "utterance_features.json").read_text()
    shipped = json.loads(text)
    assert (shipped["feature_version"], shipped["embedding_version"], shipped["whisper_version"]) == \
           (FEATURE_VERSION, EMBEDDING_VERSION, WHISPER_VERSION)
    assert tm.fingerprint_json(shipped) == text   # the file is the script's own writing

    def moved(now):
        assert set(now["features"]) == set(shipped["features"]) and shipped["recordings"] == 31
        out = []
        for key, was in shipped["features"].items():
            a = np.array([was[c] for c in sorted(was)], float)
            b = np.array([now["features"][key][c] for c in sorted(was)], float)
            if not np.allclose(a, b, rtol=1e-5, atol=1e-4, equal_nan=True):
                out.append(key)
        return out

    assert moved(tm.fingerprint([CORPORA])) == []
    monkeypatch.setitem(tonekit.activity.UTTERANCE_SPEECH, "signal_floor", True)
    assert [k.split("/")[0] for k in moved(tm.fingerprint([CORPORA]))] == ["ravdess", "ravdess"]


def test_tampered_model_is_refused(tmp_path):
    for f in ("anger.skops", "anger.json"):
        shutil.copy(shipped_dir() / f, tmp_path / f)
    with open(tmp_path / "anger.skops", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="does not match its model card"):
        load_model(tmp_path / "anger.skops")


def test_a_model_card_or_folder_given_as_the_model_is_said_to_be_one(tmp_path):
    for f in ("anger.skops", "anger.json"):
        shutil.copy(shipped_dir() / f, tmp_path / f)
    with pytest.raises(ModelError, match=re.escape(f"{tmp_path / 'anger.json'}: a model card, not a model: give "
                                                   f"the model beside it, {tmp_path / 'anger.skops'}")):
        load_model(tmp_path / "anger.json")
    with pytest.raises(ModelError, match=re.escape(f"{tmp_path}: a folder, not a model file")):
        load_model(tmp_path)


def test_same_model_saves_to_the_same_bytes(tmp_path):
    from tonekit.models.store import save_model

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["f0_st_median", "int_mean", "ln_f1", "alpha_mean"])
    y = (X.iloc[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int).to_numpy()
    est = ToneClassifier(kind="svm", C=1.0).fit(X, y)
    a = save_model(est, tmp_path / "a" / "anger.skops", {"target": "anger"})
    twin = ToneClassifier(kind="svm", C=1.0).fit(X, y)   # another object: other ids, same model
    b = save_model(twin, tmp_path / "b" / "anger.skops", {"target": "anger"})
    assert a["sha256"] == b["sha256"]
    assert (tmp_path / "a" / "anger.skops").read_bytes() == (tmp_path / "b" / "anger.skops").read_bytes()
    back = load_model(tmp_path / "a" / "anger.skops").estimator
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    other = save_model(ToneClassifier(kind="svm", C=2.0).fit(X, y), tmp_path / "c" / "anger.skops",
                       {"target": "anger"})
    assert other["sha256"] != a["sha256"]


def test_untrusted_type_is_refused(tmp_path):
    from fractions import Fraction

    from tonekit.models.store import save_model

    save_model(Fraction(1, 3), tmp_path / "anger.skops", {"target": "anger"})  # hash matches: only the type is bad
    with pytest.raises(ModelError, match=r"untrusted types in model file: fractions.Fraction; refusing to load"):
        load_model(tmp_path / "anger.skops")


def test_a_model_that_is_not_tonekits_is_refused(tmp_path):
    """A file of only trusted-looking scikit-learn types, with a card whose hash matches, is still refused
    unless it holds a fitted tonekit estimator; and skops's default trust (any scikit-learn estimator,
    numpy functions) is not tonekit's."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from tonekit.models.store import save_model

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["f0_st_median", "int_mean", "ln_f1"])
    y = (X.iloc[:, 0] > 0).astype(int).to_numpy()
    save_model(LogisticRegression().fit(X, y), tmp_path / "a" / "anger.skops", {"target": "anger"})
    with pytest.raises(ModelError, match=r"holds a LogisticRegression, not a tonekit tone model"):
        load_model(tmp_path / "a" / "anger.skops")
    odd = Pipeline([("f", FunctionTransformer(np.exp)), ("k", KNeighborsClassifier(3))]).fit(X, y)
    save_model(odd, tmp_path / "b" / "anger.skops", {"target": "anger"})
    with pytest.raises(ModelError, match=r"untrusted types in model file: .*numpy.exp.*"
                                         r"sklearn.neighbors._classification.KNeighborsClassifier.*sklearn.preprocessing"):
        load_model(tmp_path / "b" / "anger.skops")
    save_model(ToneClassifier(kind="logreg").fit(X.to_numpy(), y), tmp_path / "c" / "anger.skops", {"target": "anger"})
    with pytest.raises(ModelError, match="not fitted on named features"):
        load_model(tmp_path / "c" / "anger.skops")


def test_missing_card_is_refused(tmp_path):
    shutil.copy(shipped_dir() / "calm.skops", tmp_path / "calm.skops")
    with pytest.raises(ModelError, match="model card calm.json not found"):
        load_model(tmp_path / "calm.skops")


def test_a_shipped_model_loads_by_its_target_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # no file named "calm" here: the shipped model
    m = load_model("calm")
    assert m.target == "calm" and m.card["sha256"] == load_model(shipped_dir() / "calm.skops").card["sha256"]
    (tmp_path / "calm").write_text("a file of the user's called calm")   # a file of that name wins
    with pytest.raises(ModelError, match=r"^calm: not a tone model: give a \.skops file"):
        load_model("calm")
    with pytest.raises(ModelError, match=r"anger\.skops: model file not found \(the shipped models are named "
                                         r"anger, calm and warmth\)"):
        load_model(tmp_path / "anger.skops")


@pytest.mark.parametrize("kind", ["svm", "blend"])
def test_fitting_leaves_the_users_random_state_alone_and_is_deterministic(kind):
    """Fitting does not reseed NumPy's global generator (it once did, on every SVM fit: two users' seeds gave
    the same numbers after it), and the fitted model does not depend on that generator's state."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6))
    y = (X[:, 0] + rng.normal(size=240) > 0).astype(int)
    groups = np.repeat(np.arange(8), 30)
    after, probs = [], []
    for seed in (1, 2):
        np.random.seed(seed)
        probs.append(ToneClassifier(kind=kind).fit(X, y, groups=groups).predict_proba(X)[:, 1])
        after.append(np.random.rand())
    assert after[0] != after[1]
    np.testing.assert_array_equal(probs[0], probs[1])


def test_score_signal_gives_probabilities():
    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    s = tonekit.score(y, sr)
    assert set(s) == {"anger", "calm", "warmth"}
    assert all(0.0 <= v <= 1.0 for v in s.values())
    assert tonekit.score(list(y), sr) == s   # a list of samples is a signal too, not a path


@pytest.mark.parametrize("as_type", [np.asarray, list, tuple])
def test_a_signal_too_short_to_score_is_refused_without_its_samples_in_the_message(as_type):
    """0.25 s of hum between 1 s of silence: the same short message whether the samples come as an array, a
    list or a tuple (a list was once taken for a path and printed whole), and score_speaker names it
    ``<array 0>``."""
    from tonekit.errors import AudioError

    sr = 16000
    y = np.r_[np.zeros(sr), 0.1 * np.sin(2 * np.pi * 140 * np.arange(sr // 4) / sr), np.zeros(sr)]
    with pytest.raises(AudioError) as err:
        tonekit.score(as_type(y), sr)
    assert str(err.value) == "less than 0.3 s of speech"
    t = np.arange(2 * sr) / sr
    hums = [as_type(0.1 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))) for f0 in (130, 140, 150)]
    table = tonekit.score_speaker([*hums, as_type(y)], sr=sr)
    assert table.path.tolist() == [f"<array {i}>" for i in range(4)]
    assert table.error.tolist()[3] == "<array 3>: less than 0.3 s of speech" and table.error.isna()[:3].all()


def test_score_priors_move_each_target_to_its_population():
    from tonekit.models.estimators import at_prior

    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    even = tonekit.score(y, sr)
    moved = tonekit.score(y, sr, priors={"anger": 0.1, "calm": 0.7})
    assert moved["warmth"] == even["warmth"]
    assert moved["anger"] == pytest.approx(float(at_prior(even["anger"], 0.1)), abs=2e-4)
    assert moved["calm"] == pytest.approx(float(at_prior(even["calm"], 0.7)), abs=2e-4)
    with pytest.raises(ParameterError, match="unknown target 'joy'"):
        tonekit.score(y, sr, priors={"joy": 0.1})
    with pytest.raises(ParameterError, match="anger must be a share strictly between 0 and 1, not 1.0"):
        tonekit.score(y, sr, priors={"anger": 1})


def test_score_takes_a_baseline_by_name_and_refuses_one_that_is_not():
    """A baseline is the speaker's functionals by name: the utterance's own gives every relative feature 0, the
    training speakers' average (the default) does not, and a baseline without the names (an array, a partial
    dict, a table) is refused instead of scoring every file alike on imputed features."""
    from tonekit.features.frames import signal_frames
    from tonekit.features.windows import segment_functionals, speaker_baseline

    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    fr = signal_frames(y, sr)
    raw = segment_functionals(fr, [(0, fr.n_frames)])
    own = speaker_baseline(raw, min_speech_s=0.0)
    assert tonekit.score(y, sr, baseline=own) == tonekit.score(y, sr, baseline=own.to_dict())
    assert tonekit.score(y, sr, baseline=own) != tonekit.score(y, sr)
    for bad, problem in [(own.to_numpy(), "not ndarray"), ("oops", "not str"), (raw, "not a table"),
                         ({"f0_st_median": 3.0}, "baseline lacks"), (own.drop(own.index[5]), "lacks 1 of the"),
                         (own.astype(object).replace({own.iloc[0]: "x"}), "must be a number")]:
        with pytest.raises(ParameterError, match=problem):
            tonekit.score(y, sr, baseline=bad)


def test_score_array_needs_rate():
    with pytest.raises(ParameterError, match="sr"):
        tonekit.score(np.zeros(100))


def test_score_takes_one_channel_in_any_shape_and_refuses_two_or_flags():
    """A column (soundfile's always_2d) or a row is one channel and scores as the 1-D signal; two channels are
    refused with what to do; a boolean array is no audio; embeddings and models are checked, not taken truthy."""
    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    assert tonekit.score(y[:, None], sr) == tonekit.score(y[None, :], sr) == tonekit.score(y, sr)
    with pytest.raises(ParameterError, match=re.escape("got shape (32000, 2): mix the channels down")):
        tonekit.score(np.c_[y, y], sr)
    with pytest.raises(ParameterError, match="a signal must be an array of real numbers, not of bool"):
        tonekit.score(y > 0, sr)
    with pytest.raises(ParameterError, match="embeddings must be True or False, not 'no'"):
        tonekit.score(y, sr, embeddings="no")
    with pytest.raises(ParameterError, match=r"models must map some of anger, calm, warmth to their ToneModel, not {}"):
        tonekit.score(y, sr, models={})


@needs("emodb")
@pytest.mark.corpus
def test_anger_on_held_out_emodb_speakers(tmp_path):
    """Train on 7 Emo-DB speakers, test on the other 3: anger must be well above chance."""
    from tonekit.models.features import corpus_features
    from tonekit.models.train import fit_target

    table = targets(load_corpora(CORPORA / "emodb"))
    X = corpus_features(table, "wideband", cache_dir=tmp_path, n_jobs=2)
    test_spk = {"emodb_03", "emodb_08", "emodb_16"}
    te = table.speaker.isin(test_spk).to_numpy()
    model = fit_target(X[~te], table.anger[~te].astype(int))
    m = metrics(table.anger[te].astype(int), model.predict_proba(X[te])[:, 1])
    assert m["auc"] >= 0.85, m
    assert m["uar"] >= 0.75, m


def _opposed_speakers(rng, n_pairs, per=16, d=4):
    """Like :func:`_copies_of_speakers`, but speakers come in pairs whose label directions are opposite, so
    no direction carries the label over to new speakers (not even by chance)."""
    X, y, g = [], [], []
    for s in range(n_pairs):
        v = rng.normal(0, 1, d)
        for k, sign in enumerate((1, -1)):
            lab = np.arange(per) % 2
            X.append(rng.normal(0, 1.0, d) + rng.normal(0, 0.3, (per, d)) + sign * lab[:, None] * v)
            y.append(lab), g.append(np.full(per, 2 * s + k))
    X, y, g = np.vstack(X), np.concatenate(y), np.concatenate(g)
    return np.r_[X, X + rng.normal(0, 0.02, X.shape)], np.r_[y, y], np.r_[g, g]


def _two_independent_cues(rng, n):
    """One prosodic and one embedding column, each N(+-1, 1) by class: the posterior at even odds is
    sigmoid(2 (x1 + x2)), more confident than either cue alone."""
    y = rng.integers(0, 2, n)
    mu = np.where(y == 1, 1.0, -1.0)
    return np.c_[mu + rng.normal(0, 1, n), mu + rng.normal(0, 1, n)], y


def test_calibrated_fusion_comes_close_to_the_known_posterior():
    """Known answer: with two independent cues the mean of two calibrated members is under-confident
    (0.88 where the posterior is 0.98); the calibrated fusion recalibrates the mean on out-of-fold scores."""
    from scipy.special import expit

    rng = np.random.default_rng(0)
    X, y = _two_independent_cues(rng, 1200)
    g = np.arange(len(y)) % 30
    T = rng.normal(0, 1.2, (300, 2))
    truth = expit(2 * T.sum(axis=1))
    err = {}
    for fusion in ("mean", "calibrated"):
        m = FusedToneClassifier(kind="logreg", n_embedding=1, fusion=fusion).fit(X, y, groups=g)
        err[fusion] = np.abs(m.predict_proba(T)[:, 1] - truth).mean()
    assert err["mean"] > 0.15
    assert err["calibrated"] < 0.1
    m = FusedToneClassifier(kind="blend", n_embedding=1, fusion="calibrated").fit(X, y, groups=g)
    assert m.component_names_ == ["prosody/svm", "prosody/logreg", "embedding/svm", "embedding/logreg"]
    assert m.predict_proba([[1.0, 1.0]])[0, 1] > 0.95    # the posterior there: sigmoid(4) = 0.982


def test_calibrated_fusion_stays_at_chance_on_new_speakers():
    """Known answer: nothing carries over to new speakers, so their probabilities stay near 0.5 when the
    calibration folds are grouped by speaker; folds that split a speaker's copies make it over-confident."""
    rng = np.random.default_rng(0)
    X, y, g = _opposed_speakers(rng, 8)
    X_new, _, _ = _opposed_speakers(rng, 5)
    grouped = FusedToneClassifier(kind="svm", C=30.0, n_embedding=2, fusion="calibrated").fit(X, y, groups=g)
    leaky = FusedToneClassifier(kind="svm", C=30.0, n_embedding=2, fusion="calibrated").fit(X, y)
    assert np.abs(grouped.predict_proba(X_new)[:, 1] - 0.5).mean() < 0.1
    assert np.abs(leaky.predict_proba(X_new)[:, 1] - 0.5).mean() > 0.2
    assert all(len(np.unique(grouped._calibration_folds(y, g)[g == s])) == 1 for s in np.unique(g))


def test_calibrated_fusion_without_an_embedding_is_the_prosodic_model():
    """A row without an embedding gets exactly what the same fusion fitted on the prosodic columns alone
    gives (same folds, same components, same calibration); the embedding never trains on rows without one."""
    rng = np.random.default_rng(3)
    cols = ["f0", "rate", "emb_0", "emb_1"]
    X = pd.DataFrame(rng.normal(size=(160, 4)), columns=cols)
    y = (X.f0 + X.emb_1 + 0.5 * rng.normal(size=160) > 0).astype(int).to_numpy()
    g = np.arange(160) // 8
    X.loc[:39, ["emb_0", "emb_1"]] = np.nan
    fused = FusedToneClassifier(kind="blend", C=1.0, fusion="calibrated").fit(X, y, groups=g)
    alone = FusedToneClassifier(kind="blend", C=1.0, fusion="calibrated").fit(X[["f0", "rate"]], y, groups=g)
    no_emb = X.copy()
    no_emb[["emb_0", "emb_1"]] = np.nan
    np.testing.assert_allclose(fused.predict_proba(no_emb), alone.predict_proba(X[["f0", "rate"]]), atol=1e-12)
    emb_lr = fused.components_[fused.component_names_.index("embedding/logreg")]
    np.testing.assert_allclose(emb_lr["impute"].statistics_, X.loc[40:, ["emb_0", "emb_1"]].median())
    assert not np.allclose(fused.predict_proba(X)[40:], alone.predict_proba(X[["f0", "rate"]])[40:])


def test_calibrated_fusion_saves_and_loads_with_trusted_types_only(tmp_path):
    from tonekit.models.store import save_model

    rng = np.random.default_rng(4)
    X, y = _two_independent_cues(rng, 200)
    X = pd.DataFrame(X, columns=["f0_st_median", "emb_000"])
    est = FusedToneClassifier(kind="blend", n_embedding=1, fusion="calibrated").fit(X, y, groups=np.arange(200) // 10)
    save_model(est, tmp_path / "anger.skops", {"target": "anger"})
    back = load_model(tmp_path / "anger.skops").estimator
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    with pytest.raises(ValueError, match="fusion must be one of"):
        FusedToneClassifier(fusion="vote").fit(X, y)
    with pytest.raises(ValueError, match="calibration_folds must be an int >= 2"):
        FusedToneClassifier(fusion="calibrated", calibration_folds=1).fit(X, y)


def _two_domains(rng, n, slope=2.0, offsets=(-2.0, 2.0)):
    """Two corpora that share the slope of the log-odds in ``x`` but draw the line between their labels at
    different strengths (intercepts ``offsets``), the one with the lower intercept having the larger ``x``:
    pooled, the two confound, and a single logistic regression finds a flatter slope."""
    from scipy.special import expit

    d = rng.integers(0, 2, n)
    x = rng.normal(np.where(d == 0, 1.5, -1.5), 1.0)
    y = (rng.random(n) < expit(slope * x + np.asarray(offsets)[d])).astype(int)
    return x[:, None], y, np.array(["a", "b"])[d]


def _logreg_in_units(m):
    """(slope, intercept) of a one-column fusion's logistic-regression component, in the feature's units."""
    pipe = m.components_[m.component_names_.index("prosody/logreg")]
    mean, scale = pipe["scale"].mean_[0], pipe["scale"].scale_[0]
    w = pipe["clf"].coef_[0, 0] / scale
    return w, pipe["clf"].intercept_[0] - w * mean


def test_domain_offsets_recover_the_shared_slope_and_the_mean_offset():
    """Known answer: slope 2 in both corpora, offsets -2 and +2. With an offset per corpus the logistic
    regression finds slope 2 and predicts with the mean offset, 0; pooled without them its slope is flatter."""
    rng = np.random.default_rng(0)
    X, y, d = _two_domains(rng, 6000)
    g = np.arange(len(y)) % 40
    est = dict(kind="logreg", C=100.0, fusion="calibrated")
    with_offsets = FusedToneClassifier(**est, domain_offsets=True).fit(X, y, groups=g, domains=d)
    pooled = FusedToneClassifier(**est).fit(X, y, groups=g, domains=d)   # domains unused without the option
    w, b = _logreg_in_units(with_offsets)
    assert w == pytest.approx(2.0, abs=0.15) and b == pytest.approx(0.0, abs=0.15)
    assert _logreg_in_units(pooled)[0] < 1.5
    assert with_offsets.domains_ == ["a", "b"] and pooled.domains_ == []
    # the component stays a plain logistic regression on the features alone
    clf = with_offsets.components_[0]["clf"]
    assert type(clf).__name__ == "LogisticRegression" and clf.coef_.shape == (1, 1) and clf.n_features_in_ == 1


def test_domain_offsets_change_nothing_with_one_domain_or_none():
    rng = np.random.default_rng(1)
    X, y = _two_independent_cues(rng, 300)
    g = np.arange(300) // 10
    plain = FusedToneClassifier(kind="blend", n_embedding=1, fusion="calibrated").fit(X, y, groups=g)
    for domains in (None, np.full(300, "only")):
        m = FusedToneClassifier(kind="blend", n_embedding=1, fusion="calibrated", domain_offsets=True)
        m.fit(X, y, groups=g, domains=domains)
        np.testing.assert_allclose(m.predict_proba(X), plain.predict_proba(X), atol=1e-12)


def test_domain_offsets_need_the_calibrated_fusion_and_one_domain_per_row():
    rng = np.random.default_rng(2)
    X, y = _two_independent_cues(rng, 100)
    with pytest.raises(ValueError, match='domain_offsets needs fusion="calibrated"'):
        FusedToneClassifier(n_embedding=1, domain_offsets=True).fit(X, y, domains=np.zeros(100))
    with pytest.raises(ValueError, match="domains has shape"):
        FusedToneClassifier(n_embedding=1, fusion="calibrated", domain_offsets=True).fit(X, y, domains=np.zeros(99))
    with pytest.raises(ValueError, match="domain_offsets must be True or False"):
        FusedToneClassifier(n_embedding=1, fusion="calibrated", domain_offsets="yes").fit(X, y)


def _three_cues(rng, n):
    """One prosodic column and two embeddings (emb_*, wsp_*), each N(+-1, 1) by class and independent."""
    y = rng.integers(0, 2, n)
    mu = np.where(y == 1, 1.0, -1.0)
    X = pd.DataFrame({"f0": mu + rng.normal(0, 1, n), "emb_0": mu + rng.normal(0, 1, n),
                      "wsp_0": mu + rng.normal(0, 1, n), "wsp_1": rng.normal(0, 1, n)})
    return X, y


def test_mean_fusion_of_two_embeddings_averages_the_members_a_row_has():
    """Known answer: the plain fusion is the mean of the members' probabilities over the members a row has."""
    rng = np.random.default_rng(5)
    X, y = _three_cues(rng, 400)
    m = FusedToneClassifier(kind="logreg", embedding_prefix=("emb_", "wsp_")).fit(X, y)
    assert [c.tolist() for c in m.member_columns_] == [[1], [2, 3]] and m.prosody_columns_.tolist() == [0]
    T = X.iloc[:4].copy()
    T.iloc[1, 1] = np.nan                    # no GE2E
    T.iloc[2, 2:] = np.nan                   # no Whisper
    T.iloc[3, 1:] = np.nan                   # prosody alone
    p = m.prosody_.predict_proba(T[["f0"]].to_numpy())[:, 1]
    e = m.embeddings_[0].predict_proba(X.iloc[:4][["emb_0"]].to_numpy())[:, 1]
    w = m.embeddings_[1].predict_proba(X.iloc[:4][["wsp_0", "wsp_1"]].to_numpy())[:, 1]
    expected = [(p[0] + e[0] + w[0]) / 3, (p[1] + w[1]) / 2, (p[2] + e[2]) / 2, p[3]]
    np.testing.assert_allclose(m.predict_proba(T)[:, 1], expected, atol=1e-12)


def test_calibrated_fusion_of_two_embeddings_has_one_calibration_per_set_of_members():
    """Each set of members a row may have gets its own sigmoid on the out-of-fold mean of just those members:
    a row without Whisper is scored as the calibrated mean of prosody and GE2E. With three independent cues
    the full fusion is the most confident, near the known posterior sigmoid(2 (x1 + x2 + x3))."""
    from scipy.special import expit, logit

    rng = np.random.default_rng(6)
    X, y = _three_cues(rng, 1500)
    g = np.arange(len(y)) % 30
    m = FusedToneClassifier(kind="logreg", embedding_prefix=("emb_", "wsp_"), fusion="calibrated").fit(X, y, groups=g)
    assert m.component_names_ == ["prosody/logreg", "embedding:emb_/logreg", "embedding:wsp_/logreg"]
    assert m.calibration_patterns_ == [[False, False], [True, False], [False, True], [True, True]]
    row = pd.DataFrame({"f0": [0.8], "emb_0": [0.7], "wsp_0": [np.nan], "wsp_1": [np.nan]})
    pro = m.components_[0].predict_proba(row[["f0"]].to_numpy())[0, 1]
    emb = m.components_[1].predict_proba(row[["emb_0"]].to_numpy())[0, 1]
    z = logit((pro + emb) / 2)
    np.testing.assert_allclose(m.predict_proba(row)[0, 1], m.calibrators_[1].predict_proba([[z]])[0, 1], atol=1e-12)
    T = pd.DataFrame(rng.normal(0, 0.6, (300, 3)), columns=["f0", "emb_0", "wsp_0"]).assign(wsp_1=0.0)
    truth = expit(2 * T[["f0", "emb_0", "wsp_0"]].sum(axis=1))
    assert np.abs(m.predict_proba(T)[:, 1] - truth).mean() < 0.08


def test_rbf_decision_is_the_svms_own_decision_function():
    """The calibrated fusion scores its SVMs with the kernel from matrix products: the numbers of
    sklearn's libsvm decision function (within 1e-5), over chunks and for rows near and far from the data."""
    from sklearn.svm import SVC

    from tonekit.models.estimators import _rbf_decision

    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + X[:, 1] ** 2 + 0.3 * rng.normal(size=400) > 1).astype(int)
    svc = SVC(C=0.3, gamma="scale").fit(X, y)
    T = np.r_[X[:50] + rng.normal(0, 0.1, (50, 6)), rng.normal(0, 3, (1100, 6))]
    expected = svc.decision_function(T)
    assert np.ptp(expected) > 1.0
    np.testing.assert_allclose(_rbf_decision(svc, T, chunk=256), expected, atol=1e-5)


def test_numpy_scoring_path_gives_the_pipelines_own_numbers():
    """The fused model scores its pipelines (median imputation, standardisation, SVM or logistic
    regression) and calibrators in plain numpy: bit for bit what scikit-learn's own transform,
    decision_function and predict_proba give, including NaN cells and a column that was all NaN in
    training; infinity is still refused by scikit-learn's check."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from tonekit.models.estimators import _lr_proba, _pipeline, _scores

    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=200) > 0).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 4] = np.nan                                   # never measured in training
    T = rng.normal(size=(60, 5))
    T[rng.random(T.shape) < 0.2] = np.nan
    for clf in (LogisticRegression(C=0.1), SVC(C=0.3)):
        pipe = _pipeline(clf).fit(X, y)
        tol = 0 if isinstance(clf, LogisticRegression) else 1e-5   # the SVM: float32 kernel (see above)
        np.testing.assert_allclose(_scores(pipe, T)[:, 0], pipe.decision_function(T), rtol=0, atol=tol)
        with pytest.raises(ValueError, match="infinity|Input X contains"):
            _scores(pipe, np.where(np.arange(5) == 2, np.inf, T))
    cal = LogisticRegression().fit(X[:, :1][np.isfinite(X[:, 0])], y[np.isfinite(X[:, 0])])
    z = rng.normal(0, 3, (30, 1))
    np.testing.assert_array_equal(_lr_proba(cal, z), cal.predict_proba(z))
    three = LogisticRegression().fit(rng.normal(size=(90, 2)), np.repeat([0, 1, 2], 30))   # more classes: sklearn
    np.testing.assert_array_equal(_lr_proba(three, z.repeat(2, axis=1)), three.predict_proba(z.repeat(2, axis=1)))


def test_tone_model_refuses_a_table_with_duplicate_columns():
    m = load_models()["anger"]
    X = pd.DataFrame(np.zeros((2, 2)), columns=[m.features[0], m.features[0]])
    with pytest.raises(ModelError, match="duplicate column"):
        m.predict_proba(X)


def test_score_with_embeddings_uses_the_cards_population_voice():
    """tonekit.score(embeddings=True): the lone utterance's voice embedding and Whisper features minus the
    training speakers' mean voice (the card's population_embedding) join its prosody; a card without that
    mean is refused with a clear error."""
    import copy

    from tonekit.features.embedding import signal_embedding
    from tonekit.features.frames import signal_frames
    from tonekit.features.windows import model_features, segment_functionals
    from tonekit.models.features import piece_encoder
    from tonekit.pipeline import score_features

    models = load_models()
    sr = 16000
    t = np.arange(3 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 150 * t * (1 + 0.02 * np.sin(2 * np.pi * t))) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    got = tonekit.score(y, sr, models=models, embeddings=True)
    fr = signal_frames(y, sr)
    feats = model_features(segment_functionals(fr, [(0, fr.n_frames)]), models["anger"].card["population_baseline"])
    for name, m in models.items():
        pop = m.card["population_embedding"]
        assert sorted(pop) == ["emb_", "wsp_"] and [len(pop[p]) for p in sorted(pop)] == [256, 1536]
        parts = [feats] + [pd.DataFrame([signal_embedding(y, sr, encoder=piece_encoder(p)) - np.asarray(pop[p])],
                                        columns=list(piece_encoder(p).columns)) for p in ("emb_", "wsp_")]
        assert got[name] == pytest.approx(float(m.predict_proba(pd.concat(parts, axis=1))[0]), abs=5e-5)
    alone = score_features(feats, models)
    assert max(abs(got[n] - alone[n].iloc[0]) for n in models) > 1e-3     # the embeddings count
    old = {n: copy.copy(m) for n, m in models.items()}
    for m in old.values():
        m.card = {k: v for k, v in m.card.items() if k != "population_embedding"}
    with pytest.raises(ParameterError, match="population_embedding"):
        tonekit.score(y, sr, models=old, embeddings=True)


def test_a_models_folder_is_loaded_once_and_again_when_its_files_change(tmp_path):
    """tonekit.score(path) in a loop must not re-check and re-load the models per call, but a model file
    replaced in place must be picked up."""
    from tonekit.pipeline import _models

    for t in ("anger", "calm", "warmth"):
        for suffix in (".skops", ".json"):
            shutil.copy(shipped_dir() / f"{t}{suffix}", tmp_path / f"{t}{suffix}")
    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * (140 + 20 * np.sin(2 * np.pi * 3 * t)) * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    first = _models(tmp_path)
    assert _models(str(tmp_path)) is first                  # the same objects: not loaded again
    before = tonekit.score(y, sr, models=tmp_path)
    # put the calm model in anger's place: the "anger" score must now be the calm model's
    for suffix in (".skops", ".json"):
        shutil.copy(shipped_dir() / f"calm{suffix}", tmp_path / f"anger{suffix}")
    card = json.loads((tmp_path / "anger.json").read_text())
    card["target"] = "anger"                                 # load_model checks the card's target, not the hash's
    write_card(tmp_path / "anger.json", card)
    reloaded = _models(tmp_path)
    assert reloaded is not first
    after = tonekit.score(y, sr, models=tmp_path)
    assert after["anger"] == before["calm"] != before["anger"]
    assert after["calm"] == before["calm"] and after["warmth"] == before["warmth"]


def test_fused_members_take_the_longest_matching_prefix():
    """wsp_l1_* columns start with "wsp_" too: they must make their own member, not join Whisper's output."""
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(40), np.ones(40)]
    X = pd.DataFrame({"f0": y + rng.normal(0, 1, 80), "emb_0": y + rng.normal(0, 1, 80),
                      "wsp_0": y + rng.normal(0, 1, 80), "wsp_1": rng.normal(0, 1, 80),
                      "wsp_l1_0": y + rng.normal(0, 1, 80)})
    m = FusedToneClassifier(kind="logreg", embedding_prefix=("emb_", "wsp_", "wsp_l1_")).fit(X, y)
    assert m.prosody_columns_.tolist() == [0]
    assert [c.tolist() for c in m.member_columns_] == [[1], [2, 3], [4]]
    # without the longer prefix, the first layer's column is Whisper's (the previous release's models)
    m = FusedToneClassifier(kind="logreg", embedding_prefix=("emb_", "wsp_")).fit(X, y)
    assert [c.tolist() for c in m.member_columns_] == [[1], [2, 3, 4]]


def test_evaluate_model_warns_when_a_corpus_has_one_class(tmp_path):
    """A corpus of angry recordings only beside one of both classes: its metrics cannot be computed (NaN) and
    tonekit evaluate says why; with no corpus of both classes it refuses before any feature is computed."""
    import soundfile as sf

    from tonekit.models.train import evaluate_model

    sr = 16000
    t = np.arange(2 * sr) / sr
    for i, f0 in enumerate((120, 160, 200, 140, 180)):
        y = 0.1 * sum(np.sin(2 * np.pi * k * f0 * (1 + 0.05 * np.sin(2 * np.pi * 2 * t)) * t) / k for k in range(1, 6))
        sf.write(tmp_path / f"u{i}.wav", y * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)), sr)
    (tmp_path / "only.csv").write_text("path,speaker,emotion\n" + "".join(f"u{i}.wav,s1,angry\n" for i in range(3)))
    (tmp_path / "both.csv").write_text("path,speaker,emotion\nu4.wav,s1,angry\nu3.wav,s2,neutral\n")
    with pytest.warns(UserWarning, match="only: all 3 recordings are anger positives; UAR, AUC and ECE need both"):
        res = evaluate_model(shipped_dir() / "anger.skops", [tmp_path / "only.csv", tmp_path / "both.csv"],
                             cache_dir=tmp_path / "c", conditions=("wideband",))
    by = res.set_index("corpus")
    assert by.loc["only", "n"] == 3 and np.isnan(by.loc["only", "auc"])
    assert by.loc["both", "n"] == 2 and 0 <= by.loc["both", "auc"] <= 1   # measured: both classes
    with pytest.raises(ParameterError, match=r"only\.csv: nothing to measure: all 3 recordings are anger positives"):
        evaluate_model(shipped_dir() / "anger.skops", [tmp_path / "only.csv"], cache_dir=tmp_path / "d")
    assert not (tmp_path / "d").exists()   # refused before any feature was computed (and cached)
    (tmp_path / "none.csv").write_text("path,speaker,emotion\nu0.wav,s1,surprise\n")
    with pytest.raises(ParameterError, match="has a warmth label"):
        evaluate_model(shipped_dir() / "warmth.skops", [tmp_path / "none.csv"], cache_dir=tmp_path / "c")


def test_evaluate_model_leaves_out_recordings_it_cannot_analyse(tmp_path, capsys):
    """A text file and a 3-channel file in a manifest: each gets its error, and neither is scored into the
    metrics (n counts the 4 recordings analysed)."""
    import soundfile as sf

    from tonekit.models.train import evaluate_model

    sr = 16000
    t = np.arange(2 * sr) / sr
    rows = ["path,speaker,emotion"]
    for i, (f0, emotion) in enumerate(((120, "angry"), (160, "neutral"), (200, "angry"), (140, "neutral"))):
        y = 0.1 * sum(np.sin(2 * np.pi * k * f0 * (1 + 0.05 * np.sin(2 * np.pi * 2 * t)) * t) / k for k in range(1, 6))
        sf.write(tmp_path / f"u{i}.wav", y * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)), sr)
        rows.append(f"u{i}.wav,s1,{emotion}")
    (tmp_path / "bad.wav").write_text("not audio")
    y, _ = sf.read(tmp_path / "u0.wav")
    sf.write(tmp_path / "three.wav", np.column_stack([y, y, y]), sr)
    rows += ["bad.wav,s1,angry", "three.wav,s1,neutral"]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning) as caught:
        res = evaluate_model("anger", [tmp_path / "m.csv"], cache_dir=tmp_path / "c", conditions=("wideband",))
    assert [str(w.message) for w in caught] == [
        "2 of 6 recordings could not be analysed (wideband) and are left out of the metrics"]
    err = capsys.readouterr().err.splitlines()   # each file's problem once, not once per feature pass
    assert len(err) == 2 and err[0].startswith(f"Warning: {tmp_path / 'bad.wav'}: not a readable audio file")
    assert err[1] == f"Warning: {tmp_path / 'three.wav'}: 3 channels: a single-speaker file must be mono " \
                     "(or stereo, mixed down)"
    assert res.n.tolist() == [4]


def test_feature_cache_follows_file_content_not_modification_time(tmp_path):
    """A corpus copied or re-mounted with new modification times keeps its cache; changed bytes, or a new
    name (the telephone copy's noise is seeded by it), are extracted again."""
    import os

    import soundfile as sf

    from tonekit.models.features import cached_rows

    calls = []

    def extract(path):
        calls.append(Path(path).name)
        y, sr = sf.read(path)
        return {"peak": float(np.abs(y).max())}

    t = np.arange(16000) / 16000
    a = tmp_path / "a.flac"
    sf.write(a, 0.5 * np.sin(2 * np.pi * 200 * t), 16000)
    cache = tmp_path / "cache.parquet"
    first = cached_rows(cache, [a], extract)
    assert calls == ["a.flac"] and first["peak"].iloc[0] == pytest.approx(0.5, abs=1e-3)

    os.utime(a, (1e9, 1e9))  # re-mounted: new mtime, same bytes
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(a, moved / "a.flac")  # copied to another folder, same name
    again = cached_rows(cache, [a, moved / "a.flac"], extract)
    assert calls == ["a.flac"]
    assert again["peak"].tolist() == [first["peak"].iloc[0]] * 2

    shutil.copy(a, tmp_path / "b.flac")  # same bytes, another name
    sf.write(a, 0.25 * np.sin(2 * np.pi * 200 * t), 16000)  # new bytes under the old name
    changed = cached_rows(cache, [a, tmp_path / "b.flac"], extract)
    assert calls == ["a.flac", "a.flac", "b.flac"]
    assert changed["peak"].tolist() == pytest.approx([0.25, 0.5], abs=1e-3)

    # a cache written with the former path-and-mtime keys loses those rows at its next write
    stale = pd.read_parquet(cache)
    stale.index = [f"{tmp_path / 'old.flac'}|123|456"] + list(stale.index[1:])
    stale.to_parquet(cache)
    sf.write(tmp_path / "c.flac", 0.125 * np.sin(2 * np.pi * 200 * t), 16000)
    cached_rows(cache, [tmp_path / "c.flac"], extract)
    kept = pd.read_parquet(cache).index
    assert len(kept) == len(stale) and not any(os.sep in k for k in kept)


def test_reference_shares_are_seeded_per_speaker_and_within_the_range():
    from tonekit.models.train import reference_shares

    a = reference_shares(["s2", "s1", "s2", "s3"], (0.2, 0.6), seed=3)
    assert sorted(a) == ["s1", "s2", "s3"]
    assert all(0.2 <= v <= 0.6 for v in a.values())
    assert a == reference_shares(["s3", "s1", "s2"], (0.2, 0.6), seed=3)     # order of rows does not matter
    assert a != reference_shares(["s3", "s1", "s2"], (0.2, 0.6), seed=4)
    assert set(reference_shares(["x"], (0.5, 0.5)).values()) == {0.5}
    with pytest.raises(ValueError, match="reference_mix"):
        reference_shares(["x"], (0.6, 0.2))


def test_mixed_reference_of_corpus_features_has_the_known_offsets():
    """Share s moves a speaker's reference from their own mean (median for the prosody) to the population's:
    the relative embedding of a speaker whose mean is m against population p is x - ((1 - s) m + s p)."""
    from tonekit.models.features import normalised_features, relative_embeddings

    table = pd.DataFrame({"speaker": ["a", "a", "b", "b"]}, index=[10, 11, 12, 13])
    emb = pd.DataFrame({"emb_0": [1.0, 3.0, 10.0, 14.0], "emb_1": [0.0, 2.0, -4.0, -2.0]}, index=table.index)
    pop = np.array([4.0, 0.0])
    out = relative_embeddings(table, emb, population=pop, shares={"a": 0.5, "b": 1.0})
    # a: mean (2, 1), reference (3, 0.5); b: reference = population (4, 0)
    np.testing.assert_allclose(out.to_numpy(), [[-2, -0.5], [0, 1.5], [6, -4], [10, -2]])
    np.testing.assert_allclose(relative_embeddings(table, emb, population=pop, shares={"a": 0, "b": 0}),
                               relative_embeddings(table, emb))
    # the prosody: each feature minus (1 - s) of the speaker's median and s of the population's baseline
    from tonekit.features.windows import MODEL_FEATURES, RAW_FEATURES

    rng = np.random.default_rng(0)
    raw = pd.DataFrame(rng.uniform(1, 2, (4, len(RAW_FEATURES))), columns=list(RAW_FEATURES), index=table.index)
    raw["speech_s"] = 2.0
    population = pd.Series(0.5, index=list(RAW_FEATURES))
    got = normalised_features(table, raw, population=population, shares={"a": 0.5, "b": 0.0})
    names = [n[:-4] for n in MODEL_FEATURES]
    median_a = raw.loc[[10, 11], names].median()
    np.testing.assert_allclose(got.loc[[10, 11]].to_numpy(),
                               (raw.loc[[10, 11], names] - (0.5 * median_a + 0.25)).to_numpy())
    pd.testing.assert_frame_equal(got.loc[[12, 13]], normalised_features(table, raw).loc[[12, 13]])


@needs("emodb")
@pytest.mark.corpus
def test_training_set_adds_each_lines_copy_read_partly_against_the_training_speakers(tmp_path):
    """Training's reference mix: a second copy of every utterance, each speaker's reference moved towards the
    training speakers' usual voice by the share reference_shares gives them."""
    from tonekit.features.windows import MODEL_FEATURES, speaker_baseline
    from tonekit.models.features import population_baseline, raw_features
    from tonekit.models.train import reference_shares, training_set

    table = targets(load_corpora(CORPORA / "emodb"))
    table = table[table.speaker.isin(["emodb_03", "emodb_08"])]
    kw = {"conditions": ("wideband",), "cache_dir": tmp_path, "n_jobs": 2, "embedding": False}
    X0, y0, g0, _ = training_set(table, "anger", reference_mix=None, **kw)
    X, y, g, _ = training_set(table, "anger", reference_mix=(0.0, 1.0), **kw)
    n = len(X0)
    assert len(X) == 2 * n and (y.to_numpy() == np.tile(y0, 2)).all() and (g.to_numpy() == np.tile(g0, 2)).all()
    pd.testing.assert_frame_equal(X.iloc[:n], X0)
    share = reference_shares(table.speaker, (0.0, 1.0), seed=0)["emodb_08"]     # wideband: the first draw
    assert 0 < share < 1
    rows = (g0 == "emodb_08").to_numpy()
    raw = raw_features(table.path, "wideband", cache_dir=tmp_path)
    raw.index = table.index
    own = speaker_baseline(raw[(table.speaker == "emodb_08").to_numpy()])
    pop = population_baseline(table, cache_dir=tmp_path)
    names = [c[:-4] for c in MODEL_FEATURES]
    # the mixed copy is the plain one shifted by s (own - population), feature by feature
    shift = (X.iloc[n:][rows] - X0[rows]).to_numpy()
    expected = share * (own[names] - pop[names]).to_numpy()
    np.testing.assert_allclose(shift, np.broadcast_to(expected, shift.shape), atol=1e-9)


def test_cell_weights_give_every_corpus_and_class_the_same_total():
    corpus = ["a", "a", "a", "a", "b", "b"]
    y = [1, 0, 0, 0, 1, 0]
    w = cell_weights(corpus, y)
    # cells a/1 (1 row), a/0 (3 rows), b/1 (1), b/0 (1): each cell totals 1.5 of the 6
    np.testing.assert_allclose(w, [1.5, 0.5, 0.5, 0.5, 1.5, 1.5])
    # corpus weights alone leave corpus a's three negatives at three times its positive
    np.testing.assert_allclose(corpus_weights(corpus), [0.75, 0.75, 0.75, 0.75, 1.5, 1.5])
    with pytest.raises(ValueError, match="balance must be 'corpus' or 'cells', not 'class'"):
        fit_target(pd.DataFrame({"x": [0.0, 1.0]}), np.array([0, 1]), corpus=["a", "a"], balance="class")


def test_log_odds_average_of_members_known_answer():
    """Two members, one sure (0.99) and one unsure (0.6): their probabilities average to 0.795; their log-odds
    (4.595 and 0.405) to 2.5, which is 0.924. Models saved before the option average probabilities."""
    from scipy.special import expit

    m = FusedToneClassifier(average="log-odds")
    P = [np.array([[0.01, 0.99]]), np.array([[0.4, 0.6]])]
    assert m._fused(P, 1, 2)[0, 1] == pytest.approx(expit(0.5 * (np.log(99) + np.log(1.5))), abs=1e-9)
    assert FusedToneClassifier()._fused(P, 1, 2)[0, 1] == pytest.approx(0.795)
    # a row missing a member: the mean of those it has
    P = [np.array([[0.01, 0.99], [0.2, 0.8]]), np.array([[0.4, 0.6], [np.nan, np.nan]])]
    assert m._fused(P, 2, 2)[1, 1] == pytest.approx(0.8)
    # a model saved before the option has no such attribute: it averages probabilities, as it was fitted to
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(20), np.ones(20)]
    X = np.c_[y + rng.normal(0, 1, 40), y[:, None] + rng.normal(0, 1, (40, 2))]
    fitted = FusedToneClassifier(kind="logreg", n_embedding=2).fit(X, y)
    old = copy.deepcopy(fitted)
    del old.__dict__["average"]
    assert old.average == "probability"
    np.testing.assert_array_equal(old.predict_proba(X), fitted.predict_proba(X))
    assert load_model(shipped_dir() / "anger.skops").estimator.average == "log-odds"
    with pytest.raises(ValueError, match="average must be one of"):
        FusedToneClassifier(average="median").fit(np.c_[np.arange(8.0)], np.arange(8) % 2)


# a card without a sha256 (or with an empty one) does not vouch for its file
@pytest.mark.parametrize("value", ["drop", None, ""])
def test_a_card_without_a_hash_is_refused(tmp_path, value):
    import json
    import shutil

    from tonekit.errors import ModelError
    from tonekit.models.store import load_model, shipped_dir

    shutil.copy(shipped_dir() / "anger.skops", tmp_path / "anger.skops")
    card = json.loads((shipped_dir() / "anger.json").read_text())
    if value == "drop":
        del card["sha256"]
    else:
        card["sha256"] = value
    write_card(tmp_path / "anger.json", card)
    with pytest.raises(ModelError, match="does not match its model card"):
        load_model(tmp_path / "anger.skops")


def _shipped_copy(folder):
    folder.mkdir()
    for t in ("anger", "calm", "warmth"):
        for suffix in (".skops", ".json"):
            shutil.copy(shipped_dir() / f"{t}{suffix}", folder / f"{t}{suffix}")
    return folder


def test_a_card_edited_by_hand_is_refused_because_its_facts_set_the_scores(tmp_path):
    """The card's population reference moves every lone file's score: an edit that keeps the model file (so
    its sha256 still matches) is refused by the card's own hash, not silently scored with."""
    sr = 16000
    t = np.arange(3 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * (150 + 25 * np.sin(2 * np.pi * 3 * t)) * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    shipped = tonekit.score(y, sr)
    edited = _shipped_copy(tmp_path / "edited")
    card = json.loads((edited / "anger.json").read_text(encoding="utf-8"))
    card["population_baseline"]["f0_st_median"] -= 6.0      # the population's voice half an octave lower
    (edited / "anger.json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    with pytest.raises(ModelError, match=rf"^{re.escape(str(edited / 'anger.json'))}: the model card was changed "
                                         r"after tonekit wrote it \(its contents no longer match its card_sha256\)"):
        load_model(edited / "anger.skops")
    with pytest.raises(ModelError, match="card_sha256"):
        tonekit.score(y, sr, models=edited)
    # the same edit written by tonekit (write_card stamps it anew) is taken, and it does move the score
    stamped = _shipped_copy(tmp_path / "stamped")
    write_card(stamped / "anger.json", card)
    assert abs(tonekit.score(y, sr, models=stamped)["anger"] - shipped["anger"]) > 0.01
    # a card without the stamp cannot vouch for itself either
    del card["card_sha256"]
    (edited / "anger.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=r"anger\.json: the model card carries no card_sha256"):
        load_model(edited / "anger.skops")


def test_a_card_reindented_or_reordered_keeps_its_stamp(tmp_path):
    folder = _shipped_copy(tmp_path / "m")
    card = json.loads((folder / "calm.json").read_text(encoding="utf-8"))
    (folder / "calm.json").write_text(json.dumps(dict(reversed(list(card.items()))), separators=(",", ":"),
                                                 ensure_ascii=True), encoding="utf-8")
    assert load_model(folder / "calm.skops").card == card


def test_every_card_tonekit_ships_carries_its_own_valid_stamp():
    from tonekit.models.store import card_digest

    cards = sorted(shipped_dir().glob("*.json"))
    stamped = [p.name for p in cards if "card_sha256" in json.loads(p.read_text(encoding="utf-8"))]
    assert stamped == ["anger.json", "calm.json", "voice_encoder.json", "warmth.json", "whisper_encoder.json"]
    for p in cards:
        card = json.loads(p.read_text(encoding="utf-8"))
        if "card_sha256" in card:
            assert card["card_sha256"] == card_digest(card), p.name


def test_a_card_that_is_not_an_object_is_refused_by_name(tmp_path):
    shutil.copy(shipped_dir() / "anger.skops", tmp_path / "anger.skops")
    (tmp_path / "anger.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match=rf"^{re.escape(str(tmp_path / 'anger.json'))}: not a model card "
                                         r"\(a JSON object .*\), but a JSON list$"):
        load_model(tmp_path / "anger.skops")


def test_a_file_that_is_no_model_is_called_so_not_asked_for_a_card_the_user_never_named(tmp_path):
    """An audio file given as the model (tonekit evaluate notes.wav ...): 'not a tone model', not 'card
    notes.json not found'; a .skops file without its card still gets the missing card named."""
    sf.write(tmp_path / "notes.wav", np.zeros(1600), 16000)
    with pytest.raises(ModelError, match=rf"^{re.escape(str(tmp_path / 'notes.wav'))}: not a tone model: give a "
                                         r"\.skops file with its \.json card"):
        load_model(tmp_path / "notes.wav")
    shutil.copy(shipped_dir() / "anger.skops", tmp_path / "anger.skops")
    with pytest.raises(ModelError, match=r"anger\.skops: model card anger\.json not found$"):
        load_model(tmp_path / "anger.skops")
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path / "notes.wav"), str(tmp_path)])
    assert r.exit_code == 1 and r.output.startswith(f"Error: {tmp_path / 'notes.wav'}: not a tone model"), r.output


def test_a_model_in_the_wrong_place_of_a_folder_is_refused(tmp_path):
    """A folder whose anger.skops is the calm model (file and card copied under anger's name): refused, not
    used to score anger with calm's probabilities."""
    for t in ("anger", "calm", "warmth"):
        src = "calm" if t == "anger" else t
        for ext in ("skops", "json"):
            shutil.copy(shipped_dir() / f"{src}.{ext}", tmp_path / f"{t}.{ext}")
    with pytest.raises(ModelError, match=r"anger\.skops: holds the calm model \(its card's target\), not the "
                                         r"anger one"):
        load_models(tmp_path)


def test_a_model_whose_schema_would_fill_the_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A crafted file whose schema.json unpacks past MAX_SCHEMA_BYTES (lowered here to the shipped schema's
    size less one byte), even with a card vouching for its hash: refused by size, nothing read."""
    import tonekit.models.store as store

    shutil.copy(shipped_dir() / "anger.skops", tmp_path / "anger.skops")
    shutil.copy(shipped_dir() / "anger.json", tmp_path / "anger.json")
    import zipfile

    size = zipfile.ZipFile(tmp_path / "anger.skops").getinfo("schema.json").file_size
    monkeypatch.setattr(store, "MAX_SCHEMA_BYTES", size - 1)
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("the schema was read"))
    with pytest.raises(ModelError, match=r"anger\.skops: its schema unpacks to \d+ MB, more than any tone "
                                         r"model's"):
        load_model(tmp_path / "anger.skops")


def test_a_models_folder_missing_a_target_or_missing_itself_is_named(tmp_path):
    for ext in ("skops", "json"):
        shutil.copy(shipped_dir() / f"anger.{ext}", tmp_path / f"anger.{ext}")
    with pytest.raises(ModelError, match=rf"^{re.escape(str(tmp_path / 'calm.skops'))}: model file not found; a "
                                         r"models folder holds all three targets' models, anger\.skops, calm\.skops "
                                         r"and warmth\.skops"):
        load_models(tmp_path)
    with pytest.raises(ModelError, match=rf"^{re.escape(str(tmp_path / 'nowhere'))}: no such folder of models$"):
        load_models(tmp_path / "nowhere")
    assert load_models(tmp_path, targets=("anger",))["anger"].target == "anger"


def test_train_models_takes_load_corporas_table_and_names_what_it_cannot_train(tmp_path):
    """train_models on load_corpora's table (emotions, no target columns yet) makes the targets itself: here
    every recording is angry, so the anger model is refused for lack of negatives, not a KeyError; an unknown
    target and a table without labels are ParameterErrors too. Nothing is computed before these checks."""
    from tonekit.models.train import train_models

    table = pd.DataFrame({"path": [str(tmp_path / f"{i}.wav") for i in range(4)], "corpus": "c",
                          "speaker": ["c_a", "c_a", "c_b", "c_b"], "emotion": "anger", "intensity": "normal"})
    with pytest.raises(ParameterError, match=r"^training the anger model needs recordings of both classes "
                                             r"\(positives and negatives\); the table has only positives$"):
        train_models(table, targets=("anger",), cache_dir=tmp_path / "c")
    with pytest.raises(ParameterError, match=r"^training the warmth model needs .*; the table has only negatives$"):
        train_models(table, targets="warmth", cache_dir=tmp_path / "c")
    with pytest.raises(ParameterError, match=r"^targets must be some of anger, calm, warmth, not angry$"):
        train_models(table, targets=["angry"], cache_dir=tmp_path / "c")
    with pytest.raises(ParameterError, match=r"^targets must be some of anger, calm, warmth, not none$"):
        train_models(table, targets=[], cache_dir=tmp_path / "c")
    from tonekit.models.corpora import targets as add_targets
    from tonekit.models.train import training_set

    with pytest.raises(ParameterError, match=r"^target must be one of anger, calm, warmth, not 'angry'$"):
        training_set(add_targets(table), "angry", cache_dir=tmp_path / "c")
    with pytest.raises(ParameterError, match=r"^table has neither the target columns"):
        train_models(table.drop(columns="emotion"), cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()
