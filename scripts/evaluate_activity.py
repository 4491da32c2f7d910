#!/usr/bin/env python3
"""Speech activity under background noise, with and without the noise-adaptive margin and the music gate.

Simulated calls (``scripts/simulate_calls.py``, both lines) get noise added to both channels at a
given signal-to-noise ratio: the noise's level against the channel's speech, its speech being the
frames tonekit finds on the call without the added noise (the reference). Five noises: white, pink,
a 50-Hz mains hum with its harmonics, pink noise that swells and fades (by up to 6 dB, a few
times a second: traffic, a room's movement), and the same hum from half-way through the call on
(:data:`LATE_HUM`: a headset's cable plugged in, where the floor of the whole channel is that of its
clean half; the ratio is the hum's while it sounds). For each, three rules of
:func:`tonekit.activity.detect_activity` are measured against the reference:

- ``fixed``: speech is 10 dB or more above the channel's floor (``noise_adaptive=False``);
- ``adaptive``: :func:`tonekit.activity.noisy_speech` on top;
- ``adaptive + music gate``: the default, steady music-like stretches left out too
  (:func:`tonekit.activity.steady_sound`).

It prints, per noise and SNR, the share of the reference's speech frames found (recall), the share of
the frames found that are the reference's speech (precision), and per call the long silences (tip 12's,
5 s or more with nobody speaking) found where the reference has none (false) and the reference's that
are no longer found (missed).

Usage::

    python scripts/evaluate_activity.py --out results/activity_noise.json

About 5 minutes on one core for the default 12 calls (the calls are simulated in a temporary folder and
deleted).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import _md  # noqa: E402
from tonekit.activity import HOP_S, detect_activity  # noqa: E402
from tonekit.audio import load_call  # noqa: E402
from tonekit.augment import NOISE_KINDS, background_noise  # noqa: E402
from tonekit.match import MatchOptions  # noqa: E402
from tonekit.models.corpora import CORPORA_HELP  # noqa: E402

SNRS_DB = (20, 15, 10, 5)
#: The mains hum of :func:`tonekit.augment.background_noise` from half-way through the call on.
LATE_HUM = "hum from half-way"
#: The noises compared.
KINDS = NOISE_KINDS + (LATE_HUM,)
#: The rules compared: keyword arguments of :func:`tonekit.activity.detect_activity`.
RULES = {"fixed": {"noise_adaptive": False, "music_gate": False},
         "adaptive": {"noise_adaptive": True, "music_gate": False},
         "adaptive + music gate": {}}   # the default


def with_noise(y: np.ndarray, sr: int, speech: list, kind: str, snr_db: float, rng) -> np.ndarray:
    """``y`` (samples x channels) with noise added to each channel, ``snr_db`` below the RMS of that channel's
    speech frames (``speech[ch]``, on the 10-ms grid); ``kind`` one of :data:`KINDS` (:data:`LATE_HUM`: silent
    over the first half, at that ratio over the second)."""
    out = y.copy()
    for ch in range(y.shape[1]):
        frame = np.minimum((np.arange(len(y)) / sr / HOP_S).astype(int), len(speech[ch]) - 1)
        level = np.sqrt(np.mean(y[speech[ch][frame], ch] ** 2))
        noise = background_noise("hum" if kind == LATE_HUM else kind, len(y), sr, rng)
        if kind == LATE_HUM:
            noise[: len(y) // 2] = 0.0
        out[:, ch] += noise * level * 10 ** (-snr_db / 20)
    return np.clip(out, -1.0, 1.0)


def compare(path: Path, work: Path, rng, long_s: float) -> list[dict]:
    """Rows (noise, SNR, rule, frame counts, long silences) for one call."""
    y, sr = sf.read(path, always_2d=True)
    ref = detect_activity(load_call(path), noise_adaptive=False, music_gate=False)
    spk = list(ref.speech)
    ref_long = ref.silences(min_dur_s=long_s)
    rows = []
    for kind in KINDS:   # the hums draw nothing from rng: the other noises are those of the runs before them
        for snr in SNRS_DB:
            noisy = work / "noisy.flac"
            sf.write(noisy, with_noise(y, sr, [ref.speech[s] for s in spk], kind, snr, rng), sr)
            call = load_call(noisy)
            for rule, options in RULES.items():
                act = detect_activity(call, **options)
                for s in spk:
                    a, b = act.speech[s], ref.speech[s][: len(act.speech[s])]
                    rows.append({"call": path.stem, "noise": kind, "snr_db": snr, "rule": rule, "speaker": s,
                                 "found": int((a & b).sum()), "reference": int(b.sum()), "flagged": int(a.sum()),
                                 **(_long_silences(act.silences(min_dur_s=long_s), ref_long) if s == spk[0]
                                    else {"false_long_silences": 0, "missed_long_silences": 0})})
    return rows


def _long_silences(found: pd.DataFrame, ref: pd.DataFrame) -> dict:
    """Long silences ``found`` that overlap none of the reference's (false), and the reference's that overlap
    none found (missed)."""
    def hits(a, b):
        return [any(s0 < e1 and s1 < e0 for s1, e1 in zip(b.start_s, b.end_s)) for s0, e0 in zip(a.start_s, a.end_s)]
    return {"false_long_silences": int(len(found) - sum(hits(found, ref))),
            "missed_long_silences": int(len(ref) - sum(hits(ref, found)))}


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Recall, precision, and false and missed long silences per call, by noise, SNR and rule."""
    g = rows.groupby(["noise", "snr_db", "rule"], sort=False)
    out = pd.DataFrame({"recall": g.found.sum() / g.reference.sum(), "precision": g.found.sum() / g.flagged.sum(),
                        "false_long_silences_per_call": g.false_long_silences.sum() / g.call.nunique(),
                        "missed_long_silences_per_call": g.missed_long_silences.sum() / g.call.nunique()})
    return out.round(3).reset_index()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--n-calls", type=int, default=12, help="simulated calls (default %(default)s)")
    ap.add_argument("--seed", type=int, default=20, help="seed of the calls and the noise (default %(default)s)")
    ap.add_argument("--out", help="write the rows and the table as JSON here (and markdown next to it)")
    args = ap.parse_args(argv)
    from simulate_calls import simulate_calls
    from tqdm import tqdm

    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="tonekit_activity_"))
    try:
        paths = simulate_calls(args.corpora, work / "calls", n_calls=args.n_calls, seed=args.seed)
        audio = [p.parent / json.loads(p.read_text(encoding="utf-8"))["audio"] for p in paths]
        rng = np.random.default_rng(args.seed)
        long_s = MatchOptions().long_silence_s
        rows = pd.DataFrame([r for p in tqdm(audio, desc="calls", file=sys.stderr)
                             for r in compare(p, work, rng, long_s)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = summarise(rows)
    wide = table.pivot_table(index=["noise", "snr_db"], columns="rule", sort=False,
                             values=["recall", "precision", "false_long_silences_per_call",
                                     "missed_long_silences_per_call"])
    wide.columns = [f"{v} ({r})" for v, r in wide.columns]
    text = "\n\n".join([
        f"Speech activity under added noise (scripts/evaluate_activity.py), {args.n_calls} simulated calls "
        f"(seed {args.seed}), both channels; against each channel's speech found without the added noise; "
        f"long silences ({long_s:g} s or more with nobody speaking) per call, false: where the call without the "
        "added noise has none; missed: the call's own that are no longer found:",
        _md(wide.reset_index(), ".3g")]) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"table": table.to_dict(orient="records"), "rows": rows.to_dict(orient="records"),
                                   "seed": args.seed, "n_calls": args.n_calls,
                                   "seconds": round(time.time() - t0, 1)}, indent=1, default=float))
        out.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
