"""Language codes: names for prompts and the codes multilingual models expect."""
from __future__ import annotations

from typing import Optional, Tuple

from .errors import OptionError

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
