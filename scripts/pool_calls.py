#!/usr/bin/env python3
"""Pool several runs of scripts/evaluate_calls.py into one table (recall / precision per tip).

Each run writes ``NAME.json`` with per-call counts. One set of 48 calls has
about 45 true events of each tone tip, so its recall or precision moves by
0.1 or more from one seed to the next; pooling several seeds narrows that.
This script prints, for every tip, each run's recall / precision, the pooled
figures and the pooled figures by line type, then each run's caller-anger
ROC AUC, as a markdown table.

Usage::

    python scripts/pool_calls.py results/calls_seed7.json results/calls_seed6.json \\
        results/calls_seed5.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate_calls as ec  # noqa: E402


def load_run(path) -> tuple[str, list[dict], dict]:
    """``(label, per-call records, summary)`` of one results JSON of evaluate_calls.py."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        calls = data["calls"]
        seed = data["setup"]["seed"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{path}: not a results file of evaluate_calls.py ({exc.__class__.__name__}: {exc})")
    records = [c if "error" in c else {**c, "counts": {int(t): v for t, v in c["counts"].items()}} for c in calls]
    return f"seed {seed}", records, data["summary"]


def _rp(r: dict) -> str:
    return f"{ec._f(r['recall'])} / {ec._f(r['precision'])}"


def table(runs: list[tuple[str, list[dict], dict]]) -> str:
    pooled = ec.summarise(sum((recs for _, recs, _ in runs), []))
    per_run = [ec.summarise(recs) for _, recs, _ in runs]
    head = [label for label, _, _ in runs] + [f"pooled ({pooled['analysed']} calls)", "pooled wideband",
                                              "pooled telephone"]
    lines = ["| tip | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for tip in ec.TIPS:
        cells = [_rp(s["tips"][tip]) for s in per_run]
        cells += [_rp(pooled[k][tip]) for k in ("tips", "tips_wideband", "tips_telephone")]
        lines.append(f"| {tip} | " + " | ".join(cells) + " |")
    lines += ["", "| caller anger per window, ROC AUC | " + " | ".join(label for label, _, _ in runs) + " |",
              "|---" * (len(runs) + 1) + "|"]
    for k in ("all", "wideband", "telephone"):
        lines.append(f"| {k} | " + " | ".join(ec._f(s["caller_anger_auc"][k], 3) for _, _, s in runs) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="NAME.json files written by evaluate_calls.py --out NAME")
    args = ap.parse_args(argv)
    print(table([load_run(p) for p in args.results]))
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
