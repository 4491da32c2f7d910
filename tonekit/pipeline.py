"""The whole pipeline: audio -> activity -> frames -> windows -> scores -> events -> Analysis."""
from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .activity import (HOP_S, NOISY_HEADROOM_DB, detect_activity, frames_of, frames_with_audio, headroom_db,
                       key_presses, pure_tones, tonal_frames)
from .analysis import WINDOW_COLUMNS, Analysis, edge_means
from .audio import DC_OFFSET_MIN_UTTERANCE, as_signal, dc_offset_text, load_audio, load_call
from .errors import AudioError, ParameterError, shown, whole_number
from .notes import note
from .features.embedding import window_embedding_table
from .features.frames import call_speaker_frames, frames_table, signal_frames
from .features.windows import (MIN_VOICED_FRAMES, mixed_reference, model_features, segment_functionals,
                               speaker_baseline, speaker_windows, window_ranges)
from .match import MIN_SPEECH_S, MatchOptions, caller_angry_spans, inner_silences, match
from .models.features import piece_encoder
from .models.store import EMBEDDING_PREFIXES, TARGET_NAMES, load_models, shipped_dir

#: An utterance with less speech (s) than this is not scored: tonekit.score refuses it (AudioError),
#: tonekit.score_speaker gives it NaN scores and says why in its ``error`` column.
MIN_SCORED_SPEECH_S = 0.3
#: The recordings with speech tonekit.score_speaker needs at least (the speaker's reference), and the separate
#: windows with speech a call speaker needs in tonekit.analyze (their usual voice in the call).
MIN_REFERENCE = 3
#: Embed one 1.6-s piece of speech in this many (1: all). The voice encoder costs about 12 ms of one core
#: per piece; see the README's speed figures for the trade-off.
EMBEDDING_EVERY = 4
#: Run Whisper's first encoder layers on one 4-s piece of speech in this many (1: all). They cost about
#: 65 ms of one core per piece; see the README's speed figures for the trade-off. A window with no piece
#: within reach is scored without the Whisper estimators: reading every piece ranks the caller's anger far
#: better but runs at 35-38x real time, below the 60x target (README, Whisper reading every piece).
WHISPER_EVERY = 8
#: How far (s) around a window each encoder's pieces are gathered (a sparse encoder reaches further).
REACH_S = {"emb_": 1.5, "wsp_": 3.0}


def _models(models):
    """``models`` as ``{target: ToneModel}``: a dict as it is; a folder (None: the shipped models) loaded once
    per process and kept while its files are unchanged (checking a model file's hash and types costs about
    0.1 s, more than scoring an utterance)."""
    if isinstance(models, dict):
        if not models or set(models) - set(TARGET_NAMES):
            raise ParameterError(f"models must map some of {', '.join(TARGET_NAMES)} to their ToneModel, not "
                                 f"{{{', '.join(map(repr, models))}}}")
        return models
    folder = Path(models) if models is not None else shipped_dir()
    try:
        key = (str(folder.resolve()),) + tuple(
            (st.st_mtime_ns, st.st_size) for t in TARGET_NAMES for suffix in (".skops", ".json")
            for st in [(folder / f"{t}{suffix}").stat()])
    except OSError:
        return load_models(folder)   # a missing file: load_models names it
    if key not in _LOADED:
        _LOADED.clear()              # keep one folder's models, not every folder ever used
        _LOADED[key] = load_models(folder)
    return _LOADED[key]


#: The models :func:`_models` loaded last, by their folder and files' modification times and sizes.
_LOADED: dict = {}


def _embedding_prefixes(models: dict) -> tuple:
    """The learned embeddings (``emb_``, ``wsp_``) that any of ``models`` has a member on."""
    return tuple(p for p in EMBEDDING_PREFIXES if any(p in m.embedding_prefixes for m in models.values()))


def score_features(features: pd.DataFrame, models: dict) -> pd.DataFrame:
    """``anger``, ``calm``, ``warmth`` probabilities for rows of a model-feature table."""
    out = pd.DataFrame(index=features.index, columns=list(TARGET_NAMES), dtype=float)
    for t in TARGET_NAMES:
        if t in models:
            out[t] = models[t].predict_proba(features)   # each model picks its features by name
    return out


def _score_in_chunks(parts, models: dict, chunk: int = 1024) -> pd.DataFrame:
    """:func:`score_features` of the tables ``parts`` side by side (rows aligned), ``chunk`` rows at a time:
    a two-hour call never holds all its windows' 823 model inputs in one table (the scores are the same,
    row by row)."""
    n = len(parts[0])
    return pd.concat([score_features(pd.concat([p.iloc[i:i + chunk] for p in parts], axis=1), models)
                      for i in range(0, n, chunk)] or [score_features(parts[0], models)])


def analyze(source=None, *, agent=None, caller=None, turns=None, agent_label=None, agent_channel: int = 0,
            models=None, win_dur_s: float = 3.0, hop_dur_s: float = 1.0, min_speech_s: float = MIN_SPEECH_S,
            embedding_every: int = EMBEDDING_EVERY, whisper_every: int = WHISPER_EVERY, progress=None,
            population_share=None, music_gate: bool = True, **match_options) -> Analysis:
    """Analyse a two-speaker call.

    Parameters
    ----------
    source : path, optional
        A stereo call (agent on channel 0 unless ``agent_channel=1``), or a
        mono mix with ``turns`` (RTTM) and ``agent_label``.
    agent, caller : path, optional
        Two mono files instead of ``source``.
    models : dict or path, optional
        ``{target: ToneModel}`` or a folder of models; default: the shipped models.
    win_dur_s, hop_dur_s : float
        Analysis windows (3 s every 1 s).
    min_speech_s : float
        A window needs this much speech (s) to be scored, and to be read by the matcher (events, and the
        summary's caller_angry_spans).
    embedding_every : int
        Models with a voice-embedding member (the shipped ones) get each
        window's embedding from one 1.6-s piece of speech in ``embedding_every``
        (1: every piece; more: faster, coarser). A window that meets no piece
        is scored without that member.
    whisper_every : int
        The same for the Whisper member: one 4-s piece in ``whisper_every``,
        gathered within 3 s of a window. 1 reads every piece: the caller's
        anger is ranked far better (on simulated calls, ROC AUC per window
        0.997 against 0.959 with the default 8) at a little under half the speed
        (README, Whisper reading every piece).
    progress : callable, optional
        Called with a short step name as work proceeds.
    population_share : float in [0, 1], or {"agent": s, "caller": s}, optional
        Each speaker's tone is read against their usual voice in this call. A caller angry from the first
        word to the last has no calmer voice to be read against, and with that reference alone (s = 0)
        their anger goes largely unseen (README). With a share s > 0, the models' reference is ``(1 - s)``
        of the speaker's own and ``s`` of the training speakers' (the model card's ``population_baseline``
        and ``population_embedding``). A number applies to both speakers; a mapping gives each speaker's
        (a speaker it leaves out gets 0). None (the default): :data:`POPULATION_SHARES`, the caller at
        0.25 and the agent at 0 (the agent is coached against her own voice; the caller is a stranger who
        may be angry throughout), when the models' card has the population reference, else 0 with a
        warning (an older or hand-made model).
    music_gate : bool
        Leave steady, music-like stretches out of the speakers' speech, with a warning (True: music on hold is
        a hold; :func:`tonekit.activity.steady_sound`). False takes every sound loud enough for speech.
    **match_options
        Thresholds of :class:`tonekit.match.MatchOptions`.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import tonekit
    >>> a = tonekit.analyze(tonekit.demo_path())            # doctest: +SKIP
    >>> a.events[["start_s", "tip", "kind"]]                 # doctest: +SKIP
    """
    heard = []
    try:
        with warnings.catch_warnings(record=True) as heard:
            warnings.simplefilter("always")
            result = _analyze(source, agent=agent, caller=caller, turns=turns, agent_label=agent_label,
                              agent_channel=agent_channel, models=models, win_dur_s=win_dur_s,
                              hop_dur_s=hop_dur_s, min_speech_s=min_speech_s, embedding_every=embedding_every,
                              whisper_every=whisper_every, progress=progress, population_share=population_share,
                              music_gate=music_gate, **match_options)
    finally:   # a call that fails still shows what was said before it failed
        notes = _told(heard)
    result.warnings = notes
    return result


def checked_windows(win_dur_s, hop_dur_s, min_speech_s) -> tuple[float, float, float]:
    """:func:`analyze`'s window options as floats; ParameterError unless the windows are at least a frame long, the
    hop no longer than a window, and a window's speech needed more than none and no more than the window.

    >>> checked_windows(3, 1, 1.5)
    (3.0, 1.0, 1.5)
    >>> checked_windows(3, 1, 0)
    Traceback (most recent call last):
    tonekit.errors.ParameterError: min_speech_s must be more than 0 and at most the window (win_dur_s, 3 s), not 0.0
    """
    try:
        win, hop, need = (float(v) for v in (win_dur_s, hop_dur_s, min_speech_s))
    except (TypeError, ValueError):
        raise ParameterError("win_dur_s, hop_dur_s and min_speech_s must be numbers (seconds), not "
                             f"{win_dur_s!r}, {hop_dur_s!r} and {min_speech_s!r}") from None
    window_ranges(0, HOP_S, win_dur_s=win, hop_dur_s=hop)   # its own checks of the two
    if not 0 < need <= win:   # none would score windows without speech; more than the window, none at all
        raise ParameterError(f"min_speech_s must be more than 0 and at most the window (win_dur_s, {win:g} s), "
                             f"not {need!r}")
    return win, hop, need


def _told(heard: list) -> list[str]:
    """The warnings recorded while a call was analysed, given again as they came (the caller's filters decide
    what is shown), and tonekit's own (UserWarning: what the audio holds and what was done about it) as the
    report's notes, each once."""
    notes = []
    by_file = {getattr(m, "__file__", None): m for m in list(sys.modules.values())}
    for w in heard:
        # given again from where it was said, with that module's registry: the filters act as they would have
        mod = by_file.get(w.filename)
        registry = None if mod is None else mod.__dict__.setdefault("__warningregistry__", {})
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source,
                               module=None if mod is None else mod.__name__, registry=registry)
        text = shown(w.message)   # (a file name that is not UTF-8 as the report can hold it)
        if w.category is UserWarning and text not in notes:
            notes.append(text)
    return notes


def _analyze(source=None, *, agent=None, caller=None, turns=None, agent_label=None, agent_channel: int = 0,
             models=None, win_dur_s: float = 3.0, hop_dur_s: float = 1.0, min_speech_s: float = MIN_SPEECH_S,
             embedding_every: int = EMBEDDING_EVERY, whisper_every: int = WHISPER_EVERY, progress=None,
             population_share=None, music_gate: bool = True, **match_options) -> Analysis:
    """:func:`analyze`, its warnings given as they come."""
    thresholds = sorted(f.name for f in dataclasses.fields(MatchOptions))
    unknown = sorted(set(match_options) - set(thresholds))
    if "sr" in unknown:   # a signal with its rate, as score takes it
        raise ParameterError("analyze() reads a call from its file(s), not an array with sr: write the signal to a "
                             "file first (soundfile.write), or score one speaker's array with tonekit.score")
    if unknown:   # a keyword analyze does not take: say what it takes, its own and the matcher's
        import inspect

        own = [p for p, v in inspect.signature(analyze).parameters.items() if v.kind == v.KEYWORD_ONLY]
        raise ParameterError(f"analyze() got unknown keyword(s) {', '.join(unknown)}; it takes {', '.join(own)}, "
                             f"and the matcher's thresholds {', '.join(thresholds)}")
    opts = MatchOptions.from_kwargs(**match_options)
    # the options are checked before any audio is read: a long call must not be half analysed to learn of a typo
    win_dur_s, hop_dur_s, min_speech_s = checked_windows(win_dur_s, hop_dur_s, min_speech_s)
    embedding_every = whole_number("embedding_every", embedding_every, minimum=1)
    whisper_every = whole_number("whisper_every", whisper_every, minimum=1)
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be a function of the step's name, not {type(progress).__name__}")
    tick = progress or (lambda step: None)
    mdl = _models(models)
    call = load_call(source, agent=agent, caller=caller, turns=turns, agent_label=agent_label,
                     agent_channel=agent_channel)
    tick("activity")
    act = detect_activity(call, music_gate=bool(music_gate))
    if not any(m.any() for m in act.speech.values()):
        where = " and ".join(dict.fromkeys(call.describe(s)[0] for s in call.speakers))
        raise AudioError(where, f"no speech found in {call.duration_s:.1f} s of audio (noise, a tone or "
                                "silence only?): nothing to analyse")
    for spk, m in act.speech.items():
        if m.sum() * act.hop_s < min_speech_s:
            path, what = call.describe(spk)
            warnings.warn(note("little_speech", seconds=f"{_floor_s(m.sum() * act.hop_s)}", path=path, side=spk,
                               what=what, need=f"{min_speech_s:g}") if m.any() else
                          note("no_speech", path=path, side=spk, what=what, need=f"{min_speech_s:g}"), stacklevel=2)
        elif (room := headroom_db(act.intensity_db[spk][:frames_with_audio(call, spk, len(m), act.hop_s)])
              ) < NOISY_HEADROOM_DB:
            path, what = call.describe(spk)
            warnings.warn(note("noisy", path=path, side=spk, what=what, db=f"{_down(room, 1)}",
                               need=f"{NOISY_HEADROOM_DB:g}"), stacklevel=2)
    prefixes = _embedding_prefixes(mdl)
    pop_base, pop_emb, shares = _population(mdl, prefixes, population_share, call.speakers)
    every = {"emb_": embedding_every, "wsp_": whisper_every}
    tick("frames")
    frames, wins = {}, []
    for spk in call.speakers:
        # one speaker at a time, slimmed once its windows are taken: long calls stay light
        try:
            fr = call_speaker_frames(call, act, spk)
        except AudioError as exc:   # a Praat analysis that failed knows no file: name it, and the side
            if exc.path is not None:
                raise
            path, what = call.describe(spk)
            raise AudioError(path, f"{exc.problem} (the {spk}'s side, {what})") from None
        tick(f"frames:{spk}")
        w, feats = speaker_windows(fr, win_dur_s=win_dur_s, hop_dur_s=hop_dur_s, min_speech_s=min_speech_s,
                                   population=pop_base, population_share=shares[spk], duration_s=call.duration_s)
        frames[spk] = fr.slim()
        del fr   # the full frame arrays must not outlive this speaker (a two-hour call's peak memory)
        enough = (w["speech_s"] >= min_speech_s).to_numpy()
        if enough.any() and (apart := separate_windows(w.start_s[enough], w.end_s[enough])) < MIN_REFERENCE:
            # every window is read against the speaker's usual voice in the call: from one window that is the
            # window itself, and the scores would be the same whatever was said
            path, what = call.describe(spk)
            warnings.warn(note("no_reference", path=path, side=spk, what=what, count=apart, window=f"{win_dur_s:g}",
                               windows="windows" if apart > 1 else "window", need=f"{min_speech_s:g}",
                               reference=MIN_REFERENCE), stacklevel=2)
            enough = np.zeros_like(enough)
        if enough.any():  # only windows with enough speech are scored
            parts = [feats[enough]]
            for prefix in prefixes:
                enc = piece_encoder(prefix)
                emb = window_embedding_table(lambda a, b, s=spk: call.read(s, max(a, 0.0), b), act.tone_mask(spk),
                                             call.sr, w.start_s[enough], w.end_s[enough], every=every[prefix],
                                             reach_s=REACH_S[prefix], encoder=enc,
                                             population=pop_emb.get(prefix), population_share=shares[spk])
                parts.append(emb.set_axis(parts[0].index))
                del emb
                tick(f"{enc.step}:{spk}")
            scores = _score_in_chunks(parts, mdl)
            for t in TARGET_NAMES:
                w.loc[enough, t] = scores[t].to_numpy()
            del parts, scores
        del feats
        wins.append(w)
    tick("windows")
    windows = pd.concat(wins, ignore_index=True)[WINDOW_COLUMNS]
    tick("events")
    events = match(windows, act, opts, duration_s=call.duration_s, narrowband=call.sr < 16000,
                   min_speech_s=min_speech_s)
    turns_t = act.turns()
    overlaps = act.overlaps()
    silences = act.silences()
    tick("summary")
    summary = summarise(call.duration_s, frames, windows, events, act, turns_t, overlaps, opts,
                        min_speech_s=min_speech_s)
    tick("tables")
    frames_t = frames_table(frames)
    del frames, act  # a two-hour call's frame arrays are not needed past this point
    return Analysis(source=call.name, duration_s=round(call.duration_s, 3), speakers=call.speakers,
                    frames=frames_t, windows=windows, events=events, summary=summary,
                    turns=turns_t, overlaps=overlaps, silences=silences,
                    options={"agent_channel": _agent_channel(call), "agent_label": agent_label,
                             "win_dur_s": win_dur_s, "hop_dur_s": hop_dur_s, "min_speech_s": min_speech_s,
                             "embedding_every": embedding_every if "emb_" in prefixes else None,
                             "whisper_every": whisper_every if "wsp_" in prefixes else None,
                             "population_share": shares, "music_gate": bool(music_gate),
                             # the line each recalibrated model applies (tonekit recalibrate); None: as trained
                             "recalibration": _recalibrations(mdl),
                             "working_rate_hz": call.sr, **opts.as_dict()})


def _agent_channel(call) -> int | None:
    """The channel the agent's voice was read from, in a call of one multi-channel file (else None)."""
    src = call.sources["agent"]
    return src.channel if src.channel is not None and call.infos["agent"].channels > 1 else None


def separate_windows(starts_s, ends_s) -> int:
    """How many of the windows ``[start, end)`` can be taken without two overlapping (earliest first): how
    many separate stretches of speech a speaker's usual voice in a call rests on.

    >>> separate_windows([0, 1, 2, 3, 7], [3, 4, 5, 6, 10])
    3
    """
    count, end = 0, -np.inf
    for a, b in sorted(zip(np.asarray(starts_s, float), np.asarray(ends_s, float))):
        if a >= end - 1e-9:
            count, end = count + 1, b
    return count


def _floor_s(seconds: float) -> str:
    """Seconds rounded down, to two decimals under 1 s and one above: 0.97 s of speech is not shown as the
    1.0 s it falls short of, nor 0.06 s as none.

    >>> _floor_s(0.97), _floor_s(0.06), _floor_s(2.96)
    ('0.97', '0.06', '2.9')
    """
    return _down(seconds, 2 if seconds < 1 else 1)


def _down(value: float, digits: int) -> str:
    """``value`` rounded down to ``digits`` decimals, as text: a figure said to fall short of a threshold
    is never shown as reaching it (``_down(10.96, 1)`` is ``'10.9'``)."""
    return f"{np.floor(value * 10 ** digits + 1e-6) / 10 ** digits:.{digits}f}"


def _recalibrations(models: dict) -> dict | None:
    """``{target: [slope, intercept]}`` of the models recalibrated by ``tonekit recalibrate`` (None: none is)."""
    lines = {t: [m.card["recalibration"]["slope"], m.card["recalibration"]["intercept"]]
             for t, m in models.items() if m.card.get("recalibration")}
    return lines or None


#: Each call speaker's share of the training speakers' reference in :func:`analyze` (``population_share``).
#: The share 0.25 was chosen among 0, 0.25 and 0.5 for both speakers on simulated calls of seeds 0-3 with a
#: quarter of callers angry throughout (the worst of tips 7-9's recall and precision: 0.54 / 0.68 / 0.65)
#: and confirmed on seeds 13-15, which took no part in the choice (0.58 at 0 against 0.66). The caller's
#: share alone did as well or better (dev 0.71, fresh 0.70) and keeps the agent, who is coached against her
#: own voice, read against it alone (README, results/population_share/).
POPULATION_SHARES = {"agent": 0.0, "caller": 0.25}


def _population(models: dict, prefixes, share, speakers) -> tuple:
    """``(population_baseline, {prefix: population_embedding}, {speaker: share})`` from the models' card for
    ``analyze(population_share=share)`` (``(None, {}, shares)`` when every share is 0). ``share=None``: the
    default, :data:`POPULATION_SHARES`, or 0 with a warning when the card lacks the population reference."""
    card = next(iter(models.values())).card
    base, emb = card.get("population_baseline"), card.get("population_embedding") or {}
    missing = ["population_baseline"] * (not base) + [f"population_embedding[{p}]" for p in prefixes if p not in emb]
    if share is None:
        share = dict(POPULATION_SHARES)
        if missing:
            warnings.warn(note("no_population", missing=", ".join(missing)), stacklevel=3)
            share = 0.0
    if isinstance(share, Mapping):
        unknown = sorted(map(repr, set(share) - set(speakers)))
        if unknown:
            raise ParameterError(f"population_share names no speaker of this call: {', '.join(unknown)} "
                                 f"(the speakers are {', '.join(speakers)})")
        shares = {spk: share.get(spk, 0.0) for spk in speakers}
    else:
        shares = {spk: share for spk in speakers}
    for v in shares.values():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ParameterError(f"population_share must be a number within 0..1 (or a mapping of speakers to "
                                 f"them), not {share!r}")
    shares = {spk: float(v) for spk, v in shares.items()}
    if not any(shares.values()):
        return None, {}, shares
    if missing:
        raise ParameterError(f"population_share needs the model card's {', '.join(missing)} (an older or "
                             f"hand-made model); retrain it, or set population_share to 0")
    return base, {p: np.asarray(emb[p], float) for p in prefixes}, shares


def checked_priors(priors) -> dict:
    """``priors`` (``{target: share}``, or None) checked: known targets, shares strictly between 0 and 1."""
    if priors is None:
        return {}
    if not isinstance(priors, dict):
        raise ParameterError(f"priors must be a dict such as {{'anger': 0.1}}, not {type(priors).__name__}")
    out = {}
    for t, v in priors.items():
        if t not in TARGET_NAMES:
            raise ParameterError(f"priors: unknown target {t!r} (one of {', '.join(TARGET_NAMES)})")
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"priors: {t} must be a number, not {v!r}") from None
        if not 0.0 < v < 1.0:
            raise ParameterError(f"priors: {t} must be a share strictly between 0 and 1, not {v}")
        out[t] = v
    return out


def score(path_or_signal, sr=None, *, models=None, baseline=None, embeddings: bool = False,
          priors=None) -> dict:
    """Tone of one single-speaker utterance: ``{"anger", "calm", "warmth"}`` probabilities.

    The models compare an utterance with the speaker's usual voice. A lone
    utterance cannot tell what that is, so by default it is compared with an
    average speaker of the training corpora (``population_baseline`` in the
    model card); pass ``baseline`` (a Series of raw functionals, e.g. the
    median of :func:`tonekit.features.windows.segment_functionals` over other
    recordings of the same speaker) for a better-informed score. Over a call,
    :func:`analyze` measures each speaker's baseline itself. For the same
    reason a lone utterance is scored on its prosodic features alone: the
    models' voice-embedding and Whisper members need the speaker's usual
    voice (their mean embedding), which one utterance does not give. Several
    recordings of one speaker are scored far more accurately together, by
    :func:`score_speaker` (anger AUC across corpora 0.75 alone, 0.90 in a set
    of 3, 0.91 in a set of 10; README).

    With ``embeddings=True`` the voice embedding and Whisper members are used
    too, against the mean voice of the training speakers
    (``population_embedding`` in the model card): more accurate on a lone
    utterance (anger AUC across corpora 0.89 instead of 0.75; README), but
    slower (both encoders run: about 0.2 s instead of 0.05 s for 4 s of
    speech) and less well calibrated.

    The probabilities are at even odds: 0.5 is the threshold of best
    balanced accuracy whatever the share of angry speech where you use them.
    Where that share is known, ``priors`` (for example ``{"anger": 0.1}``)
    gives the probability for that population instead
    (:func:`tonekit.models.estimators.at_prior`); its threshold of best
    balanced accuracy is then the prior itself, not 0.5.

    Raises :class:`~tonekit.errors.AudioError` for a recording that cannot be
    read, has less than 0.3 s of speech, has no voiced speech (noise), or
    whose speech is a steady tone (a ringback, a test tone) or a keypad's
    tones (DTMF).

    Examples
    --------
    >>> import numpy as np, tonekit
    >>> sr = 16000; t = np.arange(2 * sr) / sr
    >>> hum = 0.1 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))   # 4 "syllables" a second
    >>> sorted(tonekit.score(hum, sr))   # doctest: +SKIP
    ['anger', 'calm', 'warmth']
    """
    priors = checked_priors(priors)
    if not isinstance(embeddings, (bool, np.bool_)):
        raise ParameterError(f"embeddings must be True or False, not {embeddings!r}")
    probs = _even_odds(path_or_signal, sr, models=models, baseline=baseline, embeddings=embeddings)
    if priors:
        from .models.estimators import at_prior

        probs = {t: float(at_prior(v, priors[t])) if t in priors and np.isfinite(v) else v for t, v in probs.items()}
    return {t: float(v) for t, v in probs.items()}


def _even_odds(path_or_signal, sr, *, models, baseline, embeddings) -> dict:
    """:func:`score`'s probabilities at even odds, unrounded."""
    mdl = _models(models)
    y, sr = _utterance(path_or_signal, sr)
    try:
        fr = signal_frames(y, sr)
    except AudioError as exc:   # a Praat analysis that failed knows no file: name it
        if exc.path is not None or not isinstance(path_or_signal, (str, os.PathLike)):
            raise
        raise AudioError(path_or_signal, exc.problem) from None
    raw = segment_functionals(fr, [(0, fr.n_frames)])
    if baseline is None:
        baseline = next(iter(mdl.values())).card.get("population_baseline")
        if not baseline:
            baseline = speaker_baseline(raw, min_speech_s=0.0)
    feats = model_features(raw, baseline)
    problem = _unscorable(raw, fr, y, sr)
    if problem:
        raise AudioError(path_or_signal if isinstance(path_or_signal, (str, os.PathLike)) else None, problem)
    if not embeddings:
        s = score_features(feats, mdl)
        return {t: float(s[t].iloc[0]) for t in TARGET_NAMES}
    from .features.embedding import signal_embedding

    out, raw_emb = {}, {}
    for t in TARGET_NAMES:
        if t not in mdl:
            continue
        m = mdl[t]
        parts = [feats]
        for p in m.embedding_prefixes:
            pop = (m.card.get("population_embedding") or {}).get(p)
            if pop is None:
                raise ParameterError(f"the {t} model's card has no population_embedding for {p}* "
                                     f"(an older model); retrain it, or score without embeddings")
            if p not in raw_emb:
                # fr.speech is the mask signal_embedding would compute itself (and did at training)
                raw_emb[p] = signal_embedding(y, sr, fr.speech, encoder=piece_encoder(p))
            parts.append(pd.DataFrame([raw_emb[p] - np.asarray(pop, float)], columns=list(piece_encoder(p).columns),
                                      index=feats.index))
        out[t] = float(m.predict_proba(pd.concat(parts, axis=1))[0])
    return {t: out.get(t, float("nan")) for t in TARGET_NAMES}




def _unscorable(raw: pd.DataFrame, fr, y: np.ndarray, sr: int) -> str | None:
    """Why an utterance (its functionals, frames and signal) cannot be scored (too little speech, speech with no
    voice, or a steady tone or key tones: a ringback, a test tone or a keypad's tones pass for voiced speech),
    or None."""
    if raw["speech_s"].iloc[0] < MIN_SCORED_SPEECH_S:
        return f"less than {MIN_SCORED_SPEECH_S} s of speech"
    if int(np.count_nonzero(fr.voiced & fr.speech)) < MIN_VOICED_FRAMES:
        return "no voiced speech found (noise only?)"
    level = fr["intensity_db"]   # the frames' own levels (signal_frames read them on the same 10-ms grid)
    share, hz, keys = tonal_frames(y, sr, keys=True)
    n = min(len(level), len(share), len(fr.speech))
    speech = np.asarray(fr.speech[:n], bool)
    steady = speech & pure_tones(share[:n], hz[:n], level[:n])
    pressed = speech & key_presses(keys[:n], level[:n])
    left = speech & ~steady & ~pressed
    if left.sum() < speech.sum() and left.sum() * HOP_S < MIN_SCORED_SPEECH_S:
        if pressed.sum() > steady.sum():
            return "key tones (DTMF), not speech (keypad presses?)"
        return "a steady tone, not speech (a ringback, busy or dial tone, or a test tone?)"
    return None


def _utterance(path_or_signal, sr):
    """``(signal, rate)`` of one single-speaker utterance: a file (its own rate) or an array (or a list of
    samples) with ``sr``."""
    if isinstance(path_or_signal, (np.ndarray, list, tuple)):
        return as_signal(path_or_signal, sr)
    if not isinstance(path_or_signal, (str, os.PathLike)):
        raise ParameterError(f"expected a file path or a 1-D array of samples, not {type(path_or_signal).__name__}")
    if sr is not None:
        raise ParameterError("sr is only for arrays; a file carries its own rate")
    y, rate = load_audio(path_or_signal, single_speaker=True)
    dc = float(np.mean(y)) if len(y) else 0.0
    if abs(dc) >= DC_OFFSET_MIN_UTTERANCE:   # its power would fill the pauses between the words
        warnings.warn(f"{path_or_signal}: carries {dc_offset_text(dc)}: taken off before scoring", stacklevel=4)
        y = y - dc
    return y, rate


def population_weight(n: int, k) -> float:
    """The population's share ``k / (n + k)`` of a reference measured on ``n`` recordings (0 when ``k`` is None
    or not positive); see :func:`shrunk_reference`."""
    return 0.0 if k is None or not k > 0 else float(k) / (n + float(k))


def shrunk_reference(own, population, n: int, k):
    """A speaker's usual voice measured on ``n`` recordings, steadied by the population's: ``n / (n + k)`` of
    ``own`` plus ``k / (n + k)`` of ``population`` (a Series is aligned by name). ``own`` alone when ``k`` or
    ``population`` is None (an older model card has no ``reference_shrinkage``) or ``k`` is 0.

    ``k`` is the ratio of within-speaker to between-speaker variance measured on the training corpora
    (:func:`tonekit.models.features.reference_shrinkage`), so this is the empirical-Bayes estimate of the
    speaker's mean: few recordings lean on the population, many on the speaker.

    Examples
    --------
    >>> shrunk_reference(np.array([2.0, 4.0]), np.array([0.0, 0.0]), n=3, k=1.0)
    array([1.5, 3. ])
    >>> shrunk_reference(np.array([2.0, 4.0]), None, n=3, k=1.0)
    array([2., 4.])
    """
    return mixed_reference(own, population, population_weight(n, k))


def score_speaker(sources, sr=None, *, models=None, priors=None) -> pd.DataFrame:
    """Tone of several recordings of one speaker, each against that speaker's usual voice.

    The models were trained and evaluated this way: an utterance's prosody
    relative to the median over all the speaker's utterances, and its voice
    embedding and Whisper features relative to their mean. So, unlike
    :func:`score` on a lone utterance (prosody only, against an average
    speaker of the training corpora), every member of the models is used, and
    the cross-corpus figures of the README apply. The reference is the set
    itself, steadied by the training speakers' usual voice as a few
    recordings need (:func:`shrunk_reference`: with ``n`` recordings,
    ``k / (n + k)`` of the population's, ``k`` about 2-3 from the model card's
    ``reference_shrinkage``). Give recordings that include the speaker's
    ordinary speech (a set of angry recordings only makes anger the speaker's
    "usual" voice), and at least :data:`MIN_REFERENCE` of them; more is better
    (the README gives the accuracy by the size of the set).

    Parameters
    ----------
    sources : list of paths or arrays
        Single-speaker recordings of one speaker (arrays need ``sr``).
    sr : int, optional
        Rate of the arrays.
    models : dict or path, optional
        As :func:`analyze`.
    priors : dict, optional
        As :func:`score`: ``{target: share}`` of a population whose share of
        the class is known; the probabilities are at even odds otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per source, in order: ``path`` (``<array i>`` for an array),
        ``anger``, ``calm``, ``warmth`` and ``error`` (None, or why that
        source was not scored: it then has NaN scores and does not count
        towards the reference; the others are still scored).

    Raises
    ------
    ParameterError
        Fewer than :data:`MIN_REFERENCE` sources have speech to score.

    Examples
    --------
    >>> import tonekit
    >>> table = tonekit.score_speaker(["monday.wav", "tuesday.wav", "friday.wav"])   # doctest: +SKIP
    >>> list(table.columns)                                                            # doctest: +SKIP
    ['path', 'anger', 'calm', 'warmth', 'error']
    """
    from .errors import TonekitError
    from .features.embedding import relative, signal_embedding

    if isinstance(sources, (str, np.ndarray)) or not hasattr(sources, "__iter__"):
        raise ParameterError("sources must be a list of recordings (paths or arrays) of one speaker")
    sources = list(sources)
    priors = checked_priors(priors)
    mdl = _models(models)
    prefixes = _embedding_prefixes(mdl)
    names = [str(x) if isinstance(x, (str, os.PathLike)) else f"<array {i}>" for i, x in enumerate(sources)]
    raws, embs, errors = [], {p: [] for p in prefixes}, [None] * len(sources)   # raws, embs: good sources only
    for i, src in enumerate(sources):
        try:
            y, rate = _utterance(src, sr)
            fr = signal_frames(y, rate)
            raw = segment_functionals(fr, [(0, fr.n_frames)])
            problem = _unscorable(raw, fr, y, rate)
            if problem:
                raise AudioError(names[i], problem)
            # the same recipe as training (tonekit.models.features.utterance_embedding)
            e = {p: signal_embedding(y, rate, fr.speech, encoder=piece_encoder(p)) for p in prefixes}
        except ParameterError as exc:   # how the recordings were given (sr, an array's type or shape): said at once
            raise ParameterError(f"{names[i]}: {exc}") from None
        except TonekitError as exc:   # named by its source (a Praat analysis that failed knows none)
            errors[i] = f"{names[i]}: {exc.problem}" if getattr(exc, "path", "") is None else str(exc)
            continue
        raws.append(raw)
        for p in prefixes:
            embs[p].append(e[p])
    ok = np.array([e is None for e in errors])
    distinct = len({os.path.realpath(x) if isinstance(x, (str, os.PathLike)) else i
                    for i, x in enumerate(sources) if errors[i] is None})
    if distinct < len(raws) and distinct < MIN_REFERENCE:   # one recording named thrice is one voice sample
        raise ParameterError(f"scoring recordings as one speaker's needs at least {MIN_REFERENCE} different ones "
                             f"with speech, to measure the speaker's usual voice; {len(raws)} were given, but "
                             f"only {distinct} different file{'s' * (distinct != 1)}")
    if len(raws) < MIN_REFERENCE:
        why = "; ".join(e for e in errors if e)
        raise ParameterError(f"scoring recordings as one speaker's needs at least {MIN_REFERENCE} with speech, to "
                             f"measure the speaker's usual voice; {len(raws)} of {len(sources)} have it"
                             f"{f' ({why})' if why else ''}; score a lone recording alone "
                             "(tonekit score without --same-speaker; tonekit.score in Python)")
    raw = pd.concat(raws, ignore_index=True)
    card = next(iter(mdl.values())).card
    k = card.get("reference_shrinkage") or {}
    n = len(raws)
    # the speaker's usual voice: their own over the set, steadied by the training speakers' (k / (n + k) of it)
    base = shrunk_reference(speaker_baseline(raw), card.get("population_baseline"), n, k.get("prosody"))
    parts = [model_features(raw, base)]
    for p in prefixes:
        E = np.stack(embs[p])
        share = population_weight(int(np.isfinite(E).all(axis=1).sum()), k.get(p))
        pop = (card.get("population_embedding") or {}).get(p)
        parts.append(pd.DataFrame(relative(E, population=pop, population_share=share),
                                  columns=list(piece_encoder(p).columns)))
    s = score_features(pd.concat(parts, axis=1), mdl)
    # object, not Arrow's UTF-8 strings: a file name that is not UTF-8 (held as surrogates) stays as it is
    out = pd.DataFrame({"path": pd.Series(names, dtype=object), **{t: np.nan for t in TARGET_NAMES}})
    if priors:
        from .models.estimators import at_prior

        for t, v in priors.items():
            s[t] = at_prior(s[t].to_numpy(), v)
    out.loc[ok, list(TARGET_NAMES)] = s[list(TARGET_NAMES)].to_numpy()
    out["error"] = pd.Series(errors, dtype=object)
    return out


# ----------------------------------------------------------------------------- summary

def _turn_values(fr, turns: pd.DataFrame) -> pd.DataFrame:
    """Per-turn mean f0 (st re 100 Hz), intensity (dB) and rate (syl/s) of one speaker."""
    hop = fr.hop_s
    nuc = np.zeros(fr.n_frames, bool)
    nuc[fr.nuclei] = True
    rows = []
    for _, t in turns.iterrows():
        a, b = frames_of(t.start_s, hop), frames_of(t.end_s, hop)   # the turn's own frames (times are on the grid)
        sp = fr.speech[a:b]
        f0 = fr["f0_hz"][a:b]
        f0 = f0[np.isfinite(f0)]
        rows.append({"start_s": t.start_s, "end_s": t.end_s,
                     "f0": float(np.mean(12 * np.log2(f0 / 100))) if len(f0) >= 5 else np.nan,
                     "intensity": float(np.mean(fr["intensity_db"][a:b][sp])) if sp.sum() >= 5 else np.nan,
                     "rate": nuc[a:b].sum() / (sp.sum() * hop) if sp.sum() * hop >= 0.5 else np.nan})
    return pd.DataFrame(rows, columns=["start_s", "end_s", "f0", "intensity", "rate"])


def entrainment(frames: dict, turns: pd.DataFrame) -> dict:
    """Prosodic entrainment between agent and caller (after Levitan & Hirschberg 2011).

    Over adjacent turn pairs (a turn and the other speaker's next turn), per
    feature (f0 in st, intensity in dB, rate in syl/s):

    - proximity: mean |difference| over non-adjacent pairs minus over adjacent
      pairs (positive: partners sound more alike turn by turn than by chance);
    - convergence: correlation of the adjacent-pair similarity (-|difference|)
      with time (positive: they grow more alike over the call);
    - synchrony: correlation of the two speakers' values across adjacent pairs.
    """
    out = {f: {"proximity": np.nan, "convergence": np.nan, "synchrony": np.nan}
           for f in ("f0", "intensity", "rate")}
    if not {"agent", "caller"} <= set(frames):
        return out
    vals = {s: _turn_values(frames[s], turns[turns.speaker == s]) for s in ("agent", "caller")}
    seq = pd.concat([v.assign(speaker=s) for s, v in vals.items()]).sort_values("start_s").reset_index(drop=True)
    pairs = [(i, i + 1) for i in range(len(seq) - 1) if seq.speaker[i] != seq.speaker[i + 1]]
    if len(pairs) < 4:
        return out
    for f in out:
        a = np.array([seq[f][i] for i, _ in pairs])
        b = np.array([seq[f][j] for _, j in pairs])
        t = np.array([seq.start_s[j] for _, j in pairs])
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 4:
            continue
        d_adj = np.abs(a[ok] - b[ok])
        ag = seq[seq.speaker == "agent"][f].dropna().to_numpy()
        ca = seq[seq.speaker == "caller"][f].dropna().to_numpy()
        d_all = np.abs(ag[:, None] - ca[None, :]).mean() if len(ag) and len(ca) else np.nan
        conv = np.corrcoef(t[ok], -d_adj)[0, 1] if np.std(d_adj) > 0 else np.nan
        sync = np.corrcoef(a[ok], b[ok])[0, 1] if np.std(a[ok]) > 0 and np.std(b[ok]) > 0 else np.nan
        out[f] = {"proximity": float(d_all - d_adj.mean()), "convergence": float(conv), "synchrony": float(sync)}
    return out


def summarise(duration_s, frames, windows, events, act, turns, overlaps, opts, *,
              min_speech_s: float = MIN_SPEECH_S) -> dict:
    """The summary dict of an :class:`Analysis` (``min_speech_s``: the speech a window needs to be read)."""
    speakers = {}
    for spk, fr in frames.items():
        w = windows[windows.speaker == spk]
        talk = float(act.speech[spk].sum() * act.hop_s)   # fr.speech: where the tone was read (Activity.tone_mask)
        speech_int = fr["intensity_db"][fr.speech]
        speakers[spk] = {
            "talk_time_s": round(talk, 2), "talk_share": round(talk / duration_s, 3) if duration_s else np.nan,
            "f0_hz_median": float(np.nanmedian(fr["f0_hz"])) if np.isfinite(fr["f0_hz"]).any() else np.nan,
            "intensity_db_median": float(np.median(speech_int)) if len(speech_int) else np.nan,
            "rate_syl_s_mean": float(w.rate_syl_s.mean()),
            **{f"{t}_mean": float(w[t].mean()) for t in TARGET_NAMES}}
    caller = windows[(windows.speaker == "caller") & windows.anger.notna()].sort_values("start_s", kind="stable")
    ca = {"start": np.nan, "end": np.nan, "change": np.nan}
    if len(caller) >= 2:
        start, end = edge_means(caller.anger)
        ca = {"start": start, "end": end, "change": end - start}
    counts = events.tip.value_counts() if len(events) else pd.Series(dtype=int)
    all_sil = inner_silences(act.silences(min_dur_s=0.3), duration_s)   # the call's pauses, as tip 12 counts them
    pause_s = float((all_sil.end_s - all_sil.start_s).sum()) if len(all_sil) else 0.0
    return {
        "duration_s": float(duration_s),
        "speakers": speakers,
        "overlaps": {"count": int(len(overlaps)),
                     "total_s": float((overlaps.end_s - overlaps.start_s).sum()) if len(overlaps) else 0.0},
        "interruptions": {"count": int(counts.get(1, 0))},
        "silences": {"count": int(counts.get(12, 0)),
                     "longest_s": float((all_sil.end_s - all_sil.start_s).max()) if len(all_sil) else 0.0,
                     # dead air: the call's pauses (nobody speaks for 0.3 s or more, before the last word)
                     "total_s": round(pause_s, 2),
                     "share": round(pause_s / duration_s, 3) if duration_s else np.nan},
        "caller_anger": ca,
        "caller_angry_spans": [[round(max(float(a), 0.0), 2), round(min(float(b), float(duration_s)), 2)]  # in the call
                               for a, b in caller_angry_spans(windows, opts, min_speech_s=min_speech_s)],
        "entrainment": entrainment(frames, turns),
        "events_per_tip": _events_per_tip(counts, speakers),
    }


def _events_per_tip(counts, speakers: dict) -> dict:
    """Events per tip, None for a tip not judged: tips 7-9 when the agent's tone was never scored, 8 and 9
    (judged against the caller's anger) when the caller's was not (too little speech): none found is then no
    sign either way, not a good one."""
    scored = {s: np.isfinite(speakers.get(s, {}).get("anger_mean", np.nan)) for s in ("agent", "caller")}
    unjudged = {7, 8, 9} if not scored["agent"] else {8, 9} if not scored["caller"] else set()
    return {str(t): None if t in unjudged else int(counts.get(t, 0)) for t in (1, 7, 8, 9, 12)}
