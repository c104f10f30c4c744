"""Outputs: where results go and what is left behind on every exit path.

Two outputs naming one file are refused however they name it; `--to-json -`, `--to-jsonl -`
and /dev/stdout replace the score lines on stdout; --resume writes through links; temporary
files are removed on every exit path (error, full disk, SIGTERM) and those a kill -9 left are
swept by the next run; a full disk and a damaged resume record are one line.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigmoid_qe import files as files_module
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli

from cli_helpers import run, subprocess_env
from tiny_models import WORDS
from training_helpers import single_thread

SRC = "the cat sat on the mat\na dog\nthe big house\n"
HYP = "o gato sentou no tapete\num cao\na casa grande\n"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


@pytest.fixture()
def pair(tmp_path):
    src, hyp = tmp_path / "s.en", tmp_path / "t.pt"
    src.write_text(SRC)
    hyp.write_text(HYP)
    return src, hyp


def _model(tiny_marian_dir):
    return ["--model", tiny_marian_dir, "--device", "cpu", "--quiet"]


def _temps(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_two_outputs_naming_one_file_are_refused(tiny_marian_dir, pair, tmp_path, capsys,
                                                 monkeypatch):
    """Two outputs naming one file are refused however it is spelt: `-o x --to-jsonl ./x`,
    filter's `-o kept --dropped ./kept`, rerank's `-o x --to-json ./x`, and a link to the other
    output."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.txt").symlink_to(tmp_path / "same.txt")
    cases = [
        (score_cli, ["-s", pair[0], "-t", pair[1], "-o", "same.txt", "--to-jsonl", "./same.txt"]),
        (score_cli, ["-s", pair[0], "-t", pair[1], "-o", "same.txt", "--to-json", "link.txt"]),
        (score_cli, ["-s", pair[0], "-t", pair[1], "--html", "same.txt", "--to-json",
                     tmp_path / "same.txt"]),
        (filter_cli, ["-s", pair[0], "-t", pair[1], "--keep-top", "50%", "-o", "same.txt",
                      "--dropped", "./same.txt"]),
        (rerank_cli, ["-s", pair[0], "-t", pair[1], "--num-candidates", "1", "-o", "same.txt",
                      "--to-json", "./same.txt"]),
    ]
    for module, argv in cases:
        code, out, err = run(module.main, argv + _model(tiny_marian_dir), capsys)
        assert code == 2 and out == "", err
        assert "both write" in err and err.count("error:") == 1, err
        assert not (tmp_path / "same.txt").exists()


def test_to_jsonl_dash_and_dev_stdout_replace_the_score_lines(tiny_marian_dir, pair, tmp_path):
    """JSON sent to stdout (`--to-json /dev/stdout`, `--to-jsonl -`) replaces the score lines
    there instead of interleaving with them."""
    base = [sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(pair[0]), "-t",
            str(pair[1]), *_model(tiny_marian_dir)]
    jsonl = subprocess.run(base + ["--to-jsonl", "-"], env=subprocess_env(), capture_output=True,
                           text=True, timeout=120)
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]  # every line is JSON
    assert [r["segment"] for r in records] == [0, 1, 2]
    with open(tmp_path / "so.out", "w") as out:
        redirected = subprocess.run(base + ["--to-json", "/dev/stdout"], env=subprocess_env(), stdout=out,
                                    stderr=subprocess.PIPE, text=True, timeout=120)
    assert redirected.returncode == 0, redirected.stderr
    data = json.loads((tmp_path / "so.out").read_text())  # valid JSON, nothing mixed in
    assert [r["mt"] for r in data[str(pair[1])]] == HYP.splitlines()
    both = subprocess.run(base + ["--to-json", "-", "--to-jsonl", "/dev/stdout"], env=subprocess_env(),
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "both write standard output" in both.stderr


def test_resume_writes_through_a_symbolic_link(tiny_marian_dir, pair, tmp_path, capsys):
    """--resume -o LINK writes through the link; the link is not replaced by a regular file."""
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    (tmp_path / "plink").symlink_to(target)
    code, _, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "-o", tmp_path / "plink",
                                    "--resume", *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert (tmp_path / "plink").is_symlink()
    assert "Segment 2" in target.read_text()
    assert not list(tmp_path.glob("*.partial*"))


def test_damaged_resume_record_is_one_line(tiny_marian_dir, pair, tmp_path, capsys):
    """A corrupted resume record (.partial.json) is a one-line error, not a traceback."""
    out = tmp_path / "g9.out"
    (tmp_path / "g9.out.partial").write_text("")
    for garbage in ('{"key": garbage', '[1, 2]', '{"key": "x"}'):
        (tmp_path / "g9.out.partial.json").write_text(garbage)
        code, stdout, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "-o", out,
                                             "--resume", *_model(tiny_marian_dir)], capsys)
        assert code == 2 and "Traceback" not in err, err
        assert "g9.out.partial.json: unreadable resume record" in err
        assert not out.exists()


def test_disk_full_is_one_line_and_leaves_no_temporary_file(tiny_marian_dir, pair, tmp_path,
                                                             capsys, monkeypatch):
    """A full disk (ENOSPC) is reported once, and the temporary file is removed so the disk is
    not left full."""
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, raw):
            self.raw = raw
            self.written = 0

        def write(self, data):
            self.written += len(data)
            if self.written > 64:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.raw.write(data)

        def __getattr__(self, name):
            return getattr(self.raw, name)

    def full_fdopen(fd, mode="r", *args, **kwargs):
        stream = real_fdopen(fd, mode, *args, **kwargs)
        return Full(stream) if "w" in mode else stream
    monkeypatch.setattr(files_module.os, "fdopen", full_fdopen)
    (tmp_path / "big.json").write_text("OLD")
    code, out, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "--to-json",
                                      tmp_path / "big.json", *_model(tiny_marian_dir)], capsys)
    assert code == 2, err
    assert "cannot write (no space left on device)" in err and "Traceback" not in err
    assert (tmp_path / "big.json").read_text() == "OLD"
    assert _temps(tmp_path) == []


def test_stdout_on_a_full_disk_is_one_line(tiny_marian_dir, pair):
    """Scores written to a full stdout (`> /dev/full`) give one line, not an OSError traceback."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(pair[0]),
                               "-t", str(pair[1]), *_model(tiny_marian_dir)], env=subprocess_env(),
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot write standard output (no space left on device)" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1, proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_sigterm_removes_temporary_files_and_says_how_to_continue(tiny_marian_dir, tmp_path):
    """SIGTERM removes the temporary output files, and the stopped run says how to continue."""
    import random
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(4000)]
    (tmp_path / "s").write_text("\n".join(lines) + "\n")
    (tmp_path / "t").write_text("\n".join(reversed(lines)) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(tmp_path / "s"),
                             "-t", str(tmp_path / "t"), "-o", str(tmp_path / "st.out"),
                             "--to-json", str(tmp_path / "st.json"), "--chunk-size", "50",
                             *_model(tiny_marian_dir)], env=subprocess_env(), stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not any(n.startswith(".st.json") for n in _temps(tmp_path)):
        time.sleep(0.2)
    assert _temps(tmp_path), "the job never started writing"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err and "--resume" in err and "Traceback" not in err
    assert _temps(tmp_path) == [] and not (tmp_path / "st.out").exists()


def test_stale_temporary_files_of_dead_processes_are_swept(tiny_marian_dir, pair, tmp_path,
                                                          capsys):
    """A kill -9 leaves `.NAME.PID.XXXX.tmp`; the next run writing NAME removes those of dead
    processes, and nothing else."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".k9.out.{dead.pid}.abcd1234.tmp"
    live = tmp_path / f".k9.out.{os.getpid()}.abcd1234.tmp"  # a running process's: kept
    users = tmp_path / ".k9.out.notes.tmp"  # not our pattern: kept
    for path in (stale, live, users):
        path.write_text("x")
    code, _, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "-o", tmp_path / "k9.out",
                                    *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert not stale.exists() and live.exists() and users.exists()


def test_output_path_ending_in_slash_and_read_only_file(tiny_marian_dir, pair, tmp_path, capsys):
    """`-o newdir/` is refused (it made a file named newdir), and a read-only (0444) output is
    not replaced, even as root."""
    code, out, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "-o", f"{tmp_path}/newdir/",
                                      *_model(tiny_marian_dir)], capsys)
    assert code == 2 and "ends in '/'" in err
    assert not (tmp_path / "newdir").exists()
    ro = tmp_path / "ro.out"
    ro.write_text("old\n")
    ro.chmod(0o444)
    code, out, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "-o", ro,
                                      *_model(tiny_marian_dir)], capsys)
    assert code == 2 and "read-only" in err
    assert ro.read_text() == "old\n"


def test_resume_on_a_full_disk_is_one_line(tiny_marian_dir, tmp_path, capsys, monkeypatch):
    """--resume on a full disk is one line, not a traceback from closing the partial files.
    Before any checkpoint nothing is kept; after one, the checkpoint is kept for --resume."""
    import io
    import random

    from sigmoid_qe import resume as resume_module
    rng = random.Random(1)
    lines = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(40)]
    (tmp_path / "s").write_text("\n".join(lines) + "\n")
    (tmp_path / "t").write_text("\n".join(reversed(lines)) + "\n")
    budget = {"bytes": 0}

    class Full(io.BufferedRandom):
        def write(self, data):
            budget["bytes"] -= len(data)
            if budget["bytes"] < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    def full_open(path, mode="r", *args, **kwargs):
        return Full(io.FileIO(path, mode.replace("b", "")))
    monkeypatch.setattr(resume_module, "open", full_open, raising=False)
    argv = ["-s", tmp_path / "s", "-t", tmp_path / "t", "-o", tmp_path / "r.out", "--to-jsonl",
            tmp_path / "r.jsonl", "--resume", "--chunk-size", "10", *_model(tiny_marian_dir)]
    for allowed, kept in ((100, False), (12_000, True)):  # one chunk is ~8 kB
        budget["bytes"] = allowed
        for leftover in tmp_path.glob("r.*"):
            leftover.unlink()
        code, out, err = run(score_cli.main, argv, capsys)
        assert code == 2 and "Traceback" not in err and err.count("error:") == 1, err
        assert "cannot write (no space left on device)" in err
        assert ("kept: free space, then rerun with --resume" in err) == kept, err
        assert (tmp_path / "r.out.partial.json").exists() == kept
        assert (tmp_path / "r.out.partial").exists() == kept
        assert not (tmp_path / "r.out").exists()


@pytest.mark.parametrize("flag", ["--html", "--spans-wmt", "--word-tags"])
def test_span_outputs_on_stdout_replace_the_score_lines(flag, tiny_marian_dir, pair, tmp_path,
                                                        capsys):
    """--html -, --spans-wmt /dev/stdout and --word-tags - used to print the score lines and
    then (or, line by line, between them) the other file: neither could be parsed."""
    argv = ["-s", pair[0], "-t", pair[1], *_model(tiny_marian_dir), "--span-threshold", "0.5"]
    code, out, err = run(score_cli.main, argv + [flag, "-"], capsys)
    assert code == 0, err
    assert "\tscore: " not in out and "Segment" not in out, out
    if flag == "--html":
        assert out.startswith("<!DOCTYPE html>")
    elif flag == "--spans-wmt":  # footprint, parameters, ensemble size, one line a segment
        assert len(out.splitlines()) == 3 + 3
    else:
        assert all(line.split("\t")[-1] in ("OK", "BAD") for line in out.splitlines())
    if flag == "--spans-wmt":  # /dev/stdout is standard output too
        done = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", *map(str, argv),
                               flag, "/dev/stdout"], env=subprocess_env(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and done.stdout == out, done.stderr


def test_an_output_through_a_link_loop_fails_before_any_work(pair, tmp_path, capsys):
    """-o a -> b -> a, --html self -> self and a path inside a loop were found unwritable
    only after the model had loaded and every line was scored (or printed)."""
    from cli_helpers import NO_MODEL, one_line
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "self").symlink_to(tmp_path / "self")
    for flag, path in (("-o", tmp_path / "a"), ("--html", tmp_path / "self"),
                       ("--to-json", tmp_path / "a" / "x.json")):
        code, out, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "--model", NO_MODEL,
                                              flag, path], capsys)
        one_line(code, out, err, "too many levels of symbolic links")
