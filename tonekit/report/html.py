"""The HTML report: one self-contained file that opens offline, anywhere.

No script, no web font, no external URL: the styles are inline, the plot is
inline SVG and a Content-Security-Policy forbids loading anything else.
Every string that comes from the input is escaped.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from ..errors import shown
from ._common import (ENTRAINMENT_FEATURES, TIP_ADVICE, curve_stories, deep_get, event_times, fmt_clock, fmt_num,
                      fmt_percent, fmt_seconds, fmt_signed, fmt_text, fmt_tip, in_short, is_missing, kind_label,
                      not_judged, nothing_found, recalibration_text, sorted_events, tips_to_work_on,
                      work_on_sentence)
from ._lang import evidence, language, note_text, speaker_name, t

_CSS = """
:root { --ink: #1a1a1a; --muted: #5f5f5f; --rule: #d9d9d9; --band: #f6f6f6; --bad: #b3261e; --good: #1e6b34; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .5em; border-bottom: 1px solid var(--rule); padding-bottom: .2em; }
h3 { font-size: 1em; margin: 1.2em 0 .4em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .5em 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .3em 0 1em; }
table.compact { width: auto; min-width: 50%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.good { color: var(--good); }
.bad { color: var(--bad); font-weight: 600; }
ul.tone li, ul.work li { margin: .2em 0; }
p.none { color: var(--good); }
footer { margin-top: 2.5em; color: var(--muted); font-size: .85em; }
@media print { body { padding: 0; } h2 { break-after: avoid; } tr, figure { break-inside: avoid; } }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'"

# Standalone-SVG parts that an HTML document does not need: they are the only
# places matplotlib writes URLs (namespace names and the DTD), so removing them
# keeps the report free of any URL at all. The HTML parser puts <svg> in the
# SVG namespace (and xlink:href in the xlink one) by itself.
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_SVG_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def _e(value) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def inline_svg(svg: str, *, label: str) -> str:
    """A standalone SVG document made fit for inlining in HTML5, with an accessible label."""
    svg = _SVG_PROLOGUE.sub("", svg, count=1)
    svg = _SVG_METADATA.sub("", svg)
    svg = _SVG_NAMESPACES.sub("", svg)
    return svg.replace("<svg", f'<svg role="img" aria-label="{_e(label)}"', 1).strip()


def _tonekit_version() -> str:
    try:
        from .. import __version__
    except ImportError:
        return "unknown"
    return str(__version__)


def _table(headers, rows, *, numeric=(), table_id=None, compact=True) -> str:
    """An HTML table; ``rows`` hold already-escaped cell HTML; ``numeric`` lists right-aligned columns."""
    attr = (f' id="{_e(table_id)}"' if table_id else "") + (' class="compact"' if compact else "")

    def cls(i):
        return ' class="num"' if i in numeric else ""

    head = "".join(f'<th{cls(i)} scope="col">{_e(h)}</th>' for i, h in enumerate(headers))
    body = "\n".join("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
                     for row in rows)
    # a table scrolls sideways within its box on a narrow screen, rather than running off the page
    return (f'<div class="scroll"><table{attr}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n'
            '</table></div>')


def _metadata(analysis) -> str:
    duration_s = analysis.duration_s
    items = [("Source", fmt_text(analysis.source)),
             ("Duration", f"{fmt_clock(duration_s)} ({fmt_seconds(duration_s)})"),
             ("Speakers", ", ".join(speaker_name(fmt_text(s)) for s in analysis.speakers or []) or t("n/a")),
             ("tonekit version", _tonekit_version())]
    return '<dl class="meta">\n' + "\n".join(f"<dt>{_e(t(k))}</dt><dd>{_e(v)}</dd>" for k, v in items) + "\n</dl>"


def _tone(analysis) -> str:
    from .plot import PLOTTED_CURVES, plot_svg

    names = ", ".join(spec.label.lower() for spec in PLOTTED_CURVES)
    # the label tells what the chart shows: the curves' stories and the moments shaded, not only its parts
    stories = "; ".join(story.sentence() for story in curve_stories(analysis))
    svg = inline_svg(plot_svg(analysis), label=t("Tone curves over the call ({names}), speech bars and events "
                                                 "shaded. {stories}. {moments}", names=names, stories=stories,
                                                 moments=" ".join(in_short(analysis)[1:2])))
    items = []
    for story in curve_stories(analysis):
        sentence = _e(story.sentence())
        if story.improved is not None:
            css = "good" if story.improved else "bad"
            sentence = sentence.replace(_e(story.trend), f'<span class="{css}">{_e(story.trend)}</span>')
        items.append(f"<li>{sentence}</li>")
    caption = t("Scores at the centre of each analysis window (0 = not at all, 1 = clearly). Bars below: who "
                "speaks when. Shaded, hatched stretches: events, labelled by tip.")
    return (f'<section id="tone">\n<h2>{_e(t("Tone over the call"))}</h2>\n<figure>\n{svg}\n'
            f"<figcaption>{_e(caption)}</figcaption>\n</figure>\n"
            f'<ul class="tone">\n' + "\n".join(items) + "\n</ul>\n</section>")


def _in_short(analysis) -> str:
    items = "\n".join(f"<li>{_e(line)}</li>" for line in in_short(analysis))
    return f'<section id="in-short">\n<h2>{_e(t("In short"))}</h2>\n<ul class="short">\n{items}\n</ul>\n</section>'


def _work_on(analysis) -> str:
    tips = tips_to_work_on(analysis.events)
    unjudged = not_judged(analysis)
    body = (f'<p class="{"unjudged" if unjudged else "none"}">{_e(nothing_found(analysis))}</p>' if not tips else
            '<ul class="work">\n' + "\n".join(f"<li>{_e(work_on_sentence(*tip))}</li>" for tip in tips) + "\n</ul>")
    if unjudged:
        body += f'\n<p class="unjudged">{_e(unjudged)}</p>'

    return f'<section id="work">\n<h2>{_e(t("What to work on"))}</h2>\n{body}\n</section>'


def _notes(analysis) -> str:
    """The analysis's warnings on its audio as a section, or nothing."""
    notes = getattr(analysis, "warnings", None) or []
    if not notes:
        return ""
    items = "\n".join(f"<li>{_e(note_text(fmt_text(n)))}</li>" for n in notes)
    return (f'<section id="notes">\n<h2>{_e(t("Notes on the audio"))}</h2>\n<ul class="notes">\n{items}\n</ul>\n'
            '</section>')


def _events(analysis) -> str:
    events = sorted_events(analysis.events)
    rows = []
    for event in events.to_dict(orient="records"):
        rows.append([f'<span class="time">{_e(event_times(event))}</span>',
                     _e(fmt_tip(event.get("tip"))), _e(kind_label(event.get("kind"))),
                     _e(speaker_name(fmt_text(event.get("speaker")))), _e(fmt_num(event.get("severity"))),
                     _e(evidence(fmt_text(event.get("evidence"))))])
    table = _table([t(h) for h in ("Time", "Tip", "Kind", "Speaker", "Severity", "Evidence")], rows,
                   numeric=(1, 4), table_id="events-table", compact=False)
    note = "" if rows else (
        f'<p class="unjudged">{_e(t("No events found, but not every tip could be judged (What to work on)."))}</p>'
        if not_judged(analysis) else f'<p class="none">{_e(t("No events."))}</p>')
    return f'<section id="events">\n<h2>{_e(t("Events ({count})", count=len(rows)))}</h2>\n{table}\n{note}</section>'


def _summary(analysis) -> str:
    summary = analysis.summary or {}
    speakers = list(analysis.speakers or [])
    per_speaker = [
        ("Talk time", lambda s: f"{fmt_clock(s.get('talk_time_s'))} ({fmt_seconds(s.get('talk_time_s'))})"),
        ("Talk share", lambda s: fmt_percent(s.get("talk_share"))),
        ("Median pitch", lambda s: f"{fmt_num(s.get('f0_hz_median'), 0)} Hz"),
        ("Median intensity", lambda s: f"{fmt_num(s.get('intensity_db_median'), 1)} dB"),
        ("Speaking rate", lambda s: f"{fmt_num(s.get('rate_syl_s_mean'), 1)} {t('syl/s')}"),
        ("Mean anger", lambda s: fmt_num(s.get("anger_mean"))),
        ("Mean calm", lambda s: fmt_num(s.get("calm_mean"))),
        ("Mean warmth", lambda s: fmt_num(s.get("warmth_mean"))),
    ]
    rows = []
    for name, show in per_speaker:
        cells = []
        for speaker in speakers:
            stats = deep_get(summary, "speakers", speaker)
            text = show(stats if isinstance(stats, dict) else {})
            cells.append(_e(t("n/a") if text.startswith(t("n/a")) else text))
        rows.append([_e(t(name))] + cells)
    speakers_table = _table([t("Measure")] + [speaker_name(s) for s in speakers], rows,
                            numeric=tuple(range(1, len(speakers) + 1)))

    call_rows = [
        ("Overlaps", f"{fmt_tip(deep_get(summary, 'overlaps', 'count'))} "
                     f"({fmt_seconds(deep_get(summary, 'overlaps', 'total_s'))})"),
        ("Interruptions", fmt_tip(deep_get(summary, "interruptions", "count"))),
        ("Long silences", fmt_tip(deep_get(summary, "silences", "count"))),
        ("Longest pause", fmt_seconds(deep_get(summary, "silences", "longest_s"))),
        ("Caller anger at the start", fmt_num(deep_get(summary, "caller_anger", "start"))),
        ("Caller anger at the end", fmt_num(deep_get(summary, "caller_anger", "end"))),
        ("Change in caller anger", fmt_signed(deep_get(summary, "caller_anger", "change"))),
    ]
    pause_s = deep_get(summary, "silences", "total_s")
    if not is_missing(pause_s):   # reports of an earlier release have no such line
        call_rows.insert(4, ("Pauses in all (nobody speaks)",
                             f"{fmt_seconds(pause_s)} ({fmt_percent(deep_get(summary, 'silences', 'share'))})"))
    recal = recalibration_text(analysis.options)
    if recal:
        call_rows.append(("Models recalibrated (tonekit recalibrate)", recal))
    call_table = _table([t("Call"), t("Value")], [[_e(t(k)), _e(v)] for k, v in call_rows], numeric=(1,))

    entrainment_rows = []
    for key, name in ENTRAINMENT_FEATURES:
        measures = deep_get(summary, "entrainment", key)
        entrainment_rows.append([_e(t(name).capitalize())] + [_e(fmt_num(deep_get(measures, m)))
                                                              for m in ("proximity", "convergence", "synchrony")])
    entrainment_table = _table([t(h) for h in ("Feature", "Proximity", "Convergence", "Synchrony")],
                               entrainment_rows, numeric=(1, 2, 3), table_id="entrainment-table")

    per_tip = deep_get(summary, "events_per_tip")
    per_tip = per_tip if isinstance(per_tip, dict) else {}
    tip_rows = [[_e(f"{tip} — {t(title)}"), _e(fmt_tip(per_tip.get(str(tip), per_tip.get(tip))))]
                for tip, (title, _advice) in TIP_ADVICE.items()]
    tips_table = _table([t("Tip"), t("Events")], tip_rows, numeric=(1,))
    about = t("How much the two voices move together: proximity (close in level), convergence (getting closer "
              "over the call), synchrony (rising and falling together).")
    return (f'<section id="summary">\n<h2>{_e(t("Summary"))}</h2>\n'
            f"<h3>{_e(t('Speakers'))}</h3>\n{speakers_table}\n<h3>{_e(t('Call'))}</h3>\n{call_table}\n"
            f"<h3>{_e(t('Entrainment'))}</h3>\n<p>{_e(about)}</p>\n{entrainment_table}\n"
            f"<h3>{_e(t('Events per tip'))}</h3>\n{tips_table}\n</section>")


def render_html(analysis, *, lang: str = "en", back: str | None = None) -> str:
    """The tone report of one call as one self-contained, offline HTML page.

    Holds the call's metadata (source, duration, tonekit version), the tone
    curves as inline SVG with each curve's start, worst point and end, what to
    work on, a table of the events with their times, and the summary including
    entrainment. There is no script and no external resource; every string
    from the input is HTML-escaped.

    Parameters
    ----------
    analysis : tonekit.Analysis
        The analysed call.
    lang : {"en", "fr"}, keyword-only
        The report's language: English, or French (decimal commas).
    back : str, optional, keyword-only
        The address of a page to link back to at the top (a batch's overview,
        ``tonekit batch --html``).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from pathlib import Path
    >>> Path("call.html").write_text(render_html(analysis), encoding="utf-8")  # doctest: +SKIP
    """
    with language(lang):
        return _document(lang, t("Tone report: {source}", source=fmt_text(analysis.source)), [
            *([f'<nav><a href="{_e(back)}">{_e(t("← All calls"))}</a></nav>'] if back else []),
            f"<header>\n<h1>{_e(t('Tone report'))}</h1>\n{_metadata(analysis)}\n</header>",
            "<main>",
            _in_short(analysis),
            _tone(analysis),
            _work_on(analysis),
            _events(analysis),
            _summary(analysis),
            _notes(analysis),
            "</main>",
        ])


def _document(lang: str, title: str, body: list) -> str:
    """A whole page: the head (charset, the Content-Security-Policy, the generator, ``title``, the styles), the
    ``body`` parts one per line, and the footer, in the current language."""
    footer = t("Made with tonekit {version}. This page loads nothing from the network.", version=_tonekit_version())
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="tonekit {_e(_tonekit_version())}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        *body,
        f"<footer>{_e(footer)}</footer>",
        "</body>",
        "</html>",
    ]) + "\n"


#: The overview page's columns after the call's name: (heading, the cell of a row of the overview table).
_OVERVIEW_COLUMNS = (
    ("Length", lambda r: fmt_clock(r.get("duration_s"))),
    ("Caller angry (s)", lambda r: fmt_num(r.get("caller_angry_s"), 0)),
    ("Caller anger", lambda r: f"{fmt_num(r.get('caller_anger_at_start'))} → {fmt_num(r.get('caller_anger_at_end'))}"),
    *((f"Tip {tip}", lambda r, c=column: fmt_tip(r.get(c))) for tip, column in
      ((1, "tip1_interruptions"), (7, "tip7_no_smile"), (8, "tip8_not_calm"), (9, "tip9_tone_mismatch"),
       (12, "tip12_long_silences"))),
)


def overview_order(table):
    """The overview's rows in the order a supervisor listens: most tone events (tips 8 and 9, then 7), then the
    longest angry caller, then by name."""
    import pandas as pd

    def count(column):
        return pd.to_numeric(table[column], errors="coerce").fillna(0)

    keys = table.assign(_tone=count("tip8_not_calm") + count("tip9_tone_mismatch"), _smile=count("tip7_no_smile"),
                        _angry=pd.to_numeric(table["caller_angry_s"], errors="coerce").fillna(0),
                        _name=table["report"].map(shown))   # (a name that is not UTF-8 sorts too)
    keys = keys.sort_values(["_tone", "_smile", "_angry", "_name"], ascending=[False, False, False, True],
                            kind="stable")
    return table.loc[keys.index]


def render_overview(table, *, pages: dict, failures: dict | None = None, lang: str = "en") -> str:
    """The overview page of a batch (``tonekit batch --html``): one row per call of ``table``
    (:func:`tonekit.batch.overview_table`), in :func:`overview_order`, each linking to its page.

    ``pages`` maps a report's name (the table's ``report``) to its page's address relative to the overview
    (a call without a page is listed without a link); ``failures`` (``{path: error}``, a batch's
    ``failures.json``), the calls with no report, are listed after them with their errors (in English, as the
    command line says them). Self-contained and offline, like :func:`render_html`.
    """
    with language(lang):
        rows = []
        for row in overview_order(table).to_dict(orient="records"):
            # the report's name, unique in the batch (the audio's stem: call.json for call.wav), the audio's path
            # on hovering
            shown, path = _e(Path(row["report"]).stem), _e(fmt_text(row.get("path")))
            link = pages.get(row["report"])
            cells = [f'<a href="{_e(link)}" title="{path}">{shown}</a>' if link
                     else f'<span title="{path}">{shown}</span>']
            cells += [_e(show(row)) for _heading, show in _OVERVIEW_COLUMNS]
            notes = fmt_text(row.get("notes"))   # the call's warnings, joined by " | " (tonekit.batch)
            cells.append(_e(" | ".join(note_text(n) for n in notes.split(" | ")) if notes else ""))
            rows.append(cells)
        headers = [t("Call")] + [t(heading) for heading, _show in _OVERVIEW_COLUMNS] + [t("Notes")]
        table_html = _table(headers, rows, numeric=tuple(range(1, len(_OVERVIEW_COLUMNS) + 1)),
                            table_id="calls-table", compact=False)
        title = t("tonekit batch: {count} call" if len(rows) == 1 else "tonekit batch: {count} calls",
                  count=len(rows))
        about = t("Calls with the most tone events first (tips 8 and 9, then 7), then the longest angry caller. "
                  "A count of n/a: that tip could not be judged (a side's tone was not scored).")
        failed = ""
        if failures:
            items = "\n".join(f"<li>{_e(error)}</li>" for _path, error in sorted(failures.items()))
            failed = (f'<section id="failed">\n<h2>{_e(t("Not analysed ({count})", count=len(failures)))}</h2>\n'
                      f'<ul class="notes">\n{items}\n</ul>\n</section>\n')
        return _document(lang, title, [f"<header>\n<h1>{_e(title)}</h1>\n<p>{_e(about)}</p>\n</header>",
                                       f"<main>\n{table_html}\n{failed}</main>"])
