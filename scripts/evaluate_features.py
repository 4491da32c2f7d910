#!/usr/bin/env python3
"""Accuracy of tonekit's acoustic features against known answers.

This script is the single implementation of the feature-accuracy figures quoted
in the README; ``tests/test_features.py`` imports its functions and asserts the
same targets. Measurements:

- pitch: gross pitch error (GPE) and voicing decision error (VDE) on the FDA
  corpus (Bagshaw et al.), wideband and through a simulated telephone line;
- formants: median F1-F3 of synthetic vowels (known formants), wideband and
  telephone;
- speaking rate: syllable nuclei of synthetic syllable trains at 2-7 syllables/s;
  rank correlation with the annotated syllable rate of EmoDB (``.silb`` files);
  syllable counts of the 7-syllable RAVDESS sentences;
- smile cue: separation of windows of a synthetic talker whose formants are
  raised by 5 % half-way through;
- speech activity: frame accuracy on a synthetic stereo call with crosstalk,
  with and without the crosstalk gate.

Corpus measurements read ``--corpora`` (default ``../shared/corpora``) and are
skipped, with a message, when a corpus is absent.

Usage::

    python scripts/evaluate_features.py --corpora ../shared/corpora --out results/features.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _p in (str(REPO), str(REPO / "tests")):  # tonekit without installing; the synthesisers in tests/synth.py
    if _p not in sys.path:
        sys.path.insert(0, _p)

from synth import VOWELS, stereo_call, syllable_train, vowel  # noqa: E402
from tonekit.activity import speech_from_intensity  # noqa: E402
from tonekit.audio import load_audio  # noqa: E402
from tonekit.augment import telephone as telephone_line  # noqa: E402
from tonekit.features.energy import intensity_db  # noqa: E402
from tonekit.features.frames import signal_frames  # noqa: E402
from tonekit.features.windows import speaker_windows  # noqa: E402

SR = 16000
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"

#: Synthetic vowels: name -> (f0 Hz, true F1-F3 Hz, F4-F5 Hz).
VOWEL_CASES = {
    "a_male": (110.0, (700.0, 1220.0, 2600.0), (3500.0, 4500.0)),
    "i_male": (110.0, (300.0, 2300.0, 3000.0), (3500.0, 4500.0)),
    "u_male": (110.0, (320.0, 870.0, 2250.0), (3500.0, 4500.0)),
    "ae_female": (210.0, (850.0, 1400.0, 2950.0), (4000.0, 5000.0)),
}

#: Syllable rates (syllables per second) of the synthetic syllable trains.
SYLLABLE_RATES = (2, 3, 4, 5, 6, 7)

#: FDA reference f0 hop (s) and tonekit's frame hop (s).
FDA_REF_HOP_S = 0.015
FRAME_HOP_S = 0.01


def corpus_dir(corpora_dir, name: str) -> Path:
    """Folder of one corpus.

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora (``../shared/corpora``).
    name : str
        Corpus folder name (``"fda"``, ``"emodb"``, ``"ravdess"``).

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        When the corpus folder is absent.
    """
    path = Path(corpora_dir) / name
    if not path.is_dir():
        raise FileNotFoundError(f"corpus {name} not found at {path} (../shared/corpora is absent)")
    return path


def pad(y: np.ndarray, sr: int, rng: np.random.Generator, pad_s: float = 0.25,
        noise_dbfs: float = -80.0) -> np.ndarray:
    """Silence (with faint noise) around a signal, so speech detection has a floor to stand on.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate (Hz).
    rng : np.random.Generator
        Source of the noise.
    pad_s : float
        Seconds of silence before and after.
    noise_dbfs : float
        RMS level of the added white noise (dBFS).

    Returns
    -------
    np.ndarray
    """
    z = np.zeros(int(pad_s * sr))
    y = np.concatenate([z, y, z])
    return y + 10 ** (noise_dbfs / 20) * rng.standard_normal(len(y))


def measured_rate(fr) -> float:
    """Syllable nuclei per second of detected speech of a frame table."""
    return len(fr.nuclei) / (fr.speech.sum() * fr.hop_s)


# --------------------------------------------------------------------------- pitch

def fda_files(corpora_dir) -> list[Path]:
    """Sorted FDA recordings (``*.flac``, each with a ``.f0ref`` beside it).

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora.

    Returns
    -------
    list of Path

    Raises
    ------
    FileNotFoundError
        When the FDA corpus is absent.
    """
    return sorted(corpus_dir(corpora_dir, "fda").glob("*.flac"))


def fda_errors(corpora_dir, telephone: bool) -> tuple[float, float]:
    """Gross pitch error and voicing decision error of tonekit's f0 on the FDA corpus.

    The 15 ms reference frames are matched to the nearest 10 ms tonekit frame.
    A voiced-in-both frame is a gross error when the estimate is more than
    20 % off the reference.

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora (``fda`` inside).
    telephone : bool
        Pass the audio through a simulated telephone line (8 kHz, -50 dBFS noise) first.

    Returns
    -------
    gpe : float
        Gross errors / frames voiced in both reference and estimate.
    vde : float
        Frames whose voicing decision differs / all frames.

    Raises
    ------
    FileNotFoundError
        When the FDA corpus is absent.
    """
    n_both = n_gross = n_all = n_vde = 0
    for f in fda_files(corpora_dir):
        ref = np.loadtxt(f.with_suffix(".f0ref"))
        y, sr = load_audio(f)
        if telephone:
            y, sr = telephone_line(y, sr, rng=np.random.default_rng(0), noise_dbfs=-50)
        f0 = signal_frames(y, sr, formants=False)["f0_hz"]
        idx = np.rint(np.arange(len(ref)) * FDA_REF_HOP_S / FRAME_HOP_S).astype(int)
        keep = idx < len(f0)
        ref, est = ref[keep], f0[idx[keep]]
        ref_v, est_v = ref > 0, np.isfinite(est)
        both = ref_v & est_v
        n_both += both.sum()
        n_gross += np.sum(np.abs(est[both] / ref[both] - 1) > 0.2)
        n_all += len(ref)
        n_vde += np.sum(ref_v != est_v)
    return float(n_gross / n_both), float(n_vde / n_all)


# --------------------------------------------------------------------------- formants

def vowel_formants() -> dict[tuple[str, str], np.ndarray]:
    """Median F1-F3 of each synthetic vowel, wideband and through a telephone line.

    Returns
    -------
    dict
        ``(vowel, band) -> array([F1, F2, F3])`` in Hz, ``band`` being
        ``"wide"`` (16 kHz) or ``"telephone"`` (8 kHz).
    """
    rng = np.random.default_rng(0)
    out = {}
    for name, (f0, fmts, higher) in VOWEL_CASES.items():
        y = pad(vowel(f0, fmts, 1.0, SR, higher_formants_hz=higher), SR, rng)
        fr = signal_frames(y, SR)
        out[name, "wide"] = np.array([np.nanmedian(fr[c]) for c in ("f1_hz", "f2_hz", "f3_hz")])
        y8, sr8 = telephone_line(y, SR, rng=np.random.default_rng(0))
        fr8 = signal_frames(y8, sr8)
        out[name, "telephone"] = np.array([np.nanmedian(fr8[c]) for c in ("f1_hz", "f2_hz", "f3_hz")])
    return out


def formant_errors(formants: dict | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Signed relative errors of the median F1-F3 of the synthetic vowels.

    Parameters
    ----------
    formants : dict, optional
        Output of :func:`vowel_formants` (computed when omitted).

    Returns
    -------
    dict
        ``(vowel, band) -> array([e1, e2, e3])`` with ``e = measured / true - 1``.
    """
    formants = vowel_formants() if formants is None else formants
    return {(name, band): med / np.asarray(VOWEL_CASES[name][1]) - 1 for (name, band), med in formants.items()}


# --------------------------------------------------------------------------- speaking rate

def syllable_rate_errors() -> dict[int, tuple[int, int, float]]:
    """Syllable nuclei and speaking rate measured on synthetic syllable trains (6 s, f0 140 Hz).

    Returns
    -------
    dict
        ``rate -> (n_syllables, n_nuclei, measured_rate)``, rates in syllables/s
        over detected speech.
    """
    out = {}
    for rate in SYLLABLE_RATES:
        y, n_syl, _ = syllable_train(rate, 6.0, SR, f0_hz=140.0)
        fr = signal_frames(y, SR, formants=False)
        out[rate] = (n_syl, len(fr.nuclei), measured_rate(fr))
    return out


def read_silb(path) -> tuple[int, float] | None:
    """Syllable count and duration of an EmoDB ``.silb`` file.

    Parameters
    ----------
    path : Path
        ``.silb`` file: one ``time label`` row per syllable; ``(`` is a pause, ``.`` the end mark.

    Returns
    -------
    tuple of (int, float) or None
        Syllables, and seconds from the first syllable start to the end mark;
        None when the file has no end mark.
    """
    rows = [line.split() for line in Path(path).read_bytes().decode("latin-1").splitlines() if line.strip()]
    if not rows or rows[-1][-1] != ".":
        return None
    labels = [r[1] for r in rows]
    times = [float(r[0]) for r in rows]
    count = sum(1 for lab in labels if lab not in ("(", "."))
    return count, times[-1] - times[0]


def emodb_rate_spearman(corpora_dir) -> tuple[float, int]:
    """Spearman correlation of measured and annotated speaking rate on EmoDB.

    Every 3rd ``.silb`` file (about 180 utterances).

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora (``emodb/silb``, ``emodb/wav`` inside).

    Returns
    -------
    rho : float
    n : int
        Utterances compared.

    Raises
    ------
    FileNotFoundError
        When EmoDB is absent.
    """
    from scipy.stats import spearmanr

    root = corpus_dir(corpora_dir, "emodb")
    true, est = [], []
    for silb in sorted((root / "silb").glob("*.silb"))[::3]:
        got = read_silb(silb)
        if got is None:
            continue
        y, sr = load_audio(root / "wav" / f"{silb.stem}.flac")
        true.append(got[0] / got[1])
        est.append(measured_rate(signal_frames(y, sr, formants=False)))
    return float(spearmanr(true, est)[0]), len(true)


#: Syllables of both RAVDESS sentences ("Kids are talking by the door", "Dogs are sitting by the door").
RAVDESS_SYLLABLES = 7


def ravdess_syllable_counts(corpora_dir) -> np.ndarray:
    """Syllable nuclei counted in RAVDESS utterances (every 7th file: about 155, all actors).

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora (``ravdess/Actor_*/*.flac`` inside).

    Returns
    -------
    np.ndarray of int
        Nuclei per utterance (the truth is 7 for every one).

    Raises
    ------
    FileNotFoundError
        When RAVDESS is absent.
    """
    root = corpus_dir(corpora_dir, "ravdess")
    counts = []
    for f in sorted(root.glob("Actor_*/*.flac"))[::7]:
        y, sr = load_audio(f)
        counts.append(len(signal_frames(y, sr, formants=False).nuclei))
    return np.array(counts, dtype=int)


# --------------------------------------------------------------------------- smile cue

def smile_cue_windows() -> tuple[np.ndarray, np.ndarray]:
    """Smile cue of the 3 s windows of a synthetic talker whose formants rise 5 % half-way.

    Three vowels (/a/ /i/ /u/) in turn at 4 syllables/s, 15 s plain then 15 s
    with formants x 1.05: every window holds 4 of each vowel, so its median
    F2/F3 is one vowel's value. (With a 4-vowel cycle the window median falls
    between two vowels and flips: AUC 0.68.)

    Returns
    -------
    cue : np.ndarray
        Smile cue of each window with one.
    label : np.ndarray of bool
        Whether the window's centre lies in the brighter second half.
    """
    rng = np.random.default_rng(3)
    first, _, _ = syllable_train(4, 15.0, SR, f0_hz=130.0, lead_s=0.25, rng=rng, vowels=VOWELS[:3])
    second, _, _ = syllable_train(4, 15.0, SR, f0_hz=130.0, lead_s=0.25, rng=rng, vowels=VOWELS[:3],
                                  formant_scale=1.05)
    mid_s = len(first) / SR
    fr = signal_frames(np.concatenate([first, second]), SR)
    win, _ = speaker_windows(fr)
    win = win.dropna(subset=["smile_cue"])
    centre = (win.start_s + win.end_s) / 2
    return win.smile_cue.to_numpy(), (centre > mid_s).to_numpy()


def smile_cue_separation(cue: np.ndarray | None = None, label: np.ndarray | None = None) -> tuple[float, float]:
    """How well the smile cue tells the brighter (+5 % formants) half from the plain half.

    Parameters
    ----------
    cue, label : np.ndarray, optional
        Output of :func:`smile_cue_windows` (computed when omitted).

    Returns
    -------
    auc : float
        ROC AUC of the cue for "window in the brighter half".
    median_shift : float
        Median cue of the brighter half minus that of the plain half (points).
    """
    from sklearn.metrics import roc_auc_score

    if cue is None or label is None:
        cue, label = smile_cue_windows()
    auc = roc_auc_score(label, cue)
    shift = np.median(cue[label]) - np.median(cue[~label])
    return float(auc), float(shift)


# --------------------------------------------------------------------------- speech activity

def stereo_call_levels(sr: int = 8000, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Intensity of both channels of the synthetic stereo call, and its true speech.

    Parameters
    ----------
    sr : int
        Sample rate of the call (Hz).
    seed : int
        Seed of :func:`synth.stereo_call`.

    Returns
    -------
    levels : list of np.ndarray
        Intensity (dB) of channel 0 and 1 on the 10 ms grid.
    truth : np.ndarray of bool, shape (2, n_frames)
        True speech of each channel's own talker.
    """
    y, truth = stereo_call(sr, seed=seed)
    levels = [intensity_db(ch, sr) for ch in y]
    n = min(len(levels[0]), truth.shape[1])
    return [lv[:n] for lv in levels], truth[:, :n]


def activity_accuracy(gate: bool, call=None) -> tuple[float, float]:
    """Frame accuracy of speech activity on each channel of the synthetic stereo call.

    Parameters
    ----------
    gate : bool
        Use the crosstalk gate (compare each channel with the other one).
    call : tuple, optional
        Output of :func:`stereo_call_levels` (computed when omitted).

    Returns
    -------
    acc_ch0, acc_ch1 : float
        Fraction of 10 ms frames whose speech/non-speech decision matches the truth.
    """
    levels, truth = stereo_call_levels() if call is None else call
    acc = []
    for ch in (0, 1):
        speech = (speech_from_intensity(levels[ch], other_db=levels[1 - ch]) if gate
                  else speech_from_intensity(levels[ch]))
        acc.append(float(np.mean(speech == truth[ch])))
    return acc[0], acc[1]


# --------------------------------------------------------------------------- report

def _row(rows, name, value, target, ok, fmt="{:.1%}"):
    rows.append({"measure": name, "value": value, "shown": fmt.format(value) if value is not None else "-",
                 "target": target, "ok": ok})


def evaluate(corpora_dir) -> tuple[list[dict], list[str]]:
    """Every feature-accuracy figure next to its target.

    Parameters
    ----------
    corpora_dir : str or Path
        Folder holding the corpora; corpus measurements are skipped when it (or a corpus) is absent.

    Returns
    -------
    rows : list of dict
        ``measure``, ``value``, ``shown`` (formatted), ``target`` and ``ok`` (None when there is no target).
    skipped : list of str
        Why each skipped measurement was skipped.
    """
    rows, skipped = [], []

    def corpus(what, fn):
        try:
            return fn()
        except FileNotFoundError as e:
            skipped.append(f"{what}: skipped, {e}")
            return None

    for band, max_gpe, max_vde in (("wideband", 0.02, 0.07), ("telephone", 0.03, 0.10)):
        got = corpus(f"FDA pitch ({band})", lambda tel=(band == "telephone"): fda_errors(corpora_dir, tel))
        if got is not None:
            gpe, vde = got
            _row(rows, f"FDA pitch GPE, {band}", gpe, f"<= {max_gpe:.0%}", gpe <= max_gpe)
            _row(rows, f"FDA pitch VDE, {band}", vde, f"<= {max_vde:.0%}", vde <= max_vde)

    for (name, band), err in formant_errors().items():
        for k in range(3):
            if band == "telephone" and k == 0:
                limit = None  # F1 near the 300 Hz band edge: no target
            else:
                limit = 0.15 if (band == "telephone" and k == 2) else 0.08
            _row(rows, f"formant {name} {band} F{k + 1} rel. error", float(err[k]),
                 f"|e| <= {limit:.0%}" if limit is not None else "-",
                 bool(abs(err[k]) <= limit) if limit is not None else None, fmt="{:+.1%}")

    rates = syllable_rate_errors()
    errs = [abs(measured / rate - 1) for rate, (_, _, measured) in rates.items()]
    for rate, (n_syl, n_nuc, measured) in rates.items():
        _row(rows, f"synthetic rate {rate}/s: measured rate", measured, "-", None, fmt="{:.2f}/s")
        _row(rows, f"synthetic rate {rate}/s: nuclei - syllables ({n_syl})", n_nuc - n_syl,
             f"|d| <= {max(1, 0.1 * n_syl):g}", abs(n_nuc - n_syl) <= max(1, 0.1 * n_syl), fmt="{:+d}")
    _row(rows, "synthetic rate mean rel. error", float(np.mean(errs)), "<= 15%", np.mean(errs) <= 0.15)
    _row(rows, "synthetic rate max rel. error", float(np.max(errs)), "<= 25%", max(errs) <= 0.25)

    got = corpus("EmoDB speaking rate", lambda: emodb_rate_spearman(corpora_dir))
    if got is not None:
        rho, n = got
        _row(rows, f"EmoDB speaking-rate Spearman (n={n})", rho, ">= 0.6 (n >= 150)", rho >= 0.6 and n >= 150,
             fmt="{:.3f}")

    counts = corpus("RAVDESS syllable counts", lambda: ravdess_syllable_counts(corpora_dir))
    if counts is not None:
        med, mad = float(np.median(counts)), float(np.mean(np.abs(counts - RAVDESS_SYLLABLES)))
        _row(rows, f"RAVDESS syllables median (n={len(counts)}, truth 7)", med, "= 7", med == RAVDESS_SYLLABLES,
             fmt="{:g}")
        _row(rows, "RAVDESS syllables mean |count - 7|", mad, "<= 1.0", mad <= 1.0, fmt="{:.2f}")

    cue, label = smile_cue_windows()
    auc, shift = smile_cue_separation(cue, label)
    _row(rows, f"smile cue window AUC ({(~label).sum()} vs {label.sum()} windows)", auc, ">= 0.9", auc >= 0.9,
         fmt="{:.3f}")
    _row(rows, "smile cue median shift (+5% formants)", shift, "3-7 points", 3.0 <= shift <= 7.0, fmt="{:+.2f}")

    call = stereo_call_levels()
    gated, plain = activity_accuracy(True, call), activity_accuracy(False, call)
    for ch in (0, 1):
        _row(rows, f"speech activity ch{ch}, crosstalk gate", gated[ch], ">= 95%", gated[ch] >= 0.95)
        _row(rows, f"speech activity ch{ch}, no gate", plain[ch], "<= 80% and >= 15 pts below gated",
             plain[ch] <= 0.8 and gated[ch] - plain[ch] >= 0.15)
    return rows, skipped


def _json_safe(x):
    if isinstance(x, (np.bool_, bool)) or x is None:
        return None if x is None else bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    return x


def main(argv=None) -> int:
    """Print every feature-accuracy figure next to its target; optionally write them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, default=None,
                    help=f"folder holding fda/, emodb/, ravdess/ (default {DEFAULT_CORPORA}; when that is "
                         "absent, as on a fresh machine, the corpus measurements are skipped)")
    ap.add_argument("--out", type=Path, help="write the figures to this JSON file")
    args = ap.parse_args(argv)

    if args.corpora is not None and not args.corpora.is_dir():
        ap.error(f"--corpora {args.corpora}: no such folder")
    args.corpora = args.corpora or DEFAULT_CORPORA
    if not args.corpora.is_dir():
        print(f"corpora folder {args.corpora} is absent: corpus measurements are skipped", file=sys.stderr)
    rows, skipped = evaluate(args.corpora)

    w = max(len(r["measure"]) for r in rows)
    wt = max(len(r["target"]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>9}  {'target':<{wt}}  ok")
    print("-" * (w + wt + 17))
    for r in rows:
        ok = "-" if r["ok"] is None else ("yes" if r["ok"] else "MISS")
        print(f"{r['measure']:<{w}}  {r['shown']:>9}  {r['target']:<{wt}}  {ok}")
    for s in skipped:
        print(s)

    if args.out:
        doc = {"corpora": str(args.corpora),
               "rows": [{k: _json_safe(v) for k, v in r.items()} for r in rows],
               "skipped": skipped}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
