"""tonekit: tone of both sides of a phone call.

>>> import tonekit
>>> analysis = tonekit.analyze("call.flac")         # doctest: +SKIP
>>> analysis.events                                  # doctest: +SKIP
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("tonekit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

from .analysis import Analysis  # noqa: E402
from .audio import load_audio, load_call  # noqa: E402
from .errors import AudioError, ModelError, ParameterError, TonekitError  # noqa: E402
from .pipeline import analyze, score, score_speaker  # noqa: E402


def features_list():
    """Names of the features the tone models see, in order."""
    from .features.windows import MODEL_FEATURES

    return list(MODEL_FEATURES)


def demo_path():
    """Path of the bundled demo call (stereo, agent on channel 0)."""
    from importlib import resources
    from pathlib import Path

    try:
        return str(resources.files("tonekit.data") / "demo_call.flac")
    except ModuleNotFoundError:  # running from a source checkout without installing
        return str(Path(__file__).resolve().parents[1] / "data" / "demo_call.flac")


__all__ = ["analyze", "score", "score_speaker", "load_call", "load_audio", "Analysis", "demo_path", "features_list", "TonekitError",
           "AudioError", "ParameterError", "ModelError", "__version__"]
