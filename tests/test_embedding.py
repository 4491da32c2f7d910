"""Voice embeddings (tonekit.features.embedding): the encoder, the pieces, the pooling, safe loading."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tonekit.errors import ModelError, ParameterError
from tonekit.features import embedding as E
from tonekit.models.estimators import FusedToneClassifier, ToneClassifier
from tonekit.models.store import write_card

SR = 16000


def _constant_gate_weights(hidden, n_in, bias, rng):
    """LSTM weights with no input or recurrent weights: every gate is its bias (PyTorch's order i, f, g, o)."""
    w = {}
    for k in range(3):
        w[f"lstm.weight_ih_l{k}"] = np.zeros((4 * hidden, n_in if k == 0 else hidden), np.float32)
        w[f"lstm.weight_hh_l{k}"] = np.zeros((4 * hidden, hidden), np.float32)
        w[f"lstm.bias_ih_l{k}"] = np.repeat(np.float32(bias), hidden)
        w[f"lstm.bias_hh_l{k}"] = np.zeros(4 * hidden, np.float32)
    w["linear.weight"] = rng.normal(size=(hidden, hidden)).astype(np.float32)
    w["linear.bias"] = np.full(hidden, 5.0, np.float32)   # keeps every output above the ReLU's zero
    return w


def test_encoder_matches_the_closed_form_of_a_constant_lstm():
    # with constant gates i, f, g, o the cell after T steps is i*g*(1 - f**T)/(1 - f) and h = o*tanh(c),
    # whatever the input; gates of different sizes catch a wrong gate order
    bias = [0.3, -0.4, 0.8, 1.1]
    i, f, o = (1 / (1 + np.exp(-b)) for b in (bias[0], bias[1], bias[3]))
    g = np.tanh(bias[2])
    T, hidden = 50, 4
    c = i * g * (1 - f ** T) / (1 - f)
    h = np.full(hidden, o * np.tanh(c))
    w = _constant_gate_weights(hidden, 40, bias, np.random.default_rng(0))
    e = w["linear.weight"] @ h + w["linear.bias"]
    expected = e / np.linalg.norm(e)
    mels = np.random.default_rng(1).random((5, T, 40)).astype(np.float32)
    got = E.encoder_forward(mels, w, batch=2)          # batches of 2, 2 and 1 pieces
    assert got.shape == (5, hidden)
    np.testing.assert_allclose(got, np.tile(expected, (5, 1)), atol=1e-6)


def test_encoder_equals_pytorch_lstm():
    torch = pytest.importorskip("torch", reason="PyTorch not installed (the explore extra)")
    torch.manual_seed(0)
    lstm, linear = torch.nn.LSTM(40, 16, 3, batch_first=True), torch.nn.Linear(16, 16)
    mels = torch.rand(2, 30, 40)
    with torch.no_grad():
        _, (hidden, _) = lstm(mels)
        e = torch.relu(linear(hidden[-1]))
        expected = (e / e.norm(dim=1, keepdim=True)).numpy()
    w = {f"lstm.{k}": v.detach().numpy() for k, v in lstm.state_dict().items()}
    w.update({f"linear.{k}": v.detach().numpy() for k, v in linear.state_dict().items()})
    np.testing.assert_allclose(E.encoder_forward(mels.numpy(), w), expected, atol=1e-5)


def _timeline(sr=SR, total_s=12.0, spans=((1.0, 5.0), (10.0, 11.0))):
    """A noise signal that is loud only in ``spans`` and the matching speech mask (10-ms hop)."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(total_s * sr), np.float32)
    mask = np.zeros(int(round(total_s / 0.01)), bool)
    for a, b in spans:
        y[int(a * sr):int(b * sr)] = 0.1 * rng.standard_normal(int(b * sr) - int(a * sr))
        mask[int(round(a / 0.01)):int(round(b / 0.01))] = True
    return y, mask


def _reader(y, sr):
    return lambda a, b: y[int(round(a * sr)):int(round(b * sr))]


def test_pieces_follow_the_speech_timeline():
    y, mask = _timeline()
    mels, spans = E.speech_pieces(_reader(y, SR), mask, SR)
    # 4 s of speech: two 1.6-s pieces, the 0.8-s rest (< 3/4 of a piece) dropped;
    # 1 s after a 5-s pause: a new stream whose only piece is padded
    np.testing.assert_allclose(spans, [[1.0, 2.6], [2.6, 4.2], [10.0, 11.0]], atol=0.002)
    assert mels.shape == (3, 160, 40)
    assert (mels[2, 101:] == 0).all() and (mels[2, :99].sum(axis=1) > 0).all()   # 1 s of speech, then padding
    _, every2 = E.speech_pieces(_reader(y, SR), mask, SR, every=2)
    np.testing.assert_allclose(every2, spans[[0, 2]], atol=1e-9)
    with pytest.raises(ValueError, match="every"):
        E.speech_pieces(_reader(y, SR), mask, SR, every=0)


def test_pieces_join_short_pauses_into_one_stream():
    # 1.0 s, a 1-s pause, 1.0 s: one stream of 2 s of speech -> one piece spanning the pause, rest dropped
    y, mask = _timeline(spans=((1.0, 2.0), (3.0, 4.0)))
    _, spans = E.speech_pieces(_reader(y, SR), mask, SR)
    np.testing.assert_allclose(spans, [[1.0, 3.6]], atol=0.002)
    _, apart = E.speech_pieces(_reader(y, SR), mask, SR, max_gap_s=0.5)   # a pause of 1 s now splits
    np.testing.assert_allclose(apart, [[1.0, 2.0], [3.0, 4.0]], atol=0.002)
    # so does a full stream: at most max_stream_s of speech is read at a time
    _, capped = E.speech_pieces(_reader(y, SR), mask, SR, max_stream_s=1.5)
    np.testing.assert_allclose(capped, [[1.0, 2.0], [3.0, 4.0]], atol=0.002)


def test_pieces_do_not_hear_the_level_and_match_across_rates():
    y, mask = _timeline()
    loud, _ = E.speech_pieces(_reader(y, SR), mask, SR)
    quiet, _ = E.speech_pieces(_reader(0.05 * y, SR), mask, SR)
    np.testing.assert_allclose(quiet, loud, rtol=1e-4, atol=1e-9)             # every piece at -30 dBFS
    # the same 1-kHz tone at 8 and 16 kHz lands in the same mel band
    t = np.arange(4 * SR) / SR
    tone16 = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    tone8 = tone16[::2].copy()
    m16, s16 = E.speech_pieces(_reader(tone16, SR), np.ones(400, bool), SR)
    m8, s8 = E.speech_pieces(_reader(tone8, 8000), np.ones(400, bool), 8000)
    np.testing.assert_allclose(s8, s16, atol=0.002)
    assert m8[0, 10:150].mean(axis=0).argmax() == m16[0, 10:150].mean(axis=0).argmax()


def test_mel_spectrum_equals_librosa_without_importing_it():
    import librosa

    np.testing.assert_allclose(E.mel_basis(), librosa.filters.mel(sr=SR, n_fft=400, n_mels=40), atol=1e-8)
    y = (0.1 * np.random.default_rng(0).standard_normal(30000)).astype(np.float32)
    for center in (True, False):
        ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=400, hop_length=160, n_mels=40, center=center,
                                             pad_mode="constant").T
        got = E.mel_frames(y, center=center)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * ref.max())
    # a piece's frames, computed on the piece alone, are the whole stream's
    padded = np.pad(y, (200, 200 + 25600))
    np.testing.assert_allclose(E._piece_mel(padded, 25600, 30000), E.mel_frames(y)[160:188], rtol=1e-5, atol=1e-9)


def test_window_embedding_weighs_pieces_by_shared_time():
    emb = np.zeros((2, E.N_DIMS))
    emb[0, 0] = 1.0
    emb[1, 1] = 1.0
    spans = np.array([[0.0, 1.6], [1.6, 3.2]])
    w = E.window_embeddings(emb, spans, [0.6, 2.0, 5.0], [2.1, 2.5, 8.0])
    # window 1 shares 1.0 s with piece 0 and 0.5 s with piece 1; window 2 only piece 1; window 3 none
    np.testing.assert_allclose(w[0, :2], np.array([1.0, 0.5]) / np.hypot(1.0, 0.5))
    np.testing.assert_allclose(w[1, :2], [0.0, 1.0])
    assert np.isnan(w[2]).all()
    np.testing.assert_allclose(E.window_embeddings(emb, spans, [0.6, 2.0, 5.0], [2.1, 2.5, 8.0], chunk=1), w)
    rel = E.relative(w)
    np.testing.assert_allclose(rel[:2], w[:2] - w[:2].mean(axis=0))           # the speaker's mean over windows
    assert np.isnan(rel[2]).all()


def test_signal_embedding_is_unit_length_and_nan_without_speech():
    t = np.arange(2 * SR) / SR
    e = E.signal_embedding(0.1 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)), SR)
    assert e.shape == (256,) and abs(np.linalg.norm(e) - 1) < 1e-6
    assert np.isnan(E.signal_embedding(np.zeros(2 * SR), SR)).all()


def test_encoder_file_is_checked_and_loaded_without_pickle(tmp_path):
    shipped = E.encoder_path()
    w = E.load_encoder()
    assert w["w_hh0"].shape == (256, 1024) and w["w_ih0"].shape == (40, 1024)
    # a changed byte: the hash no longer matches the card
    bad = tmp_path / "voice_encoder.npz"
    data = bytearray(shipped.read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    shutil.copy(shipped.with_suffix(".json"), tmp_path / "voice_encoder.json")
    with pytest.raises(ModelError, match="does not match"):
        E.load_encoder(bad)
    # a file whose card matches but that holds a pickled object: refused, nothing executed
    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"linear.weight": np.array([{"a": 1}], dtype=object)})
    import hashlib
    write_card(tmp_path / "evil.json", {"sha256": hashlib.sha256(evil.read_bytes()).hexdigest()})
    with pytest.raises(ModelError, match="not a readable npz"):
        E.load_encoder(evil)
    (tmp_path / "evil.json").unlink()
    with pytest.raises(ModelError, match="card"):
        E.load_encoder(evil)


def test_fusion_averages_members_and_falls_back_to_prosody():
    rng = np.random.default_rng(0)
    cols = ["f0", "rate", "emb_0", "emb_1", "emb_2"]
    X = pd.DataFrame(rng.normal(size=(120, 5)), columns=cols)
    y = (X.f0 + X.emb_1 + 0.5 * rng.normal(size=120) > 0).astype(int).to_numpy()
    fused = FusedToneClassifier(kind="logreg", C=1.0).fit(X, y)
    pro, emb = ["f0", "rate"], ["emb_0", "emb_1", "emb_2"]
    a = ToneClassifier(kind="logreg", C=1.0).fit(X[pro].to_numpy(), y).predict_proba(X[pro].to_numpy())
    b = ToneClassifier(kind="logreg", C=1.0).fit(X[emb].to_numpy(), y).predict_proba(X[emb].to_numpy())
    np.testing.assert_allclose(fused.predict_proba(X), (a + b) / 2, atol=1e-12)
    no_emb = X.copy()
    no_emb[emb] = np.nan
    np.testing.assert_allclose(fused.predict_proba(no_emb), a, atol=1e-12)
    # rows without an embedding do not train the embedding member
    X2 = X.copy()
    X2.loc[:59, emb] = np.nan
    f2 = FusedToneClassifier(kind="logreg", C=1.0).fit(X2, y)
    b2 = ToneClassifier(kind="logreg", C=1.0).fit(X[emb].to_numpy()[60:], y[60:])
    np.testing.assert_allclose(f2.embedding_.pipeline_[-1].coef_, b2.pipeline_[-1].coef_)
    # the embedding member may be of another kind
    f3 = FusedToneClassifier(kind="blend", embedding_kind="logreg", embedding_C=0.5).fit(X, y)
    assert (f3.prosody_.kind, f3.embedding_.kind, f3.embedding_.C) == ("blend", "logreg", 0.5)


def test_analyze_refuses_a_bad_embedding_stride():
    import tonekit

    for bad in (0, 1.5, "x"):
        with pytest.raises(ParameterError, match="embedding_every"):
            tonekit.analyze(tonekit.demo_path(), embedding_every=bad)
