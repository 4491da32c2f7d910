"""The result of analysing one call: tables, summary and exports."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

WINDOW_COLUMNS = ["speaker", "start_s", "end_s", "speech_s", "f0_st_mean", "f0_st_std", "f0_st_range",
                  "intensity_db_mean", "rate_syl_s", "pause_ratio", "smile_cue", "anger", "calm", "warmth"]
FRAME_COLUMNS = ["speaker", "time_s", "f0_hz", "intensity_db", "f1_hz", "f2_hz", "f3_hz", "voiced", "speech"]
EVENT_COLUMNS = ["start_s", "end_s", "tip", "kind", "speaker", "severity", "evidence"]
SEGMENT_COLUMNS = ["speaker", "start_s", "end_s"]


def _plain(value):
    """JSON-safe Python value: NaN becomes None, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    return value


def edge_means(values) -> tuple[float, float]:
    """How a score track began and ended: the mean of its first and of its last scored values.

    A quarter of the scored (finite) values at each end, at least 1 and at most 10
    (10 s of 1-s windows), so one odd window does not decide how a call began or
    ended. ``(nan, nan)`` when nothing is scored. The summary's caller anger and the
    reports' curve sentences both use it, so they agree.

    >>> edge_means([float("nan"), 0.1, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.2])   # 8 scored: 2 at each end
    (0.5, 0.35)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    n = max(1, min(10, v.size // 4))
    return float(v[:n].mean()), float(v[-n:].mean())


def records(table: pd.DataFrame) -> list[dict]:
    """A table as a list of JSON-safe dicts (NaN -> null)."""
    return [_plain(r) for r in table.to_dict(orient="records")]


@dataclass
class Analysis:
    """Everything tonekit found in one call.

    Attributes
    ----------
    source : str
        What was analysed (file name, or ``agent=...,caller=...``).
    duration_s : float
        Length of the call in seconds.
    speakers : list of str
        ``["agent", "caller"]`` for a call.
    frames, windows, events : pandas.DataFrame
        The public tables (README: Python).
    turns, overlaps, silences : pandas.DataFrame
        Who speaks when: ``speaker, start_s, end_s`` (overlaps and silences
        have ``speaker`` set to ``"both"`` and ``"none"``).
    summary : dict
        Talk times, interruptions, silences, caller anger at start and end,
        entrainment, counts of events per tip.
    warnings : list of str
        What :func:`tonekit.analyze` warned of while reading the call (music on
        hold, tones, line echo, hum, noise, clipping ...), each once: the
        report's notes on its audio.
    """

    source: str
    duration_s: float
    speakers: list
    frames: pd.DataFrame
    windows: pd.DataFrame
    events: pd.DataFrame
    summary: dict
    turns: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SEGMENT_COLUMNS))
    overlaps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SEGMENT_COLUMNS))
    silences: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SEGMENT_COLUMNS))
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON report as a dict."""
        from . import __version__

        return {
            "tonekit_version": __version__,
            "source": self.source,
            "duration_s": _plain(self.duration_s),
            "speakers": list(self.speakers),
            "windows": records(self.windows),
            "events": records(self.events),
            "summary": _plain(self.summary),
            "turns": records(self.turns),
            "options": _plain(self.options),
            "warnings": list(self.warnings),
        }

    def to_json(self, path=None, *, indent: int | None = 2) -> str:
        """The JSON report; written to ``path`` too when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    def plot(self, path=None, **kwargs):
        """Tone curves of both speakers with events shaded; returns the matplotlib Figure.

        Saved to ``path`` (.png, .svg or .pdf) when given.
        """
        from .report.plot import plot_analysis

        return plot_analysis(self, path=path, **kwargs)
