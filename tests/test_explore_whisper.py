"""scripts/explore_whisper.py: Whisper's log-mel input, the mean-of-models fusion, the feature sets it measures."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scriptload import load_script

xw = load_script("explore_whisper.py", "explore_whisper")


def test_log_mel_puts_a_tone_in_its_mel_band_with_whispers_scaling():
    import librosa

    t = np.arange(32000) / 16000
    m = xw.log_mel(0.1 * np.sin(2 * np.pi * 1000 * t))
    assert m.shape == (80, 200)                               # 2 s: a frame every 10 ms
    centres = librosa.mel_frequencies(n_mels=82, fmax=8000)[1:-1]
    assert abs(centres[int(np.argmax(m.mean(axis=1)))] - 1000) < 60
    assert m.max() - m.min() == pytest.approx(2.0)           # floored 8 decades below the peak, / 4
    # twice the amplitude: four times the power, log10(4) / 4 = 0.1505 higher
    louder = xw.log_mel(0.2 * np.sin(2 * np.pi * 1000 * t))
    assert louder.max() - m.max() == pytest.approx(np.log10(4) / 4, abs=1e-4)


def test_mean_of_fits_each_member_on_its_columns_and_averages():
    from tonekit.models.estimators import ToneClassifier

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    X = pd.DataFrame({"pitch": y + rng.normal(0, 1, 80), "wsp_0": -y + rng.normal(0, 1, 80),
                      "wsp_1": rng.normal(0, 1, 80)})
    groups = np.repeat(np.arange(8), 10)
    member = ToneClassifier(kind="logreg", C=1.0)
    m = xw.MeanOf([(member, ("pitch",)), (member, ("wsp_",))]).fit(X, y, groups=groups)
    assert [cols for _, cols in m.fitted_] == [["pitch"], ["wsp_0", "wsp_1"]]
    p = [est.predict_proba(X[cols])[:, 1] for est, cols in m.fitted_]
    assert np.allclose(m.predict_proba(X)[:, 1], (p[0] + p[1]) / 2)
    assert m.predict(X).tolist() == (m.predict_proba(X)[:, 1] >= 0.5).astype(int).tolist()
    assert np.mean(m.predict(X) == y) > 0.75                 # both members carry the label


def test_feature_sets_are_the_shipped_settings_with_whisper_in_place():
    from tonekit.models.train import DEFAULT_PARAMS

    rows = 4
    frame = lambda cols: pd.DataFrame(np.zeros((rows, len(cols))), columns=cols)  # noqa: E731
    prosody = (frame(["f0_st_median"]),) * 2
    ge2e = (frame(["emb_0", "emb_1"]),) * 2
    whisper = (frame(["wsp_0", "wsp_1", "wsp_2"]),) * 2
    sets = xw.feature_sets(prosody, ge2e, whisper, "anger")
    assert list(sets) == xw.NAMES
    (fw, _), est = sets["mean(tonekit,whisper)"]
    assert list(fw.columns) == ["f0_st_median", "emb_0", "emb_1", "wsp_0", "wsp_1", "wsp_2"]
    assert sets["whisper"][1].C == DEFAULT_PARAMS["anger"]["embedding_C"]
    assert sets["prosody+whisper"][1].embedding_prefix == "wsp_"
    assert sets["tonekit"][1].get_params() == xw.FusedToneClassifier(**DEFAULT_PARAMS["anger"]).get_params()


def test_a_folder_without_a_model_is_refused_by_name(tmp_path):
    pytest.importorskip("ctranslate2", reason="needs the explore-whisper extra (CTranslate2)")
    with pytest.raises(SystemExit, match="no model.bin here"):
        xw.load_encoder(tmp_path)


def test_comparison_tables_and_saved_result(tmp_path):
    rows = [{"features": f, "target": "anger", "corpus": c, "protocol": "cross", "condition": "wideband",
             "uar": u, "auc": a, "ece": 0.1, "ece_balanced": e}
            for f, c, u, a, e in [("whisper", "emodb", 0.7, 0.8, 0.1), ("whisper", "turev", 0.5, 0.6, 0.3),
                                  ("tonekit", "emodb", 0.9, 0.95, 0.05), ("tonekit", "turev", 0.6, 0.7, 0.2)]]
    result = {"rows": rows, "summary": xw.ev.summarise(pd.DataFrame(rows)).to_dict(orient="records")}
    wide, per = xw.ev.compare_tables(result, ["tonekit", "whisper"])
    assert wide.splitlines()[0] == ("| target | protocol | condition | tonekit uar | whisper uar | tonekit auc | "
                                    "whisper auc | tonekit ece_balanced | whisper ece_balanced |")
    assert wide.splitlines()[2] == "| anger | cross | wideband | 0.750 | 0.600 | 0.825 | 0.700 | 0.125 | 0.200 |"
    assert per.splitlines()[2:] == ["| emodb | wideband | 0.950 | 0.800 |", "| turev | wideband | 0.700 | 0.600 |"]
    out = tmp_path / "sub" / "whisper.json"
    xw.ev.save_result(out, result, xw.markdown(result))
    assert json.loads(out.read_text())["rows"][0]["features"] == "whisper"
    assert "| anger | cross | wideband | 0.750 |" in out.with_suffix(".md").read_text()


def _toy_model(n_layers=3):
    variables = [("encoder/conv1/weight", [2, 3], 4, bytes(range(12)))]
    for i in range(n_layers):
        variables.append((f"encoder/layer_{i}/ffn/linear_0/weight", [2], 4, bytes([i, i])))
    variables += [("encoder/layer_norm/gamma", [1], 4, b"\x01\x02"), ("decoder/embeddings/weight", [1], 4, b"\x07\x08"),
                  ("encoder/num_heads", [], 2, b"\x08\x00\x00\x00")]
    return {"version": 6, "name": "WhisperSpec", "revision": 3, "variables": variables,
            "aliases": [("decoder/projection/weight", "decoder/embeddings/weight")]}


def test_ct2_model_files_round_trip_and_truncate(tmp_path):
    src = tmp_path / "toy"
    src.mkdir()
    xw.write_ct2(src / "model.bin", _toy_model())
    (src / "config.json").write_text("{}")
    assert xw.read_ct2(src / "model.bin") == _toy_model()
    cut = xw.truncated_model(src, 2, tmp_path / "work")
    assert cut.name == "toy-2layers" and (cut / "config.json").read_text() == "{}"
    got = xw.read_ct2(cut / "model.bin")
    assert [v[0] for v in got["variables"]] == ["encoder/conv1/weight", "encoder/layer_0/ffn/linear_0/weight",
                                               "encoder/layer_1/ffn/linear_0/weight", "encoder/layer_norm/gamma",
                                               "decoder/embeddings/weight", "encoder/num_heads"]
    assert got["variables"][2][3] == b"\x01\x01" and got["aliases"] == _toy_model()["aliases"]
    assert xw.truncated_model(src, 2, tmp_path / "work") == cut          # made once
    with pytest.raises(SystemExit, match="between 1 and 3"):
        xw.truncated_model(src, 4, tmp_path / "work")


def test_a_cut_short_model_file_is_refused_by_name(tmp_path):
    xw.write_ct2(tmp_path / "model.bin", _toy_model())
    whole = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "short.bin").write_bytes(whole[:40])
    with pytest.raises(ValueError, match=r"short\.bin: not a whole CTranslate2 model file"):
        xw.read_ct2(tmp_path / "short.bin")
    (tmp_path / "long.bin").write_bytes(whole + b"\0\0")
    with pytest.raises(ValueError, match=r"long\.bin: 2 bytes after the model's end"):
        xw.read_ct2(tmp_path / "long.bin")
