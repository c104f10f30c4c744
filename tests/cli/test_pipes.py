"""Every input may be a pipe (as Unix users expect), and an input that changes while it is read
is an error.

Inputs are read more than once (counted and checked, then scored), so `-` (stdin), a pipe,
a FIFO and a process substitution are read once into a private temporary copy; the result
must equal the one from a regular file, byte for byte.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from sigmoid_qe import files as files_module
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.errors import InputError

from cli_helpers import subprocess_env
from training_helpers import single_thread

SRC = "the cat sat on the mat\na dog\nthe big house\nthe house of the dog\nI eat\n"
HYP = "o gato sentou no tapete\num cao\na casa grande\na casa do cao\neu como\n"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


@pytest.fixture(autouse=True)
def _fresh_spool():
    yield
    files_module.release_spooled()


@pytest.fixture()
def pair(tmp_path):
    src, hyp = tmp_path / "src.en", tmp_path / "hyp.pt"
    src.write_text(SRC)
    hyp.write_text(HYP)
    return src, hyp


def _model(tiny_marian_dir):
    return ["--model", tiny_marian_dir, "--device", "cpu"]


def _main(module, argv, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        fake = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", fake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = module.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _reference(tiny_marian_dir, pair, capsys):
    code, out, err = _main(score_cli, ["-s", pair[0], "-t", pair[1], *_model(tiny_marian_dir),
                                       "--quiet"], capsys)
    assert code == 0, err
    return out


def test_dash_is_stdin_for_one_input(tiny_marian_dir, pair, capsys, monkeypatch):
    """`-t -` reads the translations from stdin (it is not a file named "-")."""
    reference = _reference(tiny_marian_dir, pair, capsys)
    code, out, err = _main(score_cli, ["-s", pair[0], "-t", "-", *_model(tiny_marian_dir)],
                           capsys, stdin=HYP.encode(), monkeypatch=monkeypatch)
    assert code == 0, err
    assert out == reference.replace(str(pair[1]), "-")
    assert "read standard input once into a temporary copy (5 lines)" in err
    assert not files_module._SPOOLED  # the copy is gone at the end


def test_dash_twice_is_refused(tiny_marian_dir, pair, capsys, monkeypatch):
    code, out, err = _main(score_cli, ["-s", "-", "-t", "-", *_model(tiny_marian_dir)],
                           capsys, stdin=HYP.encode(), monkeypatch=monkeypatch)
    assert code == 2 and out == "" and "standard input can be read for one input only" in err


def test_stdin_checked_line_by_line(tiny_marian_dir, pair, capsys, monkeypatch):
    code, out, err = _main(score_cli, ["-s", pair[0], "-t", "-", *_model(tiny_marian_dir)],
                           capsys, stdin=b"ok\nbad \xff byte\n", monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert "-:2: invalid UTF-8" in err


def test_pipe_fifo_and_process_substitution(tiny_marian_dir, pair, capsys, tmp_path):
    """A FIFO, /dev/stdin fed by a pipe and a process substitution `<(...)` each score like a
    regular file: none hangs or reads as empty."""
    reference = _reference(tiny_marian_dir, pair, capsys)
    src, hyp = pair
    base = [sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src),
            *_model(tiny_marian_dir)]
    piped = subprocess.run(base + ["-t", "/dev/stdin"], input=HYP, env=subprocess_env(),
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == reference.replace(str(hyp), "/dev/stdin")
    assert "not a regular file" in piped.stderr

    fifo = tmp_path / "fifo1"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "w") as out:
            out.write(HYP)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    named = subprocess.run(base + ["-t", str(fifo), "--quiet"], env=subprocess_env(), capture_output=True,
                           text=True, timeout=120)
    thread.join(5)
    assert named.returncode == 0, named.stderr
    assert named.stdout == reference.replace(str(hyp), str(fifo))

    command = (f"{sys.executable} -m sigmoid_qe.cli.score -s <(cat {src}) -t <(cat {hyp}) "
               f"--model {tiny_marian_dir} --device cpu --quiet")
    substituted = subprocess.run(["bash", "-c", command], env=subprocess_env(), capture_output=True,
                                 text=True, timeout=120)
    assert substituted.returncode == 0, substituted.stderr
    scores = [line.rsplit("\t", 1)[1] for line in substituted.stdout.splitlines()]
    assert scores == [line.rsplit("\t", 1)[1] for line in reference.splitlines()]


def test_filter_and_rerank_read_stdin(tiny_marian_dir, pair, capsys, monkeypatch, tmp_path):
    tsv = "".join(f"{s}\t{t}\n" for s, t in zip(SRC.splitlines(), HYP.splitlines()))
    (tmp_path / "pairs.tsv").write_text(tsv)
    argv = ["--threshold", "0", *_model(tiny_marian_dir), "--quiet"]
    code, from_file, err = _main(filter_cli, ["--tsv", tmp_path / "pairs.tsv", *argv], capsys)
    assert code == 0, err
    code, from_stdin, err = _main(filter_cli, ["--tsv", "-", *argv], capsys,
                                  stdin=tsv.encode(), monkeypatch=monkeypatch)
    assert code == 0, err
    assert from_stdin == from_file == tsv
    cands = "".join(f"{t}\n{t} extra\n" for t in HYP.splitlines())
    (tmp_path / "c.txt").write_text(cands)
    argv = ["-s", pair[0], "--num-candidates", "2", *_model(tiny_marian_dir), "--quiet"]
    code, from_file, err = _main(rerank_cli, [*argv, "-t", tmp_path / "c.txt"], capsys)
    assert code == 0, err
    code, from_stdin, err = _main(rerank_cli, [*argv, "-t", "-"], capsys,
                                  stdin=cands.encode(), monkeypatch=monkeypatch)
    assert code == 0, err
    assert from_stdin == from_file and len(from_file.splitlines()) == 5


def _shrink_after_check(monkeypatch, module, path: Path, text: str):
    """Rewrite ``path`` once the command has checked its inputs (when the model loads)."""
    original = module.load_from_args

    def load_then_change(*args, **kwargs):
        model = original(*args, **kwargs)
        path.write_text(text)
        return model
    monkeypatch.setattr(module, "load_from_args", load_then_change)


@pytest.mark.parametrize("new_text", [
    "".join(HYP.splitlines(keepends=True)[:2]),          # shrinks
    HYP.replace("um cao", "um gato"),                     # same line count, other bytes
    HYP + "uma linha a mais\n",                          # grows
])
def test_an_input_that_changes_while_scored_is_an_error(tiny_marian_dir, pair, capsys,
                                                        monkeypatch, tmp_path, new_text):
    out_file, jsonl = tmp_path / "chg.out", tmp_path / "chg.jsonl"
    _shrink_after_check(monkeypatch, score_cli, pair[1], new_text)
    code, out, err = _main(score_cli, ["-s", pair[0], "-t", pair[1], *_model(tiny_marian_dir),
                                       "--quiet", "-o", out_file, "--to-jsonl", jsonl,
                                       "--chunk-size", "2"], capsys)
    assert code == 2, err
    assert f"{pair[1]}: changed while it was read" in err and "Traceback" not in err
    assert not out_file.exists() and not jsonl.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_filter_input_that_changes_is_an_error(tiny_marian_dir, pair, capsys, monkeypatch,
                                               tmp_path):
    _shrink_after_check(monkeypatch, filter_cli, pair[1], "".join(HYP.splitlines(True)[:3]))
    code, out, err = _main(filter_cli, ["-s", pair[0], "-t", pair[1], *_model(tiny_marian_dir),
                                        "--quiet", "--keep-top", "50%", "-o",
                                        tmp_path / "kept.tsv"], capsys)
    assert code == 2 and "changed while it was read" in err, err
    assert not (tmp_path / "kept.tsv").exists()


def test_zip_lines_checks_every_file_ends_together(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1\n2\n3\n")
    b.write_text("1\n2\n")
    with pytest.raises(InputError, match="changed while it was read"):
        list(files_module.zip_lines(a, b, expected=3))
    b.write_text("1\n2\n3\n")
    assert files_module.count_lines(a) == 3 and files_module.count_lines(b) == 3
    assert list(files_module.zip_lines(a, b, expected=3)) == [("1", "1"), ("2", "2"), ("3", "3")]


def test_eval_reads_its_table_and_an_added_metric_from_stdin(tmp_path, capsys, monkeypatch):
    from sigmoid_qe.cli import eval as eval_cli
    table = "src\tmt\tscore\na\tb\t1\nc\td\t2\ne\tf\t3\n"
    (tmp_path / "e.tsv").write_text(table)
    (tmp_path / "m.txt").write_text("0.1\n0.5\n0.2\n")
    argv = ["--measures", "pearson", "--format", "json"]
    code, from_files, err = _main(eval_cli, ["--tsv", tmp_path / "e.tsv", "--add-metric",
                                             f"m={tmp_path / 'm.txt'}", *argv], capsys)
    assert code == 0, err
    code, from_stdin, err = _main(eval_cli, ["--tsv", "-", "--add-metric",
                                             f"m={tmp_path / 'm.txt'}", *argv], capsys,
                                  stdin=table.encode(), monkeypatch=monkeypatch)
    assert code == 0, err
    assert from_stdin == from_files and '"value": 0.24' in from_files
    code, from_stdin, err = _main(eval_cli, ["--tsv", tmp_path / "e.tsv", "--add-metric", "m=-",
                                             *argv], capsys, stdin=b"0.1\n0.5\n0.2\n",
                                  monkeypatch=monkeypatch)
    assert code == 0 and from_stdin == from_files, err


@pytest.mark.parametrize("command", [
    ["sigmoid_qe.cli.score", "-t", "-"],
    ["sigmoid_qe.cli.filter", "--score-only"],
    ["sigmoid_qe.cli.filter", "-t", "-", "--threshold", "0"],
    ["sigmoid_qe.cli.eval", "--tsv", "-"],
    ["sigmoid_qe.cli.train", "--train", "-", "--output-dir", "run"],
])
def test_closed_standard_input_is_one_line(command, tmp_path):
    """`<&-` (Python then has no sys.stdin) used to be a traceback in every command."""
    src = tmp_path / "src"
    src.write_text(SRC)
    module, *rest = command
    if module != "sigmoid_qe.cli.eval":
        rest += ["--model", "/nonexistent/model-dir", "--lp", "en-pt"]
    if "-t" in rest:
        rest += ["-s", str(src)]
    done = subprocess.run([sys.executable, "-m", module, *rest], cwd=tmp_path,
                          env=subprocess_env(), capture_output=True, text=True, timeout=120,
                          stdin=None, preexec_fn=lambda: os.close(0))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "standard input is closed" in lines[0] and done.stdout == ""
