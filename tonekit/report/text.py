"""The terminal report: what a supervisor reads first."""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import unicodedata

from rich.console import Console
from rich.text import Text

from ._common import (ENTRAINMENT_FEATURES, curve_stories, deep_get, event_times, fmt_clock, fmt_num,
                      fmt_percent, fmt_seconds, fmt_text, fmt_tip, in_short, is_missing, kind_label, not_judged,
                      nothing_found, recalibration_text, sorted_events, tips_to_work_on, work_on_sentence)
from ._lang import evidence, language, note_text, speaker_name, t


def _terminal_safe(text: str) -> str:
    """Input strings with control characters shown as ``\\x1b``: a file name must not drive the terminal."""
    return "".join(f"\\x{ord(ch):02x}" if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)


def _use_color(color: bool | None) -> bool:
    if color is not None:
        return bool(color)
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def _call_lines(analysis) -> list[Text]:
    summary = analysis.summary or {}
    duration_s = analysis.duration_s if analysis.duration_s is not None else summary.get("duration_s")
    lines = [Text(t("Call length {clock} ({seconds})", clock=fmt_clock(duration_s), seconds=fmt_seconds(duration_s)))]
    talk = []
    for speaker in analysis.speakers or []:
        talk_s = deep_get(summary, "speakers", speaker, "talk_time_s")
        share = deep_get(summary, "speakers", speaker, "talk_share")
        talk.append(t("{speaker} {clock} ({seconds}, {share})", speaker=speaker_name(speaker),
                      clock=fmt_clock(talk_s), seconds=fmt_seconds(talk_s), share=fmt_percent(share)))
    pause_s = deep_get(summary, "silences", "total_s")
    if talk and not is_missing(pause_s):
        talk.append(t("pauses {clock} ({seconds}, {share})", clock=fmt_clock(pause_s), seconds=fmt_seconds(pause_s),
                      share=fmt_percent(deep_get(summary, "silences", "share"))))
    lines.append(Text(t("Talk time: {talk}", talk=t("; ").join(talk) if talk else t("n/a"))))
    lines.append(Text(t("Overlaps {count} ({seconds}), interruptions {interruptions}, long silences {silences} "
                        "({long} or more; longest pause {longest})",
                        count=fmt_tip(deep_get(summary, "overlaps", "count")),
                        seconds=fmt_seconds(deep_get(summary, "overlaps", "total_s")),
                        interruptions=fmt_tip(deep_get(summary, "interruptions", "count")),
                        silences=fmt_tip(deep_get(summary, "silences", "count")),
                        long=fmt_seconds((analysis.options or {}).get("long_silence_s", 5.0)),
                        longest=fmt_seconds(deep_get(summary, "silences", "longest_s")))))
    recal = recalibration_text(analysis.options)
    if recal:
        lines.append(Text(t("Models recalibrated for this population (tonekit recalibrate): {recal}", recal=recal)))
    return lines


def _tone_lines(analysis) -> list[Text]:
    lines = []
    for story in curve_stories(analysis):
        line = Text("  " + story.sentence())
        if story.improved is not None:
            style = "green" if story.improved else "bold red"
            line.highlight_words([story.trend], style=style)
        lines.append(line)
    return lines


def _entrainment_lines(analysis) -> list[Text]:
    lines = [Text("  " + t("(higher: closer in level, growing closer over the call, rising and falling together)"))]
    for key, name in ENTRAINMENT_FEATURES:
        measures = deep_get(analysis.summary or {}, "entrainment", key)
        lines.append(Text("  " + t("{name}: proximity {proximity}, convergence {convergence}, synchrony {synchrony}",
                                   name=t(name), proximity=fmt_num(deep_get(measures, "proximity")),
                                   convergence=fmt_num(deep_get(measures, "convergence")),
                                   synchrony=fmt_num(deep_get(measures, "synchrony")))))
    return lines


def event_line(event, *, times_width: int = 0, tip_width: int = 0) -> str:
    """One event as shown in the text report.

    Parameters
    ----------
    event : mapping
        A row of the events table (``start_s, end_s, tip, kind, speaker, severity, evidence``).
    times_width, tip_width : int, keyword-only
        Columns to pad the times and the tip number to (characters), so that a list of events lines up.

    Returns
    -------
    str
        ``m:ss–m:ss  tip N  kind in words (speaker, severity s): evidence`` (:data:`KIND_LABELS`).

    Examples
    --------
    >>> event_line({"start_s": 12.0, "end_s": 14.5, "tip": 1, "kind": "interruption",
    ...             "speaker": "agent", "severity": 0.8, "evidence": "Agent cut in."})
    '0:12–0:14  tip 1  talked over the caller (agent, severity 0.80): Agent cut in.'
    >>> event_line({"start_s": 12.0, "end_s": 14.5, "tip": 1, "kind": "interruption"}, tip_width=2)[:41]
    '0:12–0:14  tip 1   talked over the caller'
    """
    kind = _terminal_safe(kind_label(event.get("kind"))) or t("n/a")
    speaker = _terminal_safe(speaker_name(fmt_text(event.get("speaker")))) or t("n/a")
    said = _terminal_safe(evidence(fmt_text(event.get("evidence"))))
    line = t("{times}  tip {tip}  {kind} ({speaker}, severity {severity})",
             times=f"{event_times(event):<{times_width}}", tip=f"{fmt_tip(event.get('tip')):<{tip_width}}",
             kind=kind, speaker=speaker, severity=fmt_num(event.get("severity")))
    return t("{line}: {evidence}", line=line, evidence=said) if said else line


def _event_lines(analysis) -> list[Text]:
    events = sorted_events(analysis.events).to_dict(orient="records")
    if len(events) == 0:
        return [Text("  " + t("none", key="no events"))]
    times = [event_times(e) for e in events]
    widths = {"times_width": max(map(len, times)), "tip_width": max(len(fmt_tip(e.get("tip"))) for e in events)}
    lines = []
    for event, when in zip(events, times):
        line = Text("  " + event_line(event, **widths))
        line.stylize("bold", 2, 2 + len(when))
        lines.append(line)
    return lines


def _work_on_lines(analysis) -> list[Text]:
    tips = tips_to_work_on(analysis.events)
    unjudged = not_judged(analysis)
    if not tips:
        lines = [Text("  " + nothing_found(analysis), style=None if unjudged else "green")]
    else:
        lines = [Text("  • " + work_on_sentence(*tip)) for tip in tips]
    return lines + ([Text("  " + unjudged)] if unjudged else [])


def _note_lines(analysis) -> list[Text]:
    """The analysis's warnings on its audio (music on hold, tones, echo, noise ...), or nothing."""
    notes = getattr(analysis, "warnings", None) or []
    if not notes:
        return []
    return [Text(""), _heading(t("Notes on the audio"))] + [Text("  • " + _terminal_safe(note_text(fmt_text(n))))
                                                         for n in notes]


def render_text(analysis, *, color: bool | None = None, width: int | None = None, lang: str = "en") -> str:
    """The tone report of one call for a terminal.

    Parameters
    ----------
    analysis : tonekit.Analysis
        The analysed call.
    color : bool or None, keyword-only
        Style with ANSI colours (via rich). None: only when stdout is a
        terminal and ``NO_COLOR`` is unset. False: plain text, no escape codes.
    width : int or None, keyword-only
        Wrap lines at this many characters. None: no wrapping for plain text,
        the terminal's width for colour.
    lang : {"en", "fr"}, keyword-only
        The report's language: English, or French (decimal commas).

    Returns
    -------
    str
        The report, ending with a newline: call length and talk times, each
        speaker's tone at the start, worst point and end, the events in time
        order and what to work on, tip by tip; then entrainment, and what was
        found in the audio and left out of the speech (notes), if anything.

    Examples
    --------
    >>> print(render_text(analysis, color=False))  # doctest: +SKIP
    tonekit report: call.wav
    Call length 1:00 (60.0 s)
    ...
    """
    color = _use_color(color)
    if width is None and color:
        width = shutil.get_terminal_size().columns
    with language(lang):
        lines = [Text(t("tonekit report: {source}", source=_terminal_safe(fmt_text(analysis.source))), style="bold")]
        lines += _call_lines(analysis)
        lines += [Text(""), _heading(t("In short"))] + [Text("  " + line) for line in in_short(analysis)]
        lines += [Text(""), _heading(t("Tone over the call"))] + _tone_lines(analysis)
        n_events = 0 if analysis.events is None else len(analysis.events)
        lines += [Text(""), _heading(t("Events ({count})", count=n_events))] + _event_lines(analysis)
        lines += [Text(""), _heading(t("What to work on"))] + _work_on_lines(analysis)
        # the finer measure, after what a supervisor acts on
        lines += [Text(""), _heading(t("Entrainment (agent and caller)"))] + _entrainment_lines(analysis)
        lines += _note_lines(analysis)

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, width=width or 10_000,
                      highlight=False, emoji=False, markup=False, legacy_windows=False)
    for line in lines:
        if width is None:
            console.print(line, soft_wrap=True)
            continue
        for part in _hanging(line, console, width):
            console.print(part, soft_wrap=True)
    return "\n".join(row.rstrip() for row in buffer.getvalue().splitlines()) + "\n"


#: The lead of an item line that its wrapped continuation lines are indented to: a list item's bullet, or an
#: event's times and tip, in either language (so the text of an event or a tip stands in a column of its own).
_LEAD = re.compile(r"^( +(?:• |\S+ +(?:tip|conseil) \S+ +)?)")


def _hanging(line: Text, console, width: int) -> list:
    """``line`` wrapped at ``width`` with its continuation lines indented under its text (a hanging indent);
    a line that fits, or has no lead, as it is."""
    if len(line.plain) <= width:
        return [line]
    lead = _LEAD.match(line.plain)
    indent = len(lead.group(1)) if lead else 0
    if indent == 0 or indent > width // 2:
        return list(line.wrap(console, width))
    first = line.wrap(console, width)[0]
    cut = len(first.plain.rstrip())   # the first row at full width; the rest below the lead, narrower
    rest = line[cut:]
    rest = rest[len(rest.plain) - len(rest.plain.lstrip()):]
    return [first] + [Text(" " * indent) + part for part in rest.wrap(console, width - indent)]
