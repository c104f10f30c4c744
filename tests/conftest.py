"""Shared fixtures: tiny random models are built once per session (no downloads)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sigmoid_qe.threads import prefer_passive_threads

# Before any test loads torch: idle OpenMP threads sleep, here and in the commands the tests
# start (they inherit it), so the suite does not slow itself down on a shared CI runner.
prefer_passive_threads()

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory) -> str:
    from tiny_models import make_tiny_marian
    return make_tiny_marian(tmp_path_factory.mktemp("tiny_marian"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    from tiny_models import make_tiny_llama
    return make_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def marian_qe(tiny_marian_dir):
    """The tiny Marian model with its untrained head, loaded once."""
    import warnings

    from sigmoid_qe import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(tiny_marian_dir, device="cpu")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


# Tests mirror the package (tests/.../test_<module>.py) or name a cross-cutting concern
# (test_fuzz.py, test_readme_blocks.py, ...). A file named after a work round, an issue or a
# review collects tests by when they were written, not by what they test, and is refused.
ROUND_NAMED = re.compile(r"round|debatable|issue|hardening|adversar|findings", re.IGNORECASE)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.name.startswith("test_") \
            and ROUND_NAMED.search(file_path.stem):
        raise pytest.UsageError(
            f"{file_path}: test files are named after the module or the concern they test, not "
            "after a work round, issue or review; move its tests into tests/.../test_<module>.py")
