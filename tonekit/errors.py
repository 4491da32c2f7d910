"""One exception tree for tonekit.

``TonekitError`` is the root; every message names what is wrong and, where a
file is involved, the file, so the command line can print it as one line.
"""
from __future__ import annotations


def one_line(text) -> str:
    r"""``text`` as one line: line breaks and other control characters shown as escapes (a file name may hold
    them, and an error is one line).

    >>> print(one_line("calls/monday\ncall.wav: empty file"))
    calls/monday\ncall.wav: empty file
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def shown(text) -> str:
    r"""``text`` fit to be written as UTF-8: what a file name held undecoded (a byte that is not UTF-8, which Python
    keeps as a lone surrogate) as the replacement character.

    >>> shown("appel_\udce9t\udce9.wav")
    'appel_\ufffdt\ufffd.wav'
    """
    text = str(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:   # a surrogate no file name gives
        return text.encode("utf-8", "replace").decode("utf-8")


def on_disk(text: str) -> bytes:
    r"""``text`` as UTF-8, with what a file name held undecoded (kept by Python as surrogates) given back as the
    bytes it was on disk: a table of paths that names each file as the file system does.

    >>> on_disk("appel_\udce9t\udce9.wav")
    b'appel_\xe9t\xe9.wav'
    """
    return text.encode("utf-8", "surrogateescape")


def not_a_file(path) -> str | None:
    """What ``path`` is when it is there but no regular file to read whole: ``"a folder"``, or ``"not a regular
    file: a pipe or a device?"`` (reading a pipe nobody writes to waits for ever, /dev/zero never ends); None
    for a regular file or nothing at all (opening it says so).

    >>> not_a_file("/")
    'a folder'
    """
    import os

    if not os.path.exists(path) or os.path.isfile(path):
        return None
    return "a folder" if os.path.isdir(path) else "not a regular file: a pipe or a device?"


def writable_problem(path) -> str | None:
    """Why a file cannot be written at ``path`` (its folder exists), or None: found by trying, in the folder
    a hidden file made and removed at once, the file itself opened to append (nothing written), for
    permissions, read-only mounts and root's capabilities alike; a pipe or a device by its permissions only."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    try:
        if path.exists() and not path.is_file():   # a pipe, a device, /dev/stdout: opening it is a use of it
            if not os.access(path, os.W_OK):
                raise PermissionError(13, "Permission denied")
        elif path.exists():
            with open(path, "ab"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tonekit-", delete=True):
                pass
    except OSError as exc:
        what = f"the file {path.name}" if path.exists() else f"the folder {path.parent}"
        return f"{what} cannot be written ({exc.strerror or type(exc).__name__})"
    return None


class TonekitError(Exception):
    """Base class of all tonekit errors."""


class ParameterError(TonekitError, ValueError):
    """A parameter is out of range or inconsistent with another."""


class AudioError(TonekitError, ValueError):
    """An audio file cannot be used: unreadable, empty, silent, clipped, ...

    Parameters
    ----------
    path : str or None
        The file concerned (None for an in-memory signal).
    problem : str
        What is wrong, in a few words.
    """

    def __init__(self, path, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{one_line(self.path)}: {problem}" if self.path else problem)


class ModelError(TonekitError):
    """A model file is missing, altered, untrusted or incompatible."""


def whole_number(name: str, value, minimum: int = 0) -> int:
    """``value`` as an int (``2.0``, as the command line's ``--set NAME=2`` gives, is 2); ParameterError
    naming ``name`` if it is not a whole number of at least ``minimum``."""
    try:
        ok = float(value).is_integer() and value >= minimum
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return int(value)


def run_script(main, argv=None) -> int:
    """Run a script's ``main(argv)``: a :class:`TonekitError` (a corpus folder that is not there, a bad
    manifest, a refused model) ends it with one line on stderr, ``Error: ...``, and exit status 1, as
    the command line does, instead of a traceback."""
    import sys

    try:
        return main(argv)
    except TonekitError as exc:
        print(f"Error: {one_line(exc)}", file=sys.stderr)
        return 1
