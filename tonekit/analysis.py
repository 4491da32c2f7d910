"""The result of analysing one call: tables, summary and exports."""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

WINDOW_COLUMNS = ["speaker", "start_s", "end_s", "speech_s", "f0_st_mean", "f0_st_std", "f0_st_range",
                  "intensity_db_mean", "rate_syl_s", "pause_ratio", "smile_cue", "anger", "calm", "warmth"]
FRAME_COLUMNS = ["speaker", "time_s", "f0_hz", "intensity_db", "f1_hz", "f2_hz", "f3_hz", "voiced", "speech"]
EVENT_COLUMNS = ["start_s", "end_s", "tip", "kind", "speaker", "severity", "evidence"]
SEGMENT_COLUMNS = ["speaker", "start_s", "end_s"]
#: The events table's columns that hold text, and the one that holds whole numbers (the rest are floats).
EVENT_TEXT, EVENT_INTEGER = ("kind", "speaker", "evidence"), ("tip",)


def events_table(rows) -> pd.DataFrame:
    """The ``events`` table of ``rows`` (dicts, or tuples in :data:`EVENT_COLUMNS` order), with the same column types
    whether it has rows or none: ``tip`` whole numbers, ``kind``, ``speaker`` and ``evidence`` text, times and
    severity floats.

    >>> events_table([]).dtypes["tip"], events_table([]).dtypes["severity"]
    (dtype('int64'), dtype('float64'))
    """
    table = pd.DataFrame(list(rows), columns=EVENT_COLUMNS)
    return table.astype({c: "int64" if c in EVENT_INTEGER else "str" if c in EVENT_TEXT else "float64"
                         for c in EVENT_COLUMNS})


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


def _table(rows, columns, *, text=(), integer=()) -> pd.DataFrame:
    """A table of a JSON report (a list of objects) with at least ``columns``: the ``text`` ones as text, the
    ``integer`` ones whole numbers, every other one numeric (null: NaN)."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("a table is not a list of objects")
    table = pd.DataFrame(rows)
    table = table.reindex(columns=list(columns) + [c for c in table.columns if c not in columns])
    for c in table.columns:
        if c in text:
            if table.empty:   # no rows to tell: text, as a table with rows has it
                table[c] = table[c].astype("str")
        else:
            table[c] = pd.to_numeric(table[c], errors="raise").astype("int64" if c in integer else float)
    return table


def _nan(value):
    """A JSON report's summary with its nulls NaN again, as :func:`tonekit.analyze` gives it (a tip not judged,
    ``events_per_tip``'s null, stays None)."""
    if isinstance(value, dict):
        return {k: (v if k == "events_per_tip" else _nan(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan(v) for v in value]
    return float("nan") if value is None else value


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

    @classmethod
    def from_json(cls, source) -> "Analysis":
        """An analysis read back from its JSON report (:meth:`to_json`, ``tonekit report --format json``, ``tonekit
        batch``): a path, the report as a dict, or its JSON text (what :meth:`to_json` returns). It holds what the
        report holds: everything the text and HTML reports and the plot show (windows, events, turns, summary,
        options, warnings), no frames, and numbers as the report rounds them (4 decimals).

        Raises :class:`tonekit.errors.TonekitError` naming the file when it is not such a report.

        >>> a = Analysis.from_json("reports/call.json")     # doctest: +SKIP
        >>> print(render_text(a, lang="fr"))                  # doctest: +SKIP
        """
        from .errors import TonekitError, not_a_file

        # to_json()'s text, not a path (a file may be named "{call}.json")
        text = isinstance(source, str) and source.lstrip().startswith("{") and not os.path.lexists(source)
        name = "report" if isinstance(source, dict) or text else str(source)
        if isinstance(source, dict):
            report = source
        else:
            if not text and (what := not_a_file(source)):
                raise TonekitError(f"{name}: not a tonekit JSON report ({what})")
            try:
                if text:
                    report = json.loads(source)
                else:
                    with open(source, encoding="utf-8") as fh:
                        report = json.load(fh)
            except UnicodeDecodeError:
                raise TonekitError(f"{name}: not a tonekit JSON report (not UTF-8 text)") from None
            except ValueError as exc:
                raise TonekitError(f"{name}: not a tonekit JSON report (not JSON: {exc})") from None
            except OSError as exc:
                raise TonekitError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
        needed = ("tonekit_version", "duration_s", "windows", "events", "summary")
        missing = [k for k in needed if not isinstance(report, dict) or k not in report]
        if missing:
            raise TonekitError(f"{name}: not a tonekit JSON report (no {', '.join(repr(k) for k in missing)})")
        try:
            windows = _table(report["windows"], WINDOW_COLUMNS, text=("speaker",))
            events = _table(report["events"], EVENT_COLUMNS, text=EVENT_TEXT, integer=EVENT_INTEGER)
            turns = _table(report.get("turns") or [], SEGMENT_COLUMNS, text=("speaker",))
            duration_s = float(report["duration_s"]) if report["duration_s"] is not None else float("nan")
        except (TypeError, ValueError, KeyError) as exc:
            raise TonekitError(f"{name}: not a tonekit JSON report ({type(exc).__name__}: {exc})") from None
        shapes = {"options": (dict, "an object"), "speakers": (list, "a list of names"),
                  "warnings": (list, "a list of texts")}   # each may be left out
        for key, (kind, what) in shapes.items():
            if key in report and report[key] is not None and not isinstance(report[key], kind):
                raise TonekitError(f"{name}: not a tonekit JSON report (its {key} is not {what})")
        if not isinstance(report["summary"], dict):
            raise TonekitError(f"{name}: not a tonekit JSON report (its summary is not an object)")
        if not duration_s > 0:   # (NaN too)
            raise TonekitError(f"{name}: not a tonekit JSON report (it lasts {duration_s:g} s)")
        return cls(source=str(report.get("source") or name), duration_s=duration_s,
                   speakers=list(report.get("speakers") or ["agent", "caller"]),
                   frames=pd.DataFrame(columns=FRAME_COLUMNS), windows=windows, events=events,
                   summary=_nan(report["summary"]), turns=turns, options=dict(report.get("options") or {}),
                   warnings=[str(w) for w in report.get("warnings") or []])

    def plot(self, path=None, **kwargs):
        """Tone curves of both speakers with events shaded; returns the matplotlib Figure.

        Saved to ``path`` (.png, .svg or .pdf) when given.
        """
        from .report.plot import plot_analysis

        return plot_analysis(self, path=path, **kwargs)
