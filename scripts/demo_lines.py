#!/usr/bin/env python3
"""The bundled demo call through many draws of the phone line: which of its events each draw keeps.

Each channel goes through :func:`tonekit.augment.telephone_copy` (the line of training's telephone copies: the
300-3400 Hz band at 8 kHz, a level and line noise drawn per copy, then µ-law or GSM 06.10), channel c of draw
k with seed 2k + c; draw 0 is the line tests/test_pipeline.py pins. The table gives each draw's events
(tip, start and end in seconds) and whether it finds the script's three events (data/demo_call.json) and
whether it gives them alone.

Usage::

    python scripts/demo_lines.py --draws 6 --out results/demo_lines.json

About 3 s a draw and codec on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tonekit  # noqa: E402
from tonekit.augment import telephone_copy  # noqa: E402

CODECS = ("mulaw", "gsm")


def _overlaps(ev, truth, tol=1.0) -> bool:
    return ev["start_s"] < truth["end_s"] + tol and ev["end_s"] > truth["start_s"] - tol


def draw_events(y: np.ndarray, sr: int, codec: str, k: int, folder: Path) -> list[dict]:
    """The events of the demo ``y`` through draw ``k`` of the line with ``codec``."""
    line = np.column_stack([telephone_copy(y[:, c], sr, seed=2 * k + c, codec=codec)[0] for c in range(2)])
    path = folder / f"demo_{codec}_{k}.wav"
    sf.write(path, line, 8000, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = tonekit.analyze(path).events
    return [{"tip": int(e.tip), "kind": e.kind, "start_s": float(e.start_s), "end_s": float(e.end_s)}
            for e in events.itertuples()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=6, help="draws of the line per codec (default %(default)s)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "demo_lines.json")
    args = ap.parse_args(argv)
    truth = json.loads(Path(tonekit.demo_path()).with_suffix(".json").read_text())["expected_events"]
    y, sr = sf.read(tonekit.demo_path())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for codec in CODECS:
            for k in range(args.draws):
                ev = draw_events(y, sr, codec, k, Path(tmp))
                every = all(any(e["tip"] == t["tip"] and _overlaps(e, t) for e in ev) for t in truth)
                alone = every and all(any(e["tip"] == t["tip"] and _overlaps(e, t) for t in truth) for e in ev)
                rows.append({"codec": codec, "draw": k, "events": ev, "every_scripted": every, "alone": alone})
                shown = ", ".join(f"tip {e['tip']} {e['start_s']:.0f}-{e['end_s']:.0f} s" for e in ev)
                print(f"{codec} draw {k}: {shown}{'  (the script alone)' if alone else ''}", file=sys.stderr)
    n = len(rows)
    summary = {"draws": n, "every_scripted": sum(r["every_scripted"] for r in rows),
               "alone": sum(r["alone"] for r in rows), "tonekit": tonekit.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"{summary['every_scripted']} of {n} draws find the script's three events, {summary['alone']} give them "
          f"alone; wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
