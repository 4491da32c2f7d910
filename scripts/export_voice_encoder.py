#!/usr/bin/env python3
"""Export the GE2E voice encoder's weights to ``trained/voice_encoder.npz`` (numpy only, no pickle).

tonekit's learned-embedding features (:mod:`tonekit.features.embedding`) run the
pretrained speaker encoder of Resemblyzer 0.1.4 (a 3-layer LSTM on 40-band mel
spectra, trained with the GE2E loss; Apache-2.0) in numpy. This script reads its
``pretrained.pt`` once, with PyTorch, and writes the LSTM and linear weights as
float32 arrays in an ``.npz`` that ``numpy.load(allow_pickle=False)`` reads,
so loading runs no code from the file. The zip entries get a fixed date and
order, so the same weights always give the same bytes. Next to it go the card
(``voice_encoder.json``: source, licence, hashes of the source and of the
file) and the licence text (``voice_encoder.LICENSE``).

Needs the ``explore`` extra (``pip install '.[explore]'``: resemblyzer and PyTorch),
only here: tonekit itself never imports them.

Usage::

    python scripts/export_voice_encoder.py            # writes trained/voice_encoder.{npz,json,LICENSE}
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tonekit.models.store import write_card  # noqa: E402


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_npz(path: Path, arrays: dict) -> None:
    """Arrays to an ``.npz`` with fixed entry dates and sorted names (the same arrays give the same bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "trained" / "voice_encoder.npz"),
                    help="the npz to write; its card is written beside it (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        import resemblyzer
        import torch
    except ImportError:
        sys.exit("export_voice_encoder.py needs the explore extra: pip install '.[explore]' (resemblyzer, torch)")
    src = Path(resemblyzer.__file__).parent / "pretrained.pt"
    state = torch.load(src, map_location="cpu", weights_only=True)["model_state"]
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()
              if k.startswith(("lstm.", "linear."))}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(out, arrays)
    dist = metadata.distribution("Resemblyzer")
    licence = next((f for f in dist.files or [] if f.name.upper().startswith("LICENSE")), None)
    if licence is not None:
        out.with_suffix(".LICENSE").write_text(
            "The weights in voice_encoder.npz are those of Resemblyzer's pretrained.pt\n"
            "(https://github.com/resemble-ai/Resemblyzer), converted to numpy arrays.\n"
            "They are distributed under the licence below.\n\n" + Path(licence.locate()).read_text())
    card = {
        "name": "GE2E speaker encoder (Resemblyzer 0.1.4), numpy weights",
        "file": out.name,
        "sha256": _sha256(out),
        "source": {"package": f"Resemblyzer {dist.version}", "file": "resemblyzer/pretrained.pt",
                   "sha256": _sha256(src), "url": "https://github.com/resemble-ai/Resemblyzer"},
        "licence": "Apache-2.0 (voice_encoder.LICENSE)",
        "architecture": "3-layer LSTM (40 -> 256 hidden), linear 256 -> 256, ReLU, L2 norm; "
                        "input: 40-band power mel spectra, 25 ms windows every 10 ms at 16 kHz, 160 frames (1.6 s)",
        "training": "GE2E loss (Wan et al. 2018), by Resemblyzer's authors (its README does not name the data; the "
                    "model is interchangeable with those of the Real-Time-Voice-Cloning repository); not retrained "
                    "by tonekit",
        "arrays": {k: list(v.shape) for k, v in sorted(arrays.items())},
        "made_by": "scripts/export_voice_encoder.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    write_card(out.with_suffix(".json"), card)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {card['sha256'][:12]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
