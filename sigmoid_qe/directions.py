"""Scoring in both directions: the translation given the source, and the source given the
translation.

A target-side score cannot see what the translation leaves out: a deletion makes the
hypothesis shorter and often *more* probable. The model of the opposite direction, scoring the
fixed source given the translation, finds the source words nothing in the translation supports
(noisy-channel reranking, Yee et al. 2019, uses the same idea). It is weak where the forward side
is strong: copied source words make the source easy to reconstruct from an untranslated
"translation". So ``both`` adds the two.

*forward*: the model of the pair scores the translation (the usual QE score).
*reverse*: the opposite model scores the source given the translation, with its own head.
*both*: the two sentence scores on one scale: counts and sums of logs add (errors on either
side count), means and minima are averaged / taken over both.

Where the reverse model comes from (:func:`reverse_backend`): the other Bergamot student for
the offline default; the same Hugging Face model with the languages swapped for multilingual
seq2seq models and causal LMs (their head fits both directions: one output layer); otherwise
the user names it (``--reverse-model``, ``--reverse-head``).
"""
from __future__ import annotations

import contextlib
import copy
import re
import warnings
from typing import Iterator, Optional

from .errors import InputWarning, OptionError

DIRECTIONS = ("forward", "reverse", "both")
#: Aggregates whose two directions are averaged in ``both`` (the rest add, or take the min).
AVERAGED = ("mean", "mean-log")

#: The offline default's opposite student, by model name.
OPPOSITE_DEFAULT = {"bergamot-en-pt": "bergamot-pt-en", "bergamot-pt-en": "bergamot-en-pt"}


def checked_direction(direction: str) -> str:
    """``direction`` if it is one of :data:`DIRECTIONS`, else an OptionError."""
    if direction not in DIRECTIONS:
        raise OptionError(f"unknown direction {direction!r}; choose one of {', '.join(DIRECTIONS)}")
    return direction


def combine(forward: float, reverse: float, aggregate: str) -> float:
    """The ``both`` sentence score of two one-direction scores under ``aggregate``."""
    if aggregate in AVERAGED:
        return 0.5 * (forward + reverse)
    if aggregate == "min":
        return min(forward, reverse)
    return forward + reverse


def swapped_lp(lp: Optional[str]) -> Optional[str]:
    if not lp or "-" not in lp:
        return None
    src, tgt = lp.split("-", 1)
    return f"{tgt}-{src}"


def reverse_backend(backend):
    """The same Hugging Face model pointed the other way (multilingual seq2seq with language
    codes, or a causal LM whose prompt names the languages), sharing the weights; None when the
    model translates one direction only."""
    lp = swapped_lp(getattr(backend, "lp", None))
    if lp is None:
        return None
    tokenizer = getattr(backend, "tokenizer", None)
    seq2seq = hasattr(backend, "decoder_start_token_id")
    if seq2seq and not hasattr(tokenizer, "src_lang"):
        return None  # a bilingual seq2seq model (Marian opus-mt-xx-yy): one direction only
    if not seq2seq and not hasattr(backend, "set_prompt_style"):
        return None
    other = copy.copy(backend)  # shares the model; its own tokenizer state and languages
    other.tokenizer = copy.deepcopy(tokenizer)
    other.lp = lp
    from .languages import language_name, split_lp
    src, tgt = split_lp(lp)
    if hasattr(other, "src_lang"):
        other.src_lang, other.tgt_lang = language_name(src), language_name(tgt)
    if seq2seq:
        other._set_languages(lp)
    return other


@contextlib.contextmanager
def reverse_side_warnings() -> Iterator[None]:
    """The reverse pass reads the translation as its source and the source as its
    translation: its input warnings are re-issued with the sides named as the user sees them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    swap = {"translation": "source", "source": "translation"}
    for item in caught:
        message = item.message
        if isinstance(message, InputWarning):
            if "empty translation" in message.message:
                continue  # said by the forward side; an empty *source* is the user's to see
            # its words too: the reverse pass's "source" is the user's translation
            text = re.sub(r"\b(source|translation)\b", lambda m: swap[m.group(1)],
                          message.message)
            message = InputWarning(f"{text} (reverse direction)",
                                   swap.get(message.side, message.side), message.index)
        warnings.warn(message, stacklevel=3)
