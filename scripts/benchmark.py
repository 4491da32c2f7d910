"""Benchmark tonekit: feature speed vs openSMILE, end-to-end speed, memory on a long call.

What it measures
----------------
1. **Feature speed vs openSMILE.** tonekit's frame features of both speakers
   of an N-minute stereo call (``load_call`` -> ``detect_activity`` ->
   ``call_frames`` -> ``speaker_windows`` per speaker) against openSMILE
   eGeMAPSv02 low-level descriptors of both channels of the same audio
   (``Smile.process_signal`` per channel). Each is run once after a warm-up
   on a 10-s call. Ratio = openSMILE time / tonekit time (target >= 1.5).
2. **End-to-end report speed.** ``tonekit.analyze(path, models=...)`` on the
   same call at ``--sr`` and at 8 kHz; real-time factor = audio duration /
   wall time (target >= 60x on one core). Uses the shipped models
   (``tonekit.models.store.load_models()``), else ``--models DIR``; when
   neither loads the line is skipped, unless ``--stub-models`` is given, in
   which case constant-probability stand-in models are used (the timing then
   excludes the cost of the real classifiers, which is small: one
   ``predict_proba`` per speaker and target).
3. **Memory.** A ``--long-hours`` stereo 8 kHz call is analysed (activity +
   frames + windows) in a fresh ``python -c`` subprocess; its peak RSS (the
   child's own ``VmHWM`` from /proc/self/status) and wall time are reported
   (target < 600 MB). Not ``getrusage``'s ``ru_maxrss``: on Linux a process
   started by fork (or vfork) and exec inherits its parent's high-water mark
   in ``ru_maxrss``, so that figure would be this script's own peak whenever
   it is larger (it was: 702 MB against the child's 560 MB).
   ``--skip-memory`` skips it.

Test audio
----------
No corpus audio: the call is synthesised (deterministic, ``--seed``).
Two speakers take alternating turns of "speech": harmonic complexes with a
slowly moving f0 (agent ~120 Hz, caller ~210 Hz), a vowel-like formant
envelope per syllable, syllable-rate amplitude modulation (~4-6 syl/s),
short noise bursts for consonants, word gaps, 0.3-1.5 s pauses between
turns, occasional overlaps and a long hold. Each channel carries the other
speaker at -25 dB (crosstalk) plus line noise at about -60 dBFS. The file is
written to /tmp block by block (16-bit WAV), so the generator itself needs
little memory even for hours of audio.

All work is pinned to one thread (OMP/OPENBLAS/MKL/NUMEXPR = 1, set before
numpy is imported), so the numbers are single-core numbers.

Run it from the repository root::

    python scripts/benchmark.py                              # 10 min, 16 kHz, 2 h memory run
    python scripts/benchmark.py --minutes 10 --skip-memory --out /tmp/bench.json
    python scripts/benchmark.py --long-hours 0.5             # quicker memory run
    python scripts/benchmark.py --models path/to/models      # models not yet shipped
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path[:1]:   # this source tree's tonekit, not an older installed copy
    sys.path.insert(0, str(ROOT))

FEATURE_TARGET = 1.5
RTF_TARGET = 60.0
MEMORY_TARGET_MB = 600.0

# ----------------------------------------------------------------------------- synthesis

#: Vowel formants (F1, F2, F3) in Hz and bandwidths, for the spectral envelope.
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410],
                   [300, 870, 2240], [660, 1720, 2410]], float)
BANDWIDTHS = np.array([90.0, 110.0, 170.0])
SPEAKERS = {0: {"f0": 120.0, "rate": 4.5, "level": 0.22}, 1: {"f0": 210.0, "rate": 5.5, "level": 0.25}}
CROSSTALK = 10 ** (-25 / 20)
NOISE_RMS = 10 ** (-60 / 20)


def call_schedule(duration_s: float, seed: int) -> list[dict]:
    """Turns of the call: who speaks when, with f0, rate, level and vowel sequence per turn."""
    rng = np.random.default_rng(seed)
    turns, t, spk = [], 0.3, 0
    while t < duration_s - 0.5:
        p = SPEAKERS[spk]
        dur = float(rng.uniform(1.5, 9.0))
        end = min(t + dur, duration_s - 0.2)
        turns.append({"spk": spk, "start": t, "end": end,
                      "f0": p["f0"] * float(2 ** (rng.normal(0, 1.5) / 12)),
                      "f0_mod": float(rng.uniform(0.04, 0.12)), "f0_mod_hz": float(rng.uniform(0.2, 0.7)),
                      "rate": p["rate"] * float(rng.uniform(0.8, 1.25)),
                      "level": p["level"] * float(10 ** (rng.normal(0, 2) / 20)),
                      "vowels": rng.integers(0, len(VOWELS), size=int(dur * 8) + 4),
                      "gaps": rng.uniform(0, 1, size=int(dur * 8) + 4) < 0.12})
        u = rng.uniform()
        if u < 0.08:      # overlap: the other speaker comes in before the end
            t = end - float(rng.uniform(0.3, 1.5))
        elif u < 0.10:    # hold
            t = end + float(rng.uniform(6.0, 10.0))
        else:
            t = end + float(rng.uniform(0.3, 1.5))
        spk = 1 - spk
    return turns


def _formant_gain(freqs: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Magnitude of a cascade of three resonances at ``freqs`` (broadcasting)."""
    g = np.ones_like(freqs)
    for f, bw in zip(formants, BANDWIDTHS):
        g = g * (f * f) / np.sqrt((f * f - freqs ** 2) ** 2 + (bw * freqs) ** 2)
    return g


def synth_turn(turn: dict, t: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of one turn at absolute times ``t`` (s) (all inside the turn)."""
    tau = t - turn["start"]
    fb, a, fm = turn["f0"], turn["f0_mod"], turn["f0_mod_hz"]
    # f0(tau) = fb (1 + a sin(2 pi fm tau)) - declination; phase integrated analytically
    decl = 0.015 * fb
    phase = 2 * np.pi * (fb * tau + fb * a / (2 * np.pi * fm) * (1 - np.cos(2 * np.pi * fm * tau))
                         - decl * tau ** 2 / 2)
    f0_now = fb * (1 + a * np.sin(2 * np.pi * fm * tau)) - decl * tau
    syl = tau * turn["rate"]
    k_syl = np.minimum(syl.astype(int), len(turn["vowels"]) - 1)
    frac = syl - np.floor(syl)
    env = np.sin(np.pi * frac) ** 1.5
    env = env * ~turn["gaps"][k_syl]
    # fade the turn in and out over 20 ms
    dur = turn["end"] - turn["start"]
    env = env * np.clip(np.minimum(tau, dur - tau) / 0.02, 0, 1)
    top = min(3600.0, 0.45 * sr)
    n_harm = int(top // (fb * 0.8))
    y = np.zeros_like(t)
    # vowel of each sample: formant gains per harmonic computed per distinct vowel
    for v in np.unique(turn["vowels"][k_syl]):
        sel = turn["vowels"][k_syl] == v
        if not sel.any():
            continue
        ph, f0s = phase[sel], f0_now[sel]
        acc = np.zeros(sel.sum())
        for k in range(1, n_harm + 1):
            gain = _formant_gain(np.array([k * fb]), VOWELS[v])[0] / k
            acc += gain * np.sin(k * ph) * (k * f0s < top)
        y[sel] = acc
    y = y / 6.0 * env
    # consonant-like noise bursts near syllable boundaries
    burst = np.exp(-((frac - 0.03) / 0.035) ** 2) * (turn["vowels"][k_syl] % 2 == 0)
    y = y + 0.35 * burst * rng.standard_normal(len(t)) * np.clip(np.minimum(tau, dur - tau) / 0.02, 0, 1)
    return turn["level"] * y


def write_call(path: str | Path, duration_s: float, sr: int, *, seed: int = 1, block_s: float = 30.0) -> dict:
    """Write a synthetic stereo call (agent on channel 0) to ``path``, block by block.

    Returns a small description (duration, rate, number of turns).
    """
    turns = call_schedule(duration_s, seed)
    n_total = int(round(duration_s * sr))
    block = int(block_s * sr)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype="PCM_16") as fh:
        for bi, s0 in enumerate(range(0, n_total, block)):
            s1 = min(n_total, s0 + block)
            t = np.arange(s0, s1) / sr
            rng = np.random.default_rng([seed, bi])
            clean = np.zeros((2, s1 - s0))
            for turn in turns:
                if turn["end"] <= t[0] or turn["start"] >= t[-1]:
                    continue
                m = (t >= turn["start"]) & (t < turn["end"])
                clean[turn["spk"], m] += synth_turn(turn, t[m], sr, rng)
            out = clean + CROSSTALK * clean[::-1]
            noise = rng.standard_normal((2, s1 - s0))
            noise = np.cumsum(noise, axis=1) * 0.02 + noise  # a little low-frequency tilt
            noise -= noise.mean(axis=1, keepdims=True)
            out += NOISE_RMS * noise / max(noise.std(), 1e-9)
            fh.write(np.clip(out, -0.99, 0.99).T)
    return {"duration_s": n_total / sr, "sr": sr, "n_turns": len(turns), "seed": seed}


# ----------------------------------------------------------------------------- measurements

def tonekit_features(path) -> float:
    """Seconds for tonekit's features (activity, frames, windows) of both speakers."""
    from tonekit.activity import detect_activity
    from tonekit.audio import load_call
    from tonekit.features.frames import call_frames
    from tonekit.features.windows import speaker_windows

    t0 = time.perf_counter()
    call = load_call(str(path))
    act = detect_activity(call)
    frames = call_frames(call, act)
    _ = [speaker_windows(f) for f in frames.values()]
    return time.perf_counter() - t0


def opensmile_lld(path, smile) -> float:
    """Seconds for openSMILE eGeMAPSv02 LLDs of both channels (reading the file included)."""
    t0 = time.perf_counter()
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    for ch in range(y.shape[1]):
        smile.process_signal(np.ascontiguousarray(y[:, ch]), sr)
    return time.perf_counter() - t0


class _StubModel:
    """Constant-probability stand-in for a ToneModel (timing only)."""

    def predict_proba(self, features):
        return np.full(len(features), 0.5)


def resolve_models(models_dir, stub: bool):
    """(models, label, source) or (None, reason, None); ``source`` is what ``tonekit.score(models=...)`` loads
    the same models from (None: the shipped ones; the folder; the stub dict itself)."""
    from tonekit.models.store import TARGET_NAMES, load_models

    errors = []
    try:
        return load_models(), "shipped models", None
    except Exception as exc:  # ModelError, missing skops, ...
        errors.append(f"shipped models: {exc}")
    if models_dir:
        try:
            return load_models(models_dir), f"models from {models_dir}", models_dir
        except Exception as exc:
            errors.append(f"--models {models_dir}: {exc}")
    if stub:
        stubs = {t: _StubModel() for t in TARGET_NAMES}
        return stubs, "STUB models (constant 0.5; real classifiers not timed)", stubs
    return None, "; ".join(errors) + ("" if models_dir else "; no --models given") + \
        " (use --models DIR, or --stub-models to time the pipeline with stand-in models)", None


def analyze_time(path, models, **options) -> float:
    import tonekit

    t0 = time.perf_counter()
    tonekit.analyze(str(path), models=models, **options)
    return time.perf_counter() - t0


def whisper_every_times(path, models, settings, rounds: int = 2) -> dict:
    """``{n: [seconds per round]}``: :func:`analyze_time` with ``whisper_every=n`` for each ``n`` of ``settings``,
    the settings interleaved in each round so that they share the machine's load."""
    out = {n: [] for n in settings}
    for _ in range(rounds):
        for n in settings:
            gc.collect()
            out[n].append(analyze_time(path, models, whisper_every=n))
    return out


MEMORY_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import tonekit
a = tonekit.analyze(sys.argv[1], models=(sys.argv[2] if len(sys.argv) > 2 else None))
wins = [(a.windows, None)]
dt = time.perf_counter() - t0
hwm = None
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
print(json.dumps({"seconds": dt, "vmhwm_mb": hwm, "n_windows": sum(len(w) for w, _ in wins)}))
"""


def memory_run(path, models_dir=None) -> dict:
    """Peak RSS (MB) and time of the whole ``tonekit.analyze`` (every table, scores, events) in a fresh subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path)] + ([str(models_dir)] if models_dir else []),
                          env=env, capture_output=True,
                          text=True, cwd=str(ROOT))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"memory subprocess failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **child}


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the test call (default 10)")
    ap.add_argument("--sr", type=int, default=16000, help="rate of the test call for steps 1-2 (default 16000)")
    ap.add_argument("--long-hours", type=float, default=2.0, help="length of the memory-test call (default 2)")
    ap.add_argument("--skip-memory", action="store_true", help="skip the long-call memory test")
    ap.add_argument("--skip-opensmile", action="store_true", help="skip the openSMILE comparison")
    ap.add_argument("--models", metavar="DIR", help="folder of models when the shipped ones are missing")
    ap.add_argument("--stub-models", action="store_true",
                    help="if no models load, time analyze() with constant stand-in models")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic calls (default %(default)s)")
    ap.add_argument("--tmp", default=None, help="folder for the synthetic audio (default: a new /tmp folder)")
    ap.add_argument("--keep-audio", action="store_true", help="keep the synthetic audio files")
    ap.add_argument("--whisper-every", metavar="N,N,...", default=None,
                    help="also time analyze() on the test call with each of these whisper_every settings, "
                         "interleaved in 2 rounds (e.g. 8,4,2,1; the default reads one piece in 8)")
    ap.add_argument("--out", metavar="FILE.json", help="write all numbers here")
    args = ap.parse_args(argv)
    try:
        densities = [int(n) for n in args.whisper_every.split(",")] if args.whisper_every else []
    except ValueError:
        ap.error(f"--whisper-every: {args.whisper_every!r} is not a list of whole numbers such as 8,4,2,1")
    if any(n < 1 for n in densities):
        ap.error("--whisper-every: every setting must be 1 or more")

    warnings.filterwarnings("ignore")
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="tonekit-bench-", dir="/tmp"))
    tmp.mkdir(parents=True, exist_ok=True)
    res = {"args": vars(args), "python": platform.python_version(), "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "threads_env": os.environ.get("OMP_NUM_THREADS")}
    lines = []

    def say(msg):
        print(msg, flush=True)
        lines.append(msg)

    created = []
    try:
        mins = args.minutes
        label = f"{mins:g}-min stereo call"

        def make(name, dur, sr):
            p = tmp / name
            t0 = time.perf_counter()
            info = write_call(p, dur, sr, seed=args.seed)
            created.append(p)
            print(f"  (synthesised {p} : {dur:.0f} s @ {sr} Hz, {info['n_turns']} turns, "
                  f"{time.perf_counter() - t0:.1f} s)", flush=True)
            return p, info

        warm16, _ = make(f"warmup_{args.sr}.wav", 10.0, args.sr)
        main_path, info = make(f"call_{mins:g}min_{args.sr}.wav", mins * 60, args.sr)
        res["call"] = info
        dur = info["duration_s"]

        # 1. features vs openSMILE -----------------------------------------------------
        tonekit_features(warm16)
        gc.collect()
        t_tk = tonekit_features(main_path)
        res["features"] = {"tonekit_s": t_tk}
        if args.skip_opensmile:
            say(f"features, {label} @{args.sr // 1000} kHz: tonekit {t_tk:.1f} s (openSMILE skipped)")
        else:
            try:
                import opensmile

                smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                        feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
                opensmile_lld(warm16, smile)
                gc.collect()
                t_os = opensmile_lld(main_path, smile)
                ratio = t_os / t_tk
                res["features"].update({"opensmile_s": t_os, "ratio": ratio, "target": FEATURE_TARGET,
                                        "pass": ratio >= FEATURE_TARGET})
                word = "faster" if ratio >= 1 else "slower"
                shown = ratio if ratio >= 1 else 1 / ratio
                say(f"features, {label} @{args.sr // 1000} kHz: tonekit {t_tk:.1f} s, openSMILE eGeMAPSv02 LLD "
                    f"{t_os:.1f} s -> tonekit {shown:.1f}x {word} (ratio {ratio:.2f}, target >= {FEATURE_TARGET}x)"
                    f" {'PASS' if ratio >= FEATURE_TARGET else 'FAIL'}")
            except Exception as exc:
                res["features"]["opensmile_error"] = repr(exc)
                say(f"features, {label} @{args.sr // 1000} kHz: tonekit {t_tk:.1f} s; openSMILE failed: {exc}")

        # 2. end-to-end ---------------------------------------------------------------
        models, mlabel, source = resolve_models(args.models, args.stub_models)
        res["analyze"] = {"models": mlabel if models is not None else None}
        if models is None:
            say(f"analyze: SKIPPED - no models could be loaded: {mlabel}")
        else:
            rates = [args.sr] + ([8000] if args.sr != 8000 else [])
            for sr in rates:
                if sr == args.sr:
                    p, w = main_path, warm16
                else:
                    w, _ = make(f"warmup_{sr}.wav", 10.0, sr)
                    p, _ = make(f"call_{mins:g}min_{sr}.wav", mins * 60, sr)
                try:
                    analyze_time(w, models)
                    gc.collect()
                    t = analyze_time(p, models)
                except Exception as exc:
                    res["analyze"][str(sr)] = {"error": repr(exc)}
                    say(f"analyze, {label} @{sr // 1000} kHz: FAILED ({type(exc).__name__}: {exc})")
                    continue
                rtf = dur / t
                res["analyze"][str(sr)] = {"seconds": t, "rtf": rtf, "target": RTF_TARGET, "pass": rtf >= RTF_TARGET}
                say(f"analyze, {label} @{sr // 1000} kHz ({mlabel}): {t:.1f} s -> {rtf:.0f}x real time "
                    f"(target >= {RTF_TARGET:.0f}x) {'PASS' if rtf >= RTF_TARGET else 'FAIL'}")

        # 2b. Whisper's density: one piece in N read (analyze(whisper_every=N)), side by side ----------------
        if models is not None and densities:
            times = whisper_every_times(main_path, models, densities)
            res["whisper_every"] = {str(n): {"seconds": ts, "rtf": [dur / t for t in ts]} for n, ts in times.items()}
            say(f"analyze, {label} @{args.sr // 1000} kHz, by whisper_every (x real time per round, interleaved): "
                + "; ".join(f"{n}: {' / '.join(f'{dur / t:.0f}x' for t in ts)}" for n, ts in times.items())
                + f" (target >= {RTF_TARGET:.0f}x with the default)")

        # 3. one utterance ------------------------------------------------------------
        if models is not None:
            import soundfile as sf
            import tonekit

            sr = 16000
            t = np.arange(4 * sr) / sr
            rng = np.random.default_rng(args.seed)
            f0 = 140 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
            voice = sum(np.sin(2 * np.pi * np.cumsum(k * f0) / sr) / k for k in range(1, 20))
            y = 0.05 * voice * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)) + 1e-3 * rng.normal(size=len(t))
            wav = tmp / "utterance_4s.wav"
            sf.write(wav, y, sr, subtype="PCM_16")
            created.append(wav)
            # what a user calls: tonekit.score(file) with the default models, loaded by the first call
            stub = source is models   # stand-ins have no card: no embeddings=True
            ways = [("score", "array, models given", lambda: tonekit.score(y, sr, models=models)),
                    ("score_file", "file, default models", lambda: tonekit.score(str(wav), models=source)),
                    ("score_embeddings", "file, default models, embeddings=True",
                     lambda: tonekit.score(str(wav), models=source, embeddings=True))][:2 if stub else 3]
            rounds, runs = 7, 10
            for _, _, fn in ways:
                fn()   # start-up: models loaded, encoders' weights read
            per_round = {key: [] for key, _, _ in ways}
            for _ in range(rounds):   # the median of rounds: one busy moment of a shared machine moves it little;
                for key, _, fn in ways:   # the ways interleaved, so each round compares them on the same load
                    t0 = time.perf_counter()
                    for _ in range(runs):
                        fn()
                    per_round[key].append((time.perf_counter() - t0) / runs)
            res["score_4s"] = {}
            for key, what, _ in ways:
                pr = per_round[key]
                per = float(np.median(pr))
                res["score_4s"][key] = {"what": what, "seconds": per, "min_s": min(pr), "max_s": max(pr),
                                        "rounds": rounds, "runs_per_round": runs, "target": 0.1, "pass": per < 0.1}
                target = "(target well under 100 ms) " + ("PASS" if per < 0.1 else "FAIL") if key != \
                    "score_embeddings" else "(opt-in; no target)"
                say(f"score, one 4-s utterance after start-up, {what}: {1000 * per:.0f} ms (median of {rounds} "
                    f"rounds of {runs}; {1000 * min(pr):.0f}-{1000 * max(pr):.0f} ms) {target}")

        # 4. memory -------------------------------------------------------------------
        if args.skip_memory:
            say("memory: skipped (--skip-memory)")
        else:
            hours = args.long_hours
            lp, linfo = make(f"call_{hours:g}h_8000.wav", hours * 3600, 8000)
            try:
                m = memory_run(lp, args.models)
                peak = m["vmhwm_mb"]
                if peak is None:
                    raise RuntimeError("the child's /proc/self/status has no VmHWM (not Linux?)")
                m.update({"peak_mb": peak, "target_mb": MEMORY_TARGET_MB, "pass": peak < MEMORY_TARGET_MB,
                          "duration_s": linfo["duration_s"], "rtf": linfo["duration_s"] / m["seconds"]})
                res["memory"] = m
                say(f"memory, {hours:g}-h stereo call @8 kHz (tonekit.analyze, all tables): peak RSS {peak:.0f} MB "
                    f"(VmHWM), {m['seconds']:.1f} s ({m['rtf']:.0f}x real time) (target < {MEMORY_TARGET_MB:.0f} MB) "
                    f"{'PASS' if peak < MEMORY_TARGET_MB else 'FAIL'}")
            except Exception as exc:
                res["memory"] = {"error": repr(exc)}
                say(f"memory: FAILED ({exc})")
    finally:
        if not args.keep_audio:
            for p in created:
                p.unlink(missing_ok=True)
            if args.tmp is None:
                try:
                    tmp.rmdir()
                except OSError:
                    pass

    res["lines"] = lines
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
