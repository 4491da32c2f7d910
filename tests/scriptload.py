"""Import a script of ``scripts/`` as a module, for the tests that check a script's own functions."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(filename: str, name: str):
    """``scripts/<filename>`` as module ``name`` (registered in sys.modules while it executes, as
    dataclasses need)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
