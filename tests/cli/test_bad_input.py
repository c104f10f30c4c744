"""Bad input across the commands: every user mistake is one line and exit code 2 (before the
model loads where it can be), and no output is lost or damaged: output paths checked first,
written through links, FIFOs and /dev/stdout."""
from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from sigmoid_qe.cli import compare as compare_cli
from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.cli import train as train_cli

from cli_helpers import NO_MODEL, one_line, pair_files, run
from training_helpers import write_toy_tsv


@pytest.fixture()
def files(tmp_path):
    return pair_files(tmp_path)


# -- 1. output paths -------------------------------------------------------------------------------
@pytest.mark.parametrize("where,fragment", [
    ("nodir/sub/out.json", "does not exist"),
    ("/proc/out.json", "cannot write"),
    ("adir", "is a directory"),
    ("src.en", "also an input file"),
])
def test_to_json_destination_is_checked_before_scoring(tmp_path, files, capsys, where, fragment):
    (tmp_path / "adir").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", NO_MODEL,
                                          "--to-json", target], capsys)
    one_line(code, out, err, fragment)
    assert target in err  # the user's path, not a temp file
    assert src.read_text(encoding="utf-8").startswith("the cat")  # the input is untouched


def test_to_json_writes_through_links_and_fifos_and_honours_umask(tmp_path, files, capsys,
                                                                  tiny_marian_dir):
    src, hyp = files
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    old = os.umask(0o027)
    try:
        code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                            "--to-json", link, "--quiet"], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert link.is_symlink() and json.loads(real.read_text())  # the link stays, its target is written
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # 0666 minus the umask, not 0600
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                        "--to-json", fifo, "--quiet"], capsys)
    reader.join(timeout=60)
    assert code == 0 and stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not replaced
    assert json.loads(got[0])[str(hyp)][0]["mt"] == "o gato sentou no tapete"


def test_dev_stdout_redirected_to_a_file_holds_the_json_alone(files, tmp_path, tiny_marian_dir):
    """``--to-json /dev/stdout > out.txt``: out.txt is the file behind stdout, so it is written
    through, never replaced by a staged copy; the JSON takes the score lines' place (mixed in,
    they made the file invalid JSON)."""
    import subprocess
    import sys
    src, hyp = files
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        done = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t",
                               str(hyp), "--model", tiny_marian_dir, "--to-json", "/dev/stdout",
                               "--quiet"], stdout=handle, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "\tSegment 0\tscore: " not in text
    assert json.loads(text)[str(hyp)][0]["mt"] == "o gato sentou no tapete"


def test_to_json_dash_is_stdout(files, capsys, tiny_marian_dir):
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                          "--to-json", "-", "--quiet"], capsys)
    assert code == 0 and json.loads(out)[str(hyp)][1]["mt"] == "um cao"
    assert not Path("-").exists()


def test_eval_output_is_checked_first(tmp_path, capsys):
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\ne\tf\t3\t0.9\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    for target, fragment in ((tmp_path / "nodir" / "x" / "t.txt", "does not exist"),
                             (tmp_path / "adir", "is a directory"), (table, "also an input")):
        code, out, err = run(eval_cli.main, ["--tsv", table, "--output", target], capsys)
        one_line(code, out, err, fragment, prog="sigmoid-qe-eval")
    code, out, _ = run(eval_cli.main, ["--tsv", table, "--output", "-", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)


def test_train_output_dir_is_checked_before_data(tmp_path, capsys):
    code, out, err = run(train_cli.main, ["--model", NO_MODEL, "--train", tmp_path / "missing.tsv",
                                          "--lp", "en-pt", "--output-dir", "/proc/run", "--quiet"],
                         capsys)
    one_line(code, out, err, "cannot write the output folder", prog="sigmoid-qe-train")


# -- 2. mistakes: one line, exit 2, before the model ---------------------------------------------------
@pytest.mark.parametrize("main,argv,fragment,prog", [
    (score_cli.main, ["--batch-size", "0"], "--batch-size", "sigmoid-qe"),
    (score_cli.main, ["--batch-size", "-1"], "--batch-size", "sigmoid-qe"),
    (score_cli.main, ["--method", "entropy", "--aggregate", "prod"], "needs a probability", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{nonsense}"], "{nonsense}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source.upper}"], "{source.upper}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source[0]}"], "{source[0]}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source!r}"], "{source!r}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source:>9}"], "{source:>9}", "sigmoid-qe"),
    (filter_cli.main, ["--batch-size", "0", "--threshold", "0.5"], "--batch-size", "sigmoid-qe-filter"),
    (rerank_cli.main, ["--batch-size", "0", "--num-candidates", "1"], "--batch-size",
     "sigmoid-qe-rerank"),
    (score_cli.main, ["--device", "tpu"], "--device", "sigmoid-qe"),
    (compare_cli.main, ["--resamples", "0"], "--resamples", "sigmoid-qe-compare"),
    (compare_cli.main, ["--resamples", "-5"], "--resamples", "sigmoid-qe-compare"),
    (compare_cli.main, ["--seed", "-1"], "--seed", "sigmoid-qe-compare"),
    (compare_cli.main, ["--batch-size", "0"], "--batch-size", "sigmoid-qe-compare"),
    (compare_cli.main, ["--method", "entropy", "--aggregate", "mean-log"], "needs a probability",
     "sigmoid-qe-compare"),
])
def test_option_mistakes(files, capsys, main, argv, fragment, prog):
    src, hyp = files
    extra = [hyp] if main is compare_cli.main else []
    code, out, err = run(main, ["-s", src, "-t", hyp, *extra, "--model", NO_MODEL, *argv], capsys)
    one_line(code, out, err, fragment, prog=prog)


def test_compare_same_file_twice(files, capsys):
    src, hyp = files
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, hyp, "--model", NO_MODEL], capsys)
    one_line(code, out, err, "given twice", prog="sigmoid-qe-compare")


@pytest.mark.parametrize("argv,fragment", [
    (["--method", "foo"], "--method"), (["--aggregate", "foo"], "--aggregate"),
    (["--device", "foo"], "--device"), (["--method", "entropy", "--aggregate", "prod"], "probability"),
    (["--batch-size", "0"], "--batch-size"),
])
def test_eval_score_testset_options(tmp_path, capsys, argv, fragment):
    code, out, err = run(eval_cli.main, ["--mtme-root", tmp_path, "--score-testset", "--model",
                                         NO_MODEL, "--output-dir", tmp_path / "o", *argv], capsys)
    one_line(code, out, err, fragment, prog="sigmoid-qe-eval")


def test_train_negatives_larger_than_the_vocabulary(tmp_path, capsys, tiny_marian_dir):
    data = write_toy_tsv(tmp_path / "toy.tsv", 20)
    code, out, err = run(train_cli.main, ["--model", tiny_marian_dir, "--lp", "en-pt", "--train",
                                          data, "--output-dir", tmp_path / "o", "--negatives",
                                          "100000,100000", "--device", "cpu", "--quiet"], capsys)
    one_line(code, out, err, "tokens that can be negatives", prog="sigmoid-qe-train")


def test_plot_without_matplotlib_fails_before_work(tmp_path, capsys, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--plot", tmp_path / "plots"], capsys)
    one_line(code, out, err, "matplotlib", prog="sigmoid-qe-eval")


def test_add_metric_nan_and_name_collision(tmp_path, capsys):
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\ne\tf\t3\t0.9\n", encoding="utf-8")
    nan = tmp_path / "nan.txt"
    nan.write_text("0.1\nnan\n0.3\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--add-metric", f"x={nan}"], capsys)
    one_line(code, out, err, f"{nan}:2: score 'nan' is not a finite number", prog="sigmoid-qe-eval")
    good = tmp_path / "good.txt"
    good.write_text("0.1\n0.2\n0.3\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--add-metric", f"m={good}"], capsys)
    one_line(code, out, err, "already has a column named 'm'", prog="sigmoid-qe-eval")


def test_hub_names_fail_fast_offline(files, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "some-org/some-model"],
                         capsys)
    one_line(code, out, err, "cannot be reached")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    import sigmoid_qe.backends.hf as hf
    monkeypatch.setattr(hf, "HUB_HOST", "nonexistent.invalid")  # no network: no retries either
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "some-org/some-model"],
                         capsys)
    one_line(code, out, err, "cannot be reached")
