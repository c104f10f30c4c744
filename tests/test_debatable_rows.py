"""The adversary's DEBATABLE rows that were fixed (issue 18): the HTML report's data island
parses and its text is bidi-isolated (X02, X03), the report carries its signature, control
characters in a -t file name are refused (I21), an empty source is warned about like an empty
translation (I23), a word-tokenisation line matching nothing is warned about (I24), and an
mt-metrics-eval system with human scores but no output is said to be left out (M0c).
"""
from __future__ import annotations

import json
import re
import warnings

import pytest

from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.report_html import render

from metaeval_data import make_tiny_mtme
from training_helpers import single_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def _run(module, argv, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        code = module.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _model(tiny_marian_dir):
    return ["--model", tiny_marian_dir, "--device", "cpu", "--quiet"]


def test_html_data_island_parses_and_text_is_isolated(marian_qe, tmp_path):
    nasty = 'x</script><script>alert(1)</script> "q" & \u202eevil\u202c ' + "w" * 300
    result = marian_qe.score(["the cat"], [nasty], spans=True, span_threshold=(0.99, 0.5))
    page = render({"sys<&>": result}, ["the cat"])
    island = re.search(r'<script type="application/json" id="errors">(.*?)</script>', page, re.S)
    data = json.loads(island.group(1))  # what JSON.parse(el.textContent) sees
    assert list(data) == ["sys<&>"] and len(data["sys<&>"]) == 1
    assert page.count("<script") == 4  # three data islands and the script: no payload opens one
    assert 'dir="auto"' in page and "unicode-bidi:isolate" in page
    assert "overflow-wrap:anywhere" in page


def test_html_report_carries_the_signature(tiny_marian_dir, tmp_path, capsys):
    """The new user: `news.pt: <code></code>` in every report."""
    (tmp_path / "s").write_text("the cat\n")
    (tmp_path / "t").write_text("o gato\n")
    code, _, err = _run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t", "--html",
                                    tmp_path / "r.html", *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "<code></code>" not in page and "|method:" in page


def test_control_characters_in_a_translation_file_name(tiny_marian_dir, tmp_path, capsys):
    (tmp_path / "s").write_text("the cat\n")
    odd = tmp_path / "nl\nname"
    odd.write_text("o gato\n")
    code, out, err = _run(score_cli, ["-s", tmp_path / "s", "-t", odd,
                                      *_model(tiny_marian_dir)], capsys)
    assert code == 2 and out == "" and "control character (U+000A)" in err


def test_empty_source_is_warned_like_an_empty_translation(tiny_marian_dir, tmp_path, capsys):
    (tmp_path / "s").write_text("the cat\n\nthe dog\n   \n")
    (tmp_path / "t").write_text("o gato\num cao\no cao\na casa\n")
    code, out, err = _run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t",
                                      *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert f"{tmp_path / 's'}:2: empty source" in err
    assert f"{tmp_path / 's'}:4: empty source" in err
    assert out.count("Segment") == 4


def test_misaligned_word_tokenization_is_warned(tiny_marian_dir, tmp_path, capsys):
    (tmp_path / "s").write_text("the cat\na dog\n")
    (tmp_path / "t").write_text("o gato\num cao\n")
    (tmp_path / "w").write_text("o gato\nZZZ QQQ\n")
    code, _, err = _run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t", "--word-tags",
                                    tmp_path / "wt.out", "--word-tokenization", tmp_path / "w",
                                    *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert f"{tmp_path / 't'}:2: no word of its --word-tokenization line" in err
    assert ":1: no word" not in err


def test_mtme_system_with_scores_but_no_output_is_said(tmp_path, capsys):
    root = make_tiny_mtme(tmp_path)
    outputs = sorted((root / "system-outputs" / "en-de").glob("*.txt"))
    victim = next(p for p in outputs if not p.name.startswith("ref"))
    victim.unlink()
    code, out, err = _run(eval_cli, ["--mtme-root", root, "--test-set", "tiny23"], capsys)
    assert code == 0, err
    assert f"{victim.stem} has seg-level human scores but no system output" in err
    assert "left out" in err
