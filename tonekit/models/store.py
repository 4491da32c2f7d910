"""Saving and loading tone models: skops files with a JSON model card.

Loading never executes code from the file: skops refuses any type that is not
on :data:`TRUSTED_TYPES`, and the file's SHA-256 must match its card. The card
is checked too: it carries ``card_sha256``, a hash of its own contents
(:func:`card_digest`), because its facts (the population reference, the
recalibration) set the scores, so a card edited by hand is refused rather than
silently scoring otherwise. Cards are written by :func:`write_card`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ModelError

TARGET_NAMES = ("anger", "calm", "warmth")
#: Column prefixes of the learned embeddings a model may have a member on: the GE2E voice embedding
#: (:mod:`tonekit.features.embedding`) and Whisper's first encoder layers (:mod:`tonekit.features.whisper`).
EMBEDDING_PREFIXES = ("emb_", "wsp_")

#: The only types a model file may contain.
TRUSTED_TYPES = [
    "tonekit.models.estimators.ToneClassifier",
    "tonekit.models.estimators.FusedToneClassifier",
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.svm._classes.SVC",
    "sklearn.ensemble._voting.VotingClassifier",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.utils._bunch.Bunch",
    "sklearn.model_selection._split.PredefinedSplit",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "builtins.slice",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
]

#: The estimators a model file may hold at its top.
MODEL_CLASSES = ("ToneClassifier", "FusedToneClassifier")


#: The most a model file's schema may unpack to (the shipped models' are 0.9 MB): a file whose schema is larger
#: is refused before it is read, so a crafted file cannot fill the memory on the way to being refused.
MAX_SCHEMA_BYTES = 64 * 2**20


def types_in(path) -> set:
    """Every type, function and class a skops file names (``module.name``), read from its schema without
    loading anything. skops's own ``get_untrusted_types`` leaves out what skops trusts by default (any
    scikit-learn estimator, numpy functions); tonekit trusts only :data:`TRUSTED_TYPES`."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        size = z.getinfo("schema.json").file_size
        if size > MAX_SCHEMA_BYTES:   # read only what a model's schema can be (a tone model's is under 1 MB)
            raise ModelError(f"{path}: its schema unpacks to {size / 2**20:.0f} MB, more than any tone model's "
                             f"({MAX_SCHEMA_BYTES / 2**20:.0f} MB); refusing to load")
        schema = json.loads(z.read("schema.json"))
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return found


@dataclass
class ToneModel:
    """A fitted estimator for one target, with its model card.

    Attributes
    ----------
    target : str
        ``anger``, ``calm`` or ``warmth``.
    estimator : FusedToneClassifier or ToneClassifier
        Fitted; ``feature_names_in_`` lists the features it expects.
    card : dict
        Data, splits, metrics, versions, features, file hash.
    """

    target: str
    estimator: object
    card: dict

    @property
    def features(self) -> list:
        return list(self.estimator.feature_names_in_)

    @property
    def embedding_prefixes(self) -> tuple:
        """The learned embeddings the model has a member on, by column prefix (``emb_``, ``wsp_``)."""
        return tuple(p for p in EMBEDDING_PREFIXES if any(str(f).startswith(p) for f in self.features))

    @property
    def wants_embedding(self) -> bool:
        """Whether the model has a learned-embedding member (``emb_*`` or ``wsp_*`` features)."""
        return bool(self.embedding_prefixes)

    def predict_proba(self, features):
        """Probability of the target for each row of a feature table.

        A table without a learned embedding's columns (``emb_*``, ``wsp_*``) is
        scored without that member, as rows whose embedding is NaN.
        """
        import numpy as np
        import pandas as pd

        features = pd.DataFrame(features)
        cols = self.features
        pos = features.columns.get_indexer(cols) if features.columns.is_unique else None
        if pos is None:
            raise ModelError(f"the feature table for the {self.target} model has duplicate column names")
        missing = [f for f, i in zip(cols, pos) if i < 0 and not str(f).startswith(EMBEDDING_PREFIXES)]
        if missing:
            from ..features.windows import MODEL_FEATURES

            some = f"{', '.join(map(str, missing[:3]))}{', ...' if len(missing) > 3 else ''}"
            if not any(isinstance(c, str) for c in features.columns):
                raise ModelError(f"the feature table for the {self.target} model has no column names: give a "
                                 "pandas DataFrame whose columns are named as the model's features (ToneModel."
                                 "features; tonekit.features.windows.model_features makes them)")
            if set(missing) <= set(MODEL_FEATURES):
                raise ModelError(f"the feature table for the {self.target} model lacks {len(missing)} of its "
                                 f"columns ({some}): tonekit.features.windows.model_features makes them all")
            raise ModelError(f"the {self.target} model expects features this tonekit does not compute "
                             f"({some}); retrain it with scripts/train_models.py")
        have = pos >= 0
        # the model's columns in its fitted order (an embedding not given: NaN there, and the fused model
        # scores those rows without that member)
        if have.all() and len(pos) == features.shape[1] and (pos == np.arange(len(pos))).all():
            arr = features.to_numpy(dtype=np.float64)
        else:
            arr = np.full((len(features), len(cols)), np.nan)
            arr[:, have] = features.iloc[:, pos[have]].to_numpy(dtype=np.float64)
        ordered = getattr(self.estimator, "_predict_proba_ordered", None)
        if ordered is not None:
            p = ordered(arr)
        else:
            p = self.estimator.predict_proba(pd.DataFrame(arr, columns=cols, index=features.index))
        p = p[:, list(self.estimator.classes_).index(1)]
        rec = self.card.get("recalibration")
        return p if rec is None else recalibrated(p, rec["slope"], rec["intercept"])


def recalibrated(p, slope: float, intercept: float):
    """Probabilities through a line in log-odds, ``expit(slope * logit(p) + intercept)`` (a model card's
    ``recalibration``, written by :func:`tonekit.models.train.recalibrate_model`)."""
    import numpy as np
    from scipy.special import expit, logit

    return expit(slope * logit(np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)) + intercept)


def _check_recalibration(card: dict, card_path) -> None:
    """Refuse a card whose ``recalibration`` is not a positive finite slope and a finite intercept."""
    import math

    rec = card.get("recalibration")
    if rec is None:
        return
    ok = isinstance(rec, dict) and all(isinstance(rec.get(k), (int, float)) and not isinstance(rec.get(k), bool)
                                       and math.isfinite(rec[k]) for k in ("slope", "intercept"))
    if not ok or rec["slope"] <= 0:
        raise ModelError(f"{card_path}: its recalibration needs a positive slope and an intercept (finite numbers), "
                         f"not {rec!r}; write it with tonekit recalibrate")


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def card_digest(card: dict) -> str:
    """SHA-256 of a card's contents without its ``card_sha256``: the JSON with sorted keys and no spaces, so
    that reindenting or reordering a card keeps its digest and any changed value changes it."""
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value):
    """numpy scalars and arrays as the Python numbers and lists JSON takes (``json.dumps(default=)``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a card holds only JSON values, not {type(value).__name__}")


def write_card(card_path, card: dict) -> dict:
    """Write ``card`` as JSON to ``card_path`` with ``card_sha256``, the digest of its contents
    (:func:`card_digest`) that :func:`checked_card` checks. Returns the card as written (numpy values made
    plain). Every card tonekit writes goes through here."""
    card_path = Path(card_path)
    plain = json.loads(json.dumps({k: v for k, v in card.items() if k != "card_sha256"}, default=_plain))
    plain["card_sha256"] = card_digest(plain)
    card_path.write_text(json.dumps(plain, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return plain


def _canonical_skops(path: Path) -> None:
    """Rewrite a skops file so that the same model always gives the same bytes.

    skops names each array file and object after ``id()`` of the Python object
    and stamps the zip entries with the current time, so the same model saved
    twice has two hashes. Here ids are renumbered in order of appearance and the
    entries are written in a fixed order with a fixed date; the content is
    untouched (the loader only matches ids to ids).
    """
    import zipfile

    with zipfile.ZipFile(path) as z:
        schema = json.loads(z.read("schema.json"))
        blobs = {info.filename: (z.read(info.filename), info.compress_type) for info in z.infolist()
                 if info.filename != "schema.json"}
        schema_compression = z.getinfo("schema.json").compress_type
    ids: dict = {}

    def new_id(old):
        return ids.setdefault(old, len(ids) + 1)

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "__id__" and isinstance(v, int):
                    out[k] = new_id(v)
                elif k == "file" and isinstance(v, str) and v.endswith(".npy") and v[:-4].isdigit():
                    out[k] = f"{new_id(int(v[:-4]))}.npy"
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    schema = walk(schema)
    renamed = {}
    for name, blob in blobs.items():
        stem = name[:-4] if name.endswith(".npy") else ""
        if not (stem.isdigit() and int(stem) in ids):
            raise ModelError(f"{path}: unexpected entry {name!r} in the skops file")
        renamed[f"{ids[int(stem)]}.npy"] = blob
    tmp = path.with_suffix(".skops.tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        def put(name, data, compression):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = 0o600 << 16
            z.writestr(info, data)

        put("schema.json", json.dumps(schema, indent=2).encode("utf-8"), schema_compression)
        for name in sorted(renamed, key=lambda n: int(n[:-4])):
            put(name, *renamed[name])
    tmp.replace(path)


def save_model(estimator, path, card: dict) -> dict:
    """Write ``estimator`` to ``path`` (.skops) and its card next to it (.json).

    The card gets ``sha256`` of the written file, which depends only on the
    model (the same model always gives the same bytes), and ``card_sha256`` of
    its own contents (:func:`write_card`). Returns the card.
    """
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(estimator, path)
    _canonical_skops(path)
    card = dict(card)
    card["file"] = path.name
    card["sha256"] = sha256(path)
    return write_card(path.with_suffix(".json"), card)


def checked_card(path, what: str = "model") -> dict:
    """The JSON card next to ``path`` (same name, ``.json``), after checking that the card is as tonekit wrote
    it (its ``card_sha256``) and that the file's SHA-256 is the card's; :class:`ModelError` for a missing file
    or card, an unreadable or edited card, or a hash mismatch."""
    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file():
        raise ModelError(f"{path}: {what} file not found")
    if not card_path.is_file():
        raise ModelError(f"{path}: {what} card {card_path.name} not found")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{card_path}: unreadable {what} card ({exc.strerror or type(exc).__name__})") from None
    except ValueError as exc:
        raise ModelError(f"{card_path}: unreadable {what} card ({exc})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path}: not a {what} card (a JSON object of the model's facts, as tonekit train "
                         f"writes), but a JSON {type(card).__name__}")
    if "card_sha256" not in card:
        raise ModelError(f"{card_path}: the {what} card carries no card_sha256 (the hash of its own contents that "
                         "tonekit writes), so whether it was edited cannot be told; cards are written by tonekit "
                         "(tonekit train, tonekit recalibrate, tonekit.models.store.write_card), not by hand")
    if card["card_sha256"] != card_digest(card):
        raise ModelError(f"{card_path}: the {what} card was changed after tonekit wrote it (its contents no longer "
                         "match its card_sha256); its facts set how the model scores, so it is refused: write it "
                         "again with tonekit train or tonekit recalibrate")
    try:
        digest = sha256(path)
    except OSError as exc:
        raise ModelError(f"{path}: the {what} file cannot be read ({exc.strerror or type(exc).__name__})") from None
    if card.get("sha256") != digest:
        raise ModelError(f"{path}: file hash {digest[:12]}... does not match its {what} card; refusing to load")
    return card


def model_path(model) -> Path:
    """A model file, or the shipped model of a target named ``"anger"``, ``"calm"`` or ``"warmth"`` (when no
    file has that name)."""
    path = Path(model)
    if str(model) in TARGET_NAMES and not path.exists():
        return shipped_dir() / f"{model}.skops"
    return path


def load_model(path) -> ToneModel:
    """Load a model checked against its card's hash and the trusted types.

    ``path`` is a ``.skops`` file, or a target's name for the shipped model (``load_model("anger")``).
    Raises :class:`ModelError` for a missing file or card, a hash mismatch,
    or an untrusted type in the file.
    """
    import skops.io as sio

    path = model_path(path)
    if path.is_dir():
        raise ModelError(f"{path}: a folder, not a model file: give one of its models (such as "
                         f"{path / 'anger.skops'})")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found (the shipped models are named anger, calm and warmth)")
    if path.suffix.lower() == ".json" and path.with_suffix(".skops").is_file():
        raise ModelError(f"{path}: a model card, not a model: give the model beside it, {path.with_suffix('.skops')}")
    card_path = path.with_suffix(".json")
    if path.suffix.lower() != ".skops" and not card_path.is_file():
        raise ModelError(f"{path}: not a tone model: give a .skops file with its .json card, as tonekit train "
                         "writes, or anger, calm or warmth for a shipped model")
    card = checked_card(path)
    target = card.get("target")
    if target not in TARGET_NAMES:
        raise ModelError(f"{card_path}: unknown target {target!r}")
    _check_recalibration(card, card_path)
    try:
        named = types_in(path)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{path}: not a skops model file ({type(exc).__name__})") from None
    bad = sorted(named - set(TRUSTED_TYPES))
    if bad:
        raise ModelError(f"{path}: untrusted types in model file: {', '.join(bad)}; refusing to load")
    try:
        est = sio.load(path, trusted=sorted(named))   # every type the file names, each one checked above
    except Exception as exc:
        raise ModelError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None
    if type(est).__name__ not in MODEL_CLASSES or type(est).__module__ != "tonekit.models.estimators":
        raise ModelError(f"{path}: holds a {type(est).__name__}, not a tonekit tone model "
                         f"({' or '.join(MODEL_CLASSES)}, as tonekit train writes); refusing to use it")
    if not hasattr(est, "feature_names_in_") or not hasattr(est, "classes_") or 1 not in list(est.classes_):
        raise ModelError(f"{path}: the model is not fitted on named features with classes 0 and 1; "
                         "retrain it with tonekit train")
    return ToneModel(target, est, card)


def shipped_dir() -> Path:
    """Folder of the models that ship with tonekit (``trained/`` in a source tree)."""
    try:
        return Path(str(resources.files("tonekit.trained")))
    except ModuleNotFoundError:  # running from a source checkout without installing
        return Path(__file__).resolve().parents[2] / "trained"


def load_models(folder=None, targets=TARGET_NAMES) -> dict:
    """The models of a folder (default: the shipped ones) as ``{target: ToneModel}``."""
    folder_given = folder is not None
    folder = Path(folder) if folder_given else shipped_dir()
    if folder_given and not folder.is_dir():
        raise ModelError(f"{folder}: no such folder of models")
    models = {}
    for t in targets:
        if folder_given and not (folder / f"{t}.skops").is_file():
            raise ModelError(f"{folder / f'{t}.skops'}: model file not found; a models folder holds all three "
                             "targets' models, anger.skops, calm.skops and warmth.skops, each with its .json card "
                             "(tonekit train or tonekit recalibrate writes them)")
        m = models[t] = load_model(folder / f"{t}.skops")
        if m.target != t:   # a file renamed into the wrong place would score one tone as another
            raise ModelError(f"{folder / f'{t}.skops'}: holds the {m.target} model (its card's target), not the {t} "
                             f"one; a models folder holds anger.skops, calm.skops and warmth.skops, each its own")
    return models
