#!/usr/bin/env python3
"""Evaluate tonekit on simulated calls between speakers the models never heard.

Speaker-grouped K-fold over the speakers of EmoDB, RAVDESS and nEMO: for each
fold the tone models are trained on every corpus row except the fold's
speakers, then calls between two of the fold's speakers (same corpus; a third
of them telephone-band 8 kHz mu-law) are simulated with
``scripts/simulate_calls.py`` and analysed with ``tonekit.analyze``.

Metrics
-------
- Per tip (1, 7, 8, 9, 12): a true event is *found* when a flagged event of the
  same tip overlaps it, with 1 s tolerance on either side; recall = found /
  true. Precision = flagged events that overlap (1 s tolerance) some true event
  of the same tip / flagged events of that tip.
- Caller anger per window, ROC AUC: a caller window is positive when its centre
  lies inside a ``caller_angry`` span, negative when its centre is at least
  1.5 s from every angry span; both need caller speech (``speech_s`` >= 1) and
  a non-NaN ``anger``. Windows in between are left out. Reported for all
  calls, wideband and telephone.
- Seconds of analysis per call and the real-time factor, for information.

Usage
-----
    python scripts/evaluate_calls.py --corpora ../shared/corpora --n-calls 48 --out /tmp/eval   # /tmp/eval.md and /tmp/eval.json
    python scripts/evaluate_calls.py --models-dir trained --n-calls 12     # quick: fixed models, no training

The simulated calls go to a temporary folder that is deleted afterwards
(``--calls-dir`` keeps them; it must be outside the repository).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
TIPS = {1: "interruption", 7: "no_smile", 8: "mirrored_anger", 9: "upbeat_vs_angry", 12: "long_silence"}
TOLERANCE_S = 1.0
ANGER_MARGIN_S = 1.5
MIN_SPEECH_S = 1.0
MIN_CALLS = 40
#: The targets of the matcher issue: (recall, precision) per tip, and the caller-anger window AUC.
GOALS = {1: (0.80, 0.70), 7: (0.70, 0.70), 8: (0.70, 0.70), 9: (0.70, 0.70), 12: (0.80, 0.70)}
AUC_GOAL = 0.85
MODEL_TARGETS = ("anger", "calm", "warmth")
#: ``--previous-release``: how the previous release's fold models averaged their estimators (every target in
#: probability; the shipped anger and calm average in log-odds, tonekit.models.train.DEFAULT_PARAMS).
PREVIOUS_RELEASE = {t: "probability" for t in MODEL_TARGETS}


def _tonekit():
    """Import tonekit from this source tree (not an older installed copy), so results match the code."""
    if str(REPO) not in sys.path[:1]:
        sys.path.insert(0, str(REPO))
    import tonekit

    if Path(tonekit.__file__).resolve().parent != REPO / "tonekit":
        raise ImportError(f"tonekit was imported from {tonekit.__file__}, not from {REPO}")
    return tonekit


def _script(filename: str, name: str):
    """``scripts/<filename>`` as a module (scripts/ is not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module   # dataclasses look their module up while it is being executed
        spec.loader.exec_module(module)
    return sys.modules[name]


def _simulator():
    """``scripts/simulate_calls.py`` as a module."""
    return _script("simulate_calls.py", "tonekit_simulate_calls")


def _activity_script():
    """``scripts/evaluate_activity.py`` as a module (its :func:`with_noise`)."""
    return _script("evaluate_activity.py", "tonekit_evaluate_activity")


# --------------------------------------------------------------------------- folds and models

def speaker_folds(speakers_by_corpus: dict, n_folds: int, seed: int) -> list[list[str]]:
    """Split speakers into folds, dealing each corpus's speakers round the folds.

    Every fold gets about the same number of speakers of every corpus, so each
    fold can simulate calls in every corpus that has at least two of its
    speakers there.
    """
    rng = np.random.default_rng([seed, 0xF01D])
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    offset = 0
    for corpus in sorted(speakers_by_corpus):
        spk = sorted(speakers_by_corpus[corpus])
        for i, s in enumerate(rng.permutation(spk)):
            folds[(offset + i) % n_folds].append(str(s))
        offset += len(spk)   # the folds that got one more speaker differ from corpus to corpus
    return folds


def load_fixed_models(models_dir):
    """The models saved in ``models_dir`` (``anger.skops``, ``calm.skops``, ``warmth.skops``)."""
    _tonekit()
    from tonekit.models import store

    if hasattr(store, "load_models"):
        return store.load_models(models_dir)
    return {t: store.load_model(Path(models_dir) / f"{t}.skops") for t in MODEL_TARGETS}


def train_fold_models(table: pd.DataFrame, held_out: list[str], cache_dir, reference_mix=None, copies=None,
                      noise_copies: bool = True, average=None):
    """Models trained as the shipped ones on every corpus row except the held-out speakers' (both lines, clean
    and with background noise: ``tonekit.models.features.TRAINING_CONDITIONS``). ``noise_copies=False``: both
    lines only, as two releases before; ``reference_mix``: also on the mixed copies of
    ``tonekit.models.train.training_set``; ``copies``: also on the training copies of
    ``tonekit.models.features.COPY_CONDITIONS[copies]`` (explorations); ``average``: ``{target: "probability" or
    "log-odds"}``, how those targets' fused estimators average their members instead of as shipped
    (``FusedToneClassifier(average=...)``; :data:`PREVIOUS_RELEASE`: the previous release's)."""
    _tonekit()
    from tonekit.models.features import CONDITIONS, COPY_CONDITIONS, TRAINING_CONDITIONS
    from tonekit.models.train import DEFAULT_PARAMS, train_models

    train = table[~table["speaker"].isin(held_out)].reset_index(drop=True)
    base = TRAINING_CONDITIONS if noise_copies else CONDITIONS
    conditions = tuple(dict.fromkeys(base + (COPY_CONDITIONS[copies] if copies else ())))
    # the cards carry the training speakers' usual voice, as a shipped card does (analyze reads it)
    params = {t: {**DEFAULT_PARAMS[t], "average": kind} for t, kind in (average or {}).items()}
    return train_models(train, targets=MODEL_TARGETS, cache_dir=cache_dir, reference_mix=reference_mix,
                        conditions=conditions, params=params)


# --------------------------------------------------------------------------- metrics

def overlaps(a0: float, a1: float, b0: float, b1: float, tol: float = TOLERANCE_S) -> bool:
    """Whether [a0, a1] and [b0, b1] overlap once one of them is widened by ``tol`` seconds on both sides."""
    return a0 < b1 + tol and b0 < a1 + tol


def match_tip(true: list, flagged: list, tol: float = TOLERANCE_S) -> tuple[int, int]:
    """(true events found, flagged events that hit a true one) for lists of (start_s, end_s)."""
    found = sum(any(overlaps(t0, t1, f0, f1, tol) for f0, f1 in flagged) for t0, t1 in true)
    hits = sum(any(overlaps(f0, f1, t0, t1, tol) for t0, t1 in true) for f0, f1 in flagged)
    return found, hits


def timing(true: list, flagged: list, tol: float = TOLERANCE_S) -> dict:
    """How well flagged events are placed in time, for lists of (start_s, end_s): ``onsets``, for each true
    event found, the start of the earliest flagged event that overlaps it minus its own start (negative:
    flagged early); ``flagged_s``, the flagged seconds; ``on_truth_s``, those inside some true event.

    >>> timing([(30.0, 40.0)], [(23.0, 43.0)])
    {'onsets': [-7.0], 'flagged_s': 20.0, 'on_truth_s': 10.0}
    """
    onsets = []
    for t0, t1 in true:
        starts = [f0 for f0, f1 in flagged if overlaps(t0, t1, f0, f1, tol)]
        if starts:
            onsets.append(float(min(starts) - t0))
    on_truth = sum(max(0.0, min(f1, t1) - max(f0, t0)) for f0, f1 in flagged for t0, t1 in true)
    return {"onsets": onsets, "flagged_s": float(sum(f1 - f0 for f0, f1 in flagged)), "on_truth_s": float(on_truth)}


def call_counts(truth: dict, events: pd.DataFrame) -> dict:
    """Per tip: true, found, flagged, hits, the kinds flagged and :func:`timing`, for one call."""
    out = {}
    for tip in TIPS:
        true = [(e["start_s"], e["end_s"]) for e in truth["events"] if e["tip"] == tip]
        mine = events[events["tip"].astype(int) == tip] if len(events) else events
        flagged = list(zip(mine["start_s"].astype(float), mine["end_s"].astype(float))) if len(mine) else []
        found, hits = match_tip(true, flagged)
        out[tip] = {"true": len(true), "found": found, "flagged": len(flagged), "hits": hits,
                    "kinds": sorted(set(map(str, mine["kind"]))) if len(mine) else [], **timing(true, flagged)}
    return out


def caller_anger_label(truth: dict, windows: pd.DataFrame) -> np.ndarray:
    """For each of ``windows`` (a caller's): 1 if its centre is inside a scripted angry stretch, 0 if it
    is at least ``ANGER_MARGIN_S`` from every one, NaN in between."""
    centre = ((windows["start_s"].astype(float) + windows["end_s"].astype(float)) / 2).to_numpy()
    spans = np.asarray(truth["caller_angry"], dtype=float).reshape(-1, 2)
    inside = ((centre[:, None] >= spans[:, 0]) & (centre[:, None] <= spans[:, 1])).any(axis=1)
    dist = np.maximum(spans[:, 0] - centre[:, None], centre[:, None] - spans[:, 1]).min(axis=1) \
        if len(spans) else np.full(len(centre), np.inf)
    return np.where(inside, 1.0, np.where(dist >= ANGER_MARGIN_S, 0.0, np.nan))


def caller_anger_labels(truth: dict, windows: pd.DataFrame) -> pd.DataFrame:
    """Caller windows with ``label`` 1 (angry), 0 (clearly not) and their ``anger`` score."""
    w = windows[windows["speaker"] == "caller"]
    if w.empty:
        return pd.DataFrame(columns=["anger", "label"])
    label = caller_anger_label(truth, w)
    anger = w["anger"].astype(float).to_numpy()
    keep = ~np.isnan(label) & ~np.isnan(anger) & (w["speech_s"].astype(float).to_numpy() >= MIN_SPEECH_S)
    return pd.DataFrame({"anger": anger[keep], "label": label[keep].astype(int)})


def auc(frame: pd.DataFrame) -> float:
    """ROC AUC of ``anger`` against ``label``; NaN when a class is missing."""
    from sklearn.metrics import roc_auc_score

    if frame.empty or frame["label"].nunique() < 2:
        return math.nan
    return float(roc_auc_score(frame["label"], frame["anger"]))


def summarise(calls: list[dict]) -> dict:
    """The numbers of a run from the per-call records."""
    ok = [c for c in calls if "error" not in c]

    def tips(subset):
        res = {}
        for tip, kind in TIPS.items():
            n = {k: sum(c["counts"][tip][k] for c in subset) for k in ("true", "found", "flagged", "hits")}
            kinds = sorted({k for c in subset for k in c["counts"][tip]["kinds"]})
            res[tip] = {**n, "kinds": kinds or [kind],
                        "recall": n["found"] / n["true"] if n["true"] else math.nan,
                        "precision": n["hits"] / n["flagged"] if n["flagged"] else math.nan}
            # records re-made from older saved results may have no timing
            onsets = np.array([o for c in subset for o in c["counts"][tip].get("onsets", ())], float)
            flagged_s = sum(c["counts"][tip].get("flagged_s", 0.0) for c in subset)
            res[tip].update({
                "onset_median_s": float(np.median(onsets)) if len(onsets) else math.nan,
                "onset_within_3s": float(np.mean(np.abs(onsets) <= 3.0)) if len(onsets) else math.nan,
                "on_truth_share": (sum(c["counts"][tip].get("on_truth_s", 0.0) for c in subset) / flagged_s
                                   if flagged_s else math.nan)})
        return res

    def windows(subset):
        # records re-made from saved results or analyses (pool_calls.py, select_matcher.py) may have none
        frames = [c["anger_windows"] for c in subset if len(c.get("anger_windows", ()))]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"anger": [], "label": []})

    anger = {name: windows(subset) for name, subset in (("all", ok), ("wideband", [c for c in ok if not c["telephone"]]),
                                  ("telephone", [c for c in ok if c["telephone"]]))}
    by_timeline = {t: [c for c in ok if c.get("timeline", "mixed") == t] for t in ("mixed", "angry_caller")}
    by_timeline = {t: sub for t, sub in by_timeline.items() if sub}
    seconds = np.array([c["seconds"] for c in ok]) if ok else np.array([math.nan])
    rtf = np.array([c["seconds"] / c["duration_s"] for c in ok]) if ok else np.array([math.nan])
    return {
        "calls": len(calls), "analysed": len(ok), "failed": len(calls) - len(ok),
        "telephone_calls": sum(c["telephone"] for c in ok),
        "audio_s": float(sum(c["duration_s"] for c in ok)),
        "tips": tips(ok),
        "tips_wideband": tips([c for c in ok if not c["telephone"]]),
        "tips_telephone": tips([c for c in ok if c["telephone"]]),
        "caller_anger_auc": {k: auc(v) for k, v in anger.items()},
        # callers angry throughout (no calmer stretch in the call to read them against): tips and how many of
        # their angry windows score above 0.5, beside the same for the angry windows of the usual calls
        **({"tips_by_timeline": {t: tips(sub) for t, sub in by_timeline.items()},
            "angry_windows_over_half": {t: float((windows(sub).query("label == 1")["anger"] > 0.5).mean())
                                        for t, sub in by_timeline.items()}}
           if len(by_timeline) > 1 else {}),
        "caller_anger_windows": {k: {"positive": int((v["label"] == 1).sum()), "negative": int((v["label"] == 0).sum())}
                                 for k, v in anger.items()},
        "seconds_per_call": {"mean": float(np.mean(seconds)), "median": float(np.median(seconds))},
        "real_time_factor": {"mean": float(np.mean(rtf)), "max": float(np.max(rtf))},
    }


def _f(x, digits=2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


#: How the report names the telephone calls' codec when it is not training's µ-law.
CODEC_NAMES = {"gsm": "GSM 06.10, a codec never heard in training",
               "opus": "Opus at about 10 kbit/s, a codec never heard in training"}


def markdown(summary: dict, setup: dict) -> str:
    """The results as a markdown report."""
    lines = [f"# tonekit on simulated calls ({setup['mode']})", "",
             f"{summary['analysed']} calls analysed ({summary['telephone_calls']} telephone"
             + (f" through {CODEC_NAMES[setup['codec']]}" if setup.get("codec", "mulaw") != "mulaw" else "") + ", "
             + (f"{setup['noise'].replace(':', ' noise ')} dB below the speech on both channels, "
                if setup.get("noise") else "")
             + (f"speech found with the {setup['activity']}, " if setup.get("activity") else "")
             + f"{summary['audio_s'] / 60:.1f} min of audio"
             + (f", {summary['failed']} failed" if summary["failed"] else "") + f"); {setup['description']}.", "",
             "| tip | kind(s) | true | flagged | recall | precision | target |",
             "|---|---|---|---|---|---|---|"]
    for tip, r in summary["tips"].items():
        goal_r, goal_p = GOALS[tip]
        met = (not math.isnan(r["recall"]) and r["recall"] >= goal_r
               and not math.isnan(r["precision"]) and r["precision"] >= goal_p)
        lines.append(f"| {tip} | {', '.join(r['kinds'])} | {r['true']} | {r['flagged']} | {_f(r['recall'])} "
                     f"| {_f(r['precision'])} | R >= {goal_r:.2f}, P >= {goal_p:.2f} ({'met' if met else 'not met'}) |")
    lines += ["", "By line type (recall / precision):", "", "| tip | wideband | telephone |", "|---|---|---|"]
    for tip in TIPS:
        w, t = summary["tips_wideband"][tip], summary["tips_telephone"][tip]
        lines.append(f"| {tip} | {_f(w['recall'])} / {_f(w['precision'])} | {_f(t['recall'])} / {_f(t['precision'])} |")
    if not math.isnan(summary["tips"][9].get("on_truth_share", math.nan)):
        lines += ["", "Where the events found lie in time: the median of flagged start minus true start (negative: "
                      "early), the share of those starts within 3 s, and the share of flagged time inside true "
                      "events:", "", "| tip | onset (median) | onset within 3 s | flagged time on true events |",
                  "|---|---|---|---|"]
        for tip, r in summary["tips"].items():
            lines.append(f"| {tip} | {_f(r['onset_median_s'], 1)} s | {_f(r['onset_within_3s'])} "
                         f"| {_f(r['on_truth_share'])} |")
    if "tips_by_timeline" in summary:
        tl, over = summary["tips_by_timeline"], summary["angry_windows_over_half"]
        lines += ["", "By the caller's timeline (recall / precision; a caller angry throughout has no calmer "
                      "stretch to be read against):", "", "| tip | " + " | ".join(tl) + " |",
                  "|---|" + "---|" * len(tl)]
        for tip in TIPS:
            lines.append(f"| {tip} | " + " | ".join(f"{_f(tl[t][tip]['recall'])} / {_f(tl[t][tip]['precision'])}"
                                                    for t in tl) + " |")
        lines.append("| caller's angry windows above 0.5 | " + " | ".join(_f(over[t]) for t in tl) + " |")
    a, n = summary["caller_anger_auc"], summary["caller_anger_windows"]
    lines += ["", "| caller anger per window | ROC AUC | windows (+/-) | target |", "|---|---|---|---|"]
    for k in ("all", "wideband", "telephone"):
        lines.append(f"| {k} | {_f(a[k], 3)} | {n[k]['positive']} / {n[k]['negative']} | >= {AUC_GOAL:.2f} |")
    lines += ["", f"Analysis time: {_f(summary['seconds_per_call']['mean'], 1)} s per call on average "
                  f"(real-time factor {_f(summary['real_time_factor']['mean'], 3)}, "
                  f"worst {_f(summary['real_time_factor']['max'], 3)}).", "",
              f"Re-run: `{setup['command']}`", ""]
    if setup.get("rescored"):
        lines += [f"{setup['rescored']}: `python scripts/evaluate_calls.py --rescore DUMP_DIR --out NAME`.", ""]
    return "\n".join(lines)


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else round(float(x), 4)
    if isinstance(x, np.integer):
        return int(x)
    return x


# --------------------------------------------------------------------------- run

def evaluate(corpora, *, n_calls: int = 48, n_folds: int = 4, seed: int = 0, cache_dir=None, dump_dir=None,
             models_dir=None, calls_dir=None, telephone_share: float = 1 / 3,
             analyze_options=None, angry_caller_share: float = 0.0,
             reference_mix=None, codec: str = "mulaw", copies=None, noise=None,
             fixed_activity_margin: bool = False, noise_copies: bool = True, average=None) -> tuple[dict, dict, list]:
    """Run the evaluation; returns (summary, setup, per-call records). ``analyze_options``: keywords of
    ``tonekit.analyze`` (``embedding_every``, ``whisper_every``) other than the defaults;
    ``angry_caller_share``: the share of calls whose caller is angry throughout (``simulate_calls.py``);
    ``reference_mix``: the fold models' training option of that name (``tonekit.models.train.training_set``);
    ``copies``: the fold models also trained on these training copies (``"pitch"``, ``"crop"``);
    ``noise_copies=False``: the fold models trained without the noisy copies, as two releases before;
    ``average``: ``{target: kind}``, how those targets' fold models average their estimators instead of as
    shipped (:data:`PREVIOUS_RELEASE`: every target in probability, the previous release);
    ``codec``: of the telephone calls (``simulate_calls.CODECS``: gsm and opus are never heard in training);
    ``noise``: ``(kind, snr_db)``, background noise added to both channels of every call (:func:`add_noise`);
    ``fixed_activity_margin``: find speech with the fixed 10-dB margin alone (``detect_activity(...,
    noise_adaptive=False)``, as the release before), for comparison."""
    from tqdm import tqdm

    tk = _tonekit()
    if not hasattr(tk, "analyze"):
        raise ImportError("tonekit.analyze is not available in this tonekit")
    from tonekit.models.corpora import load_corpora, targets

    if dump_dir is not None:
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
    if fixed_activity_margin:
        import functools

        import tonekit.pipeline

        # a comparison for this run only: analyze() has no option for it, as users have no reason to want it
        tonekit.pipeline.detect_activity = functools.partial(tonekit.pipeline.detect_activity, noise_adaptive=False)
    sim = _simulator()
    table = targets(load_corpora(corpora))
    pool = sim.load_pool(corpora)
    by_corpus = {c: sorted(pool.loc[pool["corpus"] == c, "speaker"].unique()) for c in sim.CORPORA}
    folds = speaker_folds({c: s for c, s in by_corpus.items() if s}, n_folds, seed)
    usable = [f for f in folds if any(sum(s in f for s in spk) >= 2 for spk in by_corpus.values())]
    if len(usable) < n_folds:
        raise ValueError(f"{n_folds} folds leave some fold without two speakers of one corpus; use fewer folds")
    per_fold = [n_calls // n_folds + (i < n_calls % n_folds) for i in range(n_folds)]

    keep = calls_dir is not None
    if keep:
        sim._refuse_repo(Path(calls_dir))   # before any training: corpus audio never goes into the repository
    root = Path(calls_dir) if keep else Path(tempfile.mkdtemp(prefix="tonekit_eval_"))
    fixed = load_fixed_models(models_dir) if models_dir else None
    records = []
    try:
        for f, (held_out, n) in enumerate(zip(folds, per_fold)):
            if n == 0:
                continue
            if fixed is None:
                print(f"fold {f + 1}/{n_folds}: training without {len(held_out)} speakers ...", file=sys.stderr)
                t0 = time.perf_counter()
                models = train_fold_models(table, held_out, cache_dir, reference_mix, copies, noise_copies,
                                           average)
                print(f"fold {f + 1}/{n_folds}: trained in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            else:
                models = fixed
            paths = sim.simulate_calls(corpora, root / f"fold{f}", n_calls=n, seed=seed * 1000 + f,
                                       telephone_share=telephone_share, speakers=held_out,
                                       angry_caller_share=angry_caller_share, codec=codec)
            for path in tqdm(paths, desc=f"fold {f + 1}/{n_folds}", unit="call", file=sys.stderr):
                truth = json.loads(path.read_text(encoding="utf-8"))
                if noise is not None:
                    add_noise(path.parent / truth["audio"], *noise, seed=[seed, f, truth["seed"][1]])
                rec = {"fold": f, "call": str(path.with_suffix("").name), "corpus": truth["corpus"],
                       "caller": truth["caller_speaker"], "agent": truth["agent_speaker"],
                       "telephone": truth["telephone"], "duration_s": truth["duration_s"],
                       "timeline": truth.get("timeline", "mixed")}
                t0 = time.perf_counter()
                try:
                    result = tk.analyze(str(path.parent / truth["audio"]), models=models, **(analyze_options or {}))
                except Exception as exc:  # one failed call must not stop the run
                    rec["error"] = f"{type(exc).__name__}: {exc}"
                    print(f"{path.name}: {rec['error']}", file=sys.stderr)
                    records.append(rec)
                    continue
                rec["seconds"] = time.perf_counter() - t0
                if dump_dir is not None:   # for re-running the matcher with other thresholds
                    import pickle
                    with open(Path(dump_dir) / f"{f}_{path.with_suffix('').name}.pkl", "wb") as fh:
                        pickle.dump({"truth": truth, "analysis": result, "record": dict(rec)}, fh)
                rec["counts"] = call_counts(truth, result.events)
                rec["anger_windows"] = caller_anger_labels(truth, result.windows)
                records.append(rec)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    setup = {
        "mode": "fixed models" if models_dir else f"speaker-grouped {n_folds}-fold",
        "description": (f"models from {models_dir} (speakers may have been heard in training)" if models_dir else
                        "models trained per fold without the fold's speakers; each call's caller and agent "
                        "are both held out"),
        "folds": folds, "seed": seed, "n_calls": n_calls, "tolerance_s": TOLERANCE_S,
        "tonekit_version": getattr(tk, "__version__", "?"), "analyze_options": dict(analyze_options or {}),
        **({} if reference_mix is None else {"reference_mix": list(reference_mix)}),
        **({} if copies is None else {"training_copies": copies}),
        **({} if noise_copies or models_dir else {"noise_copies": False}),
        **({"fusion_average": dict(average)} if average and not models_dir else {}),
        **({} if codec == "mulaw" else {"codec": codec}),
        **({} if noise is None else {"noise": f"{noise[0]}:{noise[1]:g}"}),
        **({"activity": "fixed 10-dB margin"} if fixed_activity_margin else {}),
        "command": " ".join(["python", "scripts/evaluate_calls.py", *sys.argv[1:]]),
    }
    return summarise(records), setup, records


def add_noise(audio_path, kind: str, snr_db: float, *, seed) -> None:
    """Add background noise to both channels of a simulated call, in place (same rate and encoding):
    ``kind`` one of :data:`tonekit.augment.NOISE_KINDS`, ``snr_db`` below each channel's speech (the frames
    tonekit finds on the call without it, with the fixed margin). Added to the recording as it is: on a
    telephone call, after the line."""
    import soundfile as sf

    _tonekit()
    from tonekit.activity import detect_activity
    from tonekit.audio import load_call

    info = sf.info(str(audio_path))
    y, sr = sf.read(str(audio_path), always_2d=True)
    act = detect_activity(load_call(str(audio_path)), noise_adaptive=False)
    speech = [act.speech[s] for s in act.speech]
    noisy = _activity_script().with_noise(y, sr, speech, kind, snr_db, np.random.default_rng(seed))
    sf.write(str(audio_path), noisy, sr, subtype=info.subtype, format=info.format)


def _noise(text: str):
    """``"pink:10"`` -> ``("pink", 10.0)`` for ``--noise``."""
    from tonekit.augment import NOISE_KINDS

    kind, _, snr = text.partition(":")
    try:
        value = float(snr)
    except ValueError:
        value = None
    if kind not in NOISE_KINDS or value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: KIND:SNR_DB, KIND one of {', '.join(NOISE_KINDS)} "
                                         "(for example pink:10)")
    return kind, value


def rescored_record(saved: dict, opts, *, windows: bool = True) -> dict:
    """The record of one saved call (``--dump-dir``) with its tone events (tips 7, 8, 9) re-made under
    ``opts`` (a :class:`tonekit.match.MatchOptions`); tips 1 and 12 do not depend on them and are kept.
    ``windows``: also label the caller-anger windows (for the AUC)."""
    _tonekit()
    from tonekit.analysis import EVENT_COLUMNS
    from tonekit.match import tone_events

    a, truth = saved["analysis"], saved["truth"]
    # analyses made up by tests have no turns: their events are the windows'
    tone = pd.DataFrame(tone_events(a.windows, opts, narrowband=truth["telephone"], turns=getattr(a, "turns", None)),
                        columns=EVENT_COLUMNS)
    events = pd.concat([tone, a.events[a.events.tip.isin([1, 12])]], ignore_index=True)
    rec = dict(saved["record"])
    rec["counts"] = call_counts(truth, events)
    if windows:
        rec["anger_windows"] = caller_anger_labels(truth, a.windows)
    return rec


def saved_calls(dump_dir):
    """The calls saved by ``--dump-dir`` in ``dump_dir``, one dict at a time (``truth``, ``analysis``,
    ``record``); ValueError if there are none. These are this project's own pickles, not files from elsewhere."""
    import pickle

    files = sorted(Path(dump_dir).glob("*.pkl"))
    if not files:
        raise ValueError(f"{dump_dir}: no saved calls (*.pkl); run evaluate_calls.py with --dump-dir first")
    for f in files:
        with open(f, "rb") as fh:
            yield pickle.load(fh)


def rescore(dump_dir, setup: dict | None = None, settings: dict | None = None) -> tuple[dict, dict, list]:
    """Re-make the events of saved calls (``--dump-dir`` of an earlier run) with the matcher as it is now.

    Analysis (activity, windows, scores) is not redone: only the matcher runs
    again, with its current defaults (``settings``: some of them changed, as
    ``tonekit report --set``), so a change of thresholds is measured on the same
    calls in seconds. Returns (summary, setup, records) like :func:`evaluate`.
    """
    tk = _tonekit()
    from tonekit.match import MatchOptions

    opts = MatchOptions.from_kwargs(**(settings or {}))
    records, seeds = [], set()
    for saved in saved_calls(dump_dir):
        records.append(rescored_record(saved, opts))
        first = saved["truth"].get("seed", [None])[0]   # simulate_calls' seed: seed * 1000 + fold
        seeds.add(None if first is None else first // 1000)
    setup = dict(setup or {"mode": "rescored", "description": f"the calls saved in {Path(dump_dir).name}/",
                            "command": f"python scripts/evaluate_calls.py --rescore {dump_dir}"})
    if len(seeds) == 1 and None not in seeds:
        setup.setdefault("seed", seeds.pop())
    changed = ", ".join(f"{k}={v}" for k, v in (settings or {}).items())
    setup["rescored"] = (f"Events re-made from the saved analyses in {Path(dump_dir).name}/ with the matcher's "
                         f"current defaults{f' but {changed}' if changed else ''} "
                         f"(tonekit {getattr(tk, '__version__', '?')})")
    setup["matcher"] = opts.as_dict()
    return summarise(records), setup, records


def _share(text: str):
    """``--population-share``: ``0.25`` (both speakers) or ``caller=0.25,agent=0`` (per speaker)."""
    try:
        if "=" not in text:
            return float(text)
        return {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number or caller=S,agent=S") from None


def main(argv=None) -> int:
    _tonekit()   # this source tree's tonekit, for the names the options take
    from tonekit.match import parse_settings
    from tonekit.models.features import COPY_CONDITIONS
    from tonekit.models.train import REFERENCE_MIX

    ap = argparse.ArgumentParser(
        description="Evaluate tonekit's events and caller-anger scores on simulated calls of held-out speakers.",
        epilog="Example: python scripts/evaluate_calls.py --n-calls 48 --folds 4 --out /tmp/eval_calls")
    ap.add_argument("--corpora", default=str(DEFAULT_CORPORA), help="corpus root (default %(default)s)")
    ap.add_argument("--n-calls", type=int, default=48, help=f"calls in all (default %(default)s, at least {MIN_CALLS})")
    ap.add_argument("--folds", type=int, default=4, help="speaker-grouped folds (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed for folds and calls (default %(default)s)")
    from tonekit.models.features import default_cache_dir

    ap.add_argument("--cache-dir", default=str(default_cache_dir()),
                    help="feature cache for training (default %(default)s)")
    ap.add_argument("--models-dir", default=None,
                    help="use the models in this folder for every call instead of training per fold (quick run)")
    ap.add_argument("--calls-dir", default=None,
                    help="keep the simulated calls here (outside the repository); default: a temporary folder, deleted")
    ap.add_argument("--dump-dir", default=None,
                    help="also pickle each call's truth and Analysis here (outside the repository), to re-run "
                         "the matcher with other thresholds without re-analysing")
    ap.add_argument("--rescore", default=None, metavar="DUMP_DIR",
                    help="only re-make the events of the calls saved in DUMP_DIR with the current matcher "
                         "(no simulation, training or analysis); keeps the setup of an existing --out JSON")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                    help="with --rescore: a matcher option other than its default (tonekit.match.MatchOptions; "
                         "repeatable), as tonekit report --set")
    ap.add_argument("--embedding-every", type=int, default=None, help="analyze(embedding_every=N) (default: its own)")
    ap.add_argument("--whisper-every", type=int, default=None, help="analyze(whisper_every=N) (default: its own)")
    ap.add_argument("--population-share", type=_share, default=None, metavar="S | caller=S,agent=S",
                    help="analyze(population_share=...): the training speakers' share of each speaker's reference, "
                         "one number for both or per speaker (default: analyze's own)")
    ap.add_argument("--angry-caller-share", type=float, default=0.0,
                    help="share of calls whose caller is angry throughout (default %(default)s)")
    ap.add_argument("--reference-mix", action="store_true",
                    help="train the fold models also on copies read partly against the training speakers "
                         "(tonekit.models.train.REFERENCE_MIX; an exploration the shipped models do not use)")
    ap.add_argument("--copies", choices=sorted(COPY_CONDITIONS), default=None,
                    help="train the fold models also on these training copies of every utterance "
                         "(tonekit.models.features.COPY_CONDITIONS; pitch and crop are explorations the shipped "
                         "models do not use; noise is in the shipped recipe already)")
    ap.add_argument("--no-noise-copies", action="store_true",
                    help="train the fold models on both lines without the noisy copies, as two releases before "
                         "(for comparison; with --previous-release, that release's recipe)")
    ap.add_argument("--previous-release", action="store_true",
                    help="train the fold models as the previous release: every target's five estimators averaged "
                         "in probability (the shipped anger and calm average in log-odds; "
                         "results/select_logit_fusion.md), for comparison")
    ap.add_argument("--codec", choices=_simulator().CODECS, default="mulaw",
                    help="codec of the telephone calls (default %(default)s; gsm and opus are never heard in "
                         "training)")
    ap.add_argument("--noise", type=_noise, default=None, metavar="KIND:SNR_DB",
                    help="add background noise to both channels of every call, SNR_DB below each side's speech "
                         "(white, pink, hum or swelling; for example pink:10)")
    ap.add_argument("--fixed-activity-margin", action="store_true",
                    help="find speech with the fixed 10-dB margin alone, as the release before "
                         "(detect_activity(noise_adaptive=False)), for comparison")
    ap.add_argument("--out", default=None,
                    help="results file: writes NAME.md (the table) and NAME.json (the numbers, per call too)")
    args = ap.parse_args(argv)
    if args.n_calls < MIN_CALLS and not args.models_dir:
        ap.error(f"--n-calls must be at least {MIN_CALLS} for a fold evaluation (a quick run needs --models-dir)")
    if args.n_calls < 1:
        ap.error("--n-calls must be at least 1")
    if args.folds < 2:
        ap.error("--folds must be at least 2")
    if not 0 <= args.angry_caller_share <= 1:
        ap.error("--angry-caller-share must be within 0..1")
    if (args.reference_mix or args.copies or args.no_noise_copies or args.previous_release) and args.models_dir:
        ap.error("--reference-mix, --copies, --no-noise-copies and --previous-release train the fold models; "
                 "--models-dir uses fixed ones (use one)")
    try:
        if args.settings and not args.rescore:
            raise ValueError("--set changes the matcher of --rescore; a full run uses the defaults")
        if args.rescore:
            prev = Path(args.out).with_suffix(".json") if args.out else None
            setup = json.loads(prev.read_text())["setup"] if prev is not None and prev.exists() else None
            summary, setup, records = rescore(args.rescore, setup, parse_settings(args.settings))
        else:
            summary, setup, records = evaluate(args.corpora, n_calls=args.n_calls, n_folds=args.folds, seed=args.seed,
                                               cache_dir=args.cache_dir, models_dir=args.models_dir,
                                               calls_dir=args.calls_dir, dump_dir=args.dump_dir,
                                               angry_caller_share=args.angry_caller_share,
                                               reference_mix=REFERENCE_MIX if args.reference_mix else None,
                                               codec=args.codec, copies=args.copies, noise=args.noise,
                                               fixed_activity_margin=args.fixed_activity_margin,
                                               noise_copies=not args.no_noise_copies,
                                               average=PREVIOUS_RELEASE if args.previous_release else None,
                                               analyze_options={k: v for k, v in (
                                                   ("embedding_every", args.embedding_every),
                                                   ("whisper_every", args.whisper_every),
                                                   ("population_share", args.population_share)) if v is not None})
    except (ValueError, OSError, ImportError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    text = markdown(summary, setup)
    print(text)
    if args.out:
        out = Path(args.out)
        md, js = out.with_suffix(".md"), out.with_suffix(".json")
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(text, encoding="utf-8")
        calls = [{k: v for k, v in r.items() if k != "anger_windows"} for r in records]
        js.write_text(json.dumps(_plain({"setup": setup, "summary": summary, "calls": calls}), indent=1) + "\n",
                      encoding="utf-8")
        print(f"wrote {md} and {js}", file=sys.stderr)
    return 0 if summary["analysed"] else 1


if __name__ == "__main__":
    _tonekit()   # this source tree's tonekit first, even where another is installed (pip install .)
    from tonekit.errors import run_script

    sys.exit(run_script(main))
