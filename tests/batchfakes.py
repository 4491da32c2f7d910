"""A stand-in for ``tonekit.batch._one`` that worker processes can import: where a batch's reports go
and what happens when a worker dies is tested without analysing real calls (tested elsewhere)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path


def fake_one(audio, out, models, options=None):
    """``b"crash"``: the worker process dies (as if killed for memory); ``b"bad"``: an unreadable file;
    ``b"slow"`` (``b"slow0.5"``): a call that takes 2 s (0.5 s) to analyse; anything else: a report naming the
    call."""
    if not Path(audio).is_file():
        return audio, f"{audio}: no such file"
    data = Path(audio).read_bytes()
    if data == b"crash":
        os._exit(137)
    if data == b"bad":
        return audio, f"{audio}: not a readable audio file"
    if data.startswith(b"slow"):   # a long call: a batch can be stopped while it is analysed
        time.sleep(float(data[4:] or 2))
    Path(out).write_text(json.dumps({"tonekit_version": "fake", "source": audio, "options": options, "summary": {}}))
    return audio, None
