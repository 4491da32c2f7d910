#!/usr/bin/env python3
"""Regenerate the README's demo material: docs/demo_report.txt, docs/demo_plot.png and the report in README.md
(in English, and the first lines of the French one, :data:`FRENCH_LINES`).

Usage::

    python scripts/make_docs.py
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tonekit  # noqa: E402
from tonekit.report.text import render_text  # noqa: E402

#: How many lines of the French demo report the README shows (Reports in French).
FRENCH_LINES = 9


def main(argv=None):
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    a = tonekit.analyze(tonekit.demo_path())
    report = render_text(a, color=False)
    (docs / "demo_report.txt").write_text(report.rstrip("\n") + "\n", encoding="utf-8")   # as `tonekit demo` prints it
    a.plot(docs / "demo_plot.png")
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = re.compile(r"(```\n)tonekit report: demo_call\.flac\n.*?(```)", re.DOTALL)
    if not block.search(text):
        raise SystemExit("README.md has no demo report block (```, then 'tonekit report: demo_call.flac')")
    text = block.sub(lambda m: m.group(1) + report.rstrip("\n") + "\n" + m.group(2), text, count=1)
    french = "\n".join(render_text(a, color=False, lang="fr").splitlines()[:FRENCH_LINES])
    block = re.compile(r"(```\n)rapport tonekit : demo_call\.flac\n.*?(```)", re.DOTALL)
    if not block.search(text):
        raise SystemExit("README.md has no French demo report block (```, then 'rapport tonekit : demo_call.flac')")
    readme.write_text(block.sub(lambda m: m.group(1) + french + "\n" + m.group(2), text, count=1), encoding="utf-8")
    print(f"wrote {docs / 'demo_report.txt'}, {docs / 'demo_plot.png'} and the demo report in {readme}")


if __name__ == "__main__":
    main()
