"""Audio input: read, validate, resample, and assign speaker roles.

Everything downstream works on float64 arrays at a *working rate*: 16 kHz for
wideband input, 8 kHz for telephone-band input (anything below 16 kHz). Long
recordings are never held whole in memory: :class:`Call` reads the stretches
that are asked for, so a two-hour call stays light.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError, ParameterError, not_a_file, shown, whole_number
from .notes import note

MIN_SR = 8000
MAX_SR = 96000
#: More channels than this is no recording tonekit reads (a call has 2; three to eight are refused with their
#: own reason where a call or a voice is read).
MAX_CHANNELS = 8
#: A file is refused as clipped when more than this share of its samples sit at full scale.
CLIP_REFUSE_SHARE = 0.02
#: ... and a warning is given above this share.
CLIP_WARN_SHARE = 0.001
#: A call's channel whose mean sample is this far from 0 (full scale = 1; -60 dBFS) or farther carries a DC
#: offset, which would fill the pauses between words with its power: it is taken off before analysis (Call.dc).
DC_OFFSET_MIN = 1e-3
#: The same for a lone utterance (tonekit.score): over a second or two of speech the mean also holds the voice's
#: own low notes (2 of the corpora's 4555 recordings reach it, a TurEV-DB word 0.014 at most).
DC_OFFSET_MIN_UTTERANCE = 1e-2
#: Peak level (dBFS) under which a file counts as silent.
SILENT_DBFS = -70.0


def dc_offset_text(dc: float) -> str:
    """A DC offset as the warnings say it.

    >>> dc_offset_text(0.05)
    'a DC offset of +0.050 (-26 dBFS)'
    """
    return f"a DC offset of {dc:+.3f} ({20 * np.log10(abs(dc)):.0f} dBFS)"


def working_rate(sr: int) -> int:
    """The rate tonekit analyses at: 16000 for wideband input, 8000 below 16 kHz."""
    return 16000 if sr >= 16000 else 8000


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample along the last axis (soxr, high quality); a no-op when rates match."""
    if sr_in == sr_out:
        return y
    if y.ndim == 1:
        return soxr.resample(y, sr_in, sr_out, quality="HQ")
    return np.stack([soxr.resample(ch, sr_in, sr_out, quality="HQ") for ch in y])


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: ``path, sr, channels, n_samples``; ``duration_s`` derived."""

    path: str
    sr: int
    channels: int
    n_samples: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sr


@contextlib.contextmanager
def _decoder_quiet(path):
    """Keep an MP3 decoder's own notes off the terminal while ``path`` is opened or read (libmpg123 writes
    "Xing stream size off by more than 1% ..." straight to the process's stderr for a file cut short, before
    tonekit's one line says what is wrong). Other forms, and a stderr that is no file, are left alone."""
    if Path(path).suffix.lower() != ".mp3":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: What :func:`_open` says of a path with nothing there (a batch, whose inputs may be folders, words it otherwise).
NO_SUCH_FILE = "no such file"


def _open(path) -> sf.SoundFile:
    path = Path(path)
    try:
        if not path.exists():
            if path.is_symlink():   # the link is there, what it points to is not (or it points round in a loop)
                raise AudioError(path, f"a symbolic link to {os.readlink(path)}, which does not lead to a file")
            raise AudioError(path, NO_SUCH_FILE)
        if path.is_dir():
            raise AudioError(path, "is a folder, not an audio file")
        if not path.is_file():   # a pipe, a device (/dev/zero), a socket: no length to check, or none at all
            raise AudioError(path, "not a regular file (a pipe or a device?)")
        if path.stat().st_size == 0:
            raise AudioError(path, "empty file (0 bytes)")
    except PermissionError:   # a folder on the way that may not be entered
        raise AudioError(path, "permission denied (a folder on its path cannot be entered)") from None
    if not os.access(path, os.R_OK):
        raise AudioError(path, "permission denied (the file cannot be read)")
    try:
        with _decoder_quiet(path):
            # bytes on POSIX: a name that is not UTF-8 (held as surrogates) reaches libsndfile as it is on disk
            return sf.SoundFile(str(path) if os.name == "nt" else os.fsencode(path))
    except Exception as exc:  # libsndfile says "Format not recognised", "Error in WAV file" ...
        msg = str(exc).split(":")[-1].strip() or type(exc).__name__
        if "samplerate must be specified" in msg:   # soundfile, of a .raw file
            msg = "headerless raw samples: their rate and format are not known; convert them to WAV or FLAC"
        elif "possibly a pipe" in msg:   # libsndfile, of a regular file its decoder finds nothing in
            msg = "no audio found in it"
        raise AudioError(path, f"not a readable audio file ({msg})") from None


def _declared_wav_data_bytes(fh: sf.SoundFile):
    """The data-chunk size a WAV header declares, when libsndfile found fewer bytes in the file; else None."""
    import re

    if fh.format not in ("WAV", "WAVEX", "RF64"):
        return None
    m = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", fh.extra_info, re.MULTILINE)
    if not m:
        return None
    declared, present = int(m.group(1)), int(m.group(2))
    if declared in (0, 0xFFFFFFFF) or declared <= present:  # streaming placeholders, trailing junk
        return None
    return declared


def _ogg_unfinished(path) -> bool:
    """Whether an Ogg file stops before its stream's end: its last page lacks the end-of-stream flag (a file
    cut short; libsndfile reads what is there without a word). Pages are at most 65307 bytes long."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - 65307 - 27))
        tail = f.read()
    at = tail.rfind(b"OggS")
    if at < 0 or at + 27 > len(tail):
        return True
    header_type = tail[at + 5]
    return not header_type & 0x04


def _bytes_per_frame_guess(fh: sf.SoundFile) -> int:
    """Bytes per sample of a WAV subtype (for the message only)."""
    return {"PCM_U8": 1, "PCM_S8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
            "FLOAT": 4, "DOUBLE": 8}.get(fh.subtype, 2)


#: Samples beyond this (full scale = 1) are not audio as stored: an array of integer PCM, or a floating-point
#: file far over full scale; a little over (resampling overshoot) is accepted.
MAX_PEAK = 1.5

#: Shorter than this (s), a file holds no syllable to analyse (a frame of the pitch and intensity tracks is
#: 40 ms).
MIN_DURATION_S = 0.05


def audio_info(path) -> AudioInfo:
    """Rate, channels and length of an audio file, checked against tonekit's limits.

    Raises :class:`AudioError` naming the file for empty, unreadable,
    too-low or too-high rate files.
    """
    with _open(path) as fh:
        info = AudioInfo(str(path), int(fh.samplerate), int(fh.channels), int(fh.frames))
        declared = _declared_wav_data_bytes(fh)
        ogg = fh.format == "OGG"
    if ogg and _ogg_unfinished(path):
        raise AudioError(path, f"truncated: the Ogg stream stops without its end, after {info.duration_s:.2f} s")
    if declared is not None and info.sr > 0:
        # libsndfile silently shortens a cut-off WAV to the bytes present; its header still says more
        promised = declared / max(1, fh.channels * _bytes_per_frame_guess(fh)) / info.sr
        raise AudioError(path, f"truncated: the header promises {promised:.2f} s "
                               f"but the data end at {info.duration_s:.2f} s")
    if info.channels > MAX_CHANNELS:   # before its length, which such a header makes nonsense of
        raise AudioError(path, f"its header says {info.channels} channels: a call has 2 and a voice 1 (a damaged "
                               "header, or a multitrack recording: export the two speakers' channels)")
    if info.sr < MIN_SR:
        raise AudioError(path, f"sampling rate {info.sr} Hz is below the {MIN_SR} Hz minimum")
    if info.sr > MAX_SR:
        raise AudioError(path, f"sampling rate {info.sr} Hz is above the {MAX_SR} Hz maximum")
    if info.n_samples == 0:
        raise AudioError(path, "no audio samples (empty or truncated file)")
    if info.duration_s < MIN_DURATION_S:
        raise AudioError(path, f"too short: {info.n_samples} samples ({1000 * info.duration_s:.1f} ms) of audio")
    return info


def _decodes_to(path, start: int, block_s: float = 0.1) -> int:
    """The frame up to which a file decodes from ``start``, in ``block_s`` steps (to say where a damaged
    or cut-off compressed file breaks)."""
    with _open(path) as fh, _decoder_quiet(path):
        try:
            fh.seek(start)
        except Exception:   # a file that cannot even seek there (cut short, or rewritten while read)
            return 0
        pos, block = start, max(1, int(block_s * fh.samplerate))
        while True:
            try:
                got = len(fh.read(block, dtype="float32"))
            except Exception:
                return pos
            if got == 0:
                return pos
            pos += got


def read_span(path, start_s: float = 0.0, stop_s: float | None = None, *, sr_out: int | None = None) -> np.ndarray:
    """Samples ``[start_s, stop_s)`` of every channel, as float64 ``(channels, n)``.

    Resampled to ``sr_out`` when given. Raises :class:`AudioError` when the
    file ends before its header says (truncated) or cannot be decoded.
    """
    with _open(path) as fh:
        sr = fh.samplerate
        start = max(0, int(round(start_s * sr)))
        stop = fh.frames if stop_s is None else min(fh.frames, int(round(stop_s * sr)))
        if start >= fh.frames:   # past the end (the shorter of two speakers' files): nothing to read
            return np.zeros((fh.channels, 0))
        try:
            with _decoder_quiet(path):
                fh.seek(start)
                data = fh.read(max(0, stop - start), dtype="float64", always_2d=True)
        except MemoryError:
            raise AudioError(path, f"not enough memory to read {(stop - start) / sr:.0f} s of {fh.channels} "
                                   f"channel{'s' * (fh.channels > 1)} at {sr} Hz whole") from None
        except Exception as exc:
            upto = _decodes_to(path, start)
            raise AudioError(path, f"damaged or truncated: the header promises {fh.frames / sr:.2f} s but the audio "
                                   f"cannot be decoded past {upto / sr:.2f} s ({exc})") from None
    if len(data) < stop - start - 1:
        raise AudioError(path, f"truncated: the header promises {fh.frames / sr:.2f} s "
                               f"but the data end at {(start + len(data)) / sr:.2f} s")
    y = data.T
    if not np.isfinite(y).all():
        raise AudioError(path, "audio contains NaN or infinite samples")
    if sr_out is not None:
        y = resample(y, sr, sr_out)
    return y


def check_levels(y: np.ndarray, path=None, *, what: str = "audio") -> None:
    """Refuse silent or badly clipped audio; warn when a little is clipped.

    Parameters
    ----------
    y : np.ndarray
        Samples in -1..1 (any shape).
    path : str, optional
        Named in the message.
    what : str
        What the samples are (``"channel 1"``), named in the message.
    """
    if y.size == 0:
        raise AudioError(path, f"{what} is empty")
    a = np.abs(y)
    peak = float(np.max(a))
    # a file normalised to a peak just under full scale counts its peak samples as clipped too
    share = float(np.mean(a >= 0.999 * max(peak, 0.99))) if peak >= 0.99 else 0.0
    judge_levels(path, what, peak, share)


#: The longest single-speaker recording (s) tonekit.score, tonekit train and evaluate read: they read it whole
#: (a 10-minute 96 kHz stereo file is 0.9 GB as float64 before it is mixed down); calls are read in blocks.
MAX_UTTERANCE_S = 600.0


def load_audio(path, *, sr: int | None = None, mono: bool = True, single_speaker: bool = False):
    """Read a whole (short) file, checked, as float64 at its working rate.

    Parameters
    ----------
    path : str or Path
        WAV (PCM, float, µ-law, A-law), FLAC, OGG or MP3, 8-96 kHz.
    sr : int, optional
        Output rate in Hz; default :func:`working_rate` of the file.
    mono : bool
        Mix channels down (default); otherwise return ``(channels, n)``.
    single_speaker : bool
        The file holds one voice: refuse three or more channels
        (:func:`check_single_speaker`), and more than
        :data:`MAX_UTTERANCE_S` of audio (it is read whole).

    Returns
    -------
    y : np.ndarray
    sr : int

    Examples
    --------
    >>> y, sr = load_audio("data/demo_call.flac", mono=False)   # doctest: +SKIP
    """
    if sr is not None:
        if isinstance(sr, bool) or not (isinstance(sr, (int, float, np.integer, np.floating))
                                        and float(sr).is_integer() and MIN_SR <= sr <= MAX_SR):
            raise ParameterError(f"sr must be a whole number of Hz from {MIN_SR} to {MAX_SR}, not {sr!r}")
        sr = int(sr)
    info = audio_info(path)
    if single_speaker:
        check_single_speaker(info)
        if info.duration_s > MAX_UTTERANCE_S:   # read whole: a long recording would fill the memory first
            raise AudioError(path, f"{info.duration_s / 60:.0f} minutes of audio: a single-speaker recording is read "
                                   f"whole, up to {MAX_UTTERANCE_S / 60:.0f} minutes; cut it, or for a call use "
                                   "tonekit report (read in blocks)")
    sr_out = sr or working_rate(info.sr)
    y = read_span(path)
    check_levels(y, path)
    if single_speaker and mono and len(y) == 2 and takes_turns(y, info.sr):   # y: (channels, samples)
        warnings.warn(f"{path}: its two channels take turns, as a call's two speakers do; scored as one voice "
                      "(mixed down). A call's report: tonekit report / tonekit.analyze", stacklevel=2)
    y = y.mean(axis=0) if mono else y
    return resample(y, info.sr, sr_out), sr_out


#: A stereo file whose channels each are the louder by this much (dB) on a share of its sound
#: (:func:`takes_turns`) holds two voices, one per channel.
TURN_TAKING_DB = 12.0


def takes_turns(y: np.ndarray, sr: int, *, margin_db: float = TURN_TAKING_DB, share: float = 0.1,
                frame_s: float = 0.05) -> bool:
    """Whether the two channels of ``y`` (2, n) take turns: each is ``margin_db`` or more louder than the
    other on at least ``share`` of the frames where either holds sound (10 dB over its own quiet). Two
    voices, one per channel, as in a call recording; one voice on two microphones, or panned, keeps one
    side louder or both alike.

    >>> sr = 8000; t = np.arange(sr) / sr; tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    >>> quiet = np.zeros(sr)
    >>> takes_turns(np.stack([np.r_[tone, quiet], np.r_[quiet, tone]]), sr)   # one speaks, then the other
    True
    >>> takes_turns(np.stack([np.r_[tone, tone], 0.5 * np.r_[tone, tone]]), sr)   # one voice, two levels
    False
    """
    n = max(1, int(round(frame_s * sr)))
    m = y.shape[1] // n
    if m < 20:
        return False
    rms = np.sqrt(np.mean(np.square(y[:, :m * n].reshape(2, m, n)), axis=2))
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    loud = (db > np.percentile(db, 5, axis=1, keepdims=True) + 10).any(axis=0)
    if loud.sum() < 20:
        return False
    d = db[0, loud] - db[1, loud]
    return bool(np.mean(d >= margin_db) >= share and np.mean(d <= -margin_db) >= share)


def check_single_speaker(info: AudioInfo) -> AudioInfo:
    """Refuse a file with more than two channels where one speaker is expected.

    Mono is the norm; a stereo file is taken as one voice on two channels and
    mixed down. Three or more channels are several voices or microphones,
    whose mix would be scored as one voice.
    """
    if info.channels > 2:
        raise AudioError(info.path, f"{info.channels} channels: a single-speaker file must be mono "
                                    "(or stereo, mixed down)")
    return info


def checked_array(y, sr) -> tuple[np.ndarray, int]:
    """An in-memory mono signal as float64 samples in -1..1 and its rate, checked (real numbers, one channel,
    finite, in range; the rate a whole number of Hz within MIN_SR..MAX_SR) but not judged for level nor
    resampled."""
    raw = np.asarray(y)
    if raw.dtype.kind not in "fiu":
        raise ParameterError(f"a signal must be an array of real numbers, not of {raw.dtype}")
    y = raw.astype(np.float64)
    if sr is None:
        raise ParameterError("sr (the sampling rate in Hz) is required with an array")
    sr = whole_number("sr", sr, minimum=1)
    if not MIN_SR <= sr <= MAX_SR:
        raise ParameterError(f"sr={sr} Hz is outside {MIN_SR}..{MAX_SR} Hz")
    if y.ndim == 2 and 1 in y.shape:   # one channel as a column (soundfile's always_2d) or a row
        y = y.reshape(-1)
    if y.ndim != 1:
        first = y.ndim == 2 and y.shape[0] < y.shape[1]   # channels first (librosa's layout) or last (soundfile's)
        raise ParameterError(f"expected a mono signal (1-D array), got shape {y.shape}"
                             + ((": mix the channels down (y.mean(axis=0)) or take one (y[0])" if first else
                                 ": mix the channels down (y.mean(axis=1)) or take one (y[:, 0])")
                                if y.ndim == 2 else ""))
    if not np.isfinite(y).all():
        raise AudioError(None, "audio buffer is not finite everywhere")
    if y.size and np.max(np.abs(y)) > MAX_PEAK:
        raise ParameterError(f"a signal's samples must be in -1..1, got a peak of {np.max(np.abs(y)):.4g} "
                             f"(integer PCM? divide 16-bit samples by 32768)")
    return y, sr


def as_signal(y, sr) -> tuple[np.ndarray, int]:
    """Validate an in-memory mono signal (float samples in -1..1) and bring it to its working rate."""
    y, sr = checked_array(y, sr)
    check_levels(y, None, what="signal")
    return resample(y, sr, working_rate(sr)), working_rate(sr)


# --------------------------------------------------------------------------- calls

@dataclass(frozen=True)
class Segment:
    """A stretch of time ``[start_s, end_s)`` in seconds, optionally labelled."""

    start_s: float
    end_s: float
    label: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


#: The record types of NIST's RTTM besides SPEAKER: read past, as are comments (``;;``, ``#``).
RTTM_OTHER_TYPES = frozenset({"SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER",
                              "IP", "SU", "CB", "A/P", "SPKR-INFO", "EDITABLE"})


#: No turn of an RTTM file ends later than this (seconds): a week, far past any call.
MAX_RTTM_S = 7 * 24 * 3600.0


def read_rttm(path) -> list[Segment]:
    """Speaker turns from an RTTM file (``SPEAKER file 1 start dur <NA> <NA> label ...``); comments and the
    other record types of NIST's RTTM (:data:`RTTM_OTHER_TYPES`, such as ``SPKR-INFO``) are read past."""
    segs = []
    if what := not_a_file(path):
        raise AudioError(path, f"cannot read RTTM turns ({what})")
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()   # (a byte-order mark read past)
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioError(path, f"cannot read RTTM turns ({exc.__class__.__name__})") from None
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";;")) or parts[0] in RTTM_OTHER_TYPES:
            continue
        if parts[0] != "SPEAKER" or len(parts) < 8:
            raise AudioError(path, f"line {n} is not an RTTM SPEAKER line")
        try:
            start, dur = float(parts[3]), float(parts[4])
        except ValueError:
            raise AudioError(path, f"line {n}: start and duration must be numbers") from None
        if not (np.isfinite(start) and np.isfinite(dur)):
            raise AudioError(path, f"line {n}: start and duration must be finite numbers, not {parts[3]} and "
                                   f"{parts[4]}")
        if dur < 0 or start < 0:
            raise AudioError(path, f"line {n}: negative start or duration")
        if start + dur > MAX_RTTM_S:
            raise AudioError(path, f"line {n}: a turn to {start + dur:.3g} s, past any call's length "
                                   f"({MAX_RTTM_S / 3600:.0f} hours)")
        segs.append(Segment(start, start + dur, parts[7]))
    if not segs:
        raise AudioError(path, "no SPEAKER lines in RTTM file")
    return sorted(segs, key=lambda s: (s.start_s, s.end_s))


@dataclass
class Source:
    """Where one speaker's voice is: a file, its channel, and (for a mono mix) its turns."""

    path: str
    channel: int | None  # None: mix all channels
    turns: list | None = None  # RTTM segments of this speaker in a mono mix


@dataclass
class Call:
    """A two-speaker call (or one speaker), read lazily.

    Build it with :func:`load_call`. ``sources`` maps a speaker name
    (``"agent"``, ``"caller"``, or ``"speaker"``) to where its voice is.
    """

    name: str
    sources: dict
    sr_in: int
    sr: int
    duration_s: float
    infos: dict = field(default_factory=dict)
    #: A speaker's DC offset (full scale = 1), taken off every read: set where the channel's mean is
    #: :data:`DC_OFFSET_MIN` or more (:func:`tonekit.activity.channel_intensity` measures it).
    dc: dict = field(default_factory=dict)

    @property
    def speakers(self) -> list:
        return list(self.sources)

    def describe(self, speaker: str) -> tuple[str, str]:
        """The file of a speaker's voice and what part of it (``"channel 1"`` or ``"audio"``)."""
        src = self.sources[speaker]
        return src.path, ("audio" if src.channel is None or self.infos[speaker].channels == 1
                          else f"channel {src.channel}")

    def read(self, speaker: str, start_s: float = 0.0, stop_s: float | None = None) -> np.ndarray:
        """One speaker's signal over ``[start_s, stop_s)`` at the working rate (zeros past its end)."""
        src = self.sources[speaker]
        y = read_span(src.path, start_s, stop_s, sr_out=self.sr)
        y = y.mean(axis=0) if src.channel is None else y[src.channel]
        if self.dc.get(speaker):
            y = y - self.dc[speaker]
        want = None if stop_s is None else int(round((stop_s - start_s) * self.sr))
        if want is not None and len(y) < want:
            y = np.pad(y, (0, want - len(y)))
        return y[:want] if want is not None else y


def judge_levels(path, what: str, peak: float, clipped_share: float, side: str | None = None) -> None:
    """Refuse a silent or badly clipped channel, warn on a slightly clipped one.

    Parameters
    ----------
    path : str
        Named in the message.
    what : str
        ``"audio"`` or ``"channel 1"``.
    peak : float
        Largest absolute sample (full scale = 1).
    clipped_share : float
        Share of samples at full scale.
    side : str, optional
        Whose voice a channel of a call holds (``"caller"``), named in a refusal: ``channel 1 (the
        caller's)``.
    """
    told = f"{what} (the {side}'s)" if side else what
    if peak <= 10 ** (SILENT_DBFS / 20):
        raise AudioError(path, (f"{told} is silent (every sample is zero)" if peak == 0 else
                                f"{told} is silent (peak {20 * np.log10(peak):.0f} dBFS)")
                         + (f": nothing of the {side} was recorded" if side else ""))
    if peak > MAX_PEAK:   # only floating-point samples can go so far: not clipped, but not audio as stored
        raise AudioError(path, f"{told} goes far beyond full scale (peak {peak:.3g}, "
                               f"{20 * np.log10(peak):+.0f} dBFS): a floating-point file must hold samples in -1..1")
    if peak > 1.001:   # a floating-point file a little over full scale: nothing is cut off
        return
    if clipped_share > CLIP_REFUSE_SHARE:
        raise AudioError(path, f"{told} is clipped ({100 * clipped_share:.1f} % of samples at full scale)")
    if clipped_share > CLIP_WARN_SHARE:
        warnings.warn(note("clipped", path=path, what=what, percent=f"{100 * clipped_share:.2f}"), stacklevel=3)


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:   # one of them missing: audio_info says so
        return False


#: Two speakers' files whose lengths differ by more than this (s) get a warning: the shorter side is silent
#: after its end, which may be meant (one side hung up) or not (files of two different calls).
LENGTH_MISMATCH_S = 1.0


#: Why a mono file given alone is not a call (:func:`load_call`), with the Python and the command-line names.
MONO_CALL = ("mono file: a call needs a stereo file (a channel for each speaker), a file for each speaker "
             "(agent=, caller=; --agent/--caller) or the turns of the mono mix (turns= with agent_label=; "
             "--turns FILE.rttm with --agent-label)")


def load_call(source=None, *, agent=None, caller=None, turns=None, agent_label: str | None = None,
              agent_channel: int = 0, single: bool = False) -> Call:
    """Open a call and decide who is who.

    Parameters
    ----------
    source : path, optional
        A stereo call (agent on channel 0 unless ``agent_channel=1``), a mono
        mix (with ``turns``), or a single-speaker file (with ``single=True``).
    agent, caller : path, optional
        Two mono files, one per speaker (instead of ``source``).
    turns : path, optional
        RTTM file of who speaks when in a mono mix; ``agent_label`` names the
        agent's label in it (the other label is the caller).
    agent_channel : {0, 1}
        Channel of the agent in a stereo file.
    single : bool
        Treat ``source`` as one speaker, named ``"speaker"`` (channels mixed).

    Returns
    -------
    Call

    Examples
    --------
    >>> call = load_call("data/demo_call.flac")                   # doctest: +SKIP
    >>> call.speakers                                             # doctest: +SKIP
    ['agent', 'caller']
    """
    for name, value in (("source", source), ("agent", agent), ("caller", caller), ("turns", turns)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            hint = (" (write the signal to a file first, e.g. with soundfile.write)"
                    if isinstance(value, np.ndarray) else "")
            raise ParameterError(f"{name} must be a file path, not {type(value).__name__}{hint}")
    if agent_label is not None and turns is None:
        raise ParameterError("agent_label (--agent-label) goes with turns (--turns FILE.rttm): it names the agent "
                             "among the labels of a mono mix's turns")
    if isinstance(agent_channel, bool) or not isinstance(agent_channel, (int, np.integer)) \
            or agent_channel not in (0, 1):   # not True (an index numpy reads as a new axis), not 1.0
        raise ParameterError(f"agent_channel must be 0 or 1, not {agent_channel!r}")
    if (agent is None) != (caller is None):
        raise ParameterError("give both agent and caller files (--agent, --caller), or neither")
    if agent_channel and (agent is not None or turns is not None or single):   # it would be ignored
        raise ParameterError("agent_channel (--agent-channel) is for a stereo call file, not for "
                             + ("agent and caller files" if agent is not None else "a mono mix with turns"
                                if turns is not None else "a single-speaker file"))
    if turns is not None and agent is not None:   # the turns would be ignored
        raise ParameterError("turns (--turns) go with a mono mix of both voices, not with agent and caller files "
                             "(--agent/--caller)")
    if single and (agent is not None or turns is not None):
        raise ParameterError("single=True takes one file, without agent and caller files or turns")
    if agent is not None:
        if source is not None:
            raise ParameterError("give either a call file or agent and caller files (--agent/--caller), not both")
        if _same_file(agent, caller):
            raise AudioError(agent, "is given as both the agent's and the caller's file: each speaker needs a "
                                    "file of their own (or give one stereo file)")
        infos = {"agent": audio_info(agent), "caller": audio_info(caller)}
        for who, info in infos.items():
            if info.channels != 1:
                raise AudioError(info.path, f"the {who} file must be mono, it has {info.channels} channels")
        (short, s_info), (long_, l_info) = sorted(infos.items(), key=lambda kv: kv[1].duration_s)
        if l_info.duration_s - s_info.duration_s > LENGTH_MISMATCH_S:
            m, sec = divmod(int(s_info.duration_s), 60)
            warnings.warn(note("short_file", path=s_info.path, side=short, seconds=f"{s_info.duration_s:.1f}",
                               other=long_, other_seconds=f"{l_info.duration_s:.1f}", time=f"{m}:{sec:02d}"),
                          stacklevel=2)
        srs = {i.sr for i in infos.values()}
        sr_in = min(srs)
        if len(srs) > 1:
            low = next(who for who, i in infos.items() if i.sr == sr_in)
            high = next(who for who in infos if who != low)
            warnings.warn(note("rates", path=infos[high].path, side=high, hz=infos[high].sr, other=low,
                               other_hz=sr_in, rate=working_rate(sr_in)), stacklevel=2)
        return Call(shown(f"agent={Path(agent).name},caller={Path(caller).name}"),
                    {"agent": Source(str(agent), 0), "caller": Source(str(caller), 0)},
                    sr_in, working_rate(sr_in), max(i.duration_s for i in infos.values()), infos)
    if source is None:
        raise ParameterError("no audio given: pass a call file, or agent= and caller= files")
    info = audio_info(source)
    name = shown(Path(source).name)   # the report's name of the call, written as UTF-8
    if single:
        check_single_speaker(info)
        return Call(name, {"speaker": Source(str(source), None)}, info.sr, working_rate(info.sr),
                    info.duration_s, {"speaker": info})
    if turns is not None:
        if info.channels != 1:
            raise AudioError(source, f"turns (--turns) need a mono mix, this file has {info.channels} channels")
        segs = read_rttm(turns)
        labels = sorted({s.label for s in segs})
        if len(labels) != 2:
            raise AudioError(turns, f"expected 2 speaker labels, found {len(labels)}: {', '.join(labels)}")
        if agent_label is None:
            raise ParameterError(f"agent_label (--agent-label) is required with turns (labels: {', '.join(labels)})")
        if agent_label not in labels:
            raise ParameterError(f"agent_label (--agent-label) {agent_label!r} is not in {turns} "
                                 f"(labels: {', '.join(labels)})")
        caller_label = next(lab for lab in labels if lab != agent_label)
        if not any(seg.end_s > seg.start_s for seg in segs):
            raise AudioError(turns, "every turn lasts 0 s: no speech to analyse")
        if not any(seg.start_s < info.duration_s and seg.end_s > seg.start_s for seg in segs):
            raise AudioError(turns, f"no turn falls inside {name} (0-{info.duration_s:.1f} s; the turns start at "
                                    f"{min(seg.start_s for seg in segs):.1f} s): the turns of another recording?")
        last = max(seg.end_s for seg in segs)
        if last > info.duration_s + 1.0:
            warnings.warn(note("turns", path=turns, seconds=f"{last:.1f}", name=name,
                               duration=f"{info.duration_s:.1f}"), stacklevel=2)
        return Call(name, {"agent": Source(str(source), None, [s for s in segs if s.label == agent_label]),
                           "caller": Source(str(source), None, [s for s in segs if s.label == caller_label])},
                    info.sr, working_rate(info.sr), info.duration_s, {"agent": info, "caller": info})
    if info.channels == 1:
        raise AudioError(source, MONO_CALL)
    if info.channels > 2:
        raise AudioError(source, f"{info.channels} channels: a call file must be stereo (2 channels)")
    caller_channel = 1 - agent_channel
    return Call(name, {"agent": Source(str(source), agent_channel), "caller": Source(str(source), caller_channel)},
                info.sr, working_rate(info.sr), info.duration_s, {"agent": info, "caller": info})
