"""Language knowledge for :mod:`sigmoid_qe.challenge.perturb`: word lists and negation rules per language.

A perturbation must hit a *content* word (deleting "the" barely changes the meaning), change a
*number*, or flip a *negation*; each of these needs a little knowledge of the language. It is
kept here, as one :class:`LanguageProfile` per language, so that another language pair only
needs a new profile (``register_language``), not a new perturbation engine. English and
Portuguese are built in; any other code gets :func:`generic_profile` (content words = words of
4+ letters, digits only, no negation rules).

The lists are deliberately plain: function words that must never count as content words,
interchangeable number words, and a heuristic negation rule that is right on ordinary sentences
and, when it is unsure, returns None rather than a garbled sentence.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

#: A word token: letters, with inner apostrophes or hyphens ("don't", "contactá-lo").
WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")

#: negation(text, rng) -> (new text, detail) or None when the rule cannot apply.
NegationRule = Callable[[str, random.Random], Optional[Tuple[str, str]]]


@dataclass(frozen=True)
class LanguageProfile:
    """What the perturbations need to know about one language.

    ``number_groups``: sets of interchangeable number words (a word is replaced by another of
    its own group, so "two" becomes "seven", never "thousand").
    """

    code: str
    stopwords: FrozenSet[str] = frozenset()
    min_content_len: int = 2
    number_groups: Tuple[Tuple[str, ...], ...] = ()
    negation: Optional[NegationRule] = None
    number_words: Dict[str, Tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mapping: Dict[str, Tuple[str, ...]] = {}
        for group in self.number_groups:
            for word in group:
                mapping[word] = tuple(w for w in group if w != word)
        object.__setattr__(self, "number_words", mapping)

    def is_content(self, word: str) -> bool:
        """A word whose loss or change alters the meaning: not a function word, long enough,
        letters only (numbers have their own perturbation)."""
        low = word.lower().replace("’", "'")
        return (len(low) >= self.min_content_len and low not in self.stopwords
                and low not in self.number_words and WORD_RE.fullmatch(word) is not None)


# -- shared helpers -----------------------------------------------------------------------------
def words(text: str) -> List[re.Match]:
    """Word tokens of ``text`` with their character spans."""
    return list(WORD_RE.finditer(text))


def match_case(template: str, word: str) -> str:
    """``word`` cased like ``template`` (UPPER, Capitalised or as is)."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def delete_span(text: str, start: int, end: int) -> str:
    """Remove ``text[start:end]`` and one adjoining run of spaces; re-capitalise the sentence
    start when the first word went."""
    before, after = text[:start], text[end:]
    if before.endswith(" "):
        before = before.rstrip(" ")
        if not before:
            after = after.lstrip(" ")
    else:
        after = after.lstrip(" ")
    new = before + after
    if not before.strip() and text[start:end][:1].isupper():
        lead = len(new) - len(new.lstrip(" ,;:"))
        new = new[lead:]
        new = new[:1].upper() + new[1:]
    return new


def insert_before(text: str, pos: int, word: str) -> str:
    """Insert ``word`` and a space before character ``pos`` (a word start), keeping the
    sentence-initial capital on the new first word."""
    if pos == 0 or not text[:pos].strip():
        following = text[pos:]
        if following[:1].isupper() and not following.split(" ")[0].isupper():
            following = following[:1].lower() + following[1:]
        return text[:pos] + word[:1].upper() + word[1:] + " " + following
    return text[:pos] + word + " " + text[pos:]


# -- English ------------------------------------------------------------------------------------
EN_STOPWORDS = frozenset("""
a an the this that these those some any each every either neither no all both half
i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
it its itself we us our ours ourselves they them their theirs themselves one ones oneself
who whom whose which what whatever whoever whichever where when why how whether there here
am is are was were be been being have has had having do does did doing done
can could will would shall should may might must ought need dare
not no nor never cannot
and or but if then else than so because as while although though unless until since yet
of in on at by for with about against between into through during before after above below
to from up down out off over under again further once onto upon within without toward towards
among amongst across along around behind beside besides beyond near via per like unlike
also just only very too quite rather even still already almost often always sometimes ever
more most less least much many few several such own same other another else
s t ll d m o re ve y
i'm i've i'd i'll you're you've you'd you'll he's he'd he'll she's she'd she'll it's it'd
it'll we're we've we'd we'll they're they've they'd they'll that's there's here's what's
who's let's
don't doesn't didn't isn't aren't wasn't weren't can't couldn't won't wouldn't shouldn't
hasn't haven't hadn't mustn't mightn't needn't shan't
mr mrs ms dr etc e.g i.e vs
""".split())

EN_NUMBER_GROUPS = (
    ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
     "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"),
    ("hundred", "thousand", "million", "billion", "trillion"),
    ("hundreds", "thousands", "millions", "billions", "trillions"),
    # "second" is left out: it is also a unit of time
    ("first", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"),
)

#: Negated form -> affirmative form (removal).
EN_NEGATED = {
    "not": "", "never": "always", "cannot": "can",
    "don't": "do", "doesn't": "does", "didn't": "did", "isn't": "is", "aren't": "are",
    "wasn't": "was", "weren't": "were", "can't": "can", "couldn't": "could", "won't": "will",
    "wouldn't": "would", "shouldn't": "should", "hasn't": "has", "haven't": "have",
    "hadn't": "had", "mustn't": "must", "mightn't": "might", "needn't": "need",
}
#: Auxiliary -> negated form used after a subject ("is not") and sentence-initially ("Isn't").
EN_AUXILIARIES = {
    "is": ("is not", "isn't"), "are": ("are not", "aren't"), "was": ("was not", "wasn't"),
    "were": ("were not", "weren't"), "am": ("am not", None), "can": ("cannot", "can't"),
    "could": ("could not", "couldn't"), "will": ("will not", "won't"),
    "would": ("would not", "wouldn't"), "should": ("should not", "shouldn't"),
    "may": ("may not", None), "might": ("might not", None), "must": ("must not", "mustn't"),
    "has": ("has not", "hasn't"), "have": ("have not", "haven't"), "had": ("had not", "hadn't"),
    "does": ("does not", "doesn't"), "do": ("do not", "don't"), "did": ("did not", "didn't"),
}


def _remove_negation(text: str, rng: random.Random, negated: Dict[str, str]) -> Optional[Tuple[str, str]]:
    """Drop (or turn affirmative) one negation word, chosen with ``rng``."""
    found = [m for m in words(text) if m.group().lower().replace("’", "'") in negated]
    if not found:
        return None
    m = rng.choice(found)
    old = m.group()
    new_word = negated[old.lower().replace("’", "'")]
    if new_word:
        new = text[:m.start()] + match_case(old, new_word) + text[m.end():]
    else:
        new = delete_span(text, m.start(), m.end())
    if len(words(new)) == 0:
        return None
    return new, f"removed {old!r}"


_EN_MAIN_VERB_AUX = frozenset("has have had do does did".split())


def _en_aux_use(tokens: List[re.Match], k: int) -> bool:
    """Is token k an auxiliary we can negate? "be" forms and modals always; "have" only before
    a participle ("has been", "had left"), "do" only before a lower-case word (its verb) or
    sentence-initially, so that "We have mice" does not become "We have not mice"."""
    low = tokens[k].group().lower()
    if low not in EN_AUXILIARIES:
        return False
    if low not in _EN_MAIN_VERB_AUX:
        return True
    if k + 1 >= len(tokens):
        return False
    following = tokens[k + 1].group()
    if low in ("has", "have", "had"):
        return following.lower() == "been" or following.lower().endswith(("ed", "en", "wn"))
    return k == 0 or following.islower()


def english_negation(text: str, rng: random.Random) -> Optional[Tuple[str, str]]:
    """Remove a negation if there is one; else negate the first auxiliary ("is" -> "is not",
    initial "Is" -> "Isn't"); else put "never" before the first -ed verb; else None."""
    removed = _remove_negation(text, rng, EN_NEGATED)
    if removed is not None:
        return removed
    tokens = words(text)
    for k, m in enumerate(tokens):
        if not _en_aux_use(tokens, k):
            continue
        plain, initial = EN_AUXILIARIES[m.group().lower()]
        if k == 0:
            if initial is None:
                continue
            replacement = match_case(m.group(), initial)
        else:
            replacement = match_case(m.group(), plain)
        return text[:m.start()] + replacement + text[m.end():], f"negated {m.group()!r}"
    for m in tokens[1:]:
        word = m.group()
        if word.islower() and len(word) >= 5 and word.endswith("ed") and word not in EN_STOPWORDS:
            return insert_before(text, m.start(), "never"), f"added 'never' before {word!r}"
    return None


# -- Portuguese ---------------------------------------------------------------------------------
PT_STOPWORDS = frozenset("""
o a os as um uma uns umas este esta estes estas esse essa esses essas aquele aquela aqueles
aquelas isto isso aquilo eu tu ele ela nós vós eles elas me te se nos vos lhe lhes mim ti si
comigo contigo consigo conosco convosco meu minha meus minhas teu tua teus tuas seu sua seus
suas nosso nossa nossos nossas vosso vossa dele dela deles delas você vocês senhor senhora
que quem qual quais cujo cuja cujos cujas onde quando como porque porquê por quê quanto quanta
quantos quantas
de do da dos das em no na nos nas num numa nuns numas dum duma ao aos à às pelo pela pelos pelas
por para pra pro com sem sob sobre entre até após desde contra perante ante trás durante
mediante segundo conforme neste nesta nestes nestas nesse nessa nesses nessas naquele naquela
naqueles naquelas nisto nisso naquilo deste desta destes destas desse dessa desses dessas
daquele daquela daqueles daquelas disto disso daquilo àquele àquela
e ou mas nem pois porém contudo todavia entretanto logo portanto se caso embora enquanto
também já ainda só somente apenas mais menos muito muita muitos muitas pouco pouca poucos
poucas tão tanto tanta tantos tantas todo toda todos todas tudo nada algo alguém ninguém
algum alguma alguns algumas nenhum nenhuma cada outro outra outros outras mesmo mesma mesmos
mesmas próprio própria tal tais qualquer quaisquer bem mal aqui aí ali lá cá assim então
sempre nunca jamais não sim talvez quase
ser sou és é somos são era eras éramos eram fui foi fomos foram seja sejam fosse fossem será
serão seria seriam sido sendo
estar estou está estamos estão estava estavam esteve estiveram estivesse esteja estejam
estado estando ter tenho tem temos têm tinha tinham teve tiveram tenha tenham tido tendo
haver há havia houve haja houvesse havido
sr sra dr dra etc
""".split())

PT_NUMBER_GROUPS = (
    ("dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez", "onze", "doze",
     "treze", "quatorze", "catorze", "quinze", "dezesseis", "dezessete", "dezoito", "dezenove",
     "vinte", "trinta", "quarenta", "cinquenta", "sessenta", "setenta", "oitenta", "noventa"),
    ("duas", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez", "onze", "doze",
     "vinte", "trinta", "quarenta", "cinquenta"),
    ("milhão", "bilhão", "trilhão"),
    ("milhões", "bilhões", "trilhões"),
    ("centenas", "milhares", "dezenas"),
    # ordinals that double as other words ("segundo" = "according to", "quarto" = "room",
    # "sexta" = Friday) are left out
    ("primeiro", "terceiro", "quinto", "sexto", "sétimo", "oitavo", "nono", "décimo"),
    ("primeira", "terceira", "sétima", "oitava", "nona", "décima"),
)

PT_NEGATED = {"não": "", "nunca": "sempre", "jamais": "sempre"}
#: Common finite verb forms (auxiliaries and frequent verbs) before which "não" goes.
PT_FINITE_VERBS = frozenset("""
sou és é somos são era eram foi foram será serão seria seriam seja sejam fosse fossem
estou está estamos estão estava estavam esteve estiveram estará estarão estaria
tenho tem temos têm tinha tinham teve tiveram terá terão teria teriam
há havia houve haverá haveria
posso pode podemos podem podia podiam pôde puderam poderá poderão poderia poderiam
devo deve devemos devem devia deviam deverá deverão deveria deveriam
vou vai vamos vão ia iam
faço faz fazemos fazem fazia faziam fez fizeram fará farão faria
digo diz dizemos dizem dizia disse disseram
sei sabe sabemos sabem sabia soube
quero quer queremos querem queria quis
gosto gosta gostamos gostam gostava
preciso precisa precisamos precisam precisava
consigo consegue conseguem conseguiu
acho acha achamos acham achava
vejo vê vemos veem viu viram
""".split())
_PT_VERB_SUFFIXES = ("ou", "aram", "eram", "iram", "ava", "avam", "ará", "erá", "irá", "arão",
                     "erão", "irão", "aria", "eria", "iria", "ariam", "eriam", "iriam")
PT_CLITICS = frozenset("se me te lhe lhes nos vos".split())


def _pt_is_verb(word: str) -> bool:
    low = word.lower()
    if low in PT_FINITE_VERBS:
        return True
    return (word.islower() and len(low) >= 4 and low not in PT_STOPWORDS
            and low.endswith(_PT_VERB_SUFFIXES))


def portuguese_negation(text: str, rng: random.Random) -> Optional[Tuple[str, str]]:
    """Remove "não" (or "nunca" -> "sempre") if present; else put "não" before the first finite
    verb (before its proclitic pronoun: "não se tornou"); else None."""
    removed = _remove_negation(text, rng, PT_NEGATED)
    if removed is not None:
        return removed
    tokens = words(text)
    for k, m in enumerate(tokens):
        if _pt_is_verb(m.group()):
            start = m.start()
            if k > 0 and tokens[k - 1].group().lower() in PT_CLITICS:
                start = tokens[k - 1].start()
            return insert_before(text, start, "não"), f"added 'não' before {m.group()!r}"
    return None


# -- registry -----------------------------------------------------------------------------------
ENGLISH = LanguageProfile("en", EN_STOPWORDS, 2, EN_NUMBER_GROUPS, english_negation)
PORTUGUESE = LanguageProfile("pt", PT_STOPWORDS, 2, PT_NUMBER_GROUPS, portuguese_negation)

_PROFILES: Dict[str, LanguageProfile] = {"en": ENGLISH, "pt": PORTUGUESE}


def _base_code(code: str) -> str:
    return re.split(r"[-_]", code.strip().lower())[0]


def register_language(profile: LanguageProfile) -> None:
    """Make ``profile`` the one used for its language code (e.g. a German profile for "de")."""
    _PROFILES[_base_code(profile.code)] = profile


def generic_profile(code: str) -> LanguageProfile:
    """For a language without a profile: content words are words of 4+ letters, numbers are
    digits only, and negation does not apply."""
    return LanguageProfile(code, frozenset(), 4, (), None)


def get_profile(code: str) -> LanguageProfile:
    """The registered profile of ``code`` ("pt-BR" -> "pt"), else the generic one."""
    return _PROFILES.get(_base_code(code)) or generic_profile(code)
