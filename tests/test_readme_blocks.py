"""Every Python block of README.md runs as written, and the names it imports are exported.

The blocks are taken from the README itself, so an edit that breaks one fails here. They use
a few names the README's prose explains (``sources``, ``translations``, ...); the test binds
them to the shipped examples and refuses any other free name. A statement with a result in a
comment (``p.perturb(...).text  # 'Eu sei nadar.'``) must give that result, and a ``print``
followed by a comment line must print that line. The one statement that needs the model hub
(``model="Helsinki-NLP/..."``) may fail only with the package's one-line ModelLoadError when
the hub cannot be reached (CI is offline).
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
RESULT_COMMENT = re.compile(r"#\s*(?P<literal>'[^']*'|\[[^\]]*\])")


def _blocks():
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def _names():
    """The README's prose names, bound to the shipped examples (pt sources, en translations)."""
    pt = (ROOT / "examples" / "src.pt").read_text(encoding="utf-8").splitlines()
    en = (ROOT / "examples" / "hyp.en").read_text(encoding="utf-8").splitlines()
    return {"sources": pt, "translations": en, "corpus_pt": pt, "sources_en": en,
            "translations_pt": pt}


def _free_names(tree: ast.Module):
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}
    return used - assigned - imported - set(dir(builtins))


def test_the_readme_has_its_python_blocks():
    blocks = _blocks()
    assert len(blocks) >= 2
    assert any("SigmoidQE" in b for b in blocks) and any("Perturber" in b for b in blocks)


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_python_block_runs(index, monkeypatch):
    from sigmoid_qe.errors import ModelLoadError
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # fail fast where the hub is unreachable
    source = _blocks()[index]
    tree = ast.parse(source)
    names = _names()
    free = _free_names(tree)
    assert free <= set(names), f"README block {index} uses names the test does not know: {free}"
    namespace = dict(names)
    lines = source.splitlines()
    checked = 0
    for statement in tree.body:
        code = ast.get_source_segment(source, statement)
        needs_hub = "Helsinki-NLP/" in code
        printed = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore")
            try:
                if isinstance(statement, ast.Expr):
                    value = eval(compile(ast.Expression(statement.value), "README", "eval"),
                                 namespace)
                else:
                    exec(compile(ast.Module([statement], []), "README", "exec"), namespace)
                    value = None
            except ModelLoadError as exc:
                if needs_hub and ("hub" in str(exc) or "offline" in str(exc).lower()
                                  or "cannot be reached" in str(exc)):
                    continue  # offline CI: the documented one-line error, not a traceback
                raise
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
