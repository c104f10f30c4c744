"""Training options: the default learning rate is the one that works."""
from __future__ import annotations

from sigmoid_qe.cli import train as train_cli


def test_default_learning_rate_is_the_working_one():
    from sigmoid_qe.training import TrainOptions
    assert TrainOptions().lr == 1e-3
    assert train_cli.build_parser().parse_args(["--train", "x", "--output-dir", "o", "--model",
                                                "m"]).lr == 1e-3
