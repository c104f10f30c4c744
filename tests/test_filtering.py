"""sigmoid_qe.filtering: the Python filter gives the command's decisions (threshold, keep-top,
off-target pairs), the keep rule is one function, and the OpusFilter plug-in imports no command
module."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sigmoid_qe import load_model
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.filtering import Watch, accept, apply_default_direction, filter_pairs, top_mask

from cli_helpers import run
from rerank_data import CANDIDATES, EN

PT = [CANDIDATES[0][0], CANDIDATES[1][0], "Onde fica a estação de trem?", CANDIDATES[2][0]]
SRC = EN + ["Our house is big.", "He is reading a book."]
TGT = PT + ["Nossa casa é grande.", "He is reading a book."]  # the last: untranslated
UNTRANSLATED = len(SRC)  # its line


@pytest.fixture(scope="module")
def model():
    model = load_model("bergamot-en-pt", device="cpu")
    apply_default_direction(model, print)
    return model


def test_accept_is_the_keep_rule():
    assert accept(0.5, 0.5) and not accept(0.49, 0.5)
    assert accept(-3.0, None)
    assert not accept(0.9, 0.5, off_target=True)
    assert accept(0.9, 0.5, off_target=True, keep_off_target=True)


def test_filter_pairs_threshold_matches_the_command(model, tmp_path, capsys):
    pairs = list(zip(SRC, TGT))
    watch = Watch(model.backend.lp)
    decisions = list(filter_pairs(model, pairs, threshold=-1e9, chunk_size=4, watch=watch))
    assert [d.line for d in decisions] == list(range(1, len(SRC) + 1))
    # the untranslated pair is dropped whatever its score, and counted
    assert [d.keep for d in decisions] == [d.line != UNTRANSLATED for d in decisions]
    assert decisions[-1].off_target and watch.off_target.count == 1
    scores = [d.score for d in decisions]
    cut = sum(sorted(scores)[2:4]) / 2  # between two scores: no rounding at the edge
    kept = [(d.source, d.target) for d in filter_pairs(model, pairs, threshold=cut,
                                                        keep_off_target=True) if d.keep]
    assert kept == [p for p, s in zip(pairs, scores) if s >= cut]
    (tmp_path / "c.en").write_text("\n".join(SRC) + "\n")
    (tmp_path / "c.pt").write_text("\n".join(TGT) + "\n")
    code, out, err = run(filter_cli, ["-s", tmp_path / "c.en", "-t", tmp_path / "c.pt",
                                      "--threshold", cut, "--keep-off-target", "--quiet"], capsys)
    assert code == 0, err
    assert out.splitlines() == [f"{a}\t{b}" for a, b in kept]


def test_filter_pairs_keep_top_reads_twice_and_matches_the_command(model, tmp_path, capsys):
    pairs = list(zip(SRC, TGT))
    decisions = list(filter_pairs(model, lambda: iter(pairs), keep_top=50))
    assert sum(d.keep for d in decisions) == 3
    assert not decisions[UNTRANSLATED - 1].keep  # off-target: never among the kept
    (tmp_path / "c.en").write_text("\n".join(SRC) + "\n")
    (tmp_path / "c.pt").write_text("\n".join(TGT) + "\n")
    code, out, err = run(filter_cli, ["-s", tmp_path / "c.en", "-t", tmp_path / "c.pt",
                                      "--keep-top", "50%", "--quiet"], capsys)
    assert code == 0, err
    assert out.splitlines() == [f"{d.source}\t{d.target}" for d in decisions if d.keep]
    with pytest.raises(ValueError, match="twice"):
        next(filter_pairs(model, iter(pairs), keep_top=50))
    with pytest.raises(ValueError, match="not both"):
        next(filter_pairs(model, pairs, threshold=0.0, keep_top=50))


def test_opusfilter_plugin_imports_no_command_module():
    path = Path(__file__).resolve().parents[1] / "sigmoid_qe" / "opusfilter.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not [m for m in imported if m.startswith((".cli", "sigmoid_qe.cli"))], imported


def test_top_mask_keeps_exactly_k_even_with_nan():
    """A NaN score made the k-th highest NaN, and then fewer than k pairs were kept (1 of 3 at
    --keep-top 70% instead of 2); NaN now ranks lowest."""
    scores = np.array([-0.5, np.nan, -0.2])
    assert top_mask(scores, 2).tolist() == [True, False, True]
    assert top_mask(scores, 3).sum() == 3
    assert top_mask(np.array([0.1, 0.1, 0.3, 0.1]), 2).tolist() == [True, False, True, False]
