#!/usr/bin/env python3
"""Exploration: does Whisper's encoder carry anger across corpora better than tonekit's features?

Speech-recognition encoders are a common source of features for emotion
recognition. This script measures the utterance embedding of OpenAI's
Whisper-base encoder (the mean over time of one layer's output, 512-d, made
speaker-relative like tonekit's voice embedding; the last layer, or with
``--layers N`` the N-th of 6, after the encoder's final layer norm) on exactly
the protocol of ``scripts/evaluate.py``, with four feature sets:

- ``tonekit``: the shipped model (prosody and the GE2E voice embedding, late fusion);
- ``whisper``: a logistic regression on the Whisper embedding (C as the shipped embedding member's);
- ``prosody+whisper``: the shipped fusion with the Whisper embedding in place of GE2E;
- ``mean(tonekit,whisper)``: the mean of the shipped model's probability and the ``whisper`` one's.

It is not part of the shipped pipeline. It needs ``pip install '.[explore-whisper]'``
(CTranslate2) and a CTranslate2 conversion of Whisper-base (``--model``: a folder
with ``model.bin`` and ``config.json``, as faster-whisper uses, for example
``Systran/faster-whisper-base``). The encoder is run on each utterance as it is
(no padding to 30 s), at 16 kHz, with every utterance set to -25 dBFS first so
that it cannot hear how loud an utterance is.

Usage::

    python scripts/explore_whisper.py --model ~/models/faster-whisper-base --out results/whisper.json
    python scripts/explore_whisper.py --model ~/models/faster-whisper-base --layers 2 --out results/whisper_layer2.json
    python scripts/explore_whisper.py --model ~/models/faster-whisper-base --layers 2 --check-port 20 \
        --out results/whisper_port.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as ev  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.models.estimators import FusedToneClassifier, ToneClassifier  # noqa: E402
from tonekit.models.features import (default_cache_dir, normalised_features, raw_embeddings,  # noqa: E402
                                     raw_features, relative_embeddings)
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.train import DEFAULT_PARAMS  # noqa: E402
from tonekit.features.whisper import ENCODER_LAYER  # noqa: E402,F401  (the variables of one encoder layer)

RATE = 16000          # Whisper's rate
N_FFT, HOP, N_MELS = 400, 160, 80
LEVEL_DBFS = -25.0    # every utterance's RMS level before the encoder
PREFIX = "wsp_"
EMBED_VERSION = 1     # bump when the recipe changes (cache key)
NAMES = ["tonekit", "whisper", "prosody+whisper", "mean(tonekit,whisper)"]


def log_mel(y: np.ndarray) -> np.ndarray:
    """Whisper's input: 80 log10 mel bands every 10 ms of a 16-kHz signal, floored 8 decades below the
    loudest and scaled as ``(log + 4) / 4`` (as ``whisper.audio.log_mel_spectrogram``), shape (80, frames).

    >>> m = log_mel(np.zeros(16000, np.float32))
    >>> m.shape, float(m.max() - m.min())
    ((80, 100), 0.0)
    """
    import librosa

    spec = np.abs(librosa.stft(np.asarray(y, np.float32), n_fft=N_FFT, hop_length=HOP, window="hann",
                               center=True, pad_mode="reflect")) ** 2
    mel = librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS) @ spec[:, :-1]
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return ((logs + 4.0) / 4.0).astype(np.float32)


def prepared_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """What the encoder hears of a signal: at 16 kHz, its first 30 s (the encoder's longest input), set to
    ``LEVEL_DBFS`` (RMS), as :func:`log_mel`."""
    y = np.asarray(y, np.float32)
    if sr != RATE:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=RATE)
    y = y[:30 * RATE]
    return log_mel(y * (10 ** (LEVEL_DBFS / 20) / max(float(np.sqrt(np.mean(y.astype(float) ** 2))), 1e-9)))


# ----------------------------------------------------------------------------- CTranslate2 model files

def read_ct2(path) -> dict:
    """A CTranslate2 ``model.bin`` as ``{"version", "name", "revision", "variables": [(name, dims, dtype_id,
    bytes)], "aliases": [(alias, name)]}`` (the layout of ``ctranslate2.specs.model_spec``'s serialiser).
    Nothing in it is executed: it is read as numbers and strings."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt):
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    def text():
        nonlocal pos
        n = take("<H")
        value = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return value

    try:
        out = {"version": take("<I"), "name": text(), "revision": take("<I")}
        variables = []
        for _ in range(take("<I")):
            name = text()
            dims = [take("<I") for _ in range(take("<B"))]
            dtype = take("<B")
            n = take("<I")
            if pos + n > len(data):
                raise struct.error("variable runs past the end")
            variables.append((name, dims, dtype, data[pos:pos + n]))
            pos += n
        out["variables"] = variables
        out["aliases"] = [(text(), text()) for _ in range(take("<I"))]
    except (struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a whole CTranslate2 model file ({e})") from None
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} bytes after the model's end")
    return out


def write_ct2(path, model: dict) -> None:
    """Write :func:`read_ct2`'s dictionary back as a ``model.bin``."""
    with open(path, "wb") as f:
        def text(value):
            raw = value.encode("utf-8")
            f.write(struct.pack("<H", len(raw) + 1) + raw + b"\0")

        f.write(struct.pack("<I", model["version"]))
        text(model["name"])
        f.write(struct.pack("<II", model["revision"], len(model["variables"])))
        for name, dims, dtype, raw in model["variables"]:
            text(name)
            f.write(struct.pack("<B", len(dims)) + b"".join(struct.pack("<I", d) for d in dims))
            f.write(struct.pack("<BI", dtype, len(raw)) + raw)
        f.write(struct.pack("<I", len(model["aliases"])))
        for alias, name in model["aliases"]:
            text(alias)
            text(name)


def truncated_model(model_dir, layers: int, work_dir) -> Path:
    """A copy of a CTranslate2 Whisper model (in ``work_dir``, made once) whose encoder keeps only its first
    ``layers`` layers; its final layer norm then normalises that layer's output. CTranslate2 builds as many
    encoder layers as the file holds, so ``encode`` returns the ``layers``-th layer."""
    model_dir = Path(model_dir)
    out = Path(work_dir) / f"{model_dir.name}-{layers}layers"
    if (out / "model.bin").is_file():
        return out
    model = read_ct2(model_dir / "model.bin")
    have = {int(m.group(1)) for n, *_ in model["variables"] if (m := ENCODER_LAYER.match(n))}
    if not 1 <= layers <= len(have):
        sys.exit(f"--layers must be between 1 and {len(have)} for {model_dir}, not {layers}")
    drop = tuple(f"encoder/layer_{i}/" for i in range(layers, len(have)))
    model["variables"] = [v for v in model["variables"] if not v[0].startswith(drop)]
    model["aliases"] = [a for a in model["aliases"] if not a[0].startswith(drop)]
    out.mkdir(parents=True, exist_ok=True)
    for extra in model_dir.iterdir():
        if extra.name != "model.bin" and extra.is_file():
            shutil.copy(extra, out / extra.name)
    write_ct2(out / "model.bin.part", model)
    (out / "model.bin.part").rename(out / "model.bin")
    return out


# ----------------------------------------------------------------------------- numpy port (a step towards shipping)

#: CTranslate2's data type ids (``ctranslate2::DataType``) of the arrays a Whisper model holds.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def encoder_weights(model: dict) -> dict:
    """The encoder's arrays of :func:`read_ct2`'s model by name (floating point ones as float32)."""
    out = {}
    for name, dims, dtype, raw in model["variables"]:
        if name.startswith("encoder/"):
            a = np.frombuffer(raw, CT2_DTYPES[dtype]).reshape(dims)
            out[name] = a.astype(np.float32) if a.dtype.kind == "f" else a
    return out


def _conv1d(x, w, b, stride):
    """Whisper's 3-tap convolution with one frame of zero padding each side: ``x`` (in, T), ``w`` (out, in, 3)."""
    xp = np.pad(x, ((0, 0), (1, 1)))
    n = (xp.shape[1] - 3) // stride + 1
    cols = np.concatenate([xp[:, k:k + stride * (n - 1) + 1:stride] for k in range(3)])
    return w.transpose(0, 2, 1).reshape(len(w), -1) @ cols + b[:, None]


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + eps) * gamma + beta


def _block(x, w, prefix, heads):
    """One pre-norm transformer layer of the encoder (fused query-key-value projection, ``heads`` heads)."""
    att, ffn = prefix + "self_attention/", prefix + "ffn/"
    h = _layer_norm(x, w[att + "layer_norm/gamma"], w[att + "layer_norm/beta"])
    q, k, v = np.split(h @ w[att + "linear_0/weight"].T + w[att + "linear_0/bias"], 3, axis=1)
    t, d = q.shape
    q, k, v = (m.reshape(t, heads, d // heads).transpose(1, 0, 2) for m in (q, k, v))
    a = q @ k.transpose(0, 2, 1) / np.sqrt(d // heads)
    a = np.exp(a - a.max(-1, keepdims=True))
    o = ((a / a.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(t, d)
    x = x + o @ w[att + "linear_1/weight"].T + w[att + "linear_1/bias"]
    h = _layer_norm(x, w[ffn + "layer_norm/gamma"], w[ffn + "layer_norm/beta"])
    h = _gelu(h @ w[ffn + "linear_0/weight"].T + w[ffn + "linear_0/bias"])
    return x + h @ w[ffn + "linear_1/weight"].T + w[ffn + "linear_1/bias"]


def numpy_encode(mel: np.ndarray, w: dict) -> np.ndarray:
    """The encoder's output (frames, width) for :func:`log_mel`'s ``mel``, in numpy, with as many layers as
    ``w`` (:func:`encoder_weights`) holds: two GELU convolutions (the second halves the frame rate),
    position encodings, pre-norm transformer layers, the final layer norm."""
    x = _gelu(_conv1d(mel, w["encoder/conv1/weight"], w["encoder/conv1/bias"], 1))
    x = _gelu(_conv1d(x, w["encoder/conv2/weight"], w["encoder/conv2/bias"], 2)).T
    x = x + w["encoder/position_encodings/encodings"][:len(x)]
    heads = int(w["encoder/num_heads"])
    n_layers = len({m.group(1) for n in w if (m := ENCODER_LAYER.match(n))})
    for i in range(n_layers):
        x = _block(x, w, f"encoder/layer_{i}/", heads)
    return _layer_norm(x, w["encoder/layer_norm/gamma"], w["encoder/layer_norm/beta"])


def check_port(model_dir, paths) -> dict:
    """Largest difference of :func:`numpy_encode` from CTranslate2's float32 encoder, and time per file of
    both, on real utterances (wideband, levelled as :func:`embed` does)."""
    import ctranslate2

    from tonekit.audio import load_audio

    ref = load_encoder(model_dir, compute_type="float32")
    w = encoder_weights(read_ct2(Path(model_dir) / "model.bin"))
    worst, t_np, t_ct2 = 0.0, 0.0, 0.0
    for p in paths:
        mel = prepared_mel(*load_audio(p))
        t = time.perf_counter()
        a = np.asarray(ref.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))[0]
        t_ct2 += time.perf_counter() - t
        t = time.perf_counter()
        b = numpy_encode(mel, w)
        t_np += time.perf_counter() - t
        worst = max(worst, float(np.abs(a - b).max()))
    n = len(paths)
    return {"n_files": n, "max_abs_diff": worst, "ms_per_file_ct2_float32": round(1000 * t_ct2 / n, 1),
            "ms_per_file_numpy": round(1000 * t_np / n, 1)}


def check_model_dir(model_dir) -> Path:
    """``model_dir`` as a Path, or exit with a one-line error if it holds no ``model.bin``."""
    if not (Path(model_dir) / "model.bin").is_file():
        sys.exit(f"{model_dir}: no model.bin here (a CTranslate2 Whisper model folder, as faster-whisper uses)")
    return Path(model_dir)


def load_encoder(model_dir, compute_type="int8", threads=2):
    try:
        import ctranslate2
    except ImportError:
        sys.exit("explore_whisper.py needs CTranslate2: pip install '.[explore-whisper]'")
    check_model_dir(model_dir)
    return ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type=compute_type,
                                      intra_threads=threads)


def embed(encoder, y: np.ndarray, sr: int) -> dict:
    """The utterance's Whisper embedding: the time mean of the encoder's output (its last layer, or the last
    one a :func:`truncated_model` keeps), as ``{"wsp_0": ...}``."""
    import ctranslate2

    out = np.asarray(encoder.encode(ctranslate2.StorageView.from_array(prepared_mel(y, sr)[None]), to_cpu=True))[0]
    return {f"{PREFIX}{i}": float(v) for i, v in enumerate(out.mean(axis=0))}


def whisper_embeddings(paths, condition, cache_dir, model_dir) -> pd.DataFrame:
    from tonekit.models.features import condition_audio

    def make_extractor():
        encoder = load_encoder(model_dir)
        return lambda p: embed(encoder, *condition_audio(p, condition))

    name = f"whisper-{EMBED_VERSION}-{Path(model_dir).name}-{condition}.parquet"
    return ev.cached_per_file(Path(cache_dir) / name, paths, make_extractor, f"Whisper ({condition})")


class MeanOf(BaseEstimator, ClassifierMixin):
    """The mean probability of estimators, each fitted on the columns whose names start with one of its
    prefixes (``members``: ``[(estimator, prefixes), ...]``). ``fit`` passes ``sample_weight`` and
    ``groups`` on to every member.
    """

    def __init__(self, members=()):
        self.members = members

    def fit(self, X, y, sample_weight=None, groups=None):
        self.fitted_ = []
        for est, prefixes in self.members:
            cols = [c for c in X.columns if str(c).startswith(tuple(prefixes))]
            self.fitted_.append((clone(est).fit(X[cols], y, sample_weight=sample_weight, groups=groups), cols))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.mean([est.predict_proba(X[cols]) for est, cols in self.fitted_], axis=0)

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def feature_sets(prosody, ge2e, whisper, target):
    """``{name: ((wideband, telephone), estimator)}`` for the four sets of the module docstring."""
    params = DEFAULT_PARAMS[target]
    shipped = FusedToneClassifier(**params)
    alone = ToneClassifier(kind="logreg", C=params["embedding_C"])
    join = lambda *parts: tuple(pd.concat([p[i] for p in parts], axis=1) for i in (0, 1))  # noqa: E731
    prosodic = tuple(prosody[0].columns)
    return {"tonekit": (join(prosody, ge2e), shipped),
            "whisper": (whisper, alone),
            "prosody+whisper": (join(prosody, whisper), FusedToneClassifier(**{**params, "embedding_prefix": PREFIX})),
            "mean(tonekit,whisper)": (join(prosody, ge2e, whisper),
                                      MeanOf([(shipped, prosodic + ("emb_",)), (alone, (PREFIX,))]))}


def markdown(result: dict) -> str:
    wide, per = ev.compare_tables(result, NAMES)
    layer = f"the output of its first {result['layers']} layers" if result.get("layers") else "its last layer"
    return "\n".join([
        f"Whisper-base's encoder ({layer}) against tonekit (scripts/explore_whisper.py; means over the four "
        "corpora; ECE at even odds):", "", wide, "", "Anger, cross-corpus ROC AUC per held-out corpus:", "", per]) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a CTranslate2 Whisper model folder (model.bin, config.json)")
    ap.add_argument("--layers", type=int, metavar="N",
                    help="use the output of the encoder's first N layers (default: all; Whisper-base has 6)")
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES),
                    help="targets to run, comma-separated (default %(default)s)")
    ap.add_argument("--check-port", type=int, default=0, metavar="N",
                    help="only compare the numpy port with CTranslate2 on N utterances (spread over the corpora)")
    ap.add_argument("--out", help="write rows and summary as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)

    t0 = time.time()
    model = args.model
    if args.layers is not None:
        model = truncated_model(check_model_dir(model), args.layers, Path(args.cache_dir) / "models")
    table = targets(load_corpora(args.corpora)).reset_index(drop=True)
    corpora = sorted(table.corpus.unique())
    if args.check_port:
        pick = table.groupby("corpus").head(max(1, args.check_port // len(corpora))).path.tolist()
        port = {"model": Path(model).name, **check_port(check_model_dir(model), pick)}
        text = "numpy port of the encoder against CTranslate2 (float32): " + json.dumps(port) + "\n"
        ev.publish(port, text, args.out)
        return 0
    conds = ("wideband", "telephone")
    prosody = tuple(normalised_features(table, raw_features(table.path, c, cache_dir=args.cache_dir)).reset_index(drop=True)
                    for c in conds)
    ge2e = tuple(relative_embeddings(table, raw_embeddings(table.path, c, cache_dir=args.cache_dir)).reset_index(drop=True)
                 for c in conds)
    whisper = []
    for c in conds:
        w = whisper_embeddings(list(table.path), c, args.cache_dir, model).astype(float)
        w.index = table.index
        whisper.append(relative_embeddings(table, w).reset_index(drop=True))
    df = ev.evaluate_sets(table, lambda target: feature_sets(prosody, ge2e, tuple(whisper), target),
                          args.targets.split(","), corpora=corpora, t0=t0)
    result = {"rows": df.to_dict(orient="records"), "summary": ev.summarise(df).to_dict(orient="records"),
              "model": Path(model).name, "layers": args.layers, "seconds": round(time.time() - t0, 1)}
    ev.publish(result, markdown(result), args.out)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
