"""SigmoidQEFilter in the real ``opusfilter`` command (skipped only where OpusFilter is not
installed: ``pip install -e '.[opusfilter]'`` in a clone; CI installs it through the dev extra)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sigmoid_qe.filtering import FILTER_DIRECTION

opusfilter = pytest.importorskip("opusfilter")
OPUSFILTER = shutil.which("opusfilter")
ROOT = Path(__file__).resolve().parents[1]

EN = ["The weather is very nice today and we are going to the beach.",
      "My brother bought a new car last week.",
      "Where is the nearest train station, please?",
      "Our house is big and has a beautiful garden.",
      "I like to read books in the evening.",
      "The children are playing football in the park."]
PT = ["O tempo está muito bom hoje e nós vamos para a praia.",
      "Mein Bruder hat letzte Woche ein neues Auto gekauft.",  # wrong language (German)
      "Onde fica a estação de trem mais próxima, por favor?",
      "Our house is big and has a beautiful garden.",  # untranslated copy
      "Eu gosto de ler livros à noite.",
      "As crianças estão jogando futebol no parque."]
ON_TARGET = [0, 2, 4, 5]


CONFIG = """\
common:
  output_directory: {workdir}
steps:
  - type: filter
    parameters:
      inputs: [corpus.en, corpus.pt]
      outputs: [clean.en, clean.pt]
      filters:
        - SigmoidQEFilter: {params}
          module: sigmoid_qe.opusfilter
"""
SCORE_STEP = """\
  - type: score
    parameters:
      inputs: [corpus.en, corpus.pt]
      output: scores.jsonl
      filters:
        - SigmoidQEFilter: {params}
          module: sigmoid_qe.opusfilter
"""


def run_opusfilter(workdir: Path, params: dict, with_scores: bool = True) -> subprocess.CompletedProcess:
    """The real opusfilter command on a YAML configuration as the README shows it."""
    (workdir / "corpus.en").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (workdir / "corpus.pt").write_text("\n".join(PT) + "\n", encoding="utf-8")
    flow = "{" + ", ".join(f"{k}: {v}" for k, v in params.items()) + "}"  # YAML flow mapping
    text = CONFIG.format(workdir=json.dumps(str(workdir)), params=flow)
    if with_scores:
        text += SCORE_STEP.format(params=flow)
    config = workdir / "config.yaml"
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [OPUSFILTER] if OPUSFILTER else [sys.executable, "-m", "opusfilter.cli"]
    return subprocess.run([*command, str(config)], capture_output=True, text=True, env=env,
                          timeout=600, cwd=workdir)


def read(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.skipif(OPUSFILTER is None, reason="the opusfilter command is not installed")
def test_opusfilter_drops_the_wrong_language_and_the_copy_and_thresholds(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    params = {"lp": "en-pt", "threshold": 0.0, "device": "cpu", "chunk_size": 4}
    done = run_opusfilter(first, params)
    assert done.returncode == 0, done.stderr[-3000:]
    assert read(first / "clean.en") == [EN[i] for i in ON_TARGET]
    assert read(first / "clean.pt") == [PT[i] for i in ON_TARGET]
    assert "2 translation(s) are not in Portuguese" in done.stderr  # logged once a pass
    assert "pair 2 (German)" in done.stderr and "pair 4 (English)" in done.stderr
    # type: score writes one JSON object per pair: the model's own score, off-target or not
    scores = [json.loads(line)["SigmoidQEFilter"] for line in read(first / "scores.jsonl")]
    assert len(scores) == len(EN) and all(isinstance(s, float) for s in scores)
    from sigmoid_qe import load_model
    expected = load_model("bergamot-en-pt", device="cpu").score(
        EN, PT, method="sigmoid", aggregate="mean", direction=FILTER_DIRECTION, progress=False).scores
    assert scores == pytest.approx(expected, abs=1e-5)
    # a threshold between the on-target scores keeps exactly those at or above it
    cut = sorted(scores[i] for i in ON_TARGET)[2]
    second = tmp_path / "second"
    second.mkdir()
    params["threshold"] = repr(cut - 1e-6)
    done = run_opusfilter(second, params, with_scores=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert read(second / "clean.en") == [EN[i] for i in ON_TARGET if scores[i] >= cut - 1e-6]
    assert len(read(second / "clean.en")) == 2


def test_filter_object_scores_in_chunks_and_keeps_off_target_on_request(monkeypatch):
    from sigmoid_qe.model import QEModel
    from sigmoid_qe.opusfilter import PairScore, SigmoidQEFilter
    qe = SigmoidQEFilter(lp="en-pt", threshold=0.0, device="cpu", chunk_size=4)
    assert qe.score_direction == opusfilter.CLEAN_HIGH
    calls, depth = [], []
    real = QEModel.score

    def counted(self, sources, *args, **kwargs):  # outer calls only (both directions nest)
        if not depth:
            calls.append(len(sources))
        depth.append(1)
        try:
            return real(self, sources, *args, **kwargs)
        finally:
            depth.pop()

    monkeypatch.setattr(QEModel, "score", counted)
    assert list(qe.filter(zip(EN, PT))) == [(EN[i], PT[i]) for i in ON_TARGET]
    assert calls == [4, 2]  # two chunks, not six single pairs
    monkeypatch.setattr(QEModel, "score", real)
    scores = list(qe.score(zip(EN, PT)))
    assert [s.off_target for s in scores] == [i not in ON_TARGET for i in range(len(EN))]
    assert all(isinstance(s, PairScore) and json.loads(json.dumps(s)) == float(s) for s in scores)
    keeping = SigmoidQEFilter(lp="en-pt", threshold=0.0, device="cpu", keep_off_target=True)
    assert list(keeping.filter(zip(EN, PT))) == list(zip(EN, PT))
    assert list(qe.filterfalse(zip(EN, PT))) == [(EN[i], PT[i]) for i in (1, 3)]


@pytest.mark.parametrize("params, message", [
    ({"threshold": "high"}, "threshold must be a number"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"method": "entropy", "aggregate": "prod"}, "needs a probability method"),
    ({"threshold": float("nan")}, "threshold must be a finite number"),
    ({"threshold": float("inf")}, "threshold must be a finite number"),
    ({"threshold": True}, "threshold must be a number"),
    ({"keep_off_target": "false"}, "keep_off_target must be true or false"),
    ({"keep_off_target": 1}, "keep_off_target must be true or false"),
    ({"lp": "xx-yy"}, "no offline default model for --lp xx-yy"),
    ({"direction": "sideways"}, "unknown direction 'sideways'"),
    ({"head": "/nonexistent/head"}, "head /nonexistent/head: no such head"),
    ({"batch_size": True}, "batch_size must be a positive integer"),
    ({"chunk_size": False}, "chunk_size must be a positive integer"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
])
def test_bad_parameters_are_configuration_errors(params, message):
    from sigmoid_qe.opusfilter import SigmoidQEFilter
    with pytest.raises(opusfilter.ConfigurationError, match=message):
        SigmoidQEFilter(**{"lp": "en-pt", **params})


def test_a_score_step_does_not_say_it_rejected_anything(caplog):
    """type: score writes every pair's score: its off-target warning says so; a filter step
    says "rejected"."""
    import logging

    from sigmoid_qe.opusfilter import SigmoidQEFilter
    qe = SigmoidQEFilter(lp="en-pt", threshold=0.0, device="cpu", chunk_size=4)
    with caplog.at_level(logging.WARNING, logger="sigmoid_qe.opusfilter"):
        list(qe.score(zip(EN, PT)))
    said = [r.getMessage() for r in caplog.records if "not in Portuguese" in r.getMessage()]
    assert len(said) == 1 and "rejected" not in said[0].replace("would reject", "")
    assert "their scores are the model's" in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sigmoid_qe.opusfilter"):
        list(qe.filter(zip(EN, PT)))
        list(qe.decisions(zip(EN, PT)))
    said = [r.getMessage() for r in caplog.records if "not in Portuguese" in r.getMessage()]
    assert len(said) == 2 and all(m.endswith("rejected") for m in said), said


@pytest.mark.skipif(OPUSFILTER is None, reason="the opusfilter command is not installed")
def test_a_configuration_error_comes_before_any_output_file(tmp_path):
    """A wrong pair, direction, head or NaN threshold used to be found on the first chunk,
    after OpusFilter had created empty output files (or, for NaN, everything was silently
    rejected)."""
    done = run_opusfilter(tmp_path, {"lp": "pt-en", "threshold": 0.5, "direction": "sideways"},
                          with_scores=False)
    assert done.returncode != 0 and "unknown direction" in done.stderr
    assert not (tmp_path / "clean.en").exists() and not (tmp_path / "clean.pt").exists()


def test_input_warnings_go_to_the_log_as_one_line(caplog):
    """The package's warnings (copied symbols here) reached OpusFilter's log through Python's
    default formatter, with a source line; they are logged, one line each, naming the pair."""
    import logging
    import warnings

    from sigmoid_qe.opusfilter import SigmoidQEFilter
    qe = SigmoidQEFilter(lp="pt-en", threshold=0.0, device="cpu", direction="forward")
    with warnings.catch_warnings(record=True) as shown, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        list(qe.score([("O gato dorme.", "The cat sleeps."), ("p < 0,05 e ± 2", "p < 0.05 and ± 2")]))
    assert not [w for w in shown if "SigmoidQE" in type(w.message).__name__ or "InputWarning"
                in type(w.message).__name__]
    logged = [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(logged) == 1 and logged[0].startswith("SigmoidQEFilter: pair 2 (translation): ")
    assert "\n" not in logged[0]
