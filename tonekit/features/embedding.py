"""Learned voice embeddings: a pretrained GE2E encoder run in numpy on 1.6-s pieces of speech.

tonekit's 55 prosodic features describe pitch, loudness, rate and spectrum
in numbers a person can read. On corpora it never heard, a second view helps
the tone models: the 256-d embedding of a speaker encoder (Resemblyzer's
pretrained GE2E model, a 3-layer LSTM on 40-band mel spectra; Apache-2.0,
weights in ``trained/voice_encoder.npz``). The encoder was trained to tell
voices apart, so the embedding mostly says *who* speaks; made speaker-relative
(minus the speaker's mean), what is left is how this stretch differs from
the speaker's usual voice: the voice quality of anger or of a smile.
``scripts/explore_embeddings.py`` measured the gain (results/embeddings.md).

The recipe is the same for a corpus utterance and a call:

1. the speaker's speech (the activity mask, short gaps up to 0.3 s kept) is
   joined into streams, a new stream after a pause of more than ``max_gap_s``;
2. each stream is cut into pieces of 1.6 s (160 mel frames); a last, shorter
   piece is kept if it holds at least 3/4 of a piece, or if it is the only
   piece of its stream and holds ``min_piece_s`` of speech (zero-padded, as
   the encoder's authors pad short utterances);
3. every piece is set to -30 dBFS RMS, so the encoder does not hear the line's
   gain (the loudness features already measure level, relative to the speaker);
4. each piece's L2-normalised embedding (the LSTM's last state, linear, ReLU);
5. an utterance's or a window's embedding is the normalised mean of its
   pieces (in a window, weighted by how much of each piece lies in it),
   minus the speaker's mean (``emb_0`` ... ``emb_255``). In a call, one piece
   in ``every`` is embedded (to bound the cost) and a window gathers the
   pieces within ``reach_s`` of it.

Only numpy runs the encoder; the weights load with ``allow_pickle=False``
after their SHA-256 is checked against ``voice_encoder.json``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..activity import HOP_S, runs, smooth_mask
from ..errors import ModelError
from .windows import mixed_reference

EMBED_SR = 16000           # the encoder's rate
N_MELS = 40
N_FFT, MEL_HOP = 400, 160  # 25-ms windows every 10 ms at 16 kHz
PIECE_FRAMES = 160         # 1.6 s
PIECE_SAMPLES = PIECE_FRAMES * MEL_HOP
LEVEL_DBFS = -30.0
N_DIMS = 256
#: Column names of the embedding in feature tables.
EMBEDDING_COLUMNS = tuple(f"emb_{i}" for i in range(N_DIMS))
#: Pieces of the encoder run together: 32 keeps its activations near 30 MB (a layer's input projections are
#: 160 x 32 x 1024 float32) and runs 7 % slower than 64 (measured on one core).
BATCH = 32

_KEYS = tuple(f"lstm.{w}_l{k}" for k in range(3) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")) + (
    "linear.weight", "linear.bias")


def encoder_path() -> Path:
    """The shipped weights (``trained/voice_encoder.npz``)."""
    from ..models.store import shipped_dir

    return shipped_dir() / "voice_encoder.npz"


@functools.lru_cache(maxsize=4)
def load_encoder(path=None) -> dict:
    """The encoder's weights as ``{name: float32 array}``, checked against the card's SHA-256.

    Raises :class:`~tonekit.errors.ModelError` for a missing file or card, a
    hash mismatch or missing arrays. ``numpy.load(allow_pickle=False)``: no
    code from the file runs.
    """
    from ..models.store import checked_card

    path = Path(path) if path is not None else encoder_path()
    checked_card(path, "voice encoder")
    try:
        with np.load(path, allow_pickle=False) as z:
            weights = {k: np.ascontiguousarray(z[k], dtype=np.float32) for k in z.files}
    except Exception as exc:
        raise ModelError(f"{path}: not a readable npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in _KEYS if k not in weights]
    if missing:
        raise ModelError(f"{path}: missing arrays {', '.join(missing)}")
    return _prepare(weights)


def _prepare(weights: dict) -> dict:
    """Weights laid out for :func:`encoder_forward`: gates reordered to i, f, o, g and transposed."""
    out = {"linear.weight": weights["linear.weight"], "linear.bias": weights["linear.bias"]}
    for k in range(3):
        w_hh = weights[f"lstm.weight_hh_l{k}"]
        H = w_hh.shape[1]
        order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]   # PyTorch's i, f, g, o -> i, f, o, g
        out[f"w_ih{k}"] = np.ascontiguousarray(weights[f"lstm.weight_ih_l{k}"][order].T, dtype=np.float32)
        out[f"w_hh{k}"] = np.ascontiguousarray(w_hh[order].T, dtype=np.float32)
        out[f"b{k}"] = (weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"])[order].astype(np.float32)
    return out


def encoder_forward(mels: np.ndarray, weights: dict, *, batch: int = BATCH) -> np.ndarray:
    """Embeddings (n, 256), L2-normalised, of mel pieces (n, frames, 40).

    ``weights``: from :func:`load_encoder` (or PyTorch's names, converted here).
    The LSTM runs in float32, ``batch`` pieces at a time; the same numbers as
    the PyTorch original to about 1e-6 (``scripts/explore_embeddings.py --check-port``).
    """
    if "w_hh0" not in weights:
        weights = _prepare(weights)
    mels = np.asarray(mels, np.float32)
    if mels.ndim != 3:
        raise ValueError(f"mels must be (pieces, frames, bands), got shape {mels.shape}")
    return np.concatenate([_forward(mels[i:i + batch], weights) for i in range(0, len(mels), batch)]
                          or [np.zeros((0, N_DIMS), np.float32)])


def _forward(mels: np.ndarray, w: dict) -> np.ndarray:
    x = np.ascontiguousarray(np.transpose(mels, (1, 0, 2)))   # time-major (T, n, d)
    T, n, _ = x.shape
    h = None
    for k in range(3):
        w_hh = w[f"w_hh{k}"]
        H = w_hh.shape[0]
        xw = (x.reshape(T * n, -1) @ w[f"w_ih{k}"]).reshape(T, n, 4 * H)
        xw += w[f"b{k}"]
        h = np.zeros((n, H), np.float32)
        c = np.zeros((n, H), np.float32)
        tc = np.empty((n, H), np.float32)
        z = np.empty((n, 4 * H), np.float32)
        seq = np.empty((T, n, H), np.float32) if k < 2 else None
        for t in range(T):
            np.matmul(h, w_hh, out=z)
            z += xw[t]
            s = z[:, :3 * H]                       # sigmoid(x) = (1 + tanh(x / 2)) / 2, in place
            s *= 0.5
            np.tanh(s, out=s)
            s += 1.0
            s *= 0.5
            g = z[:, 3 * H:]
            np.tanh(g, out=g)
            c *= s[:, H:2 * H]                     # c = f * c + i * g
            g *= s[:, :H]
            c += g
            np.tanh(c, out=tc)
            np.multiply(s[:, 2 * H:], tc, out=h)   # h = o * tanh(c)
            if seq is not None:
                seq[t] = h
        x, xw = seq, None   # free this layer's input projections before the next layer's
    e = np.maximum(h @ w["linear.weight"].T + w["linear.bias"], 0.0)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def _slaney_mel(f):
    """Hz -> mel on Slaney's scale (linear below 1 kHz, logarithmic above; librosa's default)."""
    f = np.asarray(f, float)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), lin)


def _slaney_hz(m):
    m = np.asarray(m, float)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


@functools.lru_cache(maxsize=2)
def mel_basis(n_mels: int = N_MELS) -> np.ndarray:
    """The encoder's mel filters (n_mels, 201): Slaney-scale, Slaney-normalised triangles from 0 to 8 kHz over a
    400-point FFT at 16 kHz (what ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels)`` gives; the
    tests check it; Whisper's are the same with 80 bands). Built here so that running an encoder never
    imports librosa (and numba)."""
    fft_hz = np.linspace(0, EMBED_SR / 2, 1 + N_FFT // 2)
    hz = _slaney_hz(np.linspace(_slaney_mel(0.0), _slaney_mel(EMBED_SR / 2), n_mels + 2))
    ramps = hz[:, None] - fft_hz[None, :]
    fdiff = np.diff(hz)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    return (w * (2.0 / (hz[2:] - hz[:-2]))[:, None]).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    """The periodic Hann window of the encoder's STFT (librosa's ``get_window("hann", 400, fftbins=True)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def mel_frames(y: np.ndarray, *, center: bool = True) -> np.ndarray:
    """Power mel spectrum (frames, 40) of a 16-kHz signal, as the encoder was trained on (periodic Hann
    window of 25 ms, every 10 ms, |FFT|^2 through :func:`mel_basis`).

    ``center=True`` pads the signal with N_FFT/2 zeros at both ends, as
    librosa's centred STFT does; ``center=False`` takes frames from the
    signal as given (for a slice that already carries its context).
    """
    y = np.asarray(y, np.float32)
    if center:
        y = np.pad(y, (N_FFT // 2, N_FFT // 2))
    if len(y) < N_FFT:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::MEL_HOP]
    spec = np.fft.rfft(frames * _hann(), axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.ascontiguousarray(power @ mel_basis().T, dtype=np.float32)


def _piece_mel(padded: np.ndarray, a: int, b: int) -> np.ndarray:
    """Frames of the piece ``[a, b)`` of a stream, equal to the same frames of the whole stream's centred mel
    spectrum (``padded``: the stream with N_FFT/2 zeros before it and at least a piece of zeros after it);
    computed on the piece alone, so a long stream never needs its whole spectrogram."""
    n = min(PIECE_FRAMES, int(np.ceil((b - a) / MEL_HOP)))
    return mel_frames(padded[a: a + (n - 1) * MEL_HOP + N_FFT], center=False)


def _streams(rr: np.ndarray, hop_s: float, max_gap_s: float, max_stream_s: float) -> list:
    """Runs grouped into streams: a new stream after a pause longer than ``max_gap_s``, or once a stream holds
    ``max_stream_s`` of speech (so a long call is read a bounded stretch at a time)."""
    gap, cap = int(round(max_gap_s / hop_s)), int(round(max_stream_s / hop_s))
    groups, start, held = [], 0, 0
    for i in range(len(rr)):
        if i > start and (rr[i, 0] - rr[i - 1, 1] > gap or held + rr[i, 1] - rr[i, 0] > cap):
            groups.append(rr[start:i])
            start, held = i, 0
        held += rr[i, 1] - rr[i, 0]
    groups.append(rr[start:])
    return groups


@dataclass(frozen=True)
class PieceEncoder:
    """How one learned encoder hears a speaker's speech: the length and level of its pieces, what it computes
    of a piece, and how it embeds a batch of them.

    tonekit has two: :data:`GE2E` (the voice encoder, 1.6-s pieces, ``emb_*``) and
    :data:`tonekit.features.whisper.WHISPER` (Whisper's first encoder layers, ``wsp_*``).
    """
    name: str
    prefix: str             # column prefix in feature tables
    dims: int
    piece_samples: int      # at 16 kHz
    level_dbfs: float       # each piece's RMS level before the encoder
    featurize: Callable     # (padded stream, a, b, gain) -> the encoder's input for samples [a, b)
    forward: Callable       # (list of inputs, weights) -> (n, dims)
    load: Callable          # () -> the shipped weights
    normalise: bool = True  # pooled embeddings are L2-normalised (GE2E's are unit vectors)
    batch: int = 1          # pieces embedded together
    step: str = "embedding"  # its progress step in tonekit.analyze ("embedding:agent", ...)
    names: tuple = ()       # its column names, when not prefix + 0 .. dims - 1 (each starts with prefix)

    @property
    def columns(self) -> tuple:
        return self.names or tuple(f"{self.prefix}{i}" for i in range(self.dims))


def _ge2e_input(padded: np.ndarray, a: int, b: int, gain: float) -> np.ndarray:
    """GE2E's input for a piece: its power mel spectrum levelled by ``gain``, zero-padded to 160 frames."""
    piece = np.zeros((PIECE_FRAMES, N_MELS), np.float32)
    m = _piece_mel(padded, a, b)
    piece[:len(m)] = m * np.float32(gain ** 2)
    return piece


def iter_pieces(read, speech: np.ndarray, sr: int, *, hop_s: float = HOP_S, max_gap_s: float = 2.0,
                min_piece_s: float = 0.2, every: int = 1, max_stream_s: float = 64.0, encoder=None):
    """Yield ``(input, (start_s, end_s))`` for each piece of a speaker's speech; see :func:`speech_pieces`."""
    import soxr

    enc = encoder or GE2E
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ValueError(f"every must be an int >= 1, not {every!r}")
    joined = smooth_mask(np.asarray(speech, bool), fill_gap_s=0.3, min_run_s=0.0, hop_s=hop_s)
    rr = runs(joined)
    if len(rr) == 0:
        return
    size = enc.piece_samples
    target = 10 ** (enc.level_dbfs / 20)
    index = 0
    for group in _streams(rr, hop_s, max_gap_s, max_stream_s):
        lengths = [int(round(b * hop_s * sr)) - int(round(a * hop_s * sr)) for a, b in group]
        n = sum(lengths) * EMBED_SR // sr   # stream length at 16 kHz, known before reading
        n_full, rest = divmod(n, size)
        bounds = [(i * size, (i + 1) * size) for i in range(n_full)]
        if rest >= 0.75 * size or (n_full == 0 and rest >= min_piece_s * EMBED_SR):
            bounds.append((n_full * size, n))
        kept = []
        for a, b in bounds:
            if index % every == 0:
                kept.append((a, b))
            index += 1
        if not kept:
            continue  # nothing of this stream is embedded: not even read
        g0 = int(round(group[0, 0] * hop_s * sr))
        span = np.asarray(read(group[0, 0] * hop_s, group[-1, 1] * hop_s), np.float32)   # one read per stream
        offs = [int(round(a * hop_s * sr)) - g0 for a, _ in group]
        parts = [span[o: o + k] for o, k in zip(offs, lengths)]
        y = np.concatenate(parts)
        if sr != EMBED_SR and len(y):
            y = soxr.resample(y, sr, EMBED_SR).astype(np.float32)
        y = y[:n]   # the mask may reach past the end of the signal by a frame: pieces end with the samples
        # time of each stream sample in the signal (runs laid end to end)
        starts_s = group[:, 0] * hop_s
        offsets = np.cumsum([0] + lengths) * (EMBED_SR / sr)
        padded = np.pad(y, (N_FFT // 2, N_FFT // 2 + size))   # zeros, as librosa's centred STFT
        for a, b in kept:
            b = min(b, len(y))
            if b <= a:
                continue
            rms = float(np.sqrt(np.mean(np.square(y[a:b], dtype=np.float64))))
            if rms < 1e-5:
                continue
            yield (enc.featurize(padded, a, b, target / rms),
                   (_stream_time(a, offsets, starts_s), _stream_time(b - 1, offsets, starts_s)))


def speech_pieces(read, speech: np.ndarray, sr: int, *, hop_s: float = HOP_S, max_gap_s: float = 2.0,
                  min_piece_s: float = 0.2, every: int = 1, max_stream_s: float = 64.0):
    """Mel pieces of a speaker's speech and their time spans.

    Parameters
    ----------
    read : callable
        ``read(start_s, end_s) -> samples`` of the speaker's signal at ``sr``.
    speech : np.ndarray of bool
        Speech mask, one value per ``hop_s``.
    max_gap_s : float
        A pause longer than this starts a new stream (pieces do not straddle it).
    min_piece_s : float
        Speech needed for a stream's only, padded piece.
    every : int
        Keep one piece in ``every`` (1: all). Calls use this to bound the cost.
    max_stream_s : float
        A stream holding this much speech ends there (a long call is read and
        analysed a bounded stretch at a time).

    Returns
    -------
    mels : np.ndarray, (pieces, 160, 40)
        Each piece's power mel spectrum, levelled to -30 dBFS RMS.
    spans : np.ndarray, (pieces, 2)
        Start and end (s) of each piece's speech in the signal.
    """
    got = list(iter_pieces(read, speech, sr, hop_s=hop_s, max_gap_s=max_gap_s, min_piece_s=min_piece_s,
                           every=every, max_stream_s=max_stream_s))
    if not got:
        return np.zeros((0, PIECE_FRAMES, N_MELS), np.float32), np.zeros((0, 2))
    return np.stack([m for m, _ in got]), np.asarray([s for _, s in got], float)


def embed_speech(read, speech: np.ndarray, sr: int, *, weights=None, every: int = 1, hop_s: float = HOP_S,
                 encoder=None):
    """Embeddings (pieces, dims) and spans (pieces, 2) of a speaker's speech by ``encoder`` (default
    :data:`GE2E`), its ``batch`` pieces at a time (memory stays flat on a long call)."""
    enc = encoder or GE2E
    weights = weights if weights is not None else enc.load()
    embs, spans, batch = [], [], []

    def flush():
        if batch:
            embs.append(enc.forward([m for m, _ in batch], weights))
            spans.extend(s for _, s in batch)
            batch.clear()

    for item in iter_pieces(read, speech, sr, hop_s=hop_s, every=every, encoder=enc):
        batch.append(item)
        if len(batch) == enc.batch:
            flush()
    flush()
    if not embs:
        return np.zeros((0, enc.dims), np.float32), np.zeros((0, 2))
    return np.concatenate(embs), np.asarray(spans, float)


def _stream_time(i: int, offsets: np.ndarray, starts_s: np.ndarray) -> float:
    """Time (s) in the signal of sample ``i`` of a stream (16 kHz) made of runs starting at ``starts_s``."""
    r = int(np.searchsorted(offsets, i, side="right") - 1)
    r = min(max(r, 0), len(starts_s) - 1)
    return float(starts_s[r] + (i - offsets[r]) / EMBED_SR)


def _unit_rows(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


def pool(embeddings: np.ndarray, weights=None, *, normalise: bool = True) -> np.ndarray:
    """The (weighted) mean of piece embeddings, L2-normalised with ``normalise``; NaN without any weight."""
    e = np.asarray(embeddings, float)
    w = np.ones(len(e)) if weights is None else np.asarray(weights, float)
    if len(e) == 0 or w.sum() <= 0:
        return np.full(e.shape[1] if e.ndim == 2 else N_DIMS, np.nan)
    m = w @ e
    return _unit_rows(m) if normalise else m / w.sum()


def window_embeddings(embeddings: np.ndarray, spans: np.ndarray, starts_s, ends_s, *, chunk: int = 512,
                      normalise: bool = True) -> np.ndarray:
    """Embedding of each window (rows): pieces weighted by the time they share with it (L2-normalised with
    ``normalise``, else their weighted mean); NaN without any.

    Windows are taken ``chunk`` at a time, so a two-hour call never holds a
    windows x pieces matrix.
    """
    starts_s, ends_s = np.asarray(starts_s, float), np.asarray(ends_s, float)
    e = np.asarray(embeddings, float).reshape(len(spans), -1) if len(spans) else np.zeros((0, N_DIMS))
    out = np.full((len(starts_s), e.shape[1]), np.nan)
    if len(spans) == 0:
        return out
    for i in range(0, len(starts_s), chunk):
        a, b = starts_s[i:i + chunk, None], ends_s[i:i + chunk, None]
        share = np.minimum(b, spans[None, :, 1]) - np.maximum(a, spans[None, :, 0])
        np.maximum(share, 0.0, out=share)
        m = share @ e
        total = share.sum(axis=1)
        ok = total > 0
        out[i:i + chunk][ok] = _unit_rows(m[ok]) if normalise else m[ok] / total[ok, None]
    return out


def relative(E, *, inplace: bool = False, population=None, population_share: float = 0.0) -> np.ndarray:
    """Embeddings minus their mean over the rows that have one (a speaker's usual voice); NaN rows stay NaN.

    With ``population`` (a mean embedding of other speakers) and ``population_share`` s, the reference is
    ``(1 - s)`` of that mean plus ``s`` of the population's. With ``inplace`` (``E`` a float64 array) ``E``
    itself is changed and returned: a long call's table is then held once.

    Examples
    --------
    >>> relative(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> relative(np.array([[1.0, 2.0], [3.0, 4.0]]), population=np.zeros(2), population_share=0.5)
    array([[0. , 0.5],
           [2. , 2.5]])
    """
    E = np.asarray(E, float)
    ok = np.isfinite(E).all(axis=1)
    if not inplace:
        E = E.copy()
    if ok.any():
        E -= mixed_reference(E[ok].mean(axis=0), population, population_share)
    return E


def embedding_frame(E, index=None, *, encoder=None, copy: bool = True) -> pd.DataFrame:
    """A table with the encoder's columns (default :data:`GE2E`'s, the :data:`EMBEDDING_COLUMNS`); with
    ``copy=False`` it holds ``E``'s own memory when ``E`` is float64 already."""
    enc = encoder or GE2E
    return pd.DataFrame(np.asarray(E, float).reshape(-1, enc.dims), columns=list(enc.columns), index=index,
                        copy=copy)


def window_embedding_table(read, speech: np.ndarray, sr: int, starts_s, ends_s, *, every: int = 1,
                           reach_s: float = 1.5, weights=None, hop_s: float = HOP_S, encoder=None,
                           population=None, population_share: float = 0.0) -> pd.DataFrame:
    """Speaker-relative embeddings (``emb_*`` columns, or ``encoder``'s) of one speaker's windows in a call.

    ``read``, ``speech``, ``sr``: the speaker's signal and speech mask (see
    :func:`speech_pieces`); ``starts_s``, ``ends_s``: the windows, each
    widened by ``reach_s`` on both sides to gather pieces (with ``every`` > 1
    a 3-s window may not meet a piece of its own). The speaker's mean is
    taken over these windows (``population``, ``population_share``: see :func:`relative`).
    """
    enc = encoder or GE2E
    emb, spans = embed_speech(read, speech, sr, weights=weights, every=every, hop_s=hop_s, encoder=enc)
    wide = window_embeddings(emb, spans, np.asarray(starts_s, float) - reach_s, np.asarray(ends_s, float) + reach_s,
                             normalise=enc.normalise)
    if not len(spans):
        wide = np.full((len(wide), enc.dims), np.nan)
    return embedding_frame(relative(wide, inplace=True, population=population, population_share=population_share),
                           encoder=enc, copy=False)


def signal_embedding(y: np.ndarray, sr: int, speech: np.ndarray | None = None, *, weights=None,
                     hop_s: float = HOP_S, encoder=None) -> np.ndarray:
    """Embedding (dims,) of a single-speaker signal by ``encoder`` (default :data:`GE2E`; not
    speaker-relative); NaN if it has no speech.

    ``speech``: the mask per ``hop_s`` (default: tonekit's intensity-based
    speech detection, as :func:`tonekit.features.frames.signal_frames` uses).

    Examples
    --------
    >>> sr = 16000; t = np.arange(2 * sr) / sr
    >>> e = signal_embedding(0.1 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)), sr)
    >>> e.shape, round(float(np.linalg.norm(e)), 6)
    ((256,), 1.0)
    """
    enc = encoder or GE2E
    y = np.asarray(y, np.float32)
    if speech is None:
        from ..activity import UTTERANCE_SPEECH, speech_from_intensity
        from .energy import intensity_db

        speech = speech_from_intensity(intensity_db(np.asarray(y, float), sr, hop_s=hop_s), **UTTERANCE_SPEECH)

    def read(a, b):
        return y[int(round(a * sr)): int(round(b * sr))]

    emb, _ = embed_speech(read, speech, sr, weights=weights, hop_s=hop_s, encoder=enc)
    if not len(emb):
        return np.full(enc.dims, np.nan)
    return pool(emb, normalise=enc.normalise)


GE2E = PieceEncoder(name="voice encoder (GE2E)", prefix="emb_", dims=N_DIMS, piece_samples=PIECE_SAMPLES,
                    level_dbfs=LEVEL_DBFS, featurize=_ge2e_input,
                    forward=lambda inputs, w: encoder_forward(np.stack(inputs), w),
                    load=lambda: load_encoder(), normalise=True, batch=BATCH)


__all__ = ["EMBEDDING_COLUMNS", "GE2E", "PieceEncoder", "load_encoder", "encoder_forward", "mel_frames",
           "iter_pieces", "speech_pieces", "embed_speech", "window_embedding_table", "pool",
           "window_embeddings", "relative", "embedding_frame", "signal_embedding"]
