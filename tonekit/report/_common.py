"""What the text and HTML reports share: number formatting, tone curves, tip advice.

Nothing here draws or styles anything; it only turns an ``Analysis`` into
plain values and phrases, so both reports say exactly the same thing, in the
language they are rendered in (:mod:`tonekit.report._lang`).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import edge_means
from ._lang import decimal, t

MISSING = "n/a"

#: A curve "went up" or "went down" when its end differs from its start by at
#: least this much (scores are probabilities in 0..1).
TREND_MIN_CHANGE = 0.15
#: A steady curve is called "high" at or above this level, else "low".
HIGH_LEVEL = 0.5
#: A curve that ends about where it started but whose worst point lies at least this much beyond both
#: its start and its end went there and came back (a caller who flared up and calmed down again).
SPIKE_MIN_CHANGE = 2 * TREND_MIN_CHANGE

#: The entrainment measures' features as both reports name them: (summary key, name).
ENTRAINMENT_FEATURES = (("f0", "pitch"), ("intensity", "loudness"), ("rate", "speaking rate"))

#: The guide's tips, as a supervisor would say them: (title, advice).
TIP_ADVICE = {
    1: ("Don't interrupt", "let the caller finish before you answer"),
    7: ("Smile", "a smile can be heard: keep your voice bright and friendly"),
    8: ("Stay calm", "keep a calm, even voice, even when the caller is not"),
    9: ("Adapt your tone", "match the caller's mood instead of sounding upbeat to an upset caller"),
    12: ("Avoid hold", "avoid long silences and holds; say what you are doing"),
}


#: What each event kind (the events table's ``kind``) says in plain words, as the text and HTML reports show it
#: (the JSON report and the tables keep the kinds themselves).
KIND_LABELS = {
    "interruption": "talked over the caller",
    "no_smile": "no smile heard",
    "mirrored_anger": "sounded angry back",
    "escalation": "raised voice with the caller",
    "upbeat_vs_angry": "upbeat to an angry caller",
    "long_silence": "long silence",
}


def kind_label(kind) -> str:
    """An event kind in plain words (an unknown kind as it is; missing, ``""``)."""
    text = fmt_text(kind)
    return t(KIND_LABELS[text]) if text in KIND_LABELS else text


@dataclass(frozen=True)
class CurveSpec:
    """One tone curve shown in the reports: a score of one speaker."""

    speaker: str
    measure: str  # column of the windows table
    extreme: str  # "peak" (worst is high) or "low" (worst is low)
    rise_words: str
    fall_words: str
    spike_words: str = ""   # a worst point far beyond both ends (SPIKE_MIN_CHANGE): "flared up, then calmed down"

    @property
    def label(self) -> str:
        return t(f"{self.speaker.capitalize()} {self.measure}")


#: The three curves supervisors read, in the order they are shown. A falling calm is "less calm", not
#: "tenser": calm's other class holds happiness and surprise as well as anger and fear (README: Models),
#: so an agent who brightens up reads less calm too.
CURVES = (
    CurveSpec("caller", "anger", "peak", rise_words="grew angrier", fall_words="calmed down",
              spike_words="flared up, then calmed down"),
    CurveSpec("agent", "calm", "low", rise_words="grew calmer", fall_words="grew less calm",
              spike_words="lost calm, then found it again"),
    CurveSpec("agent", "warmth", "low", rise_words="warmed up", fall_words="cooled down",
              spike_words="cooled, then warmed up again"),
)


@dataclass(frozen=True)
class CurveStory:
    """Start, worst point and end of one tone curve, in numbers and words.

    Times are window centres in seconds; values are NaN when the speaker had
    too little speech for any window to be scored.
    """

    spec: CurveSpec
    start: float
    start_s: float
    extreme: float
    extreme_s: float
    end: float
    end_s: float
    #: The other extreme (lowest anger, highest calm or warmth) and its time: where a curve steady at its
    #: ends went the other way in between (the demo agent's warmth: low at both ends, 0.95 at 0:40).
    other: float = float("nan")
    other_s: float = float("nan")

    @property
    def change(self) -> float:
        return self.end - self.start

    @property
    def trend(self) -> str:
        """Plain words for how the curve went, or "n/a"."""
        if is_missing(self.start) or is_missing(self.end):
            return MISSING
        if self.change >= TREND_MIN_CHANGE:
            return t(self.spec.rise_words)
        if self.change <= -TREND_MIN_CHANGE:
            return t(self.spec.fall_words)
        if self.spec.spike_words and not is_missing(self.extreme):
            beyond = (self.extreme - max(self.start, self.end) if self.spec.extreme == "peak"
                      else min(self.start, self.end) - self.extreme)
            if beyond >= SPIKE_MIN_CHANGE:
                return t(self.spec.spike_words)
        if not is_missing(self.other):
            beyond = (min(self.start, self.end) - self.other if self.spec.extreme == "peak"
                      else self.other - max(self.start, self.end))
            if beyond >= SPIKE_MIN_CHANGE:   # steady at the ends, far the other way in between
                level = t("high" if self.end >= HIGH_LEVEL else "low")
                way = t("down to" if self.spec.extreme == "peak" else "up to")
                return t("{level} at both ends, {way} {value} at {time} between", level=level, way=way,
                         value=fmt_num(self.other), time=fmt_clock(self.other_s))
        return t("stayed high" if self.end >= HIGH_LEVEL else "stayed low")

    @property
    def improved(self) -> bool | None:
        """True when the curve moved the good way, False the bad way, None when steady or unknown."""
        if is_missing(self.start) or is_missing(self.end) or abs(self.change) < TREND_MIN_CHANGE:
            return None
        went_up = self.change > 0
        # High anger is bad; high calm or warmth is good.
        return went_up != (self.spec.extreme == "peak")

    def sentence(self) -> str:
        """E.g. ``Caller anger: 0.82 at the start, peak 0.91 at 0:42, 0.21 at the end — calmed down``."""
        if is_missing(self.start):
            return t("{label}: n/a (too little speech to score)", label=self.spec.label)
        return t("{label}: {start} at the start, {extreme} {value} at {time}, {end} at the end — {trend}",
                 label=self.spec.label, start=fmt_num(self.start),
                 extreme=t(self.spec.extreme, key=f"extreme {self.spec.extreme}"), value=fmt_num(self.extreme),
                 time=fmt_clock(self.extreme_s), end=fmt_num(self.end), trend=self.trend)


def is_missing(value) -> bool:
    """True for None, NaN, infinities, ``pd.NA`` and anything that is not a number."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Number):
        return not math.isfinite(float(value))
    return True


def fmt_num(value, digits: int = 2) -> str:
    """``0.8213 -> "0.82"`` (``"0,82"`` in French); missing values -> ``"n/a"``."""
    return t(MISSING) if is_missing(value) else decimal(f"{float(value):.{digits}f}")


def fmt_signed(value, digits: int = 2) -> str:
    """``0.5 -> "+0.50"``; missing values -> ``"n/a"``."""
    return t(MISSING) if is_missing(value) else decimal(f"{float(value):+.{digits}f}")


def fmt_percent(share) -> str:
    """A share in 0..1 as ``"42%"`` (``"42 %"`` in French); missing -> ``"n/a"``."""
    return t(MISSING) if is_missing(share) else t("{percent}%", percent=f"{100 * float(share):.0f}")


def fmt_clock(seconds) -> str:
    """Seconds as ``m:ss`` (minutes may exceed 59), rounded down like a player's clock.

    >>> fmt_clock(62.9)
    '1:02'
    """
    if is_missing(seconds):
        return t(MISSING)
    # The epsilon keeps 59.99999999 (sums of hops) from showing as 0:59.
    total = max(0, math.floor(float(seconds) + 1e-6))
    minutes, secs = divmod(total, 60)
    return f"{minutes}:{secs:02d}"


def fmt_seconds(seconds, digits: int = 1) -> str:
    """``60 -> "60.0 s"``; missing -> ``"n/a"``."""
    return t(MISSING) if is_missing(seconds) else decimal(f"{float(seconds):.{digits}f}") + " s"


def fmt_tip(tip) -> str:
    """Tip numbers arrive as int or float (a column with NaN); show ``9`` not ``9.0``."""
    if is_missing(tip):
        return t(MISSING)
    value = float(tip)
    return str(int(value)) if value.is_integer() else str(tip)


def fmt_text(value) -> str:
    """A label or sentence from the tables; missing -> ``""``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def recalibration_text(options) -> str | None:
    """``"anger slope 0.50, intercept -1.00; ..."``: the lines of the models a call was analysed with that
    ``tonekit recalibrate`` fitted to a population (the report's ``options["recalibration"]``); None if none."""
    recal = (options or {}).get("recalibration")
    if not recal:
        return None
    return "; ".join(t("{target} slope {slope}, intercept {intercept}", target=t(target), slope=fmt_num(a),
                       intercept=fmt_signed(b)) for target, (a, b) in sorted(recal.items()))


def deep_get(mapping, *keys):
    """``mapping[k1][k2]...`` or None when any level is missing or not a dict."""
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def curve_story(windows: pd.DataFrame, spec: CurveSpec) -> CurveStory:
    """Start, worst point and end of one speaker's score over the call.

    Start and end are the means over the first and the last scored windows
    (:func:`tonekit.analysis.edge_means`, as the summary's caller anger), at the
    centres of the first and the last scored window; the worst point is the
    highest (anger) or lowest (calm, warmth) window. Times are window centres.
    """
    nan = float("nan")
    needed = {"speaker", "start_s", "end_s", spec.measure}
    if windows is None or not needed <= set(windows.columns):
        return CurveStory(spec, nan, nan, nan, nan, nan, nan)
    rows = windows[windows["speaker"] == spec.speaker]
    values = pd.to_numeric(rows[spec.measure], errors="coerce").to_numpy(dtype=float)
    centres_s = ((pd.to_numeric(rows["start_s"], errors="coerce")
                  + pd.to_numeric(rows["end_s"], errors="coerce")) / 2).to_numpy(dtype=float)
    order = np.argsort(centres_s, kind="stable")
    values, centres_s = values[order], centres_s[order]
    scored = np.flatnonzero(np.isfinite(values) & np.isfinite(centres_s))
    if scored.size == 0:
        return CurveStory(spec, nan, nan, nan, nan, nan, nan)
    first, last = scored[0], scored[-1]
    pick, opposite = (np.argmax, np.argmin) if spec.extreme == "peak" else (np.argmin, np.argmax)
    worst = scored[pick(values[scored])]  # first occurrence on ties
    best = scored[opposite(values[scored])]
    start, end = edge_means(values[scored])
    return CurveStory(spec, start, float(centres_s[first]),
                      float(values[worst]), float(centres_s[worst]),
                      end, float(centres_s[last]), float(values[best]), float(centres_s[best]))


def curve_stories(analysis) -> list[CurveStory]:
    """The stories of all curves in :data:`CURVES`, in order."""
    return [curve_story(analysis.windows, spec) for spec in CURVES]


def sorted_events(events: pd.DataFrame | None) -> pd.DataFrame:
    """Events in time order (start, then end, then tip); an empty table when there are none."""
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=["start_s", "end_s", "tip", "kind", "speaker", "severity", "evidence"])
    keys = [c for c in ("start_s", "end_s", "tip") if c in events.columns]
    return events.sort_values(keys, kind="stable").reset_index(drop=True) if keys else events


def event_times(event) -> str:
    """``"0:12–0:15"`` for one event row; ``"12:23 (0.6 s)"`` when both ends fall in the same second.

    >>> event_times({"start_s": 743.2, "end_s": 743.8})
    '12:23 (0.6 s)'
    """
    start, end = fmt_clock(event.get("start_s")), fmt_clock(event.get("end_s"))
    if start == end and start != t(MISSING):
        return f"{start} ({fmt_seconds(float(event['end_s']) - float(event['start_s']))})"
    return f"{start}–{end}"


def tips_to_work_on(events: pd.DataFrame | None) -> list[tuple[int, str, str, list[str]]]:
    """For each tip with events, in the guide's order: (tip, title, advice, event start times as m:ss)."""
    events = sorted_events(events)
    if "tip" not in events.columns:
        return []
    tips = pd.to_numeric(events["tip"], errors="coerce")
    out = []
    for tip, (title, advice) in TIP_ADVICE.items():
        rows = events[tips == tip]
        if len(rows):
            out.append((tip, t(title), t(advice), [fmt_clock(s) for s in rows.get("start_s", [])]))
    return out


def work_on_sentence(tip: int, title: str, advice: str, times: list[str]) -> str:
    """E.g. ``Tip 1 — Don't interrupt: let the caller finish before you answer (2 times: 0:12, 0:40).``"""
    count = len(times)
    shown = ", ".join(times[:5]) + (", …" if count > 5 else "")
    what = t("once") if count == 1 else t("{count} times", count=count)
    return t("Tip {tip} — {title}: {advice} ({what}: {times}).", tip=tip, title=title, advice=advice, what=what,
             times=shown)


ALL_GOOD = ("Nothing to work on: no interruptions, missing smiles, loss of calm, tone mismatches "
            "or long holds were found.")


def _scored(analysis, speaker: str) -> bool:
    """Whether ``speaker``'s tone was scored (a summary that does not say counts as scored)."""
    side = deep_get(analysis.summary, "speakers", speaker)
    if not isinstance(side, dict) or "anger_mean" not in side:
        return True
    v = side["anger_mean"]
    return isinstance(v, (int, float)) and math.isfinite(v)


def not_judged(analysis) -> str | None:
    """Which tone tips could not be judged because a side's tone was not scored (too little speech), or None:
    finding none of them is then not a good sign, only no sign."""
    if not _scored(analysis, "agent"):
        return t("The agent's tone could not be scored (too little speech), so tips 7, 8 and 9 (smile, calm, "
                 "tone) were not judged.")
    if not _scored(analysis, "caller"):
        return t("The caller's tone could not be scored (too little speech), so tips 8 and 9, judged against "
                 "the caller's anger, were not judged.")
    return None


def nothing_found(analysis) -> str:
    """What to say when no tip is to be worked on: :data:`ALL_GOOD`, or, when a side's tone was not scored,
    only what was judged."""
    if not _scored(analysis, "agent"):
        return t("No interruptions or long holds were found.")
    if not _scored(analysis, "caller"):
        return t("No interruptions, missing smiles or long holds were found.")
    return t(ALL_GOOD)


def in_short(analysis) -> list[str]:
    """The call at a glance, for a supervisor with half a minute: when the caller sounded angry and how the
    call ended, the moments to listen back to (with their tips), and the tips judged and clean.

    >>> from types import SimpleNamespace
    >>> ev = pd.DataFrame({"start_s": [21.7, 50.0, 50.2], "end_s": [23.2, 60.0, 58.3], "tip": [1, 8, 12]})
    >>> a = SimpleNamespace(windows=None, events=ev, summary={"caller_angry_spans": [[5.0, 56.0]],
    ...     "events_per_tip": {"1": 1, "7": 0, "8": 1, "9": 0, "12": 1}})
    >>> for line in in_short(a): print(line)
    Caller angry 0:05–0:56 (51 s).
    Listen back to 0:21 (tip 1) and 0:50 (tips 8 and 12).
    No event of tip 7 (smile) or tip 9 (adapt your tone).
    """
    summary = analysis.summary or {}
    lines = []
    if not _scored(analysis, "caller"):
        lines.append(t("Caller's tone not scored (too little speech)."))
    else:
        spans = [s for s in deep_get(summary, "caller_angry_spans") or [] if len(s) == 2]
        if spans:
            shown = ", ".join(f"{fmt_clock(a)}–{fmt_clock(b)}" for a, b in spans[:3])
            shown += ", …" if len(spans) > 3 else ""
            story = curve_story(analysis.windows, CURVES[0])
            end = t("; {trend} by the end", trend=story.trend) if story.improved is not None else ""
            lines.append(t("Caller angry {spans} ({seconds} s){end}.", spans=shown,
                           seconds=f"{sum(b - a for a, b in spans):.0f}", end=end))
        else:
            lines.append(t("Caller not heard as angry."))
    moments: dict[str, list[str]] = {}
    for event in sorted_events(analysis.events).to_dict(orient="records"):
        tips = moments.setdefault(fmt_clock(event.get("start_s")), [])
        if fmt_tip(event.get("tip")) not in tips:
            tips.append(fmt_tip(event.get("tip")))
    if moments:
        parts = [t("{when} ({tips})", when=when, tips=t("tips {tips}", tips=_listed(tips, " and ")) if len(tips) > 1
                   else t("tip {tip}", tip=tips[0])) for when, tips in moments.items()]
        lines.append(t("Listen back to {moments}.", moments=_listed(parts, " and ")))
    else:
        lines.append(t("No moment to listen back to: no event found."))
    per_tip = deep_get(summary, "events_per_tip")
    clean = [t("{tip} ({title})", key="clean tip", tip=t("tip {tip}", tip=tip), title=t(TIP_ADVICE[tip][0]).lower())
             for tip in TIP_ADVICE if isinstance(per_tip, dict) and per_tip.get(str(tip)) == 0]
    if clean:
        lines.append(t("No event of {tips}.", tips=_listed(clean, " or ")))
    return lines


def _listed(items: list, last: str) -> str:
    """``a, b and c`` (``last`` the joining word, in English with its spaces; said in the report's language)."""
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + t(last) + items[-1] if len(items) > 1 else items[0]
