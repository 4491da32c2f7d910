"""`tonekit train`, `tonekit evaluate` and `tonekit score` through the real command line (needs the corpora)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tonekit.cli import main
from tonekit.models.store import load_model, shipped_dir

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
pytestmark = [pytest.mark.corpus,
              pytest.mark.skipif(not (CORPORA / "emodb").is_dir(), reason=f"needs the corpus emodb at {CORPORA}")]

# two speakers, anger and neutral of each: a tiny corpus with known labels
SMALL = ["03a01Wa", "03a02Wb", "03a02Wc", "03a01Nc", "03a02Nc", "03a04Nc",
         "16a01Wb", "16a02Wb", "16a04Wb", "16a01Nc", "16a02Nb", "16a04Nc"]


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "emodb" / "wav"
    root.mkdir(parents=True)
    for name in SMALL:
        shutil.copy(CORPORA / "emodb" / "wav" / f"{name}.flac", root / f"{name}.flac")
    return root.parent


@pytest.fixture()
def env(tmp_path_factory):
    return {"TONEKIT_CACHE": str(tmp_path_factory.getbasetemp() / "cache")}


def test_train_writes_a_loadable_model_with_card(small_corpus, tmp_path, env):
    out = tmp_path / "anger.skops"
    r = CliRunner().invoke(main, ["train", str(small_corpus), "--target", "anger", "-o", str(out), "-j", "1"], env=env)
    assert r.exit_code == 0, r.output
    model = load_model(out)
    assert model.target == "anger"
    # wideband and telephone copies of each utterance, each also with background noise
    assert model.card["n_train"] == 4 * len(SMALL)
    assert model.card["training_conditions"] == ["wideband", "telephone", "noise-wideband", "noise-telephone"]
    assert model.card["n_speakers"] == 2
    assert model.card["positive_share"] == 0.5
    # two speakers: said, and written in the card
    assert ("Warning: anger: recordings of only 2 speaker(s); the model calibrates its probabilities on speakers it "
            "did not learn from, and with fewer than 3 it cannot hold any out") in r.stderr
    assert model.card["calibration_folds"] == "stratified, not grouped (fewer than 3 speakers)"
    # score_speaker's weights of the population reference, measured on these two speakers
    shrink = model.card["reference_shrinkage"]
    assert set(shrink) == {"prosody", "emb_", "wsp_"} and all(v > 0 for v in shrink.values())


def test_train_refuses_data_without_both_classes_before_any_work(small_corpus, tmp_path, env):
    """Only anger recordings, or only emotions calm leaves out: one line naming the data and what is
    missing, before features are computed (no cache is written)."""
    angry = tmp_path / "angry.csv"
    angry.write_text("path,speaker,emotion\n" + "".join(
        f"{small_corpus / 'wav' / (n + '.flac')},{n[:2]},anger\n" for n in SMALL if n[5] == "W"))
    cache = tmp_path / "cache"
    r = CliRunner().invoke(main, ["train", str(angry), "--target", "anger", "-o", str(tmp_path / "m.skops")],
                           env={"TONEKIT_CACHE": str(cache)})
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"Error: {angry}: all 6 recordings usable for anger are anger; it also needs some of neutral, calm, "
        "happiness, sadness, fear, disgust, surprise, boredom"]
    disgust = tmp_path / "disgust.csv"
    disgust.write_text(angry.read_text().replace(",anger", ",disgust"))
    r = CliRunner().invoke(main, ["train", str(disgust), "--target", "calm", "-o", str(tmp_path / "m.skops")],
                           env={"TONEKIT_CACHE": str(cache)})
    assert r.exit_code == 1
    assert r.output.strip().startswith(f"Error: {disgust}: no recording for calm (it learns neutral, calm, boredom, "
                                       "sadness against anger, fear, happiness, surprise; found only disgust)")
    assert not cache.exists() and not (tmp_path / "m.skops").exists()


def test_train_says_so_when_the_readable_recordings_hold_one_class(small_corpus, tmp_path, env):
    """Every angry recording of the manifest is unreadable (text under an audio name): each is warned of, and
    training stops with one line naming the data and the class that went missing (it had failed in
    scikit-learn's words: "y has 1 class; FusedToneClassifier needs at least 2")."""
    rows = ["path,speaker,emotion"]
    for n in SMALL:
        if n[5] == "W":
            bad = tmp_path / f"{n}.flac"
            bad.write_text("not audio")
            rows.append(f"{bad},{n[:2]},anger")
        else:
            rows.append(f"{small_corpus / 'wav' / (n + '.flac')},{n[:2]},neutral")
    manifest = tmp_path / "mine.csv"
    manifest.write_text("\n".join(rows) + "\n")
    r = CliRunner().invoke(main, ["train", str(manifest), "--target", "anger", "-o", str(tmp_path / "m.skops"),
                                  "-j", "1"], env=env)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"Error: {manifest}: once the 6 recording(s) that could not be used are left out (above), none of anger "
        "remains; the anger model needs both of its classes")
    assert not (tmp_path / "m.skops").exists()


def test_a_recording_of_noise_alone_is_left_out_of_training_and_evaluation(small_corpus, tmp_path, env):
    """A manifest of the small corpus plus 2 s of hiss labelled angry: tonekit score refuses the hiss (no voiced
    speech), so training and evaluation leave it out of every condition, with one warning, instead of
    learning it as anger (it had been four rows of the training set, and one of evaluate's n)."""
    rng = np.random.default_rng(0)
    hiss = tmp_path / "hiss.wav"
    sf.write(hiss, 0.05 * rng.standard_normal(2 * 16000), 16000)
    r = CliRunner().invoke(main, ["score", str(hiss)])
    assert r.exit_code == 1 and "no voiced speech found (noise only?)" in r.stderr
    rows = ["path,speaker,emotion"] + [f"{small_corpus / 'wav' / (n + '.flac')},{n[:2]},"
                                       f"{'anger' if n[5] == 'W' else 'neutral'}" for n in SMALL]
    manifest = tmp_path / "mine.csv"
    manifest.write_text("\n".join(rows + [f"{hiss},03,anger"]) + "\n")
    out = tmp_path / "anger.skops"
    r = CliRunner().invoke(main, ["train", str(manifest), "--target", "anger", "-o", str(out), "-j", "1"], env=env)
    assert r.exit_code == 1, r.output   # written, with a recording left out: as for a file that cannot be read
    assert "Warning: 1 recording could not be analysed and was left out of training" in r.stderr
    warned = [ln for ln in r.stderr.splitlines() if "hiss.wav" in ln]
    assert warned == [f"Warning: {hiss}: no voiced speech found (noise only?): left out, as tonekit score "
                      "refuses it"]
    assert load_model(out).card["n_train"] == 4 * len(SMALL)
    r = CliRunner().invoke(main, ["evaluate", str(out), str(manifest), "-j", "1", "--condition", "telephone"],
                           env=env)
    assert r.exit_code == 1
    assert f"Warning: {hiss}: no voiced speech found (noise only?): left out, as tonekit score refuses it" in r.stderr
    row = r.stdout[r.stdout.index("target "):].splitlines()[1].split()
    assert row[:4] == ["anger", "mine", "telephone", str(len(SMALL))]


def test_evaluate_with_nothing_readable_is_an_error(tmp_path, env):
    """Every listed recording fails to load: each says why, then one error; no empty table, no exit 0."""
    for name in ("a.flac", "b.flac"):
        (tmp_path / name).write_text("not audio")
    manifest = tmp_path / "junk.csv"
    manifest.write_text("path,speaker,emotion\na.flac,s1,angry\nb.flac,s2,neutral\n")
    r = CliRunner().invoke(main, ["evaluate", "anger", str(manifest), "-j", "1", "--condition", "wideband"], env=env)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == (f"Error: none of the 2 recordings labelled for anger in {manifest} "
                                                 "could be analysed (their errors are above)")
    assert "not a readable audio file" in r.stderr and "Empty DataFrame" not in r.output


def test_evaluate_of_one_class_fails_before_any_feature_is_computed(tmp_path, env, monkeypatch):
    """All recordings angry: one error line, before the recordings are read (as train and recalibrate refuse
    it); no table of NaN, no exit 0 for nothing measured."""
    import tonekit.models.train as train_mod

    def _no_features(*a, **k):
        raise AssertionError("features computed for a set with nothing to measure")

    monkeypatch.setattr(train_mod, "corpus_features", _no_features)
    rows = ["path,speaker,emotion"] + [f"u{i}.wav,s{i},angry" for i in range(3)]
    manifest = tmp_path / "only.csv"
    manifest.write_text("\n".join(rows) + "\n")
    for i in range(3):
        sf.write(tmp_path / f"u{i}.wav", 0.1 * np.sin(np.arange(16000) / 5), 16000)
    r = CliRunner().invoke(main, ["evaluate", "anger", str(manifest), "-j", "1", "--condition", "wideband"], env=env)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [f"Error: {manifest}: nothing to measure: all 3 recordings are anger "
                                             "positives; UAR, AUC and ECE are measured within a corpus and need "
                                             "both classes"]


def test_evaluate_prints_metrics_per_condition(small_corpus, env):
    r = CliRunner().invoke(main, ["evaluate", str(shipped_dir() / "anger.skops"), str(small_corpus), "-j", "1"],
                           env=env)
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()     # stderr has the progress bars of feature extraction
    assert lines[0].split() == ["target", "corpus", "condition", "n", "uar", "auc", "ece", "ece_balanced",
                                "ece_prior"]
    assert [ln.split()[:4] for ln in lines[1:]] == [["anger", "emodb", "wideband", "12"],
                                                    ["anger", "emodb", "telephone", "12"]]
    # these speakers were in the shipped model's training data: the model must separate them well, and says so
    assert all(float(ln.split()[5]) >= 0.9 for ln in lines[1:])
    assert "Warning: emodb: in this model's training data (its card's data), so these figures are not" in r.stderr


def test_evaluate_warns_of_training_recordings_listed_in_a_manifest(small_corpus, tmp_path, env):
    """The small corpus listed in a manifest of another name ("mypeople"), plus one recording of no known corpus's
    name: the shipped model was trained on Emo-DB's recordings, and the warning says so by their file names."""
    mine = tmp_path / "take1.flac"
    shutil.copy(small_corpus / "wav" / "03a01Nc.flac", mine)
    rows = [f"{small_corpus / 'wav' / (n + '.flac')},{n[:2]},{'angry' if n[5] == 'W' else 'neutral'}" for n in SMALL]
    manifest = tmp_path / "mypeople.csv"
    manifest.write_text("path,speaker,emotion\n" + "\n".join(rows + [f"{mine},99,neutral"]) + "\n")
    r = CliRunner().invoke(main, ["evaluate", "anger", str(manifest), "-j", "1", "--condition", "wideband"], env=env)
    assert r.exit_code == 0, r.output
    assert ("Warning: mypeople (12 of its 13 recordings bear emodb file names): in this model's training data (its "
            "card's data), so these figures are not those of new speakers") in r.stderr


def test_evaluate_through_codecs_training_never_heard(small_corpus, env):
    # "anger": the shipped model by its name, as a user without the source tree types it
    r = CliRunner().invoke(main, ["evaluate", "anger", str(small_corpus), "-j", "1",
                                  "--condition", "gsm", "--condition", "opus"], env=env)
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert [ln.split()[:4] for ln in lines[1:]] == [["anger", "emodb", "gsm", "12"], ["anger", "emodb", "opus", "12"]]
    # the same speakers as above, through a coarser line: still well separated
    assert all(float(ln.split()[5]) >= 0.8 for ln in lines[1:])
    bad = CliRunner().invoke(main, ["evaluate", str(shipped_dir() / "anger.skops"), str(small_corpus),
                                    "--condition", "amr"], env=env)
    assert bad.exit_code == 2 and "'amr' is not one of" in bad.output


def test_score_rows_per_file_and_one_bad_file(small_corpus, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    files = [str(small_corpus / "wav" / "03a01Wa.flac"), str(bad), str(small_corpus / "wav" / "03a01Nc.flac")]
    r = CliRunner().invoke(main, ["score", *files, "--format", "json"])
    assert r.exit_code == 1
    rows = json.loads(r.stdout)
    assert [row["path"] for row in rows] == [files[0], files[2]]
    assert rows[0]["anger"] > rows[1]["anger"]
    assert f"Error: {bad}: not a readable audio file" in r.stderr


def test_score_same_speaker_is_the_training_recipe_and_survives_a_bad_file(small_corpus, tmp_path):
    """`--same-speaker` scores one speaker's files against that speaker's usual voice, built as the
    training features are (tonekit.models.features: prosody relative to the speaker's median, the voice
    embedding and Whisper's relative to their mean; without the card's shrinkage toward the training
    speakers' voice, exactly those), with every member of the shipped models; a bad file is reported and
    left out, the others still scored."""
    import copy

    import numpy as np
    import pandas as pd

    import tonekit

    from tonekit.models.corpora import load_corpora, targets
    from tonekit.models.features import corpus_features
    from tonekit.models.store import load_models

    table = targets(load_corpora(small_corpus))
    table = table[table.speaker == "emodb_03"].reset_index(drop=True)      # 3 angry, 3 neutral
    X = corpus_features(table, "wideband", cache_dir=tmp_path / "cache")
    models = load_models()
    expected = {t: m.predict_proba(X) for t, m in models.items()}
    assert np.isfinite(X.filter(like="wsp_").to_numpy()).all()            # every member is used

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    files = list(table.path)
    r = CliRunner().invoke(main, ["score", files[0], str(bad), *files[1:], "--same-speaker", "--format", "json"])
    assert r.exit_code == 1
    assert f"Error: {bad}: not a readable audio file" in r.stderr
    rows = pd.DataFrame(json.loads(r.stdout))
    assert list(rows.path) == files
    api = tonekit.score_speaker(files, models=models)
    alone = {n: copy.copy(m) for n, m in models.items()}
    for m in alone.values():
        m.card = {**m.card, "reference_shrinkage": None}
    set_alone = tonekit.score_speaker(files, models=alone)
    for t in expected:
        np.testing.assert_allclose(rows[t], api[t], atol=5e-5)               # the command is the API
        np.testing.assert_allclose(set_alone[t], expected[t], atol=5e-5)     # 4 decimals
    # the known labels: each angry file above each neutral one
    angry = table.anger.to_numpy() == 1
    assert rows.anger[angry].min() > rows.anger[~angry].max()
    assert rows.calm[~angry].min() > rows.calm[angry].max()


def test_evaluate_on_a_manifest_gives_the_folders_numbers(small_corpus, tmp_path, env):
    """The same recordings labelled by a manifest (paths relative to it, emotion words): the same metrics.
    (The file names stay: the telephone copy's line noise is seeded by the file name.)"""
    (tmp_path / "lists").mkdir()
    manifest = tmp_path / "lists" / "mine.csv"
    rows = ["path,speaker,emotion"]
    for name in SMALL:
        rel = os.path.relpath(small_corpus / "wav" / f"{name}.flac", manifest.parent)
        rows.append(f"{rel},{name[:2]},{'Angry' if name[5] == 'W' else 'neutral'}")
    manifest.write_text("\n".join(rows) + "\n")
    model = str(shipped_dir() / "anger.skops")
    by_folder = CliRunner().invoke(main, ["evaluate", model, str(small_corpus), "-j", "1"], env=env)
    by_manifest = CliRunner().invoke(main, ["evaluate", model, str(manifest), "-j", "1"], env=env)
    assert by_manifest.exit_code == 0, by_manifest.output
    # the table's lines (the progress bars of features not cached yet go to stderr, mixed in by CliRunner)
    folder_lines, manifest_lines = (r.output[r.output.index("target "):].strip().splitlines()
                                    for r in (by_folder, by_manifest))
    assert len(folder_lines) == 3
    assert [ln.split()[1] for ln in manifest_lines[1:]] == ["mine", "mine"]
    assert [ln.split()[:1] + ln.split()[2:] for ln in manifest_lines] == \
        [ln.split()[:1] + ln.split()[2:] for ln in folder_lines]


def test_a_manifest_with_a_typo_is_refused_in_one_line(small_corpus, tmp_path, env):
    manifest = tmp_path / "mine.csv"
    manifest.write_text(f"path,speaker,emotion\n{small_corpus / 'wav' / '03a01Wa.flac'},03,angyr\n")
    r = CliRunner().invoke(main, ["evaluate", str(shipped_dir() / "anger.skops"), str(manifest)], env=env)
    assert r.exit_code != 0
    assert r.output.strip().splitlines() == [f"Error: {manifest}: unknown emotion 'angyr' (line 2); use one of "
                                             "neutral, calm, happiness, sadness, anger, fear, disgust, surprise, "
                                             "boredom or a common synonym such as angry, happy, sad"]


def test_train_warns_once_per_bad_recording(small_corpus, tmp_path, env):
    """A recording that cannot be read is left out with one warning line, not one per training copy and
    feature set (it used to be twelve: four copies times three feature sets)."""
    bad = tmp_path / "broken.wav"
    bad.write_text("not audio")
    rows = ["path,speaker,emotion"] + [f"{small_corpus / 'wav' / (n + '.flac')},{n[:2]},{'angry' if 'W' in n else 'neutral'}"
                                       for n in SMALL] + [f"{bad},03,angry"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    r = CliRunner().invoke(main, ["train", str(manifest), "--target", "anger", "-o", str(tmp_path / "a.skops"),
                                  "-j", "1"], env=env)
    # the model is written without it, and the status says some input was left out (as score and batch)
    assert r.exit_code == 1, r.output
    assert r.stderr.count(f"{bad}: not a readable audio file") == 1, r.stderr
    assert "1 recording could not be analysed and was left out of training" in r.stderr
    card = json.loads((tmp_path / "a.json").read_text())
    assert len(card["left_out"]) == 1 and card["left_out"][0].startswith(f"{bad}: not a readable audio file")
    assert card["n_train"] > 0
    assert "left_out" not in json.loads((shipped_dir() / "anger.json").read_text())
    ev = CliRunner().invoke(main, ["evaluate", str(tmp_path / "a.skops"), str(manifest), "-j", "1"], env=env)
    assert ev.exit_code == 1, ev.output
    assert "left out of the metrics" in ev.stderr and "uar" in ev.stdout
