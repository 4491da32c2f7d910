"""Who speaks when: speech activity per speaker, crosstalk gating, turns, overlaps, silences.

Works on intensity contours (one value per 10 ms frame and speaker). A frame
of a speaker's channel counts as speech when it stands clear of that
channel's noise floor *and* is not merely the other side's voice leaking in:
crosstalk arrives 20-30 dB below the talker, so a frame whose level
(relative to its own channel's speech level) is more than ``crosstalk_db``
below the other channel's is bleed, not speech.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.ndimage import binary_closing, binary_dilation, binary_opening, label

from .analysis import SEGMENT_COLUMNS
from .audio import DC_OFFSET_MIN, SILENT_DBFS, Call, dc_offset_text, judge_levels
from .errors import AudioError
from .notes import note
from .match import MatchOptions
from .features.energy import P_REF, block_power, intensity_from_blocks

HOP_S = 0.01


def frames_of(seconds: float, hop_s: float = HOP_S) -> int:
    """How many frames of ``hop_s`` make ``seconds`` (rounded)."""
    return int(round(seconds / hop_s))


#: Frames quieter than this (dB re 2e-5: -90 dBFS, the level of 16-bit audio's dither) hold no signal: the
#: zeros a recorder writes during a hold or a mute, or the silence padding a call.
NO_SIGNAL_DB = float(20 * np.log10(10 ** (-90 / 20) / P_REF))
#: The line's noise between the words is steady: where a channel also holds digital silence, its frames with a
#: signal show the noise as a plateau, their 5th and 25th percentiles within this many dB.
NOISE_PLATEAU_DB = 6.0
#: A noise gate or a line's silence suppression (DTX) writes zeros between talk spurts and keeps the line's
#: noise inside them (the pauses between words and sentences): the noise is then the bottom of the frames with a
#: signal, flat (their 2nd and 10th percentiles within :data:`GATED_PLATEAU_DB`) and far under the speech (their
#: median :data:`GATED_BELOW_DB` or more over the 10th percentile). A gate that keeps only the speech, and the
#: short pauses it bridges, can leave a bottom as flat but nearer the speech: of three speakers' 40 utterances run
#: together in each corpus (wideband, phone line, noise), gated to the speech found on them, 14 of 36 are that
#: flat, their median 0.4-13.1 dB over it; the demo gated around its turns, 19 and 24 dB.
GATED_PLATEAU_DB = 2.5
GATED_BELOW_DB = 16.0


def floor_and_peak(intensity_db: np.ndarray, *, floor_margin_db: float = 10.0) -> tuple[float, float]:
    """A channel's noise floor (5th percentile of its frame levels, dB) and speech peak (99th).

    Where the channel also holds digital silence (frames under :data:`NO_SIGNAL_DB`: a call padded with zeros,
    a mute or a hold written as zeros, a noise gate's or silence suppression's zeros between talk spurts), both
    are read on the frames with a signal, if these show the line's steady noise (a plateau:
    :data:`NOISE_PLATEAU_DB`, or at their bottom, far under the speech: :data:`GATED_PLATEAU_DB`) with sound
    ``floor_margin_db`` over it; the zeros would otherwise be the floor, and the line's noise would pass for
    speech. A channel whose only signal is its speech (the zeros are its pauses) keeps the zeros as its floor.

    >>> rng = np.random.default_rng(0)
    >>> talk = rng.uniform(45, 80, 400)                                  # 4 s of talk, 45-80 dB
    >>> line = np.r_[rng.normal(40, 1, 600), talk]                       # after 6 s of the line's noise, 40 dB
    >>> [round(v) for v in floor_and_peak(line)]
    [39, 79]
    >>> [round(v) for v in floor_and_peak(np.r_[np.full(2000, -26.0), line])]    # 20 s of zeros first
    [39, 79]
    >>> [round(v) for v in floor_and_peak(np.r_[np.full(2000, -26.0), talk])]    # zeros, then talk alone
    [-26, 80]
    >>> spurts = np.r_[np.full(300, -26.0), rng.normal(40, 0.5, 60), talk[:240], np.full(300, -26.0)]
    >>> [round(v) for v in floor_and_peak(np.tile(spurts, 5))]   # zeros between spurts that keep the noise
    [40, 80]
    """
    x = np.asarray(intensity_db, float)
    if not len(x):
        return float("nan"), float("nan")
    keep = x > NO_SIGNAL_DB
    if keep.all() or keep.sum() < frames_of(1.0):
        floor, peak = np.percentile(x, [5, 99])
        return float(floor), float(peak)
    sig = x[keep]
    q2, floor, q10, q25, q50, peak = np.percentile(sig, [2, 5, 10, 25, 50, 99])
    gated = q10 - q2 <= GATED_PLATEAU_DB and q50 - q10 >= GATED_BELOW_DB   # zeros between spurts of speech
    plateau = q25 - floor <= NOISE_PLATEAU_DB or gated
    if not plateau or (sig > floor + floor_margin_db).mean() < 0.05:
        floor = np.percentile(x, 5)    # no steady noise under the signal: the zeros are the quiet
    return float(floor), float(peak)


#: A stretch of a channel whose own noise stands this many dB or more over the channel's floor gets a floor of
#: its own (:func:`floor_track`): a line that goes quieter for a while (comfort noise, a hold) would otherwise
#: lower the floor of the whole call, and the louder noise of the rest of it would pass for speech.
REGIME_STEP_DB = 6.0


def floor_track(intensity_db: np.ndarray, floor: float, *, step_db: float = REGIME_STEP_DB,
                floor_margin_db: float = 10.0, min_speech_s: float = 1.0, piece_s: float = 1.0,
                nearest: int = 10, hop_s: float = HOP_S):
    """The noise floor under each frame of a channel whose noise changes level for a while; else ``floor``.

    ``floor`` is the channel's floor (:func:`floor_and_peak`). The line's noise is read on 1-s pieces (one
    every 0.1 s): a piece that is noise, or holds a pause of half a second or more, shows a plateau (its 5th
    and 50th percentiles within :data:`NOISE_PLATEAU_DB`), whose level is its 5th percentile; a piece of
    speech does not, and is passed over. The noise behind a frame is the quietest of the ``nearest`` plateaus
    among the pieces that end before it, the noise ahead the quietest of the ``nearest`` among those that
    start after it, and the frame's own noise is the louder of the two: at a step between two levels of
    noise, the noise on each side is its own. Where that stands ``step_db`` or more over ``floor``, through a
    stretch holding ``min_speech_s`` of sound ``floor_margin_db`` over it (speech over the louder noise), it
    is the frame's floor; elsewhere ``floor`` is: a steady sound with nothing over it, music on hold for
    instance, is left to :func:`steady_sound`. A channel whose noise keeps its level, or whose floor is
    digital silence (a noise gate's zeros between the words), gets ``floor`` back, a float.

    >>> rng = np.random.default_rng(0)
    >>> line = rng.normal(40, 1, 3000)                              # 30 s of the line's noise at 40 dB
    >>> line[1000:1400] = rng.uniform(45, 80, 400)                   # 4 s of talk at 10 s
    >>> comfort = rng.normal(25, 1, 6000)                             # a minute of comfort noise at 25 dB
    >>> x = np.r_[comfort, line]
    >>> floor, _ = floor_and_peak(x)
    >>> round(floor)                                                  # the comfort noise's level
    24
    >>> f = floor_track(x, floor)
    >>> round(float(f[:5900].max())), round(float(f[6000:].min()))   # each its own, but 0.6 s before the step
    (24, 38)
    >>> floor_track(line, floor_and_peak(line)[0]) == floor_and_peak(line)[0]
    True
    """
    x = np.asarray(intensity_db, float)
    piece = max(1, frames_of(piece_s, hop_s))
    step = max(1, piece // 10)
    if len(x) < 2 * piece or not floor > NO_SIGNAL_DB:
        return floor
    v = np.where(x > NO_SIGNAL_DB, x, np.nan)
    w = np.lib.stride_tricks.sliding_window_view(v, piece)[::step]     # piece j: frames j*step .. j*step+piece
    enough = np.isfinite(w).sum(axis=1) >= piece // 2
    if not enough.any():
        return floor
    q5, q50 = (np.percentile(w, [5, 50], axis=1) if enough.all() and not np.isnan(v).any()
               else np.nanpercentile(w[enough], [5, 50], axis=1))
    plateau = np.flatnonzero(enough)[q50 - q5 <= NOISE_PLATEAU_DB]    # the pieces that are noise
    level = q5[q50 - q5 <= NOISE_PLATEAU_DB]
    if not len(level):
        return floor
    pad = np.full(nearest - 1, np.inf)
    ahead = np.lib.stride_tricks.sliding_window_view(np.r_[level, pad], nearest).min(axis=1)
    behind = np.lib.stride_tricks.sliding_window_view(np.r_[pad, level], nearest).min(axis=1)
    t = np.arange(len(x))
    k = np.searchsorted(plateau, -(-t // step))                       # the first plateau starting at t or after
    a = np.where(k < len(level), ahead[np.minimum(k, len(level) - 1)], np.inf)
    jb = (t + 1 - piece) // step                                      # pieces ending by the frame
    k = np.searchsorted(plateau, jb, side="right") - 1                # the last plateau among them
    b = np.where((jb >= 0) & (k >= 0), behind[np.maximum(k, 0)], np.inf)
    near = np.where(np.isinf(a), b, np.where(np.isinf(b), a, np.maximum(a, b)))
    raised = np.isfinite(near) & (near >= floor + step_db)
    for i, j in runs(raised):
        if (x[i:j] > near[i:j] + floor_margin_db).sum() * hop_s < min_speech_s:
            raised[i:j] = False   # a steady sound with no speech over it (music on hold): judged as before
    if not raised.any():
        return floor
    return np.where(raised, near, floor)


def runs(mask: np.ndarray) -> np.ndarray:
    """Start and end frame indices ``(k, 2)`` of the runs of True in a boolean array."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return np.column_stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)])


def smooth_mask(mask: np.ndarray, *, fill_gap_s: float = 0.25, min_run_s: float = 0.08,
                hop_s: float = HOP_S) -> np.ndarray:
    """Close pauses shorter than ``fill_gap_s`` and drop blips shorter than ``min_run_s``."""
    m = np.asarray(mask, bool).copy()
    gap = frames_of(fill_gap_s, hop_s)
    if gap > 0:
        padded = np.pad(m, gap)
        m = binary_closing(padded, structure=np.ones(gap + 1, bool))[gap:-gap]
    short = frames_of(min_run_s, hop_s)
    if short > 1:
        m = binary_opening(m, structure=np.ones(short, bool))
    return m


def speech_from_intensity(intensity_db: np.ndarray, *, other_db: np.ndarray | None = None,
                          floor_margin_db: float = 10.0, below_peak_db: float = 40.0,
                          crosstalk_db: float = 12.0, fill_gap_s: float = 0.25, min_run_s: float = 0.08,
                          noise_adaptive: bool = False, noisy_margin_db: float = 6.0,
                          extend_margin_db: float = 3.0, speech_range_db: float = 18.0,
                          local_floor: bool = False, signal_floor: bool = True,
                          hop_s: float = HOP_S) -> np.ndarray:
    """Speech frames of one channel, optionally gated against the other channel.

    Parameters
    ----------
    intensity_db : np.ndarray
        This channel's intensity per frame (dB).
    other_db : np.ndarray, optional
        The other channel's intensity per frame, for crosstalk gating.
    floor_margin_db : float
        Speech must be this far above the noise floor (5th percentile).
    below_peak_db : float
        ... and no further than this below the channel's 99th percentile.
    crosstalk_db : float
        A frame is bleed when its level relative to its channel's speech level
        is more than this below the other channel's relative level.
    fill_gap_s, min_run_s : float
        Smoothing (see :func:`smooth_mask`).
    noise_adaptive : bool
        Also find the quieter speech of a channel under steady noise (see
        :func:`noisy_speech`); what calls use. A channel whose speech peak
        stands ``floor_margin_db + speech_range_db`` (28 dB) or more over its
        floor gets the same frames either way.
    noisy_margin_db, extend_margin_db, speech_range_db : float
        The noisy channel's margins (see :func:`noisy_speech`).
    local_floor : bool
        Where the channel's noise changes level for a while (a line gone quiet with comfort noise), each
        stretch is judged against its own noise (:func:`floor_track`); what calls use.
    signal_floor : bool
        Where the channel also holds digital silence, read its floor and peak on the frames with a signal
        (:func:`floor_and_peak`; what calls use). False reads them on every frame, zeros included: what a
        lone utterance gets (:data:`UTTERANCE_SPEECH`), as the shipped models' training recordings did (a
        corpus's zero padding is the quiet of its recording).

    Examples
    --------
    Four syllables a second peaking 8 dB over steady noise for 5 s, then 5 s of the noise alone, the other
    channel quiet: the fixed 10-dB margin finds none of the speech.

    >>> t = np.arange(1000) * HOP_S
    >>> syllable_db = 68 - 20 + 20 * np.sin(np.pi * (t % 0.25) / 0.25) ** 2
    >>> level_db = 10 * np.log10(1e6 + np.where(t < 5, 10 ** (syllable_db / 10), 0))    # noise at 60 dB
    >>> level_db += np.random.default_rng(0).normal(0, 0.5, t.size)
    >>> quiet_db = np.full(t.size, 30.0)
    >>> fixed = speech_from_intensity(level_db, other_db=quiet_db)
    >>> adaptive = speech_from_intensity(level_db, other_db=quiet_db, noise_adaptive=True)
    >>> float(fixed[:500].mean()), float(adaptive[:500].mean().round(2)), bool(adaptive[500:].any())
    (0.0, 0.98, False)
    """
    x = np.asarray(intensity_db, float)
    if len(x) == 0:
        return np.zeros(0, bool)
    if signal_floor:
        floor, peak = floor_and_peak(x, floor_margin_db=floor_margin_db)
    else:
        floor, peak = (float(v) for v in np.percentile(x, [5, 99]))
    if other_db is None and peak - floor < 2 * floor_margin_db:
        # a lone utterance trimmed to its speech has no silence to measure the floor on: judge by the
        # peak alone (never in a call, where a channel with no dynamics is line noise, not speech)
        floor = peak - below_peak_db
    elif local_floor:
        floor = floor_track(x, floor, floor_margin_db=floor_margin_db, hop_s=hop_s)
    speech = (x > floor + floor_margin_db) & (x > peak - below_peak_db)
    if noise_adaptive:
        speech = noisy_speech(x, speech, floor=floor, peak=peak, floor_margin_db=floor_margin_db,
                              noisy_margin_db=noisy_margin_db, extend_margin_db=extend_margin_db,
                              speech_range_db=speech_range_db, hop_s=hop_s) & (x > peak - below_peak_db)
    if other_db is not None and len(other_db) == len(x):
        o = np.asarray(other_db, float)
        rel_self = x - peak
        rel_other = o - floor_and_peak(o)[1]
        speech &= rel_self > rel_other - crosstalk_db
    return smooth_mask(speech, fill_gap_s=fill_gap_s, min_run_s=min_run_s, hop_s=hop_s)


#: How a lone utterance's speech is found (:func:`speech_from_intensity`'s options) wherever one is read whole:
#: training's corpus recordings (:mod:`tonekit.models.features`), ``tonekit.score``'s frames and voice
#: embedding, training's copies. The floor is read on every frame, zeros included, as when the shipped models
#: were trained: a change here changes their training features, and scripts/train_models.py would no longer
#: rebuild the shipped files.
UTTERANCE_SPEECH = {"signal_floor": False}


def noisy_speech(x: np.ndarray, speech: np.ndarray, *, floor: float, peak: float, floor_margin_db: float = 10.0,
                 noisy_margin_db: float = 6.0, extend_margin_db: float = 3.0, speech_range_db: float = 18.0,
                 hop_s: float = HOP_S) -> np.ndarray:
    """Speech frames of a channel under steady noise: ``speech`` (frames ``floor_margin_db`` over the floor)
    widened where the noise leaves room for it.

    Under steady noise 10 dB below the speech, many syllables stand less than 10 dB over the floor: a fixed
    margin loses about a third of the speech, and four fifths at 5 dB (results/activity_noise.md). So, from
    the frames away from the speech already found (0.3 s or more), the noise's ceiling is read as its median
    plus its spread below the median (steady noise: about 1 dB over its median; noise that swells and fades:
    as far over as it dips under). Then:

    - a frame is speech when it clears the floor by ``noisy_margin_db``, the noise's ceiling by
      ``extend_margin_db``, and is no more than ``speech_range_db`` below the channel's peak;
    - each stretch so found grows into the neighbouring frames over both the floor (by ``extend_margin_db``)
      and the ceiling, again within ``speech_range_db`` of the peak: a soft syllable next to a loud one is
      speech, a lone swell of the noise is not.

    Nothing is ever stricter than ``floor_margin_db`` alone, and a channel whose peak stands
    ``floor_margin_db + speech_range_db`` or more over its floor (a quiet line) keeps ``speech`` as it is.
    ``floor`` may be a floor per frame (:func:`floor_track`); the noise's ceiling is then read over it.
    """
    speech = np.asarray(speech, bool)
    reach = frames_of(0.3, hop_s)
    # the noise is read where there is a signal and no speech near: digital silence is no noise
    quiet = ~binary_dilation(speech, structure=np.ones(2 * reach + 1, bool)) & (x > NO_SIGNAL_DB)
    if quiet.sum() < frames_of(1.0, hop_s):
        return speech   # too little noise alone to read it
    if np.ndim(floor):   # a floor per frame (floor_track): each level of noise has its own spread
        rel = x - floor
        ceiling = np.empty(len(x))
        lifted = floor > np.min(floor)
        for part in (lifted, ~lifted):
            here = quiet & part if (quiet & part).sum() >= frames_of(1.0, hop_s) else quiet
            q5, q50 = np.percentile(rel[here], [5, 50])
            ceiling[part] = floor[part] + 2 * q50 - q5
    else:
        q5, q50 = np.percentile(x[quiet], [5, 50])
        ceiling = 2 * q50 - q5
    seed_db = np.minimum(floor + floor_margin_db, np.maximum(np.maximum(floor + noisy_margin_db,
                                                                        ceiling + extend_margin_db),
                                                             peak - speech_range_db))
    grow_db = np.maximum(np.maximum(floor + extend_margin_db, ceiling), peak - speech_range_db)
    seeds = speech | (x > seed_db)
    parts, n = label(seeds | (x > grow_db))
    keep = np.zeros(n + 1, bool)
    keep[np.unique(parts[seeds])] = True
    keep[0] = False
    return keep[parts]


#: A channel whose speech stands less than this over its floor (99th against 5th percentile of its frame
#: levels, dB) is noisier than anything the tone models were trained on: under about 4 dB of signal-to-noise
#: ratio, where training's noisiest copies have 5 dB (:func:`tonekit.augment.noise_copy`; measured on the demo
#: under white and pink noise and mains hum: the headroom is the SNR plus 6.5-8.5 dB, 11.6-13.4 dB at 5 dB).
NOISY_HEADROOM_DB = 11.0


#: Music on hold (:func:`steady_sound`): sound whose level hardly dips (a share under ``MUSIC_DIPS`` of the
#: frames of each 1.5-s piece) for ``MUSIC_MIN_S`` or more, inside a stretch with no pause of ``MUSIC_GAP_S``.
#: ``MUSIC_MIN_S`` is tip 12's shortest hold by default (:attr:`tonekit.match.MatchOptions.long_silence_s`).
MUSIC_MIN_S = MatchOptions.long_silence_s
MUSIC_GAP_S = 0.5
MUSIC_DIPS = 0.05


def steady_sound(intensity_db: np.ndarray, sound: np.ndarray, *, floor: float, min_s: float = MUSIC_MIN_S,
                 gap_s: float = MUSIC_GAP_S, dips: float = MUSIC_DIPS, piece_s: float = 1.5,
                 hop_s: float = HOP_S) -> np.ndarray:
    """Steady, music-like stretches of a channel's ``sound`` frames, rather than speech (True there).

    Speech dips between its syllables and words: in a 1.5-s piece of speech, a share of the frames lies
    under the piece's loud level (its 90th percentile) by half that level's height over the channel's
    ``floor``, 3 dB at the least and 10 dB at the most (10 dB on a quiet line; less where noise fills the
    dips). Music played on hold keeps sounding. Pieces (every 0.5 s) whose share is under ``dips``, inside
    a stretch of ``sound`` without a pause of ``gap_s``, are steady; where they cover ``min_s`` or more in
    a row, that stretch is returned. In the 1.5-s pieces of the corpora's speech (Emo-DB, nEMO and RAVDESS,
    as recorded, through the phone line and under noise 5-20 dB down) the share is 0.03 at the least and
    0.29-0.49 at the median; in most synthetic hold music, under 0.03 (README, How it works).

    >>> t = np.arange(1200) * HOP_S                         # 12 s
    >>> syllables = 60 + 20 * np.sin(np.pi * (t % 0.25) / 0.25) ** 2 - 20   # 4 a second, 20 dB deep
    >>> sound = np.ones(t.size, bool)
    >>> bool(steady_sound(syllables, sound, floor=30.0).any())
    False
    >>> chord = 55 + np.random.default_rng(0).normal(0, 1, t.size)          # a held note, 1 dB of wobble
    >>> bool(steady_sound(chord, sound, floor=30.0).all())
    True
    >>> talk_then_music = np.r_[syllables[:400], chord[400:]]               # 4 s of talk, 8 s of music
    >>> m = steady_sound(talk_then_music, sound, floor=30.0)
    >>> bool(m[:400].any()), bool(m[450:].all())
    (False, True)
    """
    x = np.asarray(intensity_db, float)
    out = np.zeros(len(x), bool)
    piece = max(1, frames_of(piece_s, hop_s))
    step = max(1, piece // 3)
    closed = smooth_mask(sound, fill_gap_s=gap_s, min_run_s=0.0, hop_s=hop_s)
    for a, b in runs(closed):
        if (b - a) * hop_s < min_s:
            continue
        w = np.lib.stride_tricks.sliding_window_view(x[a:b], piece)[::step]
        top = np.percentile(w, 90, axis=1)
        thr = top - np.clip((top - floor) / 2, 3.0, 10.0)
        cover = np.zeros(b - a, bool)
        for i in np.flatnonzero((w < thr[:, None]).mean(axis=1) < dips):
            cover[i * step: i * step + piece] = True
        for c, d in runs(cover):
            if (d - c) * hop_s >= min_s:
                # the stretch's own first or last moments, shorter than a piece, go with it
                out[a + (0 if c < piece else c): a + (b - a if b - a - d < piece else d)] = True
    return out


#: Call-progress tones (ringback, busy and dial tones) are one or two pure tones: in each frame nearly all the
#: power of :data:`PURE_TONE_BAND_HZ` lies within two narrow peaks (+-2 bins of a 64-ms spectrum each; a frame
#: is tonal when they hold :data:`PURE_TONE_SHARE` of it), and their frequency and level hold still. A voice
#: can be as pure for a moment (a low vowel's strongest harmonic), but its pitch and level move. A tone is a
#: stretch of :data:`PURE_TONE_MIN_S` or more of tonal frames whose frequency and level vary by no more than
#: :data:`PURE_TONE_FREQ_STD_HZ` and :data:`PURE_TONE_LEVEL_STD_DB` (standard deviations), and that lasts
#: :data:`PURE_TONE_LONG_S` or comes back at its frequency (:data:`PURE_TONE_SAME_HZ`) after a pause of
#: :data:`PURE_TONE_CADENCE_S` or less, as ringback and busy tones do. Through a µ-law or GSM line a tone holds
#: 0.06-1.1 Hz and 0.04-0.7 dB. In the four corpora's 4504 utterances, as recorded and through the phone line,
#: 339 tonal stretches last 0.25 s; one of them is as steady (0.5 Hz, 0.7 dB, 0.25 s), but none lasts 1 s or
#: comes back, and no frame of speech is taken for a tone, nor when each speaker's utterances run together
#: (README, How it works).
PURE_TONE_SHARE = 0.9
PURE_TONE_MIN_S = 0.25
PURE_TONE_FREQ_STD_HZ = 1.2
PURE_TONE_LEVEL_STD_DB = 1.0
PURE_TONE_LONG_S = 1.0
PURE_TONE_SAME_HZ = 5.0
#: A beep that recurs further apart than a cadence (a recording's warning beep, every 15 s) is a tone when it
#: sounds this many times or more in the call at one frequency and level (within :data:`PURE_TONE_SAME_HZ` and
#: :data:`PURE_TONE_SAME_DB`).
PURE_TONE_RECURRING = 3
PURE_TONE_SAME_DB = 3.0
#: Tones that pause for up to this long (s) come back in a cadence: a ringback's (1.5 s on, 3.5 s off in France),
#: a busy tone's (0.5 s on, 0.5 s off); the warning names them as one span.
PURE_TONE_CADENCE_S = 4.0
PURE_TONE_BAND_HZ = (200.0, 3400.0)
#: The first look for tones (:func:`channel_levels`' ``tones``): :func:`tonal_frames` every this many seconds;
#: the frames around :data:`PURE_TONE_SCREEN_RUN` of them in a row that are tonal, their frequency within
#: :data:`PURE_TONE_SCREEN_SPREAD_HZ`, are read in full (a tone of :data:`PURE_TONE_MIN_S` holds five). Speech
#: has such a triplet in 0.7 % of its first-look frames (150 Emo-DB recordings), so little is read twice.
PURE_TONE_SCREEN_S = 0.05
PURE_TONE_SCREEN_RUN = 3
PURE_TONE_SCREEN_SPREAD_HZ = 4.0
#: How far (dB) a tone stands over its channel's floor at the least (:func:`pure_tones`): ringback, busy and dial
#: tones come at a talker's level, hum under it.
PURE_TONE_OVER_FLOOR_DB = 10.0
#: A frame-to-frame jump (Hz) that ends a tone.
PURE_TONE_JUMP_HZ = 10.0
#: How far (s) a tone's own frames reach past its steady part: the level frames' 40-ms windows, and the
#: tone's onset and decay, which the spectrum reads as less pure.
PURE_TONE_EDGE_S = 0.05


#: Key tones (DTMF, ITU-T Q.23): a keypad's key sounds one frequency of each group at once, for 40 ms at the
#: least (Q.24), too short for :func:`pure_tones`. A frame holds a key where :data:`DTMF_SHARE` of its band's
#: power lies in two peaks, one within :data:`DTMF_TOLERANCE` of a low-group frequency and one of a high-group
#: one, the weaker no more than :data:`DTMF_TWIST_DB` under the stronger. Q.24 asks a receiver to take keys 1.5 %
#: off and to refuse them 3.5 % off; at 3 % the 2nd and 4th, 2nd and 3rd or 3rd and 4th harmonics of a high
#: voice pass for a key (7 RAVDESS and Emo-DB utterances, for 30-40 ms), at 1.5 % none of the four corpora's
#: 4504 utterances, as recorded or through the phone line, holds a key for a frame at 0.9 of the power, nor for
#: three frames in a row at 0.85 (at 0.8, one does). Through a GSM or low-rate Opus line a key's spectrum is less
#: pure: ten 50-ms keys at about the speech's level in the demo's hold left 0.3-0.7 s of caller talk in 6 of 8
#: such calls at 0.9, and 0.08 s at most at 0.85 (README, How it works).
DTMF_LOW_HZ = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_TOLERANCE = 0.015
DTMF_SHARE = 0.85
DTMF_TWIST_DB = 10.0
#: A key press: frames of one key in a row for this long (s) at the least. A key of 40 ms holds five frames whose
#: 64-ms spectra are that pure, a burst of 20 ms three, one of 15 ms none. Asking for four frames left more of
#: the keys through a GSM or Opus line as speech (their runs break up).
DTMF_MIN_S = 0.03
#: The first look for keys (:func:`channel_levels`' ``tones``): a frame of its spectra every
#: :data:`PURE_TONE_SCREEN_S` that holds a key's pair with this share of the power or more (a 40-ms key is
#: caught by the frames around it, whose windows hold its silence or noise too).
DTMF_SCREEN_SHARE = 0.6
#: The keypad's keys, as :func:`dtmf_keys` numbers them (``4 * row + column``).
DTMF_KEYS = "123A456B789C*0#D"


def clock_spans(mask: np.ndarray, *, join_gap_s: float = 0.0, hop_s: float = HOP_S) -> str:
    """The runs of a frame mask as clock times for a message, runs ``join_gap_s`` or less apart named as one.

    >>> clock_spans(np.r_[np.ones(150), np.zeros(350), np.ones(150)].astype(bool))
    '0:00-0:01, 0:05-0:06'
    >>> clock_spans(np.r_[np.ones(150), np.zeros(350), np.ones(150)].astype(bool), join_gap_s=4.0)
    '0:00-0:06'
    """
    from .report._common import fmt_clock

    spans = runs(smooth_mask(mask, fill_gap_s=join_gap_s, min_run_s=0.0, hop_s=hop_s) if join_gap_s else mask)
    return ", ".join(f"{fmt_clock(a * hop_s)}-{fmt_clock(b * hop_s)}" for a, b in spans)


def tonal_frames(y: np.ndarray, sr: int, *, hop_s: float = HOP_S, keys: bool = False) -> tuple[np.ndarray, ...]:
    """Per frame (centred on ``i * hop_s``, as the levels' frames), the share of the power of
    :data:`PURE_TONE_BAND_HZ` that its two strongest peaks hold (+-2 bins of a 64-ms Hann spectrum each), and a
    frequency to follow (Hz): the lower of the two peaks' where the second holds a quarter of the first's
    power or more (a dual tone), else the strongest's; refined between bins by a parabola on the log power.
    With ``keys``, a third item: :func:`dtmf_frames`' keys, from the same spectra.

    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> share, hz = tonal_frames(np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t), sr)  # US ringback
    >>> round(float(share[10:-10].min()), 2), bool(abs(np.median(hz[10:-10]) - 440) < 2)
    (1.0, True)
    >>> buzz = np.sign(np.sin(2 * np.pi * 150 * t))                  # a harmonic-rich 150-Hz source
    >>> bool(tonal_frames(buzz, sr)[0][10:-10].max() < PURE_TONE_SHARE)
    True
    """
    hop = int(round(hop_s * sr))
    peaks = _peaks_at(y, sr, hop, np.arange(int(np.ceil(len(y) / hop))))
    return (*_followed(peaks), dtmf_keys(*peaks)) if keys else _followed(peaks)


def _followed(peaks: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_peaks_at`'s share, and the frequency :func:`tonal_frames` follows: the lower of the two peaks'
    where the second holds a quarter of the first's power or more, else the strongest's."""
    share, f1, f2, ratio = peaks
    return share, np.where(ratio >= 0.25, np.fmin(f1, f2), f1)


def _peaks_at(y: np.ndarray, sr: int, hop: int, at: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per frame of ``at`` (indices; frame ``i`` centred on sample ``i * hop``): the share of the band's power
    its two strongest peaks hold, the strongest's frequency and the second's (Hz, each refined by a parabola on
    the log power), and the second's power over the first's."""
    y = np.asarray(y, float)
    n_fft = 1 << int(np.ceil(np.log2(0.064 * sr)))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs >= PURE_TONE_BAND_HZ[0]) & (freqs <= min(PURE_TONE_BAND_HZ[1], 0.45 * sr))
    first = int(np.flatnonzero(band)[0])
    window = np.hanning(n_fft)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(y, (n_fft // 2, n_fft // 2 + hop)), n_fft)
    share, f1, f2, ratio = np.zeros(len(at)), np.full(len(at), np.nan), np.full(len(at), np.nan), np.zeros(len(at))
    step = 2000                                   # frames per block: bounded memory on long stretches
    for a in range(0, len(at), step):
        b = min(len(at), a + step)
        rows = np.arange(b - a)[:, None]
        spec = np.fft.rfft(windows[at[a:b] * hop] * window, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        inband = np.pad(power[:, band], ((0, 0), (2, 2)))   # two empty bins each side: every peak has +-2
        total = inband.sum(axis=1)
        k1 = inband.argmax(axis=1)
        around1 = k1[:, None] + np.arange(-2, 3)
        p1 = inband[rows[:, 0], k1]
        held = inband[rows, around1].sum(axis=1)
        inband[rows, around1] = 0.0                  # the strongest peak's bins, out of the second's search
        k2 = inband.argmax(axis=1)
        p2 = inband[rows[:, 0], k2]
        held += inband[rows, k2[:, None] + np.arange(-2, 3)].sum(axis=1)
        share[a:b] = np.where(total > 0, held / np.maximum(total, 1e-300), 0.0)
        ratio[a:b] = np.where(p1 > 0, p2 / np.maximum(p1, 1e-300), 0.0)
        for out, k in ((f1, first - 2 + k1), (f2, first - 2 + k2)):
            lo, mid, hi = (np.log(power[rows[:, 0], np.clip(k + d, 0, power.shape[1] - 1)] + 1e-300)
                           for d in (-1, 0, 1))
            curve = lo - 2 * mid + hi
            shift = np.clip(0.5 * (lo - hi) / np.where(curve < 0, curve, -np.inf), -0.5, 0.5)
            out[a:b] = (k + shift) * sr / n_fft
    return share, f1, f2, ratio


def dtmf_frames(y: np.ndarray, sr: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """Per frame (as :func:`tonal_frames`), the keypad key whose tone pair it holds (:func:`dtmf_keys`), -1 for
    none (``tonal_frames(..., keys=True)`` gives these with the tonal share, from one pass).

    >>> sr = 8000
    >>> t = np.arange(int(0.1 * sr)) / sr
    >>> five = np.sin(2 * np.pi * 770 * t) + 0.7 * np.sin(2 * np.pi * 1336 * t)   # key 5, for 0.1 s
    >>> keys = dtmf_frames(np.r_[np.zeros(sr // 2), five, np.zeros(sr // 2)], sr)
    >>> DTMF_KEYS[int(np.median(keys[keys >= 0]))], int((keys >= 0).sum())
    ('5', 11)
    >>> two = np.sin(2 * np.pi * 700 * t) + np.sin(2 * np.pi * 1100 * t)          # two tones, not a key's
    >>> int((dtmf_frames(two, sr) >= 0).sum())
    0
    """
    return tonal_frames(y, sr, hop_s=hop_s, keys=True)[2]


def dtmf_keys(share: np.ndarray, f1: np.ndarray, f2: np.ndarray, ratio: np.ndarray, *,
              tolerance: float = DTMF_TOLERANCE, min_share: float = DTMF_SHARE) -> np.ndarray:
    """The keypad key (``4 * row + column``: :data:`DTMF_KEYS`) of frames whose two strongest peaks, at ``f1``
    and ``f2`` (Hz; the second's power ``ratio`` times the first's) and holding ``share`` of the band's power
    (``min_share`` or more), are a key's tone pair (:data:`DTMF_LOW_HZ`, :data:`DTMF_HIGH_HZ`, within
    ``tolerance``); -1 elsewhere.

    >>> DTMF_KEYS[int(dtmf_keys(np.array([0.99]), np.array([1340.0]), np.array([772.0]), np.array([0.5]))[0])]
    '5'
    >>> int(dtmf_keys(np.array([0.99]), np.array([1340.0]), np.array([772.0]), np.array([0.02]))[0])  # 17 dB twist
    -1
    """
    share, f1, f2, ratio = (np.asarray(v, float) for v in (share, f1, f2, ratio))
    lo, hi = np.fmin(f1, f2), np.fmax(f1, f2)

    def group(f, freqs):
        near = np.abs(np.log(np.nan_to_num(f, nan=1.0)[:, None] / np.asarray(freqs)[None, :])) <= np.log1p(tolerance)
        return np.where(near.any(axis=1), near.argmax(axis=1), -1)

    row, col = group(lo, DTMF_LOW_HZ), group(hi, DTMF_HIGH_HZ)
    ok = (share >= min_share) & (ratio >= 10 ** (-DTMF_TWIST_DB / 10)) & (row >= 0) & (col >= 0)
    return np.where(ok, 4 * row + col, -1).astype(np.int8)


def key_presses(keys: np.ndarray, intensity_db: np.ndarray, *, floor_db=None, hop_s: float = HOP_S) -> np.ndarray:
    """Frames of key presses (True there), from :func:`dtmf_frames`' keys and the frames' levels (dB): runs of
    one key that last :data:`DTMF_MIN_S`, standing :data:`PURE_TONE_OVER_FLOOR_DB` over the channel's floor
    (``floor_db``: a level, or one per frame) where it is given; each widened by :data:`PURE_TONE_EDGE_S`.

    >>> keys = np.r_[np.full(20, -1), np.full(8, 4), np.full(20, -1), np.full(2, 9), np.full(20, -1)]   # 2: too short
    >>> int(key_presses(keys, np.full(70, 60.0)).sum())      # the 8-frame press, 5 frames past each edge
    18
    >>> int(key_presses(keys, np.full(70, 60.0), floor_db=55.0).sum())   # not over the floor
    0
    """
    keys, x = np.asarray(keys), np.asarray(intensity_db, float)
    floor = None if floor_db is None else np.broadcast_to(floor_db, x.shape)
    need, edge = frames_of(DTMF_MIN_S, hop_s), frames_of(PURE_TONE_EDGE_S, hop_s)
    out = np.zeros(len(keys), bool)
    for a, b in runs(keys >= 0):
        cuts = np.flatnonzero(np.diff(keys[a:b]) != 0) + 1
        for c, d in zip(np.r_[0, cuts] + a, np.r_[cuts, b - a] + a):
            over = floor is None or np.median(x[c:d]) >= np.median(floor[c:d]) + PURE_TONE_OVER_FLOOR_DB
            if d - c >= need and over:
                out[c:d] = True
    if out.any() and edge:
        out = binary_dilation(out, iterations=edge)
    return out


def pure_tones(share: np.ndarray, hz: np.ndarray, intensity_db: np.ndarray, *, floor_db=None,
               hop_s: float = HOP_S) -> np.ndarray:
    """Frames of call-progress tones (True there), from :func:`tonal_frames` and the frames' levels (dB): runs of
    :data:`PURE_TONE_SHARE` tonal frames, cut where the frequency jumps (:data:`PURE_TONE_JUMP_HZ`), that last
    :data:`PURE_TONE_MIN_S` with their frequency and level steady (inside the run's edges), and that last
    :data:`PURE_TONE_LONG_S`, come back at their frequency within :data:`PURE_TONE_CADENCE_S`, or sound
    :data:`PURE_TONE_RECURRING` times at one frequency and level; each widened by :data:`PURE_TONE_EDGE_S`.
    Given the channel's floor (``floor_db``: a level, or one per frame, as :func:`floor_track` gives), a tone
    must also stand :data:`PURE_TONE_OVER_FLOOR_DB` over it: mains hum is as steady, but it is the channel's
    noise, and where it starts partway through a call it raises the floor.

    >>> on = np.tile(np.r_[np.ones(50), np.zeros(50)], 3).astype(bool)   # a busy tone: 0.5 s on, 0.5 s off
    >>> share, hz, level = np.where(on, 0.99, 0.3), np.where(on, 425.0, 900.0), np.where(on, 60.0, 30.0)
    >>> int(pure_tones(share, hz, level).sum())                  # three bursts, and 5 frames past each edge
    175
    >>> int(pure_tones(share[:100], hz[:100], level[:100]).sum())   # one 0.5-s burst alone: not enough
    0
    >>> beeps = np.tile(np.r_[np.zeros(100), np.ones(40), np.zeros(1360)], 3).astype(bool)   # 0.4 s every 15 s
    >>> int(pure_tones(np.where(beeps, 0.99, 0.3), np.where(beeps, 1400.0, 900.0), np.where(beeps, 60.0, 30.0)).sum())
    150
    >>> int(pure_tones(share, np.where(on, np.linspace(200, 260, 300), 900.0), level).sum())  # a gliding pitch
    0
    """
    share, hz, x = (np.asarray(v, float) for v in (share, hz, intensity_db))
    need, edge = frames_of(PURE_TONE_MIN_S, hop_s), frames_of(PURE_TONE_EDGE_S, hop_s)
    steady = []   # (start, end, frequency) of the steady tonal stretches
    for a, b in runs(share >= PURE_TONE_SHARE):
        cuts = np.flatnonzero(np.abs(np.diff(hz[a:b])) > PURE_TONE_JUMP_HZ) + 1
        for c, d in zip(np.r_[0, cuts] + a, np.r_[cuts, b - a] + a):
            if d - c < need:
                continue
            # inside the stretch's edges, where the tone's onset and decay do not fill the frames
            inner = slice(c + edge, d - edge) if d - c > 2 * edge + 2 else slice(c, d)
            if floor_db is not None and np.median(x[inner]) < (np.median(np.broadcast_to(floor_db, x.shape)[inner])
                                                               + PURE_TONE_OVER_FLOOR_DB):
                continue
            if np.std(hz[inner]) <= PURE_TONE_FREQ_STD_HZ and np.std(x[inner]) <= PURE_TONE_LEVEL_STD_DB:
                steady.append((c, d, float(np.median(hz[inner])), float(np.median(x[inner]))))
    out = np.zeros(len(share), bool)
    long_, cadence = frames_of(PURE_TONE_LONG_S, hop_s), frames_of(PURE_TONE_CADENCE_S, hop_s)
    for i, (c, d, f, level) in enumerate(steady):
        same = [(c2, d2) for j, (c2, d2, g, level2) in enumerate(steady)
                if j != i and abs(f - g) <= PURE_TONE_SAME_HZ and abs(level - level2) <= PURE_TONE_SAME_DB]
        again = any(0 < c - d2 <= cadence or 0 < c2 - d <= cadence for c2, d2 in same)
        if d - c >= long_ or again or len(same) + 1 >= PURE_TONE_RECURRING:
            out[c:d] = True
    if out.any() and edge:
        out = binary_dilation(out, iterations=edge)
    return out


def headroom_db(intensity_db: np.ndarray) -> float:
    """How far a channel's speech stands over its floor: the 99th minus the 5th percentile of its frame
    levels (dB); NaN for no frames.

    >>> headroom_db(np.r_[np.full(90, 40.0), np.full(10, 70.0)])
    30.0
    """
    floor, peak = floor_and_peak(intensity_db)
    return peak - floor


def segments_table(mask: np.ndarray, speaker: str, *, hop_s: float = HOP_S, min_dur_s: float = 0.0) -> pd.DataFrame:
    """Runs of a frame mask as a ``speaker, start_s, end_s`` table."""
    r = runs(mask)
    t = pd.DataFrame({"speaker": speaker, "start_s": r[:, 0] * hop_s, "end_s": r[:, 1] * hop_s},
                     columns=SEGMENT_COLUMNS)
    if min_dur_s > 0:
        t = t[(t.end_s - t.start_s) >= min_dur_s - 1e-9]
    return t.reset_index(drop=True)


@dataclass
class Activity:
    """Speech activity of every speaker of a call on a 10 ms grid.

    Attributes
    ----------
    hop_s : float
    intensity_db : dict
        speaker -> intensity per frame (dB), over the whole call.
    speech : dict
        speaker -> boolean speech mask per frame.
    tone_speech : dict
        speaker -> the speech frames their tone is read on, for a speaker whose speech was found above mains
        hum (:func:`hum_drop_db`): those that also stand out of the whole signal, as the tone models heard
        speech in training. Every other speaker's tone is read on all their speech (:meth:`tone_mask`).
    """

    hop_s: float
    intensity_db: dict
    speech: dict
    tone_speech: dict = field(default_factory=dict)

    def tone_mask(self, speaker: str) -> np.ndarray:
        """The frames ``speaker``'s tone is read on (see ``tone_speech``)."""
        return self.tone_speech.get(speaker, self.speech[speaker])

    @property
    def n_frames(self) -> int:
        return max(len(v) for v in self.speech.values())

    def turns(self, *, merge_pause_s: float = 0.5) -> pd.DataFrame:
        """Turns per speaker: speech runs merged across pauses shorter than ``merge_pause_s``."""
        tables = []
        for spk, m in self.speech.items():
            merged = smooth_mask(m, fill_gap_s=merge_pause_s, min_run_s=0.0, hop_s=self.hop_s)
            tables.append(segments_table(merged, spk, hop_s=self.hop_s))
        t = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=SEGMENT_COLUMNS)
        return t.sort_values(["start_s", "speaker"]).reset_index(drop=True)

    def overlaps(self, *, min_dur_s: float = 0.1) -> pd.DataFrame:
        """Stretches where both speakers speak at once."""
        masks = list(self.speech.values())
        if len(masks) < 2:
            return pd.DataFrame(columns=SEGMENT_COLUMNS)
        n = min(len(m) for m in masks)
        both = masks[0][:n] & masks[1][:n]
        return segments_table(both, "both", hop_s=self.hop_s, min_dur_s=min_dur_s)

    def silences(self, *, min_dur_s: float = 1.0) -> pd.DataFrame:
        """Stretches where nobody speaks, at least ``min_dur_s`` long."""
        n = self.n_frames
        anyone = np.zeros(n, bool)
        for m in self.speech.values():
            anyone[: len(m)] |= m
        return segments_table(~anyone, "none", hop_s=self.hop_s, min_dur_s=min_dur_s)


#: Mains hum and rumble lie low: where a channel's floor falls :data:`HUM_DROP_DB` or more once the sound below
#: this (Hz) is taken off (a 4th-order Butterworth high-pass), its speech is found on the levels above it.
HUM_HIGHPASS_HZ = 150.0
HUM_DROP_DB = 6.0


def channel_levels(call: Call, speaker: str, *, chunk_s: float = 60.0, hop_s: float = HOP_S,
                   highpass_hz: float | None = HUM_HIGHPASS_HZ, tones: bool = False) -> tuple:
    """Intensity per frame of one speaker's signal over the whole call, read in chunks, and the same of the
    signal above ``highpass_hz`` (None: not computed); with ``tones``, a third item, :func:`tonal_frames`'
    ``(share, hz)`` and :func:`dtmf_frames`' ``keys`` on the same frames where a first look finds steady tonal
    frames or a key's tone pair (elsewhere share 0, hz NaN and keys -1; :data:`PURE_TONE_SCREEN_S`), for
    :func:`pure_tones` and :func:`key_presses`.

    The same pass checks the signal: a silent or badly clipped channel raises
    :class:`tonekit.errors.AudioError` naming the file and channel, and a DC offset is taken off every read
    of the channel from then on, with a warning.
    """
    from scipy.signal import butter, sosfilt, sosfilt_zi

    hop = int(round(hop_s * call.sr))
    high = highpass_hz is not None and highpass_hz < call.sr / 2
    if high:
        sos = butter(4, highpass_hz, "highpass", fs=call.sr, output="sos")
        state = sosfilt_zi(sos) * 0.0
    blocks, high_blocks, tonal = [], [], []
    peak, clipped, n, total = 0.0, 0, 0, 0.0
    info = call.infos.get(speaker)
    own_s = call.duration_s if info is None else info.duration_s   # a shorter file reads as zeros past its end
    t = 0.0
    while t < call.duration_s:
        y = call.read(speaker, t, min(t + chunk_s, call.duration_s))
        if tones:
            tonal.append(_screened_tonal_frames(y, call.sr, hop))
        a = np.abs(y[:max(0, int(round((own_s - t) * call.sr)))])   # the file's own samples are judged
        if len(a):
            peak = max(peak, float(a.max()))
            clipped += int(np.count_nonzero(a >= 0.999))
            n += len(a)
            total += float(y[:len(a)].sum())
        blocks.append(block_power(y, hop))
        if high:
            z, state = sosfilt(sos, y, zi=state)
            high_blocks.append(block_power(z, hop))
        t += chunk_s
    path, what = call.describe(speaker)
    if call.dc.get(speaker) and peak <= 10 ** (SILENT_DBFS / 20):   # nothing was left once the offset was off
        raise AudioError(path, f"{what} holds no sound, only {dc_offset_text(call.dc[speaker])}")
    judge_levels(path, what, peak, clipped / max(n, 1), side=speaker if what.startswith("channel") else None)
    dc = total / max(n, 1)
    if abs(dc) >= DC_OFFSET_MIN and not call.dc.get(speaker):
        # the offset's power would fill every pause: take it off every read of this speaker, and measure again
        src = call.sources[speaker]
        for other, o in call.sources.items():   # a mono mix's speakers share the offset of their one channel
            if (o.path, o.channel) == (src.path, src.channel):
                call.dc[other] = dc
        warnings.warn(note("dc_offset", path=path, what=what, dc=f"{dc:+.3f}", dbfs=f"{20 * np.log10(abs(dc)):.0f}"),
                      stacklevel=3)
        return channel_levels(call, speaker, chunk_s=chunk_s, hop_s=hop_s, highpass_hz=highpass_hz, tones=tones)

    def frames(b):
        return intensity_from_blocks(np.concatenate(b) if b else np.zeros(0), hop)

    levels = frames(blocks), (frames(high_blocks) if high else None)
    if not tones:
        return levels
    return (*levels, tuple(np.concatenate(part) if part else np.zeros(0) for part in zip(*tonal)))


def _screened_tonal_frames(y: np.ndarray, sr: int, hop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`tonal_frames` and :func:`dtmf_frames` of a chunk's frames (``hop`` samples), computed only around
    the steady tonal runs that a first look every :data:`PURE_TONE_SCREEN_S` finds (:data:`PURE_TONE_SCREEN_RUN`),
    and around its frames that hold a key's tone pair (:data:`DTMF_SCREEN_SHARE`); elsewhere share 0, hz NaN and
    no key."""
    n = int(np.ceil(len(y) / hop))
    share, hz = np.zeros(n, np.float32), np.full(n, np.nan, np.float32)   # kept for the whole call: half the bytes
    keys = np.full(n, -1, np.int8)
    if not len(y):
        return share, hz, keys
    coarse_hop = int(round(PURE_TONE_SCREEN_S * sr))
    peaks = _peaks_at(y, sr, coarse_hop, np.arange(int(np.ceil(len(y) / coarse_hop))))
    coarse_share, coarse_hz = _followed(peaks)
    seeds = dtmf_keys(*peaks, min_share=DTMF_SCREEN_SHARE) >= 0
    k = PURE_TONE_SCREEN_RUN
    if len(coarse_share) >= k:
        tonal = np.lib.stride_tricks.sliding_window_view(coarse_share >= PURE_TONE_SHARE, k).all(axis=1)
        steady = np.ptp(np.lib.stride_tricks.sliding_window_view(coarse_hz, k), axis=1) <= PURE_TONE_SCREEN_SPREAD_HZ
        for i in np.flatnonzero(tonal & steady):
            seeds[i:i + k] = True
    ratio, pad = coarse_hop / hop, frames_of(2 * PURE_TONE_SCREEN_S)
    near = np.zeros(n, bool)
    for c, d in runs(seeds):
        near[max(0, int(c * ratio) - pad): min(n, int(np.ceil((d - 1) * ratio)) + pad + 1)] = True
    at = np.flatnonzero(near)
    fine = _peaks_at(y, sr, hop, at)
    share[at], hz[at] = _followed(fine)
    keys[at] = dtmf_keys(*fine)
    return share, hz, keys


def channel_intensity(call: Call, speaker: str, *, chunk_s: float = 60.0, hop_s: float = HOP_S) -> np.ndarray:
    """Intensity per frame of one speaker's signal over the whole call (:func:`channel_levels`)."""
    return channel_levels(call, speaker, chunk_s=chunk_s, hop_s=hop_s, highpass_hz=None)[0]


def hum_drop_db(intensity_db: np.ndarray, high_db: np.ndarray | None) -> float:
    """How far a channel's floor falls once the sound below :data:`HUM_HIGHPASS_HZ` is taken off (dB; 0.0
    without the high-passed levels): mains hum or rumble when :data:`HUM_DROP_DB` or more.

    The floors are compared over the whole channel, and over the stretch where its noise stands a step over the
    rest (:func:`floor_track`), whichever falls further: hum that starts halfway through a call, a headset's
    cable plugged in, raises the noise of that stretch alone, and the whole channel's floor is that of its clean
    part.

    >>> rng = np.random.default_rng(0)
    >>> talk = rng.uniform(45, 80, 400)
    >>> with_hum = np.r_[rng.normal(50, 1, 600), talk]                 # hum at 50 dB under the talk
    >>> above = np.r_[rng.normal(38, 1, 600), talk - 0.5]             # above 150 Hz: the line's noise at 38
    >>> round(hum_drop_db(with_hum, above))
    11
    >>> clean = np.r_[rng.normal(38, 1, 3000), talk]                  # 30 s of a clean line first
    >>> hummed = np.r_[rng.normal(50, 1, 2000), talk]                 # then the hum, for 20 s
    >>> round(hum_drop_db(np.r_[clean, hummed], np.r_[clean - 0.5, rng.normal(38, 1, 2000), talk - 0.5]))
    12
    >>> round(hum_drop_db(np.r_[clean, hummed], np.r_[clean, hummed] - 1.5))   # a louder noise, not hum
    2
    """
    x, h = np.asarray(intensity_db, float), None if high_db is None else np.asarray(high_db, float)
    signal = x > NO_SIGNAL_DB   # a mute's zeros are no noise, of either kind
    second = frames_of(1.0)
    if h is None or signal.sum() < second:
        return 0.0
    drop = float(np.percentile(x[signal], 5) - np.percentile(h[signal], 5))
    floor = floor_and_peak(x)[0]
    track = floor_track(x, floor, min_speech_s=0.0)     # with speech over the hum or not
    stepped = np.zeros(len(x), bool)
    for i, j in runs(np.broadcast_to(track > floor, x.shape)):
        stepped[i + second:j - second] = True              # a step's track starts up to a second early
    stepped &= signal
    if stepped.sum() >= second:
        drop = max(drop, float(np.percentile(x[stepped], 5) - np.percentile(h[stepped], 5)))
    return drop


def frames_with_audio(call: Call, speaker: str, n: int, hop_s: float = HOP_S) -> int:
    """How many of a call's ``n`` frames hold audio of ``speaker``: all of them, unless the speaker's own file
    (one of two mono files) ends before the call does."""
    info = call.infos.get(speaker)
    return n if info is None else min(n, int(np.ceil(info.duration_s / hop_s)))


def detect_activity(call: Call, *, crosstalk_db: float = 12.0, floor_margin_db: float = 10.0,
                    noise_adaptive: bool = True, music_gate: bool = True, local_floor: bool = True,
                    hum_filter: bool = True, progress_tones: bool = True, echo_gate: bool = True,
                    chunk_s: float = 60.0) -> Activity:
    """Speech activity of each speaker of a call.

    Stereo and two-file calls are gated for crosstalk, and each channel's
    quieter speech is found under steady noise too (``noise_adaptive``, see
    :func:`noisy_speech`; False: the fixed ``floor_margin_db`` alone), and
    steady, music-like stretches are left out of their speech with a warning
    (``music_gate``, see :func:`steady_sound`: music on hold); where a
    channel's noise changes level for a while (comfort noise), each stretch is
    judged against its own noise (``local_floor``, see :func:`floor_track`);
    where its noise is mostly mains hum or rumble, its speech is found above
    :data:`HUM_HIGHPASS_HZ`, with a warning (``hum_filter``, see
    :func:`hum_drop_db`; the levels kept in the result are the whole signal's);
    call-progress tones (ringback, busy or dial tone) and key tones (DTMF)
    are left out of speech, with a warning (``progress_tones``, see
    :func:`pure_tones` and :func:`key_presses`), and
    so is one side's voice coming back on the other's channel late (line
    echo; ``echo_gate``, see :func:`echo_path`);
    a mono mix with RTTM turns keeps each speaker's speech inside that
    speaker's turns.

    Examples
    --------
    >>> from tonekit.audio import load_call                  # doctest: +SKIP
    >>> act = detect_activity(load_call("data/demo_call.flac"))  # doctest: +SKIP
    >>> act.turns().head()                                    # doctest: +SKIP
    """
    spk = call.speakers
    n = int(np.ceil(call.duration_s / HOP_S))
    mixed = all(call.sources[s].turns is not None for s in spk)
    highpass = HUM_HIGHPASS_HZ if hum_filter else None
    if mixed:
        x, high = channel_levels(call, spk[0], chunk_s=chunk_s, highpass_hz=highpass)
        x = x[:n]
        heard = _above_hum(call, spk[0], x, None if high is None else high[:n], mix=True)
        voice = speech_from_intensity(heard, floor_margin_db=floor_margin_db, local_floor=local_floor,
                                      noise_adaptive=noise_adaptive)
        whole = voice if heard is x else voice & speech_from_intensity(x, floor_margin_db=floor_margin_db,
                                                                        local_floor=local_floor,
                                                                        noise_adaptive=noise_adaptive)
        speech, tone = {}, {}
        for s in spk:
            inside = np.zeros(len(x), bool)
            for seg in call.sources[s].turns:
                # every frame the turn touches; 1e-6 keeps a time on the grid (0.29 s) from reading a frame early
                inside[int(np.floor(seg.start_s / HOP_S + 1e-6)): int(np.ceil(seg.end_s / HOP_S - 1e-6))] = True
            speech[s] = voice & inside
            if heard is not x:
                tone[s] = whole & inside
        return Activity(HOP_S, {s: x for s in spk}, speech, tone)
    read = {s: channel_levels(call, s, chunk_s=chunk_s, highpass_hz=highpass, tones=progress_tones) for s in spk}
    both_levels = {s: r[:2] for s, r in read.items()}
    levels = {s: _fit(x, n) for s, (x, _) in both_levels.items()}
    # two files may differ in length: past the end of its file a side has no audio (read as zeros), and
    # those frames must not be taken for the quiet of its line
    ends = {s: frames_with_audio(call, s, n) for s in spk}
    if len(spk) == 2:
        both = min(ends.values())
        refuse_same_audio(call, levels[spk[0]][:both], levels[spk[1]][:both], floor_margin_db=floor_margin_db,
                          crosstalk_db=crosstalk_db)
    heard = {s: _above_hum(call, s, levels[s], None if high is None else _fit(high, n), end=ends[s])
             for s, (_, high) in both_levels.items()}
    hummed = {s: heard[s] is not levels[s] for s in spk}
    if echo_gate and len(spk) == 2:
        _leave_out_echo(call, heard, ends, floor_margin_db)

    def found(on: dict, s: str) -> np.ndarray:
        """``s``'s speech on the levels ``on`` (speaker -> levels), gated against the other side's."""
        end = ends[s]
        other = [on[o][:end] for o in spk if o != s]
        return speech_from_intensity(on[s][:end], other_db=other[0] if other else None, crosstalk_db=crosstalk_db,
                                     floor_margin_db=floor_margin_db, noise_adaptive=noise_adaptive,
                                     local_floor=local_floor)

    speech = {}
    for s in spk:
        speech[s] = np.zeros(n, bool)
        speech[s][:ends[s]] = found(heard, s)
    if progress_tones:
        beeps, pressed, floors = {}, {}, {}
        for s in spk:
            x = heard[s][:ends[s]]
            floors[s] = floor_and_peak(x, floor_margin_db=floor_margin_db)[0]
            floor = floor_track(x, floors[s], floor_margin_db=floor_margin_db)
            share, hz, keys = read[s][2]
            share, hz = (_fit(v, n)[:ends[s]] for v in (share, hz))
            keys = np.r_[keys[:n], np.full(max(0, n - len(keys)), -1, np.int8)][:ends[s]]
            beeps[s] = pure_tones(share, hz, x, floor_db=floor) & speech[s][:ends[s]]
            pressed[s] = key_presses(keys, x, floor_db=floor) & speech[s][:ends[s]] & ~beeps[s]
        if any(t.any() for t in beeps.values()) or any(t.any() for t in pressed.values()):
            for s in spk:
                # the tones' frames are heard as the line's quiet: what speech is left is found again below
                for t, kind in ((beeps[s], "tones"), (pressed[s], "keys")):
                    if not t.any():
                        continue
                    _heard_as_quiet(heard, s, ends[s], t, floors[s])
                    path, what = call.describe(s)
                    spans = clock_spans(t, join_gap_s=PURE_TONE_CADENCE_S)
                    warnings.warn(note(kind, path=path, side=s, what=what, spans=spans), stacklevel=2)
            for s in spk:
                speech[s][:ends[s]] = found(heard, s)
    for s in spk:
        end = ends[s]
        if music_gate:
            floor = floor_and_peak(heard[s][:end], floor_margin_db=floor_margin_db)[0]
            music = steady_sound(heard[s][:end], speech[s][:end], floor=floor)
            if (music & speech[s][:end]).any():
                speech[s][:end] &= ~music
                path, what = call.describe(s)
                spans = clock_spans(music)
                warnings.warn(note("music", path=path, side=s, what=what, spans=spans), stacklevel=2)
    tone = {}
    for s in spk:
        if hummed[s]:   # found above the hum: the tone is read where it stands out of it all
            tone[s] = speech[s].copy()
            tone[s][:ends[s]] &= found(levels, s)
    return Activity(HOP_S, levels, speech, tone)


#: Line echo: one side's voice coming back on the other's channel some time later (a hybrid's or a speakerphone's
#: echo the line did not cancel). It is found as the lag, from :data:`ECHO_MIN_LAG_S` to :data:`ECHO_MAX_LAG_S`,
#: at which a channel's level follows the other side's best over the frames where that side speaks loudly
#: (Pearson correlation :data:`ECHO_MIN_R` or more); the echo's loss is the median level difference there.
#: Crosstalk at the recorder comes at once (lag 0) and is left to the crosstalk gate. Of the 124 variants of
#: the demo in the activity audit, only the one with an echo (15 dB down, 60 ms late: r 0.71) has such a lag
#: with r over 0.5 (README, How it works).
ECHO_MIN_R = 0.6
ECHO_MIN_LAG_S = 0.02
ECHO_MAX_LAG_S = 0.5
#: A frame of the echoing channel is the echo when it stands less than this (dB) over the echo predicted from
#: the other side's level then.
ECHO_MARGIN_DB = 6.0
#: The other side "speaks loudly" this far (dB) or more over its floor, for the echo's fit.
ECHO_LOUD_DB = 15.0


def echo_path(x_db: np.ndarray, other_db: np.ndarray, *, hop_s: float = HOP_S) -> tuple[int, float] | None:
    """``(lag in frames, loss in dB)`` of the other side's echo in a channel's levels (:data:`ECHO_MIN_R`), or
    None.

    >>> rng = np.random.default_rng(0)
    >>> talk = np.repeat(rng.uniform(30, 80, 300), 10)            # the agent: 30 s of levels
    >>> caller = np.maximum(np.r_[np.full(6, 30.0), talk[:-6] - 15], 30 + rng.normal(0, 1, talk.size))
    >>> lag, loss = echo_path(caller, talk)                        # the agent 60 ms later, 15 dB down
    >>> lag, round(loss)
    (6, 15)
    >>> echo_path(np.maximum(talk - 15, 30.0), talk) is None     # at once: crosstalk, not echo
    True
    """
    x, o = np.asarray(x_db, float), np.asarray(other_db, float)
    n = min(len(x), len(o))
    x, o = x[:n], o[:n]
    loud = (o > floor_and_peak(o)[0] + ECHO_LOUD_DB) & (o > NO_SIGNAL_DB)
    rs = {}
    for lag in range(0, frames_of(ECHO_MAX_LAG_S, hop_s) + 1):
        m = loud[:n - lag]
        if m.sum() < frames_of(2.0, hop_s):
            break
        a, b = x[lag:][m], o[:n - lag][m]
        if a.std() > 0 and b.std() > 0:
            rs[lag] = float(np.corrcoef(a, b)[0, 1])
    if not rs:
        return None
    lag = max(rs, key=rs.get)
    if rs[lag] < ECHO_MIN_R or lag < frames_of(ECHO_MIN_LAG_S, hop_s):
        return None
    m = loud[:n - lag]
    return lag, float(np.median(o[:n - lag][m] - x[lag:][m]))


def echo_frames(x_db: np.ndarray, other_db: np.ndarray, path: tuple[int, float]) -> np.ndarray:
    """The frames of a channel that are the other side's echo (``path``: :func:`echo_path`'s): no more than
    :data:`ECHO_MARGIN_DB` over the echo the other side's level predicts."""
    lag, loss = path
    x, o = np.asarray(x_db, float), np.asarray(other_db, float)
    predicted = np.full(len(x), -np.inf)
    k = min(len(x) - lag, len(o))
    predicted[lag:lag + k] = o[:k] - loss
    return x < predicted + ECHO_MARGIN_DB


#: Two channels whose levels differ by less than this (standard deviation of the difference, dB, over
#: the frames where either holds sound) carry one recording: in a real two-channel call each side is
#: 12 dB or more above the other's crosstalk whenever it speaks, so the difference swings by tens of dB.
SAME_AUDIO_DB = 1.5


def refuse_same_audio(call: Call, a_db: np.ndarray, b_db: np.ndarray, *, floor_margin_db: float = 10.0,
                      crosstalk_db: float = 12.0) -> None:
    """Refuse a call whose two channels (or two files) carry the same recording, a mono mix copied to
    both channels for instance: tonekit would hear two speakers talking over each other all the time.
    A channel that only follows the other, ``crosstalk_db`` or more below it, is the other's echo: its
    own speaker never talks, and each channel's speech is judged against its own loudest, so the echo
    would pass for speech. Both are refused, each with its own message.

    >>> import numpy as np
    >>> from tonekit.audio import AudioInfo, Call, Source
    >>> info = AudioInfo("mix.wav", 8000, 2, 8000)
    >>> call = Call("mix.wav", {"agent": Source("mix.wav", 0), "caller": Source("mix.wav", 1)}, 8000, 8000, 1.0,
    ...             {"agent": info, "caller": info})
    >>> x = np.r_[np.full(50, 30.0), np.full(50, 70.0)]
    >>> refuse_same_audio(call, x, x - 6.0)
    Traceback (most recent call last):
    tonekit.errors.AudioError: mix.wav: channel 0 and channel 1 carry the same audio (a mono mix on both?): ...
    """
    a, b = np.asarray(a_db, float), np.asarray(b_db, float)
    loud = ((a > floor_and_peak(a, floor_margin_db=floor_margin_db)[0] + floor_margin_db)
            | (b > floor_and_peak(b, floor_margin_db=floor_margin_db)[0] + floor_margin_db))
    d = a[loud] - b[loud]
    if loud.sum() < 20 or np.std(d) >= SAME_AUDIO_DB:
        return
    (pa, wa), (pb, wb) = (call.describe(s) for s in call.speakers)
    gap = float(np.median(d))
    if abs(gap) >= crosstalk_db:   # the quieter side is an echo of the louder one
        (lp, lw), (qp, qw), mute = ((pa, wa), (pb, wb), call.speakers[1]) if gap > 0 else \
                                   ((pb, wb), (pa, wa), call.speakers[0])
        echo, source = (qw, lw) if qp == lp else ("the audio", lp)   # two channels of a file, or two files
        raise AudioError(qp, f"{echo} only echoes {source} ({abs(gap):.0f} dB down): the {mute} never speaks "
                             "in this call")
    if pa == pb:
        raise AudioError(pa, f"{wa} and {wb} carry the same audio (a mono mix on both?): "
                             "analyse a mono mix with --turns FILE.rttm and --agent-label")
    raise AudioError(pb, f"carries the same audio as {pa}: the agent and the caller need a file each")


def _above_hum(call: Call, speaker: str, x: np.ndarray, high: np.ndarray | None, *, end: int | None = None,
               mix: bool = False) -> np.ndarray:
    """The levels to find ``speaker``'s speech on (``mix``: both speakers', of a mono mix): ``high`` (above
    :data:`HUM_HIGHPASS_HZ`) where the channel's noise is mostly hum or rumble (:func:`hum_drop_db`), with a
    warning; else ``x``."""
    drop = hum_drop_db(x[:end], None if high is None else high[:end])
    if drop < HUM_DROP_DB:
        return x
    path, what = call.describe(speaker)
    warnings.warn(note("hum_mix" if mix else "hum", path=path, side=speaker, what=what, db=f"{int(drop)}",
                       hz=f"{HUM_HIGHPASS_HZ:g}"), stacklevel=3)
    return high


def _leave_out_echo(call: Call, heard: dict, ends: dict, floor_margin_db: float) -> None:
    """Where a side's channel carries the other side's echo (:func:`echo_path`), its echo frames are heard as
    its line's quiet (``heard`` is changed), with a warning. Both sides' echo is found on the levels as they
    were, before either is changed."""
    a, b = call.speakers
    found = {}
    for s, o in ((a, b), (b, a)):
        both = min(ends[s], ends[o])
        path = echo_path(heard[s][:both], heard[o][:both])
        if path is not None:
            found[s] = (o, path, echo_frames(heard[s][:ends[s]], heard[o][:ends[s]], path))
    for s, (o, (lag, loss), echo) in found.items():
        _heard_as_quiet(heard, s, ends[s], echo, floor_and_peak(heard[s][:ends[s]], floor_margin_db=floor_margin_db)[0])
        path, what = call.describe(s)
        warnings.warn(note("echo", path=path, other=o, side=s, what=what, ms=f"{1000 * lag * HOP_S:.0f}",
                           db=f"{loss:.0f}"), stacklevel=3)


def _heard_as_quiet(heard: dict, s: str, end: int, frames: np.ndarray, floor: float) -> None:
    """``s``'s ``frames`` (a mask of its first ``end`` frames) brought down to its line's ``floor`` in ``heard``
    (on a copy of its levels: the levels kept in the result stay the signal's)."""
    x = heard[s] = heard[s].copy()
    x[:end][frames] = np.minimum(x[:end][frames], floor)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.full(n - len(x), x.min() if len(x) else 0.0)])
