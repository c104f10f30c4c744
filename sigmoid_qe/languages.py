"""Languages: codes, names for prompts and the codes multilingual models expect; and a light
language identification.

The identification (py3langid: a naive Bayes model over byte n-grams, 97 languages, numpy
only) tells which language texts are written in: for the offline default model
(:mod:`.default_model`), the wrong-direction warning, the swapped pairs of a filter, and the
translations in the wrong language (:func:`off_target`). Its accuracy on the project's data is
in benchmarks/RESULTS.md ("Language identification", ``benchmarks/bench_language_id.py``).
"""
from __future__ import annotations

import copy
import functools
import re
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


def swapped_lp(lp: Optional[str]) -> Optional[str]:
    """"en-pt" -> "pt-en", the pair of the opposite direction; None when ``lp`` names none."""
    if not lp or "-" not in lp:
        return None
    src, tgt = lp.split("-", 1)
    return f"{tgt}-{src}"


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
#: A whole file's language: the share of its first lines' characters the winning language must
#: get (py3langid's probability, normalised over its 97 languages).
MIN_FILE_PROBABILITY = 0.5
#: Lines looked at per file (plenty to tell languages apart; keeps the check instant).
MAX_LINES = 200
#: One segment is flagged as off-target when the identifier gives another language at least
#: this probability and the expected language at most OFF_TARGET_MAX_EXPECTED (measured on the
#: project's data, see benchmarks/RESULTS.md, "Language identification"): close languages
#: (Portuguese and Galician) share probability on short segments, so a clear winner is not
#: enough, the expected language must also be clearly ruled out.
OFF_TARGET_MIN_PROBABILITY = 0.5
OFF_TARGET_MAX_EXPECTED = 0.05
#: Segments with fewer letters than this are never flagged (names, numbers, "OK"); a text in
#: a non-Latin script says more per letter.
OFF_TARGET_MIN_LETTERS = 12
OFF_TARGET_MIN_OTHER_SCRIPT = 4
#: Languages of the offline default models.
DEFAULT_PAIR_LANGUAGES = ("en", "pt")

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")


@functools.cache
def _identifier(among: Optional[Tuple[str, ...]] = None):
    """py3langid's identifier (normalised probabilities), over all its languages or only
    ``among``; loaded once (its model is a numpy archive, read without pickle)."""
    if among is not None:
        restricted = copy.copy(_identifier(None))
        restricted.set_languages(list(among))
        return restricted
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def known_language(code: Optional[str]) -> bool:
    """Whether the identifier can recognise ``code`` (so that a text can contradict it)."""
    return code is not None and code in _identifier(None).labels


def language_probabilities(text: str, among: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """Each language's probability for ``text`` (over ``among`` only, when given)."""
    ident = _identifier(tuple(sorted(among)) if among else None)
    return dict(ident.rank(text))


def identify(text: str, among: Optional[Sequence[str]] = None) -> Tuple[Optional[str], float]:
    """(language code, probability) of one text; (None, 0.0) for a text with no letters."""
    if not _LETTER.search(text):
        return None, 0.0
    best, probability = max(language_probabilities(text, among).items(), key=lambda kv: kv[1])
    return best, probability


def guess_language(lines: Sequence[str], among: Optional[Sequence[str]] = None) -> Optional[str]:
    """The language of a text given as lines (its first :data:`MAX_LINES`), or None when no
    language gets :data:`MIN_FILE_PROBABILITY` (too short or mixed to say)."""
    text = "\n".join(list(lines)[:MAX_LINES])
    lang, probability = identify(text, among)
    return lang if probability >= MIN_FILE_PROBABILITY else None


def guess_pair(sources: Sequence[str], hypotheses: Sequence[str],
               languages: Sequence[str] = DEFAULT_PAIR_LANGUAGES) -> Optional[str]:
    """"src-tgt" for two sides of which each is in one of ``languages`` (and they differ),
    e.g. en-pt or pt-en for texts too short for :func:`guess_language`; else None."""
    src = guess_language(sources, among=languages)
    hyp = guess_language(hypotheses, among=languages)
    if src is None or hyp is None or src == hyp:
        return None
    return f"{src}-{hyp}"


def detect(text: str, expected: Optional[str] = None) -> Tuple[Optional[str], bool]:
    """(the language of one segment, whether it is clearly not ``expected``: a translation in
    the wrong language, or left untranslated). The language is None for a text without
    letters. Never flagged: a text with fewer than :data:`OFF_TARGET_MIN_LETTERS` letters, or an
    ``expected`` language the identifier does not know (or None)."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return None, False
    probabilities = language_probabilities(text)
    best = max(probabilities, key=probabilities.get)
    latin = len(_LATIN_LETTER.findall(text))
    needed = OFF_TARGET_MIN_LETTERS if latin * 2 >= letters else OFF_TARGET_MIN_OTHER_SCRIPT
    off = (known_language(expected) and letters >= needed and best != expected
           and probabilities[best] >= OFF_TARGET_MIN_PROBABILITY
           and probabilities.get(expected, 0.0) <= OFF_TARGET_MAX_EXPECTED)
    return best, bool(off)


def off_target(text: str, expected: Optional[str]) -> Optional[str]:
    """The language ``text`` is written in when it is clearly not ``expected`` (see
    :func:`detect`), else None."""
    lang, off = detect(text, expected)
    return lang if off else None


#: Names of the other languages the identifier knows, for messages only.
IDENTIFIED_NAMES = {
    "ace": "Acehnese", "am": "Amharic", "an": "Aragonese", "ary": "Moroccan Arabic",
    "arz": "Egyptian Arabic", "as": "Assamese", "az": "Azerbaijani", "ba": "Bashkir",
    "bcl": "Central Bikol", "be": "Belarusian", "br": "Breton", "bs": "Bosnian",
    "crh": "Crimean Tatar", "dz": "Dzongkha", "eo": "Esperanto", "ext": "Extremaduran",
    "fo": "Faroese", "fuv": "Nigerian Fulfulde", "fy": "Western Frisian",
    "gcf": "Guadeloupean Creole", "gcr": "Guianese Creole", "gd": "Scottish Gaelic",
    "gom": "Konkani", "grc": "Ancient Greek", "gug": "Guarani", "guw": "Gun", "ha": "Hausa",
    "hbo": "Ancient Hebrew", "ht": "Haitian Creole", "ig": "Igbo", "jv": "Javanese",
    "kab": "Kabyle", "kik": "Kikuyu", "ku": "Kurdish", "ky": "Kyrgyz", "la": "Latin",
    "lb": "Luxembourgish", "lg": "Ganda", "lij": "Ligurian", "ln": "Lingala", "lo": "Lao",
    "ltg": "Latgalian", "mg": "Malagasy", "mn": "Mongolian", "nn": "Norwegian Nynorsk",
    "nso": "Northern Sotho", "oc": "Occitan", "om": "Oromo", "or": "Odia",
    "pcm": "Nigerian Pidgin", "qu": "Quechua", "rw": "Kinyarwanda", "sa": "Sanskrit",
    "sdh": "Southern Kurdish", "se": "Northern Sami", "sn": "Shona", "so": "Somali",
    "st": "Southern Sotho", "tg": "Tajik", "tk": "Turkmen", "tt": "Tatar", "ug": "Uyghur",
    "uzs": "Southern Uzbek", "vec": "Venetian", "vo": "Volapük", "wa": "Walloon",
    "wuu": "Wu Chinese", "yo": "Yoruba", "yue": "Cantonese", "zxx": "no linguistic content",
}


def describe_language(lang: Optional[str]) -> str:
    """The English name of a guessed language, for messages (None: none recognised)."""
    if lang is None:
        return "like no language recognised"
    return LANGUAGE_NAMES.get(lang) or IDENTIFIED_NAMES.get(lang, lang)


def direction_warning(lp: Optional[str], sources: Sequence[str],
                      hypotheses: Sequence[str]) -> Optional[str]:
    """A warning when the texts look like another language pair than the model's ``lp``
    (e.g. pt->en files scored with the en->pt model), else None. Only languages the light
    identifier recognises can contradict; unclear texts never warn."""
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
             if seen is not None and known_language(want) and seen != want]
    if not wrong:
        return None
    if src == model_tgt and hyp == model_src:
        return (f"the files look like {src}-{hyp} (sources {describe_language(src)}, translations "
                f"{describe_language(hyp)}), but the model translates {model_src}-{model_tgt}: are "
                f"source and translation swapped, or is it the wrong --lp/--model?")
    said = "; ".join(f"{side} look {describe_language(seen)}, not {describe_language(want)}"
                     for side, seen, want in wrong)
    return f"{said}: the model translates {model_src}-{model_tgt} (wrong --lp or --model?)"
