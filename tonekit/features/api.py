"""Feature tables of a file, for ``tonekit features`` and researchers."""
from __future__ import annotations

import pandas as pd

from ..activity import detect_activity
from ..audio import audio_info, load_call
from .frames import call_frames, frames_table
from .windows import speaker_windows


def extract_features(path, *, level: str = "windows", call: bool | None = None, agent_channel: int = 0,
                     win_dur_s: float = 3.0, hop_dur_s: float = 1.0) -> pd.DataFrame:
    """Frames or windows (the public tables) of a call or a single-speaker file.

    Parameters
    ----------
    path : path
        Audio file.
    level : {"frames", "windows"}
    call : bool, optional
        Two speakers (stereo) or one (speaker ``"speaker"``); default: stereo
        files are calls, mono files are one speaker.

    The windows' ``anger``, ``calm`` and ``warmth`` columns are left empty
    (NaN): these are acoustic features. The models fill them in
    :func:`tonekit.analyze`'s ``windows`` (``tonekit report --format json``).

    Examples
    --------
    >>> w = extract_features("data/demo_call.flac")    # doctest: +SKIP
    >>> w.columns[:4].tolist()                          # doctest: +SKIP
    ['speaker', 'start_s', 'end_s', 'speech_s']
    """
    if level not in ("frames", "windows"):
        from ..errors import ParameterError

        raise ParameterError(f"level must be 'frames' or 'windows', not {level!r}")
    channels = audio_info(path).channels
    if call is None:
        call = channels == 2
    elif call and channels == 1:
        from ..errors import AudioError

        raise AudioError(path, "mono file: features of a call need a stereo file (two mono files, or a mono "
                               "mix with its turns: tonekit.analyze, whose windows table has these features)")
    c = load_call(path, agent_channel=agent_channel, single=not call)
    act = detect_activity(c)
    frames = call_frames(c, act)
    if level == "frames":
        return frames_table(frames)
    return pd.concat([speaker_windows(fr, win_dur_s=win_dur_s, hop_dur_s=hop_dur_s, duration_s=c.duration_s)[0]
                      for fr in frames.values()], ignore_index=True)
