"""What every command shares: each option says in --help what it is for."""
from __future__ import annotations

import argparse
import importlib

import pytest

COMMANDS = ["score", "compare", "eval", "filter", "rerank", "train"]


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
