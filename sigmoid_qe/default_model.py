"""Which offline default model to use when the user names none.

The only models that work with no network are the Bergamot en->pt and pt->en students, so
with no ``--model`` the pair is taken from ``--lp`` or, failing that, guessed from the texts
(:func:`sigmoid_qe.languages.guess_language`, py3langid: which language the sources and the
translations are written in; for texts too short for that, which of English and Portuguese
each side is, :func:`sigmoid_qe.languages.guess_pair`).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

from .errors import SigmoidQEError
from .languages import describe_language, guess_language, guess_pair, normalise_lp

#: Pairs the offline default covers, and the model name for each.
DEFAULT_MODELS = {"en-pt": "bergamot-en-pt", "pt-en": "bergamot-pt-en"}

def choose_default_model(
    sources: Sequence[str], hypotheses: Optional[Sequence[str]], lp: Optional[str] = None
) -> Tuple[str, str]:
    """(model name, language pair) of the offline default for these texts (``hypotheses``
    None: for translating ``sources``).

    With ``lp`` given it must be en-pt or pt-en; otherwise the pair is inferred from the
    languages of the two sides (or, for texts too short for that, from which of English and
    Portuguese each side is more like). Raises :class:`SigmoidQEError` with a message saying
    what was seen and what to do when the pair is not one the default covers.
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
            f"cannot pick a default model: the sources look {describe_language(src)}; the built-in "
            "offline models translate en-pt and pt-en only. Pass --lp en-pt or --lp pt-en if "
            "that is the pair, or --model for another one")
    hyp = guess_language(hypotheses)
    pair = f"{src}-{hyp}"
    if pair in DEFAULT_MODELS:
        return DEFAULT_MODELS[pair], pair
    if src in (None, "en", "pt") and hyp in (None, "en", "pt") and (src is None or hyp is None):
        short = guess_pair(sources, hypotheses)
        if short is not None and (src is None or short.startswith(src)) \
                and (hyp is None or short.endswith(hyp)):
            return DEFAULT_MODELS[short], short
    seen = f"sources look {describe_language(src)}, translations look {describe_language(hyp)}"
    raise SigmoidQEError(
        f"cannot pick a default model: {seen}; the built-in offline models cover en-pt and "
        "pt-en only. Pass --lp en-pt or --lp pt-en if that is the pair, or --model for "
        "another one"
    )


def resolve_model_name(model: Optional[str], sources: Sequence[str],
                       hypotheses: Optional[Sequence[str]],
                       lp: Optional[str] = None) -> Tuple[str, Optional[str], bool]:
    """(model name, language pair, whether the default was picked for the user): the one
    place that decides which model scores when ``model`` is None (CLI and ``score()``)."""
    if model is not None:
        return model, lp, False
    name, pair = choose_default_model(sources, hypotheses, lp)
    return name, pair, True
