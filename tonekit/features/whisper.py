"""Whisper's first encoder layers, run in numpy on 4-s pieces of speech: a second learned view for the tone models.

Speech-recognition encoders are a common source of features for emotion
recognition. tonekit uses the first layers of OpenAI's Whisper-base encoder
(MIT licence; weights in ``trained/whisper_encoder.npz``, made by
``scripts/export_whisper_encoder.py``): two GELU convolutions over Whisper's
80-band log-mel spectrum, sinusoidal positions, then the kept pre-norm
transformer layers and the encoder's final layer norm. Its early layers still
describe the voice (its deeper ones learn words, corpus and language): on
corpora left out of training they carry anger across corpora better than the
prosodic features or the GE2E voice embedding (``scripts/explore_whisper.py``,
results/whisper_layer*.md).

The recipe is the one of :mod:`tonekit.features.embedding`, with 4-s pieces:
the speaker's speech joined into streams, cut into pieces, each piece set to
-25 dBFS RMS (the encoder must not hear the line's gain), its log-mel
spectrum, the encoder, and from that one pass the time means of the outputs
of its second, first and third layers, each through the final layer norm
(512-d each: ``wsp_0`` ... ``wsp_511``, ``wsp_l1_0`` ..., ``wsp_l3_0`` ...;
:data:`LAYER_PREFIXES`). The tone models have one member on each (an
exploration chose that, by nested leave-one-corpus-out, over the second
layer alone, over layers joined in one member and over the third layer in
place of the second; docs/tone_models.md). An utterance's or a window's value is the
mean of its pieces', minus the speaker's mean.

Only numpy (and scipy's ``erf``) runs the encoder, in float32; the weights
load with ``allow_pickle=False`` after their SHA-256 is checked against
``whisper_encoder.json``.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .embedding import PieceEncoder, _hann, mel_basis   # the same 400-point periodic Hann window as GE2E's STFT

RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 80   # Whisper's STFT: 25-ms windows every 10 ms, 80 mel bands
LEVEL_DBFS = -25.0
PIECE_S = 4.0
N_DIMS = 512
MAX_FRAMES = 1500                   # the encoder's longest input: 30 s
PREFIX = "wsp_"
#: The encoder layers whose output tonekit keeps (the time mean through the final layer norm), by number
#: (1 = the first), and their column prefixes, in column order. The second layer's are ``wsp_*`` (the first
#: to ship); the others' start with :data:`PREFIX` too: one encoder makes them all.
LAYER_PREFIXES = {2: PREFIX, 1: "wsp_l1_", 3: "wsp_l3_"}
LAYER1_PREFIX, LAYER3_PREFIX = LAYER_PREFIXES[1], LAYER_PREFIXES[3]
#: The encoder layers the features need (the shipped weights hold exactly these).
N_LAYERS = max(LAYER_PREFIXES)
#: Column names of the Whisper features in feature tables: each kept layer's, in :data:`LAYER_PREFIXES` order.
WHISPER_COLUMNS = tuple(f"{prefix}{i}" for prefix in LAYER_PREFIXES.values() for i in range(N_DIMS))
#: The variables of one encoder layer, by number (CTranslate2's names, kept in the npz).
ENCODER_LAYER = re.compile(r"encoder/layer_(\d+)/")
_REQUIRED = ("encoder/conv1/weight", "encoder/conv1/bias", "encoder/conv2/weight", "encoder/conv2/bias",
             "encoder/position_encodings/encodings", "encoder/layer_norm/gamma", "encoder/layer_norm/beta",
             "encoder/num_heads")
_LAYER_KEYS = tuple(f"{block}/{name}" for block, names in (
    ("self_attention", ("layer_norm/gamma", "layer_norm/beta", "linear_0/weight", "linear_0/bias",
                        "linear_1/weight", "linear_1/bias")),
    ("ffn", ("layer_norm/gamma", "layer_norm/beta", "linear_0/weight", "linear_0/bias",
             "linear_1/weight", "linear_1/bias"))) for name in names)
_SQRT_HALF = np.float32(np.sqrt(0.5))


def log_mel(y: np.ndarray) -> np.ndarray:
    """Whisper's input, shape (80, frames): log10 mel power every 10 ms of a 16-kHz signal, floored 8 decades
    below its loudest and scaled as ``(log + 4) / 4`` (``whisper.audio.log_mel_spectrogram``: a centred,
    reflect-padded STFT with a periodic Hann window, its last frame dropped, librosa's Slaney mel filters).

    >>> m = log_mel(np.zeros(16000, np.float32))
    >>> m.shape, float(m.min()), float(m.max())
    ((80, 100), -1.5, -1.5)
    """
    y = np.asarray(y, np.float32)
    n = len(y) // HOP
    if n == 0:
        return np.zeros((N_MELS, 0), np.float32)
    pad = N_FFT // 2
    yp = np.pad(y, pad, mode="reflect") if len(y) > pad else np.pad(y, pad)
    frames = np.lib.stride_tricks.sliding_window_view(yp, N_FFT)[::HOP][:n]
    spec = np.fft.rfft(frames * _hann(), axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    # log10(1e-10) is -10, but some CPUs' vectorised float32 log10 give -10.000001: clamp to the exact floor
    logs = np.maximum(np.log10(np.maximum(power @ mel_basis(N_MELS).T, np.float32(1e-10))), np.float32(-10.0))
    logs = np.maximum(logs, logs.max() - np.float32(8.0))
    return np.ascontiguousarray(((logs + np.float32(4.0)) / np.float32(4.0)).T, dtype=np.float32)


def whisper_path() -> Path:
    """The shipped weights (``trained/whisper_encoder.npz``)."""
    from ..models.store import shipped_dir

    return shipped_dir() / "whisper_encoder.npz"


def n_layers(weights: dict) -> int:
    """How many transformer layers ``weights`` holds."""
    return len({m.group(1) for n in weights if (m := ENCODER_LAYER.match(n))})


@functools.lru_cache(maxsize=4)
def load_whisper(path=None) -> dict:
    """The encoder's weights (float32, laid out for :func:`encode`), checked against the card's SHA-256.

    Raises :class:`~tonekit.errors.ModelError` for a missing file or card, a
    hash mismatch, or missing arrays. ``numpy.load(allow_pickle=False)``: no
    code from the file runs.
    """
    from ..models.store import checked_card

    path = Path(path) if path is not None else whisper_path()
    checked_card(path, "Whisper encoder")
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except Exception as exc:
        raise ModelError(f"{path}: not a readable npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in _REQUIRED if k not in raw]
    layers = n_layers(raw)
    missing += [f"encoder/layer_{i}/{k}" for i in range(layers) for k in _LAYER_KEYS
                if f"encoder/layer_{i}/{k}" not in raw]
    if missing or layers == 0:
        raise ModelError(f"{path}: missing arrays {', '.join(missing) or 'encoder/layer_0/...'}")
    if layers < N_LAYERS:
        raise ModelError(f"{path}: holds {layers} encoder layer{'s' * (layers > 1)}; tonekit's Whisper features "
                         f"need {N_LAYERS} (scripts/export_whisper_encoder.py --layers {N_LAYERS})")
    return prepare(raw)


def prepare(raw: dict) -> dict:
    """Weights by CTranslate2's names (``encoder/...``, any float type) -> float32 arrays laid out for
    :func:`encode`: convolutions as (3 x in, out) matrices, linear layers transposed. Each array is
    converted once, straight into its layout (no float32 copy of the whole model on the way)."""
    def f32(name, transpose=False):
        a = np.asarray(raw[name])
        return np.ascontiguousarray(a.T if transpose else a, dtype=np.float32)

    out = {"heads": int(np.asarray(raw["encoder/num_heads"]).reshape(-1)[0]),
           "positions": f32("encoder/position_encodings/encodings"),
           "ln": (f32("encoder/layer_norm/gamma"), f32("encoder/layer_norm/beta")), "layers": []}
    for k in (1, 2):
        w = np.asarray(raw[f"encoder/conv{k}/weight"])                       # (out, in, 3)
        out[f"conv{k}"] = (np.ascontiguousarray(w.transpose(2, 1, 0).reshape(-1, w.shape[0]), dtype=np.float32),
                           f32(f"encoder/conv{k}/bias"))
    for i in range(n_layers(raw)):
        p = f"encoder/layer_{i}/"

        def lin(name, p=p):
            return f32(p + name + "/weight", transpose=True), f32(p + name + "/bias")

        out["layers"].append({
            "ln1": (f32(p + "self_attention/layer_norm/gamma"), f32(p + "self_attention/layer_norm/beta")),
            "qkv": lin("self_attention/linear_0"), "proj": lin("self_attention/linear_1"),
            "ln2": (f32(p + "ffn/layer_norm/gamma"), f32(p + "ffn/layer_norm/beta")),
            "fc1": lin("ffn/linear_0"), "fc2": lin("ffn/linear_1")})
    return out


#: Abramowitz & Stegun 7.1.26: erf(x) = 1 - t (a1 + t (a2 + ...)) exp(-x^2), t = 1 / (1 + p x), x >= 0; its error,
#: under 1.5e-7, is float32's own (scipy's erf costs 4 times as much on the encoder's arrays).
_AS_P = np.float32(0.3275911)
_AS_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf of a float32 array, to float32 precision (see :data:`_AS_A`)."""
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + _AS_P * a)
    poly = _AS_A[0] * t
    for c in _AS_A[1:]:
        poly += c
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(np.float32(1.0), poly, out=poly)
    return np.copysign(poly, x, out=poly)


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x), in float32."""
    h = _erf(x * _SQRT_HALF)
    h += np.float32(1.0)
    h *= np.float32(0.5)
    h *= x
    return h


def _conv(x: np.ndarray, wb, stride: int) -> np.ndarray:
    """Whisper's 3-tap convolution with one frame of zero padding each side, time-major: (..., T, in) ->
    (..., T', out)."""
    w, b = wb
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (0, 0)])
    n = (xp.shape[-2] - 3) // stride + 1
    cols = np.concatenate([xp[..., k:k + stride * (n - 1) + 1:stride, :] for k in range(3)], axis=-1)
    return cols @ w + b


def _layer_norm(x: np.ndarray, gb, eps: float = 1e-5) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    return d / np.sqrt((d * d).mean(-1, keepdims=True) + np.float32(eps)) * gb[0] + gb[1]


def _layer(x: np.ndarray, w: dict, heads: int) -> np.ndarray:
    """One pre-norm transformer layer (fused query-key-value projection, ``heads`` heads) on (..., T, d)."""
    *lead, t, d = x.shape
    qkv = _layer_norm(x, w["ln1"]) @ w["qkv"][0] + w["qkv"][1]
    q, k, v = (np.swapaxes(qkv[..., i * d:(i + 1) * d].reshape(*lead, t, heads, d // heads), -3, -2)
               for i in range(3))
    a = (q * np.float32(1 / np.sqrt(d // heads))) @ np.swapaxes(k, -1, -2)
    a -= a.max(-1, keepdims=True)
    np.exp(a, out=a)
    a /= a.sum(-1, keepdims=True)
    o = np.swapaxes(a @ v, -3, -2).reshape(*lead, t, d)
    x = x + o @ w["proj"][0] + w["proj"][1]
    h = _gelu(_layer_norm(x, w["ln2"]) @ w["fc1"][0] + w["fc1"][1])
    return x + h @ w["fc2"][0] + w["fc2"][1]


def encode(mel: np.ndarray, weights: dict) -> np.ndarray:
    """The encoder's output (frames / 2, 512) for :func:`log_mel`'s ``mel`` (80, frames), in float32, through
    as many layers as ``weights`` (:func:`load_whisper` or :func:`prepare`) holds, then the final layer norm.
    A stack of mels of one length, (pieces, 80, frames), gives (pieces, frames / 2, 512)."""
    mel = np.asarray(mel, np.float32)
    if mel.ndim not in (2, 3) or mel.shape[-2] != N_MELS:
        raise ValueError(f"mel must be ({N_MELS}, frames) or (pieces, {N_MELS}, frames), got shape {mel.shape}")
    if mel.shape[-1] > 2 * MAX_FRAMES:
        raise ValueError(f"mel has {mel.shape[-1]} frames; the encoder takes at most {2 * MAX_FRAMES} (30 s)")
    if mel.shape[-1] == 0:
        return np.zeros(mel.shape[:-2] + (0, len(weights["ln"][0])), np.float32)
    x = _stem(mel, weights)
    for layer in weights["layers"]:
        x = _layer(x, layer, weights["heads"])
    return _layer_norm(x, weights["ln"])


def _stem(mel: np.ndarray, weights: dict) -> np.ndarray:
    """The two GELU convolutions (the second with stride 2) and the positions: (..., frames / 2, width)."""
    x = _gelu(_conv(np.swapaxes(mel, -1, -2), weights["conv1"], 1))
    x = _gelu(_conv(x, weights["conv2"], 2))
    x += weights["positions"][:x.shape[-2]]
    return x


def pooled(mel: np.ndarray, weights: dict, layers=tuple(LAYER_PREFIXES)) -> np.ndarray:
    """The time means of the outputs of encoder ``layers`` (numbers from 1; default :data:`LAYER_PREFIXES`:
    the second, first and third), each through the final layer norm, joined in that order: (1536,) with the
    shipped weights, for :func:`log_mel`'s ``mel`` (80, frames). Layer ``k``'s part is
    ``encode(mel, weights with its first k layers).mean(axis=0)``; one pass computes them all."""
    mel = np.asarray(mel, np.float32)
    if mel.ndim != 2 or mel.shape[0] != N_MELS or not 0 < mel.shape[1] <= 2 * MAX_FRAMES:
        raise ValueError(f"mel must be ({N_MELS}, 1..{2 * MAX_FRAMES}), got shape {mel.shape}")
    layers = tuple(int(k) for k in layers)
    if not layers or min(layers) < 1 or max(layers) > len(weights["layers"]):
        raise ValueError(f"layers must be numbers from 1 to {len(weights['layers'])} (the layers the weights "
                         f"hold), not {layers}")
    x = _stem(mel, weights)
    means = {}
    for k, layer in enumerate(weights["layers"][:max(layers)], start=1):
        x = _layer(x, layer, weights["heads"])
        if k in layers:
            means[k] = _layer_norm(x, weights["ln"]).mean(axis=-2)
    return np.concatenate([means[k] for k in layers])


def _whisper_input(padded: np.ndarray, a: int, b: int, gain: float) -> np.ndarray:
    """The log-mel spectrum of samples ``[a, b)`` of a stream (``padded``: N_FFT/2 zeros before it), levelled
    by ``gain``."""
    return log_mel(padded[N_FFT // 2 + a: N_FFT // 2 + b] * np.float32(gain))


def _forward(mels, weights) -> np.ndarray:
    """:func:`pooled` of each piece, (pieces, 1536). One piece at a time: stacking pieces of one
    length into one call was 9 % slower on one core (larger arrays, worse cache use)."""
    return np.stack([pooled(m, weights) for m in mels]).astype(np.float32)


#: Whisper's encoder as a :class:`~tonekit.features.embedding.PieceEncoder` (:data:`WHISPER_COLUMNS`).
WHISPER = PieceEncoder(name="Whisper-base encoder (first layers)", prefix=PREFIX, dims=len(WHISPER_COLUMNS),
                       piece_samples=int(PIECE_S * RATE), level_dbfs=LEVEL_DBFS, featurize=_whisper_input,
                       forward=_forward, load=lambda: load_whisper(), normalise=False, batch=8,
                       step="whisper", names=WHISPER_COLUMNS)


def signal_whisper(y: np.ndarray, sr: int, speech=None, *, weights=None) -> np.ndarray:
    """Whisper features (1536,: the second, first and third layers' outputs; see :func:`pooled`) of a
    single-speaker signal (not speaker-relative); NaN if it has no speech."""
    from .embedding import signal_embedding

    return signal_embedding(y, sr, speech, weights=weights, encoder=WHISPER)


__all__ = ["WHISPER", "WHISPER_COLUMNS", "LAYER_PREFIXES", "LAYER1_PREFIX", "LAYER3_PREFIX", "N_LAYERS", "log_mel",
           "load_whisper", "prepare", "encode", "pooled", "n_layers", "whisper_path", "signal_whisper"]
