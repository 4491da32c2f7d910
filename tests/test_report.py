"""The reporting layer: text, HTML, plot and exports of one hand-built call."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tonekit.analysis import EVENT_COLUMNS, FRAME_COLUMNS, SEGMENT_COLUMNS, WINDOW_COLUMNS, Analysis
from tonekit.errors import ParameterError
from tonekit.report import plot_analysis, plot_svg, render_html, render_text, to_textgrid, write_table
from tonekit.report.plot import CURVE_STYLES

ANSI = re.compile(r"\x1b\[")
N_WINDOWS = 58  # 3 s windows every 1 s over a 60 s call
SOURCE = "<script>alert(1)</script>.wav"


def _windows() -> pd.DataFrame:
    """Known curves: caller anger falls 0.82 -> 0.21 with a 0.91 peak at 0:41; agent calm dips to
    0.40 at 0:21 and ends at 0.90; agent warmth is 0.60 but 0.35 at 0:11 and unscored at the end.
    Each curve is flat over its first and last 10 scored windows, the edges the reports average."""
    start_s = np.arange(N_WINDOWS, dtype=float)
    i = np.arange(N_WINDOWS)
    anger = np.round(np.interp(i, [2, 11, 48, 57], [0.82, 0.82, 0.21, 0.21]), 2)
    anger[:2] = np.nan  # caller not speaking yet
    anger[40] = 0.91
    calm = np.round(np.interp(i, [0, 9, 48, 57], [0.70, 0.70, 0.90, 0.90]), 2)
    calm[20] = 0.40
    warmth = np.full(N_WINDOWS, 0.60)
    warmth[10] = 0.35
    warmth[-3:] = np.nan
    rows = []
    for speaker in ("agent", "caller"):
        is_agent = speaker == "agent"
        for i in range(N_WINDOWS):
            rows.append({"speaker": speaker, "start_s": start_s[i], "end_s": start_s[i] + 3.0, "speech_s": 2.0,
                         "f0_st_mean": 0.25 * (i % 5), "f0_st_std": 1.5, "f0_st_range": 4.0,
                         "intensity_db_mean": -1.0 + 0.1 * (i % 7), "rate_syl_s": 4.5, "pause_ratio": 0.2,
                         "smile_cue": 0.1 if is_agent else -0.2,
                         "anger": 0.1 if is_agent else anger[i],
                         "calm": calm[i] if is_agent else 0.3,
                         "warmth": warmth[i] if is_agent else 0.2})
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def _events() -> pd.DataFrame:
    # Deliberately not in time order; tips 9 and 8 overlap (33-36 s).
    return pd.DataFrame([
        {"start_s": 30.0, "end_s": 36.0, "tip": 9, "kind": "upbeat_vs_angry", "speaker": "agent", "severity": 0.7,
         "evidence": "caller anger 0.86 while agent warmth 0.91 and pitch +3.2 st"},
        {"start_s": 12.0, "end_s": 14.5, "tip": 1, "kind": "interruption", "speaker": "agent", "severity": 0.8,
         "evidence": "agent started 2.5 s before the caller finished"},
        {"start_s": 33.0, "end_s": 40.0, "tip": 8, "kind": "escalation", "speaker": "agent", "severity": 0.55,
         "evidence": "agent intensity +6.1 dB and rate +1.2 syl/s over 7 s"},
    ], columns=EVENT_COLUMNS)


def _turns() -> pd.DataFrame:
    return pd.DataFrame([("agent", 0.0, 4.0), ("caller", 4.5, 14.5), ("agent", 12.0, 20.0), ("caller", 20.5, 36.0),
                         ("agent", 36.0, 45.0), ("caller", 45.5, 50.0), ("agent", 50.0, 58.0)],
                        columns=SEGMENT_COLUMNS)


def _summary() -> dict:
    return {
        "duration_s": 60.0,
        "speakers": {
            "agent": {"talk_time_s": 25.0, "talk_share": 0.4167, "f0_hz_median": 210.3, "intensity_db_median": 62.1,
                      "rate_syl_s_mean": 4.6, "anger_mean": 0.1, "calm_mean": 0.79, "warmth_mean": 0.59},
            "caller": {"talk_time_s": 30.0, "talk_share": 0.5, "f0_hz_median": float("nan"),
                       "intensity_db_median": None, "rate_syl_s_mean": 5.1, "anger_mean": 0.55, "calm_mean": 0.3,
                       "warmth_mean": 0.2},
        },
        "overlaps": {"count": 1, "total_s": 2.5},
        "interruptions": {"count": 1},
        "silences": {"count": 1, "longest_s": 2.0},
        "caller_anger": {"start": 0.81, "end": 0.22, "change": -0.59},
        "entrainment": {"f0": {"proximity": 0.42, "convergence": None, "synchrony": 0.31},
                        "intensity": {"proximity": 0.65, "convergence": 0.12, "synchrony": 0.5},
                        "rate": {"proximity": 0.2, "convergence": -0.05, "synchrony": float("nan")}},
        "events_per_tip": {"1": 1, "7": 0, "8": 1, "9": 1, "12": 0},
    }


@pytest.fixture
def analysis() -> Analysis:
    """A 60 s call with known tone curves, turns and three events."""
    return Analysis(source=SOURCE, duration_s=60.0, speakers=["agent", "caller"],
                    frames=pd.DataFrame(columns=FRAME_COLUMNS), windows=_windows(), events=_events(),
                    summary=_summary(), turns=_turns())


@pytest.fixture
def empty_analysis() -> Analysis:
    """A call where nothing could be measured: no windows, no events, a summary full of None."""
    summary = {"duration_s": None, "speakers": {"agent": None, "caller": {"talk_time_s": None}},
               "overlaps": None, "entrainment": {"f0": None}, "events_per_tip": {}}
    return Analysis(source="silent.wav", duration_s=20.0, speakers=["agent", "caller"],
                    frames=pd.DataFrame(columns=FRAME_COLUMNS), windows=pd.DataFrame(columns=WINDOW_COLUMNS),
                    events=pd.DataFrame(columns=EVENT_COLUMNS), summary=summary)


# ---------------------------------------------------------------- text

def test_text_call_lines(analysis):
    lines = render_text(analysis, color=False).splitlines()
    assert lines[:4] == [
        f"tonekit report: {SOURCE}",
        "Call length 1:00 (60.0 s)",
        "Talk time: agent 0:25 (25.0 s, 42%); caller 0:30 (30.0 s, 50%)",
        "Overlaps 1 (2.5 s), interruptions 1, long silences 1 (5.0 s or more; longest pause 2.0 s)",
    ]


def test_text_tone_start_peak_end(analysis):
    text = render_text(analysis, color=False)
    assert "  Caller anger: 0.82 at the start, peak 0.91 at 0:41, 0.21 at the end — calmed down\n" in text
    assert "  Agent calm: 0.70 at the start, low 0.40 at 0:21, 0.90 at the end — grew calmer\n" in text
    # The last three warmth windows are unscored: the end is the last scored one.
    assert "  Agent warmth: 0.60 at the start, low 0.35 at 0:11, 0.60 at the end — stayed high\n" in text


def test_edge_means_known_answers():
    from tonekit.analysis import edge_means

    # 49 scored windows: a quarter is 12, capped at 10 at each end
    values = [np.nan, 0.1] + [0.9] * 9 + [0.5] * 28 + [0.2] * 10 + [np.nan]
    assert edge_means(values) == pytest.approx((0.82, 0.2))
    assert edge_means([0.3, np.nan, 0.7]) == (0.3, 0.7)          # too short for more than one at each end
    assert all(np.isnan(edge_means([np.nan, np.nan])))


def test_one_odd_window_does_not_decide_the_start(analysis):
    """The curve sentence and the summary agree: a calm first window inside an angry opening is averaged out."""
    windows = analysis.windows.copy()
    first = windows.index[(windows.speaker == "caller") & windows.anger.notna()][0]
    windows.loc[first, "anger"] = 0.10   # the caller's first window reads calm; the next nine read 0.82
    text = render_text(dataclasses.replace(analysis, windows=windows), color=False)
    assert "  Caller anger: 0.75 at the start, peak 0.91 at 0:41, 0.21 at the end — calmed down\n" in text


def test_text_events_in_time_order(analysis):
    lines = render_text(analysis, color=False).splitlines()
    start = lines.index("Events (3)")
    assert lines[start + 1:start + 4] == [
        "  0:12–0:14  tip 1  talked over the caller (agent, severity 0.80): agent started 2.5 s before the caller "
        "finished",
        "  0:30–0:36  tip 9  upbeat to an angry caller (agent, severity 0.70): "
        "caller anger 0.86 while agent warmth 0.91 and pitch +3.2 st",
        "  0:33–0:40  tip 8  raised voice with the caller (agent, severity 0.55): agent intensity +6.1 dB and rate "
        "+1.2 syl/s over 7 s",
    ]


def test_text_events_line_up_whatever_the_tip_and_time(analysis):
    """Tip 12 beside tip 1, an event within one second beside longer ones: the kinds start in one column."""
    extra = pd.DataFrame([{"start_s": 50.0, "end_s": 58.1, "tip": 12, "kind": "long_silence", "speaker": "none",
                           "severity": 0.3, "evidence": "nobody spoke for 8.1 s"},
                          {"start_s": 43.2, "end_s": 43.8, "tip": 1, "kind": "interruption", "speaker": "agent",
                           "severity": 0.5, "evidence": "cut in"}])
    events = pd.concat([analysis.events, extra], ignore_index=True)
    lines = render_text(dataclasses.replace(analysis, events=events), color=False).splitlines()
    start = lines.index("Events (5)")
    shown = lines[start + 1:start + 6]
    assert [line[:22] for line in shown] == ["  0:12–0:14     tip 1 ", "  0:30–0:36     tip 9 ",
                                              "  0:33–0:40     tip 8 ", "  0:43 (0.6 s)  tip 1 ",
                                              "  0:50–0:58     tip 12"]
    assert {line.index(kind) for line, kind in zip(shown, ("talked over", "upbeat", "raised voice", "talked over",
                                                             "long silence"))} == {24}


def test_text_entrainment_with_missing_values(analysis):
    text = render_text(analysis, color=False)
    assert "  pitch: proximity 0.42, convergence n/a, synchrony 0.31\n" in text
    assert "  speaking rate: proximity 0.20, convergence -0.05, synchrony n/a\n" in text


def test_text_what_to_work_on_only_tips_with_events(analysis):
    """The tips to work on, after the events and before the finer entrainment measures."""
    lines = render_text(analysis, color=False).splitlines()
    assert lines.index("What to work on") < lines.index("Entrainment (agent and caller)")
    start = lines.index("What to work on")
    assert lines[start + 1:lines.index("Entrainment (agent and caller)") - 1] == [
        "  • Tip 1 — Don't interrupt: let the caller finish before you answer (once: 0:12).",
        "  • Tip 8 — Stay calm: keep a calm, even voice, even when the caller is not (once: 0:33).",
        "  • Tip 9 — Adapt your tone: match the caller's mood instead of sounding upbeat to an upset caller "
        "(once: 0:30).",
    ]


def test_text_positive_line_without_events(analysis):
    calm_call = dataclasses.replace(analysis, events=pd.DataFrame(columns=EVENT_COLUMNS))
    lines = render_text(calm_call, color=False).splitlines()
    assert lines[lines.index("Events (0)") + 1] == "  none"
    assert lines[lines.index("What to work on") + 1:lines.index("Entrainment (agent and caller)") - 1] == [
        "  Nothing to work on: no interruptions, missing smiles, loss of calm, tone mismatches or long holds "
        "were found."]


def test_text_counts_repeated_tips(analysis):
    events = pd.concat([_events(), pd.DataFrame([{
        "start_s": 50.0, "end_s": 51.0, "tip": 1, "kind": "interruption", "speaker": "agent", "severity": 0.6,
        "evidence": "agent started 1.0 s before the caller finished"}])], ignore_index=True)
    text = render_text(dataclasses.replace(analysis, events=events), color=False)
    assert "  • Tip 1 — Don't interrupt: let the caller finish before you answer (2 times: 0:12, 0:50).\n" in text


def test_text_missing_values_render_as_na(empty_analysis):
    lines = render_text(empty_analysis, color=False).splitlines()
    assert lines[1:4] == ["Call length 0:20 (20.0 s)",
                          "Talk time: agent n/a (n/a, n/a); caller n/a (n/a, n/a)",
                          "Overlaps n/a (n/a), interruptions n/a, long silences n/a (5.0 s or more; longest pause n/a)"]
    assert "  Caller anger: n/a (too little speech to score)" in lines
    assert "  pitch: proximity n/a, convergence n/a, synchrony n/a" in lines
    assert lines[lines.index("Entrainment (agent and caller)") + 1].startswith("  (higher: closer in level,")


def test_text_plain_has_no_ansi_codes(analysis):
    assert not ANSI.search(render_text(analysis, color=False))


def test_text_color_uses_ansi_codes(analysis):
    text = render_text(analysis, color=True, width=200)
    assert ANSI.search(text)
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == render_text(analysis, color=False)


def test_text_color_none_is_plain_when_not_a_terminal(analysis, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert not ANSI.search(render_text(analysis))


def test_text_no_color_env_wins_over_a_terminal(analysis, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not ANSI.search(render_text(analysis))


def test_text_shows_control_characters_and_markup_literally(analysis):
    events = _events()
    events.loc[1, "evidence"] = "[bold]loud[/bold]\x1b[2J"
    nasty = dataclasses.replace(analysis, source="a\x1b[31mb\nc.wav", events=events)
    for color in (False, True):
        text = render_text(nasty, color=color, width=200)
        assert "\x1b[31m" not in text and "\x1b[2J" not in text
        assert "tonekit report: a\\x1b[31mb\\x0ac.wav" in text
        assert "agent, severity 0.80): [bold]loud[/bold]\\x1b[2J" in text


def test_text_wraps_at_width(analysis):
    lines = render_text(analysis, color=False, width=60).splitlines()
    assert max(len(line) for line in lines) == 60
    assert max(len(line) for line in render_text(analysis, color=False).splitlines()) > 100


def test_wrapped_events_and_tips_hang_under_their_text(analysis):
    """On a narrow terminal an event's text goes on under its own start (past its times and tip), a tip's
    under its words (past the bullet): the columns of times stay clear to scan. Nothing is lost."""
    import re

    wide = render_text(analysis, color=False).splitlines()
    narrow = render_text(analysis, color=False, width=60).splitlines()
    events = [ln for ln in wide if re.match(r"  \d+:\d\d–\d+:\d\d  tip ", ln)]
    assert events and any(len(ln) > 60 for ln in events)
    lead = len(re.match(r"( +\S+ +tip \S+ +)", events[0]).group(1))
    i = narrow.index(next(ln for ln in narrow if ln.startswith(events[0][:lead])))
    block = [narrow[i]] + [ln for ln in narrow[i + 1:i + 4] if ln.startswith(" " * lead) and ln[lead] != " "]
    assert len(block) > 1 and all(len(ln) <= 60 for ln in block)
    assert " ".join(ln.strip() for ln in block) == events[0].strip()
    tips = [ln for ln in narrow if ln.startswith("  • ")]
    wrapped = [narrow[narrow.index(t) + 1] for t in tips]
    wrapped = [ln for ln in wrapped if ln.strip() and not ln.startswith("  • ")]   # a tip's second line
    assert wrapped and all(ln.startswith("    ") and ln[4] != " " for ln in wrapped), wrapped
    assert " ".join(re.sub(r"\s+", " ", ln).strip() for ln in wide if ln.strip()).split() == \
        " ".join(re.sub(r"\s+", " ", ln).strip() for ln in narrow if ln.strip()).split()


# ---------------------------------------------------------------- html

def test_html_escapes_input_strings(analysis):
    events = _events()
    events.loc[0, "evidence"] = 'pitch <b>"high"</b> & loud'
    events.loc[1, "kind"] = "<i>cut</i>"
    page = render_html(dataclasses.replace(analysis, events=events))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.wav" in page
    assert "<title>Tone report: &lt;script&gt;alert(1)&lt;/script&gt;.wav</title>" in page
    assert "<td>pitch &lt;b&gt;&quot;high&quot;&lt;/b&gt; &amp; loud</td>" in page
    assert "<td>&lt;i&gt;cut&lt;/i&gt;</td>" in page
    assert "<b>" not in page and "<i>" not in page


def test_html_is_self_contained(analysis):
    page = render_html(analysis)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:|//)""", page, re.I)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(?!#)", page)  # only in-page references such as url(#clip1)
    assert page.count("<svg") == 1 and page.count("</svg>") == 1
    label = re.search(r'<svg role="img" aria-label="([^"]*)"', page).group(1)
    # what the chart shows, for a screen reader: its parts, the curves' stories and the moments to hear
    assert label.startswith("Tone curves over the call (caller anger, agent calm, agent warmth, agent anger), ")
    assert "Caller anger: " in label and "Listen back to 0:12 (tip 1)" in label
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")


def test_html_metadata_and_events_table(analysis):
    import tonekit

    page = render_html(analysis)
    assert "<dt>Duration</dt><dd>1:00 (60.0 s)</dd>" in page
    assert f"<dt>tonekit version</dt><dd>{tonekit.__version__}</dd>" in page
    rows = re.findall(r"<tr><td><span class=\"time\">([^<]*)</span></td><td class=\"num\">(\d+)</td><td>([^<]*)</td>",
                      page)
    assert rows == [("0:12–0:14", "1", "talked over the caller"), ("0:30–0:36", "9", "upbeat to an angry caller"),
                    ("0:33–0:40", "8", "raised voice with the caller")]
    assert "<h2>Events (3)</h2>" in page


def test_html_summary_and_entrainment(analysis):
    page = render_html(analysis)
    assert ('<tr><td>Pitch</td><td class="num">0.42</td><td class="num">n/a</td>'
            '<td class="num">0.31</td></tr>') in page
    assert ('<tr><td>Speaking rate</td><td class="num">0.20</td><td class="num">-0.05</td>'
            '<td class="num">n/a</td></tr>') in page
    assert '<tr><td>Median pitch</td><td class="num">210 Hz</td><td class="num">n/a</td></tr>' in page
    assert '<tr><td>Change in caller anger</td><td class="num">-0.59</td></tr>' in page
    assert "<li>Caller anger: 0.82 at the start, peak 0.91 at 0:41, 0.21 at the end — " \
           '<span class="good">calmed down</span></li>' in page


def test_html_is_reproducible(analysis):
    assert render_html(analysis) == render_html(analysis)


def test_html_with_missing_values(empty_analysis):
    page = render_html(empty_analysis)
    assert "<h2>Events (0)</h2>" in page and '<p class="none">No events.</p>' in page
    assert '<tr><td>Talk time</td><td class="num">n/a</td><td class="num">n/a</td></tr>' in page


# ---------------------------------------------------------------- plot

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".svg": b"<?xml", ".pdf": b"%PDF-"}


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".PNG"])
def test_plot_writes_by_extension(analysis, tmp_path, suffix):
    path = tmp_path / f"call{suffix}"
    plot_analysis(analysis, path)
    assert path.read_bytes().startswith(MAGIC[suffix.lower()])


@pytest.mark.parametrize("name", ["call.jpg", "call", "call.png.txt"])
def test_plot_rejects_other_extensions(analysis, tmp_path, name):
    path = tmp_path / name
    with pytest.raises(ParameterError, match=r"use one of \.png, \.svg, \.pdf$"):
        plot_analysis(analysis, path)
    assert not path.exists()


def test_plot_draws_curves_speech_and_events(analysis):
    from matplotlib.collections import PolyCollection  # what broken_barh returns (or a subclass of it)

    fig = plot_analysis(analysis)
    ax = fig.axes[0]
    styles = {line.get_label(): (line.get_linestyle(), line.get_marker()) for line in ax.get_lines()
              if not line.get_label().startswith("_")}
    assert styles == {"Caller anger": ("-", "o"), "Agent calm": ("--", "s"), "Agent warmth": (":", "^"),
                      "Agent anger": ("-.", "v")}
    agent_anger = next(line for line in ax.get_lines() if line.get_label() == "Agent anger")
    assert set(agent_anger.get_ydata()) == {0.1} and agent_anger.get_linewidth() < 2  # thinner: not a report curve
    anger = next(line for line in ax.get_lines() if line.get_label() == "Caller anger")
    assert anger.get_xdata()[0] == 1.5 and anger.get_xdata()[-1] == 58.5
    assert np.nanmax(anger.get_ydata()) == 0.91
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert sorted(len(c.get_paths()) for c in bars) == [3, 4]  # caller 3 turns, agent 4
    assert [t.get_text() for t in ax.texts] == ["tip 1", "tip 9", "tip 8"]
    assert sorted(p.get_hatch() for p in ax.patches if p.get_hatch()) == ["..", "//", "xx"]
    assert ax.get_xlim() == (0.0, 60.0)
    assert ax.xaxis.get_major_formatter()(90.0, 0) == "1:30"
    assert [t for t in ax.get_xticks() if 0 <= t <= 60] == list(range(0, 65, 5))


def test_plot_into_given_axes(analysis):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plot_analysis(analysis, ax=ax) is fig
    assert len(ax.get_lines()) >= 3


def test_plot_svg_is_standalone_svg(analysis):
    svg = plot_svg(analysis)
    assert svg.startswith("<?xml") and "<svg " in svg and svg.rstrip().endswith("</svg>")


def test_plot_shows_dollar_signs_literally(analysis, tmp_path):
    fig = plot_analysis(dataclasses.replace(analysis, source=r"cost $5 $x^{2$ \frac.wav"), tmp_path / "d.png")
    assert fig.axes[0].get_title(loc="left") == r"cost $5 $x^{2$ \frac.wav"
    assert (tmp_path / "d.png").read_bytes().startswith(MAGIC[".png"])


def test_plot_survives_empty_tables(empty_analysis, tmp_path):
    plot_analysis(empty_analysis, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes().startswith(MAGIC[".png"])


def test_only_plot_imports_matplotlib():
    code = ("import sys, tonekit.report, tonekit.report.text, tonekit.report.html, tonekit.report.export; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- exports

def _tiers(path):
    import parselmouth
    from parselmouth.praat import call

    grid = parselmouth.read(str(path))
    tiers = {}
    for tier in range(1, call(grid, "Get number of tiers") + 1):
        name = call(grid, "Get tier name", tier)
        tiers[name] = [(call(grid, "Get start time of interval", tier, i),
                        call(grid, "Get end time of interval", tier, i),
                        call(grid, "Get label of interval", tier, i))
                       for i in range(1, call(grid, "Get number of intervals", tier) + 1)]
    return call(grid, "Get total duration"), tiers


def test_textgrid_tiers_and_intervals(analysis, tmp_path):
    path = to_textgrid(analysis, tmp_path / "call.TextGrid")
    duration_s, tiers = _tiers(path)
    assert duration_s == 60.0
    assert list(tiers) == ["agent", "caller", "events", "events 2"]
    assert tiers["agent"] == [(0, 4, "speech"), (4, 12, ""), (12, 20, "speech"), (20, 36, ""), (36, 45, "speech"),
                              (45, 50, ""), (50, 58, "speech"), (58, 60, "")]
    assert tiers["caller"] == [(0, 4.5, ""), (4.5, 14.5, "speech"), (14.5, 20.5, ""), (20.5, 36, "speech"),
                               (36, 45.5, ""), (45.5, 50, "speech"), (50, 60, "")]
    # tip 8 overlaps tip 9, so it goes to a second events tier and both stay whole.
    assert tiers["events"] == [(0, 12, ""), (12, 14.5, "tip1:interruption"), (14.5, 30, ""),
                               (30, 36, "tip9:upbeat_vs_angry"), (36, 60, "")]
    assert tiers["events 2"] == [(0, 33, ""), (33, 40, "tip8:escalation"), (40, 60, "")]
    assert path.read_text(encoding="utf-8").startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')


def test_textgrid_clips_merges_and_widens(analysis, tmp_path):
    turns = pd.DataFrame([("agent", -1.0, 5.0), ("agent", 4.0, 8.0), ("agent", 8.0, 9.0), ("caller", 55.0, 70.0)],
                         columns=SEGMENT_COLUMNS)
    events = pd.DataFrame([{"start_s": 20.0, "end_s": 20.0, "tip": 12, "kind": "long_silence", "speaker": "none",
                            "severity": 0.5, "evidence": 'said "wait"'},
                           {"start_s": 65.0, "end_s": 70.0, "tip": 7, "kind": "no_smile", "speaker": "agent",
                            "severity": 0.4, "evidence": "beyond the end"}], columns=EVENT_COLUMNS)
    path = to_textgrid(dataclasses.replace(analysis, turns=turns, events=events), tmp_path / "edge.TextGrid")
    _, tiers = _tiers(path)
    assert tiers["agent"] == [(0, 9, "speech"), (9, 60, "")]
    assert tiers["caller"] == [(0, 55, ""), (55, 60, "speech")]
    assert tiers["events"] == [(0, 20, ""), (20, 20.01, "tip12:long_silence"), (20.01, 60, "")]


def test_textgrid_without_events_keeps_an_empty_events_tier(empty_analysis, tmp_path):
    _, tiers = _tiers(to_textgrid(empty_analysis, tmp_path / "empty.TextGrid"))
    assert tiers == {"agent": [(0, 20, "")], "caller": [(0, 20, "")], "events": [(0, 20, "")]}


@pytest.mark.parametrize("duration_s", [0.0, float("nan"), None])
def test_textgrid_needs_a_positive_duration(analysis, tmp_path, duration_s):
    with pytest.raises(ParameterError, match="the duration must be a positive number of seconds"):
        to_textgrid(dataclasses.replace(analysis, duration_s=duration_s), tmp_path / "x.TextGrid")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("table_name", ["windows", "events", "turns"])
def test_write_table_round_trips(analysis, tmp_path, suffix, table_name):
    table = getattr(analysis, table_name)
    path = write_table(table, tmp_path / f"{table_name}{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert list(back.columns) == list(table.columns)
    pd.testing.assert_frame_equal(back, table.reset_index(drop=True))


def test_write_table_rejects_other_extensions(analysis, tmp_path):
    with pytest.raises(ParameterError, match=r"windows\.xlsx: cannot write a table as '\.xlsx'; use one of "
                                             r"\.csv, \.parquet$"):
        write_table(analysis.windows, tmp_path / "windows.xlsx")


# ---------------------------------------------------------------- browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def _chromium(tmp_path, name, *args):
    profile = tmp_path / f"profile-{name}"
    try:
        return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"chromium did not finish within {error.timeout} s")


@pytest.mark.browser
def test_html_renders_in_headless_chromium(analysis, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (Debian package 'chromium'); .ci/run installs it")
    from PIL import Image

    report = tmp_path / "report.html"
    report.write_text(render_html(analysis), encoding="utf-8")
    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, "shot", f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    dump = _chromium(tmp_path, "dom", "--dump-dom", report.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]

    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1200, 1600)
        pixels = np.asarray(image.convert("RGB")).astype(int)
    non_white_share = np.mean(pixels.min(axis=2) < 240)
    assert non_white_share > 0.03, f"page looks blank: {non_white_share:.1%} non-white pixels"
    for (speaker, measure), style in CURVE_STYLES.items():
        rgb = np.array([int(style["color"][i:i + 2], 16) for i in (1, 3, 5)])
        matches = int(np.sum(np.abs(pixels - rgb).max(axis=2) <= 24))
        assert matches > 200, f"{speaker} {measure} curve colour {style['color']} not on screen ({matches} px)"

    dom = dump.stdout
    assert '<table id="events-table">' in dom
    events_table = dom[dom.index('<table id="events-table">'):]
    events_table = events_table[:events_table.index("</table>")]
    assert events_table.count("<tr>") == 4  # header and three events
    assert "upbeat to an angry caller" in events_table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.wav" in dom and "<script" not in dom

    # The page has no script, so any console message from it (an error, a blocked load) is a bug.
    log = run.stderr + dump.stderr
    page_messages = [line for line in log.splitlines()
                     if "Uncaught" in line or re.search(r"CONSOLE[:(]", line) or report.as_uri() in line]
    assert page_messages == []


@pytest.mark.parametrize("spec_index,start,extreme,end,words", [
    (0, 0.34, 0.91, 0.21, "flared up, then calmed down"),   # anger peaks far above both ends
    (0, 0.34, 0.60, 0.21, "stayed low"),                    # a peak 0.26 above the start: not a flare-up
    (0, 0.40, 0.91, 0.21, "calmed down"),                   # the end is 0.19 below the start: a trend wins
    (1, 0.80, 0.10, 0.75, "lost calm, then found it again"),  # calm dips far below both ends
    (2, 0.60, 0.35, 0.60, "stayed high"),                   # warmth dips 0.25: not a spike
    (2, 0.60, 0.25, 0.55, "cooled, then warmed up again"),
])
def test_curve_trend_names_a_spike_that_came_back(spec_index, start, extreme, end, words):
    from tonekit.report._common import CURVES, CurveStory

    story = CurveStory(CURVES[spec_index], start, 0.0, extreme, 30.0, end, 60.0)
    assert story.trend == words
    assert story.improved is (None if abs(end - start) < 0.15 else end < start)


@pytest.mark.parametrize("spec_index,start,other,end,words", [
    (2, 0.29, 0.95, 0.37, "low at both ends, up to 0.95 at 0:40 between"),   # the demo agent's warmth
    (2, 0.29, 0.60, 0.37, "stayed low"),                                     # 0.23 above the end: not far
    (0, 0.80, 0.20, 0.75, "high at both ends, down to 0.20 at 0:40 between"),  # anger fell away and came back
    (2, 0.29, 0.95, 0.60, "warmed up"),                                      # a trend wins
])
def test_curve_trend_names_the_other_way_between_steady_ends(spec_index, start, other, end, words):
    """A curve steady at its ends that went far the other way in between is not said to have 'stayed'."""
    from tonekit.report._common import CURVES, CurveStory

    worst = min(start, end) if CURVES[spec_index].extreme == "low" else max(start, end)
    story = CurveStory(CURVES[spec_index], start, 0.0, worst, 20.0, end, 60.0, other, 40.0)
    assert story.trend == words


def test_plot_of_a_long_call_is_wider_and_keeps_labels_apart(analysis):
    """A 22-minute call gets a 27-inch figure (10 up to 5 minutes, then 1 per minute); events 40 s apart,
    whose labels would need rows of their own at 10 inches (a label takes about 0.4 in: 66 s of a
    22-minute call there, 25 s at 27 inches), share one row of labels."""
    from tonekit.report.plot import figure_width_in

    events = pd.DataFrame([{"start_s": 100.0 + 40 * k, "end_s": 110.0 + 40 * k, "tip": 1, "kind": "interruption",
                            "speaker": "agent", "severity": 0.5, "evidence": ""} for k in range(4)],
                          columns=EVENT_COLUMNS)
    long = Analysis(source=SOURCE, duration_s=22 * 60.0, speakers=["agent", "caller"],
                    frames=pd.DataFrame(columns=FRAME_COLUMNS), windows=analysis.windows, events=events,
                    summary={**analysis.summary, "duration_s": 22 * 60.0}, turns=analysis.turns)
    fig = plot_analysis(long)
    assert fig.get_size_inches()[0] == figure_width_in(22 * 60.0) == 27.0
    rows = {round(t.get_position()[1], 3) for t in fig.axes[0].texts}
    assert len(fig.axes[0].texts) == 4 and len(rows) == 1
    assert plot_analysis(analysis).get_size_inches()[0] == 10.0


def test_a_call_whose_tone_was_not_scored_is_not_called_all_good(tmp_path):
    """The demo's first 10 s: too little speech on either side for a tone score. The reports do not say
    "Nothing to work on" (tips 7-9 were never judged), they say what was found and what could not be judged."""
    import warnings

    import soundfile as sf

    import tonekit
    from tonekit.report._common import ALL_GOOD

    y, sr = sf.read(tonekit.demo_path())
    sf.write(tmp_path / "short.flac", y[: 10 * sr], sr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = tonekit.analyze(tmp_path / "short.flac")
    assert pd.isna(a.summary["speakers"]["agent"]["anger_mean"]) and a.events.empty
    text = render_text(a)
    assert ALL_GOOD not in text
    assert "No interruptions or long holds were found." in text
    assert "  Caller's tone not scored (too little speech).\n  No moment to listen back to: no event found.\n" \
        "  No event of tip 1 (don't interrupt) or tip 12 (avoid hold).\n" in text
    assert "The agent's tone could not be scored (too little speech), so tips 7, 8 and 9" in text
    html = render_html(a)
    assert ALL_GOOD not in html and '<p class="unjudged">The agent&#x27;s tone could not be scored' in html
    assert '<p class="none">No events.</p>' not in html and "No events found, but not every tip could" in html
    assert a.summary["events_per_tip"] == {"1": 0, "7": None, "8": None, "9": None, "12": 0}   # JSON null
    assert '<td>8 — Stay calm</td><td class="num">n/a</td>' in html
    full = tonekit.analyze(tonekit.demo_path())
    assert "Nothing to work on" not in render_text(full) and "could not be scored" not in render_text(full)
    assert full.summary["events_per_tip"] == {"1": 1, "7": 0, "8": 1, "9": 1, "12": 1}
