"""sigmoid-qe-compare: identical systems, approximate randomization, the model's EOS setting, and
one file given twice under two spellings."""
from __future__ import annotations

import pytest

from sigmoid_qe import SigmoidQE, load_model
from sigmoid_qe.cli import compare as compare_cli

from cli_helpers import one_line, pair_files, run


@pytest.fixture()
def files(tmp_path):
    return pair_files(tmp_path)


# -- 7. identical systems ---------------------------------------------------------------------------------
def test_compare_says_identical_systems_are_identical(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    copy = tmp_path / "copy.pt"
    copy.write_text(hyp.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, copy, "--model", tiny_marian_dir,
                                            "--quiet"], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(str(copy)))
    assert row.endswith(f"identical to {hyp}") and "0.00" not in row.split("\t")[-1]


def test_compare_approximate_randomization(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    other = tmp_path / "other.pt"
    other.write_text("o cao\num gato azul\n", encoding="utf-8")
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir,
                                            "--test", "ar", "--resamples", "200", "--quiet"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert "approximate randomization" in lines[0] and 0 < float(lines[2].split("\t")[3]) <= 1
    assert "|ar:200|" in lines[-1]


def test_compare_and_metric_keep_the_models_eos_setting(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    other = tmp_path / "other.pt"
    other.write_text("o cao\num gato azul\n", encoding="utf-8")
    outputs = {}
    for flags in ([], ["--no-eos"]):
        code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir,
                                                "--resamples", "50", "--quiet", *flags], capsys)
        assert code == 0, err
        outputs[bool(flags)] = out
    assert "|eos:no|" in outputs[True] and "|eos:yes|" in outputs[False]
    qe = load_model(tiny_marian_dir, device="cpu", include_eos=False)
    sources = src.read_text(encoding="utf-8").splitlines()
    hyps = hyp.read_text(encoding="utf-8").splitlines()
    metric = SigmoidQE(model=qe)
    corpus = metric.corpus_score(hyps, sources)
    assert corpus.segment_scores == qe.score(sources, hyps).scores
    assert corpus.segment_scores != qe.score(sources, hyps, include_eos=True).scores
    assert "eos:no" in str(metric.get_signature())


def test_compare_same_file_two_ways_is_refused(tiny_marian_dir, files, capsys, monkeypatch):
    """`-t hyp ./hyp` is one system twice: refused in one line, not compared with itself."""
    src, hyp = files
    monkeypatch.chdir(src.parent)
    code, out, err = run(compare_cli, ["-s", src.name, "-t", hyp.name, f"./{hyp.name}",
                                       "--model", tiny_marian_dir, "--device", "cpu"], capsys)
    one_line(code, out, err, "given twice with -t", prog="sigmoid-qe-compare", alone=False)


def test_compare_warnings_name_the_system_being_scored(files, tmp_path, capsys, tiny_marian_dir):
    """A warning about the second system's line names the second system's file (it used to
    name the baseline's, which has no such line)."""
    src, hyp = files
    other = tmp_path / "other.pt"
    other.write_text("o cao\n\n", encoding="utf-8")  # line 2 empty
    code = compare_cli.main([str(a) for a in ["-s", src, "-t", hyp, other, "--model",
                                               tiny_marian_dir, "--quiet", "--n-samples", "50"]])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{other}:2: empty translation" in err, err
    assert f"{hyp}:2" not in err, err
