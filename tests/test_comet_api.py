"""COMET's predict() on a loaded model: the same numbers as score(), COMET's result names."""
from __future__ import annotations

import warnings

import pytest

from sigmoid_qe.errors import InputError, OptionError, SigmoidQEWarning

SOURCES = ["the cat sat on the mat", "a dog", "the big house"]
TRANSLATIONS = ["o gato sentou no tapete", "um cao", "a casa grande"]


def test_predict_equals_score(marian_qe):
    samples = [{"src": s, "mt": t} for s, t in zip(SOURCES, TRANSLATIONS)]
    expected = marian_qe.score(SOURCES, TRANSLATIONS, progress=False)
    got = marian_qe.predict(samples, batch_size=2, gpus=0, progress_bar=False)
    assert got.scores == expected.scores
    assert got.system_score == expected.system_score
    assert got["scores"] == got.scores  # COMET's Prediction is a dict too
    assert got.metadata.signature == expected.signature
    assert "error_spans" not in got.metadata


def test_predict_with_spans_gives_xcomets_error_spans(marian_qe):
    samples = [{"src": s, "mt": t} for s, t in zip(SOURCES, TRANSLATIONS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the untrained head has no calibrated thresholds
        expected = marian_qe.score(SOURCES, TRANSLATIONS, progress=False, spans=True,
                                   span_threshold=0.9)
        got = marian_qe.predict(samples, progress_bar=False, spans=True, span_threshold=0.9)
    assert got.metadata.error_spans == [[e.to_dict() for e in seg.errors]
                                        for seg in expected.segments]
    assert any(got.metadata.error_spans)
    assert set(got.metadata.error_spans[0][0]) == {"text", "start", "end", "severity",
                                                   "confidence"}


def test_a_reference_is_ignored_with_one_warning(marian_qe):
    samples = [{"src": s, "mt": t, "ref": t} for s, t in zip(SOURCES, TRANSLATIONS)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = marian_qe.predict(samples, progress_bar=False)
    said = [w for w in caught if issubclass(w.category, SigmoidQEWarning)
            and "'ref' is ignored" in str(w.message)]
    assert len(said) == 1
    assert got.scores == marian_qe.score(SOURCES, TRANSLATIONS, progress=False).scores


def test_bad_samples_and_gpus_are_clear(marian_qe):
    with pytest.raises(InputError, match=r"samples\[1\] has no 'mt'"):
        marian_qe.predict([{"src": "a", "mt": "b"}, {"src": "c"}])
    with pytest.raises(TypeError, match="not one dict"):
        marian_qe.predict({"src": "a", "mt": "b"})
    with pytest.raises(OptionError, match="torchrun"):
        marian_qe.predict([{"src": "a", "mt": "b"}], gpus=2)
