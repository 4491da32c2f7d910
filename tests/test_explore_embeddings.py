"""scripts/explore_embeddings.py: the numpy port of the GE2E encoder, on answers worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from scriptload import load_script

xe = load_script("explore_embeddings.py", "explore_embeddings")


def test_partial_slices_follow_resemblyzer():
    assert xe.partial_slices(16000) == [(0, 160)]                         # 1 s: one partial, padded
    assert xe.partial_slices(48000) == [(0, 160), (77, 237), (154, 314)]  # a partial every 77 frames
    # 2.5 s: a third partial would start at frame 154 and cover (40000 - 24640) / 25600 = 60 % < 75 %: dropped
    assert xe.partial_slices(40000) == [(0, 160), (77, 237)]
    # 2 s: the second partial covers (32000 - 12320) / 25600 = 77 %: kept
    assert xe.partial_slices(32000) == [(0, 160), (77, 237)]


def _constant_gate_weights(hidden, n_in, bias, rng):
    """LSTM weights with no input or recurrent weights: every gate is its bias (order i, f, g, o)."""
    w = {}
    for k in range(3):
        w[f"lstm.weight_ih_l{k}"] = np.zeros((4 * hidden, n_in if k == 0 else hidden), np.float32)
        w[f"lstm.weight_hh_l{k}"] = np.zeros((4 * hidden, hidden), np.float32)
        w[f"lstm.bias_ih_l{k}"] = np.repeat(np.float32(bias), hidden)
        w[f"lstm.bias_hh_l{k}"] = np.zeros(4 * hidden, np.float32)
    w["linear.weight"] = rng.normal(size=(hidden, hidden)).astype(np.float32)
    w["linear.bias"] = np.full(hidden, 5.0, np.float32)   # keeps every output above the ReLU's zero
    return w


def test_numpy_forward_matches_the_closed_form_of_a_constant_lstm():
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
    mels = np.random.default_rng(1).random((3, T, 40)).astype(np.float32)
    got = xe.numpy_forward(mels, w)
    assert got.shape == (3, hidden)
    np.testing.assert_allclose(got, np.tile(expected, (3, 1)), atol=1e-6)


def test_numpy_forward_equals_pytorch_lstm():
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
    np.testing.assert_allclose(xe.numpy_forward(mels.numpy(), w), expected, atol=1e-5)


def test_mean_of_two_is_the_mean_of_its_two_estimators():
    import pandas as pd

    from tonekit.models.estimators import ToneClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 5)), columns=["f0", "rate", "ge2e_0", "ge2e_1", "ge2e_2"])
    y = (X.f0 + X.ge2e_1 + 0.5 * rng.normal(size=120) > 0).astype(int).to_numpy()
    params = {"kind": "logreg", "C": 1.0}
    fused = xe.MeanOfTwo(params).fit(X, y)
    a = ToneClassifier(**params).fit(X[["f0", "rate"]], y).predict_proba(X[["f0", "rate"]])
    b = ToneClassifier(**params).fit(X[["ge2e_0", "ge2e_1", "ge2e_2"]], y).predict_proba(X[["ge2e_0", "ge2e_1", "ge2e_2"]])
    np.testing.assert_allclose(fused.predict_proba(X), (a + b) / 2, atol=1e-12)
    assert fused.columns_ == (["f0", "rate"], ["ge2e_0", "ge2e_1", "ge2e_2"])


def test_per_file_cache_extracts_each_file_once(tmp_path):
    files = []
    for name in ("a.wav", "b.wav"):
        (tmp_path / name).write_bytes(b"x" * 10)
        files.append(str(tmp_path / name))
    calls = []

    def make_extractor():
        def extract(path):
            calls.append(path)
            return {"n": float(len(calls))}
        return extract

    cache = tmp_path / "cache.parquet"
    first = xe.ev.cached_per_file(cache, files, make_extractor, "test")
    assert first["n"].tolist() == [1.0, 2.0] and calls == files
    (tmp_path / "c.wav").write_bytes(b"y")
    again = xe.ev.cached_per_file(cache, files[::-1] + [str(tmp_path / "c.wav")], make_extractor, "test")
    assert again["n"].tolist() == [2.0, 1.0, 3.0]            # cached rows come back in the order asked
    assert calls == files + [str(tmp_path / "c.wav")]         # only the new file was extracted
    assert xe.ev.cached_per_file(cache, files, lambda: 1 / 0, "test").equals(first)   # no extractor needed
