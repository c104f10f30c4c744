"""Rules about the code base itself, checked in CI so that a cleanup lasts: test files are named
after what they test, and the harness (benchmarks/, scripts/) imports as packages, without
editing sys.path."""
from __future__ import annotations

import re
from pathlib import Path

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


#: Function-local imports allowed per package module. An import belongs at the top of its
#: module; it may move into a function only so that a command that does not need it starts
#: fast (torch, transformers, safetensors, matplotlib, sacrebleu, tqdm, py3langid,
#: sentencepiece, or a package module that pulls one in; see tests/cli/test_fast_start.py) or
#: because the dependency is optional. These counts may only go down.
LOCAL_IMPORTS = {
    "backends/__init__.py": 7, "backends/bergamot.py": 4, "backends/hf.py": 3,
    "challenge/span_calibration.py": 1, "cli/common.py": 9, "cli/compare.py": 3,
    "cli/calibrate.py": 4, "cli/eval.py": 18, "cli/filter.py": 2, "cli/rerank.py": 2,
    "cli/score.py": 9, "cli/train.py": 7, "distributed.py": 1, "head.py": 4, "languages.py": 1,
    "loading.py": 1, "metaeval/report.py": 2, "metaeval/score_testset.py": 1, "metric.py": 3,
    "opusfilter.py": 12, "outputs.py": 1, "parallel.py": 1, "progress.py": 1, "report_html.py": 1,
    "rerank.py": 3, "resume.py": 4,
    "training/checkpoint.py": 2, "training/trainer.py": 2,
}
#: Light standard-library modules gain nothing from a local import. The ones still local sit in
#: modules other work was changing at the time; they move to the top with the next cleanup.
LIGHT = {"argparse", "dataclasses", "json", "math", "os", "re", "signal", "stat", "warnings"}
LIGHT_PENDING = {("cli/common.py", "signal"),
                 ("cli/score.py", "argparse"), ("cli/score.py", "warnings"),
                 ("resume.py", "stat")}


def _local_imports():
    """(module path under sigmoid_qe/, imported module) for every import inside a function."""
    import ast
    package = REPO_ROOT / "sigmoid_qe"
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        seen = set()
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in seen:
                    seen.add(id(node))
                    names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                             else ["." * node.level + (node.module or "")])
                    found.append((str(path.relative_to(package)), names[0]))
    return found


def test_function_local_imports_stay_within_the_allow_list():
    from collections import Counter
    found = _local_imports()
    counts = Counter(module for module, _ in found)
    over = {m: (n, LOCAL_IMPORTS.get(m, 0)) for m, n in counts.items() if n > LOCAL_IMPORTS.get(m, 0)}
    assert over == {}, f"local imports over the allowance (found, allowed): {over}"
    light = {(m, name) for m, name in found if name in LIGHT} - LIGHT_PENDING
    assert light == set(), "import these at the top of the module"


def _defined(path: Path) -> set:
    """Top-level names of a module (functions, classes and their methods as Class.method,
    assignments, imported names)."""
    import ast
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{m.name}" for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def _module_file(parts):
    """The .py file of a dotted module name in this repository, or None."""
    path = (REPO_ROOT / Path(*parts)).with_suffix(".py")
    return path if path.is_file() else None


def _missing_names(text: str) -> list:
    """What a document cites that the tree lacks: paths, `python -m` modules, the names given
    in parentheses after a module path or with `in PATH`, and dotted ``sigmoid_qe.x.name``."""
    import importlib.util
    missing = []
    tree = r"(?:sigmoid_qe|benchmarks|scripts|tests|examples)/[\w./-]*"
    for path in re.findall(rf"`({tree})`", text):
        if not (REPO_ROOT / path).exists():
            missing.append(path)
    for module in re.findall(r"python3? -m ([\w.]+)", text):
        if importlib.util.find_spec(module) is None:
            missing.append(module)
    module_file = r"(?:sigmoid_qe|benchmarks|scripts)/[\w/]+\.py"
    cited = [(path, re.findall(r"`([A-Za-z_][\w.]*)`", names))
             for path, names in re.findall(rf"`({module_file})` \(([^)]*)\)", text)]
    cited += [(path, [a, b] if b else [a]) for a, b, path in re.findall(
        rf"`([\w.]+)`(?: and `([\w.]+)`)? in `({module_file})`", text)]
    for path, names in cited:
        if (REPO_ROOT / path).exists():
            known = _defined(REPO_ROOT / path)
            missing += [f"{path}:{name}" for name in names if name not in known]
    for dotted in re.findall(r"`(sigmoid_qe(?:\.\w+)+)`", text):
        parts = dotted.split(".")
        k = 1  # the longest prefix that is a module file or package, the rest a name in it
        while k < len(parts) and (_module_file(parts[:k + 1]) or (REPO_ROOT / Path(*parts[:k + 1])).is_dir()):
            k += 1
        rest = ".".join(parts[k:])
        if rest and rest not in _defined(_module_file(parts[:k]) or REPO_ROOT / Path(*parts[:k], "__init__.py")):
            missing.append(dotted)
    return missing


def test_names_cited_in_readme_and_results_exist():
    """README.md and RESULTS.md cite modules, scripts and functions by name: each must exist, so
    a rename or a move updates the docs in the same change."""
    assert _missing_names("`sigmoid_qe/methods.py` (`token_scores`, `no_such_function`), "
                          "`python -m benchmarks.no_such_bench`, `sigmoid_qe.methods.NOPE`") == [
        "benchmarks.no_such_bench", "sigmoid_qe/methods.py:no_such_function",
        "sigmoid_qe.methods.NOPE"]
    for doc in ("README.md", "benchmarks/RESULTS.md"):
        assert _missing_names((REPO_ROOT / doc).read_text(encoding="utf-8")) == [], doc


def test_qemodel_stays_small_and_load_model_takes_few_parameters():
    """QEModel holds the scoring state and thin delegates (generation, spans, directions live
    in their modules); load_model's options live in LoadOptions, not in its signature."""
    import ast
    tree = ast.parse((REPO_ROOT / "sigmoid_qe" / "model.py").read_text(encoding="utf-8"))
    nodes = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    body = nodes["QEModel"]
    assert body.end_lineno - body.lineno + 1 < 250
    args = nodes["load_model"].args
    count = (len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
             + (args.vararg is not None) + (args.kwarg is not None))
    assert count <= 8
