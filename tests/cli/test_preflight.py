"""The shared pre-flight checks and the job record: the commands that write files declare
their outputs once, and a resumed run is known by the options that shape its output, named
explicitly, not by whatever else sits on the parsed arguments."""
from __future__ import annotations

import argparse

import pytest

from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.cli.preflight import JobRecord, Outputs
from sigmoid_qe.errors import OptionError


def _dests(module):
    return {a.dest for a in module.build_parser()._actions if a.dest != "help"}


@pytest.mark.parametrize("module", [score_cli, filter_cli])
def test_every_option_is_either_in_the_resume_key_or_said_not_to_be(module):
    fields, others = set(module.RESUME_FIELDS), set(module.NOT_RESUMED)
    assert not fields & others
    assert _dests(module) == fields | others


def test_the_resume_key_ignores_what_does_not_shape_the_output(tmp_path):
    src = tmp_path / "a"
    src.write_text("x\n")
    args = score_cli.build_parser().parse_args(["-s", str(src), "-t", str(src)])
    inputs = [args.sources, *args.translations]

    def key(**changes):
        copy = argparse.Namespace(**{**vars(args), **changes})
        return JobRecord.from_args("score", copy, inputs, score_cli.RESUME_FIELDS).resume_key()

    assert key() == key(quiet=True) == key(resume=True)
    assert key() == key(total=7, counted=3)  # attributes set while running change nothing
    assert key() != key(method="entropy")
    assert key() != key(output=str(tmp_path / "o"))
    other = JobRecord.from_args("filter", args, inputs, score_cli.RESUME_FIELDS)
    assert other.resume_key() != key()  # the command is part of the job


def test_the_outputs_checks_run_for_every_declared_output(tmp_path):
    outputs = Outputs((("-o", "output"), ("--dropped", "dropped")))
    source = tmp_path / "in"
    source.write_text("x\n")
    args = argparse.Namespace(output=str(tmp_path / "same"), dropped=str(tmp_path / "same"),
                              resume=False)
    with pytest.raises(OptionError):
        outputs.check(args, [str(source)], print)
    args = argparse.Namespace(output="/dev/stdout", dropped=None, resume=False)
    outputs.stdout_aliases(args)
    assert args.output == "-" and outputs.files(args) == []
    assert {type(m.OUTPUTS) for m in (score_cli, filter_cli, rerank_cli)} == {Outputs}
