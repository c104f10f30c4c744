"""Rules about the code base itself, checked in CI so that a cleanup lasts: test files are named
after what they test, and the harness (benchmarks/, scripts/) imports as packages, without
editing sys.path."""
from __future__ import annotations

import re

from conftest import REPO_ROOT, ROUND_NAMED


def test_test_files_are_not_named_after_a_round():
    """The conftest rule catches the names earlier rounds used, and no test file has one."""
    for name in ("test_second_round_errors", "test_debatable_rows", "test_hardening",
                 "test_issue_18", "test_adversary_rows", "test_review_findings"):
        assert ROUND_NAMED.search(name), name
    for name in ("test_model", "test_spans", "test_fuzz", "test_readme_blocks", "test_outputs"):
        assert not ROUND_NAMED.search(name), name
    offenders = [p for p in (REPO_ROOT / "tests").rglob("test_*.py") if ROUND_NAMED.search(p.stem)]
    assert offenders == []


def test_the_harness_edits_no_sys_path():
    """benchmarks/ and scripts/ are packages run with `python -m` from the repository root."""
    edits = re.compile(r"sys\.path\.(insert|append)|sys\.path\s*[+=]")
    offenders = [str(p.relative_to(REPO_ROOT)) for folder in ("benchmarks", "scripts")
                 for p in sorted((REPO_ROOT / folder).rglob("*.py")) if edits.search(p.read_text())]
    assert offenders == []
    for folder in ("benchmarks", "benchmarks/gpu", "scripts"):
        assert (REPO_ROOT / folder / "__init__.py").is_file(), folder
