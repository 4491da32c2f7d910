"""Tone curves of both speakers with speech activity and events: the one module that uses matplotlib.

matplotlib is imported inside the functions, so ``import tonekit`` stays fast
and works without it. Figures are built with :class:`matplotlib.figure.Figure`
and the Agg canvas rather than pyplot: no backend is chosen, no display is
needed and no figure is kept in pyplot's global registry.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._common import CURVES, CurveSpec, fmt_clock, fmt_text, fmt_tip, is_missing, sorted_events
from ._lang import decimal, language, speaker_name, t

#: File formats :func:`plot_analysis` writes, by extension.
PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: How each curve of ``_common.CURVES`` is drawn: colours of the Okabe-Ito palette, which stay apart with
#: every common colour-vision deficiency (the caller's and the agent's anger, which tip 8 compares, most of
#: all), and distinct line styles and markers, so the plot reads in black and white too.
CURVE_STYLES = {
    ("caller", "anger"): {"color": "#d55e00", "linestyle": "-", "marker": "o"},
    ("agent", "calm"): {"color": "#0072b2", "linestyle": "--", "marker": "s"},
    ("agent", "warmth"): {"color": "#e69f00", "linestyle": ":", "marker": "^"},
    ("agent", "anger"): {"color": "#cc79a7", "linestyle": "-.", "marker": "v", "linewidth": 1.2},
}
#: The curves drawn: the reports' three, and the agent's anger, thinner, which tip 8's mirrored anger is
#: judged on (its evidence quotes it).
PLOTTED_CURVES = (*CURVES, CurveSpec("agent", "anger", "peak", rise_words="", fall_words=""))
#: Speech bars: (y position, colour) per speaker, below the 0..1 score range.
SPEECH_BARS = {"agent": (-0.14, "#4d4d4d"), "caller": (-0.28, "#9a9a9a")}
SPEECH_BAR_HEIGHT = 0.09
EVENT_HATCHES = {1: "//", 7: "\\\\", 8: "xx", 9: "..", 12: "--"}
EVENT_COLOR = "#7f7f7f"
#: At most this many markers per curve, so long calls stay legible.
MAX_MARKERS = 40
#: Tick spacings that read well as m:ss, in seconds; at most MAX_TICKS ticks.
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_TICKS = 13
#: Rows of "tip N" labels above the axes; a label that would collide in all rows shares the least full one.
MAX_LABEL_ROWS = 3
#: Approximate width of a "tip 12" label, in inches.
LABEL_WIDTH_IN = 0.4
#: Figure width (inches) up to ``BASE_MINUTES`` of call; a longer call gets ``INCH_PER_MINUTE`` more per
#: minute, up to ``MAX_WIDTH_IN``, so its curves and event labels keep their room.
BASE_WIDTH_IN, BASE_MINUTES, INCH_PER_MINUTE, MAX_WIDTH_IN = 10.0, 5.0, 1.0, 30.0


def figure_width_in(duration_s: float) -> float:
    """Width of a call's figure (inches): 10 up to 5 minutes, then 1 more per minute, at most 30.

    >>> figure_width_in(90.0), figure_width_in(22 * 60.0), figure_width_in(7200.0)
    (10.0, 27.0, 30.0)
    """
    minutes = max(0.0, float(duration_s) / 60.0) if np.isfinite(duration_s) else 0.0
    return float(min(MAX_WIDTH_IN, BASE_WIDTH_IN + INCH_PER_MINUTE * max(0.0, minutes - BASE_MINUTES)))
PNG_DPI = 120


def _plot_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        allowed = ", ".join(PLOT_FORMATS)
        raise ParameterError(f"{path}: cannot write a plot as '{suffix or '(no extension)'}'; "
                             f"use one of {allowed}")
    return PLOT_FORMATS[suffix]


def _duration_s(analysis) -> float:
    if not is_missing(analysis.duration_s) and float(analysis.duration_s) > 0:
        return float(analysis.duration_s)
    ends = [0.0]
    for table in (analysis.windows, analysis.turns, analysis.events):
        if table is not None and "end_s" in table.columns and len(table):
            end_s = pd.to_numeric(table["end_s"], errors="coerce").max()
            if not is_missing(end_s):
                ends.append(float(end_s))
    return max(ends) or 1.0


def _event_levels(starts_s, ends_s, *, max_levels=None) -> list[int]:
    """Greedy interval colouring: the lowest level whose last span ended before this one starts.

    With ``max_levels``, a span that fits nowhere goes to the level that frees up first.
    """
    level_ends_s: list[float] = []
    levels = []
    for start_s, end_s in zip(starts_s, ends_s):
        free = [level for level, level_end_s in enumerate(level_ends_s) if start_s >= level_end_s]
        if free:
            level = free[0]
        elif max_levels is None or len(level_ends_s) < max_levels:
            level_ends_s.append(end_s)
            level = len(level_ends_s) - 1
        else:
            level = int(np.argmin(level_ends_s))
        level_ends_s[level] = max(level_ends_s[level], end_s)
        levels.append(level)
    return levels


def _tick_step_s(duration_s: float) -> float:
    return next((step for step in TICK_STEPS_S if duration_s / step <= MAX_TICKS - 1),
                float(np.ceil(duration_s / (MAX_TICKS - 1) / 3600) * 3600))


def _draw(ax, analysis) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator
    from matplotlib.transforms import blended_transform_factory

    duration_s = _duration_s(analysis)
    handles = []

    windows = analysis.windows
    for spec in PLOTTED_CURVES:
        style = {"linewidth": 2.0, **CURVE_STYLES[(spec.speaker, spec.measure)]}
        label = spec.label
        if windows is None or spec.measure not in windows.columns or not len(windows):
            x_s, y = np.array([]), np.array([])
        else:
            rows = windows[windows["speaker"] == spec.speaker]
            x_s = ((pd.to_numeric(rows["start_s"], errors="coerce")
                    + pd.to_numeric(rows["end_s"], errors="coerce")) / 2).to_numpy(dtype=float)
            y = pd.to_numeric(rows[spec.measure], errors="coerce").to_numpy(dtype=float)
            order = np.argsort(x_s, kind="stable")
            x_s, y = x_s[order], y[order]
        markevery = max(1, int(np.ceil(len(x_s) / MAX_MARKERS)))
        (line,) = ax.plot(x_s, y, label=label, markersize=4.5, markevery=markevery, **style)
        handles.append(line)

    turns = analysis.turns
    for speaker, (y_bar, colour) in SPEECH_BARS.items():
        spans = []
        if turns is not None and len(turns) and {"speaker", "start_s", "end_s"} <= set(turns.columns):
            rows = turns[turns["speaker"] == speaker]
            for start_s, end_s in zip(pd.to_numeric(rows["start_s"], errors="coerce"),
                                      pd.to_numeric(rows["end_s"], errors="coerce")):
                if not (is_missing(start_s) or is_missing(end_s)) and end_s > start_s:
                    spans.append((float(start_s), float(end_s - start_s)))
        ax.broken_barh(spans, (y_bar - SPEECH_BAR_HEIGHT / 2, SPEECH_BAR_HEIGHT), facecolors=colour)
        handles.append(Patch(facecolor=colour, label=t("{speaker} speaking", speaker=speaker_name(speaker))))

    events = sorted_events(analysis.events)
    levels: list[int] = []
    if len(events):
        label_transform = blended_transform_factory(ax.transData, ax.transAxes)
        starts_s = pd.to_numeric(events["start_s"], errors="coerce").to_numpy(dtype=float)
        ends_s = pd.to_numeric(events["end_s"], errors="coerce").to_numpy(dtype=float)
        # An event of zero length still gets a visible sliver.
        min_width_s = duration_s / 400
        ends_s = np.where(ends_s - starts_s < min_width_s, starts_s + min_width_s, ends_s)
        valid = np.isfinite(starts_s) & np.isfinite(ends_s)
        width_in = float(ax.figure.get_size_inches()[0] * ax.get_position().width) or BASE_WIDTH_IN
        # a label in another language is wider in proportion ("conseil 12")
        label_in = LABEL_WIDTH_IN * len(t("tip {tip}", tip=12)) / len("tip 12")
        label_ends_s = starts_s[valid] + label_in / width_in * duration_s
        levels = _event_levels(starts_s[valid], label_ends_s, max_levels=MAX_LABEL_ROWS)
        for (start_s, end_s, tip), level in zip(
                zip(starts_s[valid], ends_s[valid], events["tip"][valid]), levels):
            tip_number = None if is_missing(tip) else int(float(tip))
            ax.axvspan(start_s, end_s, facecolor=EVENT_COLOR, alpha=0.18, edgecolor=EVENT_COLOR,
                       hatch=EVENT_HATCHES.get(tip_number, "++"), linewidth=0.0, zorder=0)
            for x_s in (start_s, end_s):   # its edges drawn: two events side by side stay two
                ax.axvline(x_s, color=EVENT_COLOR, linewidth=0.6, alpha=0.7, zorder=0)
            ax.text(start_s, 1.01 + 0.05 * level, t("tip {tip}", tip=fmt_tip(tip)), transform=label_transform,
                    fontsize=7.5, ha="left", va="bottom", clip_on=False, parse_math=False)
        handles.append(Patch(facecolor=EVENT_COLOR, alpha=0.3, hatch="//", label=t("event (tip)")))

    ax.set_xlim(0, duration_s)
    ax.set_ylim(-0.36, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0] + [y for y, _ in SPEECH_BARS.values()])
    ax.set_yticklabels([decimal(v) for v in ("0", "0.25", "0.5", "0.75", "1")]
                       + [t("{speaker} speech", speaker=speaker_name(s)) for s in SPEECH_BARS])
    for level in (0.25, 0.75, 1.0):  # a grid for the scores only, not through the speech bars
        ax.axhline(level, color="#eeeeee", linewidth=0.8, zorder=0)
    # even odds, where a score says more yes than no (the matcher's anger thresholds sit about it)
    ax.axhline(0.5, color="#8a8a8a", linewidth=0.9, linestyle=(0, (4, 3)), zorder=0)
    ax.axhline(0, color="#bbbbbb", linewidth=0.8, zorder=0)
    ax.xaxis.set_major_locator(MultipleLocator(_tick_step_s(duration_s)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x_s, _pos: fmt_clock(x_s)))
    ax.set_xlabel(t("time in the call (m:ss)"))
    ax.set_ylabel(t("score (0 not at all, 1 clearly)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8,
              frameon=False)
    levels_used = 1 + max(levels, default=0)
    ax.set_title(fmt_text(analysis.source), fontsize=10, loc="left", parse_math=False,
                 pad=6 + 12 * levels_used)


def plot_analysis(analysis, path=None, *, ax=None, lang: str | None = None):
    """Plot caller anger, agent calm, agent warmth and agent anger over the call, with who speaks when and the
    events.

    Parameters
    ----------
    analysis : tonekit.Analysis
        The analysed call.
    path : str or pathlib.Path, optional
        Also save the figure here; the format follows the extension
        (``.png``, ``.svg`` or ``.pdf``).
    ax : matplotlib.axes.Axes, optional, keyword-only
        Draw into these axes instead of a new figure.
    lang : {"en", "fr"} or None, keyword-only
        The labels' language: English, or French; None: the language of the
        report being rendered (English outside one).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not registered with pyplot).

    Raises
    ------
    tonekit.errors.ParameterError
        When ``path`` has another extension.

    Examples
    --------
    >>> fig = plot_analysis(analysis, "call.png")  # doctest: +SKIP
    """
    fmt = None if path is None else _plot_format(path)  # validate before any drawing
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(figure_width_in(_duration_s(analysis)), 4.8), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    with language(lang):
        _draw(ax, analysis)
    if path is not None:
        _save(fig, path, fmt)
    return fig


def _save(fig, target, fmt: str) -> None:
    # Fixed metadata and hash salt: the same analysis gives the same bytes.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}.get(fmt)
    from matplotlib import rc_context

    with rc_context({"svg.hashsalt": "tonekit", "svg.fonttype": "path"}):
        fig.savefig(target, format=fmt, dpi=PNG_DPI, metadata=metadata)


def plot_svg(analysis, *, lang: str | None = None) -> str:
    """The plot of :func:`plot_analysis` as an SVG document (text is drawn as paths, no fonts needed).

    Parameters
    ----------
    analysis : tonekit.Analysis
        The analysed call.

    Returns
    -------
    str
        A standalone SVG document.

    Examples
    --------
    >>> svg = plot_svg(analysis)  # doctest: +SKIP
    >>> svg.lstrip().startswith("<?xml")  # doctest: +SKIP
    True
    """
    fig = plot_analysis(analysis, lang=lang)
    buffer = io.StringIO()
    _save(fig, buffer, "svg")
    return buffer.getvalue()
