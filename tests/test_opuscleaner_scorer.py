"""The OpusCleaner filter: ``sigmoid-qe-filter --score-only`` reads source<TAB>target lines on
stdin and prints one score per line, as OpusCleaner's threshold.py expects; the shipped filter
definition is valid for OpusCleaner and its command filters a corpus (these two parts run
where OpusCleaner is installed)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sigmoid_qe.filtering import FILTER_DIRECTION
from sigmoid_qe.opuscleaner import FILTER_JSON

ROOT = Path(__file__).resolve().parents[1]
EN = ["The weather is very nice today and we are going to the beach.",
      "Our house is big and has a beautiful garden.",
      "My brother bought a new car last week.",
      "Where is the nearest train station, please?"]
PT = ["O tempo está muito bom hoje e nós vamos para a praia.",
      "Our house is big and has a beautiful garden.",  # untranslated
      "Mein Bruder hat letzte Woche ein neues Auto gekauft.",  # German
      "Onde fica a estação de trem mais próxima, por favor?"]
TSV = "".join(f"{a}\t{b}\n" for a, b in zip(EN, PT))


def env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def score_only(stdin: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.filter", "--score-only",
                           "--device", "cpu", *argv], input=stdin.encode("utf-8"),
                          capture_output=True, env=env(), timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def model_scores():
    from sigmoid_qe import load_model
    return load_model("bergamot-en-pt", device="cpu").score(
        EN, PT, method="sigmoid", aggregate="mean", direction=FILTER_DIRECTION, progress=False).scores


def test_one_score_per_stdin_line(model_scores):
    done = score_only(TSV, "--lp", "en-pt", "--chunk-size", "3")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert len(lines) == len(EN)
    scores = [float(line) for line in lines]  # what threshold.py does with each line
    assert scores[0] == pytest.approx(model_scores[0], abs=1e-5)
    assert scores[3] == pytest.approx(model_scores[3], abs=1e-5)
    assert scores[1] == scores[2] == float("-inf")  # off-target: never passes a threshold
    err = done.stderr.decode()
    assert "2 translation(s) are not in Portuguese" in err and "<stdin>:2 (English)" in err
    kept = score_only(TSV, "--lp", "en-pt", "--keep-off-target", "--quiet")
    assert [float(x) for x in kept.stdout.decode().split()] == pytest.approx(model_scores, abs=1e-5)


def test_empty_input_and_bad_lines():
    done = score_only("", "--lp", "en-pt")
    assert done.returncode == 0 and done.stdout == b""
    done = score_only(TSV + "one field only\n", "--lp", "en-pt", "--quiet")
    assert done.returncode == 2
    err = done.stderr.decode().strip().splitlines()
    assert err == ["sigmoid-qe-filter: error: <stdin>:5: expected source<TAB>target, found 1 field(s)"]
    done = score_only(TSV, "--lp", "en-pt", "--dropped", "d.tsv")
    assert done.returncode == 2 and b"--score-only prints the scores on stdout" in done.stderr


def test_scores_stream_out_chunk_by_chunk():
    """threshold.py reads a score while it still writes lines: each chunk's scores come out
    before the input ends."""
    proc = subprocess.Popen([sys.executable, "-m", "sigmoid_qe.cli.filter", "--score-only",
                             "--lp", "en-pt", "--device", "cpu", "--chunk-size", "1", "--quiet"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env(), cwd=ROOT)
    try:
        proc.stdin.write(f"{EN[0]}\t{PT[0]}\n".encode())
        proc.stdin.flush()
        first = proc.stdout.readline()  # before stdin is closed
        assert float(first) > 0
        proc.stdin.close()
        assert proc.stdout.read() == b"" and proc.wait(timeout=120) == 0
    finally:
        proc.kill()


def test_filter_definition_is_shipped_and_names_the_scorer():
    definition = json.loads(FILTER_JSON.read_text(encoding="utf-8"))
    assert definition["type"] == "bilingual"
    assert set(definition["parameters"]) >= {"THRESHOLD", "SRCLANG", "TGTLANG", "MODEL",
                                             "KEEP_OFF_TARGET"}
    assert "opuscleaner-threshold $THRESHOLD sigmoid-qe-filter --score-only" in definition["command"]
    done = subprocess.run([sys.executable, "-m", "sigmoid_qe.opuscleaner"], capture_output=True,
                          text=True, env=env())
    assert Path(done.stdout.strip()) == FILTER_JSON


def test_the_definition_in_opuscleaner_filters_a_corpus(tmp_path):
    filtering = pytest.importorskip(
        "opuscleaner.filtering", reason="OpusCleaner is not installed (pip install opuscleaner; "
                                        "README: OpusCleaner)")
    if not (shutil.which("opuscleaner-threshold") and shutil.which("sigmoid-qe-filter")):
        pytest.skip("the opuscleaner-threshold and sigmoid-qe-filter commands are not on PATH")
    definition = filtering.Filter(name="sigmoid_qe", basedir=str(FILTER_JSON.parent),
                                  **json.loads(FILTER_JSON.read_text(encoding="utf-8")))
    parameters = {k: p.default for k, p in definition.parameters.items()}
    parameters["THRESHOLD"] = 0.0
    step = filtering.FilterStep(filter="sigmoid_qe", parameters=parameters, language=None)
    command = filtering.filter_format_command(definition, step, ["en", "pt"])
    done = subprocess.run(["sh", "-c", command], input=TSV.encode("utf-8"), capture_output=True,
                          env=env(), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [f"{EN[i]}\t{PT[i]}" for i in (0, 3)]
