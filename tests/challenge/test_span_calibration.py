"""Span thresholds fitted on synthetic errors: calibration finds the separating thresholds."""
from __future__ import annotations

import pytest

from sigmoid_qe.challenge.span_calibration import CalibrationItem, calibrate


# -- calibration ---------------------------------------------------------------------------------------
def test_calibration_finds_the_separating_thresholds():
    items = []
    for k in range(60):
        words = ((0, 3), (4, 8), (9, 14))
        bad, kind = k % 3, ("major" if k % 2 else "minor")
        values = tuple(0.05 if (i == bad and kind == "major") else 0.3 if i == bad else 0.9
                       for i in range(3))
        items.append(CalibrationItem("abc defg hijkl", words, values, 0.95,
                                     ((words[bad][0], words[bad][1], kind),)))
    thresholds, report = calibrate(items)
    assert 0.3 < thresholds.minor <= 0.9 and 0.05 < thresholds.major <= 0.3
    assert report["binary_f1"] == pytest.approx(1.0) and report["severity_f1"] == pytest.approx(1.0)


def test_items_from_scores_turn_token_scores_into_word_scores():
    from sigmoid_qe.challenge.span_calibration import items_from_scores
    mt = "Eu gosto de maçãs"
    spans = [(0, 2), (2, 8), (8, 11), (11, 15), (15, 17), (17, 17)]  # ... "maç" + "ãs", EOS
    values = [0.9, 0.8, 0.95, 0.2, 0.7, 0.6]
    eos = [False] * 5 + [True]
    gold = ((12, 17, "major"),)
    [item] = items_from_scores([(mt, spans, values, eos, gold)])
    assert item.words == ((0, 2), (3, 8), (9, 11), (12, 17))
    assert item.values == pytest.approx((0.9, 0.8, 0.95, 0.2))  # the word's lowest token
    assert item.eos == pytest.approx(0.6) and item.gold == gold
