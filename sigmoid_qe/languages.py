"""Languages: codes, names for prompts and the codes multilingual models expect; and a light
language identification.

The identification tells which language texts are written in, for the offline default model
(:mod:`.default_model`), the wrong-direction warning and the swapped pairs of a filter. It
uses distinctive stop words and a few characters, needs no extra dependency, and is only
asked to separate English, Portuguese and "something else" (a few other common languages are
recognised only so that, say, Spanish is refused rather than taken for Portuguese).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Dict, Optional, Sequence, Tuple

from .errors import OptionError, SigmoidQEError

#: ISO 639-1 (and a few 639-3) codes -> English names, for prompt templates.
LANGUAGE_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan",
    "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mr": "Marathi", "ms": "Malay",
    "mt": "Maltese", "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian",
    "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian",
    "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "vi": "Vietnamese", "xh": "Xhosa", "zh": "Chinese", "zu": "Zulu",
}

#: ISO 639-1 -> FLORES-200 codes used by NLLB tokenizers.
NLLB_CODES = {
    "ar": "arb_Arab", "bg": "bul_Cyrl", "bn": "ben_Beng", "ca": "cat_Latn", "cs": "ces_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn",
    "et": "est_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "he": "heb_Hebr",
    "hi": "hin_Deva", "hr": "hrv_Latn", "hu": "hun_Latn", "id": "ind_Latn", "is": "isl_Latn",
    "it": "ita_Latn", "ja": "jpn_Jpan", "km": "khm_Khmr", "ko": "kor_Hang", "lt": "lit_Latn",
    "lv": "lvs_Latn", "ne": "npi_Deva", "nl": "nld_Latn", "pl": "pol_Latn", "ps": "pbt_Arab",
    "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "si": "sin_Sinh", "sk": "slk_Latn",
    "sl": "slv_Latn", "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "th": "tha_Thai",
    "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "vi": "vie_Latn", "zh": "zho_Hans",
}

#: ISO 639-1 -> mBART-50 codes where they are not simply "xx_XX".
MBART_EXCEPTIONS = {"zh": "zh_CN", "en": "en_XX", "pt": "pt_XX", "sv": "sv_SE", "he": "he_IL",
                    "fa": "fa_IR", "uk": "uk_UA", "xh": "xh_ZA", "gl": "gl_ES", "sl": "sl_SI",
                    "af": "af_ZA", "ps": "ps_AF", "km": "km_KH", "ka": "ka_GE", "hr": "hr_HR"}


def normalise_lp(lp: str) -> str:
    """"EN-PT", "en_pt", "pt_BR-en", "en-pt-br" -> the plain pair "en-pt" / "pt-en".

    Regional variants (``pt_BR``, ``pt-br``) fold into the language code, since a language
    pair names the model's languages; anything that is not two codes is left as given (and
    refused by :func:`split_lp`).
    """
    parts = [p for p in lp.strip().lower().replace("_", "-").split("-") if p]
    if len(parts) == 3 and len(parts[1]) == 2 and parts[1] not in LANGUAGE_NAMES:
        parts = [parts[0], parts[2]]  # "pt-br-en"
    elif len(parts) == 3 and len(parts[2]) == 2 and parts[2] not in LANGUAGE_NAMES:
        parts = parts[:2]  # "en-pt-br"
    elif len(parts) == 4:
        parts = [parts[0], parts[2]]  # "pt-br-en-us"
    return "-".join(parts) if len(parts) == 2 else lp


def split_lp(lp: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """"en-pt" -> ("en", "pt"); None -> (None, None). Refuses anything else in one line."""
    if lp is None:
        return None, None
    parts = lp.split("-")
    if len(parts) != 2 or not all(parts):
        raise OptionError(f"--lp must look like xx-yy (e.g. en-pt), got {lp!r}")
    return parts[0], parts[1]


def language_name(code: Optional[str]) -> Optional[str]:
    """English name for a code, the code itself when unknown (a user may pass a name), None
    for None (the caller picks the wording)."""
    if code is None:
        return None
    return LANGUAGE_NAMES.get(code.lower().split("_")[0], code)


def model_language_candidates(code: str):
    """Codes a multilingual tokenizer may know ``code`` by, most specific first."""
    base = code.split("_")[0].lower()
    yield code
    if base in NLLB_CODES:
        yield NLLB_CODES[base]
    yield MBART_EXCEPTIONS.get(base, f"{base}_{base.upper()}")
    yield f"__{base}__"


# -- language identification ----------------------------------------------------------------------
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


def describe_language(lang: Optional[str]) -> str:
    """The English name of a guessed language, for messages (None: none recognised)."""
    if lang is None:
        return "like no language recognised"
    return LANGUAGE_NAMES.get(lang, lang)


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
        return (f"the files look like {src}-{hyp} (sources {describe_language(src)}, translations "
                f"{describe_language(hyp)}), but the model translates {model_src}-{model_tgt}: are "
                f"source and translation swapped, or is it the wrong --lp/--model?")
    said = "; ".join(f"{side} look {describe_language(seen)}, not {describe_language(want)}"
                     for side, seen, want in wrong)
    return f"{said}: the model translates {model_src}-{model_tgt} (wrong --lp or --model?)"
