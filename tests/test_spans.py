"""Error spans: from token scores to XCOMET-style spans, word tags, the thresholds' checks and
the warning of an uncalibrated method (their evaluation: ``metaeval/test_spans.py``; their
calibration: ``challenge/test_span_calibration.py``; the CLI: ``cli/test_spans.py``)."""
from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmoid_qe.errors import OptionError
from sigmoid_qe.spans import (
    SpanThresholds,
    align_words,
    error_spans,
    segment_errors,
    word_scores,
    word_spans,
    word_tags,
)


# -- from scores to spans ---------------------------------------------------------------------------
def test_runs_merge_across_whitespace_with_severity_and_omission():
    text = "The cat  eats fish."
    words = word_spans(text)
    assert [text[s:e] for s, e in words] == ["The", "cat", "eats", "fish."]
    tokens = [(0, 3), (3, 7), (7, 13), (13, 18), (18, 19)]  # a partition, like the backends give
    values = word_scores(words, tokens, [0.9, 0.2, 0.1, 0.95, 0.3])
    assert values == [0.9, 0.2, 0.1, 0.3]  # "fish." = min of " fish" and "."
    found = error_spans(text, words, values, 0.3, SpanThresholds(0.5, 0.15))
    assert [(e.text, e.start, e.end, e.severity) for e in found] == [
        ("cat  eats fish.", 4, 19, "major"), ("", 19, 19, "minor")]  # one run, then the omission
    apart = error_spans(text, words, [0.9, 0.2, 0.7, 0.3], None, SpanThresholds(0.5, 0.15))
    assert [(e.text, e.severity) for e in apart] == [("cat", "minor"), ("fish.", "minor")]
    assert found[0].confidence == pytest.approx((0.5 - 0.1) / 0.5)
    assert error_spans(text, words, values, 0.9, SpanThresholds(0.05, 0.0)) == []


@settings(max_examples=80, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
       st.lists(st.floats(0, 1), min_size=1, max_size=40), st.floats(0, 1), st.floats(0, 1))
def test_spans_quote_the_text_exactly(text, raw, minor, major):
    words = word_spans(text)
    values = [raw[k % len(raw)] for k in range(len(words))]
    thresholds = SpanThresholds(max(minor, major), min(minor, major))
    previous_end = -1
    for error in error_spans(text, words, values, raw[0], thresholds):
        assert text[error.start:error.end] == error.text and error.start >= previous_end
        assert error.text == error.text.strip() and error.severity in ("minor", "major")
        assert 0.0 <= error.confidence <= 1.0
        previous_end = error.end


def test_segment_errors_and_word_tags_use_the_token_partition():
    text = "o gato come peixe"
    tokens = [(0, 1), (1, 6), (6, 11), (11, 17), (17, 17)]
    values = [0.9, 0.95, 0.1, 0.8, 0.2]
    eos = [False, False, False, False, True]
    thresholds = SpanThresholds(0.5, 0.15)
    errors = segment_errors(text, tokens, values, eos, thresholds)
    assert [(e.text, e.severity) for e in errors] == [("come", "major"), ("", "minor")]
    assert word_tags(text, word_spans(text), tokens, values, eos, thresholds) == ["OK", "OK", "BAD", "OK"]
    given = align_words("Der Mann, der kam.", ["Der", "Mann", ",", "der", "kam", "."])
    assert given == [(0, 3), (4, 8), (8, 9), (10, 13), (14, 17), (17, 18)]
    # a word the tokeniser escaped takes the characters up to the next word found
    assert align_words("a & b", ["a", "&amp;", "b"]) == [(0, 1), (2, 3), (4, 5)]


def test_thresholds_are_checked():
    with pytest.raises(OptionError, match="must not be above"):
        SpanThresholds(0.2, 0.5)
    with pytest.raises(OptionError, match="finite"):
        SpanThresholds(float("nan"), 0.1)


def test_uncalibrated_method_warns_once(marian_qe):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            marian_qe.score(["the cat"], ["o gato"], method="softmax", spans=True, progress=False)
    assert sum("no calibrated span thresholds for softmax" in str(w.message) for w in caught) == 1
