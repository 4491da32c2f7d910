"""The real command line through click's CliRunner: exit codes, exact messages, output tables."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from synth import key_tones, non_utf8_path, progress_tone, syllable_train
from tonekit import __version__
from tonekit.cli import main

WINDOW_COLUMNS = ["speaker", "start_s", "end_s", "speech_s", "f0_st_mean", "f0_st_std", "f0_st_range",
                  "intensity_db_mean", "rate_syl_s", "pause_ratio", "smile_cue", "anger", "calm", "warmth"]
FRAME_COLUMNS = ["speaker", "time_s", "f0_hz", "intensity_db", "f1_hz", "f2_hz", "f3_hz", "voiced", "speech"]


@pytest.fixture(scope="module")
def mono_file(tmp_path_factory):
    y, _, _ = syllable_train(4, 6.0, 16000, f0_hz=140.0)
    path = tmp_path_factory.mktemp("cli") / "utterance.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0
    assert res.output == f"tonekit, version {__version__}\n"


def test_features_windows_csv(mono_file, tmp_path):
    out = tmp_path / "windows.csv"
    res = CliRunner().invoke(main, ["features", str(mono_file), "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert list(table.columns) == WINDOW_COLUMNS
    # 7 s of audio, 3 s windows every 1 s
    assert len(table) == 5 and (table.speaker == "speaker").all()
    full = table[table.speech_s >= 2.5]
    assert len(full) >= 3
    assert full.rate_syl_s.between(3.4, 4.6).all()
    assert table[["anger", "calm", "warmth"]].isna().all().all()  # filled by the models, not here


def test_features_frames_parquet(mono_file, tmp_path):
    out = tmp_path / "frames.parquet"
    res = CliRunner().invoke(main, ["features", str(mono_file), "--level", "frames", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(out)
    assert list(table.columns) == FRAME_COLUMNS
    assert len(table) == 700
    assert np.nanmedian(table.f0_hz) == pytest.approx(140.0, rel=0.05)
    assert table.time_s.iloc[:3].tolist() == [0.0, 0.01, 0.02]


def test_features_empty_file_is_one_line_error(tmp_path):
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    res = CliRunner().invoke(main, ["features", str(bad), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 1
    assert res.output == f"Error: {bad}: empty file (0 bytes)\n"
    assert "Traceback" not in res.output
    assert not (tmp_path / "o.csv").exists()


def test_features_of_a_mono_file_as_a_call_is_a_one_line_error(mono_file, tmp_path):
    res = CliRunner().invoke(main, ["features", str(mono_file), "--call", "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 1
    assert res.output == (f"Error: {mono_file}: mono file: features of a call need a stereo file (two mono files, "
                          "or a mono mix with its turns: tonekit.analyze, whose windows table has these features)\n")
    assert not (tmp_path / "o.csv").exists()


def test_features_txt_output_is_usage_error(mono_file, tmp_path):
    out = tmp_path / "o.txt"
    res = CliRunner().invoke(main, ["features", str(mono_file), "-o", str(out)])
    assert res.exit_code == 2
    assert f"Invalid value for -o: {out}: use a .csv or .parquet file" in res.output
    assert not out.exists()


def test_score_refuses_a_three_channel_file_and_scores_the_rest(mono_file, tmp_path):
    y, _ = sf.read(mono_file)
    three = tmp_path / "three.wav"
    sf.write(three, np.column_stack([y, y, y]), 16000)
    r = CliRunner().invoke(main, ["score", str(three), str(mono_file)])
    assert r.exit_code == 1
    assert r.stderr == f"Error: {three}: 3 channels: a single-speaker file must be mono (or stereo, mixed down)\n"
    rows = pd.read_csv(io.StringIO(r.stdout))
    assert rows["path"].tolist() == [str(mono_file)]
    assert rows[["anger", "calm", "warmth"]].notna().all(axis=None)


def test_files_whose_names_are_not_utf8_are_read_and_listed(mono_file, tmp_path):
    """Latin-1 names from an old archive (b'appel_\\xe9t\\xe9.wav'): the audio is read (libsndfile gets the name's
    bytes), and the tables keep the name (not Arrow's UTF-8 strings), with the same scores as the file's copy."""
    import shutil

    from tonekit.models.corpora import load_corpus

    odd = non_utf8_path(tmp_path, b"appel_\xe9t\xe9.wav")
    shutil.copy(mono_file, odd)
    copies = [tmp_path / "a.wav", tmp_path / "b.wav"]
    for c in copies:
        shutil.copy(mono_file, c)
    for args in (["score", str(mono_file)], ["score", "--same-speaker", *map(str, copies)]):
        r = CliRunner().invoke(main, [*args, str(odd)])
        assert r.exit_code == 0 and r.stderr == "", r.output
        rows = pd.read_csv(io.StringIO(r.stdout))
        assert len(rows) == len(args) - args.count("--same-speaker") and \
            rows[["anger", "calm", "warmth"]].nunique().max() == 1
        assert rows.path.iloc[-1] == str(odd).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    folder = non_utf8_path(tmp_path, b"emodb_\xe9")
    folder.unlink()
    (folder / "wav").mkdir(parents=True)
    shutil.copy(mono_file, folder / "wav" / "03a01Wa.flac")
    table = load_corpus(folder, "emodb")
    assert table.path.tolist() == [str(folder / "wav" / "03a01Wa.flac")] and table.emotion.tolist() == ["anger"]


def test_a_reader_that_leaves_early_is_no_error(mono_file):
    """``tonekit score ... | head -0``: the pipe is closed before the rows come; tonekit stops quietly (exit 1, as
    click has it), without an 'Error: Broken pipe' line."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tonekit.cli", "score", str(mono_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()   # long before the model has scored the file
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and b"Error" not in err, err


def test_score_warns_once_when_a_stereo_file_holds_two_voices_taking_turns(mono_file, tmp_path):
    # the mono file's voice on channel 0 for its first half, on channel 1 for its second: a call, scored mixed
    y, sr = sf.read(mono_file)
    half = len(y) // 2
    pair = np.zeros((len(y), 2))
    pair[:half, 0], pair[half:, 1] = y[:half], y[half:]
    call = tmp_path / "call.wav"
    sf.write(call, pair, sr)
    r = CliRunner().invoke(main, ["score", str(call)])
    assert r.exit_code == 0, r.output
    assert r.stderr == (f"Warning: {call}: its two channels take turns, as a call's two speakers do; scored as one "
                        "voice (mixed down). A call's report: tonekit report / tonekit.analyze\n")
    assert pd.read_csv(io.StringIO(r.stdout))["path"].tolist() == [str(call)]


def test_score_embeddings_flag_gives_the_apis_numbers(mono_file):
    import tonekit

    plain = CliRunner().invoke(main, ["score", str(mono_file)])
    full = CliRunner().invoke(main, ["score", str(mono_file), "--embeddings"])
    assert plain.exit_code == 0 and full.exit_code == 0, full.output
    row = pd.read_csv(io.StringIO(full.stdout)).iloc[0]
    expected = tonekit.score(str(mono_file), embeddings=True)
    assert {t: row[t] for t in expected} == pytest.approx(expected, abs=1e-4)
    assert plain.stdout != full.stdout     # the embeddings change the scores
    # the command line shows 4 decimals; the Python API gives the probabilities whole, as the models make them
    assert any(v != round(v, 4) for v in expected.values())
    as_json = json.loads(CliRunner().invoke(main, ["score", str(mono_file), "--embeddings", "--format", "json"]).stdout)
    assert {t: as_json[0][t] for t in expected} == {t: round(v, 4) for t, v in expected.items()}


def test_score_prior_option_gives_the_apis_numbers_and_rejects_bad_shares(mono_file):
    import tonekit

    r = CliRunner().invoke(main, ["score", str(mono_file), "--prior", "anger=0.1", "--prior", "warmth=0.3"])
    assert r.exit_code == 0, r.output
    row = pd.read_csv(io.StringIO(r.stdout)).iloc[0]
    expected = tonekit.score(str(mono_file), priors={"anger": 0.1, "warmth": 0.3})
    assert {t: row[t] for t in expected} == pytest.approx(expected, abs=1e-4)
    for bad, message in (("anger", "Invalid value for --prior: anger: expected TARGET=SHARE"),
                         ("anger=2", "--prior: anger must be a share strictly between 0 and 1, not 2.0"),
                         ("joy=0.1", "--prior: unknown target 'joy'")):
        r = CliRunner().invoke(main, ["score", str(mono_file), "--prior", bad])
        assert r.exit_code == 2 and message in r.stderr and r.output.count("\n") == 1


def test_score_reports_folders_noise_and_short_files_and_quotes_paths(mono_file, tmp_path):
    """A folder, noise with no voice, 0.2 s of voice, a ringback and a keypad's tones each get one error line;
    the good file (its name has a comma and a quote) is still scored, in strict JSON and in CSV that parses back
    to the same path."""
    import json
    import shutil

    folder = tmp_path / "takes.wav"
    folder.mkdir()
    noise = tmp_path / "noise.wav"
    sf.write(noise, np.random.default_rng(0).normal(0, 0.1, 5 * 16000), 16000)
    y, _ = sf.read(mono_file)
    short = tmp_path / "short.wav"
    sf.write(short, np.r_[np.zeros(16000), y[8000:11200], np.zeros(16000)], 16000)
    good = tmp_path / 'take 1, "calm".wav'
    shutil.copy(mono_file, good)
    tone = tmp_path / "ringback.wav"
    sf.write(tone, progress_tone("ringback_fr", 6.0, 16000), 16000)
    keys = tmp_path / "keys.wav"
    sf.write(keys, np.r_[np.zeros(8000), key_tones("0612345789", 16000)], 16000)
    files = [str(folder), str(noise), str(good), str(short), str(tone), str(keys)]
    for fmt in ("json", "csv"):
        r = CliRunner().invoke(main, ["score", *files, "--format", fmt])
        assert r.exit_code == 1
        assert r.stderr.splitlines() == [f"Error: {folder}: is a folder, not an audio file",
                                         f"Error: {noise}: no voiced speech found (noise only?)",
                                         f"Error: {short}: less than 0.3 s of speech",
                                         f"Error: {tone}: a steady tone, not speech (a ringback, busy or dial tone, "
                                         "or a test tone?)",
                                         f"Error: {keys}: key tones (DTMF), not speech (keypad presses?)"]
        rows = json.loads(r.stdout) if fmt == "json" else pd.read_csv(io.StringIO(r.stdout)).to_dict("records")
        assert [row["path"] for row in rows] == [str(good)]
        assert all(0 <= rows[0][t] <= 1 for t in ("anger", "calm", "warmth"))


def test_cli_refuses_bad_options_before_any_work(mono_file, tmp_path, monkeypatch):
    """Options that cannot work are refused up front, in one line each."""
    import tonekit.pipeline

    def no_analysis(*args, **kwargs):
        raise AssertionError("the call was analysed before its options were checked")

    monkeypatch.setattr(tonekit.pipeline, "detect_activity", no_analysis)   # the analysis's first step
    cases = [(["train", str(tmp_path), "--target", "anger", "-o", str(tmp_path / "m.txt")], 2,
              "use a .skops file"),
             (["train", str(tmp_path), "-o", str(tmp_path / "m.skops")], 2,
              "Error: Missing option '--target'. Choose from: anger, calm, warmth (see "),
             (["evaluate", "anger", str(tmp_path), "-j", "0"], 2, "0 is not in the range x>=1"),
             (["batch", str(mono_file), "-o", str(tmp_path / "out"), "-j", "0"], 2, "0 is not in the range x>=1"),
             (["report", "--format", "textgrid"], 2, "--format textgrid needs -o FILE.TextGrid"),
             (["report"], 2, "give a CALL file, or --agent and --caller files"),
             (["report", str(mono_file), "--set", "anger_on=5"], 2,
              "anger_on is a probability threshold: it must be in 0..1, not 5.0"),
             (["report", str(mono_file), "--set", "anger_onn=0.5"], 2, "unknown option(s) anger_onn; known: "),
             (["report", str(mono_file), "--set", "anger_on"], 2, "'anger_on': use NAME=NUMBER"),
             (["report", str(mono_file), "-o", str(tmp_path / "r.csv")], 2,
              "r.csv: no report form goes by .csv: use .txt, .json, .html or .TextGrid, or name the form with --format"),
             (["report", str(mono_file), "-o", str(tmp_path / "nodir" / "r.json")], 2,
              f"r.json: the folder {tmp_path / 'nodir'} does not exist"),
             (["plot", str(mono_file), "-o", str(tmp_path / "nodir" / "p.png")], 2, "does not exist"),
             (["features", str(mono_file), "-o", str(tmp_path / "nodir" / "f.csv")], 2, "does not exist"),
             (["demo", "--html", str(tmp_path / "nodir" / "d.html")], 2, "does not exist"),
             (["demo", "--html", str(tmp_path / "d.json")], 2, "d.json: use a .html or .htm file"),
             (["train", str(tmp_path), "--target", "anger", "-o", str(tmp_path / "nodir" / "m.skops")], 2,
              "does not exist"),
             (["report", str(mono_file), "--agent-label", "A"], 1,
              "agent_label (--agent-label) goes with turns (--turns FILE.rttm)"),
             (["score", str(mono_file), "--prior", "anger=0.1", "--prior", "anger=0.2"], 2,
              "Invalid value for --prior: anger is given twice (0.1 and 0.2)"),
             (["features", str(mono_file), "--win-dur", "0", "-o", str(tmp_path / "f.csv")], 2,
              "Invalid value for '--win-dur': 0 s: give a number of seconds of at least 0.01 (one 10-ms frame)"),
             (["features", str(mono_file), "--hop-dur", "nan", "-o", str(tmp_path / "f.csv")], 2,
              "Invalid value for '--hop-dur': nan s: give a number of seconds"),
             (["features", str(mono_file), "--hop-dur", "4", "-o", str(tmp_path / "f.csv")], 2,
              "Invalid value for --hop-dur: 4 s is longer than the window (--win-dur 3)"),
             (["evaluate", "anger", str(mono_file)], 1,
              f"Error: {mono_file}: not a corpus folder, nor a manifest (a .csv or .tsv file; see "
              "tonekit.models.corpora.load_manifest)")]
    for args, code, message in cases:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == code, (args, r.output)
        assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m.txt").exists() and not (tmp_path / "out").exists() and not (tmp_path / "nodir").exists()
    assert not (tmp_path / "f.csv").exists()


def test_score_and_batch_go_on_past_an_unreadable_file(mono_file, tmp_path, monkeypatch):
    """A file that may not be read is one error line; the other files are still scored (click's own
    permission check of the arguments used to stop the whole command with a usage message)."""
    import os

    locked = tmp_path / "locked.wav"
    locked.write_bytes(mono_file.read_bytes())
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == str(locked) else real_access(p, mode))
    res = CliRunner().invoke(main, ["score", str(mono_file), str(locked)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert f"Error: {locked}: permission denied (the file cannot be read)" in lines
    assert any(line.startswith(f"{mono_file},") for line in lines)


def test_an_unexpected_error_is_still_one_line(mono_file, monkeypatch):
    import tonekit.pipeline

    def boom(*a, **k):
        raise RuntimeError("something we did not foresee")
    monkeypatch.setattr(tonekit.pipeline, "analyze", boom)
    res = CliRunner().invoke(main, ["report", str(mono_file)])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == ["Error: unexpected RuntimeError: something we did not foresee (run "
                                               "tonekit --debug report ... for the traceback, and please report it)"]
    res = CliRunner().invoke(main, ["--debug", "report", str(mono_file)])   # as the line says: the traceback
    assert isinstance(res.exception, RuntimeError)


def test_an_output_that_is_a_folder_is_refused_before_any_work(mono_file, tmp_path):
    res = CliRunner().invoke(main, ["features", str(mono_file), "-o", f"{tmp_path / 'new.csv'}/"])
    assert res.exit_code == 2
    assert "a folder; give a file name" in res.output


def test_an_output_that_is_a_pipe_is_written_into_not_replaced(mono_file, tmp_path):
    """-o a named pipe (or /dev/stdout, a device): the reader gets the table, and the pipe stays a pipe (it used to
    be replaced by a file, and the check that it can be written gave its reader an empty read); -o under a file
    says that it is a file."""
    import os
    import stat
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "rows.csv"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()))
    reader.start()
    res = CliRunner().invoke(main, ["features", str(mono_file), "-o", str(pipe)])
    reader.join(timeout=60)
    assert res.exit_code == 0, res.output
    assert got and got[0].startswith("speaker,start_s,end_s") and stat.S_ISFIFO(os.stat(pipe).st_mode)
    (tmp_path / "a.csv").write_text("x")
    res = CliRunner().invoke(main, ["features", str(mono_file), "-o", str(tmp_path / "a.csv" / "b.csv")])
    assert res.exit_code == 2 and "a.csv is a file, not a folder" in res.output


def test_demo_prints_the_report_the_docs_show():
    """``tonekit demo`` prints docs/demo_report.txt (the README's demo block, written by scripts/make_docs.py)
    to the character, ending in one newline."""
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs" / "demo_report.txt"
    res = CliRunner().invoke(main, ["demo", "--quiet"])
    assert res.exit_code == 0
    assert res.stdout == docs.read_text(encoding="utf-8")
    assert res.stdout.endswith("synchrony 0.02\n") and not res.stdout.endswith("\n\n")
    assert "grew less calm" in res.stdout
    readme = (docs.parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"```\n{res.stdout}```\n" in readme


def test_a_file_name_with_a_line_break_keeps_its_error_on_one_line(tmp_path, mono_file):
    bad = tmp_path / "monday\ncall.wav"
    bad.write_bytes(b"")
    for args in (["report", str(bad)], ["score", str(bad), str(mono_file)]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 1
        assert f"Error: {tmp_path}/monday\\ncall.wav: empty file (0 bytes)\n" in res.stderr
        assert "monday\ncall" not in res.stderr


def test_an_output_that_cannot_be_written_or_names_another_form_is_refused_before_any_work(mono_file, tmp_path,
                                                                                           monkeypatch):
    import tempfile

    import tonekit.pipeline

    monkeypatch.setattr(tonekit.pipeline, "analyze", lambda *a, **k: pytest.fail("analysed before refusing"))
    res = CliRunner().invoke(main, ["report", str(mono_file), "-o", str(tmp_path / "r.json"), "--format", "textgrid"])
    assert res.exit_code == 2
    assert "r.json: its extension names the json form, but --format asks for textgrid: change one of them" in res.output

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refused)
    for cmd in (["report", str(mono_file)], ["plot", str(mono_file)], ["features", str(mono_file)]):
        out = tmp_path / {"report": "r.json", "plot": "p.png", "features": "f.csv"}[cmd[0]]
        res = CliRunner().invoke(main, cmd + ["-o", str(out)])
        assert res.exit_code == 2, cmd
        assert f"{out}: the folder {tmp_path} cannot be written (Permission denied)" in res.output, cmd


@pytest.mark.parametrize("args, line", [
    (["plot", "call.flac", "-o", "x.jpg"],
     "Error: Invalid value for -o: x.jpg: use a .png, .svg or .pdf file (see 'tonekit plot --help')"),
    (["report", "--bogus"], "Error: No such option '--bogus' (see 'tonekit report --help')"),
    (["score"], "Error: Missing argument 'AUDIO...' (see 'tonekit score --help')"),
    (["scor"], "Error: No such command 'scor'. Did you mean 'score'? (see 'tonekit --help')"),
    (["report", "call.flac", "--set", "long_silence_s"],
     "Error: Invalid value for --set: 'long_silence_s': use NAME=NUMBER, e.g. long_silence_s=8 "
     "(see 'tonekit report --help')"),
])
def test_a_usage_error_is_one_line_with_where_to_look(tmp_path, args, line):
    """DESIGN: an error is one line on stderr; a bad option or argument too, with the help to read, exit 2."""
    sf.write(tmp_path / "call.flac", np.zeros((16000, 2)), 16000)
    res = CliRunner().invoke(main, [str(tmp_path / a) if a == "call.flac" else a for a in args], prog_name="tonekit")
    assert res.exit_code == 2
    assert res.output.splitlines() == [line]


def test_bare_tonekit_still_shows_its_help():
    res = CliRunner().invoke(main, [], prog_name="tonekit")
    assert "Usage: tonekit [OPTIONS] COMMAND [ARGS]..." in res.output and "Commands:" in res.output


@pytest.mark.parametrize("cmd", [["report", "{f}", "--format", "text", "-o", "{f}"],
                                 ["features", "{f}", "-o", "{f}.csv", "--level", "windows"],
                                 ["report", "--agent", "{f}", "--caller", "{f}2", "-o", "{f}2"]])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, mono_file, cmd):
    """tonekit report call.flac -o call.flac had written the report over the audio. The output may be none of
    the command's inputs (compared as real paths); the input is untouched, exit 2, one line."""
    f = tmp_path / "call.wav"
    f.write_bytes(mono_file.read_bytes())
    (tmp_path / "call.wav2").write_bytes(mono_file.read_bytes())
    if cmd[0] == "features":   # the same file under the output's name, through a symlink
        (tmp_path / "call.wav.csv").symlink_to(f)
    before = f.read_bytes()
    res = CliRunner().invoke(main, [a.format(f=f) for a in cmd], prog_name="tonekit")
    assert res.exit_code == 2
    assert "that is an input of this command; writing there would destroy it" in res.output
    assert len(res.output.splitlines()) == 1
    assert f.read_bytes() == before and (tmp_path / "call.wav2").read_bytes() == before


def test_a_write_that_fails_names_the_file_and_leaves_no_half_file(tmp_path, monkeypatch):
    """A full disk while writing the demo's report: one line naming the output, exit 1, no report and no
    partial file left beside it."""
    import errno
    import pathlib

    import tonekit

    real = pathlib.Path.write_text

    def full(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)   # half of it lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["report", tonekit.demo_path(), "-o", str(out), "-q"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"Error: {out}: cannot be written (No space left on device)"]
    assert list(tmp_path.iterdir()) == []


def test_a_warning_is_said_once_in_the_report_or_on_stderr(tmp_path, monkeypatch):
    """The demo's first 10 s (too little speech on either side): printed on stdout, the report's notes hold
    the two warnings and stderr does not repeat them; written with -o, stderr says them; and when the call
    fails after a warning, the warning still comes, before the error."""
    import warnings as _warnings

    import tonekit
    import tonekit.pipeline

    y, sr = sf.read(tonekit.demo_path())
    short = tmp_path / "short.flac"
    sf.write(short, y[: 10 * sr], sr)
    res = CliRunner().invoke(main, ["report", str(short)])
    assert res.exit_code == 0
    notes = res.stdout[res.stdout.index("Notes on the audio"):]
    assert notes.count("too little speech for the") == 2 and "Warning:" not in res.stderr
    res = CliRunner().invoke(main, ["report", str(short), "-o", str(tmp_path / "r.txt")])
    assert res.exit_code == 0 and res.stderr.count("Warning: ") == 2

    def warn_then_fail(*args, **kwargs):
        _warnings.warn(f"{short}: steady sound, not speech, on the caller's side", UserWarning)
        raise tonekit.AudioError(short, "no speech found")

    monkeypatch.setattr(tonekit.pipeline, "analyze", warn_then_fail)
    res = CliRunner().invoke(main, ["report", str(short)])
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [f"Warning: {short}: steady sound, not speech, on the caller's side",
                                       f"Error: {short}: no speech found"]
