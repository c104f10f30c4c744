"""Every Python block of README.md runs as pasted, from the repository root, offline.

The blocks are taken from the README itself, so an edit that breaks one fails here, and they
run exactly as written: in an empty namespace (no name is given to them; a block that uses a
name it does not define fails), with the hub switched off, from the repository root (where a
user pastes them, next to ``examples/``). A statement with a result in a comment
(``p.perturb(...).text  # 'Eu sei nadar.'``, ``... == ...  # True``) must give that result, and
a ``print`` followed by a comment line must print that line. An example that needs the model
hub is shown as a comment.
"""
from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
RESULT_COMMENT = re.compile(r"#\s*(?P<literal>'[^']*'|\[[^\]]*\]|True\b|False\b)")


def _blocks():
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_its_python_blocks():
    blocks = _blocks()
    assert len(blocks) >= 3
    assert any("SigmoidQE" in b for b in blocks) and any("Perturber" in b for b in blocks)
    assert any(".predict(" in b for b in blocks)


def test_a_hub_model_appears_only_in_a_comment():
    for block in _blocks():
        for line in block.splitlines():
            if "Helsinki-NLP/" in line:
                assert line.lstrip().startswith("#"), line


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_python_block_runs_as_pasted(index, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(ROOT)
    source = _blocks()[index]
    tree = ast.parse(source)
    namespace = {"__name__": "__main__"}
    lines = source.splitlines()
    checked = 0
    for statement in tree.body:
        code = ast.get_source_segment(source, statement)
        printed = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore")
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), "README", "eval"),
                             namespace)
            else:
                exec(compile(ast.Module([statement], []), "README", "exec"), namespace)
                value = None
        line = lines[statement.end_lineno - 1]
        expected = RESULT_COMMENT.search("#" + line.split("#", 1)[1] if "#" in line else "")
        if expected is not None and isinstance(statement, ast.Expr):
            assert value == ast.literal_eval(expected.group("literal")), (code, value)
            checked += 1
        if printed.getvalue():
            following = lines[statement.end_lineno] if statement.end_lineno < len(lines) else ""
            assert following.startswith("# "), code
            assert printed.getvalue().strip() == following[2:].strip()
            checked += 1
    assert checked >= 1, "each README block shows at least one result the test checks"


def test_readme_exports():
    """Names the README imports from the package root are exported there."""
    import sigmoid_qe
    from sigmoid_qe import Decoding
    assert Decoding("beam", 2).n == 2 and "Decoding" in dir(sigmoid_qe)


# -- the README's commands that run from a clone, on examples/ -----------------------------------
BASH = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
COMMAND = re.compile(r"\bsigmoid-qe(?:-(compare|eval|filter|rerank|train))?(?=\s)")


def _bash_block(marker: str) -> str:
    """The README's bash block that uses ``marker``, its commands run from this checkout
    (``python -m sigmoid_qe.cli.X`` for the console scripts, which need not be installed)."""
    import shlex
    import sys
    (block,) = [b for b in BASH.findall(README.read_text(encoding="utf-8")) if marker in b]
    python = shlex.quote(sys.executable)
    return COMMAND.sub(lambda m: f"{python} -m sigmoid_qe.cli.{m.group(1) or 'score'}", block)


def _run_in_a_clone(script: str, tmp_path: Path):
    import os
    import subprocess
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_evaluation_example_runs_on_examples(tmp_path):
    done = _run_in_a_clone(_bash_block("examples/judgments.tsv"), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((tmp_path / "qe.txt").read_text().split()) == 15  # 3 systems x 5 segments
    assert "system-level pairwise accuracy" in done.stdout
    assert "SigmoidQE" in done.stdout


def test_the_training_example_runs_on_examples(tmp_path):
    done = _run_in_a_clone(_bash_block("--train examples/"), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run = tmp_path / "runs" / "toy"
    assert (run / "head.safetensors").is_file() and (run / "config.json").is_file()
    assert len(list((run / "checkpoints").glob("step-*"))) == 1
    lines = [x for x in done.stdout.splitlines() if "\tSegment " in x]
    assert len(lines) == 8  # the trained head scored examples/dev.pt
    assert "brings its own default scoring" in done.stderr
