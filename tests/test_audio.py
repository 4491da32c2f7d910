"""Reading, checking and opening audio files: formats, rates, and every refusal with its message."""
from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest
import soundfile as sf

from synth import stereo_call

from tonekit.audio import audio_info, load_audio, load_call, read_rttm, takes_turns
from tonekit.errors import AudioError, ParameterError


def _tone(sr, dur_s=0.5, f=220.0, amp=0.3, channels=1):
    t = np.arange(int(dur_s * sr)) / sr
    y = amp * np.sin(2 * np.pi * f * t)
    return y if channels == 1 else np.column_stack([y * (0.5 + 0.5 * k) for k in range(channels)])


FORMATS = [("wav", "WAV", "PCM_U8"), ("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "PCM_32"), ("wav", "WAV", "FLOAT"),
           ("wav", "WAV", "ULAW"), ("wav", "WAV", "ALAW"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS")]


@pytest.mark.parametrize("sr", [8000, 16000, 44100, 96000])
@pytest.mark.parametrize("ext, fmt, subtype", FORMATS, ids=[f"{f}-{s}" for _, f, s in FORMATS])
def test_load_audio_formats_and_rates(tmp_path, ext, fmt, subtype, sr):
    path = tmp_path / f"x_{subtype}_{sr}.{ext}"
    sf.write(path, _tone(sr), sr, format=fmt, subtype=subtype)
    info = audio_info(path)
    assert (info.sr, info.channels, info.n_samples) == (sr, 1, sr // 2)
    assert info.duration_s == pytest.approx(0.5)
    y, sr_out = load_audio(path)
    assert sr_out == (8000 if sr < 16000 else 16000)
    assert abs(len(y) - sr_out // 2) <= 1
    # the level survives every coding (mu-law/A-law/Vorbis within 0.5 dB)
    assert 20 * np.log10(np.sqrt(np.mean(y[100:-100] ** 2)) / (0.3 / np.sqrt(2))) == pytest.approx(0, abs=0.5)


def test_load_audio_stereo_keeps_channels(tmp_path):
    path = tmp_path / "st.flac"
    sf.write(path, _tone(16000, channels=2), 16000)
    y, sr = load_audio(path, mono=False)
    assert y.shape == (2, 8000) and sr == 16000
    assert np.max(np.abs(y[1])) / np.max(np.abs(y[0])) == pytest.approx(2.0, rel=1e-3)


def _expect(path, pattern, fn=load_audio, **kw):
    with pytest.raises(AudioError) as err:
        fn(path, **kw)
    msg = str(err.value)
    assert msg.startswith(f"{path}: "), msg
    assert re.search(pattern, msg), msg
    return msg


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert _expect(path, "empty") == f"{path}: empty file (0 bytes)"


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    _expect(path, r"^.*: not a readable audio file \(.+\)$")


def test_a_tag_without_sound_and_headerless_samples_are_said_as_such(tmp_path):
    """An MP3 holding only its ID3 tag (libsndfile: "possibly a pipe?", of a regular file) and raw samples with no
    header (soundfile: "samplerate must be specified")."""
    tag = tmp_path / "tag_only.mp3"
    tag.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 200)
    assert _expect(tag, "no audio") == f"{tag}: not a readable audio file (no audio found in it)"
    raw = tmp_path / "call.raw"
    raw.write_bytes(np.zeros(16000, np.int16).tobytes())
    _expect(raw, r"not a readable audio file \(headerless raw samples: their rate and format are not known; "
                 r"convert them to WAV or FLAC\)$")


def test_missing_file(tmp_path):
    assert _expect(tmp_path / "nope.wav", "no such file") == f"{tmp_path / 'nope.wav'}: no such file"


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_truncated_file(tmp_path, ext):
    # libsndfile shortens a cut WAV to the bytes present without complaint (its header still says
    # 1 s); a cut FLAC fails to decode ("lost sync"). Both must be refused, naming the file.
    path = tmp_path / f"cut.{ext}"
    sf.write(path, _tone(16000, dur_s=1.0), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    msg = _expect(path, "truncated")
    if ext == "wav":
        assert msg == f"{path}: truncated: the header promises 1.00 s but the data end at 0.50 s"
    else:   # where it breaks, to the 0.1-s block: about half the file (FLAC frames hold 0.26 s here)
        m = re.fullmatch(rf"{re.escape(str(path))}: damaged or truncated: the header promises 1.00 s but the "
                         r"audio cannot be decoded past (\d\.\d\d) s \(.+\)", msg)
        assert m and 0.2 <= float(m.group(1)) <= 0.6, msg


def test_silent_file(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(8000), 16000)
    assert _expect(path, "silent") == f"{path}: audio is silent (every sample is zero)"


def test_nearly_silent_file_names_its_peak(tmp_path):
    path = tmp_path / "hiss.wav"
    sf.write(path, _tone(16000, amp=10 ** (-80 / 20)), 16000, subtype="FLOAT")   # a tone 80 dB down
    assert _expect(path, "silent") == f"{path}: audio is silent (peak -80 dBFS)"


def test_badly_clipped_file(tmp_path):
    path = tmp_path / "clipped.wav"
    sf.write(path, np.clip(3 * _tone(16000, amp=1.0), -1, 1), 16000, subtype="PCM_16")
    _expect(path, r"clipped \(\d+\.\d % of samples at full scale\)")


def test_slightly_clipped_file_warns(tmp_path):
    path = tmp_path / "bit_clipped.wav"
    y = _tone(16000, amp=0.5)
    y[::200] = 1.0  # 0.5 % at full scale: between the warning (0.1 %) and refusal (2 %) shares
    sf.write(path, y, 16000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="slightly clipped"):
        load_audio(path)


def test_rate_below_minimum(tmp_path):
    path = tmp_path / "low.wav"
    sf.write(path, _tone(4000), 4000)
    assert _expect(path, "below") == f"{path}: sampling rate 4000 Hz is below the 8000 Hz minimum"


def test_call_with_three_channels(tmp_path):
    path = tmp_path / "three.wav"
    sf.write(path, _tone(8000, channels=3), 8000)
    assert _expect(path, "3 channels", fn=load_call) == f"{path}: 3 channels: a call file must be stereo (2 channels)"


def test_single_speaker_file_with_three_channels(tmp_path):
    path = tmp_path / "three.wav"
    sf.write(path, _tone(8000, channels=3), 8000)
    want = f"{path}: 3 channels: a single-speaker file must be mono (or stereo, mixed down)"
    assert _expect(path, "3 channels", single_speaker=True) == want
    assert _expect(path, "3 channels", fn=load_call, single=True) == want
    # stereo is one voice on two channels, mixed down
    sf.write(tmp_path / "two.wav", _tone(8000, channels=2), 8000)
    y, _ = load_audio(tmp_path / "two.wav", single_speaker=True)
    assert y.ndim == 1 and np.max(np.abs(y)) == pytest.approx(0.225, abs=1e-3)  # mean of 0.15 and 0.3


def test_single_speaker_stereo_that_takes_turns_is_scored_with_a_warning(tmp_path):
    # two talkers, one per channel, taking turns (with -25 dB crosstalk and line noise): a call, not one voice
    y, _ = stereo_call(8000, seed=3)
    sf.write(tmp_path / "call.wav", y.T, 8000)
    with pytest.warns(UserWarning, match=r"call\.wav: its two channels take turns.*tonekit report"):
        mixed, _ = load_audio(tmp_path / "call.wav", single_speaker=True)
    assert mixed.shape == (y.shape[1],)   # still mixed down and returned
    # one voice on two channels at two levels (6 dB apart), or the same voice panned hard to one side: no warning
    one = y[0] + 10 ** (-25 / 20) * y[1]
    for name, pair in {"levels": [one, 0.5 * one], "panned": [one, 0.01 * one]}.items():
        sf.write(tmp_path / f"{name}.wav", np.stack(pair).T, 8000)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_audio(tmp_path / f"{name}.wav", single_speaker=True)
    assert takes_turns(y, 8000) and not takes_turns(np.stack([one, 0.5 * one]), 8000)
    # a mono file has no channels to compare
    sf.write(tmp_path / "mono.wav", y[0], 8000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_audio(tmp_path / "mono.wav", single_speaker=True)[0].shape == (y.shape[1],)
    # a channel reading of a call (mono=False) is what a call is made of: no warning there
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_audio(tmp_path / "call.wav", mono=False, single_speaker=True)[0].shape == y.shape


def test_call_from_mono_without_turns(tmp_path):
    path = tmp_path / "mono.wav"
    sf.write(path, _tone(8000), 8000)
    _expect(path, r"mono file: a call needs a stereo file.*--turns", fn=load_call)


def test_stereo_call_roles(tmp_path):
    path = tmp_path / "call.flac"
    sf.write(path, _tone(8000, dur_s=2.0, channels=2), 8000)
    call = load_call(path, agent_channel=1)
    assert call.speakers == ["agent", "caller"]
    assert (call.sources["agent"].channel, call.sources["caller"].channel) == (1, 0)
    assert (call.sr_in, call.sr, call.duration_s) == (8000, 8000, 2.0)
    seg = call.read("agent", 0.5, 1.0)
    assert len(seg) == 4000
    assert np.max(np.abs(seg)) == pytest.approx(0.3, abs=1e-3)  # channel 1 has twice channel 0's 0.15
    assert len(call.read("caller", 1.5, 2.5)) == 8000  # zero-padded past the end


RTTM = ("SPEAKER mix 1 0.00 1.50 <NA> <NA> A <NA> <NA>\n"
        "# a comment\n"
        "SPEAKER mix 1 2.00 1.00 <NA> <NA> B <NA> <NA>\n"
        "SPEAKER mix 1 1.20 0.50 <NA> <NA> B <NA> <NA>\n")


def test_read_rttm(tmp_path):
    path = tmp_path / "turns.rttm"
    path.write_text(RTTM)
    segs = read_rttm(path)
    assert [(s.start_s, s.end_s, s.label) for s in segs] == [(0.0, 1.5, "A"), (1.2, 1.7, "B"), (2.0, 3.0, "B")]
    assert segs[1].duration_s == pytest.approx(0.5)


def test_read_rttm_reads_past_comments_and_other_nist_records(tmp_path):
    """NIST's RTTM also holds comments (``;;``) and records such as SPKR-INFO: the turns are the SPEAKER lines."""
    path = tmp_path / "turns.rttm"
    path.write_text(";; made by a diariser\nSPKR-INFO mix 1 <NA> <NA> <NA> unknown A <NA> <NA>\n"
                    "SPKR-INFO mix 1 <NA> <NA> <NA> unknown B <NA> <NA>\n" + RTTM
                    + "NON-SPEECH mix 1 3.0 0.5 <NA> <NA> <NA> <NA> <NA>\n")
    assert [(s.start_s, s.end_s, s.label) for s in read_rttm(path)] == [(0.0, 1.5, "A"), (1.2, 1.7, "B"),
                                                                         (2.0, 3.0, "B")]


@pytest.mark.parametrize("text, problem", [
    ("SPEAKER mix 1 0.0 1.0 <NA>\n", "line 1 is not an RTTM SPEAKER line"),
    ("SPEAKERS mix 1 0.0 1.0 <NA> <NA> A\n", "line 1 is not an RTTM SPEAKER line"),
    ("SPEAKER mix 1 zero 1.0 <NA> <NA> A\n", "line 1: start and duration must be numbers"),
    ("SPEAKER mix 1 0.0 -1.0 <NA> <NA> A\n", "line 1: negative start or duration"),
    ("SPEAKER mix 1 0.0 inf <NA> <NA> A\n", "line 1: start and duration must be finite numbers, not 0.0 and inf"),
    ("SPEAKER mix 1 nan 1.0 <NA> <NA> A\n", "line 1: start and duration must be finite numbers, not nan and 1.0"),
    ("# nothing\n", "no SPEAKER lines in RTTM file"),
    ("SPEAKER mix 1 0 1e308 <NA> <NA> A\n", "line 1: a turn to 1e+308 s, past any call's length (168 hours)"),
])
def test_read_rttm_errors(tmp_path, text, problem):
    path = tmp_path / "bad.rttm"
    path.write_text(text)
    with pytest.raises(AudioError) as err:
        read_rttm(path)
    assert str(err.value) == f"{path}: {problem}"


def test_read_rttm_reads_past_a_byte_order_mark(tmp_path):
    path = tmp_path / "turns.rttm"
    path.write_text("\ufeff" + RTTM, encoding="utf-8")   # as Windows' Notepad saves UTF-8
    assert [s.label for s in read_rttm(path)] == ["A", "B", "B"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_rttm_refuses_a_pipe_and_a_folder_rather_than_waiting(tmp_path):
    fifo = tmp_path / "turns.rttm"
    os.mkfifo(fifo)   # nobody writes to it: reading would wait for ever
    with pytest.raises(AudioError, match="turns.rttm: cannot read RTTM turns \\(not a regular file: a pipe or a "):
        read_rttm(fifo)
    with pytest.raises(AudioError, match="cannot read RTTM turns \\(a folder\\)"):
        read_rttm(tmp_path)


def test_load_call_mono_with_turns(tmp_path):
    audio, turns = tmp_path / "mix.wav", tmp_path / "turns.rttm"
    sf.write(audio, _tone(16000, dur_s=3.0), 16000)
    turns.write_text(RTTM)
    call = load_call(audio, turns=turns, agent_label="B")
    assert [(s.start_s, s.end_s) for s in call.sources["agent"].turns] == [(1.2, 1.7), (2.0, 3.0)]
    assert [(s.start_s, s.end_s) for s in call.sources["caller"].turns] == [(0.0, 1.5)]
    with pytest.raises(ParameterError, match=r"agent_label \(--agent-label\) is required with turns \(labels: A, B\)"):
        load_call(audio, turns=turns)
    with pytest.raises(ParameterError, match="'C' is not in"):
        load_call(audio, turns=turns, agent_label="C")
    # turns running well past the audio's end (another recording's?) are worth a warning; the file's own are not
    import warnings as w
    with w.catch_warnings():
        w.simplefilter("error")
        load_call(audio, turns=turns, agent_label="B")
    turns.write_text(RTTM + "SPEAKER mix 1 4.50 1.00 <NA> <NA> A <NA> <NA>\n")
    with pytest.warns(UserWarning, match=r"turns.rttm: turns run to 5.5 s but mix.wav lasts 3.0 s"):
        load_call(audio, turns=turns, agent_label="B")
    with pytest.raises(ParameterError, match=r"agent_label \(--agent-label\) goes with turns \(--turns FILE.rttm\)"):
        load_call(audio, agent_label="B")
    # turns that all miss the audio, or last nothing, are the turns' fault, said of the turns file
    turns.write_text("SPEAKER mix 1 100.0 5.0 <NA> <NA> A <NA> <NA>\nSPEAKER mix 1 110.0 5.0 <NA> <NA> B <NA> <NA>\n")
    with pytest.raises(AudioError, match=re.escape(f"{turns}: no turn falls inside mix.wav (0-3.0 s; the turns start "
                                                   "at 100.0 s): the turns of another recording?")):
        load_call(audio, turns=turns, agent_label="B")
    turns.write_text("SPEAKER mix 1 0.5 0 <NA> <NA> A <NA> <NA>\nSPEAKER mix 1 1.0 0 <NA> <NA> B <NA> <NA>\n")
    with pytest.raises(AudioError, match="turns.rttm: every turn lasts 0 s"):
        load_call(audio, turns=turns, agent_label="B")


@pytest.mark.parametrize("sr", [16000, 44100])
def test_load_mp3(tmp_path, sr):
    """MP3 (libsndfile's MPEG Layer III): length within one coder frame, level within 1 dB."""
    path = tmp_path / f"x_{sr}.mp3"
    sf.write(path, _tone(sr, dur_s=1.0), sr, format="MP3", subtype="MPEG_LAYER_III")
    info = audio_info(path)
    assert info.sr == sr and info.channels == 1
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    y, sr_out = load_audio(path)
    assert sr_out == 16000
    mid = y[len(y) // 4: 3 * len(y) // 4]
    assert 20 * np.log10(np.sqrt(np.mean(mid**2)) / (0.3 / np.sqrt(2))) == pytest.approx(0, abs=1.0)


def test_as_signal_refuses_arrays_that_are_not_float_audio():
    from tonekit.audio import as_signal

    t = np.arange(16000) / 16000
    y = 0.1 * np.sin(2 * np.pi * 140 * t)
    got, sr = as_signal(y.astype(np.float32), np.int64(16000))      # numpy ints and float32 are fine
    assert sr == 16000 and got.dtype == np.float64 and np.allclose(got, y, atol=1e-7)
    for bad, rate, message in ((np.array(["a", "b"]), 16000, "array of real numbers, not of <U1"),
                               (y + 0j, 16000, "array of real numbers, not of complex128"),
                               (y, float("nan"), "sr must be a whole number >= 1, not nan"),
                               (y, 16000.7, "sr must be a whole number >= 1, not 16000.7"),
                               (np.round(y * 32767).astype(np.int16), 16000, "got a peak of 3277 (integer PCM?")):
        with pytest.raises(ParameterError, match=re.escape(message)):
            as_signal(bad, rate)


def test_a_file_that_cannot_seek_is_refused_in_one_line(tmp_path, monkeypatch):
    """A file that stops seeking while it is read (cut short, or rewritten by another program) gives the
    damaged-file error, not libsndfile's own exception."""
    from tonekit.audio import read_span

    path = tmp_path / "call.flac"
    sf.write(path, _tone(16000, dur_s=1.0), 16000)

    def broken_seek(self, frames, whence=0):
        raise sf.LibsndfileError(0, "Internal psf_fseek() failed.")

    monkeypatch.setattr(sf.SoundFile, "seek", broken_seek)
    with pytest.raises(AudioError) as err:
        read_span(path, 0.5, 1.0)
    assert str(err.value).startswith(f"{path}: damaged or truncated: the header promises 1.00 s but the audio "
                                     "cannot be decoded past 0.00 s (Internal psf_fseek() failed.")


def test_unreadable_files_are_one_line_errors(tmp_path, monkeypatch):
    """Permissions (which root ignores, so they are simulated): a file that may not be read, and a file in a
    folder that may not be entered, are AudioErrors naming the file, not bare PermissionErrors."""
    import os
    from pathlib import Path

    path = tmp_path / "locked.wav"
    sf.write(path, _tone(16000), 16000)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == str(path) else real_access(p, mode))
    with pytest.raises(AudioError, match=re.escape(f"{path}: permission denied (the file cannot be read)")):
        audio_info(path)
    monkeypatch.undo()

    def no_entry(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "exists", no_entry)
    with pytest.raises(AudioError, match=re.escape(f"{path}: permission denied (a folder on its path cannot be "
                                                   "entered)")):
        load_audio(path)


def test_float_file_beyond_full_scale(tmp_path):
    """A floating-point file may hold samples over 1: a little over is read as it is (nothing is cut off, so it
    is not 'clipped'); far over is refused as not audio as stored."""
    a_little, far = tmp_path / "over.wav", tmp_path / "far.wav"
    sf.write(a_little, 1.2 * _tone(16000, amp=1.0), 16000, subtype="FLOAT")
    sf.write(far, 20 * _tone(16000, amp=1.0), 16000, subtype="FLOAT")
    y, sr = load_audio(a_little)
    assert np.abs(y).max() > 1.0
    assert _expect(far, "beyond") == (f"{far}: audio goes far beyond full scale (peak 20, +26 dBFS): a "
                                      "floating-point file must hold samples in -1..1")


def test_a_file_shorter_than_a_frame_is_too_short(tmp_path):
    path = tmp_path / "one.wav"
    sf.write(path, np.array([0.5]), 16000)
    assert _expect(path, "too short") == f"{path}: too short: 1 samples (0.1 ms) of audio"


def test_same_file_for_both_speakers_and_non_path_sources(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, _tone(16000), 16000)
    with pytest.raises(AudioError, match="is given as both the agent's and the caller's file"):
        load_call(agent=path, caller=tmp_path / "." / "a.wav")
    with pytest.raises(ParameterError, match="source must be a file path, not ndarray"):
        load_call(np.zeros(16000))
    assert issubclass(AudioError, ValueError)   # `except ValueError` catches bad audio too


def test_a_pipe_or_a_device_is_not_an_audio_file(tmp_path):
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    device = tmp_path / "zero.wav"
    device.symlink_to("/dev/zero")
    for path in (fifo, device):
        with pytest.raises(AudioError) as err:
            audio_info(path)
        assert str(err.value) == f"{path}: not a regular file (a pipe or a device?)"


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_an_ogg_file_cut_short_is_refused(tmp_path, subtype):
    """libsndfile reads the pages an Ogg file holds without a word; the last page's end-of-stream flag says
    whether the stream was finished."""
    y = 0.1 * np.random.default_rng(0).standard_normal(16000 * 10)
    whole = tmp_path / "whole.ogg"
    sf.write(whole, y, 16000, format="OGG", subtype=subtype)
    assert audio_info(whole).duration_s == pytest.approx(10.0, abs=0.05)
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(AudioError, match=r"cut.ogg: truncated: the Ogg stream stops without its end, after "
                                         r"[345]\.\d\d s$"):
        audio_info(cut)


def test_two_files_of_different_lengths_or_rates_are_named(tmp_path):
    """The shorter side is silent after its end, and a lower rate sets both sides' rate: each is said."""
    agent, caller, narrow = tmp_path / "agent.wav", tmp_path / "caller.wav", tmp_path / "narrow.wav"
    sf.write(agent, _tone(16000, dur_s=30.0), 16000)
    sf.write(caller, _tone(16000, dur_s=5.0), 16000)
    sf.write(narrow, _tone(8000, dur_s=30.0), 8000)
    with pytest.warns(UserWarning) as caught:
        call = load_call(agent=agent, caller=caller)
    assert [str(w.message) for w in caught] == [f"{caller}: the caller's file lasts 5.0 s, the agent's 30.0 s: the "
                                               "caller's side is silent from 0:05 on"]
    assert call.duration_s == 30.0
    with pytest.warns(UserWarning) as caught:
        call = load_call(agent=agent, caller=narrow)
    assert [str(w.message) for w in caught] == [f"{agent}: the agent's file is at 16000 Hz, the caller's at 8000 Hz: "
                                               "both are analysed at 8000 Hz"]
    assert call.sr == 8000
    same = tmp_path / "same.wav"
    sf.write(same, _tone(16000, dur_s=30.5), 16000)     # half a second longer: no word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_call(agent=agent, caller=same)


def test_a_channel_of_a_constant_level_holds_no_sound(tmp_path):
    """Every sample 0.3: the offset is taken off (a warning), and the channel is refused for what it is."""
    from tonekit.activity import detect_activity

    path = tmp_path / "dc.wav"
    y = np.column_stack([_tone(16000, dur_s=3.0), np.full(48000, 0.3)])
    sf.write(path, y, 16000)
    with pytest.warns(UserWarning, match="channel 1 carries a DC offset of"), pytest.raises(AudioError) as err:
        detect_activity(load_call(path))
    assert str(err.value) == f"{path}: channel 1 holds no sound, only a DC offset of +0.300 (-10 dBFS)"


@pytest.mark.parametrize("agent_channel", [0, 1])
def test_a_silent_or_clipped_channel_of_a_call_is_named_with_its_side(tmp_path, agent_channel):
    """A stereo call whose caller channel is digital silence, or whose agent channel is clipped on 25 % of its
    samples: refused, naming the channel and whose voice it holds (as --agent-channel sets it)."""
    from tonekit.activity import detect_activity

    caller_ch = 1 - agent_channel
    y = np.zeros((48000, 2))
    y[:, agent_channel] = _tone(16000, dur_s=3.0)
    path = tmp_path / "call.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    with pytest.raises(AudioError) as err:
        detect_activity(load_call(path, agent_channel=agent_channel))
    assert str(err.value) == (f"{path}: channel {caller_ch} (the caller's) is silent (every sample is zero): "
                              "nothing of the caller was recorded")
    y[:, caller_ch] = _tone(16000, dur_s=3.0)
    y[::4, agent_channel] = 1.0
    sf.write(path, y, 16000, subtype="FLOAT")
    with pytest.raises(AudioError) as err:
        detect_activity(load_call(path, agent_channel=agent_channel))
    assert str(err.value) == (f"{path}: channel {agent_channel} (the agent's) is clipped (25.0 % of samples at "
                              "full scale)")


def test_the_clipped_share_of_the_shorter_file_is_its_own(tmp_path):
    """A 4-s caller file clipped on 25 % of its samples, beside a 30-s agent file: 25 %, not a share of 30 s."""
    from tonekit.activity import detect_activity

    agent, caller = tmp_path / "agent.wav", tmp_path / "caller.wav"
    sf.write(agent, _tone(16000, dur_s=30.0), 16000)
    y = _tone(16000, dur_s=4.0)
    y[::4] = 1.0
    sf.write(caller, y, 16000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="silent from 0:04"), pytest.raises(AudioError) as err:
        detect_activity(load_call(agent=agent, caller=caller))
    assert str(err.value) == f"{caller}: audio is clipped (25.0 % of samples at full scale)"


# 5 % of samples at full scale is refused (limit 2 %), not merely warned about
def test_five_percent_clipped_is_refused(tmp_path):
    from tonekit.audio import load_audio

    y = 0.5 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)
    y[::20] = 1.0
    path = tmp_path / "clip5.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"is clipped \(5\.0 % of samples at full scale\)"):
        load_audio(path)


# a signal with NaN is refused, not scored
def test_a_signal_with_nan_is_refused():
    import tonekit
    from tonekit.audio import as_signal

    y = 0.1 * np.sin(2 * np.pi * 140 * np.arange(32000) / 16000)
    y[1000] = np.nan
    with pytest.raises(AudioError, match="not finite"):
        as_signal(y, 16000)
    with pytest.raises(AudioError, match="not finite"):
        tonekit.score(y, 16000)


@pytest.mark.parametrize("sr", [0, 1, -5, 4000.0, 200000, 16000.5, "16000", True])
def test_load_audio_refuses_an_output_rate_out_of_range(tmp_path, sr):
    path = tmp_path / "a.wav"
    sf.write(path, 0.1 * np.sin(2 * np.pi * 150 * np.arange(16000) / 16000), 16000)
    with pytest.raises(ParameterError, match=r"sr must be a whole number of Hz from 8000 to 96000"):
        load_audio(path, sr=sr)
    assert load_audio(path, sr=8000.0)[1] == 8000


def test_a_single_speaker_recording_past_ten_minutes_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """tonekit.score and training read a recording whole: 11 minutes (8 kHz, zeros) is refused by its header's
    length, in one line, before a sample is read (a 2-hour file had taken 2 GB to be found silent)."""
    import tonekit.audio as audio

    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(11 * 60 * 8000, dtype=np.int16), 8000, subtype="PCM_16")
    monkeypatch.setattr(audio, "read_span", lambda *a, **k: pytest.fail("read before refusing"))
    with pytest.raises(AudioError) as err:
        load_audio(path, single_speaker=True)
    assert str(err.value) == (f"{path}: 11 minutes of audio: a single-speaker recording is read whole, up to 10 "
                              "minutes; cut it, or for a call use tonekit report (read in blocks)")


def test_running_out_of_memory_is_not_called_a_damaged_file(tmp_path, monkeypatch):
    import soundfile

    path = tmp_path / "a.wav"
    sf.write(path, np.zeros((16000, 2)), 16000)

    def no_memory(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(soundfile.SoundFile, "read", no_memory)
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert str(err.value) == f"{path}: not enough memory to read 1 s of 2 channels at 16000 Hz whole"


def test_a_broken_or_looping_symlink_is_named_as_such(tmp_path):
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    for name, target in (("loop.wav", tmp_path / "loop.wav"), ("gone.wav", tmp_path / "nowhere.wav")):
        with pytest.raises(AudioError) as err:
            load_audio(tmp_path / name)
        assert str(err.value) == f"{tmp_path / name}: a symbolic link to {target}, which does not lead to a file"
    with pytest.raises(AudioError, match=r"nowhere\.wav: no such file$"):
        load_audio(tmp_path / "nowhere.wav")


def test_a_damaged_mp3_is_one_line_without_the_decoders_own_notes(tmp_path):
    """libmpg123 writes its notes on a cut or garbled MP3 ("Xing stream size off ...", "Illegal Audio-MPEG-Header
    ...") straight to the process's stderr: they are kept off it, and tonekit's one line stays alone (a real
    process: the notes go to file descriptor 2, past Python)."""
    import subprocess
    import sys

    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile writes no MP3")
    sr = 16000
    t = np.arange(20 * sr) / sr
    sf.write(tmp_path / "whole.mp3", 0.1 * np.sin(2 * np.pi * 150 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)), sr)
    data = (tmp_path / "whole.mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbled.mp3").write_bytes(data[:20000] + bytes(range(256)) * 40 + data[30000:])
    code = ("import sys, warnings; warnings.simplefilter('ignore'); from tonekit.audio import load_audio\n"
            "for p in sys.argv[1:]:\n"
            "    try: load_audio(p)\n"
            "    except Exception as e: print(e, file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "cut.mp3"), str(tmp_path / "garbled.mp3")],
                         capture_output=True, text=True, timeout=120)
    lines = out.stderr.splitlines()
    assert len(lines) == 2, out.stderr
    assert lines[0].startswith(f"{tmp_path / 'cut.mp3'}: truncated") or "damaged or truncated" in lines[0]
    assert lines[1].startswith(f"{tmp_path / 'garbled.mp3'}: ")


def test_a_header_with_a_thousand_channels_is_named_for_them(tmp_path):
    """A WAV header claiming 1000 channels over 32 kB of data: refused for its channels, not as 1 ms of audio."""
    import struct

    data = b"\x00\x01" * 16000
    head = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1000, 16000, 16000 * 2000, 2000, 16)
            + b"data" + struct.pack("<I", len(data)))
    (tmp_path / "odd.wav").write_bytes(head + data)
    with pytest.raises(AudioError, match=r"odd\.wav: its header says 1000 channels: a call has 2 and a voice 1"):
        audio_info(tmp_path / "odd.wav")
