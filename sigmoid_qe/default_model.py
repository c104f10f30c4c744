"""Which offline default model to use when the user names none.

The only models that work with no network are the Bergamot en->pt and pt->en students, so
with no ``--model`` the pair is taken from ``--lp`` or, failing that, guessed from the texts:
a light check of which language the sources and the translations are written in. The check
uses distinctive stop words and a few characters, needs no extra dependency, and is only
asked to separate English, Portuguese and "something else" (a few other common languages are
recognised only so that, say, Spanish is refused rather than taken for Portuguese).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Dict, Optional, Sequence, Tuple

from .errors import SigmoidQEError
from .languages import LANGUAGE_NAMES, normalise_lp, split_lp

#: Pairs the offline default covers, and the model name for each.
DEFAULT_MODELS = {"en-pt": "bergamot-en-pt", "pt-en": "bergamot-pt-en"}

#: Frequent function words. Words shared by two languages are dropped below, so that each
#: hit is evidence for one language only.
_STOPWORDS: Dict[str, str] = {
    "en": "a i as so no s t don doesn didn isn the and of to is in that it for with was "
          "on are this be by not have from or at which you he she we they his her an has "
          "were been will would can there their what all if but about more when who do my "
          "your our its than them these those should could into how also only just "
          "because after before very",
    "pt": "a de me lo o os que e do da dos das em um uma para é com não no na nos nas por "
          "mais como mas foi ao ele ela das tem à seu sua ou ser quando muito há já está "
          "eu também só pelo pela até isso entre era depois sem mesmo aos ter seus quem "
          "essa esse eles elas você estão foram são num numa pelos pelas este esta isto "
          "nós lhe seja qual será ainda sobre outro outra onde assim então porque durante "
          "toda todo todos tudo",
    "es": "a de el la los las y en del es un una con no por para se su sus al lo como más "
          "pero le ya o fue este esta ha sí porque muy sin sobre también me hasta hay "
          "donde quien desde todo nos durante uno ni contra ese eso ante ellos e esto mí "
          "antes algunos qué unos yo otro otras otra él tanto esa estos mucho quienes "
          "nada muchos cual",
    "fr": "le la les de des et en un une du est que qui dans pour pas sur au avec ce il "
          "elle ne se plus par sont aux son sa ses ou mais nous vous ils leur été cette "
          "comme tout fait être avait ont",
    "de": "der die das und ist nicht ein eine zu den von mit sich des auf für im dem als "
          "auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie "
          "einem über einen so zum war haben nur oder aber vor zur bis mehr durch man",
    "it": "il di che è e la per un in non una sono del della con si da le gli dei al ma "
          "come più anche questo nel alla ha ci ho mi lo essere stato molto tutto",
}


def _distinctive(words: Dict[str, str]) -> Dict[str, frozenset]:
    sets = {lang: set(text.split()) for lang, text in words.items()}
    counts = Counter(w for s in sets.values() for w in s)
    return {lang: frozenset(w for w in s if counts[w] == 1) for lang, s in sets.items()}


#: All listed stop words (is the text in this language at all?) and the distinctive ones
#: (which of the close languages is it?).
FULL_STOPWORDS = {lang: frozenset(text.split()) for lang, text in _STOPWORDS.items()}
STOPWORDS = _distinctive(_STOPWORDS)

#: Characters that are frequent in one of the languages and rare in the others.
_CHAR_HINTS = {"pt": "ãõç", "es": "ñ¿¡", "de": "äöüß"}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

#: Share of words that must be (any of) the winning language's stop words: running text has
#: 30-50 %, other languages a few %.
MIN_COVERAGE = 0.15
#: The winner's distinctive evidence must beat the runner-up's by this factor.
MIN_MARGIN = 1.5
#: Lines looked at per file (plenty to tell languages apart; keeps the check instant).
MAX_LINES = 2000

#: Evidence for the two languages of the offline default when a text is too short for stop
#: words ("Olá mundo." / "Hello world."): characters and letter pairs frequent in one and
#: rare in the other.
_PT_MARKS = "ãõçáéíóúâêôà"
_EN_MARKS = ("w", "k", "y", "th", "sh", "ing")


def language_scores(lines: Sequence[str]) -> Dict[str, Tuple[float, float]]:
    """For each known language: (share of words in its stop-word list, share of words that
    are its distinctive stop words + half a point per hint character)."""
    full, distinct, chars = Counter(), Counter(), Counter()
    total = 0
    for line in list(lines)[:MAX_LINES]:
        lowered = line.lower()
        words = _WORD.findall(lowered)
        total += len(words)
        for word in words:
            for lang in STOPWORDS:
                if word in FULL_STOPWORDS[lang]:
                    full[lang] += 1
                    if word in STOPWORDS[lang]:
                        distinct[lang] += 1
        for lang, hints in _CHAR_HINTS.items():
            chars[lang] += sum(lowered.count(c) for c in hints)
    total = max(total, 1)
    return {
        lang: (full[lang] / total, (distinct[lang] + 0.5 * chars[lang]) / total)
        for lang in STOPWORDS
    }


def guess_language(lines: Sequence[str]) -> Optional[str]:
    """"en", "pt", another known code, or None when the text is too unclear to say."""
    scores = language_scores(lines)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1][1])
    (best, (coverage, top)), (_, (_, second)) = ranked[0], ranked[1]
    if top <= 0 or coverage < MIN_COVERAGE or top < MIN_MARGIN * second:
        return None
    return best


def _en_pt_evidence(lines: Sequence[str]) -> Tuple[float, float]:
    """(English, Portuguese) marks per word of a short text."""
    text = " ".join(list(lines)[:MAX_LINES]).lower()
    words = max(1, len(_WORD.findall(text)))
    english = sum(text.count(mark) for mark in _EN_MARKS)
    portuguese = sum(text.count(mark) for mark in _PT_MARKS)
    return english / words, portuguese / words


_LATIN = re.compile(r"^[\sA-Za-z\u00C0-\u024F\d\W]*$")


def guess_pair_from_marks(sources: Sequence[str], hypotheses: Sequence[str]) -> Optional[str]:
    """en-pt or pt-en for texts too short for :func:`guess_language` (one side or both
    unrecognised), when the two sides' English and Portuguese letter marks point opposite
    ways; else None. Only Latin-script texts qualify."""
    texts = [" ".join(list(side)[:MAX_LINES]) for side in (sources, hypotheses)]
    if not all(_LATIN.match(t) and _WORD.search(t) for t in texts):
        return None
    (src_en, src_pt), (hyp_en, hyp_pt) = _en_pt_evidence(sources), _en_pt_evidence(hypotheses)
    if src_pt >= hyp_pt and hyp_en >= src_en and (src_pt > hyp_pt or hyp_en > src_en):
        return "pt-en"
    if hyp_pt >= src_pt and src_en >= hyp_en and (hyp_pt > src_pt or src_en > hyp_en):
        return "en-pt"
    return None


def choose_default_model(
    sources: Sequence[str], hypotheses: Optional[Sequence[str]], lp: Optional[str] = None
) -> Tuple[str, str]:
    """(model name, language pair) of the offline default for these texts (``hypotheses``
    None: for translating ``sources``).

    With ``lp`` given it must be en-pt or pt-en; otherwise the pair is inferred from the
    languages of the two sides (or, for texts too short for that, from the letters each side
    uses). Raises :class:`SigmoidQEError` with a message saying what was seen and what to do
    when the pair is not one the default covers.
    """
    if lp is not None:
        pair = normalise_lp(lp)
        if pair not in DEFAULT_MODELS:
            raise SigmoidQEError(
                f"no offline default model for --lp {lp}: the built-in models cover en-pt and "
                "pt-en only; give a Hugging Face model with --model"
            )
        return DEFAULT_MODELS[pair], pair
    src = guess_language(sources)
    if hypotheses is None:  # translating: the source language decides
        if src in ("en", "pt"):
            pair = "en-pt" if src == "en" else "pt-en"
            return DEFAULT_MODELS[pair], pair
        raise SigmoidQEError(
            f"cannot pick a default model: the sources look {_describe(src)}; the built-in "
            "offline models translate en-pt and pt-en only. Pass --lp en-pt or --lp pt-en if "
            "that is the pair, or --model for another one")
    hyp = guess_language(hypotheses)
    pair = f"{src}-{hyp}"
    if pair in DEFAULT_MODELS:
        return DEFAULT_MODELS[pair], pair
    if src in (None, "en", "pt") and hyp in (None, "en", "pt") and (src is None or hyp is None):
        short = guess_pair_from_marks(sources, hypotheses)
        if short is not None and (src is None or short.startswith(src)) \
                and (hyp is None or short.endswith(hyp)):
            return DEFAULT_MODELS[short], short
    seen = f"sources look {_describe(src)}, translations look {_describe(hyp)}"
    raise SigmoidQEError(
        f"cannot pick a default model: {seen}; the built-in offline models cover en-pt and "
        "pt-en only. Pass --lp en-pt or --lp pt-en if that is the pair, or --model for "
        "another one"
    )


def _describe(lang: Optional[str]) -> str:
    if lang is None:
        return "like no language recognised"
    return LANGUAGE_NAMES.get(lang, lang)


def resolve_model_name(model: Optional[str], sources: Sequence[str],
                       hypotheses: Optional[Sequence[str]],
                       lp: Optional[str] = None) -> Tuple[str, Optional[str], bool]:
    """(model name, language pair, whether the default was picked for the user): the one
    place that decides which model scores when ``model`` is None (CLI and ``score()``)."""
    if model is not None:
        return model, lp, False
    name, pair = choose_default_model(sources, hypotheses, lp)
    return name, pair, True


def direction_warning(lp: Optional[str], sources: Sequence[str],
                      hypotheses: Sequence[str]) -> Optional[str]:
    """A warning when the texts look like another language pair than the model's ``lp``
    (e.g. pt->en files scored with the en->pt model), else None. Only languages the light
    check recognises can contradict; unclear texts never warn."""
    try:
        model_src, model_tgt = split_lp(normalise_lp(lp)) if lp else (None, None)
    except SigmoidQEError:
        return None
    if model_src is None:
        return None
    src, hyp = guess_language(sources), guess_language(hypotheses)
    model_src, model_tgt = model_src.split("_")[0], model_tgt.split("_")[0]
    wrong = [(side, seen, want) for side, seen, want in (("sources", src, model_src),
                                                        ("translations", hyp, model_tgt))
             if seen is not None and seen in STOPWORDS and want in STOPWORDS and seen != want]
    if not wrong:
        return None
    if src == model_tgt and hyp == model_src:
        return (f"the files look like {src}-{hyp} (sources {_describe(src)}, translations "
                f"{_describe(hyp)}), but the model translates {model_src}-{model_tgt}: are "
                f"source and translation swapped, or is it the wrong --lp/--model?")
    said = "; ".join(f"{side} look {_describe(seen)}, not {_describe(want)}"
                     for side, seen, want in wrong)
    return f"{said}: the model translates {model_src}-{model_tgt} (wrong --lp or --model?)"
