"""Symbols the Bergamot vocabularies cannot spell ('<', '±', '≥', 'α'), copied from the source,
are left unscored: the model gives <unk> a probability near 0, so scoring them ranked every
correct biomedical translation with 'p < 0.05' far below the rest."""
import math
import warnings

import pytest

from sigmoid_qe import load_model
from sigmoid_qe.backends.base import copied_unknowns
from sigmoid_qe.errors import InputWarning


def test_copied_unknowns_rule():
    text, source = "p < 0.05 x", "valor p < 0,05"
    spans = [(0, 1), (1, 2), (2, 3), (3, 8), (8, 10)]
    ids = [5, 9, 0, 7, 0]  # 0 = <unk>: "<" (in the source) and " x" (not in it)
    assert copied_unknowns(ids, spans, text, source, 0) == [False, True, True, False, False]
    assert copied_unknowns(ids, spans, text, source, None) == [False] * 5


@pytest.fixture(scope="module")
def pt_en():
    return load_model("bergamot-pt-en", device="cpu")


def test_copied_symbols_are_not_scored_and_said_once(pt_en):
    src = ["O valor de p < 0,05 foi significativo (± 2).", "O gato dorme."]
    hyp = ["The p value < 0.05 was significant (± 2).", "The cat sleeps."]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pt_en.score(src, hyp, method="softmax", aggregate="prod")
    said = [w.message for w in caught if isinstance(w.message, InputWarning)
            and "cannot write" in w.message.message]
    assert len(said) == 1 and said[0].index == 0 and said[0].side == "translation"
    surfaces = [hyp[0][t.start:t.end].strip() for t in result.segments[0].tokens]
    assert "<" not in surfaces and "±" not in surfaces
    assert all(t.token_id != pt_en.backend.unk_token_id for t in result.segments[0].tokens)
    # without the symbols' cost, the right translation is not sunk by them
    assert result.scores[0] > -20


def test_unknown_text_the_source_does_not_explain_stays_scored(pt_en):
    result = pt_en.score(["O gato dorme."], ["猫は寝ている。"], method="softmax", aggregate="prod")
    unk = pt_en.backend.unk_token_id
    assert any(t.token_id == unk for t in result.segments[0].tokens)
    assert result.scores[0] < -20


def test_a_translation_of_copied_symbols_only_is_scored_on_its_eos_and_named(pt_en):
    """Without EOS, a translation whose every token is a copied symbol used to have nothing to
    score: NaN (in the system mean and in JSON), and a torch error when it was alone in a
    batch. It is scored on its EOS instead, with a warning naming that line."""
    src = ["O gato dorme.", "O cão come.", "valores ± ≥ α"]
    hyp = ["The cat sleeps.", "The dog eats.", "± ≥ α"]
    for batch_size in (1, 8):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = pt_en.score(src, hyp, include_eos=False, batch_size=batch_size)
        assert all(math.isfinite(s) for s in result.scores), result.scores
        assert math.isfinite(result.system_score)
        named = [w.message for w in caught if isinstance(w.message, InputWarning)
                 and "every token is a symbol copied" in w.message.message]
        assert [(w.index, w.side) for w in named] == [(2, "translation")]
    alone = pt_en.score(["± ≥"], ["± ≥"], include_eos=False)  # a torch error before
    assert math.isfinite(alone.scores[0])
    both = pt_en.score(src, hyp, include_eos=False, direction="both", batch_size=1)
    assert all(math.isfinite(s) for s in both.scores)


def test_a_batch_with_no_scored_position_never_reaches_the_model(pt_en):
    """A batch whose pairs have no scored token is given empty statistics without a forward
    pass (the head's reshape of zero rows used to raise)."""
    from sigmoid_qe.scoring import score_tokens
    pairs = pt_en.backend.encode(["a", "b"], ["x", "y"], include_eos=True)
    for pair in pairs:
        pair.scored[:] = [False] * len(pair.scored)
    stats = score_tokens(pt_en.backend, pt_en.head, pairs, ["sigmoid"], batch_size=1)
    assert [s.token_ids for s in stats] == [[], []] and [s.sigmoid for s in stats] == [[], []]
