#!/usr/bin/env python3
"""Regenerate the README's demo material: docs/demo_report.txt and docs/demo_plot.png.

Usage::

    python scripts/make_docs.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tonekit  # noqa: E402
from tonekit.report.text import render_text  # noqa: E402


def main():
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    a = tonekit.analyze(tonekit.demo_path())
    (docs / "demo_report.txt").write_text(render_text(a, color=False) + "\n", encoding="utf-8")
    a.plot(docs / "demo_plot.png")
    print(f"wrote {docs / 'demo_report.txt'} and {docs / 'demo_plot.png'}")


if __name__ == "__main__":
    main()
