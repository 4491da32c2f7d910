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


def test_conv_pads_one_frame_each_side_and_strides():
    x = np.zeros((1, 6))
    x[0, 2] = 1.0                                              # an impulse at frame 2
    w = np.array([[[1.0, 2.0, 3.0]]])                          # out 1, in 1, taps 3
    assert xw._conv1d(x, w, np.zeros(1), 1)[0].tolist() == [0, 3, 2, 1, 0, 0]
    assert xw._conv1d(x, w, np.array([0.5]), 2)[0].tolist() == [0.5, 2.5, 0.5]   # frames 0, 2, 4


def _identity_block(d=4, attention=True, ffn=True):
    """A layer whose value and output projections (attention) or both feed-forward weights (ffn) are the
    identity, queries and keys zero (so attention is uniform over frames), layer norms plain."""
    eye, zero = np.eye(d, dtype=np.float32), np.zeros((d, d), np.float32)
    p = "encoder/layer_0/"
    return {p + "self_attention/layer_norm/gamma": np.ones(d), p + "self_attention/layer_norm/beta": np.zeros(d),
            p + "self_attention/linear_0/weight": np.vstack([zero, zero, eye]),
            p + "self_attention/linear_0/bias": np.zeros(3 * d),
            p + "self_attention/linear_1/weight": eye if attention else zero,
            p + "self_attention/linear_1/bias": np.zeros(d),
            p + "ffn/layer_norm/gamma": np.ones(d), p + "ffn/layer_norm/beta": np.zeros(d),
            p + "ffn/linear_0/weight": eye if ffn else zero, p + "ffn/linear_0/bias": np.zeros(d),
            p + "ffn/linear_1/weight": eye, p + "ffn/linear_1/bias": np.zeros(d)}


def _ln(x):
    return (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)


def test_uniform_attention_adds_the_mean_of_the_normalised_frames():
    x = np.random.default_rng(1).normal(size=(5, 4))
    out = xw._block(x, _identity_block(ffn=False), "encoder/layer_0/", heads=2)
    assert np.allclose(out, x + _ln(x).mean(0))


def test_feed_forward_adds_gelu_of_the_normalised_frame():
    from scipy.stats import norm

    x = np.random.default_rng(2).normal(size=(5, 4))
    out = xw._block(x, _identity_block(attention=False), "encoder/layer_0/", heads=2)
    h = _ln(x)
    assert np.allclose(out, x + h * norm.cdf(h))                # GELU(h) = h * Phi(h)


def test_numpy_encoder_halves_the_frame_rate_and_ends_layer_normed():
    rng = np.random.default_rng(3)
    d = 4
    w = {"encoder/conv1/weight": rng.normal(size=(d, 80, 3)).astype(np.float32), "encoder/conv1/bias": np.zeros(d),
         "encoder/conv2/weight": rng.normal(size=(d, d, 3)).astype(np.float32), "encoder/conv2/bias": np.zeros(d),
         "encoder/position_encodings/encodings": rng.normal(size=(50, d)), "encoder/num_heads": np.int16(2),
         "encoder/layer_norm/gamma": np.full(d, 2.0), "encoder/layer_norm/beta": np.full(d, 1.0),
         **_identity_block(d)}
    out = xw.numpy_encode(rng.normal(size=(80, 20)).astype(np.float32), w)
    assert out.shape == (10, d)
    assert np.allclose(out.mean(1), 1.0) and np.allclose(out.std(1), 2.0, atol=1e-3)   # gamma 2, beta 1


def test_encoder_weights_decode_float16_and_keep_integers():
    model = {"variables": [
        ("encoder/conv1/weight", [2, 2], 4, np.array([[1, -2], [0.5, 4]], np.float16).tobytes()),
        ("encoder/num_heads", [], 3, np.int32(8).tobytes()),
        ("decoder/embeddings/weight", [1], 0, np.float32(7).tobytes())]}
    w = xw.encoder_weights(model)
    assert w["encoder/conv1/weight"].dtype == np.float32
    assert w["encoder/conv1/weight"].tolist() == [[1.0, -2.0], [0.5, 4.0]]
    assert int(w["encoder/num_heads"]) == 8 and w["encoder/num_heads"].dtype == np.int32
    assert "decoder/embeddings/weight" not in w


def test_publish_prints_and_saves_only_when_asked(tmp_path, capsys):
    xw.ev.publish({"a": 1}, "| a |\n")
    assert capsys.readouterr().out == "| a |\n" and not list(tmp_path.iterdir())
    xw.ev.publish([{"a": 1}], "line", tmp_path / "r.json")
    assert capsys.readouterr().out == "line\n"
    assert json.loads((tmp_path / "r.json").read_text()) == [{"a": 1}] and (tmp_path / "r.md").read_text() == "line"
