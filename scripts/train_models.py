#!/usr/bin/env python3
"""Train the shipped tone models (trained/anger.skops, calm.skops, warmth.skops) from ../shared/corpora.

Deterministic: features are computed the same way every run (telephone
augmentation is seeded by file name) and the estimators have no randomness.
Each model gets a card (.json) with the data and licences, the training
split, the metrics measured by scripts/evaluate.py (results/evaluation.json,
run that first) and, by what the model knows of the speaker (a lone file,
sets of k recordings, all of them), by scripts/evaluate_reference.py
(results/reference.json), the versions, the feature list and the file's SHA-256.

Beside them, trained/utterance_features.json: the features of every 150th corpus recording (31 of them) as
this run computed them, prosody in every training condition and the embeddings' first dimensions
(:func:`fingerprint`). The models are
only reproducible while the code computes the same features; tests/test_models.py recomputes these and fails
when a change to the shared speech detection or the features moves them (a change of that kind moved 2 of
the 31 in an earlier release, unnoticed until the models no longer rebuilt byte for byte).

Usage::

    python scripts/evaluate.py --baseline --out results/evaluation.json
    python scripts/evaluate_reference.py --out results/reference.json
    python scripts/train_models.py
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tonekit.models.corpora import CORPORA_HELP  # noqa: E402
from tonekit.models.store import write_card  # noqa: E402
from tonekit.models.train import train_and_save  # noqa: E402

LICENCES = {
    "emodb": "Berlin Emo-DB (Burkhardt et al. 2005, Interspeech): research data, cite the paper",
    "ravdess": "RAVDESS (Livingstone & Russo 2018, PLoS ONE): CC BY-NC-SA 4.0, non-commercial",
    "nemo": "nEMO (Christop 2024, LREC-COLING): CC BY-NC-SA 4.0, non-commercial",
    "turev": "TurEV-DB (Canpolat et al. 2020, LREC SLTU-CCURL): CC BY-NC-ND 4.0, non-commercial",
}
USE_NOTE = ("Trained on acted emotional speech licensed for research and non-commercial use only "
            "(RAVDESS and nEMO CC BY-NC-SA 4.0, TurEV-DB CC BY-NC-ND 4.0, Emo-DB research use). "
            "The model therefore carries the same non-commercial restriction.")


def _versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("tonekit", "numpy", "scipy", "scikit-learn", "skops",
                                              "praat-parselmouth", "soundfile", "soxr", "pandas")}


#: Every how many-th recording of the corpus table :func:`fingerprint` keeps, and how many embedding dimensions.
FINGERPRINT_EVERY = 150
FINGERPRINT_DIMS = 8


def fingerprint(corpora) -> dict:
    """The features of every :data:`FINGERPRINT_EVERY`-th recording of the corpus table as training reads them,
    keyed by the path below the corpus root: the prosody (:func:`tonekit.models.features.utterance_raw`) in
    every training condition (as recorded, through the phone line, and both with background noise), the first
    :data:`FINGERPRINT_DIMS` dimensions of the voice embedding (as recorded and through the noisy line) and of
    Whisper's (as recorded); with the feature versions. Columns ``condition:feature``."""
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from tonekit.models.corpora import load_corpora
    from tonekit.models.features import (EMBEDDING_VERSION, FEATURE_VERSION, TRAINING_CONDITIONS,
                                         WHISPER_VERSION, utterance_embedding, utterance_raw)

    def first(values: dict) -> dict:
        return {k: values[k] for k in list(values)[:FINGERPRINT_DIMS]}

    table = load_corpora(corpora)
    rows = {}
    with threadpool_limits(1):   # one BLAS thread, as the cache's workers: the embeddings' last bits follow it
        for path, corpus in zip(table.path.iloc[::FINGERPRINT_EVERY], table.corpus.iloc[::FINGERPRINT_EVERY]):
            parts = {c: utterance_raw(path, c) for c in TRAINING_CONDITIONS}
            for c in ("wideband", "noise-telephone"):
                parts[c] = {**parts[c], **first(utterance_embedding(path, c))}
            parts["wideband"].update(first(utterance_embedding(path, "wideband", encoder="wsp_")))
            rows[f"{corpus}/{Path(path).name}"] = {f"{c}:{k}": float(v) for c, d in parts.items()
                                                   for k, v in d.items()}
    return {"feature_version": FEATURE_VERSION, "embedding_version": EMBEDDING_VERSION,
            "whisper_version": WHISPER_VERSION, "every": FINGERPRINT_EVERY, "recordings": len(rows),
            "features": pd.DataFrame(rows).T.round(6).to_dict(orient="index")}


def fingerprint_json(fp: dict) -> str:
    """:func:`fingerprint`'s result as JSON text, one recording a line."""
    head = {k: v for k, v in fp.items() if k != "features"}
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fp["features"].items())
    return json.dumps(head, indent=1)[:-2] + ',\n "features": {\n' + rows + "\n }\n}\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"),
                    help=CORPORA_HELP)
    ap.add_argument("--out-dir", default=str(ROOT / "trained"),
                    help="where the models and their cards go (default %(default)s)")
    ap.add_argument("--evaluation", default=str(ROOT / "results" / "evaluation.json"),
                    help="scripts/evaluate.py's JSON, copied into the cards when it exists (default %(default)s)")
    ap.add_argument("--reference", default=str(ROOT / "results" / "reference.json"),
                    help="scripts/evaluate_reference.py's JSON, copied into the cards when it exists "
                         "(default %(default)s)")
    ap.add_argument("--unseen-codec", default=str(ROOT / "results" / "unseen_codec.json"),
                    help="scripts/evaluate.py --unseen-codec's JSON, copied into the cards when it exists "
                         "(default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="worker processes for feature extraction (default %(default)s)")
    args = ap.parse_args(argv)
    ev = json.loads(Path(args.evaluation).read_text()) if Path(args.evaluation).exists() else None
    ref = json.loads(Path(args.reference).read_text()) if Path(args.reference).exists() else None
    codec = json.loads(Path(args.unseen_codec).read_text()) if Path(args.unseen_codec).exists() else None
    for target in ("anger", "calm", "warmth"):
        out = Path(args.out_dir) / f"{target}.skops"
        card = train_and_save([args.corpora], target, out, n_jobs=args.jobs, progress=True)
        card["licences"] = {c: LICENCES.get(c, "see SOURCE.txt") for c in card["data"]}
        card["use"] = USE_NOTE
        card["labels"] = {"anger": "positive: anger; negative: every other emotion",
                          "calm": "positive: neutral, calm, boredom, sadness; negative: anger, fear, happiness, "
                                  "surprise; disgust left out",
                          "warmth": "positive: happiness; negative: neutral, calm, anger, sadness, disgust, fear, "
                                    "boredom; surprise left out"}[target]
        card["training"] = (
            "all utterances of all corpora, each once as recorded (16 kHz) and once through a simulated "
            "telephone line (300-3400 Hz, 8 kHz, speech levelled to -28..-16 dBFS as by a line's gain control, "
            "line noise at -60..-45 dBFS, mu-law), and both again with white or pink background noise 5-20 dB "
            "below the speech (drawn per utterance, seeded by its file name; tonekit.augment.noise_copy); every "
            "feature relative to the speaker's median over their "
            "utterances in that condition; each corpus weighted equally, classes weighted equally; the model "
            f"averages five members' {'log-odds' if card['params'].get('average') == 'log-odds' else 'probabilities'}"
            " (late fusion): one on the 55 prosodic features, one on the 256-d voice "
            "embedding (trained/voice_encoder.npz on 1.6-s pieces of speech, each set to -30 dBFS, minus the "
            "speaker's mean embedding), one on the 512-d output of Whisper-base's second encoder layer "
            "(trained/whisper_encoder.npz on 4-s pieces of speech, each set to -25 dBFS, averaged over time "
            "through the encoder's final layer norm, minus the speaker's mean; wsp_*) and one each on the "
            "outputs of its first and third layers, from the same pass (wsp_l1_*, wsp_l3_*, likewise); the "
            "prosodic member averages the probabilities of an RBF SVM and a "
            "logistic regression, each embedding member is a logistic regression; the SVM's Platt scaling and the "
            "recalibration of the members' mean (a sigmoid in its log-odds, one for each set of members a row "
            "may have) are fitted on out-of-fold scores of held-out speakers (speaker-grouped 3-fold); a row "
            "without embeddings gets the prosodic member with its own recalibration; split: none (the shipped "
            "model sees all speakers; see 'evaluation' for the "
            "speaker-independent and cross-corpus splits)")
        card["versions"] = _versions()
        if ev:
            card["evaluation"] = {
                "protocol": "speaker-grouped 5-fold CV within each corpus ('within'); train on the other corpora, "
                            "test on the held-out one ('cross'); test audio wideband or telephone-degraded, and "
                            "across corpora also their noisy copies ('noise-wideband', 'noise-telephone': white or "
                            "pink noise 5-20 dB below the speech); "
                            "metrics averaged over corpora; UAR = balanced accuracy at threshold 0.5",
                "summary": [r for r in ev["summary"] if r["target"] == target],
                "per_corpus": [r for r in ev["rows"] if r["target"] == target],
            }
        if ref:
            card["evaluation_by_reference"] = {
                "protocol": "cross-corpus as in 'evaluation' (train on the other corpora, test on the held-out one, "
                            "wideband and telephone), by what the model knows of the test speaker: 'lone' is "
                            "tonekit.score of one file (prosody against the training speakers' average), "
                            "'lone, embeddings' tonekit.score(embeddings=True), 'set of k' tonekit.score_speaker "
                            "on random sets of k recordings of one speaker (mean of 3 draws; the set's reference "
                            "steadied by the training speakers' with the weights of 'reference_shrinkage'), "
                            "'set alone of k' the same sets against themselves alone, 'all' every "
                            "recording of the speaker (the 'cross' rows of 'evaluation'); ece_balanced at even odds",
                "summary": [r for r in ref["summary"] if r["target"] == target],
            }
        if codec:
            card["evaluation_unseen_codec"] = {
                "protocol": "cross-corpus as in 'evaluation' (train on the other corpora, wideband and mu-law "
                            "telephone copies, clean and noisy; test on the held-out one), the test audio also "
                            "through the same "
                            "telephone line with a codec training never hears: 'gsm' (GSM 06.10, 13 kbit/s) and "
                            "'opus' (Opus at about 10 kbit/s); scripts/evaluate.py --unseen-codec",
                "summary": [r for r in codec["summary"] if r["target"] == target and r["protocol"] == "cross"],
            }
        # rewrite the card with the extra fields (sha256 unchanged: it covers the .skops file; card_sha256 anew)
        card = write_card(out.with_suffix(".json"), card)
        print(f"{target}: {out} sha256 {card['sha256'][:12]}...", file=sys.stderr)
    out = Path(args.out_dir) / "utterance_features.json"
    out.write_text(fingerprint_json(fingerprint([args.corpora])))
    print(f"features of {FINGERPRINT_EVERY}th recordings: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
