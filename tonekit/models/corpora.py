"""Labelled emotional-speech corpora: parse labels from the original file names.

Each loader takes a folder laid out like the corpus's original release (see the
folder's ``SOURCE.txt``) and returns one row per utterance with the columns
``path, corpus, speaker, emotion, intensity``. ``emotion`` uses one vocabulary
for every corpus: neutral, calm, happiness, sadness, anger, fear, disgust,
surprise, boredom.

Any other corpus comes in through a manifest (:func:`load_manifest`): a CSV
(or tab-separated ``.tsv``) file with one row per recording and the columns
``path, speaker, emotion`` (optional: ``intensity``, ``corpus``); wherever
a corpus folder is taken, a manifest is taken too.

Example
-------
>>> from tonekit.models.corpora import load_corpora, targets   # doctest: +SKIP
>>> table = load_corpora(["../shared/corpora/emodb"])          # doctest: +SKIP
>>> table.groupby("emotion").size()                             # doctest: +SKIP
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError

EMOTIONS = ("neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise", "boredom")

#: The ``--corpora`` option's help in the scripts that read corpora through :func:`load_corpora`.
CORPORA_HELP = ("corpus root (holding emodb, ravdess, nemo, turev), one corpus folder or a CSV manifest; "
                "default %(default)s")

#: The label mapping of the tone targets (README: Models): target -> (positive, negative); others are left out.
TARGETS = {
    "anger": (("anger",), ("neutral", "calm", "happiness", "sadness", "fear", "disgust", "surprise", "boredom")),
    "calm": (("neutral", "calm", "boredom", "sadness"), ("anger", "fear", "happiness", "surprise")),
    "warmth": (("happiness",), ("neutral", "calm", "anger", "sadness", "disgust", "fear", "boredom")),
}

_EMODB = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness", "N": "neutral"}
_RAVDESS = {"01": "neutral", "02": "calm", "03": "happiness", "04": "sadness", "05": "anger",
            "06": "fear", "07": "disgust", "08": "surprise"}
_NEMO = {"anger": "anger", "happiness": "happiness", "neutral": "neutral", "sadness": "sadness",
         "fear": "fear", "surprised": "surprise", "surprise": "surprise", "disgust": "disgust"}
_TUREV = {"kz": "anger", "sk": "calm", "mt": "happiness", "hl": "sadness"}

_AUDIO = (".flac", ".wav", ".ogg", ".mp3")


def _audio_files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in _AUDIO)


def parse_emodb(path) -> dict | None:
    """Labels of an EmoDB file name such as ``03a01Wa.flac``; None if it does not match."""
    m = re.fullmatch(r"(\d\d)([ab]\d\d)([WLEAFTN])([a-z])", Path(path).stem)
    if not m:
        return None
    return {"speaker": f"emodb_{m[1]}", "emotion": _EMODB[m[3]], "intensity": "normal"}


def parse_ravdess(path) -> dict | None:
    """Labels of a RAVDESS name ``MM-VV-EE-II-SS-RR-AA`` (audio-only speech)."""
    m = re.fullmatch(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)", Path(path).stem)
    if not m or m[3] not in _RAVDESS:
        return None
    return {"speaker": f"ravdess_{m[7]}", "emotion": _RAVDESS[m[3]],
            "intensity": "strong" if m[4] == "02" else "normal"}


def parse_nemo(path) -> dict | None:
    """Labels of an nEMO name ``{speaker}_{emotion}_{sentence}``."""
    m = re.fullmatch(r"([A-Z]{2}\d)_([a-z]+)_(\d+)", Path(path).stem)
    if not m or m[2] not in _NEMO:
        return None
    return {"speaker": f"nemo_{m[1]}", "emotion": _NEMO[m[2]], "intensity": "normal"}


def parse_turev(path) -> dict | None:
    """Labels of a TurEV-DB name ``{speaker}_{code}_{word}``."""
    m = re.fullmatch(r"(\d+)_(kz|sk|mt|hl)_(.+)", Path(path).stem)
    if not m:
        return None
    return {"speaker": f"turev_{m[1]}", "emotion": _TUREV[m[2]], "intensity": "normal"}


_PARSERS = {"emodb": parse_emodb, "ravdess": parse_ravdess, "nemo": parse_nemo, "turev": parse_turev}

def named_like(paths, corpora) -> dict:
    """How many of ``paths`` bear the file names of each of the known ``corpora`` (their naming convention,
    as :func:`detect_corpus` reads it); corpora no path matches, or that tonekit does not know, are left out.
    A manifest listing a corpus's recordings under another corpus name is caught this way.

    >>> named_like(["a/03a01Wa.wav", "b/take1.wav", "c/03-01-05-01-02-01-12.flac"], ["emodb", "turev", "mine"])
    {'emodb': 1}
    """
    counts = {c: sum(_PARSERS[c](p) is not None for p in paths) for c in corpora if c in _PARSERS}
    return {c: n for c, n in counts.items() if n}


# Known defects of the original releases (see SOURCE.txt): exact duplicates to drop.
_DROP = {"03-01-03-01-02-02-07"}


def detect_corpus(folder) -> str:
    """Which naming convention a folder uses, from its folder name or its files."""
    folder = Path(folder)
    name = folder.name.lower()
    named = [key for key in _PARSERS if key in name]
    files = _audio_files(folder)[:50]
    for key in named + [k for k in _PARSERS if k not in named]:   # the files decide; the name breaks ties
        if files and sum(_PARSERS[key](f) is not None for f in files) >= 0.8 * len(files):
            return key
    if named:
        return named[0]
    raise ParameterError(f"{folder}: no known corpus naming convention (emodb, ravdess, nemo, turev)")


def load_corpus(folder, corpus: str | None = None) -> pd.DataFrame:
    """One corpus folder as a table ``path, corpus, speaker, emotion, intensity``.

    Parameters
    ----------
    folder : path
        A folder laid out like the original corpus (audio anywhere below it).
    corpus : {"emodb", "ravdess", "nemo", "turev"}, optional
        The naming convention; detected from the folder when omitted.

    Every audio file below the folder must follow the convention: a file that does not is refused with the
    folder, rather than left out, so that a stray recording or a second corpus in the folder cannot shrink the
    data unseen (as a manifest's rows are checked). The known duplicates of the original releases are left
    out (RAVDESS ``03-01-03-01-02-02-07``, per its SOURCE.txt: 1079 rows of its 1080 files).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"{folder}: no such corpus folder" if not folder.exists() else
                             f"{folder}: not a corpus folder, nor a manifest (a .csv or .tsv file; see "
                             "tonekit.models.corpora.load_manifest)")
    corpus = corpus or detect_corpus(folder)
    if corpus not in _PARSERS:
        raise ParameterError(f"unknown corpus {corpus!r}; choose one of {sorted(_PARSERS)}")
    parse = _PARSERS[corpus]
    rows, strays = [], []
    for f in _audio_files(folder):
        if f.stem in _DROP:
            continue
        lab = parse(f)
        if lab is None:
            strays.append(f)
        else:
            rows.append({"path": str(f), "corpus": corpus, **lab})
    if not rows:
        raise ParameterError(f"{folder}: no {corpus} audio files found")
    if strays:
        raise ParameterError(f"{folder}: {len(strays)} of its {len(strays) + len(rows)} audio files do not follow the "
                             f"{corpus} naming (such as {strays[0].relative_to(folder)}): move them out, give each "
                             "corpus's own folder (or the folder holding them), or list the files in a manifest")
    table = pd.DataFrame(rows, columns=["path", "corpus", "speaker", "emotion", "intensity"], dtype=object)
    # the labels as strings; the paths as objects, not Arrow's UTF-8: a name that is not UTF-8 stays as it is
    return table.astype({c: "str" for c in ("corpus", "speaker", "emotion", "intensity")})


#: Emotion names a manifest may use, and the vocabulary's word for each (the vocabulary's own words too).
EMOTION_SYNONYMS = {
    **{e: e for e in EMOTIONS},
    "angry": "anger", "ang": "anger", "mad": "anger",
    "neu": "neutral",
    "relaxed": "calm",
    "happy": "happiness", "joy": "happiness", "joyful": "happiness", "hap": "happiness",
    "sad": "sadness",
    "fearful": "fear", "afraid": "fear", "scared": "fear",
    "disgusted": "disgust",
    "surprised": "surprise",
    "bored": "boredom",
}
_MANIFEST_COLUMNS = ("path", "speaker", "emotion")


def load_manifest(path, corpus: str | None = None) -> pd.DataFrame:
    """A corpus listed in a manifest file, as the table of :func:`load_corpus`.

    The manifest is a CSV file (tab-separated if its name ends in ``.tsv``)
    with a header and one row per recording: ``path`` (absolute, or relative
    to the manifest's folder), ``speaker`` and ``emotion``; optionally
    ``intensity`` (default ``normal``) and ``corpus`` (default: the ``corpus``
    argument, else the manifest's file name without suffix). Emotions are matched
    case-blind to the vocabulary (:data:`EMOTIONS`) or a common synonym
    (:data:`EMOTION_SYNONYMS`: ``angry``, ``happy``, ``sad``...). Speakers
    are prefixed with the corpus (``mycorpus_spk1``), so that two corpora
    never share a speaker by name.

    A missing column, an unknown emotion, an empty speaker or a recording that
    is not there raises :class:`~tonekit.errors.ParameterError`, naming the
    manifest, the line and the value: a typo must not silently shrink or
    mislabel the training data. Rows whose emotion is none of the targets'
    (see :data:`TARGETS`) are kept and left out by :func:`targets`.

    Example
    -------
    A file ``mine.csv``::

        path,speaker,emotion
        spk1/take01.wav,spk1,angry
        spk1/take02.wav,spk1,neutral

    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "spk1").mkdir(); _ = [(d / "spk1" / f"take0{i}.wav").write_bytes(b"") for i in (1, 2)]
    >>> _ = (d / "mine.csv").write_text("path,speaker,emotion\\nspk1/take01.wav,spk1,angry\\n"
    ...                                 "spk1/take02.wav,spk1,neutral\\n")
    >>> load_manifest(d / "mine.csv")[["corpus", "speaker", "emotion"]].values.tolist()
    [['mine', 'mine_spk1', 'anger'], ['mine', 'mine_spk1', 'neutral']]
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path}: a folder, not a manifest (load_corpus reads a corpus folder)")
    if not path.is_file():
        raise ParameterError(f"{path}: manifest not found")
    m, line = _read_manifest(path, "\t" if path.suffix.lower() == ".tsv" else ",")
    m.columns = [str(c).strip().lower() for c in m.columns]
    twice = sorted({c for c in m.columns if list(m.columns).count(c) > 1 and c})
    if twice:   # which of the two would be the recording, or its label?
        raise ParameterError(f"{path}: the header names {', '.join(twice)} twice; give each column once")
    missing = [c for c in _MANIFEST_COLUMNS if c not in m.columns]
    if missing:
        raise ParameterError(f"{path}: manifest lacks column(s) {', '.join(missing)} "
                             f"(needs {', '.join(_MANIFEST_COLUMNS)}; has {', '.join(m.columns) or 'none'})")
    if m.empty:
        raise ParameterError(f"{path}: manifest lists no recordings")
    m = m.apply(lambda col: col.str.strip())
    emotion = m["emotion"].str.lower().map(EMOTION_SYNONYMS)
    bad = emotion.isna().to_numpy()
    if bad.any():
        shown = ", ".join(f"{m['emotion'].iloc[i]!r} (line {line[i]})" for i in np.flatnonzero(bad)[:3])
        raise ParameterError(f"{path}: unknown emotion {shown}{' ...' if bad.sum() > 3 else ''}; "
                             f"use one of {', '.join(EMOTIONS)} or a common synonym such as angry, happy, sad")
    for col in ("speaker", "path"):
        empty = (m[col] == "").to_numpy()
        if empty.any():
            raise ParameterError(f"{path}: empty {col} on line {line[np.flatnonzero(empty)[0]]}")
    files = [Path(os.path.abspath(f if Path(f).is_absolute() else path.parent / f)) for f in m["path"]]
    first: dict = {}
    for i, f in enumerate(files):
        if f in first:
            raise ParameterError(f"{path}: line {line[i]} lists {m['path'].iloc[i]} again (first on line "
                                 f"{line[first[f]]}); a recording is listed once, with one label")
        first[f] = i
    folder = next((i for i, f in enumerate(files) if f.is_dir()), None)
    if folder is not None:
        raise ParameterError(f"{path}: line {line[folder]} lists {m['path'].iloc[folder]}, a folder, not a "
                             "recording; list each audio file (a corpus folder is given to load_corpora itself)")
    absent = [i for i, f in enumerate(files) if not f.is_file()]
    if absent:
        i = absent[0]
        raise ParameterError(f"{path}: {len(absent)} listed recording(s) not found, the first on line {line[i]}: "
                             f"{m['path'].iloc[i]}")
    name = corpus or path.stem
    corpora = m["corpus"].where(m["corpus"] != "", name) if "corpus" in m.columns else pd.Series(name, index=m.index)
    intensity = (m["intensity"].where(m["intensity"] != "", "normal") if "intensity" in m.columns
                 else pd.Series("normal", index=m.index))
    return pd.DataFrame({"path": [str(f) for f in files], "corpus": corpora.to_numpy(),
                         "speaker": (corpora + "_" + m["speaker"]).to_numpy(), "emotion": emotion.to_numpy(),
                         "intensity": intensity.str.lower().to_numpy()},
                        columns=["path", "corpus", "speaker", "emotion", "intensity"])


def _read_manifest(path: Path, sep: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A manifest's rows as strings, blank lines skipped, and the line of the file each row is on; a row
    with more or fewer fields than the header is refused with its line."""
    import csv
    import io

    kind = "TSV" if sep != "," else "CSV"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not a readable {kind} manifest (not UTF-8 text: {exc.reason})") from None
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    rows, lines, header = [], [], None
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if header is None:
                header = row
            elif len(row) != len(header) and any("\n" in c for c in row):   # a quote that runs on and on
                opened = reader.line_num - sum(c.rstrip("\n").count("\n") for c in row)
                raise ParameterError(f"{path}: a double quote opened on line {opened} is never closed")
            elif len(row) != len(header):
                raise ParameterError(f"{path}: line {reader.line_num} has {len(row)} field(s), the header "
                                     f"{len(header)} ({sep.join(header)}); a field with a '{sep}' in it "
                                     "needs double quotes")
            else:
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise ParameterError(f"{path}: not a readable {kind} manifest (line {reader.line_num}: {exc})") from None
    return pd.DataFrame(rows, columns=header or [], dtype=str), np.array(lines, dtype=int)


def _is_manifest(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".tsv") and not path.is_dir()   # (a corpus folder named x.csv)


def load_corpora(folders) -> pd.DataFrame:
    """Several corpus folders or manifests as one table (see :func:`load_corpus`, :func:`load_manifest`).

    A folder that holds several corpora (such as ``../shared/corpora``) is
    expanded into its sub-folders that are known corpora. A ``.csv`` or
    ``.tsv`` file is read as a manifest.
    """
    if isinstance(folders, (str, Path)):
        folders = [folders]
    folders = list(folders)
    if not folders:
        raise ParameterError("no corpus folders or manifests given")
    tables, sources = [], []
    for folder in folders:
        folder = Path(folder)
        if _is_manifest(folder):
            tables.append(load_manifest(folder))
            sources.append(folder)
            continue
        subs = [d for d in sorted(folder.iterdir()) if d.is_dir() and d.name in _PARSERS] if folder.is_dir() else []
        if subs and folder.name not in _PARSERS:
            tables += [load_corpus(d, d.name) for d in subs]
            sources += subs
        else:
            tables.append(load_corpus(folder))
            sources.append(folder)
    # one recording from two sources (a corpus folder and a manifest of some of its files, a folder given twice)
    # would be two speakers' with two labels, and sit in both the training and the test folds of a
    # speaker-grouped split
    first: dict = {}
    for i, (source, table) in enumerate(zip(sources, tables)):
        for f in table["path"]:
            j, other = first.setdefault(os.path.realpath(f), (i, source))
            if j != i and Path(other).resolve() == Path(source).resolve():
                raise ParameterError(f"{source}: given twice; give each corpus folder or manifest once")
            if j != i:
                raise ParameterError(f"{f}: the same recording comes from {other} and from {source}; give "
                                     "each recording once (the same audio in two sources would count as two "
                                     "speakers' and sit in both the training and the test folds)")
    return pd.concat(tables, ignore_index=True)


def targets(table: pd.DataFrame) -> pd.DataFrame:
    """Add the binary columns ``anger``, ``calm``, ``warmth`` (1, 0, or NaN = left out)."""
    out = table.copy()
    for name, (pos, neg) in TARGETS.items():
        y = np.full(len(out), np.nan)
        y[out["emotion"].isin(pos).to_numpy()] = 1.0
        y[out["emotion"].isin(neg).to_numpy()] = 0.0
        out[name] = y
    return out
