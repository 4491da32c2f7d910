"""The ``tonekit`` command line."""
from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
import traceback
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import ParameterError, TonekitError, on_disk, one_line, writable_problem


def _fail(exc: Exception, debug: bool):
    if debug:
        traceback.print_exc()
    raise click.ClickException(one_line(exc))


def handle_errors(fn):
    """Library errors become one ``Error: ...`` line (``--debug`` shows the traceback)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("once")   # a message once, however many places say it (a file read twice)
                warnings.showwarning = lambda m, *a, **k: click.echo(f"Warning: {one_line(m)}", err=True)
                return fn(*args, **kwargs)
        except TonekitError as exc:
            _fail(exc, debug)
        except BrokenPipeError:
            raise   # the reader of our output has gone (| head): click leaves quietly, as command-line tools do
        except (OSError, ValueError) as exc:
            _fail(exc, debug)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise   # click's own: usage errors and exits keep their messages and statuses
        except Exception as exc:   # a bug of ours: still one line (and the traceback with --debug)
            if debug:
                raise
            raise click.ClickException(one_line(f"unexpected {type(exc).__name__}: {exc} (run tonekit --debug "
                                                f"{click.get_current_context().info_name} ... for the traceback, "
                                                "and please report it)")) from None
    return wrapper


#: An input path: checked by tonekit itself, one error line per file (click's own check of a path's permissions
#: would stop a whole batch at one unreadable file, with a usage message).
_INPUT = click.Path(readable=False)

_AGENT_CHANNEL = click.option("--agent-channel", type=click.IntRange(0, 1), default=0, show_default=True,
                              help="Channel of the agent in a stereo file.")
_MODELS = click.option("--models", "models_dir", type=click.Path(file_okay=False),
                       help="Folder of tone models (default: the shipped ones).")
_SET = click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
                    help="A matcher threshold, e.g. --set long_silence_s=8 (see tonekit.match.MatchOptions).")


class _Share(click.ParamType):
    """``--population-share``: ``S`` for both speakers, or ``caller=S,agent=S`` (a speaker left out gets 0), each
    S within 0..1; tonekit.analyze's ``population_share``."""

    name = "share"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            if "=" not in value:
                share = float(value)
            else:
                share = {}
                for part in value.split(","):
                    who, _, v = part.partition("=")
                    who = who.strip()
                    if who not in ("agent", "caller") or who in share:
                        raise ValueError
                    share[who] = float(v)
        except ValueError:
            self.fail(f"{value!r}: use a share S within 0..1 for both speakers, or caller=S,agent=S", param, ctx)
        if not all(0 <= v <= 1 for v in (share.values() if isinstance(share, dict) else [share])):
            self.fail(f"{value!r}: a share is within 0..1", param, ctx)
        return share


_POPULATION_SHARE = click.option("--population-share", type=_Share(), default=None, metavar="S|caller=S,agent=S",
                                 help="The training speakers' share of the speakers' reference voice: one share "
                                      "for both, or each one's (a speaker left out gets 0). Default: the caller's "
                                      "0.25, the agent's 0 (caller=0.25,agent=0); 0: each against their own voice "
                                      "alone; see tonekit.analyze.")

_WHISPER_EVERY = click.option("--whisper-every", type=click.IntRange(min=1), default=None, metavar="N",
                              help="Read one 4-s piece of each speaker's speech in N with Whisper (default 8, "
                                   "for speed; 1: every piece, the most accurate, at a little under half the "
                                   "speed; see the README's Events on simulated calls).")

_MUSIC_GATE = click.option("--music-gate/--no-music-gate", default=None,
                           help="Leave steady, music-like sound (music on hold) out of the speakers' speech, with "
                                "a warning [default: on]; --no-music-gate takes every loud sound for speech.")


def call_options(fn):
    """Options that say who is who in a call."""
    opts = [
        click.option("--agent", "agent", type=_INPUT, help="Mono file of the agent."),
        click.option("--caller", "caller", type=_INPUT, help="Mono file of the caller."),
        click.option("--turns", type=_INPUT, help="RTTM file of who speaks when (mono mix)."),
        click.option("--agent-label", help="The agent's label in the RTTM file."),
        _AGENT_CHANNEL,
        _MODELS,
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        _SET,
        _POPULATION_SHARE,
        _WHISPER_EVERY,
        _MUSIC_GATE,
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


class _Progress:
    """A progress bar on stderr for calls longer than about a minute, when stderr is a terminal."""

    STEPS = ["activity", "frames:agent", "embedding:agent", "whisper:agent", "frames:caller", "embedding:caller",
             "whisper:caller", "windows", "events"]

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def __call__(self, step):
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("analysing", total=len(self.STEPS))
        if step in self.STEPS:
            self.bar.update(self.task, completed=self.STEPS.index(step) + 1, description=step)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def _parse_settings(settings) -> dict:
    """``("long_silence_s=8", ...)`` -> ``{"long_silence_s": 8.0}`` (:func:`tonekit.match.parse_settings`), a
    malformed item, an unknown name or a value out of range being a usage error of ``--set`` (before any
    work)."""
    from .match import MatchOptions, parse_settings

    try:
        out = parse_settings(settings)
        MatchOptions.from_kwargs(**out)
        return out
    except ParameterError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None


def _given(**options) -> dict:
    """The options the user gave (not None): what :func:`tonekit.analyze` then takes instead of its defaults."""
    return {k: v for k, v in options.items() if v is not None}


def _analyze(call, agent, caller, turns, agent_label, agent_channel, models_dir, quiet, settings=(),
             population_share=None, whisper_every=None, music_gate=None, in_report=False):
    """:func:`tonekit.analyze` from the command's options, with a progress bar on a long call. Its warnings
    are echoed as they come, except with ``in_report`` (a report printed on stdout, whose "Notes on the
    audio" hold them): then they are said once, in the report, or on stderr if the call then fails."""
    from .audio import audio_info
    from .pipeline import analyze

    if call is None and agent is None and caller is None:
        raise click.UsageError("give a CALL file, or --agent and --caller files")
    if call is not None and Path(call).suffix.lower() == ".json":   # a saved report: shown, not analysed again
        given = {"--agent": agent, "--caller": caller, "--turns": turns, "--agent-label": agent_label,
                 "--agent-channel": agent_channel or None, "--models": models_dir, "--set": settings or None,
                 "--population-share": population_share, "--whisper-every": whisper_every,
                 "--music-gate/--no-music-gate": music_gate}
        used = [name for name, value in given.items() if value is not None]
        if used:
            raise click.UsageError(f"{call} is a saved JSON report, shown as it was made: {', '.join(used)} "
                                   "would need the call analysed again (give its audio instead)")
        from .analysis import Analysis

        return Analysis.from_json(call)
    with _warnings_held(in_report):
        long_call = True
        if call is not None:
            try:
                long_call = audio_info(call).duration_s > 60
            except TonekitError:
                long_call = False
        prog = _Progress(not quiet and long_call)
        try:
            return analyze(call, agent=agent, caller=caller, turns=turns, agent_label=agent_label,
                           agent_channel=agent_channel, models=models_dir, progress=prog,
                           population_share=population_share,
                           **_given(whisper_every=whisper_every, music_gate=music_gate),
                           **_parse_settings(settings))
        finally:
            prog.close()


@contextlib.contextmanager
def _warnings_held(hold: bool):
    """With ``hold``, the warnings said inside are kept back (the report will hold them), and echoed once
    each only if a tonekit error ends the block; without, they go their usual way."""
    if not hold:
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except TonekitError:
            for message in dict.fromkeys(str(w.message) for w in caught):
                click.echo(f"Warning: {one_line(message)}", err=True)
            raise


def _emit(text: str, output):
    if output:
        _write_file(output, lambda tmp: Path(tmp).write_text(text if text.endswith("\n") else text + "\n",
                                                             encoding="utf-8"))
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _write_file(output, write) -> None:
    """``write(tmp)`` to a hidden file beside ``output`` (same extension), then put in its place: a write that
    fails (a full disk) leaves no half file and names ``output`` in one line. An ``output`` that is there and is
    not a file (``/dev/stdout``, a named pipe, a device) is written to as it is: replacing it would destroy it."""
    path = Path(output).expanduser()
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    try:
        if path.exists() and not path.is_file():
            write(path)
            return
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise TonekitError(f"{output}: cannot be written ({exc.strerror or type(exc).__name__})") from None


class _UsageLine(click.ClickException):
    """A usage error (a bad option or argument) shown as every tonekit error is, on one line, with where to
    look: ``Error: Invalid value for -o: x.jpg: use a .png, .svg or .pdf file (see 'tonekit plot --help')``."""

    exit_code = 2

    def __init__(self, err: click.UsageError):
        super().__init__(err.format_message().replace("\n\t", " "))   # click lists choices one per line
        self.path = err.ctx.command_path if err.ctx is not None else "tonekit"

    def show(self, file=None):
        click.echo(f"Error: {one_line(self.message).rstrip('.')} (see '{self.path} --help')", file=file,
                   err=file is None)


class _Tonekit(click.Group):
    """The command group; its usage errors, and its commands', take one line, as every tonekit error does
    (``Error: ...``). A bare ``tonekit`` still shows the help."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise _UsageLine(err) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise _UsageLine(err) from None


@click.group(cls=_Tonekit, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tonekit")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def main(debug):
    """tonekit: how both sides of a phone call sound, over time.

    \b
    Example:
        tonekit demo
        tonekit report call.flac --format html -o call.html
    """


#: What ``--lang`` sets, for each command that has it.
_LANG_HELP = {
    "report": "Language of the text and HTML reports: English or French (the JSON and TextGrid forms keep their "
              "English keys).",
    "plot": "Language of the plot's titles, labels and legend: English or French.",
    "batch": "Language of the HTML pages (--html): English or French (the JSON reports and calls.csv keep their "
             "English keys).",
    "demo": "Language of the text and HTML reports: English or French (the JSON form keeps its English keys).",
}


def lang_option(command: str):
    """``--lang en|fr`` (also ``$TONEKIT_LANG``), with the help of ``command`` (:data:`_LANG_HELP`)."""
    from .report._lang import LANGUAGES

    return click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
                        envvar="TONEKIT_LANG", show_envvar=True, help=_LANG_HELP[command])


@main.command()
@click.argument("call", required=False, type=_INPUT)
@call_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "textgrid"]), default=None,
              help="The report's form [default: from -o's extension (.json, .html, .TextGrid), else text].")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@lang_option("report")
@handle_errors
def report(call, agent, caller, turns, agent_label, agent_channel, models_dir, quiet, settings, population_share,
           whisper_every, music_gate, fmt, output, lang):
    """The tone report of one call.

    \b
    Example:
        tonekit report call.flac
        tonekit report call.flac --set long_silence_s=8 --set no_smile_min_s=30
        tonekit report --agent agent.wav --caller caller.wav -o report.json
        tonekit report call.flac -o call.html
        tonekit report call.flac --lang fr
        tonekit report reports/call.json -o call.html   (a saved JSON report, shown again)
    """
    if output:
        _check_output(output, "-o", inputs=(call, agent, caller, turns))
    named = _FORMAT_BY_SUFFIX.get(Path(output).suffix.lower()) if output else None
    if fmt is not None and named is not None and named != fmt:
        raise click.BadParameter(f"{output}: its extension names the {named} form, but --format asks for {fmt}: "
                                 "change one of them", param_hint="-o")
    if fmt is None and output and Path(output).suffix and Path(output).suffix.lower() not in _FORMAT_BY_SUFFIX:
        raise click.BadParameter(f"{output}: no report form goes by {Path(output).suffix}: use .txt, .json, .html "
                                 "or .TextGrid, or name the form with --format", param_hint="-o")
    if fmt is None:
        fmt = _FORMAT_BY_SUFFIX.get(Path(output).suffix.lower(), "text") if output else "text"
    if fmt == "textgrid" and not output:
        raise click.UsageError("--format textgrid needs -o FILE.TextGrid")
    a = _analyze(call, agent, caller, turns, agent_label, agent_channel, models_dir, quiet, settings,
                 population_share, whisper_every, music_gate, in_report=output is None)
    _write_report(a, fmt, output, lang)


#: ``tonekit report -o FILE`` without ``--format``: the form its extension names.
_FORMAT_BY_SUFFIX = {".txt": "text", ".json": "json", ".html": "html", ".htm": "html", ".textgrid": "textgrid"}


def _check_output(output, hint: str, inputs=()) -> None:
    """Refuse, before any work, an output file whose folder does not exist (or is not a folder), that
    cannot be written there, or that is one of the ``inputs`` (the call, its sides' files, its turns)."""
    if str(output).endswith(("/", os.sep)) or Path(output).expanduser().is_dir():
        raise click.BadParameter(f"{output}: a folder; give a file name", param_hint=hint)
    path = Path(output).expanduser()
    for given in inputs:
        if given and os.path.realpath(path) == os.path.realpath(Path(given).expanduser()):
            raise click.BadParameter(f"{output}: that is an input of this command; writing there would destroy "
                                     "it: give another file name", param_hint=hint)
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"{output}: {folder} is a file, not a folder" if folder.exists() else
                                 f"{output}: the folder {folder} does not exist", param_hint=hint)
    problem = writable_problem(path)
    if problem:
        raise click.BadParameter(f"{output}: {problem}", param_hint=hint)


def _write_report(a, fmt, output, lang="en"):
    if fmt == "json":
        _emit(a.to_json(), output)
    elif fmt == "html":
        from .report.html import render_html

        _emit(render_html(a, lang=lang), output)
    elif fmt == "textgrid":
        from .report.export import to_textgrid

        if not output:
            raise click.UsageError("--format textgrid needs -o FILE.TextGrid")
        _write_file(output, lambda tmp: to_textgrid(a, tmp))
        click.echo(f"wrote {output}", err=True)
    else:
        from .report.text import render_text

        _emit(render_text(a, color=None if not output else False, lang=lang), output)


@main.command()
@click.argument("call", required=False, type=_INPUT)
@call_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.png, .svg or .pdf")
@lang_option("plot")
@handle_errors
def plot(call, agent, caller, turns, agent_label, agent_channel, models_dir, quiet, settings, population_share,
         whisper_every, music_gate, output, lang):
    """Tone curves of both speakers with the events shaded.

    \b
    Example:
        tonekit plot call.flac -o call.png
    """
    from .report.plot import plot_analysis

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(f"{output}: use a .png, .svg or .pdf file", param_hint="-o")
    _check_output(output, "-o", inputs=(call, agent, caller, turns))
    a = _analyze(call, agent, caller, turns, agent_label, agent_channel, models_dir, quiet, settings,
                 population_share, whisper_every, music_gate)
    _write_file(output, lambda tmp: plot_analysis(a, tmp, lang=lang))
    click.echo(f"wrote {output}", err=True)


def _frames_long(ctx, param, value):
    """A window length or hop in seconds: finite, and at least one 10-ms frame."""
    if not (math.isfinite(value) and value >= 0.01):
        raise click.BadParameter(f"{value:g} s: give a number of seconds of at least 0.01 (one 10-ms frame)")
    return value


@main.command()
@click.argument("audio", type=_INPUT)
@click.option("--level", type=click.Choice(["frames", "windows"]), default="windows", show_default=True,
              help="Every 10-ms frame, or windows of --win-dur seconds every --hop-dur.")
@click.option("--call/--single", "is_call", default=None,
              help="Treat AUDIO as a two-speaker call (stereo) or one speaker; default: by channel count.")
@click.option("--agent-channel", type=click.IntRange(0, 1), default=0, show_default=True,
              help="Channel of the agent in a stereo call.")
@click.option("--win-dur", type=float, default=3.0, show_default=True, callback=_frames_long,
              help="Window length (s; at least one 10-ms frame).")
@click.option("--hop-dur", type=float, default=1.0, show_default=True, callback=_frames_long,
              help="Window hop (s; at least one 10-ms frame, at most --win-dur).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.csv or .parquet")
@handle_errors
def features(audio, level, is_call, agent_channel, win_dur, hop_dur, output):
    """Frame or window features of a call or a single-speaker file.

    Acoustic features only: the window table's anger, calm and warmth
    columns stay empty here; `tonekit report --format json` has them
    filled by the models, in its windows.

    \b
    Example:
        tonekit features call.flac --level frames -o frames.parquet
        tonekit features utterance.wav -o windows.csv
    """
    from .features.api import extract_features
    from .report.export import write_table

    if Path(output).suffix.lower() not in (".csv", ".parquet"):
        raise click.BadParameter(f"{output}: use a .csv or .parquet file", param_hint="-o")
    if hop_dur > win_dur:
        raise click.BadParameter(f"{hop_dur:g} s is longer than the window (--win-dur {win_dur:g})",
                                 param_hint="--hop-dur")
    _check_output(output, "-o", inputs=(audio,))
    table = extract_features(audio, level=level, call=is_call, agent_channel=agent_channel,
                             win_dur_s=win_dur, hop_dur_s=hop_dur)
    _write_file(output, lambda tmp: write_table(table, tmp))
    click.echo(f"wrote {len(table)} row{'' if len(table) == 1 else 's'} to {output}", err=True)


@main.command()
@click.argument("audio", nargs=-1, required=True, type=_INPUT)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="One row per file scored: path, anger, calm, warmth, as CSV or a JSON list (a file that "
                   "fails gets an error line on stderr instead).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False),
              help="Folder with anger.skops, calm.skops and warmth.skops and their .json cards (tonekit train "
                   "writes both; default: the shipped models).")
@click.option("--same-speaker", is_flag=True,
              help="The files are one speaker's: score each against that speaker's usual voice, measured over "
                   "all of them (with few files, partly the training speakers'), with every member of the "
                   "models (at least 3 files; see the README).")
@click.option("--embeddings", is_flag=True,
              help="Each file alone: also use the voice embedding and Whisper, against an average speaker "
                   "(more accurate, about 6x slower; --same-speaker always uses them).")
@click.option("--prior", "prior", multiple=True, metavar="TARGET=SHARE",
              help="The share of the class where the files come from (for example anger=0.1; repeatable): "
                   "probabilities for that population instead of at even odds (see the README).")
@handle_errors
def score(audio, fmt, models_dir, same_speaker, embeddings, prior):
    """Tone of single-speaker files: one row per file (path, anger, calm, warmth).

    Each file alone is compared with an average speaker and scored on its
    prosody; with --same-speaker the files are taken as recordings of one
    speaker and each is compared with that speaker's usual voice (as the
    models were trained), which is more accurate.

    A file that cannot be read gets an error line on stderr; the others are
    still scored, and the exit status is 1.

    \b
    Examples:
        tonekit score a.wav b.flac --format json
        tonekit score a.wav --embeddings
        tonekit score monday.wav tuesday.wav friday.wav --same-speaker
        tonekit score a.wav --prior anger=0.1
    """
    from .models.store import load_models
    from .pipeline import checked_priors
    from .pipeline import score as score_one
    from .pipeline import score_speaker

    priors = {}
    for item in prior:   # a bad --prior is a usage error (exit 2), as a bad --set is
        target, sep, share = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item}: expected TARGET=SHARE, for example anger=0.1", param_hint="--prior")
        if target.strip() in priors:
            raise click.BadParameter(f"{target.strip()} is given twice ({priors[target.strip()]} and "
                                     f"{share.strip()})", param_hint="--prior")
        priors[target.strip()] = share.strip()
    try:
        priors = checked_priors(priors)
    except ParameterError as exc:
        raise click.BadParameter(str(exc).removeprefix("priors: "), param_hint="--prior") from None
    if same_speaker and embeddings:
        click.echo("Warning: --same-speaker always uses the embeddings; --embeddings adds nothing", err=True)
    models = load_models(models_dir)
    rows, failed = [], 0
    if same_speaker:
        for r in score_speaker(list(audio), models=models, priors=priors).to_dict(orient="records"):
            if isinstance(r["error"], str):
                click.echo(f"Error: {one_line(r['error'])}", err=True)
                failed += 1
            else:
                rows.append({k: r[k] for k in ("path", "anger", "calm", "warmth")})
    else:
        for p in audio:
            try:
                rows.append({"path": p, **score_one(p, models=models, embeddings=embeddings, priors=priors)})
            except TonekitError as exc:
                click.echo(f"Error: {one_line(exc)}", err=True)
                failed += 1
            except Exception as exc:   # one file must not lose the others' rows
                click.echo(f"Error: {one_line(f'{p}: unexpected {type(exc).__name__}: {exc}')}", err=True)
                failed += 1
    _print_scores(rows, fmt)
    if failed:
        sys.exit(1)


def _print_scores(rows, fmt):
    """The rows of ``tonekit score`` as strict JSON (a missing value is null) or RFC 4180 CSV (paths with commas
    or quotes are quoted; a missing value is an empty field)."""
    import csv
    import io
    import math

    def value(v):   # probabilities to 4 decimals, as in the CSV (the Python API gives them whole)
        return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else \
            round(v, 4) if isinstance(v, float) else v

    if fmt == "json":
        click.echo(json.dumps([{k: value(v) for k, v in r.items()} for r in rows], indent=2, allow_nan=False))
        return
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["path", "anger", "calm", "warmth"])
    for r in rows:
        out.writerow([r["path"]] + ["" if value(r[t]) is None else f"{r[t]:.4f}" for t in ("anger", "calm", "warmth")])
    click.echo(on_disk(buf.getvalue()), nl=False)   # (a file name that is not UTF-8, as it is on disk)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_INPUT)
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Folder for the reports.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--scheduler", help="Address of a Dask scheduler (needs the dask extra).")
@_MODELS
@_AGENT_CHANNEL
@_SET
@_POPULATION_SHARE
@_WHISPER_EVERY
@_MUSIC_GATE
@click.option("--html", "pages", is_flag=True,
              help="Also an HTML report of every call reported (OUTDIR/html/) and an overview page linking them, "
                   "the calls to listen to first at the top (OUTDIR/calls.html).")
@lang_option("batch")
@handle_errors
def batch(inputs, outdir, jobs, scheduler, models_dir, agent_channel, settings, population_share, whisper_every,
          music_gate, pages, lang):
    """Many calls: a JSON report per call in OUTDIR, resumable; failures never stop the rest.

    INPUTS are stereo call files or folders (searched for audio files). Each report is
    OUTDIR/<name>.json; calls whose names clash (a/call.wav, b/call.flac) get their folders in
    the name (a__call.wav.json). OUTDIR/failures.json lists the calls whose last try
    failed, and OUTDIR/calls.csv has one row per call reported (talk shares, mean tones,
    caller_angry_s: how long the caller's angry stretches last; events per tip), both over
    every run into OUTDIR: sort calls.csv to find the calls to listen to, or open
    OUTDIR/calls.html (--html), which lists them in that order with a page for each.
    A call is analysed again when its audio, tonekit, the models or the options change;
    --agent-channel, --set, --population-share, --whisper-every and --no-music-gate apply to every
    call.

    \b
    Example:
        tonekit batch calls/ -o reports/ --jobs 2
        tonekit batch calls/ -o reports/ --html --lang fr
    """
    from .batch import OVERVIEW, OVERVIEW_PAGE, run_batch

    if models_dir is not None:
        from .models.store import load_models

        load_models(models_dir)   # a model folder that fails its checks stops the batch once, not every call
    options = {**({"agent_channel": agent_channel} if agent_channel else {}),
               **_given(population_share=population_share, whisper_every=whisper_every, music_gate=music_gate),
               **_parse_settings(settings)}
    ok, failed, skipped = run_batch(inputs, outdir, jobs=jobs, scheduler=scheduler, models=models_dir,
                                    options=options, echo=lambda m: click.echo(m, err=True),
                                    pages=lang if pages else None)
    overview = Path(outdir) / OVERVIEW
    page = Path(outdir) / OVERVIEW_PAGE if pages and (Path(outdir) / OVERVIEW_PAGE).exists() else None
    click.echo(f"{ok} analysed, {skipped} already done, {failed} failed -> {outdir}"
               f"{f' (overview: {overview})' if overview.exists() else ''}"
               f"{f' (pages: {page})' if page else ''}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--target", type=click.Choice(["anger", "calm", "warmth"]), required=True,
              help="What the model tells: anger against every other emotion; calm (neutral, calm, boredom, "
                   "sadness) against aroused speech (anger, fear, happiness, surprise); warmth (happiness) "
                   "against every other emotion but surprise.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="MODEL.skops (its card, MODEL.json, is written beside it).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for feature extraction.")
@handle_errors
def train(corpus, target, output, jobs):
    """Train a tone model on corpus folders (labels from the file names) or manifests.

    A CORPUS is a folder laid out like one of the bundled corpora (Emo-DB,
    RAVDESS, nEMO, TurEV-DB), or a manifest: a .csv (or .tsv) file with the
    columns path, speaker, emotion (optional: intensity, corpus), paths
    relative to the manifest. As the shipped models, the model learns from
    four copies of every recording: as recorded, through a telephone line,
    and both again with background noise.

    \b
    Example:
        tonekit train ../shared/corpora/emodb ../shared/corpora/ravdess --target anger -o anger.skops
        tonekit train mycorpus.csv ../shared/corpora/emodb --target anger -o anger.skops
    """
    from .models.train import train_and_save

    if Path(output).suffix.lower() != ".skops":
        raise click.BadParameter(f"{output}: use a .skops file (tonekit loads models by that name)", param_hint="-o")
    _check_output(output, "-o")
    card = train_and_save(list(corpus), target, output, n_jobs=jobs, progress=sys.stderr.isatty())
    click.echo(f"wrote {output} ({card['n_train']} training rows)", err=True)
    _exit_if_left_out(card.get("left_out"), "training")


@main.command()
@click.argument("model", type=click.Path())
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for feature extraction.")
@click.option("--condition", "conditions", multiple=True,
              type=click.Choice(["wideband", "telephone", "gsm", "opus"]),
              help="Test audio as recorded, through training's phone line (mu-law), or through that line with a "
                   "codec training never hears (GSM 06.10, Opus at about 10 kbit/s); repeatable "
                   "[default: wideband and telephone].")
@handle_errors
def evaluate(model, corpus, jobs, conditions):
    """Evaluate a model on corpus folders or manifests (UAR, ROC AUC, calibration error).

    MODEL is a .skops file (with its .json card), or anger, calm or warmth
    for the model tonekit ships.

    A CORPUS is as for `tonekit train`: a corpus folder, or a .csv/.tsv
    manifest with the columns path, speaker, emotion.

    Calibration error three ways: ece on the probabilities and the corpus
    as they are; ece_balanced with both classes weighing the same (the even
    odds the models give); ece_prior with the probabilities moved to the
    corpus's own share of the class (score --prior).

    \b
    Example:
        tonekit evaluate anger ../shared/corpora/nemo
        tonekit evaluate anger mycorpus.csv --condition gsm --condition opus
        tonekit evaluate mymodel.skops mycorpus.csv
    """
    from .models.train import evaluate_model

    res = evaluate_model(model, list(corpus), n_jobs=jobs, progress=sys.stderr.isatty(),
                         **({"conditions": conditions} if conditions else {}))
    click.echo(res.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    _exit_if_left_out(res.attrs.get("left_out"), "the metrics")
    if res[["uar", "auc"]].isna().all().all():   # one class everywhere (the warning above says so)
        raise TonekitError(f"{', '.join(map(str, corpus))}: nothing measured: the recordings are of one class")


@main.command()
@click.argument("model", type=click.Path())
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="MODEL.skops (a copy of MODEL; its card, MODEL.json, is written beside it).")
@click.option("--condition", type=click.Choice(["wideband", "telephone"]), default="wideband", show_default=True,
              help="The recordings as recorded, or through training's phone line (recorded wideband, for a model "
                   "that will hear phone calls).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for feature extraction.")
@handle_errors
def recalibrate(model, corpus, output, condition, jobs):
    """Fit a model's probabilities to your population from a few labelled speakers of it.

    MODEL is a .skops file or anger, calm or warmth for a shipped model; a
    CORPUS is as for `tonekit train` (a corpus folder, or a .csv/.tsv
    manifest with the columns path, speaker, emotion), recordings of the
    people the model will hear. The model is unchanged; its card gets a
    line in log-odds that calibrates its probabilities on these recordings,
    applied to every probability it gives. Across corpora, two to four
    labelled speakers of the held-out corpus bring its calibration error at
    even odds from about 0.11 to about 0.06 on its other speakers (README,
    Recalibrating for your population).

    A folder given to --models needs all three targets' models. Recalibrate
    for probabilities read as such (score, tone curves): the report's events
    use thresholds chosen for the shipped models' probabilities, and on calls
    of a corpus the models never heard a recalibration did not improve them
    (README, Recalibrating for your population).

    \b
    Example:
        mkdir mymodels
        for t in anger calm warmth; do tonekit recalibrate $t mypeople.csv -o mymodels/$t.skops; done
        tonekit score recording.wav --models mymodels
    """
    from .models.train import recalibrate_model

    if Path(output).suffix.lower() != ".skops":
        raise click.BadParameter(f"{output}: use a .skops file (tonekit loads models by that name)", param_hint="-o")
    _check_output(output, "-o")
    card = recalibrate_model(model, list(corpus), output, condition=condition, n_jobs=jobs,
                             progress=sys.stderr.isatty())
    r = card["recalibration"]
    click.echo(f"wrote {output}: slope {r['slope']:.3f}, intercept {r['intercept']:+.3f} from {r['n']} recordings "
               f"of {r['n_speakers']} speaker{'s' if r['n_speakers'] != 1 else ''}; even-odds ECE on them "
               f"{r['ece_balanced_before']:.3f} -> {r['ece_balanced_after']:.3f}", err=True)
    _exit_if_left_out(r.get("left_out"), "the recalibration")


def _exit_if_left_out(errors, what: str) -> None:
    """Exit with status 1 (as score and batch with a bad file) when recordings could not be read: the
    result stands without them, and a script sees that some input was left out."""
    if errors:
        n = len(errors)
        click.echo(f"Warning: {n} recording{'s' if n > 1 else ''} could not be analysed and "
                   f"{'were' if n > 1 else 'was'} left out of {what} (errors above); exit status 1", err=True)
        sys.exit(1)


@main.command()
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write the HTML report here.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The report as text, or as JSON (what `tonekit report --format json` writes).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@lang_option("demo")
@handle_errors
def demo(html_path, fmt, quiet, lang):
    """The report of the bundled demo call.

    \b
    Example:
        tonekit demo --html demo.html
        tonekit demo --lang fr
    """
    from . import demo_path

    if html_path:
        if Path(html_path).suffix.lower() not in (".html", ".htm"):
            raise click.BadParameter(f"{html_path}: use a .html or .htm file (the HTML report)", param_hint="--html")
        _check_output(html_path, "--html")
    a = _analyze(demo_path(), None, None, None, None, 0, None, quiet, in_report=True)
    _write_report(a, fmt, None, lang)
    if html_path:
        _write_report(a, "html", html_path, lang)


if __name__ == "__main__":
    main()
