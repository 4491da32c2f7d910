"""Many calls: one JSON report per call, resumable; one failure never stops the rest; an overview of
every call reported (``OUTDIR/calls.csv``).

Runs in local worker processes, or on a Dask cluster when a scheduler address
is given (the ``dask`` extra). Only paths and JSON strings cross process
boundaries (Praat objects do not pickle).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import AudioError, ParameterError, TonekitError, on_disk, one_line, shown, writable_problem

if TYPE_CHECKING:
    import pandas as pd

#: The files a folder given to the batch holds calls in: every form tonekit reads (libsndfile's).
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au",
                  ".snd", ".caf", ".w64", ".rf64")

#: The list of the calls that failed, in the output folder; no call's report takes this name.
FAILURES = "failures.json"

#: The overview of every call reported in the output folder, one row per call (:func:`overview_table`).
OVERVIEW = "calls.csv"

#: What each report was made from (the audio's path, size and modification time, the tonekit version,
#: the models' file hashes and the options), so a later run re-analyses a call when any of them changed.
LEDGER = ".tonekit-batch.json"

#: Each report's ledger entry, one JSON line as soon as the report is written, so that a run cut short (Ctrl-C,
#: a killed job) leaves no report without its entry; the next run folds it into the ledger.
JOURNAL = ".tonekit-batch.journal"

#: ``tonekit batch --html``: each call's HTML report in this folder of OUTDIR (``html/<report name>.html``) ...
PAGES = "html"
#: ... and the overview page in OUTDIR, one row per call linking to its page (:func:`write_pages`).
OVERVIEW_PAGE = "calls.html"

#: Why a call has no report when its worker process died under it.
DIED = "the worker process analysing it died (out of memory, or a crash in native code)"


def collect_inputs(inputs, echo=None) -> list[Path]:
    """Audio files named directly or found in folders, sorted, without duplicates; ``echo`` (a function of one
    line) is told of a folder that holds no audio file or cannot be read."""
    out = []
    for i in inputs:
        p = Path(i)
        try:
            is_dir = p.is_dir()
        except OSError:   # a folder on its path cannot be entered: its analysis says so, as one failure
            is_dir = False
        if is_dir:
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES)
            if echo is not None and not os.access(p, os.R_OK | os.X_OK):
                echo(f"Warning: {p}: permission denied: the folder cannot be read, no call taken from it")
            elif echo is not None and not found:
                echo(f"Warning: {p}: no audio files in this folder (.wav, .flac, .ogg, .mp3 or another form "
                     "tonekit reads)")
            out += found
        else:
            out.append(p)
    # one call once, however it is named (a relative and an absolute path, a symlink): the first name given
    seen, unique = set(), []
    for p in out:
        try:
            key = os.path.realpath(p)
        except (OSError, ValueError):   # a symlink loop, a name the system refuses: its analysis says why
            key = str(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def report_path(outdir: Path, audio: Path) -> Path:
    """``OUTDIR/<stem>.json``: the report of a call whose file stem no other call of the batch shares
    (``failures.wav`` gets ``failures.wav.json``, ``.tonekit-batch.wav`` ``.tonekit-batch.wav.json``: those
    names are the batch's own files)."""
    name = f"{audio.stem}.json"
    return Path(outdir) / (audio.name + ".json" if name.lower() in _RESERVED else name)


#: The batch's own files in OUTDIR, which no report may take (compared in lower case, for file systems that
#: ignore case).
_RESERVED = {FAILURES.lower(), LEDGER.lower(), JOURNAL.lower()}


def report_paths(outdir: Path, files) -> dict:
    """The report of each call: ``<stem>.json``, or, for calls whose stems clash (``a/call.wav`` and
    ``b/call.flac``), the path below the folder the clashing files share, with ``__`` between its parts
    and the suffix kept (``a__call.wav.json``, ``b__call.flac.json``), so no report overwrites another.

    >>> sorted(p.name for p in report_paths("out", [Path("in/a/call.wav"), Path("in/b/call.flac"),
    ...                                                 Path("in/b/other.wav")]).values())
    ['a__call.wav.json', 'b__call.flac.json', 'other.json']
    """
    from collections import defaultdict

    files = [Path(f) for f in files]
    by_stem = defaultdict(list)
    for f in files:
        by_stem[f.stem].append(f)
    out = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            out[group[0]] = report_path(outdir, group[0])
            continue
        full = [Path(os.path.abspath(f)) for f in group]
        root = Path(os.path.commonpath([str(f.parent) for f in full]))
        for f, a in zip(group, full):
            out[f] = Path(outdir) / ("__".join(a.relative_to(root).parts) + ".json")
    # names can still meet (a/b/call.wav and a__b/call.wav both make a__b__call.wav.json; Call.wav and
    # call.wav on a file system that ignores case) or take one of the batch's own: those calls' reports get
    # the first 8 hex digits of their path's SHA-1 as well, so none overwrites another
    taken = defaultdict(list)
    for f, r in out.items():
        taken[r.name.lower()].append(f)
    for name, group in taken.items():
        if len(group) > 1 or name in _RESERVED:
            for f in group:
                tag = hashlib.sha1(os.path.abspath(f).encode("utf-8", "surrogateescape")).hexdigest()[:8]
                out[f] = out[f].with_name(f"{out[f].name[:-len('.json')]}.{tag}.json")
    return out


def _one(audio: str, out: str, models, options=None) -> tuple[str, str | None]:
    """Analyse one call (``analyze(audio, models=models, **options)``) and write its report atomically;
    returns (path, error or None)."""
    from .audio import MONO_CALL, NO_SUCH_FILE
    from .pipeline import analyze

    try:
        a = analyze(audio, models=models, **(options or {}))
        _written(Path(out), a.to_json)
        return audio, None
    except AudioError as exc:
        if exc.problem == MONO_CALL:   # a batch has no per-call files or turns to offer
            return audio, str(AudioError(exc.path, "mono file: a batch reads stereo calls (a channel for each "
                                                   "speaker); analyse a mono call with tonekit report --agent/"
                                                   "--caller or --turns FILE.rttm --agent-label"))
        if exc.problem == NO_SUCH_FILE:   # a batch's input may have been a folder
            return audio, str(AudioError(exc.path, "no such file or folder"))
        return audio, str(exc)
    except TonekitError as exc:
        return audio, str(exc)
    except Exception as exc:  # a crash on one call must not lose the others
        return audio, f"{audio}: {type(exc).__name__}: {exc}"


def _models_made_from(models) -> dict:
    """The tonekit version and the models: the SHA-256 of each model's card, which holds its file's hash and
    everything else the analysis reads from it (a recalibration, the population reference); the folder's files
    decide, not its name."""
    from . import __version__
    from .models.store import TARGET_NAMES, shipped_dir

    folder = Path(models) if models is not None else shipped_dir()
    hashes = {}
    for t in TARGET_NAMES:
        try:
            hashes[t] = hashlib.sha256((folder / f"{t}.json").read_bytes()).hexdigest()
        except OSError:
            hashes[t] = None   # loading the models will say what is wrong
    return {"tonekit": __version__, "models": hashes}


def _made_from(audio: Path, models_made: dict, options) -> dict:
    """What a report of ``audio`` is made from (a file that cannot be read has no size: its analysis says why)."""
    try:
        st = audio.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size = mtime = None
    return {"path": os.path.abspath(audio), "size": size, "mtime_ns": mtime, **models_made,
            "options": options or {}}


def _read_ledger(outdir: Path) -> dict:
    """The ledger, with the entries a run cut short journaled after it (a line cut short is left out)."""
    try:
        ledger = json.loads((outdir / LEDGER).read_text(encoding="utf-8"))
        ledger = ledger if isinstance(ledger, dict) else {}
    except (OSError, ValueError):
        ledger = {}
    try:
        lines = (outdir / JOURNAL).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            name, made = json.loads(line)
        except (ValueError, TypeError):
            continue
        ledger[str(name)] = made
    return ledger


def _journal(outdir: Path, name: str, made: dict) -> None:
    """Append one report's ledger entry to the journal (one line, one write)."""
    with open(outdir / JOURNAL, "a", encoding="utf-8") as f:
        f.write(json.dumps([name, made], sort_keys=True) + "\n")


def run_batch(inputs, outdir, *, jobs: int = 1, scheduler: str | None = None, models=None, options=None,
              echo=print, pages: str | None = None):
    """Analyse many calls into ``outdir``; a call whose report is there, made from the same audio (path,
    size, modification time) by the same tonekit version, models (by their hashes) and options, is skipped.

    ``options`` are :func:`tonekit.analyze`'s (``agent_channel``, matcher thresholds...), the same for
    every call. Returns ``(n_ok, n_failed, n_skipped)``; failures are echoed as ``Error: file: problem``
    and listed in ``outdir/failures.json``, which, like ``calls.csv``, spans the runs into ``outdir``: a
    call stays listed until a run given it reports it, or its file is gone. A call that got a new report
    name (another call of the same name joined the batch, or left it) has its report renamed if it is
    otherwise up to date (not analysed again), else its old report removed, so ``calls.csv`` lists it once.
    ``pages`` (a language, ``"en"`` or ``"fr"``): then :func:`write_pages` too, from the same reading of the
    reports as ``calls.csv``.
    """
    if pages is not None:
        from .report._lang import checked

        checked(pages)   # before any call
    if jobs < 1:
        raise ParameterError(f"jobs (--jobs) must be >= 1, not {jobs}")
    outdir = Path(outdir)
    files = collect_inputs(inputs, echo)
    if not files:   # before the output folder is made: nothing to put there
        raise ParameterError("no audio files found in the inputs")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"{outdir}: the output folder cannot be made ({exc.strerror or exc})") from None
    problem = writable_problem(outdir / LEDGER)
    if problem:   # before any call is analysed: every report would fail to be written
        raise ParameterError(f"{outdir}: {problem.replace(f'the folder {outdir}', 'the output folder')}")
    reports = report_paths(outdir, files)
    ledger = _read_ledger(outdir)
    models_made = _models_made_from(models)
    made = {f: _made_from(f, models_made, options) for f in files}
    # a report counts as done when its ledger entry says it was made as this run would make it; one without an
    # entry (a worker's last report before its batch was killed, a ledger lost) is made again, as is a file in
    # a report's place that is not one (cut short, or something else); a run cut short has journaled the entry
    # of each report it wrote, so its reports are judged like any other
    todo, moved = [], {}
    for f in files:
        r = reports[f]
        if r.exists() and not is_report_file(r):
            echo(f"Warning: {one_line(r)}: not a whole tonekit report: {one_line(f)} is analysed again")
        elif r.exists() and ledger.get(r.name) == made[f]:
            continue
        elif not r.exists() and _take_moved(outdir, ledger, r, made[f]):
            moved[r.name] = made[f]   # its name changed (another call of that name joined): renamed, not redone
            continue
        todo.append(f)
    skipped = len(files) - len(todo)
    results = []

    def record(res):
        results.append(res)
        if not res[1]:
            _journal(outdir, reports[Path(res[0])].name, made[Path(res[0])])
        _echo_result(res, echo)

    try:
        if scheduler:
            _on_dask(scheduler, todo, reports, models, options, record)
        elif jobs == 1:
            for f in todo:
                record(_one(str(f), str(reports[f]), models, options))
        else:
            _in_processes(todo, reports, models, options, jobs, record)
    finally:   # stopped part-way (Ctrl-C) too: what was done is listed, the ledger and the overview kept
        failures = {p: e for p, e in results if e}
        _list_failures(outdir / FAILURES, files, failures)
        _update_ledger(outdir, ledger, {**moved, **{reports[Path(p)].name: made[Path(p)] for p, e in results if not e}})
        table = overview_table(outdir, echo=echo)
        write_overview(outdir, table)
        if pages is not None:
            write_pages(outdir, lang=pages, echo=echo, table=table)
    return len(results) - len(failures), len(failures), skipped


def _take_moved(outdir: Path, ledger: dict, report: Path, made: dict) -> bool:
    """Whether the report of a call made as this run would make it (``made``) is in ``outdir`` under another
    name (the call's name clashes with a call that joined the batch since, or no longer clashes): then it is
    renamed to ``report`` and journaled, so the call is not analysed again. (Should another call of this run
    take the old name, its report is not there any more, so it is analysed as any call without one.) A file
    cut short under the old name is not taken."""
    for name, m in ledger.items():
        old = outdir / name
        if m == made and name != report.name and old.is_file() and is_report_file(old):
            os.replace(old, report)
            _journal(outdir, report.name, made)
            return True
    return False


def _list_failures(listed: Path, files, failures: dict) -> None:
    """Write ``failures.json``, by each call's full path (the same call given from another folder, or by another
    path, is one entry). Like calls.csv, the list spans every run into the folder: a call failed earlier and not
    given this time stays listed while its file is there; one given this time is listed only if it failed
    again."""
    failures = {os.path.abspath(p): e for p, e in failures.items()}
    given = {os.path.abspath(f) for f in files}
    still = {p: e for p, e in _read_failures(listed).items() if os.path.isabs(p) and p not in given and
             Path(p).exists()}   # (a relative path of an older list: relative to where that run ran; gone)
    if still or failures:
        _write_text(listed, json.dumps({**still, **failures}, indent=2) + "\n")
    elif listed.exists():
        listed.unlink()   # every call has its report now: an old list would mislead


def _on_dask(scheduler, todo, reports, models, options, record) -> None:
    """``_one`` of every call on a Dask cluster; a call whose worker is lost fails alone."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs dask and its distributed scheduler: pip install "
                             "'dask[distributed]' (or, in tonekit's source folder, pip install '.[dask]')") from None
    with Client(scheduler) as client:
        futs = [client.submit(_one, str(f), str(reports[f]), models, options, pure=False) for f in todo]
        try:
            for f, fut in zip(todo, futs):
                try:
                    res = fut.result()
                except Exception as exc:   # a worker lost or killed: this call failed, the others go on
                    res = (str(f), f"{f}: the Dask worker failed ({type(exc).__name__}: {exc})")
                record(res)
        except BaseException:   # Ctrl-C: the calls not started are not run
            client.cancel(futs)
            raise


def is_report_file(path) -> bool:
    """Whether ``path`` holds a whole JSON report (:meth:`tonekit.Analysis.to_json`): it opens with its
    ``tonekit_version`` key and ends with its closing brace (read at both ends, not parsed: a batch may hold
    thousands)."""
    try:
        with open(path, "rb") as f:
            head = f.read(200)
            f.seek(max(0, f.seek(0, 2) - 16))
            tail = f.read()
    except OSError:
        return False
    return head.lstrip().startswith(b'{') and b'"tonekit_version"' in head and tail.rstrip().endswith(b"}")


def _read_failures(path: Path) -> dict:
    """An earlier run's ``failures.json`` (``{}`` when there is none, or it is not such a list)."""
    try:
        got = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


#: The overview's columns: which call, how long, who talked how much, how each side sounded on average,
#: when the caller was angry, and the events per tip.
OVERVIEW_COLUMNS = ["report", "path", "duration_s", "agent_talk_share", "caller_talk_share", "agent_anger_mean",
                    "agent_calm_mean", "agent_warmth_mean", "caller_anger_mean", "caller_anger_at_start",
                    "caller_anger_at_end", "caller_angry_s", "interruptions", "overlap_s", "longest_silence_s",
                    "pause_share", "tip1_interruptions", "tip7_no_smile", "tip8_not_calm", "tip9_tone_mismatch",
                    "tip12_long_silences", "notes"]

#: The overview's event-count column of each tip.
TIP_COLUMNS = {"1": "tip1_interruptions", "7": "tip7_no_smile", "8": "tip8_not_calm", "9": "tip9_tone_mismatch",
               "12": "tip12_long_silences"}


def overview_row(report: dict, name: str) -> dict:
    """One call's row of the overview, from its JSON report (the ``summary`` of :class:`tonekit.Analysis`)."""
    s = report["summary"]
    spk = s.get("speakers", {})
    ca = s.get("caller_anger") or {}
    tips = s.get("events_per_tip") or {}
    row = {"report": name, "path": report.get("source"), "duration_s": report.get("duration_s"),
           "caller_anger_at_start": ca.get("start"), "caller_anger_at_end": ca.get("end"),
           "caller_angry_s": round(sum(b - a for a, b in s.get("caller_angry_spans") or []), 2),
           "interruptions": (s.get("interruptions") or {}).get("count"),
           "overlap_s": (s.get("overlaps") or {}).get("total_s"),
           "longest_silence_s": (s.get("silences") or {}).get("longest_s"),
           "pause_share": (s.get("silences") or {}).get("share")}   # None in reports of an earlier release
    for who in ("agent", "caller"):
        row[f"{who}_talk_share"] = (spk.get(who) or {}).get("talk_share")
        for t in ("anger", "calm", "warmth") if who == "agent" else ("anger",):
            row[f"{who}_{t}_mean"] = (spk.get(who) or {}).get(f"{t}_mean")
    for tip, col in TIP_COLUMNS.items():
        row[col] = tips.get(tip, 0)
    # what could not be measured is empty, not 0: a caller never scored is not a calm one, and tips 7-9 are
    # not judged of an agent never scored, nor 8 and 9 of an agent whose caller was never scored
    if not _measured(row["caller_anger_mean"]):   # tips 8 and 9 are judged against the caller's anger
        row["caller_angry_s"] = None
        for tip in ("8", "9"):
            row[TIP_COLUMNS[tip]] = None
    if not _measured(row["agent_anger_mean"]):
        for tip in ("7", "8", "9"):
            row[TIP_COLUMNS[tip]] = None
    row["notes"] = " | ".join(str(n) for n in report.get("warnings") or [])
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def _measured(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def overview_table(outdir, *, echo=None) -> pd.DataFrame:
    """One row per call reported in a batch's output folder (:data:`OVERVIEW_COLUMNS`), by report name (not the
    calls of ``failures.json``, whose last try failed, though an earlier report of theirs is there):
    what a supervisor sorts to find the calls to listen to (most tip 8 events, the angriest callers).
    ``caller_anger_at_start`` / ``_at_end``: the caller's anger score early and late in the call;
    ``caller_angry_s``: how long the caller's angry stretches last, in seconds of the call (the summary's
    ``caller_angry_spans``, what tips 8 and 9 are judged in: the agent's turns and pauses inside a stretch
    count, so it can exceed the caller's talk time); ``tip..._*``: events per tip; ``notes``: what the analysis
    warned of in the call's audio (music on hold, tones, line echo, noise ...), joined by `` | ``, empty for
    none. A report that cannot be read into a row (of another form, hand-edited) is left out, said on ``echo``.

    >>> overview_table("reports").sort_values("tip8_not_calm", ascending=False).head()   # doctest: +SKIP
    """
    import pandas as pd

    rows, ledger = [], _read_ledger(Path(outdir))
    failed = set(_read_failures(Path(outdir) / FAILURES))
    for path in sorted(Path(outdir).glob("*.json")):
        made = ledger.get(path.name)
        if path.name == FAILURES or (isinstance(made, dict) and made.get("path") in failed):
            continue   # (a call that failed when last given: its earlier report is of audio no longer there)
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue   # not a report (or being written): the overview lists finished reports only
        if isinstance(report, dict) and "summary" in report and "tonekit_version" in report:
            try:
                row = overview_row(report, path.name)
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                if echo is not None:   # one such file must not keep the other calls out of the overview
                    echo(f"Warning: {one_line(path)}: left out of {OVERVIEW}: its summary is not a tonekit "
                         f"report's ({one_line(exc)})")
                continue
            if isinstance(made, dict) and made.get("path"):
                row["path"] = made["path"]   # the audio's full path, where the report has only its name
            rows.append(row)
    # the names as objects, not Arrow's UTF-8 strings: a file name that is not UTF-8 stays as it is on disk
    table = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object if c in ("report", "path", "notes")
                                       else None) for c in OVERVIEW_COLUMNS}, columns=OVERVIEW_COLUMNS)
    # counts stay whole numbers where some are empty (not judged): 1, not 1.0
    return table.astype({c: "Int64" for c in ("interruptions", *TIP_COLUMNS.values())})


def write_overview(outdir, table=None) -> Path | None:
    """Write ``OUTDIR/calls.csv`` (``table``, by default :func:`overview_table`) when the folder holds any report;
    its path or None."""
    table = overview_table(outdir) if table is None else table
    if table.empty:
        return None
    out = Path(outdir) / OVERVIEW
    _written(out, lambda tmp: table.to_csv(tmp, index=False, errors="surrogateescape"))
    return out


def write_pages(outdir, *, lang: str = "en", echo=print, table=None) -> Path | None:
    """``tonekit batch --html``: the HTML report of every call reported in ``outdir`` (``outdir/html/``, rendered
    from its JSON report, :meth:`tonekit.Analysis.from_json`) and the overview page ``outdir/calls.html`` (the
    calls of ``failures.json`` listed after them); the overview's path, or None when the folder holds no report.

    ``table``: the folder's :func:`overview_table`, when it has just been read. A page is rendered again only when
    its report is newer, or it was made in another language or by another
    tonekit version; a page whose report is gone is removed. A report that cannot be shown is said on ``echo``
    and listed without a link; the other pages are made.
    """
    from . import __version__
    from .analysis import Analysis
    from .report._lang import checked
    from .report.html import render_html, render_overview

    checked(lang)   # before any page is written
    outdir = Path(outdir)
    table = overview_table(outdir) if table is None else table
    if table.empty:
        return None
    folder = outdir / PAGES
    folder.mkdir(exist_ok=True)
    stamp = f'<html lang="{lang}">'.encode(), f'<meta name="generator" content="tonekit {__version__}">'.encode()
    links, kept = {}, set()
    for name in table.report:
        report, page = outdir / name, folder / f"{Path(name).stem}.html"
        if not _fresh(page, report, stamp):
            try:
                html = render_html(Analysis.from_json(report), lang=lang, back=f"../{OVERVIEW_PAGE}")
            except Exception as exc:   # one report that cannot be shown must not stop the others' pages
                echo(f"Warning: {one_line(report)}: no page made ({one_line(exc)})")
                continue
            _write_text(page, html)
        # a name that is not UTF-8 linked by its bytes (%E9), which the browser asks the file system for
        href = page.name if shown(page.name) == page.name else quote(page.name, errors="surrogateescape")
        links[name] = f"{PAGES}/{href}"
        kept.add(page.name)
    for old in folder.glob("*.html"):
        if old.name not in kept:
            old.unlink()
    out = outdir / OVERVIEW_PAGE
    _write_text(out, render_overview(table, pages=links, failures=_read_failures(outdir / FAILURES), lang=lang))
    return out


def _fresh(page: Path, report: Path, stamp: tuple) -> bool:
    """Whether ``page`` is there, no older than ``report``, and holds each of ``stamp``'s marks in its head."""
    try:
        if page.stat().st_mtime_ns < report.stat().st_mtime_ns:
            return False
        with open(page, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    return all(mark in head for mark in stamp)


def _written(path: Path, write) -> None:
    """``write(tmp)`` to ``path`` plus ``.part``, then put in its place: a file of the batch is there whole or
    not at all."""
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    tmp.replace(path)


def _write_text(path: Path, text: str) -> None:
    _written(path, lambda tmp: tmp.write_bytes(on_disk(text)))


def _update_ledger(outdir: Path, ledger: dict, new: dict) -> None:
    """Record the reports just made; a report of the same audio under another name (the call's name
    now clashes with another's) is superseded: its file and entry go."""
    paths = {m["path"]: name for name, m in new.items()}
    for name, m in list(ledger.items()):
        if name not in new and isinstance(m, dict) and paths.get(m.get("path")) not in (None, name):
            (outdir / name).unlink(missing_ok=True)
            del ledger[name]
    ledger.update(new)
    _write_text(outdir / LEDGER, json.dumps(ledger, indent=1, sort_keys=True) + "\n")
    (outdir / JOURNAL).unlink(missing_ok=True)   # folded in


def _in_processes(todo, reports, models, options, jobs: int, record) -> None:
    """``_one`` of every call in ``jobs`` worker processes, each result handed to ``record`` as it comes. A
    worker that dies (killed for memory, a crash in native code) breaks the whole pool, and every call still
    running or waiting fails with it: those calls are tried again each in a pool of its own, so only the call
    that kills its worker fails."""
    broken = []
    with _WorkerPool(jobs) as ex:
        futs = {ex.submit(_one, str(f), str(reports[f]), models, options): f for f in todo}
        for fut in as_completed(futs):
            try:
                res = fut.result()
            except BrokenProcessPool:
                broken.append(futs[fut])
                continue
            record(res)
    for f in sorted(broken, key=todo.index):
        try:
            with _WorkerPool(1) as ex:
                res = ex.submit(_one, str(f), str(reports[f]), models, options).result()
        except BrokenProcessPool:
            res = (str(f), f"{f}: {DIED}")
        record(res)


class _WorkerPool:
    """A pool of ``jobs`` worker processes that ends with its batch. Leaving it by an exception (Ctrl-C, which
    the workers themselves ignore: the batch decides) cancels the calls not started and stops the workers at
    once, instead of letting them finish every queued call unrecorded; a worker whose batch is killed
    outright (``kill -9``) stops by itself within a second or two (:func:`_worker_start`)."""

    def __init__(self, jobs: int):
        self.pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_start, initargs=(os.getpid(),))

    def __enter__(self):
        return self.pool

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.pool.shutdown(wait=True)
            return False
        workers = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:
            w.terminate()
        for w in workers:
            w.join(timeout=5)
        return False


def _worker_start(batch_pid: int) -> None:
    """A worker's first step: Ctrl-C reaches the whole process group, and only the batch acts on it; the worker
    ends itself once its batch is gone (killed without a chance to stop it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while os.getppid() == batch_pid:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="tonekit-batch-watch").start()


def _echo_result(res, echo):
    path, err = res
    echo(f"Error: {one_line(err)}" if err else f"done: {one_line(path)}")
