"""tonekit: tone of both sides of a phone call."""
from importlib.metadata import PackageNotFoundError, version as _version
try:
    __version__ = _version("tonekit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"
