#!/usr/bin/env python3
"""Exploration: do learned voice embeddings add to tonekit's prosodic features?

The shipped models see 55 hand-made, speaker-relative features. This script
measures, on exactly the protocol of ``scripts/evaluate.py`` (speaker-grouped
within each corpus, leave-one-corpus-out, wideband and telephone test audio,
the shipped estimator settings), three feature sets:

- ``tonekit``: the shipped features;
- ``ge2e``: the 256-d utterance embedding of Resemblyzer's pretrained GE2E
  speaker encoder (a 3-layer LSTM on 40-band mel spectra, Apache-2.0), made
  speaker-relative like tonekit's features (minus the speaker's mean);
- ``tonekit+ge2e``: both, in one estimator;
- ``mean(tonekit,ge2e)``: the mean probability of an estimator on each (late fusion).

It is not part of the shipped pipeline: it needs the ``explore`` extra
(``pip install .[explore]``: resemblyzer and PyTorch). ``--check-port`` also
checks a numpy-only forward pass of the encoder (:func:`numpy_embed`, the
step towards shipping it without PyTorch) against the original on real
utterances and times both.

Usage::

    python scripts/explore_embeddings.py --corpora ../shared/corpora --out results/embeddings.json
    python scripts/explore_embeddings.py --anger-vs-happiness --out results/anger_vs_happiness.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as ev  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP, load_corpora, targets  # noqa: E402
from tonekit.features.embedding import encoder_forward, mel_frames  # noqa: E402
from tonekit.models.estimators import FusedToneClassifier, ToneClassifier  # noqa: E402
from tonekit.models.features import (default_cache_dir, normalised_features, raw_features,  # noqa: E402
                                     relative_embeddings)
from tonekit.models.store import TARGET_NAMES  # noqa: E402
from tonekit.models.train import DEFAULT_PARAMS  # noqa: E402

EMBED_SR = 16000      # the encoder's rate
HOP = 160             # mel frames every 10 ms at 16 kHz
PARTIAL = 160         # frames in one partial utterance (1.6 s)
EMBED_VERSION = 1     # bump when the embedding recipe changes (cache key)


def _params(target) -> dict:
    """The shipped prosodic estimator settings, used for every feature set here (results/embeddings.md)."""
    return {k: v for k, v in DEFAULT_PARAMS[target].items() if not k.startswith("embedding_")}


def _encoder():
    try:
        from resemblyzer import VoiceEncoder
    except ImportError:
        sys.exit("explore_embeddings.py needs the explore extra: pip install '.[explore]' (resemblyzer, torch)")
    return VoiceEncoder("cpu", verbose=False)


def prepare(path, condition, level_blind=False):
    """The signal the encoder sees: tonekit's wideband or telephone copy at 16 kHz, Resemblyzer's preprocessing
    (level raised to -30 dBFS if quieter, long silences cut; the raw copy if that leaves under 0.1 s).

    ``level_blind``: every utterance is then set to -30 dBFS (RMS), louder ones too, so the encoder,
    which reads power mel spectra, cannot hear how loud an utterance is.
    """
    import librosa
    from resemblyzer import preprocess_wav

    from tonekit.models.features import condition_audio

    y, sr = condition_audio(path, condition)
    if sr != EMBED_SR:
        y = librosa.resample(np.asarray(y, float), orig_sr=sr, target_sr=EMBED_SR)
    y = np.asarray(y, np.float32)
    w = preprocess_wav(y, source_sr=EMBED_SR)
    if level_blind:
        w = w * (10 ** (-30 / 20) / max(np.sqrt(np.mean(w.astype(float) ** 2)), 1e-9))
    return w if len(w) >= EMBED_SR // 10 else y


def embeddings(paths, condition, cache_dir, encoder=None, level_blind=False):
    """GE2E embedding per file (256 columns), cached like the eGeMAPS baseline."""
    def make_extractor():
        enc = encoder or _encoder()
        return lambda p: pd.Series(enc.embed_utterance(prepare(p, condition, level_blind)),
                                   index=[f"ge2e_{i}" for i in range(256)])

    name = f"ge2e-{EMBED_VERSION}{'-level-blind' if level_blind else ''}-{condition}.parquet"
    return ev.cached_per_file(Path(cache_dir) / name, paths, make_extractor, f"GE2E ({condition})")


def MeanOfTwo(params=None, prefix="ge2e_"):
    """Late fusion: the mean probability of a tone estimator on tonekit's features and one on the embedding's
    columns (those starting with ``prefix``), each with ``params`` (ToneClassifier's). This is the shipped
    :class:`~tonekit.models.estimators.FusedToneClassifier`."""
    return FusedToneClassifier(**(params or {}), embedding_prefix=prefix)


# ----------------------------------------------------------------------------- numpy port

def partial_slices(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75) -> list:
    """Mel-frame ranges of the 1.6-s partial utterances, as Resemblyzer's ``compute_partial_slices``.

    >>> partial_slices(16000)            # 1 s: one partial, zero-padded
    [(0, 160)]
    >>> partial_slices(48000)            # 3 s: a partial every 77 frames (1.3 per second)
    [(0, 160), (77, 237), (154, 314)]
    """
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((EMBED_SR / rate) / HOP))
    out = [(i, i + PARTIAL) for i in range(0, max(1, n_frames - PARTIAL + step + 1), step)]
    coverage = (n_samples - out[-1][0] * HOP) / (PARTIAL * HOP)
    if coverage < min_coverage and len(out) > 1:
        out = out[:-1]
    return out


def numpy_embed(wav: np.ndarray, weights: dict) -> np.ndarray:
    """Utterance embedding with tonekit's numpy encoder (:func:`~tonekit.features.embedding.encoder_forward`
    and :func:`~tonekit.features.embedding.mel_frames`, ``weights`` with PyTorch's names), cut as
    ``VoiceEncoder.embed_utterance`` cuts: overlapping partials."""
    slices = partial_slices(len(wav))
    need = slices[-1][1] * HOP
    if need >= len(wav):
        wav = np.pad(wav, (0, need - len(wav)))
    mel = mel_frames(wav)
    partials = encoder_forward(np.stack([mel[a:b] for a, b in slices]), weights)
    mean = partials.mean(axis=0)
    return mean / np.linalg.norm(mean)


def check_port(paths, encoder) -> dict:
    """Largest difference and time per utterance of the numpy port against the original, on real files."""
    weights = {k: v.detach().cpu().numpy() for k, v in encoder.state_dict().items()
               if k.startswith(("lstm.", "linear."))}
    worst, t_np, t_torch, secs = 0.0, 0.0, 0.0, 0.0
    for p in paths:
        w = prepare(p, "wideband")
        t = time.perf_counter()
        a = encoder.embed_utterance(w)
        t_torch += time.perf_counter() - t
        t = time.perf_counter()
        b = numpy_embed(w, weights)
        t_np += time.perf_counter() - t
        worst = max(worst, float(np.abs(a - b).max()))
        secs += len(w) / EMBED_SR
    n = len(paths)
    return {"n_files": n, "audio_s": round(secs, 1), "max_abs_diff": worst,
            "ms_per_file_torch": round(1000 * t_torch / n, 1), "ms_per_file_numpy": round(1000 * t_np / n, 1)}


def anger_vs_happiness(table, feats, embs) -> pd.DataFrame:
    """Per held-out corpus and line: how well anger minus warmth tells anger from happiness (ROC AUC), and
    the share of happy utterances scored angry (anger >= 0.5), for tonekit's models and the late fusion,
    each trained on the other corpora (both lines) as in the cross-corpus protocol. This is the confusion
    that holds back tip 9. ``feats`` and ``embs``: ``{condition: table}``.
    """
    from sklearn.metrics import roc_auc_score

    from tonekit.models.train import corpus_weights

    both = {c: pd.concat([feats[c], embs[c]], axis=1) for c in feats}
    rows = []
    for held in sorted(table.corpus.unique()):
        test = (table.corpus == held).to_numpy()
        sub = table[test]
        ah = sub.emotion.isin(["anger", "happiness"]).to_numpy()
        y = (sub.emotion[ah] == "anger").astype(int).to_numpy()
        if len(np.unique(y)) < 2:
            continue
        scores = {}
        for t in ("anger", "warmth"):
            train = table[t].notna().to_numpy() & ~test
            yt = table.loc[train, t].astype(int).to_numpy()
            X = pd.concat([both["wideband"][train], both["telephone"][train]], ignore_index=True)
            fit = {"sample_weight": corpus_weights(np.r_[table.corpus[train], table.corpus[train]]),
                   "groups": np.r_[table.speaker[train], table.speaker[train]]}
            models = {"tonekit": (ToneClassifier(**_params(t)), list(feats["wideband"].columns)),
                      "mean(tonekit,ge2e)": (MeanOfTwo(_params(t)), list(X.columns))}
            for name, (est, cols) in models.items():
                est.fit(X[cols], np.r_[yt, yt], **fit)
                for cond in both:
                    scores[(t, name, cond)] = est.predict_proba(both[cond].loc[test, cols])[:, 1][ah]
        for cond in both:
            for name in ("tonekit", "mean(tonekit,ge2e)"):
                anger = scores[("anger", name, cond)]
                rows.append({"corpus": held, "condition": cond, "features": name,
                             "auc_anger_minus_warmth": roc_auc_score(y, anger - scores[("warmth", name, cond)]),
                             "auc_anger": roc_auc_score(y, anger),
                             "happy_scored_angry": float(np.mean(anger[y == 0] >= 0.5))})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- report

def markdown(result: dict) -> str:
    wide, per = ev.compare_tables(result, ["tonekit", "ge2e", "tonekit+ge2e", "mean(tonekit,ge2e)"])
    blind = " Every utterance set to -30 dBFS before the encoder (--level-blind)." if result.get("level_blind") else ""
    parts = ["Learned voice embeddings against tonekit's features (scripts/explore_embeddings.py; means over the "
             "four corpora; the shipped estimator settings for every feature set)." + blind, "", wide,
             "", "Anger, cross-corpus ROC AUC per held-out corpus:", "", per]
    if result.get("port"):
        parts += ["", "numpy port of the encoder against the original: " + json.dumps(result["port"])]
    return "\n".join(parts) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache, reused across runs (default %(default)s)")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES),
                    help="targets to run, comma-separated (default %(default)s)")
    ap.add_argument("--check-port", type=int, default=0, metavar="N",
                    help="compare the numpy port with the original on N utterances")
    ap.add_argument("--level-blind", action="store_true",
                    help="set every utterance to -30 dBFS before the encoder (it cannot hear loudness)")
    ap.add_argument("--anger-vs-happiness", action="store_true",
                    help="only measure anger against happiness per held-out corpus (tip 9's confusion)")
    ap.add_argument("--out", help="write rows and summary as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)

    t0 = time.time()
    table = targets(load_corpora(args.corpora)).reset_index(drop=True)
    corpora = sorted(table.corpus.unique())
    fw = normalised_features(table, raw_features(table.path, "wideband", cache_dir=args.cache_dir))
    ft = normalised_features(table, raw_features(table.path, "telephone", cache_dir=args.cache_dir))
    fw, ft = fw.reset_index(drop=True), ft.reset_index(drop=True)
    encoder = None
    port = None
    if args.check_port:
        encoder = _encoder()
        pick = table.groupby("corpus").head(max(1, args.check_port // len(corpora))).path.tolist()
        port = check_port(pick, encoder)
        print("numpy port:", port)
    ew, et = (relative_embeddings(table, embeddings(list(table.path), cond, args.cache_dir, encoder, args.level_blind))
              for cond in ("wideband", "telephone"))
    if args.anger_vs_happiness:
        ah = anger_vs_happiness(table, {"wideband": fw, "telephone": ft}, {"wideband": ew, "telephone": et})
        text = ("Anger against happiness, cross-corpus (scripts/explore_embeddings.py --anger-vs-happiness; "
                "models trained on the other corpora):\n\n" + ev._md(ah.round(3)) + "\n")
        ev.publish(ah.to_dict(orient="records"), text, args.out)
        return 0
    both = (pd.concat([fw, ew], axis=1), pd.concat([ft, et], axis=1))
    sets = {"tonekit": (fw, ft), "ge2e": (ew, et), "tonekit+ge2e": both, "mean(tonekit,ge2e)": both}
    df = ev.evaluate_sets(
        table, lambda target: {name: (pair, MeanOfTwo(_params(target)) if name.startswith("mean(")
                                      else ToneClassifier(**_params(target))) for name, pair in sets.items()},
        args.targets.split(","), corpora=corpora, t0=t0)
    summ = ev.summarise(df)
    result = {"rows": df.to_dict(orient="records"), "summary": summ.to_dict(orient="records"), "port": port,
              "level_blind": args.level_blind,
              "seconds": round(time.time() - t0, 1)}
    ev.publish(result, markdown(result), args.out)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
