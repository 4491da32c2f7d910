"""Synthesise the bundled demo call, ``data/demo_call.flac``, and its ground truth.

The scenario
------------
A patient (the *caller*) phones the secretariat of "docteur Martin" because his
appointment was cancelled without notice. The call is in French, about 90 s long,
stereo at 16 kHz: the agent on channel 0, the caller on channel 1.

- The caller starts **angry** (raised pitch, wide pitch range, fast, loud, bright
  and strained spectrum) for roughly the first 45 s, then **calms down**
  progressively (two "calming" turns, then "calm" turns) until the end.
- The agent stays **calm** (neutral pitch, narrow range, steady rate) while the
  caller is angry, except for one **upbeat** turn of about 10 s (cheerful: high,
  lively pitch, a little faster and louder) while the caller is still angry: the
  tone mismatch of tip 9 (``upbeat_vs_angry``).
- From the hold on (she comes back with the explanation that calms the caller
  down) the agent answers **warmly**: a smile is audible (formants raised 12 %,
  pitch 2 semitones up with a livelier range, a brighter spectrum), so there is
  no long stretch of unsmiling speech outside the angry part (no tip 7,
  ``no_smile``).
- Once, the agent **interrupts** the caller: the two overlap for 1.5 s (tip 1,
  ``interruption``).
- Once, the agent puts the caller **on hold**: about 8 s of silence on both
  channels (tip 12, ``long_silence``).
- Other gaps between turns are 0.35-1.1 s; each channel carries the other side's
  voice at -25 dB (crosstalk) and pink line noise at -55 dBFS (100 Hz-3.4 kHz).

How it is made
--------------
Every line is spoken by espeak-ng (``fr+f3`` for the agent, ``fr+m3`` for the
caller; no corpus audio) and then shaped with Praat through parselmouth: a
Manipulation object gets a new pitch tier (shift in semitones and range scaled
around the line's median) and a duration tier, the result is brightened with a
smooth high shelf and scaled to a target intensity. For the warm style, Praat's
"Change gender" first shifts the formants up (pitch and duration left alone), as
the spread lips of a smile do. The random generators (numpy's
``default_rng(7)`` for gaps and noise, Praat's for the overlap-add of unvoiced
stretches) are seeded, so the output is bit-identical from run to run for a
given espeak-ng and Praat version (made with espeak-ng 1.51 and the Praat 6.1.38
inside parselmouth 0.4.7).

The ground truth goes to ``data/demo_call.json``: the turns with their times,
text and style, the events a matcher should find (``expected_events``), the
stretches where the caller is angry and the one where the agent is upbeat.

Re-run it from the repository root::

    python scripts/make_demo_call.py                 # writes data/demo_call.*
    python scripts/make_demo_call.py --out-dir /tmp  # somewhere else
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import parselmouth
import soundfile as sf
from parselmouth.praat import call

SAMPLE_RATE_HZ = 16000
SEED = 7
DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "data"

CROSSTALK_DB = -25.0
NOISE_DBFS = -55.0
NOISE_BAND_HZ = (100.0, 3400.0)
LEAD_IN_S = 0.6
TAIL_S = 0.8
GAP_RANGE_S = (0.35, 1.1)
OVERLAP_S = 1.5
HOLD_S = 8.0
CALM_INTENSITY_DB = 62.0  # Praat dB (re 2e-5 Pa, full scale = 94 dB): -32 dBFS RMS
MAX_PEAK = 0.95


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and the pitch range Praat should track for it."""

    espeak_voice: str
    speed_wpm: int
    pitch: int  # espeak-ng's 0-99 scale
    f0_floor_hz: float
    f0_ceiling_hz: float


@dataclass(frozen=True)
class Style:
    """How a neutral espeak-ng line is reshaped for one speaking style."""

    pitch_shift_st: float  # added to the line's median f0
    pitch_range: float  # factor on the f0 excursions around the median (in log f0)
    duration: float  # factor on the duration; < 1 is faster
    gain_db: float  # added to the calm target intensity
    brightness_db: float  # high-shelf gain above about 1.5 kHz
    formant_shift: float = 1.0  # factor on the formants (Praat's "Change gender"); > 1 sounds smiling


@dataclass(frozen=True)
class Line:
    """One scripted turn: who says what, how, and how it starts.

    ``start`` is ``"gap"`` (after a normal pause), ``"interrupt"`` (the speaker
    starts ``OVERLAP_S`` before the previous turn ends) or ``"hold"`` (after
    ``HOLD_S`` of silence).
    """

    speaker: str
    text: str
    style: str
    start: str = "gap"


VOICES = {
    "agent": Voice("fr+f3", 150, 50, 100.0, 500.0),
    "caller": Voice("fr+m3", 150, 40, 60.0, 300.0),
}

STYLES = {
    "calm": Style(0.0, 0.8, 1.0, 0.0, 0.0),
    "angry": Style(5.0, 1.8, 0.85, 7.0, 6.0),
    "calming": Style(2.0, 1.2, 0.93, 3.0, 2.0),
    # cheerful, not pressed: high and lively pitch, only a little louder and brighter
    "upbeat": Style(5.0, 2.0, 0.9, 4.0, 2.0),
    # smiling: formants raised 12 % (spread lips), pitch a little up and livelier, brighter
    "warm": Style(2.0, 1.3, 1.0, 0.0, 3.0, formant_shift=1.12),
}

SCRIPT = [
    Line("agent", "Secrétariat médical du docteur Martin, Claire à l'appareil, bonjour.", "calm"),
    Line("caller", "Oui bonjour ! Mon rendez-vous de jeudi a été annulé, encore une fois, "
                   "et personne ne m'a prévenu !", "angry"),
    Line("agent", "Je suis désolée, monsieur. Pouvez-vous me donner votre nom ?", "calm"),
    Line("caller", "Durand, Pierre Durand ! Ça fait trois semaines que j'attends ce rendez-vous, "
                   "et maintenant on me dit que c'est reporté "
                   "au mois prochain sans la moindre explication", "angry"),
    Line("agent", "Monsieur Durand, je comprends tout à fait. Laissez-moi vérifier, s'il vous plaît.",
         "calm", "interrupt"),
    Line("caller", "Vérifier quoi ? J'ai appelé trois fois hier et ça sonnait dans le vide !", "angry"),
    Line("agent", "Oh mais pas de souci, on va vous trouver une super solution ! "
                  "Le docteur a justement plein de nouveaux créneaux la semaine prochaine, "
                  "c'est génial, vous allez voir, tout va très bien se passer !", "upbeat"),
    Line("caller", "Génial ? Vous trouvez ça génial ? Moi je trouve ça lamentable !", "angry"),
    Line("agent", "Vous avez raison, excusez-moi. Je regarde votre dossier, ne quittez pas.", "calm"),
    Line("agent", "Merci d'avoir patienté. Votre rendez-vous a été annulé parce que "
                  "le docteur est malade cette semaine.", "warm", "hold"),
    Line("caller", "Ah bon, il est malade ? Je ne savais pas. On aurait quand même pu me prévenir.",
         "calming"),
    Line("agent", "C'est vrai, je vous présente nos excuses. "
                  "Je peux vous proposer mardi à neuf heures trente.", "warm"),
    Line("caller", "Mardi à neuf heures trente, oui, ça devrait aller.", "calming"),
    Line("agent", "Très bien, c'est noté.", "warm"),
    Line("caller", "Merci madame, et excusez-moi de m'être emporté.", "calm"),
    Line("agent", "Je vous en prie. Bonne journée, monsieur Durand.", "warm"),
    Line("caller", "Merci, au revoir.", "calm"),
]


def synthesize_line(text: str, voice: Voice, tmp_dir: Path, index: int) -> parselmouth.Sound:
    """Speak one line with espeak-ng and return it as a 16 kHz Praat Sound.

    Parameters
    ----------
    text : str
        French text to speak.
    voice : Voice
        espeak-ng voice, speed (words per minute) and pitch (0-99).
    tmp_dir : Path
        Folder for the intermediate WAV file.
    index : int
        Line number, used to name the WAV file.
    """
    wav_path = tmp_dir / f"line_{index:02d}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice.espeak_voice, "-s", str(voice.speed_wpm),
         "-p", str(voice.pitch), "-a", "100", "-w", str(wav_path), text],
        check=True, capture_output=True,
    )
    sound = parselmouth.Sound(str(wav_path))
    return call(sound, "Resample...", SAMPLE_RATE_HZ, 50)


def shape_line(sound: parselmouth.Sound, voice: Voice, style: Style, *, seed: int) -> np.ndarray:
    """Reshape a neutral line into a speaking style with Praat.

    Pitch: the Manipulation's pitch tier is mapped to
    ``median * (f0 / median) ** pitch_range * 2 ** (pitch_shift_st / 12)``.
    Formants (only if ``formant_shift`` is not 1): Praat's "Change gender"
    with pitch and duration unchanged, before the rest.
    Duration: a constant duration tier. Then a smooth high shelf of
    ``brightness_db`` (half gain at 1.2 kHz, full gain from about 2 kHz) and
    scaling to ``CALM_INTENSITY_DB + gain_db``.

    Parameters
    ----------
    sound : parselmouth.Sound
        Neutral espeak-ng line at 16 kHz.
    voice : Voice
        Gives the pitch floor and ceiling in Hz for the analysis.
    style : Style
        Target style.
    seed : int
        Seed for Praat's random generator, which the overlap-add uses on unvoiced stretches.

    Returns
    -------
    np.ndarray
        Mono samples at 16 kHz, trimmed to the speech.
    """
    if style.formant_shift != 1.0:
        # Praat's "Change gender" with the pitch median, range and duration left alone
        # (new median 0 = keep, factors 1) only moves the formants.
        with praat_random_seed(seed):
            sound = call(sound, "Change gender...", voice.f0_floor_hz, voice.f0_ceiling_hz,
                         style.formant_shift, 0.0, 1.0, 1.0)
    pitch = call(sound, "To Pitch", 0.0, voice.f0_floor_hz, voice.f0_ceiling_hz)
    median_hz = call(pitch, "Get quantile", 0, 0, 0.5, "Hertz")
    manipulation = call(sound, "To Manipulation", 0.01, voice.f0_floor_hz, voice.f0_ceiling_hz)
    pitch_tier = call(manipulation, "Extract pitch tier")
    call(pitch_tier, "Formula...",
         f"{median_hz} * (self / {median_hz}) ^ {style.pitch_range} * 2 ^ ({style.pitch_shift_st} / 12)")
    duration_tier = call("Create DurationTier", "duration", sound.xmin, sound.xmax)
    call(duration_tier, "Add point", sound.xmin, style.duration)
    call([pitch_tier, manipulation], "Replace pitch tier")
    call([duration_tier, manipulation], "Replace duration tier")
    with praat_random_seed(seed):
        shaped = call(manipulation, "Get resynthesis (overlap-add)")
    if style.brightness_db:
        shelf_gain = 10 ** (style.brightness_db / 20)
        shaped = call(shaped, "Filter (formula)...",
                      f"self * (1 + {shelf_gain - 1} * (x / 1200) ^ 4 / (1 + (x / 1200) ^ 4))")
    shaped = trim_silence(shaped)
    call(shaped, "Scale intensity...", CALM_INTENSITY_DB + style.gain_db)
    return shaped.values[0].copy()


@contextmanager
def praat_random_seed(seed: int):
    """Make Praat's random generator predictable inside the block, unpredictable after."""
    parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({seed})")
    try:
        yield
    finally:
        parselmouth.praat.run("random_initializeSafelyAndUnpredictably ()")


def trim_silence(sound: parselmouth.Sound, *, threshold_db: float = -40.0) -> parselmouth.Sound:
    """Cut the leading and trailing silence that espeak-ng adds.

    Parameters
    ----------
    sound : parselmouth.Sound
        Mono sound.
    threshold_db : float
        Frames (10 ms) quieter than this, relative to the loudest frame, count as silence.
    """
    samples = sound.values[0]
    frame_len = int(0.01 * sound.sampling_frequency)
    n_frames = len(samples) // frame_len
    frames = samples[: n_frames * frame_len].reshape(n_frames, frame_len)
    rms_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(rms_db > rms_db.max() + threshold_db)
    start_s = max(loud[0] - 1, 0) * 0.01
    end_s = min(loud[-1] + 2, n_frames) * 0.01
    return call(sound, "Extract part", sound.xmin + start_s, sound.xmin + end_s,
                "rectangular", 1.0, "no")


def place_turns(lines: list[Line], clips: list[np.ndarray], rng: np.random.Generator) -> list[dict]:
    """Lay the turns out on the call's timeline.

    Parameters
    ----------
    lines : list of Line
        The script.
    clips : list of np.ndarray
        The shaped audio of each line, at 16 kHz.
    rng : np.random.Generator
        Draws the normal gaps, uniformly in ``GAP_RANGE_S`` seconds.

    Returns
    -------
    list of dict
        One turn per line: ``speaker, start_s, end_s, text, style``, times in s
        rounded to the sample.
    """
    turns = []
    previous_end_s = LEAD_IN_S
    for line, clip in zip(lines, clips):
        if not turns:
            start_s = LEAD_IN_S
        elif line.start == "interrupt":
            start_s = previous_end_s - OVERLAP_S
        elif line.start == "hold":
            start_s = previous_end_s + HOLD_S
        else:
            start_s = previous_end_s + rng.uniform(*GAP_RANGE_S)
        start_s = round(start_s * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
        end_s = start_s + len(clip) / SAMPLE_RATE_HZ
        turns.append({"speaker": line.speaker, "start_s": start_s, "end_s": end_s,
                      "text": line.text, "style": line.style})
        # After an interruption the next gap counts from whichever turn ends last.
        previous_end_s = max(previous_end_s, end_s)
    return turns


def mix_channels(turns: list[dict], clips: list[np.ndarray], duration_s: float) -> np.ndarray:
    """Add each clip into its speaker's channel (agent 0, caller 1).

    Returns
    -------
    np.ndarray
        Clean speech, shape ``(n_samples, 2)``.
    """
    n_samples = int(round(duration_s * SAMPLE_RATE_HZ))
    clean = np.zeros((n_samples, 2))
    for turn, clip in zip(turns, clips):
        channel = 0 if turn["speaker"] == "agent" else 1
        start = int(round(turn["start_s"] * SAMPLE_RATE_HZ))
        clean[start:start + len(clip), channel] += clip
    return clean


def add_line_effects(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add crosstalk (the other side at ``CROSSTALK_DB``) and pink line noise.

    Parameters
    ----------
    clean : np.ndarray
        Clean speech, shape ``(n_samples, 2)``.
    rng : np.random.Generator
        Source of the noise.
    """
    bleed = 10 ** (CROSSTALK_DB / 20)
    mixed = clean + bleed * clean[:, ::-1]
    for channel in range(mixed.shape[1]):
        mixed[:, channel] += pink_noise(len(mixed), rng, level_dbfs=NOISE_DBFS)
    return mixed


def pink_noise(n_samples: int, rng: np.random.Generator, *, level_dbfs: float,
               band_hz: tuple[float, float] = NOISE_BAND_HZ) -> np.ndarray:
    """Pink (1/f power) noise inside ``band_hz``, with an RMS of ``level_dbfs`` dB re full scale.

    The band keeps the hiss where a phone line puts it; it also keeps the FLAC
    under 2.5 MB: the same noise spread up to 8 kHz would add about 0.6 MB.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    freqs_hz = np.fft.rfftfreq(n_samples, d=1 / SAMPLE_RATE_HZ)
    in_band = (freqs_hz >= band_hz[0]) & (freqs_hz <= band_hz[1])
    spectrum[~in_band] = 0.0
    spectrum[in_band] /= np.sqrt(freqs_hz[in_band])
    noise = np.fft.irfft(spectrum, n=n_samples)
    return noise * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(noise ** 2))


def expected_ground_truth(lines: list[Line], turns: list[dict], duration_s: float) -> dict:
    """Build the JSON ground truth: turns, expected events, angry and upbeat stretches."""
    events = []
    for index, (line, turn) in enumerate(zip(lines, turns)):
        previous = turns[index - 1] if index else None
        if line.style == "upbeat":
            events.append({"tip": 9, "kind": "upbeat_vs_angry", "speaker": turn["speaker"],
                           "start_s": turn["start_s"], "end_s": turn["end_s"]})
        if line.start == "interrupt":
            events.append({"tip": 1, "kind": "interruption", "speaker": turn["speaker"],
                           "start_s": turn["start_s"], "end_s": previous["end_s"]})
        if line.start == "hold":
            events.append({"tip": 12, "kind": "long_silence", "speaker": "none",
                           "start_s": previous["end_s"], "end_s": turn["start_s"]})
    events.sort(key=lambda event: event["start_s"])

    def spans(speaker: str, style: str) -> list[list[float]]:
        return [[round(t["start_s"], 3), round(t["end_s"], 3)] for t in turns
                if t["speaker"] == speaker and t["style"] == style]

    return {
        "duration_s": round(duration_s, 3),
        "sample_rate": SAMPLE_RATE_HZ,
        "turns": [{**t, "start_s": round(t["start_s"], 3), "end_s": round(t["end_s"], 3)}
                  for t in turns],
        "expected_events": [{**e, "start_s": round(e["start_s"], 3), "end_s": round(e["end_s"], 3)}
                            for e in events],
        "caller_angry": spans("caller", "angry"),
        "agent_upbeat": spans("agent", "upbeat"),
        "generator": {
            "script": "scripts/make_demo_call.py",
            "espeak_ng": espeak_version(),
            "voices": {speaker: voice.espeak_voice for speaker, voice in VOICES.items()},
            "seed": SEED,
        },
    }


def check_timeline(turns: list[dict], duration_s: float) -> None:
    """Fail loudly if this espeak-ng build produced a call outside the design.

    Raises
    ------
    RuntimeError
        If the length, the upbeat stretch, the overlap or the silences are off.
    """
    problems = []
    if not 75 <= duration_s <= 110:
        problems.append(f"call is {duration_s:.1f} s long, expected 75-110 s")
    for turn in turns:
        if turn["style"] == "upbeat" and not 8 <= turn["end_s"] - turn["start_s"] <= 12:
            problems.append(f"upbeat turn is {turn['end_s'] - turn['start_s']:.1f} s, expected 8-12 s")
    speech = sorted((t["start_s"], t["end_s"]) for t in turns)
    covered_until_s, long_silences = 0.0, []
    for start_s, end_s in speech:
        if start_s - covered_until_s >= 4.0:
            long_silences.append((covered_until_s, start_s))
        covered_until_s = max(covered_until_s, end_s)
    if len(long_silences) != 1:
        problems.append(f"expected one silence of 4 s or more, found {long_silences}")
    if problems:
        raise RuntimeError("demo call off design: " + "; ".join(problems))


def espeak_version() -> str:
    """The espeak-ng version string, e.g. ``"1.51"``."""
    out = subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True)
    words = out.stdout.split()
    return words[words.index("text-to-speech:") + 1] if "text-to-speech:" in words else out.stdout.strip()


def write_outputs(out_dir: Path, audio: np.ndarray, truth: dict) -> tuple[Path, Path]:
    """Write the 16-bit FLAC and the JSON ground truth; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    flac_path = out_dir / "demo_call.flac"
    json_path = out_dir / "demo_call.json"
    sf.write(flac_path, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="FLAC",
             compression_level=1.0)
    json_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return flac_path, json_path


def make_demo_call(out_dir: Path) -> tuple[Path, Path]:
    """Synthesise, shape, place, mix and write the demo call into ``out_dir``."""
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="demo_call_") as tmp:
        clips = [
            shape_line(synthesize_line(line.text, VOICES[line.speaker], Path(tmp), index),
                       VOICES[line.speaker], STYLES[line.style], seed=SEED + index)
            for index, line in enumerate(SCRIPT)
        ]
    turns = place_turns(SCRIPT, clips, rng)
    duration_s = max(t["end_s"] for t in turns) + TAIL_S
    check_timeline(turns, duration_s)
    audio = add_line_effects(mix_channels(turns, clips, duration_s), rng)
    peak = np.abs(audio).max()
    if peak >= MAX_PEAK:
        raise RuntimeError(f"demo call peaks at {peak:.3f}, would clip; lower CALM_INTENSITY_DB")
    return write_outputs(out_dir, audio, expected_ground_truth(SCRIPT, turns, duration_s))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python scripts/make_demo_call.py [--out-dir DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help=f"folder for demo_call.flac and demo_call.json (default: {DEFAULT_OUT_DIR})")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:   # a system program, not a Python package
        parser.exit(1, "Error: espeak-ng: not found; it speaks the demo's lines (Debian/Ubuntu: apt install "
                       "espeak-ng; the bundled demo was made with 1.51)\n")
    flac_path, json_path = make_demo_call(args.out_dir)
    truth = json.loads(json_path.read_text(encoding="utf-8"))
    print(f"wrote {flac_path} ({flac_path.stat().st_size / 1e6:.2f} MB, "
          f"{truth['duration_s']:.1f} s, stereo {truth['sample_rate']} Hz: agent ch0, caller ch1)")
    print(f"wrote {json_path} ({len(truth['turns'])} turns)")
    for turn in truth["turns"]:
        print(f"  {turn['start_s']:6.2f}-{turn['end_s']:6.2f} s  {turn['speaker']:<6} {turn['style']}")
    for event in truth["expected_events"]:
        print(f"  expected event: tip {event['tip']} {event['kind']} ({event['speaker']}) "
              f"{event['start_s']:.2f}-{event['end_s']:.2f} s")


if __name__ == "__main__":
    main()
