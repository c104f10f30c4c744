"""The shell every command shares (cli/common.py): Ctrl-C while starting exits 130 with one
line, and progress bars are drawn only when stderr is a terminal."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from cli_helpers import pair_files, subprocess_env
from training_helpers import toy_files


def test_progress_bars_only_on_a_terminal(tiny_marian_dir, tmp_path):
    """A redirected stderr (a log file, a pipe) gets no tqdm bars from compare or train."""
    src, hyp = pair_files(tmp_path)
    (tmp_path / "u").write_text("o cao\num gato\n")
    compare = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.compare", "-s", str(src),
                              "-t", str(hyp), str(tmp_path / "u"), "--model", tiny_marian_dir,
                              "--device", "cpu", "--n-samples", "50"],
                             env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert compare.returncode == 0, compare.stderr
    train_path, _ = toy_files(tmp_path / "data", n_train=16, n_dev=4)
    train = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.train", "--model",
                            tiny_marian_dir, "--lp", "en-pt", "--train", str(train_path),
                            "--output-dir", str(tmp_path / "run"), "--max-steps", "2",
                            "--batch-size", "8", "--device", "cpu"],
                           env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert train.returncode == 0, train.stderr
    for proc in (compare, train):
        assert "it/s" not in proc.stderr and "%|" not in proc.stderr, proc.stderr


def test_ctrl_c_while_importing_exits_130_quietly():
    """Ctrl-C in the first second, while torch is still being imported, exits 130 with one line
    instead of a traceback from inside the import."""
    proc = subprocess.Popen([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", "x", "-t", "y"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(0.4)  # python is up, torch is being imported
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 2 and "error:" in err:
        pytest.skip("the command started before the signal (a fast machine)")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "sigmoid-qe: interrupted", err
