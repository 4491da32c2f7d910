"""The reports in French (``lang="fr"``, ``--lang fr``): known lines of a hand-built call, every phrase in the
catalogue, the matcher's evidence, the plot's labels, and English left exactly as it was."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

import tonekit
from tonekit.analysis import EVENT_COLUMNS, FRAME_COLUMNS, WINDOW_COLUMNS, Analysis
from tonekit.cli import main
from tonekit.errors import ParameterError
from tonekit.report import _lang, plot_analysis, render_html, render_text
from tonekit.report._lang import evidence, language, t

from test_report import SOURCE, _events, _summary, _turns, _windows


def _analysis(**changes) -> Analysis:
    """test_report's hand-built 60-s call (known curves, turns and three events), with ``changes``."""
    fields = dict(source=SOURCE, duration_s=60.0, speakers=["agent", "caller"],
                  frames=pd.DataFrame(columns=FRAME_COLUMNS), windows=_windows(), events=_events(),
                  summary=_summary(), turns=_turns())
    return Analysis(**{**fields, **changes})


def test_french_text_report_known_lines():
    """The hand-built call's numbers, said in French with decimal commas; the file name stays as it is."""
    lines = render_text(_analysis(), color=False, lang="fr").splitlines()
    assert lines[:4] == [
        f"rapport tonekit : {SOURCE}",
        "Durée de l'appel 1:00 (60,0 s)",
        "Temps de parole : secrétaire 0:25 (25,0 s, 42 %) ; appelant 0:30 (30,0 s, 50 %)",
        "Chevauchements 1 (2,5 s), interruptions 1, longs silences 1 (5,0 s ou plus ; plus longue pause 2,0 s)",
    ]
    text = "\n".join(lines)
    assert "  À réécouter : 0:12 (conseil 1), 0:30 (conseil 9) et 0:33 (conseil 8)." in lines
    assert "  Aucun événement pour le conseil 7 (sourire) ou le conseil 12 (éviter l'attente)." in lines
    assert "  Colère de l'appelant : 0,82 au début, pic 0,91 à 0:41, 0,21 à la fin — s'est calmé" in lines
    assert ("  Calme de la secrétaire : 0,70 au début, au plus bas 0,40 à 0:21, 0,90 à la fin — de plus en plus "
            "calme") in lines
    assert ("  • Conseil 1 — Ne pas interrompre : laissez l'appelant finir avant de répondre (une fois, à 0:12)."
            in lines)
    # the matcher's evidence in French; a sentence it did not write (this call's tip 1) as it is
    assert ("(secrétaire, gravité 0,70) : colère de l'appelant 0,86 alors que la chaleur de la secrétaire est de "
            "0,91 et la hauteur de sa voix +3,2 demi-tons") in text
    assert ": agent started 2.5 s before the caller finished" in text
    assert "  hauteur : proximité 0,42, convergence n.d., synchronie 0,31" in lines
    for english in ("In short", "Tone over the call", "What to work on", "at the start", "severity", "Tip "):
        assert english not in text


def test_english_is_the_default_and_unchanged():
    a = _analysis()
    english = render_text(a, color=False)
    assert render_text(a, color=False, lang="en") == english
    assert english.splitlines()[2] == "Talk time: agent 0:25 (25.0 s, 42%); caller 0:30 (30.0 s, 50%)"
    assert render_html(a, lang="en") == render_html(a)
    # a French report leaves no French behind it
    render_text(a, color=False, lang="fr")
    assert render_text(a, color=False) == english and t("tip {tip}", tip=1) == "tip 1"


def test_language_is_checked_and_scoped():
    with pytest.raises(ParameterError, match="en, fr.*'de'"):
        render_text(_analysis(), color=False, lang="de")
    with language("fr"):
        with language(None):   # None keeps the language in force: a plot inside a French report
            assert t("Stay calm") == "Rester calme"
        with language("en"):
            assert t("Stay calm") == "Stay calm"
        assert _lang.decimal("0.25") == "0,25"
    assert t("Stay calm") == "Stay calm" and _lang.decimal("0.25") == "0.25"


class _Recording(dict):
    """A catalogue that records the phrases looked up in it and not found."""

    def __init__(self, *args):
        super().__init__(*args)
        self.missing, self.used = set(), set()

    def get(self, key, default=None):
        (self.used if key in self else self.missing).add(key)
        return super().get(key, default)


def test_every_phrase_the_reports_say_is_in_the_french_catalogue(monkeypatch):
    """Rendering French reports (plots, a batch's overview page) of calls that reach every branch (curves that
    rise, fall, flare up, stay or turn around between their ends; a side unscored; nothing found; recalibrated
    models; notes on the audio; no windows at all) looks up only phrases the catalogue holds, and every phrase it
    holds."""
    recording = _Recording(_lang.FR)
    monkeypatch.setattr(_lang, "FR", recording)
    unscored = _summary()
    unscored["speakers"]["agent"]["anger_mean"] = float("nan")
    caller_unscored = _summary()
    caller_unscored["speakers"]["caller"]["anger_mean"] = None
    windows = _windows()
    flare = windows.copy()
    flare.loc[flare.speaker == "caller", "anger"] = 0.2
    flare.loc[(flare.speaker == "caller") & (flare.start_s == 30.0), "anger"] = 0.95
    flare.loc[flare.speaker == "agent", "calm"] = 0.9
    flare.loc[(flare.speaker == "agent") & (flare.start_s == 30.0), "calm"] = 0.1
    def shaped(caller_anger, agent_calm, agent_warmth):
        """The windows with each curve given as a function of the window's start (s)."""
        w = windows.copy()
        for speaker, measure, curve in (("caller", "anger", caller_anger), ("agent", "calm", agent_calm),
                                        ("agent", "warmth", agent_warmth)):
            rows = w.speaker == speaker
            w.loc[rows, measure] = w.loc[rows, "start_s"].map(curve)
        return w

    middle = lambda at_ends, between: lambda s: between if 25 <= s <= 32 else at_ends   # noqa: E731
    # caller anger rises, agent calm falls, agent warmth rises
    trends = shaped(lambda s: s / 60, lambda s: 1 - s / 60, lambda s: s / 60)
    # high anger at both ends, down between; calm low at both ends, up between; warmth dips and comes back
    turns_around = shaped(middle(0.8, 0.1), middle(0.2, 0.9), middle(0.8, 0.2))
    low = shaped(lambda s: 0.2, lambda s: 0.2, lambda s: 1 - s / 60)   # two stay low, warmth falls
    angry = _summary()
    angry["caller_angry_spans"] = [[5.0, 20.0], [30.0, 40.0]]
    angry["silences"].update(total_s=7.5, share=0.125)
    all_events = pd.DataFrame([
        {"start_s": 1.0, "end_s": 1.5, "tip": 7, "kind": "no_smile", "speaker": "agent", "severity": 0.5,
         "evidence": "agent warmth 0.21 and smile cue -1.5 % for 31 s"},
        {"start_s": 1.0, "end_s": 9.0, "tip": 8, "kind": "mirrored_anger", "speaker": "agent", "severity": 0.5,
         "evidence": "agent anger 0.72 while caller anger 0.39; agent pitch -0.3 st, loudness -1.1 dB"},
        {"start_s": 50.0, "end_s": 58.0, "tip": 12, "kind": "long_silence", "speaker": "none", "severity": 0.3,
         "evidence": "nobody spoke for 8.1 s (from 0:50)"},
        {"start_s": 20.0, "end_s": 28.0, "tip": 8, "kind": "escalation", "speaker": "agent", "severity": 0.6,
         "evidence": "agent pitch +3.5 st and loudness +4.2 dB above usual while caller anger 0.81"},
    ], columns=EVENT_COLUMNS)
    recalibrated = {"recalibration": {"anger": (0.5, -1.0), "calm": (1.2, 0.1), "warmth": (0.9, 0.0)}}
    calls = [
        _analysis(), _analysis(summary=angry, events=all_events, warnings=["music on hold at 0:50-0:58"]),
        _analysis(windows=flare), _analysis(windows=trends), _analysis(windows=turns_around), _analysis(windows=low),
        _analysis(summary=unscored), _analysis(summary=caller_unscored),
        _analysis(events=pd.DataFrame(columns=EVENT_COLUMNS), options=recalibrated),
        _analysis(summary=unscored, events=pd.DataFrame(columns=EVENT_COLUMNS)),
        _analysis(summary=caller_unscored, events=pd.DataFrame(columns=EVENT_COLUMNS)),
        _analysis(windows=pd.DataFrame(columns=WINDOW_COLUMNS), events=pd.DataFrame(columns=EVENT_COLUMNS),
                  summary={"duration_s": None, "speakers": {"agent": None}, "events_per_tip": {}}),
    ]
    for a in calls:
        render_text(a, color=False, lang="fr")
        render_html(a, lang="fr", back="../calls.html")
    for a in calls[:2]:
        plot_analysis(a, lang="fr")
    from tonekit.batch import OVERVIEW_COLUMNS
    from tonekit.report.html import render_overview

    overview = pd.DataFrame([{"report": "call.json", "path": "/calls/call.wav", "duration_s": 61.0}],
                            columns=OVERVIEW_COLUMNS)
    render_overview(overview, pages={"call.json": "html/call.html"}, failures={"/calls/x.wav": "x: empty"},
                    lang="fr")
    render_overview(pd.concat([overview, overview.assign(report="other.json")]), pages={}, lang="fr")
    assert recording.missing == set()
    assert set(recording) - recording.used == set()   # and no phrase left in it that nothing says


@pytest.mark.parametrize("english, french", [
    ("agent anger 0.72 while caller anger 0.39; agent pitch -0.3 st, loudness -1.1 dB",
     "colère de la secrétaire 0,72 alors que celle de l'appelant est de 0,39 ; hauteur de sa voix -0,3 demi-ton, "
     "intensité -1,1 dB"),
    ("caller anger 0.73 while agent warmth 0.74 and pitch +4.1 st",
     "colère de l'appelant 0,73 alors que la chaleur de la secrétaire est de 0,74 et la hauteur de sa voix "
     "+4,1 demi-tons"),
    ("agent pitch +3.5 st and loudness +4.2 dB above usual while caller anger 0.81",
     "hauteur de voix de la secrétaire +3,5 demi-tons et intensité +4,2 dB au-dessus de l'habitude, alors que la "
     "colère de l'appelant est de 0,81"),
    ("agent warmth 0.21 and smile cue -1.5 % for 31 s",
     "chaleur de la secrétaire 0,21 et indice de sourire -1,5 % pendant 31 s"),
    ("agent started at 0:21 while the caller was speaking; they talked over each other for 1.5 s",
     "la secrétaire a commencé à 0:21 pendant que l'appelant parlait ; ils ont parlé en même temps pendant 1,5 s"),
    ("nobody spoke for 8.1 s (from 12:50)", "personne n'a parlé pendant 8,1 s (à partir de 12:50)"),
    ("caller anger nan while agent warmth 0.74 and pitch +4.1 st",
     "colère de l'appelant nan alors que la chaleur de la secrétaire est de 0,74 et la hauteur de sa voix "
     "+4,1 demi-tons"),
    ("an evidence tonekit did not write: 0.5", "an evidence tonekit did not write: 0.5"),
])
def test_evidence_in_french(english, french):
    with language("fr"):
        assert evidence(english) == french
    assert evidence(english) == english


def test_every_kinds_evidence_reads_back_and_has_its_french():
    import string

    from tonekit.match import EVIDENCE
    from tonekit.notes import parse
    from tonekit.report._lang import EVIDENCE_FR

    assert set(EVIDENCE_FR) == set(EVIDENCE)
    sample = {"anger": "0.72", "caller_anger": "0.39", "pitch": "+2.5", "loudness": "-1.1", "warmth": "0.74",
              "smile": "-1.5", "seconds": "31", "time": "12:05"}
    for kind, template in EVIDENCE.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        english = template.format(**{f: sample[f] for f in fields})
        assert parse(english, EVIDENCE) == (kind, {f: sample[f] for f in fields})
        with language("fr"):
            french = evidence(english)
        assert "{" not in french and "agent" not in french and not re.search(r"\d\.\d", french), french
        assert "2,5 demi-tons" in french if "pitch" in fields else True


def test_every_evidence_the_demo_gets_is_said_in_french(demo_analysis):
    """The matcher's own sentences (the demo's four kinds of event) all have their French."""
    assert len(demo_analysis.events) >= 4
    with language("fr"):
        for said in demo_analysis.events.evidence:
            french = evidence(said)
            assert french != said and not re.search(r"\d\.\d", french), said


def test_the_matchers_tip_7_and_8_sentences_are_said_in_french():
    """The two kinds the demo lacks, as the matcher writes them (test_match's hand-made tracks): no smile for
    30 s of a cold agent, and an agent raising pitch and voice with an angry caller."""
    from tonekit.match import match

    from test_match import ANGRY, CALM, activity, windows_table

    cold = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}
    raised = {**CALM, "f0_st_mean": 4.0, "intensity_db_mean": 5.0}
    calls = (windows_table(90, agent={(0, 40): CALM, (40, 70): cold, (70, 90): CALM}, caller={(0, 90): CALM}),
             windows_table(60, agent={(0, 20): CALM, (20, 40): raised, (40, 60): CALM}, caller={(0, 50): ANGRY}))
    said = {}
    for w in calls:
        for e in match(w, activity(int(w.end_s.max()), [], []), duration_s=float(w.end_s.max())).itertuples():
            said[e.kind] = e.evidence
    assert set(said) == {"no_smile", "escalation"}
    with language("fr"):
        assert re.fullmatch(r"chaleur de la secrétaire 0,1\d et indice de sourire \+0,0 % pendant \d+ s",
                            evidence(said["no_smile"])), said["no_smile"]
        assert re.fullmatch(r"hauteur de voix de la secrétaire \+\d,\d demi-tons et intensité \+\d,\d dB au-dessus "
                            r"de l'habitude, alors que la colère de l'appelant est de 0,\d\d",
                            evidence(said["escalation"])), said["escalation"]


def test_french_html_report():
    page = render_html(_analysis(), lang="fr")
    assert '<html lang="fr">' in page and "<h1>Rapport de ton</h1>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.wav" in page and "<script>" not in page
    assert ('<th scope="col">Moment</th><th class="num" scope="col">Conseil</th><th scope="col">Type</th>'
            in page)
    assert "<h2>Événements (3)</h2>" in page and "Pauses en tout" not in page   # no total in this summary
    assert '<td class="num">42 %</td>' in page


def test_french_plot_labels():
    fig = plot_analysis(_analysis(), lang="fr")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "moment de l'appel (m:ss)"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert {"Colère de l'appelant", "Calme de la secrétaire", "secrétaire parle",
            "événement (conseil)"} <= set(legend)
    assert [label.get_text() for label in ax.get_yticklabels()][:3] == ["0", "0,25", "0,5"]
    assert sorted(text.get_text() for text in ax.texts) == ["conseil 1", "conseil 8", "conseil 9"]
    assert plot_analysis(_analysis()).axes[0].get_xlabel() == "time in the call (m:ss)"


@pytest.fixture(scope="module")
def demo_analysis():
    return tonekit.analyze(tonekit.demo_path())


def test_cli_lang_option_and_environment(tmp_path, demo_analysis, monkeypatch):
    """``--lang fr`` and ``TONEKIT_LANG=fr`` give the French reports; the JSON report stays the same data."""
    monkeypatch.setattr("tonekit.cli._analyze", lambda *args, **kwargs: demo_analysis)
    r = CliRunner().invoke(main, ["demo", "--lang", "fr", "-q"])
    assert r.exit_code == 0, r.output
    assert "En bref" in r.output and "Conseil 9 — Adapter son ton" in r.output and "In short" not in r.output
    out = tmp_path / "r.html"
    r = CliRunner(env={"TONEKIT_LANG": "fr"}).invoke(main, ["report", str(tonekit.demo_path()), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert '<html lang="fr">' in out.read_text(encoding="utf-8")
    r = CliRunner(env={"TONEKIT_LANG": "fr"}).invoke(main, ["report", str(tonekit.demo_path()), "--format", "json"])
    assert json.loads(r.output)["events"][0]["kind"] in {"interruption", "upbeat_vs_angry"}
    r = CliRunner().invoke(main, ["demo", "--lang", "de"])
    assert r.exit_code == 2 and "'de' is not one of 'en', 'fr'" in r.output


def test_readme_shows_the_demos_french_report_as_it_is(demo_analysis):
    """README, Reports in French: its lines are the demo's French report's first lines (scripts/make_docs.py)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(rapport tonekit : demo_call\.flac\n.*?)```", readme, re.S).group(1).splitlines()
    assert len(shown) == 9
    assert render_text(demo_analysis, color=False, lang="fr").splitlines()[:9] == shown


#: A value for every field of tonekit.notes' templates (numbers as the call sites format them).
_FIELDS = {"path": "calls/c 1.wav", "what": "channel 1", "dc": "+0.050", "dbfs": "-26", "side": "caller",
           "other": "agent", "spans": "0:50-0:58, 1:10-1:12", "db": "12", "hz": "150", "ms": "180",
           "percent": "0.15", "seconds": "42.5", "other_seconds": "90.2", "time": "0:42", "other_hz": "8000",
           "rate": "8000", "name": "mix.wav", "duration": "60.0", "need": "1", "count": "1", "window": "3",
           "windows": "window", "reference": "3", "missing": "population_baseline",
           "error": "Pitch analysis: not enough pulses"}


def test_every_note_reads_back_and_is_said_in_french():
    """Each warning template of tonekit.notes gives back its fields (parse), and its French names the side,
    the channel and the numbers the French way, with nothing of the English template left."""
    import string

    from tonekit.notes import NOTES, note, parse
    from tonekit.report._lang import NOTES_FR, note_text

    assert set(NOTES_FR) == set(NOTES)
    for key, template in NOTES.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        english = note(key, **{f: _FIELDS[f] for f in fields})
        assert parse(english) == (key, {f: _FIELDS[f] for f in fields})
        assert note_text(english) == english   # English outside a French report
        with language("fr"):
            french = note_text(english)
        assert "{" not in french and french != english, french
        assert french.startswith("calls/c 1.wav : ") or "path" not in fields
        for english_word in ("side", "speech", "found", "channel", "caller", "agent"):
            assert english_word not in french, (key, french)
        if "seconds" in fields:
            assert "42,5 s" in french
    with language("fr"):
        assert note_text(note("echo", **_FIELDS)) == (
            "calls/c 1.wav : la voix de la secrétaire revient côté appelant (canal 1) 180 ms plus tard, 12 dB plus "
            "bas (écho de ligne) : écartée de sa parole")
        assert note_text(note("clipped", **{**_FIELDS, "what": "audio"})) == (
            "calls/c 1.wav : l'audio est légèrement écrêté (0,15 % des échantillons à pleine échelle)")
        assert note_text("something tonekit did not write: 0.5") == "something tonekit did not write: 0.5"


def test_the_demo_with_music_on_hold_has_its_note_in_french(tmp_path):
    """The demo with synthetic music in its hold (test_pipeline's helper): the note as the pipeline warns of it,
    said in French in the French report."""
    from test_pipeline import _demo_with_hold_music

    _, path = _demo_with_hold_music(tmp_path, 1)
    with pytest.warns(UserWarning, match="music on hold"):
        a = tonekit.analyze(path)
    english = [n for n in a.warnings if "music on hold" in n]
    assert len(english) == 1
    text = render_text(a, color=False, lang="fr")
    assert "Remarques sur l'audio" in text and "music on hold" not in text
    assert re.search(r"son continu, pas de la parole, côté appelant \(canal 1\) à 0:\d\d-0:\d\d \(musique "
                     r"d'attente \?\) : écarté de sa parole", text), text


@pytest.mark.browser
def test_french_page_and_batch_overview_render_in_headless_chromium(tmp_path):
    """The French HTML report and a batch's overview page open in a real browser: their accented text arrives
    whole (UTF-8), the overview's link is there, and neither page logs anything."""
    from test_report import CHROMIUM, _chromium

    from tonekit.batch import OVERVIEW_COLUMNS
    from tonekit.report.html import render_overview

    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (Debian package 'chromium'); .ci/run installs it")
    page = tmp_path / "report.html"
    page.write_text(render_html(_analysis(), lang="fr", back="calls.html"), encoding="utf-8")
    overview = tmp_path / "calls.html"
    table = pd.DataFrame([{"report": "appel-été.json", "path": "/appels/appel-été.wav", "duration_s": 61.0,
                           "tip8_not_calm": 2}], columns=OVERVIEW_COLUMNS)
    overview.write_text(render_overview(table, pages={"appel-été.json": "report.html"},
                                        failures={"/appels/x.wav": "/appels/x.wav: empty file"}, lang="fr"),
                        encoding="utf-8")
    for html, expected in ((page, ["Rapport de ton", "Événements (3)", "Conseil 9 — Adapter son ton",
                                   "← Tous les appels"]),
                           (overview, ["tonekit batch : 1 appel<", "appel-été", "Non analysés (1)"])):
        dump = _chromium(tmp_path, html.stem, "--dump-dom", html.as_uri())
        assert dump.returncode == 0, dump.stderr[-2000:]
        for text in expected:
            assert text in dump.stdout, text
        messages = [line for line in dump.stderr.splitlines()
                    if "Uncaught" in line or re.search(r"CONSOLE[:(]", line) or html.as_uri() in line]
        assert messages == []
