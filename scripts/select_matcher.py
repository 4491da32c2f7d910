#!/usr/bin/env python3
"""Choose the matcher's averaging windows and thresholds by leave-one-seed-out selection on saved call analyses.

``scripts/evaluate_calls.py --dump-dir DIR`` saves each simulated call's
analysis (windows, events) with its ground truth. This script re-runs only the
tone rules of the matcher (tips 7, 8 and 9; tips 1 and 12 do not depend on
these options) over a small grid of options, for every saved set of calls
(one folder per seed), and reports:

- for each seed held out: the setting chosen on the other seeds and its recall /
  precision on the held-out seed, next to the shipped defaults' figures;
- the setting chosen on all the seeds.

A setting is scored by its worst recall or precision over the tips it concerns
(pooled over the calls of the seeds used to choose; ties go to the better
second worst, and so on). Six grids are searched one after the other, each
with the others' options at their defaults: ``caller_window_s`` x the caller
anger hysteresis for tips 7, 8 and 9 (the angry caller is their context),
``caller_onset_s`` x ``valence_margin`` for tips 7, 8 and 9 (where an angry
stretch starts, and the tip 8 / tip 9 balance that moves with it),
``valence_window_s`` x ``valence_margin`` for tips 8 and 9 (and ``valence_margin`` with one
verdict per aroused stretch, ``valence_per_stretch``), ``no_smile_window_s`` x
``no_smile_warmth`` for tip 7, the agent's probability thresholds of tips
8 and 9 (``upbeat_on`` x ``agent_anger_on`` x ``calm_below_on``, with
``calm_below_off`` 0.1 above it), and whether tip 8 asks for the agent's
raised voice (``mirrored_needs_rise``, ``mirrored_rise_st`` x
``mirrored_rise_db``).

``--grid N`` (repeatable, 1-6) searches only those grids.

``--other-mix FOLDER`` (repeatable, one per positional folder, in the same
order) gives the same seeds' calls of a second mix, for example calls of
which a quarter have a caller angry throughout (``evaluate_calls.py
--angry-caller-share 0.25``) next to the usual ones: a setting is then scored
by the lower of its two worst figures, one per mix (pooled over the seeds
used to choose), so that the thresholds hold whichever mix a secretariat gets.

``--fresh FOLDER`` (repeatable) adds seeds that take no part in the choice:
every setting of every grid is scored on them and printed, for the record,
so that the shipped setting can be compared with the alternatives on calls
it was not chosen on.

Usage::

    for s in 0 1 2 3; do python scripts/evaluate_calls.py --seed $s --dump-dir /tmp/calls/$s; done
    python scripts/select_matcher.py /tmp/calls/0 /tmp/calls/1 /tmp/calls/2 /tmp/calls/3 --fresh /tmp/calls/6
    python scripts/select_matcher.py /tmp/calls/{0,1,2,3} --other-mix /tmp/calls/a0 --other-mix /tmp/calls/a1 \
        --other-mix /tmp/calls/a2 --other-mix /tmp/calls/a3

The dumps are this project's own pickles written by evaluate_calls.py; do not
point the script at files from elsewhere.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate_calls as ec  # noqa: E402
from tonekit.match import MatchOptions  # noqa: E402

#: (tips scored, settings): searched in this order
GRIDS = [
    ((7, 8, 9), [{"caller_window_s": w, "anger_on": on, "anger_off": off}
                for w, (on, off) in itertools.product((3.0, 7.0, 13.0, 19.0),
                                                      ((0.55, 0.45), (0.5, 0.4), (0.45, 0.35)))]),
    # where the caller's anger starts (the agent's replies to it, not the talk before it) x the valence
    # margin: a later start removes false alarms before the caller turns angry, which the margin can trade
    ((7, 8, 9), [{"caller_onset_s": o, "valence_margin": m}
                 for o, m in itertools.product((0.0, 2.0, 3.0, 4.0, 6.0), (0.0, 0.05, 0.1))]),
    ((8, 9), [{"valence_window_s": v, "valence_margin": m, "valence_per_stretch": False}
              for v, m in itertools.product((3.0, 9.0, 15.0, 21.0, 27.0), (0.0, 0.05, 0.1, 0.15))]
     # one verdict per aroused stretch (its valence window is not used)
     + [{"valence_window_s": 21.0, "valence_margin": m, "valence_per_stretch": True}
        for m in (-0.05, 0.0, 0.05, 0.1, 0.15)]),
    ((7,), [{"no_smile_window_s": w, "no_smile_warmth": t}
            for w, t in itertools.product((3.0, 7.0, 15.0, 21.0), (0.35, 0.4, 0.45, 0.5))]),
    # the agent's probability thresholds of tips 8 and 9 (they move with the models' calibration)
    ((8, 9), [{"upbeat_on": u, "agent_anger_on": a, "calm_below_on": c, "calm_below_off": round(c + 0.1, 2)}
              for u, a, c in itertools.product((0.35, 0.4, 0.45, 0.5), (0.45, 0.5, 0.55), (0.2, 0.25, 0.3))]),
    # tip 8 asking for the agent's raised voice (pitch or loudness over its usual); the default, without, first,
    # so that it keeps a tie
    ((8, 9), [{"mirrored_needs_rise": False, "mirrored_rise_st": 0.0, "mirrored_rise_db": 0.0}]
     + [{"mirrored_needs_rise": True, "mirrored_rise_st": st, "mirrored_rise_db": db}
        for st, db in itertools.product((-1.0, -0.5, 0.0, 0.5, 1.0), repeat=2)]),
]


def load_calls(folder) -> list[dict]:
    try:
        return list(ec.saved_calls(folder))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def records(calls: list[dict], options: dict) -> list[dict]:
    """evaluate_calls records with the tone events re-made under ``options``."""
    opts = MatchOptions(**options)
    return [ec.rescored_record(c, opts, windows=False) for c in calls]


def rates(recs: list[dict], tips) -> dict:
    s = ec.summarise(recs)["tips"]
    return {t: (s[t]["recall"], s[t]["precision"]) for t in tips}


def worst(r: dict) -> tuple:
    """Recalls and precisions from the worst up: compared by the worst, ties broken by the next. A figure
    without events to count (NaN or None: no true event, or none flagged) is left out."""
    return tuple(sorted(x for rp in r.values() for x in rp if x is not None and x == x))


def fmt(r: dict) -> str:
    return ", ".join(f"tip {t} {rp[0]:.2f} / {rp[1]:.2f}" for t, rp in r.items())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="one --dump-dir folder of evaluate_calls.py per seed")
    ap.add_argument("--other-mix", action="append", default=[], metavar="FOLDER",
                    help="the same seed's calls of a second mix (one per folder, same order); a setting is "
                         "scored by the lower of its worst figures over the two mixes")
    ap.add_argument("--fresh", action="append", default=[], metavar="FOLDER",
                    help="a saved seed that takes no part in the choice; every setting is scored on it")
    ap.add_argument("--grid", action="append", type=int, default=[], metavar="N",
                    help=f"search only grid N (1-{len(GRIDS)}, in the order above; repeatable); default all")
    args = ap.parse_args(argv)
    bad = [n for n in args.grid if not 1 <= n <= len(GRIDS)]
    if bad:
        raise SystemExit(f"--grid must be 1-{len(GRIDS)}, not {bad[0]}")
    if len(args.folders) < 2:
        raise SystemExit("need at least two folders (seeds) for leave-one-seed-out selection")
    if args.other_mix and len(args.other_mix) != len(args.folders):
        raise SystemExit(f"--other-mix: give one folder per seed ({len(args.folders)}), not {len(args.other_mix)}")
    # each seed's calls, one list per mix
    sets = {Path(f).name: [load_calls(f)] + ([load_calls(args.other_mix[k])] if args.other_mix else [])
            for k, f in enumerate(args.folders)}
    mixes = range(2 if args.other_mix else 1)
    fresh = {Path(f).name: load_calls(f) for f in args.fresh}
    defaults = MatchOptions()
    for number, (tips, grid) in enumerate(GRIDS, 1):
        if args.grid and number not in args.grid:
            continue
        names = sorted(grid[0])
        default = {n: getattr(defaults, n) for n in names}
        if default not in grid:
            grid = grid + [default]
        print(f"\n## grid {number}, tips {', '.join(map(str, tips))}: {', '.join(names)} (default {default})")
        recs = {(i, s, m): records(calls[m], g) for i, g in enumerate(grid) for s, calls in sets.items()
                for m in mixes}
        d = grid.index(default)

        def pooled(i, seeds, m):
            return rates(sum((recs[(i, s, m)] for s in seeds), []), tips)

        def score(i, seeds):   # the lower of the mixes' worst figures
            return min(worst(pooled(i, seeds, m)) for m in mixes)

        def shown(i, seeds):
            return "; ".join(("" if len(mixes) == 1 else f"mix {m + 1}: ") + fmt(pooled(i, seeds, m)) for m in mixes)

        for held in sets:
            others = [s for s in sets if s != held]
            best = max(range(len(grid)), key=lambda i: score(i, others))
            print(f"held out {held}: chose {grid[best]} -> {shown(best, [held])}; default -> {shown(d, [held])}")
        best = max(range(len(grid)), key=lambda i: score(i, list(sets)))
        print(f"all seeds: chose {grid[best]} -> {shown(best, list(sets))}; default -> {shown(d, list(sets))}")
        if fresh:
            pooled_fresh = sum(fresh.values(), [])
            print(f"fresh seeds {', '.join(fresh)} (not used to choose), pooled:")
            for i, g in enumerate(grid):
                mark = " (default)" if i == d else ""
                print(f"  {g}{mark} -> {fmt(rates(records(pooled_fresh, g), tips))}")
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
