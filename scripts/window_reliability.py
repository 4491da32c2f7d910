#!/usr/bin/env python3
"""How much speech a call window needs: the models' per-window scores by the speech the window holds.

A window of a call (3 s) is scored when it holds at least 1 s of its speaker's speech. A short turn
gives the models less to go on. This script reads the calls saved by
``scripts/evaluate_calls.py --dump-dir`` (held-out speakers, fold models) and reports, by the
seconds of speech in the window:

- caller anger with evaluate_calls.py's own labels (inside a scripted angry stretch: 1; well
  outside: 0): ROC AUC, and the mean score of each class;
- each target on both speakers' windows whose speech is one utterance's emotion for at least 80 %
  (that emotion's label for the target): ROC AUC and mean score of each class.

A lower AUC with the same class means says the short windows are noisier, not biased. With each, the
balanced accuracy of the matcher's threshold 0.5 (UAR) and the calibration error at even odds
(:func:`tonekit.models.train.ece` with ``balanced=True``): whether 0.5 means on call windows of new
speakers what it means on the utterances the models were evaluated on.

Usage::

    python scripts/window_reliability.py /tmp/calls/0 /tmp/calls/1 /tmp/calls/2 /tmp/calls/3 \\
        --out results/window_reliability.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate_calls as ec  # noqa: E402
from tonekit.models.corpora import TARGETS  # noqa: E402
from tonekit.models.train import metrics  # noqa: E402

#: Bins of speech in a window (s): [1, 1.5), [1.5, 2), [2, 2.5), [2.5, 3].
BINS = (1.0, 1.5, 2.0, 2.5, 3.01)


def window_rows(truth: dict, windows: pd.DataFrame) -> pd.DataFrame:
    """Scored windows with ``speech_s``, the three scores, the caller-anger label of evaluate_calls.py
    (``caller_anger_label``: 1, 0 or NaN) and the emotion of the utterance that fills at least 80 % of the
    window's overlap with its speaker's utterances (``emotion``, None otherwise)."""
    w = windows[windows["anger"].notna()].copy()
    utt = pd.DataFrame(truth["utterances"])
    emotion = []
    for r in w.itertuples():
        u = utt[(utt.speaker == r.speaker) & (utt.end_s > r.start_s) & (utt.start_s < r.end_s)]
        ov = (np.minimum(u.end_s, r.end_s) - np.maximum(u.start_s, r.start_s)).to_numpy()
        emotion.append(u.emotion.iloc[int(np.argmax(ov))] if len(ov) and ov.max() >= 0.8 * ov.sum() else None)
    w["emotion"] = emotion
    w["caller_anger_label"] = np.nan
    caller = (w.speaker == "caller").to_numpy()
    if caller.any():
        w.loc[caller, "caller_anger_label"] = ec.caller_anger_label(truth, w[caller])
    return w[["speaker", "speech_s", "anger", "calm", "warmth", "emotion", "caller_anger_label"]]


def _stats(y, p) -> dict:
    y, p = np.asarray(y, int), np.asarray(p, float)
    m = metrics(y, p)   # UAR at 0.5, ROC AUC and the even-odds ECE as the models' evaluation gives them
    return {"n": len(y), "n_pos": int(y.sum()), "auc": m["auc"], "uar": m["uar"], "ece_balanced": m["ece_balanced"],
            "mean_pos": float(p[y == 1].mean()) if (y == 1).any() else np.nan,
            "mean_neg": float(p[y == 0].mean()) if (y == 0).any() else np.nan}


def reliability(rows: pd.DataFrame, by: str = "bin") -> pd.DataFrame:
    """One row per (what, speech bin): n, n_pos, auc, uar, ece_balanced, mean_pos, mean_neg; ``all`` over every
    bin. ``by="corpus"``: one row per (what, corpus the call is voiced from) instead, in the column ``speech_s``
    too (``rows`` then needs a ``corpus`` column)."""
    rows = rows.assign(bin=pd.cut(rows.speech_s, BINS, right=False).astype(str))
    out = []

    def add(what, sub, y, p):
        for b, idx in [("all", sub.index)] + list(sub.groupby(by, sort=True).groups.items()):
            out.append({"what": what, "speech_s": b, **_stats(y.loc[idx], p.loc[idx])})

    ca = rows[rows.caller_anger_label.notna()]
    add("caller anger (evaluate_calls.py labels)", ca, ca.caller_anger_label, ca.anger)
    for target, (pos, neg) in TARGETS.items():
        sub = rows[rows.emotion.isin(pos + neg)]
        add(f"{target} (utterance emotions, both speakers)", sub, sub.emotion.isin(pos).astype(int), sub[target])
    return pd.DataFrame(out)


def _table(table: pd.DataFrame, group: str) -> list[str]:
    """Markdown lines of :func:`reliability`'s rows, ``group`` naming its second column."""
    lines = [f"| target | {group} | windows (+) | ROC AUC | UAR at 0.5 | ECE (even odds) | mean + | mean - |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.what} | {r.speech_s} | {r.n} ({r.n_pos}) | {r.auc:.3f} | {r.uar:.3f} | "
                     f"{r.ece_balanced:.3f} | {r.mean_pos:.3f} | {r.mean_neg:.3f} |")
    return lines


def markdown(table: pd.DataFrame, dirs, n_calls: int, by_corpus: pd.DataFrame | None = None) -> str:
    lines = ["# Per-window scores by the speech a window holds", "",
             f"{n_calls} simulated calls saved by evaluate_calls.py ({', '.join(map(str, dirs))}); fold models, "
             "held-out speakers. A window is scored from 1 s of speech. mean +/-: the mean score of the "
             "windows of each class; UAR: balanced accuracy at the threshold 0.5; ECE: calibration error at "
             "even odds (both classes weighing the same).", ""] + _table(table, "speech in the window")
    if by_corpus is not None:
        lines += ["", "By the corpus the call is voiced from (every window of the calls, held-out speakers; the fold "
                  "models were trained on the other speakers of every corpus):", ""]
        lines += _table(by_corpus[by_corpus.speech_s != "all"], "corpus")
    lines += ["", "Re-run: `python scripts/window_reliability.py " + " ".join(sys.argv[1:]) + "` (the folders of "
              "`evaluate_calls.py --dump-dir`)"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump_dirs", nargs="+", help="folders of calls saved by evaluate_calls.py --dump-dir")
    ap.add_argument("--out", help="write the table here as markdown")
    args = ap.parse_args(argv)
    parts, n = [], 0
    for d in args.dump_dirs:
        try:
            for saved in ec.saved_calls(d):
                parts.append(window_rows(saved["truth"], saved["analysis"].windows)
                             .assign(corpus=saved["record"]["corpus"]))
                n += 1
        except ValueError as exc:
            ap.error(str(exc))
    rows = pd.concat(parts, ignore_index=True)
    text = markdown(reliability(rows), args.dump_dirs, n, by_corpus=reliability(rows, by="corpus"))
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
