"""The word-level error model: features of a word, probabilities, spans with a sentence gate,
and its config entry (fitting: ``challenge/test_span_fitting.py``; the command that fits it:
``cli/test_calibrate.py``)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sigmoid_qe.errors import ModelLoadError, OptionError
from sigmoid_qe.head import SigmoidHeadConfig
from sigmoid_qe.span_model import (
    FEATURES,
    FORWARD_FEATURES,
    REVERSE_FEATURES,
    SpanModel,
    TokenArrays,
    spans_from_probabilities,
    word_features,
)


def arrays(offsets, sigmoid, softmax=None, entropy=None, eos_last=True):
    n = len(offsets)
    return TokenArrays(offsets, [eos_last and k == n - 1 for k in range(n)],
                       {"sigmoid": sigmoid, "softmax": softmax or sigmoid,
                        "entropy": entropy or [0.5] * n, "boosted": softmax or sigmoid})


def test_word_features_read_the_tokens_of_each_word():
    mt = "O gato 42 dorme"
    # tokens: "O", " ga", "to", " 42", " dorme", EOS
    fwd = arrays([(0, 1), (1, 4), (4, 6), (6, 9), (9, 15), (15, 15)],
                 [0.9, 0.5, 0.01, 0.8, 0.7, 0.99], entropy=[0.1, 2.0, 0.3, 0.2, 0.1, 0.0])
    words, x = word_features(mt, "The cat 42 sleeps", fwd)
    assert [mt[s:e] for s, e in words] == ["O", "gato", "42", "dorme"]
    col = {f: FEATURES.index(f) for f in FEATURES}
    gato = x[1]
    assert gato[col["log_sigmoid_min"]] == pytest.approx(math.log(0.01))
    assert gato[col["log_sigmoid_mean"]] == pytest.approx((math.log(0.5) + math.log(0.01)) / 2)
    assert gato[col["entropy_max"]] == pytest.approx(2.0)
    assert gato[col["subwords"]] == pytest.approx(math.log1p(2))
    assert x[2][col["copied"]] == 1.0 and x[2][col["digit"]] == 1.0  # "42" is in the source
    assert x[1][col["copied"]] == 0.0 and x[1][col["digit"]] == 0.0
    assert [r[col["position"]] for r in x] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert x[2][col["prev_log_sigmoid"]] == pytest.approx(math.log(0.01))  # gato's minimum
    # the EOS is not a word's token, and the sentence features skip it
    assert x[0][col["sent_log_sigmoid"]] == pytest.approx(np.mean(np.log([0.9, 0.5, 0.01, 0.8, 0.7])))
    assert np.isnan(x[:, [col[f] for f in REVERSE_FEATURES]]).all()
    rev = arrays([(0, 3), (3, 7), (7, 7)], [0.2, 0.8, 0.9])
    _, with_rev = word_features(mt, "The cat", fwd, rev)
    assert with_rev[0][col["rev_log_sigmoid_min"]] == pytest.approx(math.log(0.2))


def test_an_empty_translation_has_no_words():
    words, x = word_features("", "src", arrays([(0, 0)], [0.5]))
    assert words == [] and x.shape == (0, len(FEATURES))


def model(**kw):
    d = len(FORWARD_FEATURES)
    base = dict(features=FORWARD_FEATURES, mean=(0.0,) * d, scale=(1.0,) * d,
                coef=(-1.0,) + (0.0,) * (d - 1), intercept=-3.0, minor=0.3, major=0.6)
    base.update(kw)
    return SpanModel(**base)


def test_probability_grows_as_the_sigmoid_falls_and_config_round_trips():
    m = model()
    x = np.zeros((2, len(FEATURES)))
    x[0, 0], x[1, 0] = math.log(0.9), math.log(1e-4)
    p = m.probabilities(x)
    assert p[1] > p[0] and 0 < p[0] < p[1] < 1
    assert p[1] == pytest.approx(1 / (1 + math.exp(-(-math.log(1e-4) - 3.0))))
    again = SpanModel.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again == m and not m.needs_reverse
    assert model(features=FEATURES, mean=(0.0,) * len(FEATURES), scale=(1.0,) * len(FEATURES),
                 coef=(0.0,) * len(FEATURES)).needs_reverse


@pytest.mark.parametrize("bad, fragment", [
    (dict(minor=0.7, major=0.6), "thresholds"),
    (dict(intercept=float("nan")), "finite"),
    (dict(features=("log_sigmoid_min", "nonsense") + FORWARD_FEATURES[2:]), "unknown feature"),
    (dict(coef=(1.0,)), "differ in length"),
    (dict(scale=(0.0,) * len(FORWARD_FEATURES)), "positive"),
])
def test_a_broken_span_model_is_refused(bad, fragment):
    with pytest.raises(OptionError, match=fragment):
        model(**bad)


def test_a_head_config_with_a_broken_span_model_is_one_load_error():
    data = {"vocab_size": 4, "hidden_size": 2, "span_model": {"features": ["x"]}}
    with pytest.raises(ModelLoadError, match="span model"):
        SigmoidHeadConfig.from_dict(data, "h/config.json")
    with pytest.raises(ModelLoadError, match="span_model must be an object"):
        SigmoidHeadConfig.from_dict(dict(data, span_model=[1]), "h/config.json")
    good = SigmoidHeadConfig.from_dict(dict(data, span_model=model().to_dict()))
    assert SpanModel.from_dict(good.span_model) == model()


def test_spans_are_runs_of_likely_words_with_severity_and_a_sentence_gate():
    mt = "a bb ccc dd e"
    words = [(0, 1), (2, 4), (5, 8), (9, 11), (12, 13)]
    probs = [0.1, 0.4, 0.7, 0.2, 0.35]
    found = spans_from_probabilities(mt, words, probs, 0.3, 0.6)
    assert [(e.text, e.start, e.end, e.severity, e.confidence) for e in found] == [
        ("bb ccc", 2, 8, "major", 0.7), ("e", 12, 13, "minor", 0.35)]
    assert spans_from_probabilities(mt, words, probs, 0.3, 0.6, gate=0.8) == []
    assert len(spans_from_probabilities(mt, words, probs, 0.3, 0.6, gate=0.7)) == 2
    assert spans_from_probabilities(mt, [], [], 0.3, 0.6) == []


#: A new user's first try: an obvious wrong word, day, number or a dropped negation, each with
#: its correct translation (en, pt).
FIRST_TRY = [("The cat slept on the sofa.", "O gato dormiu no sofá.", "O cachorro dormiu no sofá."),
             ("The meeting is on Monday.", "A reunião é na segunda-feira.", "A reunião é na sexta-feira."),
             ("I do not like coffee.", "Eu não gosto de café.", "Eu gosto de café."),
             ("She bought 3 apples.", "Ela comprou 3 maçãs.", "Ela comprou 7 maçãs.")]


@pytest.mark.parametrize("lp", ["en-pt", "pt-en"])
def test_the_shipped_heads_mark_obvious_errors_and_leave_their_fixes_clean(lp):
    """--spans with no option: the shipped span model marks the obvious errors, in the
    translation or (a dropped word) as a source word the translation leaves out, and the
    correct translations stay clean. Measured 2026-12-07: 3 of 4 in each direction (missed:
    Monday as 'sexta-feira' en->pt, the dropped 'não' pt->en), 0 of 8 correct ones flagged."""
    import warnings

    from sigmoid_qe import load_model
    qe = load_model(f"bergamot-{lp}", device="cpu")
    assert qe.span_model() is not None
    en, good, bad = zip(*FIRST_TRY)
    if lp == "en-pt":
        sources, wrong, right = en, bad, good
    else:  # the same sentences the other way: Portuguese sources, English translations
        sources = good
        wrong = ("The dog slept on the sofa.", "The meeting is on Friday.", "I like coffee.",
                 "She bought 7 apples.")
        right = en
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flagged = qe.score(list(sources), list(wrong), spans=True, progress=False)
        clean = qe.score(list(sources), list(right), spans=True, progress=False)
    found = [bool(seg.errors or seg.source_errors) for seg in flagged.segments]
    assert sum(found) >= 3, [(s.errors, s.source_errors) for s in flagged.segments]
    false_alarms = [bool(seg.errors or seg.source_errors) for seg in clean.segments]
    assert sum(false_alarms) <= 1, [(s.errors, s.source_errors) for s in clean.segments]
    marked = {e.text for seg in flagged.segments for e in seg.errors}
    assert "7" in marked  # the wrong number, as a word of its own
