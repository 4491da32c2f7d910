"""Files for other tools: Praat TextGrids and CSV / Parquet tables."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import ParameterError
from ._common import fmt_text, fmt_tip, is_missing, sorted_events

#: Table formats :func:`write_table` writes, by extension.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet"}
#: An event shorter than this (or of zero length) is widened to it: Praat
#: intervals must have xmin < xmax.
MIN_EVENT_S = 0.01
SPEECH_LABEL = "speech"


def _number(value: float) -> str:
    # Praat reads any float notation; 15 significant digits keep times exact enough.
    return format(float(value), ".15g")


def _praat_string(text: str) -> str:
    """A Praat string literal: double quotes doubled, line breaks made spaces."""
    return '"' + " ".join(str(text).splitlines()).replace('"', '""') + '"'


def _fill(spans, duration_s: float) -> list[tuple[float, float, str]]:
    """Sorted, non-overlapping labelled spans -> intervals covering 0..duration_s with empty gaps."""
    intervals = []
    cursor_s = 0.0
    for start_s, end_s, label in spans:
        if start_s > cursor_s:
            intervals.append((cursor_s, start_s, ""))
        intervals.append((start_s, end_s, label))
        cursor_s = end_s
    if cursor_s < duration_s:
        intervals.append((cursor_s, duration_s, ""))
    return intervals


def _clip(start_s, end_s, duration_s: float):
    if is_missing(start_s) or is_missing(end_s):
        return None
    start_s, end_s = max(0.0, float(start_s)), min(duration_s, float(end_s))
    return (start_s, end_s) if end_s > start_s else None


def _speech_spans(turns: pd.DataFrame | None, speaker: str, duration_s: float):
    """One speaker's turns, clipped to the call, with overlapping or touching turns merged."""
    if turns is None or not len(turns) or not {"speaker", "start_s", "end_s"} <= set(turns.columns):
        return []
    rows = turns[turns["speaker"] == speaker]
    clipped = sorted(filter(None, (_clip(s, e, duration_s) for s, e in zip(rows["start_s"], rows["end_s"]))))
    merged: list[list[float]] = []
    for start_s, end_s in clipped:
        if merged and start_s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_s)
        else:
            merged.append([start_s, end_s])
    return [(start_s, end_s, SPEECH_LABEL) for start_s, end_s in merged]


def event_label(event) -> str:
    """``"tip9:upbeat_vs_angry"`` for one event row."""
    return f"tip{fmt_tip(event.get('tip'))}:{fmt_text(event.get('kind')) or 'event'}"


def _event_tiers(events: pd.DataFrame | None, duration_s: float) -> list[list[tuple[float, float, str]]]:
    """Events spread over as few tiers as possible so that none overlap within a tier.

    Each event stays one whole interval; an event that overlaps an earlier one
    goes to the next tier down (greedy by start time, which needs the fewest tiers).
    """
    levels: list[list[tuple[float, float, str]]] = []
    for event in sorted_events(events).to_dict(orient="records"):
        start_s, end_s = event.get("start_s"), event.get("end_s")
        if is_missing(start_s) or is_missing(end_s):
            continue
        start_s, end_s = float(start_s), float(end_s)
        if end_s - start_s < MIN_EVENT_S:
            end_s = start_s + MIN_EVENT_S
            if end_s > duration_s:
                start_s, end_s = duration_s - MIN_EVENT_S, duration_s
        span = _clip(start_s, end_s, duration_s)
        if span is None:
            continue
        for level in levels:
            if span[0] >= level[-1][1]:
                level.append((*span, event_label(event)))
                break
        else:
            levels.append([(*span, event_label(event))])
    return levels or [[]]


def _duration_s(analysis) -> float:
    duration_s = analysis.duration_s
    if is_missing(duration_s) or float(duration_s) <= 0:
        raise ParameterError(f"{analysis.source}: cannot write a TextGrid for a call of duration "
                             f"{duration_s!r}; the duration must be a positive number of seconds")
    return float(duration_s)


def to_textgrid(analysis, path) -> Path:
    """Write the call as a Praat TextGrid (long text format, UTF-8).

    Interval tiers: ``agent`` and ``caller`` (turns labelled ``speech``, the
    rest empty) and ``events`` (labelled ``tip9:upbeat_vs_angry``). Events
    that overlap go to extra tiers ``events 2``, ``events 3``, ... so every
    event stays one interval and every tier covers the call without gaps or
    overlaps. Times outside the call are clipped to it.

    Parameters
    ----------
    analysis : tonekit.Analysis
        The analysed call; ``duration_s`` must be positive.
    path : str or pathlib.Path
        The ``.TextGrid`` file to write.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> to_textgrid(analysis, "call.TextGrid")  # doctest: +SKIP
    >>> import parselmouth; parselmouth.read("call.TextGrid")  # doctest: +SKIP
    """
    duration_s = _duration_s(analysis)
    tiers = [(speaker, _fill(_speech_spans(analysis.turns, speaker, duration_s), duration_s))
             for speaker in (analysis.speakers or ["agent", "caller"])]
    for index, level in enumerate(_event_tiers(analysis.events, duration_s)):
        tiers.append(("events" if index == 0 else f"events {index + 1}", _fill(level, duration_s)))

    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             "xmin = 0 ", f"xmax = {_number(duration_s)} ", "tiers? <exists> ", f"size = {len(tiers)} ",
             "item []: "]
    for tier_number, (name, intervals) in enumerate(tiers, start=1):
        lines += [f"    item [{tier_number}]:", '        class = "IntervalTier" ',
                  f"        name = {_praat_string(name)} ", "        xmin = 0 ",
                  f"        xmax = {_number(duration_s)} ", f"        intervals: size = {len(intervals)} "]
        for number, (start_s, end_s, label) in enumerate(intervals, start=1):
            lines += [f"        intervals [{number}]:", f"            xmin = {_number(start_s)} ",
                      f"            xmax = {_number(end_s)} ", f"            text = {_praat_string(label)} "]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_table(table: pd.DataFrame, path) -> Path:
    """Write a table (frames, windows, events, ...) as CSV or Parquet, chosen by the extension.

    Parameters
    ----------
    table : pandas.DataFrame
        The table; its index is not written (tonekit tables are tidy).
    path : str or pathlib.Path
        Ends in ``.csv`` (UTF-8, comma-separated, NaN as an empty field) or ``.parquet``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    tonekit.errors.ParameterError
        For any other extension.

    Examples
    --------
    >>> write_table(analysis.windows, "windows.parquet")  # doctest: +SKIP
    """
    path = Path(path)
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParameterError(f"{path}: cannot write a table as '{path.suffix or '(no extension)'}'; "
                             f"use one of {', '.join(TABLE_FORMATS)}")
    if fmt == "csv":
        table.to_csv(path, index=False, encoding="utf-8")
    else:
        table.to_parquet(path, index=False)
    return path
