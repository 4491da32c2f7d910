"""Whisper's first encoder layers in numpy (tonekit.features.whisper): log-mel input, the port, safe loading, pieces."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from scriptload import load_script

from tonekit.errors import ModelError
from tonekit.features import whisper as W
from tonekit.features.embedding import embed_speech
from tonekit.models.store import sha256, write_card

xw = load_script("explore_whisper.py", "explore_whisper")   # the float64, librosa-based reference

SR = 16000


def _raw(d=16, heads=4, layers=2, positions=64, seed=0):
    """Small random encoder weights by CTranslate2's names (float32), ``layers`` transformer layers of width d."""
    rng = np.random.default_rng(seed)
    r = lambda *shape: (0.1 * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    w = {"encoder/conv1/weight": r(d, 80, 3), "encoder/conv1/bias": r(d), "encoder/conv2/weight": r(d, d, 3),
         "encoder/conv2/bias": r(d), "encoder/position_encodings/encodings": r(positions, d),
         "encoder/layer_norm/gamma": 1 + r(d), "encoder/layer_norm/beta": r(d),
         "encoder/num_heads": np.array(heads, np.int32)}   # 0-d, as in a CTranslate2 file
    for i in range(layers):
        p = f"encoder/layer_{i}/"
        for block, n_out in (("self_attention", 3 * d), ("ffn", 4 * d)):
            w[p + block + "/layer_norm/gamma"], w[p + block + "/layer_norm/beta"] = 1 + r(d), r(d)
            w[p + block + "/linear_0/weight"], w[p + block + "/linear_0/bias"] = r(n_out, d), r(n_out)
            n_in = d if block == "self_attention" else 4 * d
            w[p + block + "/linear_1/weight"], w[p + block + "/linear_1/bias"] = r(d, n_in), r(d)
    return w


def _noise(n, seed=0, scale=0.1):
    return (scale * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _levelled_mel(y):
    """The reference's input for a piece: -25 dBFS RMS, then librosa's log-mel."""
    return xw.prepared_mel(np.asarray(y, np.float32), SR)


# ----------------------------------------------------------------------------- log-mel input

def test_log_mel_equals_librosa_and_puts_a_tone_in_its_band():
    import librosa

    y = _noise(16000 + 77)
    m = W.log_mel(y)
    assert m.shape == (80, len(y) // 160) and m.dtype == np.float32
    np.testing.assert_allclose(m, xw.log_mel(y), atol=1e-4)
    np.testing.assert_allclose(W.mel_basis(80), librosa.filters.mel(sr=SR, n_fft=400, n_mels=80), atol=1e-8)
    t = np.arange(2 * SR) / SR
    tone = W.log_mel(0.1 * np.sin(2 * np.pi * 1000 * t))
    centres = librosa.mel_frequencies(n_mels=82, fmax=8000)[1:-1]
    assert int(np.argmax(tone.mean(axis=1))) == int(np.argmin(np.abs(centres - 1000)))
    assert W.log_mel(np.zeros(100, np.float32)).shape == (80, 0)    # less than a hop: no frame


def test_log_mel_floor_and_level():
    silent = W.log_mel(np.zeros(SR, np.float32))
    assert silent.shape == (80, 100) and (silent == -1.5).all()      # log10(1e-10) = -10 -> (-10 + 4) / 4
    y = _noise(SR, seed=1)
    m = W.log_mel(y)
    assert m.min() > m.max() - 2 + 0.1                               # noise: no bin at the 8-decade floor
    # twice the amplitude: four times the power in every bin, log10(4) / 4 higher
    np.testing.assert_allclose(W.log_mel(2 * y) - m, np.log10(4) / 4, atol=2e-5)


# ----------------------------------------------------------------------------- the encoder port

@pytest.mark.parametrize("layers,heads,frames", [(1, 2, 50), (2, 4, 37), (2, 4, 1)])
def test_encode_equals_the_float64_reference(layers, heads, frames):
    raw = _raw(d=16, heads=heads, layers=layers)
    w = W.prepare(raw)
    assert len(w["layers"]) == layers == W.n_layers(raw) and w["heads"] == heads
    mel = W.log_mel(_noise(frames * 160 + 100, seed=frames))
    assert mel.shape[1] == frames
    got = W.encode(mel, w)
    ref = xw.numpy_encode(mel.astype(np.float64), {k: (v.astype(np.float64) if v.dtype.kind == "f" else v)
                                                   for k, v in raw.items()})
    assert got.shape == (math.ceil(frames / 2), 16) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-4 * np.abs(ref).max())
    # the heads matter: the same weights read with one head give other numbers
    if frames > 1:   # (one frame attends only to itself, whatever the heads)
        other = W.encode(mel, {**w, "heads": 1})
        assert np.abs(other - got).max() > 1e-3


def test_encode_convolutions_in_closed_form():
    # conv1 passes band j through its middle tap, conv2 takes the frame before through its left tap (stride 2):
    # output frame t = gelu(gelu(mel[:, 2t - 1])) + position t, zeros before the first frame; then the final norm
    raw = _raw(d=80, heads=2, layers=0, positions=8)
    raw["encoder/conv1/weight"] = np.zeros((80, 80, 3), np.float32)
    raw["encoder/conv1/weight"][:, :, 1] = np.eye(80)
    raw["encoder/conv2/weight"] = np.zeros((80, 80, 3), np.float32)
    raw["encoder/conv2/weight"][:, :, 0] = np.eye(80)
    for k in ("conv1/bias", "conv2/bias", "layer_norm/beta"):
        raw[f"encoder/{k}"] = np.zeros(80, np.float32)
    raw["encoder/layer_norm/gamma"] = np.ones(80, np.float32)
    mel = np.random.default_rng(2).uniform(-1.5, 1.5, (80, 7)).astype(np.float32)
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))
    x = np.stack([np.zeros(80)] + [gelu(gelu(mel[:, 2 * t - 1].astype(float))) for t in (1, 2, 3)])
    x = x + raw["encoder/position_encodings/encodings"][:4]
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    got = W.encode(mel, W.prepare(raw))
    assert got.shape == (4, 80)                                   # ceil(7 / 2) frames
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.mean(axis=1), 0, atol=1e-5)    # every frame normalised across features
    np.testing.assert_allclose(got.std(axis=1), 1, atol=1e-3)


def test_encode_refuses_bad_shapes_and_takes_an_empty_mel():
    w = W.prepare(_raw(d=16, layers=1))
    with pytest.raises(ValueError, match="80"):
        W.encode(np.zeros((40, 10), np.float32), w)
    with pytest.raises(ValueError, match="80"):
        W.encode(np.zeros(800, np.float32), w)
    with pytest.raises(ValueError, match="30 s"):
        W.encode(np.zeros((80, 3001), np.float32), w)
    empty = W.encode(np.zeros((80, 0), np.float32), w)
    assert empty.shape == (0, 16) and empty.dtype == np.float32


def test_encode_of_a_stack_is_each_piece_encoded_alone():
    w = W.prepare(_raw(d=16, heads=4, layers=2))
    mels = np.stack([W.log_mel(_noise(4000, seed=s)) for s in (1, 2, 3)])
    stacked = W.encode(mels, w)
    assert stacked.shape == (3, 13, 16)
    for m, out in zip(mels, stacked):
        np.testing.assert_allclose(out, W.encode(m, w), atol=1e-5)


# ----------------------------------------------------------------------------- the shipped file

def test_shipped_weights_are_whisper_base_first_three_layers():
    path = W.whisper_path()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(path) and card["layers"] == 3 == W.N_LAYERS
    w = W.load_whisper()
    assert len(w["layers"]) == 3 and w["heads"] == 8
    assert w["conv1"][0].shape == (80 * 3, 512) and w["conv2"][0].shape == (512 * 3, 512)
    assert w["layers"][0]["qkv"][0].shape == (512, 1536) and w["layers"][1]["fc1"][0].shape == (512, 2048)
    # Whisper's sinusoidal positions (whisper.model.sinusoids), stored in float16
    inv = np.exp(-np.log(10000) / (256 - 1) * np.arange(256))
    scaled = np.arange(1500)[:, None] * inv[None, :]
    np.testing.assert_allclose(w["positions"], np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1), atol=1e-3)
    # the port agrees with the reference on the real weights too
    with np.load(path, allow_pickle=False) as z:
        raw = {k: (z[k].astype(np.float32) if z[k].dtype.kind == "f" else z[k]) for k in z.files}
    raw["encoder/num_heads"] = raw["encoder/num_heads"].reshape(())   # stored as (1,): the reference wants 0-d
    mel = _levelled_mel(_noise(SR // 2, seed=3))
    ref = xw.numpy_encode(mel, raw)
    np.testing.assert_allclose(W.encode(mel, w), ref, atol=2e-4)   # |ref| up to ~18


def test_weights_file_is_checked_against_its_card(tmp_path):
    shipped = W.whisper_path()
    bad = tmp_path / "whisper_encoder.npz"
    shutil.copy(shipped, bad)
    card = json.loads(shipped.with_suffix(".json").read_text())
    card["sha256"] = ("0" if card["sha256"][0] != "0" else "1") + card["sha256"][1:]
    write_card(tmp_path / "whisper_encoder.json", card)
    with pytest.raises(ModelError, match="whisper_encoder.npz.*does not match"):
        W.load_whisper(bad)
    # the right hash in a card edited by hand: the card's own stamp no longer holds
    card = json.loads(shipped.with_suffix(".json").read_text())
    card["licence"] = "public domain"
    (tmp_path / "whisper_encoder.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"whisper_encoder\.json: the Whisper encoder card was changed after "
                                         "tonekit wrote it"):
        W.load_whisper(bad)
    # a file with its card but without an array the encoder needs: refused by that array's name
    small = tmp_path / "small.npz"
    raw = _raw(d=16, layers=3)
    np.savez(small, **{k: v for k, v in raw.items() if k != "encoder/conv1/weight"})
    write_card(tmp_path / "small.json", {"sha256": sha256(small)})
    with pytest.raises(ModelError, match="small.npz: missing arrays encoder/conv1/weight"):
        W.load_whisper(small)
    # ... and with it, loaded as prepare() lays it out
    np.savez(small, **raw)
    write_card(tmp_path / "small.json", {"sha256": sha256(small)})
    mel = W.log_mel(_noise(3200))
    np.testing.assert_array_equal(W.encode(mel, W.load_whisper(small)), W.encode(mel, W.prepare(raw)))
    # a file with too few layers for the features (an older export): refused, saying how to make one
    np.savez(small, **_raw(d=16, layers=2))
    write_card(tmp_path / "small.json", {"sha256": sha256(small)})
    W.load_whisper.cache_clear()                                # load_whisper is cached by path
    with pytest.raises(ModelError, match=r"small.npz: holds 2 encoder layers; .* need 3 .*--layers 3"):
        W.load_whisper(small)
    (tmp_path / "small.json").unlink()
    W.load_whisper.cache_clear()                                # load_whisper is cached by path
    with pytest.raises(ModelError, match="card small.json not found"):
        W.load_whisper(small)
    W.load_whisper.cache_clear()


# ----------------------------------------------------------------------------- pieces and utterances

def _voiced(seconds=2.0, amplitude=0.1):
    t = np.arange(int(seconds * SR)) / SR
    harmonics = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    return (amplitude * harmonics * (1 + 0.8 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_signal_whisper_with_the_shipped_weights_ignores_the_level():
    y = _voiced()
    e = W.signal_whisper(y, SR)
    assert e.shape == (1536,) and np.isfinite(e).all()           # the second layer's output, the first's, the third's
    cols = W.WHISPER.columns
    assert len(cols) == 1536 and cols[511:513] == ("wsp_511", "wsp_l1_0")
    assert cols[1023:1025] == ("wsp_l1_511", "wsp_l3_0")
    for a, b in ((0, 512), (0, 1024), (512, 1024)):                # each layer's output differs from the others'
        assert not np.allclose(e[a:a + 512], e[b:b + 512], atol=0.1)
    np.testing.assert_allclose(W.signal_whisper(10 * y, SR), e, atol=1e-3)   # pieces are levelled
    silent = W.signal_whisper(np.zeros(2 * SR, np.float32), SR)
    assert silent.shape == (1536,) and np.isnan(silent).all()


def test_signal_whisper_is_the_reference_on_the_levelled_utterance():
    # 2 s of speech: one piece (the stream's only one), levelled to -25 dBFS, time mean of the encoder (not unit)
    raw = _raw(d=16, heads=2, layers=3, positions=200)
    y = _voiced(amplitude=0.03)
    got = W.signal_whisper(y, SR, np.ones(200, bool), weights=W.prepare(raw))
    assert got.shape == (48,)

    def first(k):   # the reference encoder with its first k layers (then the final layer norm), time mean
        kept = {n: v for n, v in raw.items() if not any(n.startswith(f"encoder/layer_{i}/") for i in range(k, 3))}
        return xw.numpy_encode(_levelled_mel(y), kept).mean(axis=0)

    # the thirds: the second layer's output, the first's, the third's (= the whole encoder's)
    for part, k in enumerate((2, 1, 3)):
        np.testing.assert_allclose(got[16 * part:16 * part + 16], first(k), atol=2e-4)
    assert abs(np.linalg.norm(got[:16]) - 1) > 0.01                  # a time mean, not a unit vector
    np.testing.assert_allclose(got[32:], xw.numpy_encode(_levelled_mel(y), raw).mean(axis=0), atol=2e-4)
    assert not np.allclose(got[:16], got[16:32], atol=1e-2) and not np.allclose(got[:16], got[32:], atol=1e-2)


def _reader(y):
    return lambda a, b: y[int(round(a * SR)):int(round(b * SR))]


def test_whisper_pieces_are_4_s_and_keep_three_quarters():
    raw = _raw(d=16, heads=2, layers=3, positions=200)
    w = W.prepare(raw)
    y = _noise(10 * SR, seed=4)
    mask = np.zeros(1000, bool)
    mask[:900] = True                                            # 9.0 s of speech from t = 0
    emb, spans = embed_speech(_reader(y), mask, SR, encoder=W.WHISPER, weights=w)
    # two 4-s pieces; the 1-s rest (< 3/4 of a piece) is dropped
    np.testing.assert_allclose(spans, [[0.0, 4.0], [4.0, 8.0]], atol=1e-3)
    assert emb.shape == (2, 48)                                  # three layers' outputs
    for piece, (a, b) in zip(emb, [(0, 4 * SR), (4 * SR, 8 * SR)]):
        ref = xw.numpy_encode(_levelled_mel(y[a:b]), raw).mean(axis=0)   # the whole encoder: the third layer
        np.testing.assert_allclose(piece[32:], ref, atol=2e-4)
    first, first_span = embed_speech(_reader(y), mask, SR, encoder=W.WHISPER, weights=w, every=2)
    np.testing.assert_allclose(first_span, spans[:1])
    np.testing.assert_allclose(first, emb[:1], atol=1e-6)
    # 3.5 s of speech (>= 3/4 of a piece): one piece, all of it
    short = np.zeros(1000, bool)
    short[100:450] = True
    emb, spans = embed_speech(_reader(y), short, SR, encoder=W.WHISPER, weights=w)
    np.testing.assert_allclose(spans, [[1.0, 4.5]], atol=1e-3)
    ref = xw.numpy_encode(_levelled_mel(y[SR:int(4.5 * SR)]), raw).mean(axis=0)
    np.testing.assert_allclose(emb[0][32:], ref, atol=2e-4)


def test_pooled_layers_are_the_encoders_outputs_by_number():
    raw = _raw(d=16, heads=2, layers=3, positions=200)
    w = W.prepare(raw)
    mel = _levelled_mel(_noise(SR, seed=6))
    full = W.pooled(mel, w)                                      # default: layers 2, 1, 3
    assert full.shape == (48,) and tuple(W.LAYER_PREFIXES) == (2, 1, 3)
    np.testing.assert_array_equal(W.pooled(mel, w, layers=(3,)), full[32:])
    np.testing.assert_array_equal(W.pooled(mel, w, layers=(1, 2)), np.r_[full[16:32], full[:16]])
    np.testing.assert_allclose(full[32:], W.encode(mel, w).mean(axis=0), atol=1e-6)
    for bad in ((4,), (0,), ()):
        with pytest.raises(ValueError, match="layers must be numbers from 1 to 3"):
            W.pooled(mel, w, layers=bad)
