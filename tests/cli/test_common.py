"""The shell every command shares (cli/common.py): Ctrl-C while starting exits 130 with one
line, progress bars are drawn only when stderr is a terminal, each option says in --help what
it is for, shared options are spelled from one glossary, and old spellings still parse, with
one warning line."""
from __future__ import annotations

import argparse
import importlib
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
                              "--device", "cpu", "--resamples", "50"],
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


COMMANDS = ["score", "compare", "eval", "filter", "rerank", "train", "calibrate"]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_text(name):
    parser = importlib.import_module(f"sigmoid_qe.cli.{name}").build_parser()
    silent = [action.option_strings or action.dest for action in parser._actions
              if action.help is None]
    assert silent == []


def test_sources_translations_and_device_say_what_they_are(capsys):
    from sigmoid_qe.cli import score
    with pytest.raises(SystemExit):
        score.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "-s FILE, --sources FILE source sentences" in text
    assert "--translations FILE [FILE ...] translations of the sources" in text
    assert "--device {cpu,cuda,auto} where the model runs" in text
    assert argparse.SUPPRESS not in text


def test_a_users_own_head_says_its_default_scoring_once(tiny_marian_dir, marian_qe, tmp_path,
                                                        capsys):
    """A self-trained head's default (the mean sigmoid, 0 to 1) is another scale than the
    shipped heads' sum of logs: one notice says which, unless --method chooses."""
    import warnings

    from sigmoid_qe.cli import score
    head = tmp_path / "my-head"
    marian_qe.head.save_pretrained(head)
    (tmp_path / "s.en").write_text("the cat\na dog\n", encoding="utf-8")
    (tmp_path / "t.pt").write_text("o gato\num cao\n", encoding="utf-8")
    argv = ["-s", str(tmp_path / "s.en"), "-t", str(tmp_path / "t.pt"), "--model",
            tiny_marian_dir, "--head", str(head), "--device", "cpu", "--allow-other-model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert score.main(argv) == 0
        said = [x for x in capsys.readouterr().err.splitlines() if "brings its own" in x]
        assert said == [f"sigmoid-qe: the head {head} brings its own default scoring: --method "
                        "sigmoid --aggregate mean (the mean token score, 0 to 1); --method and "
                        "--aggregate choose another"]
        assert score.main(argv + ["--method", "softmax"]) == 0
        assert "brings its own" not in capsys.readouterr().err


# -- one option vocabulary: old spellings keep working for a release, with a warning ---------------
RENAMED = [  # (command, arguments every parse needs, old spelling, new spelling, value, dest)
    ("train", ["--train", "t.tsv", "--output-dir", "run", "--model", "m"], "--temperature",
     "--negative-temperature", "1.5", "negative_temperature"),
    ("eval", [], "--out", "--output-dir", "scores", "output_dir"),
    ("eval", [], "--ci-samples", "--resamples", "50", "resamples"),
    ("compare", ["-s", "s", "-t", "t", "u"], "--n-samples", "--resamples", "50", "resamples"),
    ("calibrate", [], "--output", "--output-dir", "calibrated", "output_dir"),
]


@pytest.mark.parametrize("command, needed, old, new, value, dest", RENAMED)
def test_an_old_spelling_parses_as_the_new_one_with_one_warning(command, needed, old, new, value,
                                                                  dest, capsys):
    import importlib
    module = importlib.import_module(f"sigmoid_qe.cli.{command}")
    parsed_new = module.build_parser().parse_args([*needed, new, value])
    assert capsys.readouterr().err == ""
    parsed_old = module.build_parser().parse_args([*needed, old, value])
    assert getattr(parsed_old, dest) == getattr(parsed_new, dest)
    assert vars(parsed_old) == vars(parsed_new)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"sigmoid-qe-{command}: warning: {old} is deprecated" in err and new in err
    # --help shows the new spelling only
    with pytest.raises(SystemExit):
        module.build_parser().parse_args(["--help"])
    shown = capsys.readouterr().out
    assert new in shown and f"{old} " not in shown.replace(new, "")


def test_shared_options_are_spelled_from_the_glossary():
    """Every command adds the shared concepts through the glossary: one spelling, one dest."""
    import argparse
    import importlib

    from sigmoid_qe.cli.common import GLOSSARY
    for command in ("score", "filter", "rerank", "compare", "eval", "train", "calibrate"):
        parser = importlib.import_module(f"sigmoid_qe.cli.{command}").build_parser()
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:  # an old spelling, tested above
                continue
            for name, term in GLOSSARY.items():
                if term.flags[-1] in action.option_strings:
                    assert action.dest == name and tuple(action.option_strings) == term.flags, (
                        command, action.option_strings)
