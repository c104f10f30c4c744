"""``sigmoid-qe-calibrate``: fitting the span model of any model and head, from human spans or
synthetic errors, writing it only where asked, refusing mistakes before work, and running from
an installed package outside the repository."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigmoid_qe.cli import calibrate as calibrate_cli
from sigmoid_qe.span_model import SpanModel

from cli_helpers import one_line, run, subprocess_env

REPO = Path(__file__).resolve().parents[2]
DEV = ["the cat sat on the mat\to gato sentou no tapete",
       "we saw 3 dogs today\tvimos 3 cães hoje",
       "she does not like fish\tela não gosta de peixe",
       "the house is big and old\ta casa é grande e velha",
       "I have 12 books\teu tenho 12 livros",
       "he is not here\tele não está aqui",
       "the red car is fast\to carro vermelho é rápido",
       "they eat bread every day\teles comem pão todos os dias",
       "the sea is blue\to mar é azul",
       "we live in a small town\tnós moramos numa cidade pequena"]


@pytest.fixture()
def dev(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("en\tpt\n" + "\n".join(DEV) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def mqm(tmp_path):
    path = tmp_path / "spans.json"
    records = [{"src": s, "mt": m, "errors": [{"start": 0, "end": len(m.split()[0]),
                                               "severity": "major" if k % 2 else "minor"}]
                if k % 3 == 0 else []}
               for k, (s, m) in enumerate(line.split("\t") for line in DEV)]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_dev_pairs_alone_fit_a_model_and_method_thresholds_into_a_new_head(
        dev, tmp_path, capsys, tiny_marian_dir):
    out = tmp_path / "calibrated"
    code, stdout, err = run(calibrate_cli.main, ["--model", tiny_marian_dir, "--head", "untrained",
                                                 "--lp", "en-pt", "--dev", dev, "--output-dir", out,
                                                 "--quiet"], capsys)
    assert code == 0, err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["span_model"] == json.loads(stdout)["span_model"]
    model = SpanModel.from_dict(config["span_model"])
    assert model.fitted_on["dev_pairs"] == len(DEV) and not model.needs_reverse
    assert set(config["span_thresholds"]) == {"sigmoid", "softmax", "entropy", "boosted", "combined"}
    assert (out / "head.safetensors").is_file()


def test_human_spans_fit_the_model_that_spans_then_use(dev, mqm, tmp_path, capsys, tiny_marian_dir):
    from sigmoid_qe import load_model
    from sigmoid_qe.span_model import TokenArrays, word_features
    out = tmp_path / "calibrated"
    code, _, err = run(calibrate_cli.main, ["--model", tiny_marian_dir, "--head", "untrained",
                                            "--lp", "en-pt", "--mqm", mqm, "--dev", dev,
                                            "--output-dir", out, "--quiet"], capsys)
    assert code == 0, err
    qe = load_model(tiny_marian_dir, head=str(out), lp="en-pt", device="cpu")
    model = qe.span_model()
    assert model is not None and model.fitted_on["human"] == ["spans.json"]
    sources = [line.split("\t")[0] for line in DEV]
    mts = [line.split("\t")[1] for line in DEV]
    result = qe.score(sources, mts, spans=True, extra_stats=["sigmoid", "softmax", "entropy",
                                                             "boosted"], progress=False)
    eos = qe.backend.eos_token_id
    for seg in result.segments:  # the spans are the span model's, word for word
        words, x = word_features(seg.hypothesis, seg.source, TokenArrays.from_tokens(seg.tokens, eos))
        assert seg.errors == model.spans(seg.hypothesis, words, model.probabilities(x))
    # --span-threshold still gives one method's thresholded spans
    plain = qe.score(sources[:2], mts[:2], method="sigmoid", spans=True, span_threshold=1.0,
                     progress=False)
    assert all(e.severity == "minor" for s in plain.segments for e in s.errors)


def test_mistakes_are_one_line_before_work_and_leave_nothing(dev, tmp_path, capsys, tiny_marian_dir):
    prog = "sigmoid-qe-calibrate"
    base = ["--model", tiny_marian_dir, "--head", "untrained", "--lp", "en-pt"]
    one_line(*run(calibrate_cli.main, base + ["--output-dir", tmp_path / "x"], capsys),
             "--mqm", prog=prog)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    one_line(*run(calibrate_cli.main, base + ["--dev", dev, "--output-dir", mine], capsys),
             "not an empty folder", prog=prog)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    one_line(*run(calibrate_cli.main, base + ["--dev", dev, "--write"], capsys),
             "--write needs", prog=prog)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"src": "a", "mt": "b", "errors": [{"start": 0, "end": 9,
                                                                      "severity": "major"}]}]),
                      encoding="utf-8")
    one_line(*run(calibrate_cli.main, base + ["--mqm", broken, "--output-dir", tmp_path / "y"], capsys),
             "broken.json", prog=prog)
    one_line(*run(calibrate_cli.main, base + ["--dev", tmp_path / "missing.tsv", "--output-dir",
                                              tmp_path / "z"], capsys), "missing.tsv", prog=prog)
    assert not any((tmp_path / n).exists() for n in ("x", "y", "z"))


def test_the_installed_command_works_outside_the_repository(dev, tmp_path, tiny_marian_dir):
    """pip installs the package (no scripts/ or benchmarks/ with it) and its console script,
    which then calibrates from another folder."""
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            "--no-build-isolation", "--target", str(target), str(REPO)],
                           capture_output=True, text=True, cwd=tmp_path)
    if build.returncode != 0:
        pytest.skip(f"pip could not build the package here: {build.stderr.strip()[-300:]}")
    script = target / "bin" / "sigmoid-qe-calibrate"
    assert script.is_file()
    env = dict(subprocess_env(), PYTHONPATH=str(target))
    done = subprocess.run([sys.executable, str(script), "--model", tiny_marian_dir, "--head",
                           "untrained", "--lp", "en-pt", "--dev", str(dev), "--output-dir",
                           str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "span_model" in json.loads((tmp_path / "out" / "config.json").read_text(encoding="utf-8"))
    assert not os.path.exists(tmp_path / "runs")
