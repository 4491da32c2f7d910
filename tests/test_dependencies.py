"""Every third-party module the package imports is installed by ``pip install .`` (a fresh machine)."""
from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Modules imported only by a feature of an extra, with that extra.
EXTRAS_ONLY = {"dask": "dask", "distributed": "dask"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports() -> set:
    found = set()
    for path in (ROOT / "tonekit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "tonekit"}


def _closure(names) -> set:
    """``names`` and everything they require unconditionally (per the installed metadata)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in reqs if "extra ==" not in r]
    return seen


def _distributions(module: str, index: dict) -> set:
    """Names of the distributions that install ``module`` (a lone extension module such as parselmouth's is
    found by its file)."""
    names = index.get(module) or []
    if not names:
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin).name if spec and spec.origin else None
        names = [d.metadata["Name"] for d in metadata.distributions()
                 if origin and any(Path(str(f)).name == origin for f in (d.files or []))]
    return {n.lower().replace("_", "-") for n in names}


def test_every_imported_module_comes_with_the_core_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = _closure(_name(r) for r in project["dependencies"])
    dists = metadata.packages_distributions()
    missing = []
    for module in sorted(_imports()):
        if module in EXTRAS_ONLY:
            assert EXTRAS_ONLY[module] in project["optional-dependencies"], module
            continue
        names = _distributions(module, dists)
        assert names, f"{module} is imported by tonekit but not installed here"
        if not names & installed:
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported by tonekit but not installed by `pip install .`: {missing}"
