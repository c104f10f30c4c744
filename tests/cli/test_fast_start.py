"""Fast start: --help, --version, a bad option and the eval command's model-free work never
import torch or transformers (each checked in a fresh interpreter, where nothing is loaded yet)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["score", "compare", "eval", "filter", "rerank", "train"]

PROBE = """
import json, sys
from sigmoid_qe.cli import {module} as cli
code = cli.main({argv!r})
print(json.dumps({{"code": code, "heavy": [m for m in ("torch", "transformers") if m in sys.modules]}}),
      file=sys.stderr)
"""


def run_probe(module: str, argv) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module, argv=list(argv))],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    return json.loads(done.stderr.strip().splitlines()[-1]), done


@pytest.mark.parametrize("module", COMMANDS)
@pytest.mark.parametrize("argv, code", [(["--help"], 0), (["--version"], 0),
                                        (["--no-such-option"], 2)])
def test_no_torch_for_help_version_and_bad_options(module, argv, code):
    result, done = run_probe(module, argv)
    assert result["code"] == code
    assert result["heavy"] == [], f"sigmoid-qe {module} {argv} imported {result['heavy']}"
    if argv == ["--version"]:
        assert "0." in done.stdout  # the version is printed on stdout, as argparse does


@pytest.mark.parametrize("module, argv", [
    ("score", ["-s", "no-such-file.en", "-t", "no-such-file.pt"]),
    ("filter", ["-s", "no-such-file.en", "-t", "no-such-file.pt", "--threshold", "0.5"]),
    ("score", ["-s", "a", "-t", "b", "--method", "entropy", "--aggregate", "prod"]),
])
def test_no_torch_for_input_and_option_errors(module, argv):
    result, done = run_probe(module, argv)
    assert result["code"] == 2 and len(done.stderr.strip().splitlines()) == 2  # error + probe
    assert result["heavy"] == [], done.stderr


def test_the_probe_sees_torch_when_it_is_imported():
    """The check above can fail: importing the model module is seen."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", "import sys, sigmoid_qe.model; "
                           "print('torch' in sys.modules)"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.stdout.strip() == "True"


def test_eval_of_score_files_needs_no_torch(tmp_path):
    """sigmoid-qe-eval of ready-made scores against human scores loads no model."""
    table = tmp_path / "scores.tsv"
    rows = [("a", "x", 0.1, 0.2), ("b", "y", 0.5, 0.4), ("c", "z", 0.3, 0.35),
            ("d", "w", 0.9, 0.8), ("e", "v", 0.7, 0.75), ("f", "u", 0.2, 0.1)]
    table.write_text("src\tmt\tscore\tmine\n" + "".join("\t".join(map(str, r)) + "\n"
                                                       for r in rows), encoding="utf-8")
    result, done = run_probe("eval", ["--tsv", str(table), "--format", "json", "--quiet"])
    assert result["code"] == 0, done.stderr
    assert "mine" in done.stdout
    assert result["heavy"] == [], done.stderr


MTME = ROOT.parent / "shared" / "data" / "mt-metrics-eval-v2"


@pytest.mark.skipif(not MTME.exists(), reason="shared data not present")
def test_eval_of_wmt23_metric_scores_needs_no_torch():
    result, done = run_probe("eval", ["--mtme-root", str(MTME), "--lp", "en-de", "--metrics",
                                      "CometKiwi", "--level", "sys", "--format", "json", "--quiet"])
    assert result["code"] == 0, done.stderr
    assert "CometKiwi" in done.stdout
    assert result["heavy"] == [], done.stderr
