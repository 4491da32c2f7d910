"""The matcher on hand-made tone tracks and speech timelines with known answers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tonekit.activity import Activity
from tonekit.analysis import WINDOW_COLUMNS
from tonekit.errors import ParameterError
from tonekit.match import (MatchOptions, caller_angry_spans, hysteresis, interruption_events, match,
                           silence_events)

HOP = 0.01


def windows_table(duration_s, agent: dict, caller: dict):
    """Windows every 1 s (3 s long) for both speakers; ``agent``/``caller`` map (start, end) -> scores."""
    rows = []
    for spk, spans in (("agent", agent), ("caller", caller)):
        for s in np.arange(0, duration_s - 2, 1.0):
            centre = s + 1.5
            row = dict.fromkeys(WINDOW_COLUMNS, np.nan)
            row.update(speaker=spk, start_s=s, end_s=s + 3, speech_s=0.0)
            for (a, b), scores in spans.items():
                if a <= centre < b:
                    row.update({"speech_s": 2.5, "f0_st_mean": 0.0, "intensity_db_mean": 0.0, "smile_cue": 0.0, **scores})
            rows.append(row)
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def activity(duration_s, agent_spans, caller_spans):
    n = int(duration_s / HOP)
    speech = {}
    for spk, spans in (("agent", agent_spans), ("caller", caller_spans)):
        m = np.zeros(n, bool)
        for a, b in spans:
            m[int(a / HOP): int(b / HOP)] = True
        speech[spk] = m
    return Activity(HOP, {s: np.zeros(n) for s in speech}, speech)


CALM = {"anger": 0.1, "calm": 0.8, "warmth": 0.5}
ANGRY = {"anger": 0.9, "calm": 0.05, "warmth": 0.2}
CHEERFUL = {"anger": 0.3, "calm": 0.05, "warmth": 0.9}


def kinds(events):
    return [(int(e.tip), e.kind) for e in events.itertuples()]


def test_hysteresis_needs_on_to_start_and_off_to_stop():
    x = np.array([0.3, 0.6, 0.45, 0.45, 0.3, np.nan, 0.55])
    assert hysteresis(x, 0.5, 0.4).tolist() == [False, True, True, True, False, False, True]


def test_calm_agent_with_angry_caller_is_not_flagged():
    w = windows_table(60, agent={(0, 60): CALM}, caller={(0, 60): ANGRY})
    ev = match(w, activity(60, [], []), duration_s=60)
    assert kinds(ev) == []
    # no events is the same table as some: whole tips, text kinds, float times (not all-object columns)
    some = match(windows_table(60, agent={(0, 60): ANGRY}, caller={(0, 60): ANGRY}), activity(60, [], []),
                 duration_s=60)
    assert len(some) and ev.dtypes.to_dict() == some.dtypes.to_dict() and ev.dtypes["tip"] == np.int64


@pytest.mark.parametrize("agent_tone, expected", [(ANGRY, [(8, "mirrored_anger")]),
                                                   (CHEERFUL, [(9, "upbeat_vs_angry")])])
def test_aroused_agent_facing_angry_caller(agent_tone, expected):
    w = windows_table(60, agent={(0, 20): CALM, (20, 40): agent_tone, (40, 60): CALM},
                      caller={(0, 50): ANGRY})
    ev = match(w, activity(60, [], []), duration_s=60)
    assert kinds(ev) == expected
    assert ev.start_s.iloc[0] == pytest.approx(20, abs=2) and ev.end_s.iloc[0] == pytest.approx(40, abs=2)


def test_angry_then_cheerful_agent_in_one_aroused_stretch_gives_both_tips_moment_by_moment():
    # the agent is aroused from 20 to 80 s without a calm break: angry for 30 s, then cheerful for 30 s
    w = windows_table(110, agent={(0, 20): CALM, (20, 50): ANGRY, (50, 80): CHEERFUL, (80, 110): CALM},
                      caller={(0, 95): ANGRY})
    ev = match(w, activity(110, [], []), MatchOptions(valence_per_stretch=False), duration_s=110)
    assert kinds(ev) == [(8, "mirrored_anger"), (9, "upbeat_vs_angry")]
    # the switch is placed where the running means of anger and warmth cross (within a quarter window)
    boundary = (ev.end_s.iloc[0] + ev.start_s.iloc[1]) / 2
    assert boundary == pytest.approx(50, abs=MatchOptions().valence_window_s / 4)
    assert ev.start_s.iloc[0] == pytest.approx(20, abs=2) and ev.end_s.iloc[1] == pytest.approx(80, abs=2)


def test_calm_sounding_words_inside_an_angry_complaint_do_not_end_it():
    # the caller is angry (0.8) from 10 to 70 s, but 7 s of it (38-45 s) read calm (0.2)
    lull = {"anger": 0.2, "calm": 0.6, "warmth": 0.3}
    w = windows_table(90, agent={}, caller={(0, 10): CALM, (10, 70): {**ANGRY, "anger": 0.8}, (38, 45): lull,
                                            (70, 90): CALM})
    spans = caller_angry_spans(w, MatchOptions())
    assert len(spans) == 1
    assert spans[0][0] == pytest.approx(10, abs=3) and spans[0][1] == pytest.approx(70, abs=3)
    # judged window by window, the lull splits the complaint in two
    assert len(caller_angry_spans(w, MatchOptions(caller_window_s=1.0))) == 2


def test_cheerful_agent_with_calm_caller_is_fine():
    w = windows_table(60, agent={(0, 60): CHEERFUL}, caller={(0, 60): CALM})
    assert kinds(match(w, activity(60, [], []), duration_s=60)) == []


def test_one_odd_window_does_not_flag():
    w = windows_table(60, agent={(0, 60): CALM}, caller={(0, 60): ANGRY})
    w.loc[(w.speaker == "agent") & (w.start_s == 30), ["anger", "calm", "warmth"]] = [0.95, 0.0, 0.1]
    assert kinds(match(w, activity(60, [], []), duration_s=60)) == []


def test_no_smile_needs_20_s_and_a_calm_caller():
    cold = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}
    long_cold = windows_table(90, agent={(0, 40): CALM, (40, 70): cold, (70, 90): CALM}, caller={(0, 90): CALM})
    ev = match(long_cold, activity(90, [], []), duration_s=90)
    assert kinds(ev) == [(7, "no_smile")]
    assert ev.start_s.iloc[0] == pytest.approx(40, abs=2) and ev.end_s.iloc[0] == pytest.approx(70, abs=2)
    short_cold = windows_table(90, agent={(0, 40): CALM, (40, 55): cold, (55, 90): CALM}, caller={(0, 90): CALM})
    assert kinds(match(short_cold, activity(90, [], []), duration_s=90)) == []
    angry_caller = windows_table(90, agent={(0, 90): cold}, caller={(0, 90): ANGRY})
    assert kinds(match(angry_caller, activity(90, [], []), duration_s=90)) == []


def test_no_smile_judges_warmth_over_several_turns_not_odd_windows():
    warm = {"anger": 0.1, "calm": 0.6, "warmth": 0.6}
    cold = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}
    # 80 s of warm talk in which every 7th second two windows read cold (model noise);
    # windows_table applies the spans in order, so the short cold ones override the warm one
    spans = {(0, 80): warm}
    for s in range(5, 75, 7):
        spans[(s, s + 2)] = cold
    w = windows_table(80, agent=spans, caller={(0, 80): CALM})
    assert (w[w.speaker == "agent"].warmth < 0.4).sum() == 20
    assert kinds(match(w, activity(80, [], []), duration_s=80)) == []
    # while steady cold talk is flagged
    w2 = windows_table(80, agent={(0, 80): cold}, caller={(0, 80): CALM})
    assert kinds(match(w2, activity(80, [], []), duration_s=80)) == [(7, "no_smile")]


def test_cheer_after_the_caller_calmed_down_is_not_a_mismatch():
    # caller angry 0-40 s, then calm; the agent is calm, then cheerful from 43 s (3 s after the anger ended)
    w = windows_table(90, agent={(0, 43): CALM, (43, 90): CHEERFUL}, caller={(0, 40): ANGRY, (40, 90): CALM})
    assert kinds(match(w, activity(90, [], []), duration_s=90)) == []
    # with a long context the cheer right after the anger is flagged
    ev = match(w, activity(90, [], []), MatchOptions(caller_context_s=12.0), duration_s=90)
    assert kinds(ev) == [(9, "upbeat_vs_angry")]


def test_no_smile_waits_its_own_context_after_caller_anger():
    cold = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}
    # the agent is cold from 40 s to the end; the caller's anger ends at 40 s
    w = windows_table(90, agent={(0, 40): CALM, (40, 90): cold}, caller={(0, 40): ANGRY, (40, 90): CALM})
    ev = match(w, activity(90, [], []), duration_s=90)
    assert kinds(ev) == [(7, "no_smile")]
    assert ev.start_s.iloc[0] == pytest.approx(40 + MatchOptions().no_smile_context_s, abs=2)
    later = match(w, activity(90, [], []), MatchOptions(no_smile_context_s=20.0), duration_s=90)
    assert later.start_s.iloc[0] == pytest.approx(60, abs=2)


def test_interruption_but_not_backchannel_or_turn_change():
    caller = [(0.0, 10.0), (20.0, 30.0)]
    agent = [(4.0, 4.3),        # backchannel "mm" inside the caller's turn: 0.3 s overlap
             (8.5, 14.0),       # starts 1.5 s before the caller finishes: interruption
             (30.4, 35.0)]      # answers after the caller finished: no overlap
    ev = pd.DataFrame(interruption_events(activity(40, agent, caller).speech, HOP, MatchOptions()))
    assert len(ev) == 1
    assert ev.start_s[0] == pytest.approx(8.5) and ev.end_s[0] == pytest.approx(10.0)
    assert ev.tip[0] == 1 and ev.kind[0] == "interruption"


def test_long_silence_threshold_and_call_edges():
    act = activity(60, [(0, 10), (30, 40)], [(16, 28), (40.5, 55)])
    ev = silence_events(act.silences(min_dur_s=1.0), MatchOptions(), duration_s=60)
    # gaps: 10-16 (6 s, flagged), 28-30 (2 s), 40-40.5, 55-60 (end of call: not a hold)
    assert [(e["start_s"], e["end_s"]) for e in ev] == [(10.0, 16.0)]
    assert silence_events(act.silences(min_dur_s=1.0), MatchOptions(long_silence_s=7), duration_s=60) == []


@pytest.mark.parametrize("per_stretch", [True, False])
def test_mirrored_anger_can_ask_for_the_agents_raised_voice(per_stretch):
    # the agent reads angry from 20 to 40 s; first with pitch and loudness below its usual (-2 st, -2 dB)
    def calls(pitch_st, loudness_db):
        tone = {**ANGRY, "f0_st_mean": pitch_st, "intensity_db_mean": loudness_db}
        return windows_table(60, agent={(0, 20): CALM, (20, 40): tone, (40, 60): CALM}, caller={(0, 50): ANGRY})

    def tips(w, **opts):
        return kinds(match(w, activity(60, [], []), MatchOptions(valence_per_stretch=per_stretch, **opts),
                           duration_s=60))

    low = calls(-2.0, -2.0)
    assert tips(low) == [(8, "mirrored_anger")]          # the default: the anger model alone decides
    assert tips(low, mirrored_needs_rise=True) == []     # a voice below usual is not escalating
    assert tips(low, mirrored_needs_rise=True, mirrored_rise_st=-3.0) == [(8, "mirrored_anger")]
    # pitch or loudness raised is enough
    assert tips(calls(2.0, -2.0), mirrored_needs_rise=True) == [(8, "mirrored_anger")]
    assert tips(calls(-2.0, 1.0), mirrored_needs_rise=True) == [(8, "mirrored_anger")]
    assert tips(calls(2.0, -2.0), mirrored_needs_rise=True, mirrored_rise_st=2.5) == []
    # a gated-out angry stretch is not called upbeat instead
    assert tips(low, mirrored_needs_rise=True, upbeat_on=0.1) == []


def test_mirrored_rise_thresholds_are_checked():
    assert MatchOptions(mirrored_rise_st=-1.5, mirrored_rise_db=-2).mirrored_rise_db == -2
    with pytest.raises(ParameterError, match="mirrored_rise_st must be in -20..20"):
        MatchOptions(mirrored_rise_st=25.0)
    with pytest.raises(ParameterError, match="mirrored_needs_rise must be 0 or 1"):
        MatchOptions.from_kwargs(mirrored_needs_rise=0.5)


def test_valence_per_stretch_gives_one_verdict_for_an_aroused_stretch():
    # aroused from 20 to 60 s: 12 s read angry, then 28 s cheerful; the stretch as a whole is cheerful
    agent = {(0, 20): CALM, (20, 32): ANGRY, (32, 60): CHEERFUL, (60, 90): CALM}
    w = windows_table(90, agent=agent, caller={(0, 75): ANGRY})
    running = match(w, activity(90, [], []), MatchOptions(valence_window_s=9.0, valence_per_stretch=False),
                    duration_s=90)
    assert kinds(running) == [(8, "mirrored_anger"), (9, "upbeat_vs_angry")]
    one = match(w, activity(90, [], []), duration_s=90)   # the default: one verdict per stretch
    assert kinds(one) == [(9, "upbeat_vs_angry")]
    assert one.start_s.iloc[0] == pytest.approx(20, abs=2) and one.end_s.iloc[0] == pytest.approx(60, abs=2)
    # anger leading over the whole stretch makes all of it tip 8
    agent = {(0, 20): CALM, (20, 48): ANGRY, (48, 60): CHEERFUL, (60, 90): CALM}
    w = windows_table(90, agent=agent, caller={(0, 75): ANGRY})
    assert kinds(match(w, activity(90, [], []), duration_s=90)) == [(8, "mirrored_anger")]


def test_cheer_before_the_caller_turns_angry_is_not_a_mismatch():
    # turn by turn: the caller asks calmly (0-10 s), the agent answers cheerfully (10-30 s), then the
    # caller complains angrily (30-45 s, 60-75 s) and the agent replies calmly
    w = windows_table(90, agent={(10, 30): CHEERFUL, (45, 60): CALM, (75, 90): CALM},
                      caller={(0, 10): CALM, (30, 45): ANGRY, (60, 75): ANGRY})
    spans = caller_angry_spans(w, MatchOptions())
    assert len(spans) == 1 and spans[0][0] == pytest.approx(30, abs=1.5)
    assert kinds(match(w, activity(90, [], []), duration_s=90)) == []
    # the centred 19-s mean alone sees the anger coming 10 s early, over the cheerful answer
    early = caller_angry_spans(w, MatchOptions(caller_onset_s=0))
    assert early[0][0] < 25
    ev = match(w, activity(90, [], []), MatchOptions(caller_onset_s=0), duration_s=90)
    assert kinds(ev) == [(9, "upbeat_vs_angry")] and ev.end_s.iloc[0] == pytest.approx(30, abs=2.5)


def test_trim_to_verdict_starts_tip_9_where_the_agent_sounds_upbeat():
    """The demo's case: a tense reply (not calm, neither warm nor angry) runs into a cheerful stretch with no calm
    break. The stretch is one verdict (tip 9) either way; trimmed, the event starts at the cheer (30 s), not at
    the tense reply (20 s)."""
    tense = {"anger": 0.3, "calm": 0.2, "warmth": 0.1}
    agent = {(0, 20): CALM, (20, 30): tense, (30, 50): CHEERFUL, (50, 80): CALM}
    w = windows_table(80, agent=agent, caller={(0, 60): ANGRY})
    whole = match(w, activity(80, [], []), duration_s=80)
    trimmed = match(w, activity(80, [], []), MatchOptions(trim_to_verdict=True), duration_s=80)
    assert kinds(whole) == kinds(trimmed) == [(9, "upbeat_vs_angry")]
    assert whole.start_s.iloc[0] == pytest.approx(20, abs=2)
    assert trimmed.start_s.iloc[0] == pytest.approx(30, abs=2)
    assert whole.end_s.iloc[0] == pytest.approx(trimmed.end_s.iloc[0]) == pytest.approx(50, abs=2)


def test_tone_events_start_and_end_with_the_agents_speech():
    """Windows reach 1.5 s either side of their centre; by default a tone event is narrowed to the agent's turns
    inside it (22.4-37.6 s here), and kept as the windows give it without."""
    w = windows_table(60, agent={(0, 20): CALM, (20, 40): CHEERFUL, (40, 60): CALM}, caller={(0, 50): ANGRY})
    act = activity(60, [(2, 18), (22.4, 30), (30.3, 37.6), (42, 58)], [])
    snapped = match(w, act, duration_s=60)
    loose = match(w, act, MatchOptions(snap_to_speech=False), duration_s=60)
    assert kinds(snapped) == kinds(loose) == [(9, "upbeat_vs_angry")]
    assert (snapped.start_s.iloc[0], snapped.end_s.iloc[0]) == (22.4, 37.6)
    assert loose.start_s.iloc[0] < 21 and loose.end_s.iloc[0] > 39


def test_snapped_event_states_its_narrowed_length():
    """A tip 7 event narrowed to the agent's turns (30.9-40.5 s inside 28-60 s) says it lasted 10 s, not 32."""
    from tonekit.match import snapped_to_speech

    turns = pd.DataFrame({"speaker": ["agent", "caller", "agent"], "start_s": [21.7, 27.1, 30.9],
                          "end_s": [26.6, 30.3, 40.5]})
    ev = {"speaker": "agent", "start_s": 28.0, "end_s": 60.0, "tip": 7, "kind": "no_smile",
          "evidence": "agent warmth 0.21 and smile cue -3.0 % for 32 s"}
    (e,) = snapped_to_speech([ev], turns)
    assert (e["start_s"], e["end_s"]) == (30.9, 40.5)
    assert e["evidence"] == "agent warmth 0.21 and smile cue -3.0 % for 10 s"
    other = {**ev, "tip": 8, "kind": "mirrored_anger", "evidence": "agent anger 0.84 while caller anger 0.87"}
    assert snapped_to_speech([other], turns)[0]["evidence"] == other["evidence"]


# an overlap of exactly interruption_min_overlap_s (0.5 s) is an interruption
def test_interruption_needs_at_least_not_more_than_the_minimum_overlap():
    caller = [(0.0, 10.0)]
    ev = interruption_events(activity(20, [(9.5, 14.0)], caller).speech, HOP, MatchOptions())
    assert [(e["start_s"], e["end_s"]) for e in ev] == [(9.5, 10.0)]
    assert interruption_events(activity(20, [(9.6, 14.0)], caller).speech, HOP, MatchOptions()) == []


# a silence of exactly long_silence_s is a hold
def test_silence_of_exactly_long_silence_s_is_flagged():
    act = activity(30, [(0, 10), (15, 30)], [])
    ev = silence_events(act.silences(min_dur_s=1.0), MatchOptions(), duration_s=30)
    assert [(e["start_s"], e["end_s"]) for e in ev] == [(10.0, 15.0)]


# on a telephone-band call the agent needs anger 0.10 (not 0.05) over warmth to count as angry
def test_narrowband_call_asks_a_wider_valence_margin():
    tone = {"anger": 0.70, "calm": 0.05, "warmth": 0.62}      # anger leads warmth by 0.08
    calm = {**tone, "calm": 0.8}                              # the same anger and warmth, but calm
    w = windows_table(60, agent={(0, 20): calm, (20, 40): tone, (40, 60): calm}, caller={(0, 50): ANGRY})
    assert kinds(match(w, activity(60, [], []), duration_s=60)) == [(8, "mirrored_anger")]
    assert kinds(match(w, activity(60, [], []), duration_s=60, narrowband=True)) == [(9, "upbeat_vs_angry")]


# escalation (tip 8) needs pitch AND loudness raised while the caller is angry
@pytest.mark.parametrize("pitch_st, loud_db, expected", [(4.0, 5.0, [(8, "escalation")]), (4.0, 0.0, []),
                                                         (0.0, 5.0, [])])
def test_escalation_needs_pitch_and_loudness_raised(pitch_st, loud_db, expected):
    raised = {**CALM, "f0_st_mean": pitch_st, "intensity_db_mean": loud_db}
    w = windows_table(60, agent={(0, 20): CALM, (20, 40): raised, (40, 60): CALM}, caller={(0, 50): ANGRY})
    ev = match(w, activity(60, [], []), duration_s=60)
    assert kinds(ev) == expected
    if expected:
        assert ev.start_s.iloc[0] == pytest.approx(20, abs=2) and ev.end_s.iloc[0] == pytest.approx(40, abs=2)


# tip 7 needs the smile cue low too: a cold-warmth agent whose formants are raised (smiling) is not flagged
def test_no_smile_is_not_flagged_when_the_smile_cue_is_high():
    cold = {"anger": 0.1, "calm": 0.8, "warmth": 0.1}
    w = windows_table(80, agent={(0, 80): cold}, caller={(0, 80): CALM})
    assert kinds(match(w, activity(80, [], []), duration_s=80)) == [(7, "no_smile")]
    w.loc[w.speaker == "agent", "smile_cue"] = np.where(w[w.speaker == "agent"].speech_s > 0, 4.0, np.nan)
    assert kinds(match(w, activity(80, [], []), duration_s=80)) == []


@pytest.mark.parametrize("win_s, hop_s", [(3.0, 1.0), (3.0, 0.3), (1.0, 0.1)])
def test_each_window_lands_on_its_own_grid_slot(win_s, hop_s):
    """Windows placed as speaker_windows places them (on the 10-ms frame grid, so centres like 1.7999999...):
    each window's value is read at its own centre, for any hop, not one slot later."""
    from tonekit.match import _grid, _track

    step = round(hop_s / HOP)
    starts = np.arange(0, round(60 / HOP), step) * HOP
    w = pd.DataFrame({"speaker": "agent", "start_s": starts, "end_s": starts + win_s, "speech_s": 2.0,
                      "anger": np.arange(len(starts), dtype=float)})
    grid = _grid(w)
    assert len(grid) == len(starts)
    np.testing.assert_array_equal(_track(w, "agent", grid, "anger"), np.arange(len(starts)))


def test_min_speech_s_is_what_the_matcher_reads_too():
    """Caller windows of 0.7 s of speech, scored angry (as analyze(min_speech_s=0.5) scores them), with an
    angry agent: read with min_speech_s=0.5 they make the caller angry and the agent's anger a tip 8;
    with the default 1 s they are not read: no angry caller, so no tip 8."""
    from tonekit.match import caller_angry_spans

    w = windows_table(60, agent={(0, 20): CALM, (20, 40): ANGRY, (40, 60): CALM}, caller={(0, 50): ANGRY})
    w.loc[w.speaker == "caller", "speech_s"] = np.where(w[w.speaker == "caller"].speech_s > 0, 0.7, 0.0)
    assert kinds(match(w, activity(60, [], []), duration_s=60, min_speech_s=0.5)) == [(8, "mirrored_anger")]
    assert caller_angry_spans(w, MatchOptions(), min_speech_s=0.5)
    assert (8, "mirrored_anger") not in kinds(match(w, activity(60, [], []), duration_s=60))
    assert caller_angry_spans(w, MatchOptions()) == []
