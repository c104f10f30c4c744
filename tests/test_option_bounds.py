"""Every float option is finite and in range, every count bounded, in every command.

The refusals come from the option parser, so they are one line and exit 2 before any model
is loaded: the commands below name a model folder that does not exist, and the error must
still be about the option.
"""
from __future__ import annotations

import warnings

import pytest

from sigmoid_qe.cli import compare as compare_cli
from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.decoding import MAX_BEAM, Decoding
from sigmoid_qe.errors import OptionError

from training_helpers import single_thread, toy_files


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


@pytest.fixture()
def texts(tmp_path):
    (tmp_path / "s").write_text("a b\nc d\n")
    (tmp_path / "t").write_text("e f\ng h\n")
    (tmp_path / "u").write_text("e f\ng i\n")
    (tmp_path / "e.tsv").write_text("src\tmt\tscore\tm\na\tb\t1\t2\nc\td\t2\t1\ne\tf\t3\t3\n")
    return tmp_path


NO_MODEL = ["--model", "/nonexistent/model-folder"]

BAD = [
    (rerank_cli, ["-s", "{d}/s", "--generate", "3", "--decoding", "sample",
                  "--temperature", "inf"], "--temperature"),
    (rerank_cli, ["-s", "{d}/s", "--generate", "3", "--temperature", "nan",
                  "--decoding", "sample"], "--temperature"),
    (rerank_cli, ["-s", "{d}/s", "--generate", "3", "--length-penalty", "nan"],
     "--length-penalty"),
    (rerank_cli, ["-s", "{d}/s", "--generate", "3", "--decoding", "sample", "--seed", "-1"],
     "--seed"),
    (rerank_cli, ["-s", "{d}/s", "--generate", "100000"], "--generate"),
    (rerank_cli, ["-s", "{d}/s", "--generate", "4", "--beam-size", "100000"], "--beam-size"),
    (filter_cli, ["-s", "{d}/s", "-t", "{d}/t", "--threshold", "nan"], "--threshold"),
    (filter_cli, ["-s", "{d}/s", "-t", "{d}/t", "--threshold", "-inf"], "--threshold"),
    (eval_cli, ["--tsv", "{d}/e.tsv", "--ci", "--resamples", "1000000000"],
     "--resamples"),
    (compare_cli, ["-s", "{d}/s", "-t", "{d}/t", "{d}/u", "--resamples", "1000000000"],
     "--resamples"),
    (compare_cli, ["-s", "{d}/s", "-t", "{d}/t", "{d}/u", "--test", "ar", "--resamples",
                   "100000000"], "--resamples"),
    (score_cli, ["-s", "{d}/s", "-t", "{d}/t", "--spans", "--span-threshold", "nan,inf"],
     "--span-threshold"),
    (score_cli, ["-s", "{d}/s", "-t", "{d}/t", "--batch-size", "1000000000"], "--batch-size"),
    (score_cli, ["-s", "{d}/s", "-t", "{d}/t", "--chunk-size", "1000000000"], "--chunk-size"),
    (train_cli, ["--train", "{d}/e.tsv", "--output-dir", "{d}/run", "--lr", "inf"], "--lr"),
    (train_cli, ["--train", "{d}/e.tsv", "--output-dir", "{d}/run", "--negative-temperature",
                  "inf"], "--negative-temperature"),
    (train_cli, ["--train", "{d}/e.tsv", "--output-dir", "{d}/run", "--rank-weight", "nan"],
     "--rank-weight"),
    (train_cli, ["--train", "{d}/e.tsv", "--output-dir", "{d}/run", "--source-negatives",
                 "1000000"], "--source-negatives"),
]


@pytest.mark.parametrize("module,argv,flag", BAD, ids=[f"{m.__name__.split('.')[-1]}-{f}-{k}"
                                                        for k, (m, _, f) in enumerate(BAD)])
def test_refused_in_one_line_before_the_model_loads(module, argv, flag, texts, capsys):
    argv = [a.format(d=texts) for a in argv] + NO_MODEL
    code = module.main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and flag in err, err
    assert "/nonexistent" not in err  # the option, not the model, was the first error
    assert not (texts / "run").exists()


def test_decoding_api_bounds():
    for bad in (dict(strategy="sample", n=2, temperature=float("inf")),
                dict(strategy="beam", n=2, length_penalty=float("nan")),
                dict(strategy="sample", n=2, seed=-1),
                dict(strategy="beam", n=MAX_BEAM + 1),
                dict(strategy="beam", n=2, beam_size=MAX_BEAM + 1),
                dict(strategy="beam", n=0)):
        with pytest.raises(OptionError):
            Decoding(**bad)
    assert Decoding("beam", MAX_BEAM).beam == MAX_BEAM


def test_translate_n_zero_and_the_readme_form(marian_qe):
    """translate(n=0) is refused (not read as "unset"), and the README's form
    translate(srcs, n=8, decoding=Decoding("beam")) works."""
    with pytest.raises(OptionError, match="n .* must be an integer >= 1"):
        marian_qe.translate(["a b"], n=0)
    out = marian_qe.translate(["a b", "c d"], n=3, decoding=Decoding("beam"))
    assert [len(c) for c in out] == [3, 3]
    with pytest.raises(OptionError, match="asks for 2"):
        marian_qe.translate(["a b"], n=3, decoding=Decoding("beam", 2))


def test_filter_threshold_outside_the_scores_is_said(tiny_marian_dir, texts, capsys):
    """A --threshold that keeps no pair is said on stderr, not silent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        code = filter_cli.main(["-s", str(texts / "s"), "-t", str(texts / "t"), "--threshold",
                                "2", "--model", tiny_marian_dir, "--device", "cpu", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    assert "--threshold 2 kept none of the 2 pairs" in err


def test_training_that_diverges_stops_without_a_head(tiny_marian_dir, tmp_path, capsys):
    """Training that diverges (an absurd --lr) stops without writing a head of NaNs."""
    train, _ = toy_files(tmp_path / "data", n_train=16, n_dev=4)
    code = train_cli.main(["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(train),
                           "--output-dir", str(tmp_path / "run"), "--max-steps", "3",
                           "--batch-size", "8", "--lr", "1e39", "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "training diverged" in err and "Traceback" not in err, err
    assert not (tmp_path / "run" / "head.safetensors").exists()
