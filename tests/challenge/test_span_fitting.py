"""Fitting the word-level error model: the logistic regression, exact span counts, and the
thresholds (F1 per group, the synthetic-error constraint, severities)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmoid_qe.challenge.span_fitting import (
    SpanItem,
    _Counts,
    choose_thresholds,
    fit_logistic,
    fit_span_model,
)
from sigmoid_qe.metaeval.spans import Segment, segment_counts
from sigmoid_qe.span_model import FEATURES, FORWARD_FEATURES
from sigmoid_qe.spans import word_spans


def test_logistic_regression_finds_the_signal_and_is_calibrated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0)))
    y = (rng.random(4000) < p).astype(float)
    coef, intercept = fit_logistic(x, y, l2=1e-3)
    assert coef[0] == pytest.approx(2.0, abs=0.25) and intercept == pytest.approx(-1.0, abs=0.2)
    assert abs(coef[1]) < 0.2 and abs(coef[2]) < 0.2
    heavy = fit_logistic(x, y, l2=1e-3, weights=np.where(y == 1, 5.0, 1.0))[1]
    assert heavy > intercept  # weighting the errors up raises the base rate


spans = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30),
                           st.sampled_from(["minor", "major"])), max_size=4)


@settings(max_examples=150, deadline=None)
@given(gold=spans, cuts=st.lists(st.integers(0, 30), max_size=6, unique=True),
       severities=st.lists(st.sampled_from(["minor", "major"]), min_size=3, max_size=3))
def test_fast_counts_equal_the_wmt23_scorer(gold, cuts, severities):
    mt = "abcde fghij klmno pqrst uvwxy z"
    gold = tuple((min(a, b), max(a, b), s) for a, b, s in gold)
    cuts = sorted(cuts)
    predicted = tuple((a, b, severities[k % 3]) for k, (a, b) in enumerate(zip(cuts[::2], cuts[1::2]))
                      if a < b)
    item = SpanItem(mt, word_spans(mt), np.zeros((0, 0)), gold)
    for severity in (True, False):
        tp, _, pred = segment_counts(Segment(mt, gold, predicted), severity)
        fast_tp, fast_pred = _Counts(item).counts(predicted, severity)
        assert fast_tp == pytest.approx(tp) and fast_pred == pred


def toy_items(n=60, seed=0, group="set"):
    """Sentences of 6 words; one word in half of them is an error with a low 'sigmoid'."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        mt = "w1 w2 w3 w4 w5 w6"
        words = word_spans(mt)
        x = np.zeros((6, len(FEATURES)))
        x[:, 0] = rng.normal(-0.5, 0.3, 6)
        gold = ()
        if k % 2:
            j = int(rng.integers(6))
            x[j, 0] = rng.normal(-5, 0.5)
            gold = ((words[j][0], words[j][1], "major" if k % 4 == 1 else "minor"),)
            if k % 4 == 1:
                x[j, 0] -= 3
        out.append(SpanItem(mt, words, x, gold, group))
    return out


def test_a_fitted_model_marks_the_planted_errors_with_both_severities():
    model = fit_span_model(toy_items(), FORWARD_FEATURES)
    test = toy_items(seed=1)
    marked = [{(e.start, e.end, e.severity) for e in
               model.spans(i.mt, i.words, model.probabilities(i.matrix))} for i in test]
    gold = [set(i.gold) for i in test]
    assert sum(m == g for m, g in zip(marked, gold)) >= 0.9 * len(test)
    assert {e[2] for m in marked for e in m} == {"minor", "major"}
    assert model.fitted_on["binary_f1"] > 0.9


def test_the_synthetic_constraint_moves_the_threshold():
    # human items: errors are words with probability 0.5-0.6 among words at 0.4-0.45, so the
    # best F1 threshold is near 0.5; synthetic clean sentences hold words at 0.5-0.55 too:
    # flagging at most 25% of them needs a higher threshold
    rng = np.random.default_rng(3)
    items, probs = [], []
    for k in range(40):
        mt = "a b c d"
        p = rng.uniform(0.4, 0.45, 4)
        gold = ()
        if k % 2:
            p[1] = rng.uniform(0.5, 0.6)
            gold = ((2, 3, "major"),)
        items.append(SpanItem(mt, word_spans(mt), np.zeros((4, 1)), gold, "human"))
        probs.append(p)
    synth, synth_probs = [], []
    for k in range(40):
        mt = "a b c d"
        p = np.full(4, 0.3)
        if k % 2:  # perturbed: the changed word is very likely an error
            p[2] = 0.95
            synth.append(SpanItem(mt, word_spans(mt), np.zeros((4, 1)), ((4, 5, "major"),), "lp", "swap"))
        else:
            p[0] = rng.uniform(0.5, 0.55)
            synth.append(SpanItem(mt, word_spans(mt), np.zeros((4, 1)), (), "lp", None))
        synth_probs.append(p)
    free, *_ = choose_thresholds(items, probs, use_gate=False)
    bound, _, _, report = choose_thresholds(items, probs, synth, synth_probs, use_gate=False)
    assert free <= 0.5 < bound and report["synthetic_shortfall"] == 0
    clean_tops = sorted(p.max() for p, i in zip(synth_probs, synth) if i.kind is None)
    assert np.mean([t >= bound for t in clean_tops]) <= 0.25
