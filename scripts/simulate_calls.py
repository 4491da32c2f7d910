#!/usr/bin/env python3
"""Simulate two-speaker phone calls from emotional-speech corpora, with ground truth.

Each call joins utterances of two different actors of one corpus (EmoDB, RAVDESS
or nEMO) into a stereo call (agent on channel 0, caller on channel 1) that
follows a scripted timeline of phases:

========================  ===============  ======================================
phase (caller, agent)     agent emotion    truth event
========================  ===============  ======================================
neutral, warm             happiness        none (the good case)
neutral, calm  >= 25 s    neutral/calm     tip 7 ``no_smile`` (agent span >= 20 s)
neutral, calm  <  15 s    neutral/calm     none
angry,   calm             neutral/calm     none (the desired reaction to anger)
angry,   angry            anger            tip 8 ``mirrored_anger``
angry,   cheerful         happiness        tip 9 ``upbeat_vs_angry``
========================  ===============  ======================================

Turn-taking alternates between the two; gaps are 0.2-1.5 s (some 2.5-4 s);
about half the calls hold the caller for 6-12 s of silence (tip 12
``long_silence``); the agent sometimes starts 0.8-2 s before the caller has
finished (tip 1 ``interruption``, truth = the overlap) and sometimes drops a
0.15-0.4 s backchannel inside a caller utterance (not an interruption).

The line: each utterance is levelled to a target RMS (+-3 dB) and soft-clipped
(a phone line's AGC), the other side leaks into each channel at -25 dB
(+-3 dB), and there is line noise at -50 to -60 dBFS. A third of the calls
(``telephone_share``) are band-passed to 300-3400 Hz and written as 8 kHz
mu-law WAV; the rest are 16 kHz 16-bit FLAC. Each call has a JSON truth file
next to it (same stem).

Corpus audio must never be committed: the default output folder is a new
temporary folder, and writing inside the repository is refused.

Usage
-----
    python scripts/simulate_calls.py --corpora ../shared/corpora --n-calls 12 --seed 1
    python scripts/simulate_calls.py --n-calls 4 --speakers emodb_03,emodb_08 --out /tmp/calls

Python::

    sim = importlib.util.spec_from_file_location("simulate_calls", "scripts/simulate_calls.py") ...
    pool = sim.load_pool("../shared/corpora")
    audio, sr, truth = sim.compose_call(pool, seed=1, caller="emodb_03", agent="emodb_08")
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
if str(REPO) not in sys.path[:1]:   # this source tree's tonekit, not an older installed copy
    sys.path.insert(0, str(REPO))

from tonekit.augment import CODECS as LINE_CODECS  # noqa: E402
from tonekit.augment import active_level_db  # noqa: E402

SR = 16_000
TELEPHONE_SR = 8_000
CORPORA = ("emodb", "ravdess", "nemo")
CHANNEL = {"agent": 0, "caller": 1}

#: Which corpus emotions voice each state.
CALLER_EMOTIONS = {"angry": ("anger",), "neutral": ("neutral", "calm")}
AGENT_EMOTIONS = {"calm": ("neutral", "calm"), "warm": ("happiness",),
                  "cheerful_vs_angry": ("happiness",), "angry": ("anger",)}
BACKCHANNEL_EMOTIONS = ("neutral", "calm")

# Timeline parameters (seconds). Tip 7 truth needs an agent calm span of at
# least NO_SMILE_MIN_S; long calm phases aim well above it and short ones stay
# below SHORT_CALM_MAX_S, so nothing sits near the threshold.
NO_SMILE_MIN_S = 20.0
SHORT_CALM_MAX_S = 14.0
GAP_S = (0.2, 1.5)
LONG_GAP_S = (2.5, 4.0)
LONG_GAP_P = 0.08
HOLD_S = (6.0, 12.0)
HOLD_CALL_P = 0.5
OVERLAP_S = (0.8, 2.0)
INTERRUPT_P = {"angry": 0.35, "calm": 0.12, "warm": 0.08, "cheerful_vs_angry": 0.15}
BACKCHANNEL_S = (0.15, 0.4)
BACKCHANNEL_P = 0.3
PAUSE_IN_TURN_S = (0.15, 0.5)
CALL_TARGET_S = (130.0, 260.0)   # planned length; a call ends near it and before CALL_MAX_S
CALL_MAX_S = 285.0
#: Caller timelines: blocks alternating neutral and angry, or angry throughout.
TIMELINES = ("mixed", "angry_caller")

# Line parameters (dB).
LEVEL_DBFS = (-22.0, -18.0)      # per call and channel: the AGC's target speech level
LEVEL_JITTER_DB = 3.0            # per utterance
CROSSTALK_DB = (-28.0, -22.0)    # per call and channel, relative to the leaking voice
NOISE_DBFS = (-60.0, -50.0)
SOFT_CLIP = 0.5                  # y = c * tanh(x / c): linear below, saturates at c


# --------------------------------------------------------------------------- corpus pool

def load_pool(corpora=DEFAULT_CORPORA, speakers=None) -> pd.DataFrame:
    """The corpus utterances a call may use: ``path, corpus, speaker, emotion``.

    Parameters
    ----------
    corpora : path or list of paths
        ``../shared/corpora`` or single corpus folders (only emodb, ravdess and
        nemo are used; TurEV-DB holds isolated words, not sentences).
    speakers : iterable of str, optional
        Keep only these speakers (e.g. ``emodb_03``), for held-out evaluation.
    """
    from tonekit.models.corpora import load_corpora
    if isinstance(corpora, (str, Path)):
        corpora = [corpora]
    folders = []
    for folder in map(Path, corpora):
        subs = [folder / name for name in CORPORA if (folder / name).is_dir()]
        folders += subs if subs and folder.name not in CORPORA else [folder]
    table = load_corpora(folders)
    keep = table["corpus"].isin(CORPORA) & table["emotion"].isin(("anger", "neutral", "calm", "happiness"))
    if speakers is not None:
        speakers = set(speakers)
        unknown = speakers - set(table["speaker"])
        if unknown:
            raise ValueError(f"unknown speakers {sorted(unknown)}; names look like emodb_03, ravdess_01, nemo_EB0")
        keep &= table["speaker"].isin(speakers)
    return table.loc[keep, ["path", "corpus", "speaker", "emotion"]].reset_index(drop=True)


def trim(x: np.ndarray, sr: int, *, floor_db: float = 30.0, pad_s: float = 0.03) -> np.ndarray:
    """Cut leading and trailing silence: keep the frames within ``floor_db`` of the loudest."""
    hop = sr // 100
    n = len(x) // hop
    if n < 3:
        return x
    db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(db > db.max() - floor_db)
    pad = int(pad_s * sr)
    return x[max(0, loud[0] * hop - pad): min(len(x), (loud[-1] + 1) * hop + pad)]


def read_utterance(path: str) -> np.ndarray:
    """A corpus file as trimmed float32 mono at 16 kHz."""
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        import soxr
        x = soxr.resample(x, sr, SR).astype(np.float32)
    return trim(x, SR)


class _Bags:
    """Shuffle bags: every utterance of a speaker and emotion set is used once before any repeats."""

    def __init__(self, pool: pd.DataFrame, rng: np.random.Generator):
        self.pool, self.rng, self.bags = pool, rng, {}

    def draw(self, speaker: str, emotions: tuple) -> tuple[str, str]:
        key = (speaker, emotions)
        if not self.bags.get(key):
            rows = self.pool[(self.pool["speaker"] == speaker) & self.pool["emotion"].isin(emotions)]
            if rows.empty:
                raise ValueError(f"speaker {speaker} has no {'/'.join(emotions)} utterances")
            order = self.rng.permutation(len(rows))
            self.bags[key] = [(rows["path"].iloc[i], rows["emotion"].iloc[i]) for i in order]
        return self.bags[key].pop()


# --------------------------------------------------------------------------- timeline

@dataclass
class Phase:
    caller: str          # angry | neutral
    agent: str           # calm | warm | cheerful_vs_angry | angry
    dur_s: float         # planned length; a phase runs at least this long
    short: bool = False  # a short calm stretch (capped agent span, single-utterance turns)
    hold_after: bool = False


@dataclass
class Utt:
    speaker: str
    start: int           # samples at 16 kHz
    stop: int
    emotion: str
    path: str
    kind: str = "turn"   # turn | backchannel
    phase: int = -1
    offset: int = 0      # backchannel: where the piece starts in the (trimmed) source
    gain_db: float = 0.0


@dataclass
class Plan:
    phases: list
    utts: list = field(default_factory=list)
    holds: list = field(default_factory=list)          # (start, stop) samples
    interruptions: list = field(default_factory=list)  # (start, stop) samples of the overlap
    n_samples: int = 0


def plan_phases(rng: np.random.Generator, target_s: float, timeline: str = "mixed") -> list[Phase]:
    """A scripted sequence of phases: caller blocks alternate neutral / angry (``timeline="mixed"``), or the
    caller is angry from the first word to the last (``"angry_caller"``: angry blocks only)."""
    if timeline not in TIMELINES:
        raise ValueError(f"timeline must be one of {TIMELINES}, not {timeline!r}")
    u = rng.uniform
    neutral_blocks = [  # (weight, builder)
        (0.30, lambda: [Phase("neutral", "warm", u(15, 30))]),
        (0.25, lambda: [Phase("neutral", "calm", u(30, 45))]),
        (0.25, lambda: [Phase("neutral", "calm", 0.0, short=True), Phase("neutral", "warm", u(15, 25))]),
        (0.20, lambda: [Phase("neutral", "warm", u(15, 22)), Phase("neutral", "calm", u(30, 40))]),
    ]
    angry_blocks = [
        (0.22, lambda: [Phase("angry", "calm", u(20, 40))]),
        (0.16, lambda: [Phase("angry", "calm", u(15, 25)), Phase("angry", "angry", u(15, 30))]),
        (0.14, lambda: [Phase("angry", "angry", u(15, 30)), Phase("angry", "calm", u(15, 25))]),
        (0.16, lambda: [Phase("angry", "cheerful_vs_angry", u(15, 30))]),
        (0.12, lambda: [Phase("angry", "calm", u(15, 25)), Phase("angry", "cheerful_vs_angry", u(15, 30))]),
        (0.10, lambda: [Phase("angry", "angry", u(15, 30))]),
        (0.10, lambda: [Phase("angry", "cheerful_vs_angry", u(15, 25)), Phase("angry", "calm", u(15, 25))]),
    ]

    def pick(blocks, ok=lambda b: True):
        while True:
            w = np.array([b[0] for b in blocks])
            block = blocks[rng.choice(len(blocks), p=w / w.sum())][1]()
            if ok(block):
                return block

    def expected_s(block):  # phases overrun their plan by about one turn
        return sum(12.0 if p.short else p.dur_s + 6.0 for p in block)

    phases: list[Phase] = []
    caller = "neutral" if rng.random() < 0.75 else "angry"
    if timeline == "angry_caller":
        caller = "angry"
    while not phases or expected_s(phases) < target_s:
        if caller == "neutral":
            # A short calm stretch must not touch another calm stretch, or it would not be short.
            prev_calm = bool(phases) and phases[-1].agent == "calm"
            block = pick(neutral_blocks, lambda b: not (prev_calm and b[0].agent == "calm"))
        else:
            # The agent does not answer the phone angrily.
            block = pick(angry_blocks, lambda b: phases or b[0].agent != "angry")
        if phases and expected_s(phases) + expected_s(block) > CALL_MAX_S:
            break
        phases += block
        if timeline == "mixed":
            caller = "angry" if caller == "neutral" else "neutral"
    # Holds: at a boundary after a phase, never after a short calm stretch (its cap
    # needs the caller to speak last) and never after the last phase.
    if rng.random() < HOLD_CALL_P:
        slots = [i for i, p in enumerate(phases[:-1]) if not p.short]
        if slots:
            n = 1 if (len(slots) == 1 or rng.random() < 0.7) else 2
            for i in rng.choice(slots, size=n, replace=False):
                phases[int(i)].hold_after = True
    return phases


def _gap(rng) -> float:
    return rng.uniform(*LONG_GAP_S) if rng.random() < LONG_GAP_P else rng.uniform(*GAP_S)


def plan_call(rng: np.random.Generator, pool: pd.DataFrame, caller: str, agent: str,
              clips: dict, *, target_s: float | None = None, timeline: str = "mixed") -> Plan:
    """Place utterances on a timeline; ``clips`` (path -> trimmed audio) is filled as a side effect."""
    target_s = rng.uniform(*CALL_TARGET_S) if target_s is None else target_s
    plan = Plan(plan_phases(rng, target_s, timeline))
    bags = _Bags(pool, rng)
    who = {"caller": caller, "agent": agent}

    def clip(path):
        if path not in clips:
            clips[path] = read_utterance(path)
        return clips[path]

    def jitter():
        return float(rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB))

    cursor = int(rng.uniform(0.3, 1.0) * SR)   # end of the last turn so far
    last = None                                # (speaker, last Utt of that turn)
    after_hold = False
    for k, ph in enumerate(plan.phases):
        nxt = plan.phases[k + 1] if k + 1 < len(plan.phases) else None
        # A phase starts with whoever changed state; after a hold the agent comes back
        # unless the caller's state changed (then the caller speaks first).
        first = "agent" if k == 0 else ("caller" if ph.caller != plan.phases[k - 1].caller else "agent")
        if nxt is None:
            need_last = None
        elif ph.hold_after:
            need_last = "agent"
        else:
            need_last = "agent" if nxt.caller != ph.caller else "caller"
        speaker, start_phase, n_turns = first, None, {"agent": 0, "caller": 0}
        agent_first = None
        while True:
            emotions = CALLER_EMOTIONS[ph.caller] if speaker == "caller" else AGENT_EMOTIONS[ph.agent]
            if ph.short:
                n_utt = 1
            elif speaker == "caller":
                n_utt = rng.choice([1, 2], p=[0.6, 0.4])
            else:
                n_utt = rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])
            picks = [bags.draw(who[speaker], emotions) for _ in range(n_utt)]
            lengths = [len(clip(p)) for p, _ in picks]
            # Where the turn starts: after a gap, or (agent after caller) as an interruption.
            start, overlap = None, 0
            if last is None or after_hold:   # the hold itself is the silence before this turn
                start = cursor
            elif speaker == "agent" and rng.random() < INTERRUPT_P[ph.agent]:
                c = last[1]
                # Both utterances must outlast the overlap, so it is really "talking over".
                room = min((c.stop - c.start) / SR - 0.4, lengths[0] / SR - 0.4)
                want = min(rng.uniform(*OVERLAP_S), room)
                if want >= OVERLAP_S[0]:
                    overlap = int(want * SR)
                    start = c.stop - overlap
            if start is None:
                start = cursor + int(_gap(rng) * SR)
            if ph.short and speaker == "agent" and agent_first is not None:
                if (start + lengths[0] - agent_first) / SR > SHORT_CALM_MAX_S:
                    break  # the caller spoke last, as the next (agent-first) phase needs
            if overlap:
                plan.interruptions.append((start, last[1].stop))
            t = start
            turn = []
            for (path, emo), n in zip(picks, lengths):
                if turn:
                    t += int(rng.uniform(*PAUSE_IN_TURN_S) * SR)
                turn.append(Utt(speaker, t, t + n, emo, path, phase=k, gain_db=jitter()))
                t += n
            plan.utts += turn
            start_phase = turn[0].start if start_phase is None else start_phase
            if speaker == "agent" and agent_first is None:
                agent_first = turn[0].start
            cursor = max(cursor, t)
            last = (speaker, turn[-1])
            after_hold = False
            n_turns[speaker] += 1
            if ph.short:
                done = n_turns["agent"] >= 2 and speaker == "caller"
            else:
                done = ((cursor - start_phase) / SR >= ph.dur_s and n_turns["agent"] >= 2
                        and n_turns["caller"] >= 1 and speaker == (need_last or speaker))
            if done:
                break
            speaker = "caller" if speaker == "agent" else "agent"
        if ph.hold_after:
            hold = int(rng.uniform(*HOLD_S) * SR)
            plan.holds.append((cursor, cursor + hold))
            cursor += hold
            after_hold = True
    _add_backchannels(rng, plan, bags, who["agent"], clip)
    plan.n_samples = cursor + int(rng.uniform(0.5, 1.5) * SR)
    return plan


def _add_backchannels(rng, plan: Plan, bags: _Bags, agent: str, clip) -> None:
    """Short agent pieces inside caller utterances, well away from any agent turn."""
    agent_turns = np.array([(u.start, u.stop) for u in plan.utts if u.speaker == "agent"]).reshape(-1, 2)
    margin = int(0.8 * SR)
    new = []
    for u in plan.utts:
        if u.speaker != "caller" or (u.stop - u.start) < 1.5 * SR or rng.random() >= BACKCHANNEL_P:
            continue
        n = int(rng.uniform(*BACKCHANNEL_S) * SR)
        lo, hi = u.start + int(0.4 * SR), u.stop - margin - n
        if hi <= lo:
            continue
        for _ in range(3):
            b0 = int(rng.integers(lo, hi))
            near = (agent_turns[:, 0] < b0 + n + margin) & (agent_turns[:, 1] > b0 - margin)
            if not near.any():
                break
        else:
            continue
        path, emo = bags.draw(agent, BACKCHANNEL_EMOTIONS)
        src = clip(path)
        if len(src) <= n:
            continue
        # The loudest of a few candidate pieces, so the blip is voiced rather than a pause.
        offsets = rng.integers(0, len(src) - n, size=6)
        offset = int(max(offsets, key=lambda o: float(np.mean(src[o:o + n] ** 2))))
        new.append(Utt("agent", b0, b0 + n, emo, path, kind="backchannel", phase=u.phase,
                       offset=offset, gain_db=float(rng.uniform(-6, 0))))
    plan.utts += new
    plan.utts.sort(key=lambda v: v.start)


# --------------------------------------------------------------------------- audio

def _fade(x: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(x) // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _shift(x: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros_like(x)
    out[n:] = x[: len(x) - n]
    return out


def render(plan: Plan, clips: dict, rng: np.random.Generator, line: dict) -> np.ndarray:
    """The 16 kHz stereo call (float32, ``(n, 2)``) for a plan and its line settings."""
    voices = np.zeros((2, plan.n_samples), dtype=np.float32)
    for u in plan.utts:
        src = clips[u.path]
        if u.kind == "backchannel":
            x = src[u.offset:u.offset + (u.stop - u.start)].copy()
            level = active_level_db(src, SR)   # the level the whole utterance would get
            x = _fade(x, int(0.04 * SR))
        else:
            x = src.copy()
            level = active_level_db(x, SR)
            x = _fade(x, int(0.01 * SR))
        target = line["level_dbfs"][CHANNEL[u.speaker]] + u.gain_db
        x *= np.float32(10 ** ((target - level) / 20))
        x = SOFT_CLIP * np.tanh(x / SOFT_CLIP)
        voices[CHANNEL[u.speaker], u.start:u.stop] += x
    out = np.empty((plan.n_samples, 2), dtype=np.float32)
    for ch in (0, 1):
        leak = _shift(voices[1 - ch], line["crosstalk_delay"][ch]) * np.float32(10 ** (line["crosstalk_db"][ch] / 20))
        noise = rng.standard_normal(plan.n_samples, dtype=np.float32) * np.float32(10 ** (line["noise_dbfs"][ch] / 20))
        out[:, ch] = voices[ch] + leak + noise
    return out


def telephone(audio: np.ndarray, sr: int = SR) -> np.ndarray:
    """300-3400 Hz band-pass (4th-order Butterworth, zero phase) and 8 kHz resampling."""
    import soxr
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos")
    band = sosfiltfilt(sos, audio, axis=0).astype(np.float32)
    return soxr.resample(band, sr, TELEPHONE_SR).astype(np.float32)


# --------------------------------------------------------------------------- truth

def _s(samples: int) -> float:
    return round(samples / SR, 4)


def truth_of(plan: Plan, *, caller: str, agent: str, corpus: str) -> dict:
    """The ground truth (without the audio fields) of a plan."""
    turns = [u for u in plan.utts if u.kind == "turn"]
    events = [{"tip": 1, "kind": "interruption", "start_s": _s(a), "end_s": _s(b)} for a, b in plan.interruptions]
    events += [{"tip": 12, "kind": "long_silence", "start_s": _s(a), "end_s": _s(b)} for a, b in plan.holds]
    phases, caller_angry = [], []
    for k, ph in enumerate(plan.phases):
        mine = [u for u in turns if u.phase == k]
        ag = [u for u in mine if u.speaker == "agent"]
        ca = [u for u in mine if u.speaker == "caller"]
        phases.append({"caller": ph.caller, "agent": ph.agent, "start_s": _s(min(u.start for u in mine)),
                       "end_s": _s(max(u.stop for u in mine))})
        span = (ag[0].start, max(u.stop for u in ag))
        if ph.caller == "angry" and ph.agent == "angry":
            events.append({"tip": 8, "kind": "mirrored_anger", "start_s": _s(span[0]), "end_s": _s(span[1])})
        elif ph.caller == "angry" and ph.agent == "cheerful_vs_angry":
            events.append({"tip": 9, "kind": "upbeat_vs_angry", "start_s": _s(span[0]), "end_s": _s(span[1])})
        elif ph.caller == "neutral" and ph.agent == "calm" and (span[1] - span[0]) / SR >= NO_SMILE_MIN_S:
            events.append({"tip": 7, "kind": "no_smile", "start_s": _s(span[0]), "end_s": _s(span[1])})
        if ph.caller == "angry" and ca:
            a, b = ca[0].start, max(u.stop for u in ca)
            if caller_angry and k > 0 and plan.phases[k - 1].caller == "angry":
                caller_angry[-1][1] = b
            else:
                caller_angry.append([a, b])
    events.sort(key=lambda e: (e["start_s"], e["tip"]))
    return {
        "duration_s": _s(plan.n_samples),
        "caller_speaker": caller,
        "agent_speaker": agent,
        "corpus": corpus,
        "utterances": [{"speaker": u.speaker, "start_s": _s(u.start), "end_s": _s(u.stop), "emotion": u.emotion,
                        "path": u.path, "kind": u.kind, "phase": u.phase,
                        **({"offset_s": _s(u.offset)} if u.kind == "backchannel" else {})} for u in plan.utts],
        "caller_angry": [[_s(a), _s(b)] for a, b in caller_angry],
        "events": events,
        "phases": phases,
    }


# --------------------------------------------------------------------------- calls

def compose_call(pool: pd.DataFrame, *, seed, caller: str, agent: str, is_telephone: bool = False,
                 target_s: float | None = None, timeline: str = "mixed"):
    """Compose one call.

    Parameters
    ----------
    pool : DataFrame
        From :func:`load_pool`.
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng``; the same seed gives the same call.
    caller, agent : str
        Two different speakers of the same corpus, e.g. ``"emodb_03"``.
    is_telephone : bool
        Band-pass and resample to 8 kHz (the caller writes it as mu-law).
    target_s : float, optional
        Planned length in seconds; random in 130-260 s when omitted (calls come out 2-5 minutes).
    timeline : {"mixed", "angry_caller"}
        The caller's blocks alternate neutral and angry, or the caller is angry throughout (the agent
        still calm, angry or cheerful in turn): a call with no calmer stretch of the caller's to read
        their anger against.

    Returns
    -------
    audio : ndarray, float32, shape (n, 2)
        Agent on channel 0, caller on channel 1.
    sr : int
        16000, or 8000 for a telephone call.
    truth : dict
        The ground truth (see the module docstring); times in seconds.
    """
    if caller == agent:
        raise ValueError("caller and agent must be different speakers")
    corpora = pool.loc[pool["speaker"].isin([caller, agent]), "corpus"].unique()
    if len(corpora) != 1:
        raise ValueError(f"{caller} and {agent} must both be in the pool and in the same corpus")
    rng = np.random.default_rng(seed)
    clips: dict = {}
    plan = plan_call(rng, pool, caller, agent, clips, target_s=target_s, timeline=timeline)
    line = {
        "level_dbfs": [float(rng.uniform(*LEVEL_DBFS)) for _ in range(2)],
        "crosstalk_db": [float(rng.uniform(*CROSSTALK_DB)) for _ in range(2)],
        "crosstalk_delay": [int(rng.integers(0, int(0.004 * SR))) for _ in range(2)],
        "noise_dbfs": [float(rng.uniform(*NOISE_DBFS)) for _ in range(2)],
    }
    audio = render(plan, clips, rng, line)
    sr = SR
    if is_telephone:
        audio, sr = telephone(audio), TELEPHONE_SR
    truth = {"audio": None, "sample_rate": sr, "telephone": bool(is_telephone), "timeline": timeline,
             **truth_of(plan, caller=caller, agent=agent, corpus=str(corpora[0])),
             "line": {"level_dbfs": [round(v, 2) for v in line["level_dbfs"]],
                      "crosstalk_db": [round(v, 2) for v in line["crosstalk_db"]],
                      "crosstalk_delay_s": [_s(v) for v in line["crosstalk_delay"]],
                      "noise_dbfs": [round(v, 2) for v in line["noise_dbfs"]]}}
    return audio, sr, truth


#: Codecs of the telephone calls: µ-law (G.711, what the models train on) or one they never hear (GSM 06.10,
#: Opus at about 10 kbit/s; :data:`tonekit.augment.CODECS`), each channel coded on its own.
CODECS = tuple(LINE_CODECS)


def write_call(out_dir, name: str, audio: np.ndarray, sr: int, truth: dict, codec: str = "mulaw") -> Path:
    """Write ``name.flac`` (or ``name.wav`` for telephone calls: mu-law, or 16-bit PCM of each channel
    through ``codec``) and ``name.json``; returns the JSON path."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)}, not {codec!r}")
    out_dir = Path(out_dir)
    _refuse_repo(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    audio = np.clip(audio, -1.0, 1.0 - 2 ** -15)
    if truth["telephone"] and codec != "mulaw":
        audio_path = out_dir / f"{name}.wav"
        coded = np.column_stack([LINE_CODECS[codec](audio[:, c]) for c in range(audio.shape[1])])
        sf.write(audio_path, np.clip(coded, -1.0, 1.0 - 2 ** -15), sr, subtype="PCM_16")
        truth = {**truth, "codec": codec}
    elif truth["telephone"]:
        audio_path = out_dir / f"{name}.wav"
        sf.write(audio_path, audio, sr, subtype="ULAW")
    else:
        audio_path = out_dir / f"{name}.flac"
        sf.write(audio_path, audio, sr, subtype="PCM_16")
    truth = {**truth, "audio": audio_path.name}
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return json_path


def _refuse_repo(path: Path) -> None:
    path = path.resolve()
    if path == REPO or REPO in path.parents:
        raise SystemExit(f"Error: {path}: inside the repository; corpus audio must never be committed, "
                         "choose an output folder outside it")


def assign_calls(pool: pd.DataFrame, n_calls: int, seed: int, telephone_share: float,
                 angry_caller_share: float = 0.0) -> list[dict]:
    """Who talks in which call, and which calls are telephone calls.

    Corpora take turns (their order rotating every round, so the telephone
    calls spread evenly over them); within a corpus, each speaker (in a seeded
    order) calls in turn and the agents rotate, so every ordered pair comes up; ``round(n_calls * telephone_share)``
    calls are telephone calls, evenly spaced, and ``round(n_calls * angry_caller_share)`` calls have a caller
    angry throughout (``timeline="angry_caller"``), evenly spaced from the other end.
    """
    rng = np.random.default_rng([seed, 0xCA11])
    speakers = {c: sorted(pool.loc[pool["corpus"] == c, "speaker"].unique()) for c in CORPORA}
    eligible = [c for c in CORPORA if len(speakers[c]) >= 2]
    if not eligible:
        raise ValueError("need at least two speakers of one corpus (emodb, ravdess or nemo)")
    eligible = [eligible[i] for i in rng.permutation(len(eligible))]
    perms = {c: [speakers[c][i] for i in rng.permutation(len(speakers[c]))] for c in eligible}
    seen = {c: 0 for c in eligible}
    k = len(eligible)
    calls = []
    for i in range(n_calls):
        c = eligible[(i // k + i % k) % k]
        j, spk = seen[c], perms[c]
        seen[c] += 1
        tel = np.floor((i + 1) * telephone_share + 0.5) > np.floor(i * telephone_share + 0.5)
        r = n_calls - 1 - i   # counted from the end, so angry callers and telephone lines mix
        angry = np.floor((r + 1) * angry_caller_share + 0.5) > np.floor(r * angry_caller_share + 0.5)
        m = len(spk)   # every speaker calls once per round; the agent's offset grows each round
        calls.append({"index": i, "corpus": c, "caller": spk[j % m],
                      "agent": spk[(j + 1 + (j // m) % (m - 1)) % m], "telephone": bool(tel),
                      "timeline": "angry_caller" if angry else "mixed"})
    return calls


def simulate_calls(corpora=DEFAULT_CORPORA, out_dir=None, *, n_calls: int = 12, seed: int = 0,
                   telephone_share: float = 0.33, speakers=None, progress: bool = False,
                   angry_caller_share: float = 0.0, codec: str = "mulaw") -> list[Path]:
    """Compose and write ``n_calls`` calls; returns the paths of their truth JSON files. ``codec``: of the
    telephone calls (:data:`CODECS`).

    Example
    -------
    >>> paths = simulate_calls("../shared/corpora", "/tmp/calls", n_calls=2, seed=1)  # doctest: +SKIP
    """
    if out_dir is not None:
        _refuse_repo(Path(out_dir))
    pool = load_pool(corpora, speakers)
    out_dir = Path(tempfile.mkdtemp(prefix="tonekit_calls_")) if out_dir is None else Path(out_dir)
    paths = []
    for call in assign_calls(pool, n_calls, seed, telephone_share, angry_caller_share):
        audio, sr, truth = compose_call(pool, seed=[seed, call["index"]], caller=call["caller"],
                                        agent=call["agent"], is_telephone=call["telephone"],
                                        timeline=call["timeline"])
        truth["seed"] = [seed, call["index"]]
        paths.append(write_call(out_dir, f"call_{call['index']:03d}", audio, sr, truth, codec=codec))
        if progress:
            print(f"{paths[-1].with_suffix('').name}: {truth['corpus']} caller {truth['caller_speaker']} "
                  f"agent {truth['agent_speaker']} {truth['duration_s']:.0f} s "
                  f"{'telephone' if truth['telephone'] else 'wideband'} "
                  f"events {sorted(e['tip'] for e in truth['events'])}", file=sys.stderr)
    (out_dir / "manifest.json").write_text(json.dumps([p.name for p in paths], indent=1) + "\n", encoding="utf-8")
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Simulate stereo agent/caller calls from emotional-speech corpora, with JSON ground truth.",
        epilog="Example: python scripts/simulate_calls.py --corpora ../shared/corpora --n-calls 6 --seed 1")
    ap.add_argument("--corpora", default=str(DEFAULT_CORPORA), help="corpus root or corpus folders (default %(default)s)")
    ap.add_argument("--out", default=None, help="output folder, outside the repository (default: a new temporary folder)")
    ap.add_argument("--n-calls", type=int, default=12, help="number of calls (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    ap.add_argument("--telephone-share", type=float, default=0.33,
                    help="share of calls written as 8 kHz mu-law telephone audio (default %(default)s)")
    ap.add_argument("--codec", choices=CODECS, default="mulaw",
                    help="codec of the telephone calls (default %(default)s; gsm and opus: never in training)")
    ap.add_argument("--speakers", default=None, help="comma-separated speakers to use, e.g. emodb_03,emodb_08")
    ap.add_argument("--angry-caller-share", type=float, default=0.0,
                    help="share of calls whose caller is angry throughout (default %(default)s)")
    args = ap.parse_args(argv)
    if args.n_calls < 1:
        ap.error("--n-calls must be at least 1")
    if not 0 <= args.telephone_share <= 1:
        ap.error("--telephone-share must be within 0..1")
    if not 0 <= args.angry_caller_share <= 1:
        ap.error("--angry-caller-share must be within 0..1")
    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()] if args.speakers else None
    t0 = time.perf_counter()
    try:
        paths = simulate_calls(args.corpora, args.out, n_calls=args.n_calls, seed=args.seed,
                               telephone_share=args.telephone_share, speakers=speakers, progress=True,
                               angry_caller_share=args.angry_caller_share, codec=args.codec)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(paths)} calls in {paths[0].parent} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    print(paths[0].parent)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
