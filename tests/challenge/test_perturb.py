"""Each perturbation changes exactly what it says, is reproducible, and says None when it cannot."""
from collections import Counter

import pytest

from sigmoid_qe.challenge.perturb import KINDS, Perturber, build_vocabulary, challenge_set, perturb
from sigmoid_qe.challenge.wordlists import LanguageProfile, get_profile, register_language, words

PT = "O médico disse que o estudo ainda está dando os primeiros passos em 2016."
EN = "The doctor said that the research was still in its early days in 2016."
VOCAB = ["cadeira", "janela", "montanha", "rio"]


def tokens(text):
    return [m.group() for m in words(text)]


def test_deletion_removes_exactly_one_content_word():
    for seed in range(10):
        out = perturb(PT, "deletion", "pt", seed=seed)
        before, after = Counter(tokens(PT)), Counter(tokens(out.text))
        removed = before - after
        assert sum(removed.values()) == 1 and not (after - before)
        (word,) = removed
        assert get_profile("pt").is_content(word)
        assert out.kind == "deletion"
        assert "  " not in out.text


def test_deletion_of_first_word_recapitalises():
    out = Perturber("en", seed=0).perturb("Doctors agree.", "deletion")
    assert out.text in ("Agree.", "Doctors.")


def test_number_changes_one_digit_or_number_word():
    out = perturb(PT, "number", "pt", seed=3)
    cut = PT.index("2016")
    assert out.text[:cut] == PT[:cut] and out.text[cut + 4:] == PT[cut + 4:]
    new = out.text[cut:cut + 4]
    assert new != "2016" and new.isdigit() and new[0] != "0"
    assert sum(a != b for a, b in zip(new, "2016")) == 1
    words_out = perturb("I bought two apples.", "number", "en", seed=0).text.split()
    assert [words_out[0], words_out[1], words_out[3]] == ["I", "bought", "apples."]
    assert words_out[2] in get_profile("en").number_words["two"]


@pytest.mark.parametrize("lang,text,expected", [
    ("en", "I don't know.", "I do know."),
    ("en", "It is not mine.", "It is mine."),
    ("en", "He is a doctor.", "He is not a doctor."),
    ("en", "Are you French?", "Aren't you French?"),
    ("en", "Tom cooked dinner.", "Tom never cooked dinner."),
    ("pt", "Eu não sei nadar.", "Eu sei nadar."),
    ("pt", "Não sei nadar.", "Sei nadar."),
    ("pt", "Ele se tornou famoso.", "Ele não se tornou famoso."),
    ("pt", "Tom cozinhou o jantar.", "Tom não cozinhou o jantar."),
])
def test_negation_added_or_removed(lang, text, expected):
    out = perturb(text, "negation", lang)
    assert out.text == expected and out.kind == "negation"


def test_swap_exchanges_two_different_content_words():
    out = perturb(PT, "swap", "pt", seed=1)
    a, b = tokens(PT), tokens(out.text)
    assert Counter(a) == Counter(b) and a[0] == b[0]
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    assert len(diff) == 2
    i, j = diff
    assert a[i] == b[j] and a[j] == b[i]
    assert all(get_profile("pt").is_content(a[k]) for k in diff)


def test_replacement_uses_the_vocabulary_once():
    out = Perturber("pt", vocabulary=VOCAB, seed=2).perturb(PT, "replacement")
    a, b = tokens(PT), tokens(out.text)
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    assert len(a) == len(b) and len(diff) == 1
    assert b[diff[0]].lower() in VOCAB and get_profile("pt").is_content(a[diff[0]])


def test_untranslated_copies_a_source_span():
    out = Perturber("pt", source_lang="en", seed=0).perturb(PT, "untranslated", source=EN)
    a, b = tokens(PT), tokens(out.text)
    # the words that differ form one block, and the new block is made of source words
    start = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    new_block = " ".join(b[start:end_b]).lower()
    assert new_block and new_block in " ".join(tokens(EN)).lower()
    assert 1 <= end_a - start <= 4


def test_same_seed_same_result_whatever_the_call_order():
    one = Perturber("pt", source_lang="en", vocabulary=VOCAB, seed=7)
    two = Perturber("pt", source_lang="en", vocabulary=list(reversed(VOCAB)), seed=7)
    first = {k: one.perturb(PT, k, EN) for k in KINDS}
    one.perturb("Outra frase qualquer com palavras.", "swap")
    second = {k: two.perturb(PT, k, EN) for k in reversed(KINDS)}
    assert first == second and all(v is not None for v in first.values())
    texts = {Perturber("pt", vocabulary=VOCAB, seed=s).perturb(PT, "replacement").text
             for s in range(8)}
    assert len(texts) > 1  # the seed matters


def test_not_applicable_gives_none():
    p = Perturber("en", seed=0)
    assert p.perturb("The cat sat on the mat.", "number") is None  # no number
    assert p.perturb("The cat sat.", "replacement") is None  # no vocabulary
    assert p.perturb("The cat sat.", "untranslated") is None  # no source
    assert p.perturb("Hello", "deletion") is None  # a single word
    assert p.perturb("The cat.", "swap") is None  # one content word
    assert p.perturb("The cat cat.", "swap") is None  # two equal words
    assert p.perturb("Hello world.", "untranslated", source="Hello world.") is None  # same words
    assert p.perturb("A big house.", "negation") is None  # nothing to negate
    assert perturb("Das ist nicht gut.", "negation", "de") is None  # no German rules
    with pytest.raises(ValueError):
        p.perturb("The cat.", "typo")


def test_perturb_all_only_applicable_kinds():
    out = Perturber("en", seed=0).perturb_all("The cat is on the mat.")
    assert set(out) == {"deletion", "swap", "negation"}
    assert out["negation"].text == "The cat is not on the mat."
    assert all(out[k].kind == k for k in out)


def test_build_vocabulary_is_sorted_content_words():
    vocab = build_vocabulary(["O gato comeu o peixe.", "o gato dormiu"], "pt")
    assert vocab == ["comeu", "dormiu", "gato", "peixe"]
    assert build_vocabulary(["O gato comeu o peixe.", "o gato dormiu"], "pt", min_count=2) == ["gato"]


def test_a_registered_language_is_used():
    register_language(LanguageProfile("xx", frozenset({"das", "ist"}), 2, (("zwei", "drei"),),
                                      lambda t, r: (t.replace(" ist ", " ist nicht ", 1), "nicht")))
    assert perturb("Das ist gut.", "negation", "xx-YY").text == "Das ist nicht gut."
    assert perturb("Das ist zwei.", "number", "xx").text == "Das ist drei."
    assert get_profile("de").min_content_len == 4  # generic profile for unknown languages


def test_challenge_set_records():
    sources = [EN, "The cat is on the mat."]
    translations = [PT, "O gato está no tapete."]
    records = challenge_set(sources, translations, "pt", "en", seed=0)
    assert [r["index"] for r in records] == sorted(r["index"] for r in records)
    assert {r["kind"] for r in records if r["index"] == 1} >= {"deletion", "negation"}
    assert all(r["perturbed"] != r["original"] for r in records)
    assert records == challenge_set(sources, translations, "pt", "en", seed=0)
    with pytest.raises(ValueError):
        challenge_set(sources, translations[:1], "pt")
