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


def test_every_results_section_says_its_data_role():
    """RESULTS.md's "Data and roles" table is the one source for dev and test: every numbered
    section names its role with a word from the table's role column."""
    text = (REPO_ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    table = text[text.index("Data and roles"):text.index("\n## ")]
    roles = {row.split("|")[3].strip() for row in table.splitlines()
             if row.startswith("| ") and not row.startswith("| name")}
    assert {"train", "dev", "test", "none"} <= roles
    sections = re.split(r"\n(?=## \d+\. )", text)[1:]
    assert len(sections) >= 10
    for section in sections:
        heading = section.splitlines()[0]
        role = re.search(r"\*\*Data role:\*\* (\w+)", section.split("\n### ")[0])
        assert role is not None and role.group(1) in roles, heading
