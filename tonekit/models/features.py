"""Features of labelled utterances, for training and evaluating the tone models.

An utterance goes through exactly the call pipeline (:mod:`tonekit.features`):
frames, then the functionals of one segment spanning the file. Level features
are made relative to the speaker's baseline over all of that speaker's
utterances in the same condition (wideband or telephone), as a call's windows
are made relative to the speaker's baseline in the call.

Extraction is cached in a Parquet file per condition, keyed by each file's name
and a hash of its bytes, so re-running training or evaluation costs nothing, and
a copied, moved or re-mounted corpus is not extracted again.
"""
from __future__ import annotations

import functools
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import load_audio
from ..augment import crop_copy, noise_copy, pitch_copy, telephone_copy
from ..errors import TonekitError
from ..features.frames import signal_frames
from ..features.windows import (FUNCTIONAL_COLUMNS, LEVEL_FEATURES, mixed_reference, model_features,
                                segment_functionals, speaker_baseline, unvoiced)
from .store import EMBEDDING_PREFIXES

#: Bump when the features change, so caches are not reused. 7, 2 and 4 hold the same features as 6, 1 and 3,
#: those the shipped models were trained on: caches written by the releases in between (83ef82f..) hold other
#: ones for the recordings with digital silence (:data:`tonekit.activity.UTTERANCE_SPEECH`), and are not read.
FEATURE_VERSION = "7"
#: Bump when the embedding recipe (tonekit.features.embedding) changes.
EMBEDDING_VERSION = "2"
#: Bump when the Whisper recipe (tonekit.features.whisper) or its shipped weights change.
WHISPER_VERSION = "4"
CONDITIONS = ("wideband", "telephone")
#: Conditions features can be extracted in: the training ones, and the same telephone line through codecs the
#: models never hear in training instead of µ-law: ``"gsm"`` (GSM 06.10, mobile) and ``"opus"`` (Opus at about
#: 10 kbit/s, VoIP); robustness checks, ``scripts/evaluate.py --unseen-codec``.
TEST_CONDITIONS = CONDITIONS + ("gsm", "opus")
#: Extra training copies on each line (``scripts/select_embedding_c.py --grid 0.001,0.001+pitch,0.001+crop``):
#: ``pitch-*``, every utterance with a random pitch shift (:func:`tonekit.augment.pitch_copy`); ``crop-*``, a
#: random 1-2 s stretch of its speech (:func:`tonekit.augment.crop_copy`), both measured and not shipped;
#: ``noise-*``, with white or pink background noise 5-20 dB down (:func:`tonekit.augment.noise_copy`), part of
#: the shipped recipe (:data:`TRAINING_CONDITIONS`).
COPY_CONDITIONS = {"pitch": ("pitch-wideband", "pitch-telephone"), "crop": ("crop-wideband", "crop-telephone"),
                   "noise": ("noise-wideband", "noise-telephone")}
#: What the shipped models are trained on: every utterance on both lines (:data:`CONDITIONS`), and on both lines
#: again with background noise (``COPY_CONDITIONS["noise"]``): the corpora are studio recordings, and calls are
#: not (README, "Tone models"; docs/tone_models.md).
TRAINING_CONDITIONS = CONDITIONS + COPY_CONDITIONS["noise"]
_COPY_MAKERS = {"pitch": pitch_copy, "crop": crop_copy, "noise": noise_copy}
#: Every condition features can be extracted in.
ALL_CONDITIONS = TEST_CONDITIONS + sum(COPY_CONDITIONS.values(), ())
#: Cache file stem of each learned embedding's corpus rows, by column prefix.
_EMBEDDING_CACHE = {"emb_": f"embeddings-v{EMBEDDING_VERSION}", "wsp_": f"whisper-v{WHISPER_VERSION}"}


def default_cache_dir() -> Path:
    """``$TONEKIT_CACHE`` or ``~/.cache/tonekit``."""
    return Path(os.environ.get("TONEKIT_CACHE", Path.home() / ".cache" / "tonekit"))


def _seed(path: str) -> int:
    return int(hashlib.sha1(Path(path).name.encode()).hexdigest()[:8], 16)


def condition_audio(path: str, condition: str = "wideband"):
    """``(signal, rate)`` of a file as heard in a condition (the same for tonekit and any baseline).

    ``condition="telephone"`` passes the audio through :func:`tonekit.augment.telephone_copy`
    (speech levelled to -28..-16 dBFS, line noise of -60..-45 dBFS, drawn from
    a generator seeded by the file name: deterministic); ``"gsm"`` and
    ``"opus"`` are the same line through another codec instead of µ-law; the conditions of
    :data:`COPY_CONDITIONS` are training copies (a random pitch shift, a random stretch of the speech or
    background noise).
    """
    if condition not in ALL_CONDITIONS:
        raise ValueError(f"condition must be one of {ALL_CONDITIONS}, not {condition!r}")
    y, sr = load_audio(path, single_speaker=True)   # as tonekit.score: three or more channels are refused
    kind, _, line = condition.partition("-")
    if kind in COPY_CONDITIONS:
        return _COPY_MAKERS[kind](y, sr, _seed(path), line=line == "telephone")
    if condition != "wideband":
        y, sr = telephone_copy(y, sr, _seed(path), codec="mulaw" if condition == "telephone" else condition)
    return y, sr


def utterance_raw(path: str, condition: str = "wideband") -> dict:
    """Raw functionals of one single-speaker file in a condition (see :func:`condition_audio`)."""
    y, sr = condition_audio(path, condition)
    fr = signal_frames(y, sr)
    row = segment_functionals(fr, [(0, fr.n_frames)]).iloc[0].to_dict()
    row["duration_s"] = len(y) / sr
    return row


def utterance_embedding(path: str, condition: str = "wideband", encoder: str = "emb_") -> dict:
    """Learned embedding of one single-speaker file in a condition (not speaker-relative), as
    ``{"emb_0": ..., ...}`` (the GE2E voice embedding, :mod:`tonekit.features.embedding`) or, with
    ``encoder="wsp_"``, ``{"wsp_0": ...}`` (Whisper's first layers, :mod:`tonekit.features.whisper`)."""
    from ..features.embedding import signal_embedding

    enc = piece_encoder(encoder)
    y, sr = condition_audio(path, condition)
    return dict(zip(enc.columns, signal_embedding(y, sr, encoder=enc).tolist()))


def piece_encoder(prefix: str):
    """The :class:`~tonekit.features.embedding.PieceEncoder` whose columns start with ``prefix``."""
    from ..features.embedding import GE2E
    from ..features.whisper import WHISPER

    for enc in (GE2E, WHISPER):
        if enc.prefix == prefix:
            return enc
    raise ValueError(f"no encoder makes {prefix!r} columns (emb_: GE2E, wsp_: Whisper)")


def _safe_call(extract, path):
    """``(row, None)`` or ``(None, message)``: a bad file must not stop a corpus run."""
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # one BLAS thread per worker process: no oversubscription
            return extract(path), None
    except TonekitError as exc:
        return None, str(exc)
    except Exception as exc:
        return None, f"{path}: {type(exc).__name__}: {exc}"


def _key(path: str) -> str:
    """The cache key of a file: its name (the telephone copy's noise is seeded by it, :func:`_seed`), size and
    a BLAKE2b hash of its bytes. Extraction depends on nothing else, so a corpus that is copied, moved or
    re-mounted with new modification times keeps its cache, and a file whose bytes change is extracted again.
    """
    st = os.stat(path)
    return _content_key(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _content_key(real: str, size: int, mtime_ns: int) -> str:
    # size and mtime_ns are part of the memo key only, so a file rewritten in this process is hashed again.
    h = hashlib.blake2b(digest_size=16)
    with open(real, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{Path(real).name}|{size}|{h.hexdigest()}"


def cached_rows(cache_file, paths, extract, *, n_jobs: int = 1, progress: bool = False,
                desc: str = "files", reported: set | None = None) -> pd.DataFrame:
    """``extract(path) -> dict`` for many files (one row per path, same order), through a Parquet cache keyed
    by file name and content (:func:`_key`): only files not in it yet are extracted.

    ``extract`` must be picklable (a module-level function or a ``functools.partial`` of one) when
    ``n_jobs`` > 1. Files that cannot be read get a row of NaN and a warning line on stderr; with
    ``reported`` (a set shared by several passes over the same files), each message only once.
    """
    import sys

    cache_file = Path(cache_file)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    paths = [str(p) for p in paths]
    cached = pd.read_parquet(cache_file) if cache_file.exists() else pd.DataFrame()
    keys = [_key(p) for p in paths]
    have = set(cached.index) if len(cached) else set()
    todo = [(p, k) for p, k in zip(paths, keys) if k not in have]
    if todo:
        rows, idx = [], []
        call = functools.partial(_safe_call, extract)
        ex = ProcessPoolExecutor(max_workers=n_jobs) if n_jobs > 1 else None
        results = ex.map(call, [p for p, _ in todo], chunksize=8) if ex else map(call, (p for p, _ in todo))
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(todo), desc=desc, file=sys.stderr)
        for (row, err), (p, k) in zip(results, todo):   # results first: its end closes the bar at 100 %
            if err:
                _report(set() if reported is None else reported, err)
                continue
            rows.append(row)
            idx.append(k)
        if ex is not None:
            ex.shutdown()
        new = pd.DataFrame(rows, index=idx)
        new.columns = new.columns.astype(str)
        cached = pd.concat([cached, new]) if len(cached) else new
        cached = cached[~cached.index.duplicated(keep="last")]
        # rows keyed by full path and mtime (caches written before keys were by content) are never hit again
        cached = cached[~cached.index.astype(str).str.contains(os.sep, regex=False)]
        cached.to_parquet(cache_file)
    return cached.reindex(keys).reset_index(drop=True)


def _condition_cache(name: str, condition: str, cache_dir) -> Path:
    if condition not in ALL_CONDITIONS:
        raise ValueError(f"condition must be one of {ALL_CONDITIONS}, not {condition!r}")
    return (Path(cache_dir) if cache_dir else default_cache_dir()) / f"{name}-{condition}.parquet"


def raw_features(paths, condition: str = "wideband", *, cache_dir=None, n_jobs: int = 1,
                 progress: bool = False, reported: set | None = None) -> pd.DataFrame:
    """Raw functionals of many files (one row per path, same order), cached.

    Files that cannot be analysed get a row of NaN and a warning line on stderr.
    """
    out = cached_rows(_condition_cache(f"utterances-v{FEATURE_VERSION}", condition, cache_dir), paths,
                      functools.partial(utterance_raw, condition=condition), n_jobs=n_jobs, progress=progress,
                      desc=f"features ({condition})", reported=reported)
    if out.shape[1] == 0:   # not one file could be analysed: the columns are still the functionals'
        out = out.reindex(columns=[*FUNCTIONAL_COLUMNS, "duration_s"])   # utterance_raw's
    return out


def raw_embeddings(paths, condition: str = "wideband", *, cache_dir=None, n_jobs: int = 1,
                   progress: bool = False, encoder: str = "emb_", reported: set | None = None) -> pd.DataFrame:
    """Learned embeddings of many files (one row per path, same order; not speaker-relative), cached:
    GE2E's (``encoder="emb_"``) or Whisper's (``"wsp_"``).

    Files that cannot be analysed, or have no speech, get a row of NaN.
    """
    enc = piece_encoder(encoder)
    name = _EMBEDDING_CACHE[encoder]
    out = cached_rows(_condition_cache(name, condition, cache_dir), paths,
                      functools.partial(utterance_embedding, condition=condition, encoder=encoder), n_jobs=n_jobs,
                      progress=progress, desc=f"{name.split('-')[0]} ({condition})", reported=reported)
    return out.reindex(columns=list(enc.columns))


def relative_embeddings(table: pd.DataFrame, emb: pd.DataFrame, *, population=None, shares=None) -> pd.DataFrame:
    """Each utterance's embedding minus its speaker's mean embedding (rows aligned with ``table``).

    With ``population`` (a mean embedding of other speakers, :func:`population_embedding`) and ``shares``
    (``{speaker: s}``), a speaker's reference is ``(1 - s)`` of their own mean and ``s`` of the population's
    (the reference mix of training, :data:`tonekit.models.train.REFERENCE_MIX`)."""
    from ..features.embedding import relative

    out = emb.copy()
    for spk, idx in table.groupby("speaker", sort=False).groups.items():
        pos = table.index.get_indexer(idx)
        share = 0.0 if shares is None else shares[spk]
        out.iloc[pos] = relative(emb.iloc[pos].to_numpy(), population=population, population_share=share)
    return out


def normalised_features(table: pd.DataFrame, raw: pd.DataFrame, *, population=None, shares=None) -> pd.DataFrame:
    """Model features of utterances, with level features relative to each speaker's baseline.

    ``table`` has a ``speaker`` column aligned with ``raw``'s rows. With ``population`` (a baseline of other
    speakers, :func:`population_baseline`) and ``shares`` (``{speaker: s}``), a speaker's baseline is
    ``(1 - s)`` of their own and ``s`` of the population's.
    """
    parts = []
    for spk, idx in table.groupby("speaker", sort=False).groups.items():
        r = raw.loc[idx]
        share = 0.0 if shares is None else shares[spk]
        parts.append(model_features(r, mixed_reference(speaker_baseline(r), population, share)))
    return pd.concat(parts).loc[raw.index]


def population_baseline(table: pd.DataFrame, *, cache_dir=None, reported: set | None = None) -> pd.Series:
    """Median over speakers of their baselines (wideband): the baseline of an unknown speaker.

    Used by :func:`tonekit.score` on a lone utterance, where the speaker's own
    baseline cannot be measured.
    """
    raw = raw_features(table["path"], "wideband", cache_dir=cache_dir, reported=reported)
    raw.index = table.index
    bases = [speaker_baseline(raw.loc[idx]) for _, idx in table.groupby("speaker", sort=True).groups.items()]
    return pd.concat(bases, axis=1).median(axis=1)


def population_embedding(table: pd.DataFrame, prefix: str, *, cache_dir=None, reported: set | None = None):
    """Mean over speakers of their mean learned embedding (``prefix``: ``emb_`` or ``wsp_``; wideband, not
    speaker-relative): the usual voice of an unknown speaker, as :func:`population_baseline` is for the
    prosody. Used by :func:`tonekit.score` with ``embeddings=True`` on a lone utterance."""
    emb = raw_embeddings(table["path"], "wideband", cache_dir=cache_dir, encoder=prefix,
                         reported=reported)
    emb.index = table.index
    per_speaker = emb.groupby(table["speaker"], sort=True).mean()   # NaN rows (no speech) skipped
    return per_speaker.dropna().to_numpy().mean(axis=0)


def variance_ratio(values: pd.DataFrame, speakers) -> float:
    """Within-speaker over between-speaker variance of a block of features: the median over its columns.

    ``values`` has one row per utterance, ``speakers`` the speaker of each. Per column, the within variance
    is the mean of the speakers' own variances and the between variance that of the speakers' means, less
    the part their sampling adds (within / mean utterances per speaker). The ratio ``k`` is the empirical-Bayes
    prior weight of the population mean: with ``n`` recordings of a new speaker, the best estimate of their
    mean is ``n / (n + k)`` of their own mean plus ``k / (n + k)`` of the population's.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> spk = np.repeat(np.arange(400), 50)                       # 400 speakers, 50 utterances each
    >>> x = rng.normal(0, 1, 400)[spk] + rng.normal(0, 2, len(spk))   # between variance 1, within 4
    >>> round(variance_ratio(pd.DataFrame({"a": x}), spk))
    4
    """
    values = pd.DataFrame(values).reset_index(drop=True)
    g = values.groupby(np.asarray(speakers))
    counts = g.size()
    if len(counts) < 2:
        raise ValueError("variance_ratio needs at least 2 speakers")
    within = g.var().mean()
    between = (g.mean().var() - within / counts.mean()).clip(lower=1e-12 * (within + 1e-300))
    ratio = (within / between).replace([np.inf, -np.inf], np.nan).dropna()
    if ratio.empty:
        raise ValueError("variance_ratio: no column has finite variances")
    return float(ratio.median())


def reference_shrinkage(table: pd.DataFrame, prefixes=(), *, cache_dir=None, reported: set | None = None) -> dict:
    """The empirical-Bayes weight ``k`` (:func:`variance_ratio`) of each block's population reference, from a
    corpus table (wideband): ``{"prosody": k, "emb_": k, ...}`` for the prosodic functionals and the learned
    embeddings ``prefixes``.

    :func:`tonekit.score_speaker` measures a speaker's usual voice over a few recordings; with ``n`` of
    them it takes ``n / (n + k)`` of their own reference and ``k / (n + k)`` of the training speakers'
    (:func:`population_baseline`, :func:`population_embedding`). Three recordings alone are a noisy
    reference (they may all be tense); the population's steadies it (README, results/reference.md). Empty
    with fewer than two speakers (no between-speaker spread to measure: ``score_speaker`` then uses the set
    alone)."""
    from ..features.windows import MODEL_FEATURES

    speakers = table["speaker"].to_numpy()
    if len(np.unique(speakers)) < 2:
        return {}
    raw = raw_features(table["path"], "wideband", cache_dir=cache_dir, reported=reported)
    out = {"prosody": variance_ratio(raw[[n[:-4] for n in MODEL_FEATURES]], speakers)}
    for p in prefixes:
        emb = raw_embeddings(table["path"], "wideband", cache_dir=cache_dir, encoder=p,
                             reported=reported).reset_index(drop=True)
        ok = np.isfinite(emb.to_numpy()).all(axis=1)
        if len(np.unique(speakers[ok])) >= 2:
            out[p] = variance_ratio(emb[ok], speakers[ok])
    return {k: round(v, 4) for k, v in out.items()}


def embedding_prefixes(embedding) -> tuple:
    """The learned embeddings an ``embedding`` argument asks for: True, all (:data:`EMBEDDING_PREFIXES`);
    False or None, none; else the given prefixes."""
    return EMBEDDING_PREFIXES if embedding is True else tuple(embedding or ())


def corpus_features(table: pd.DataFrame, condition: str = "wideband", *, embedding=True, population=None,
                    shares=None, **kwargs) -> pd.DataFrame:
    """Model features for a corpus table (rows aligned with ``table``): the normalised prosodic features and
    the speaker-relative learned embeddings: with ``embedding=True`` the GE2E voice embedding (``emb_*``)
    and Whisper's (``wsp_*``); a tuple of prefixes picks some (``("emb_",)``); False, none.

    ``shares`` (``{speaker: s}``) with ``population`` (``{"baseline": population_baseline, prefix:
    population_embedding, ...}``) mixes each speaker's reference with the population's, as
    :func:`tonekit.analyze` does with ``population_share`` (training's reference mix,
    :func:`tonekit.models.train.reference_mix_features`)."""
    if shares is not None and population is None:
        raise ValueError("shares need a population reference")
    pop = population or {}
    kwargs.setdefault("reported", set())   # a file that cannot be read is reported once, not once per pass
    raw = raw_features(table["path"], condition, **kwargs)
    raw.index = table.index
    # a recording with no voiced speech as recorded (noise, hiss: what tonekit.score refuses) is left out of
    # every condition, as a file that cannot be read is; no corpus utterance is one (MIN_VOICED_FRAMES)
    wide = raw if condition == "wideband" else raw_features(table["path"], "wideband", **kwargs)
    noise = unvoiced(wide).to_numpy()
    for path in table["path"][noise]:
        _report(kwargs["reported"], f"{path}: no voiced speech found (noise only?): left out, as tonekit score "
                                    "refuses it")
    raw.loc[noise, :] = np.nan
    feats = normalised_features(table, raw, population=pop.get("baseline"), shares=shares)
    parts = [feats]
    for prefix in embedding_prefixes(embedding):
        emb = raw_embeddings(table["path"], condition, encoder=prefix, **kwargs)
        emb.index = table.index
        emb.loc[noise, :] = np.nan
        parts.append(relative_embeddings(table, emb, population=pop.get(prefix), shares=shares))
    return pd.concat(parts, axis=1)


def _report(reported: set, message: str) -> None:
    """A warning line on stderr, once per message (``reported``: the messages already shown, shared by several
    passes over the same files)."""
    import sys

    if message not in reported:
        print(f"Warning: {message}", file=sys.stderr)
        reported.add(message)


__all__ = ["FEATURE_VERSION", "EMBEDDING_VERSION", "WHISPER_VERSION", "EMBEDDING_PREFIXES", "CONDITIONS",
           "TEST_CONDITIONS", "COPY_CONDITIONS", "TRAINING_CONDITIONS", "ALL_CONDITIONS", "piece_encoder",
           "embedding_prefixes", "LEVEL_FEATURES", "utterance_raw",
           "utterance_embedding", "cached_rows", "raw_features", "raw_embeddings", "relative_embeddings",
           "normalised_features", "corpus_features", "default_cache_dir", "population_baseline",
           "population_embedding", "variance_ratio", "reference_shrinkage"]
