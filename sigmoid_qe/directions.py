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

Where the reverse model comes from (``Backend.reversed()``): the other Bergamot student for
the offline default; the same Hugging Face model with the languages swapped for multilingual
seq2seq models and causal LMs (their head fits both directions: one output layer); otherwise
the user names it (``--reverse-model``, ``--reverse-head``).
"""
from __future__ import annotations

import contextlib
import re
import warnings
from typing import Iterator

from .errors import InputWarning, OptionError
from .languages import swapped_lp

__all__ = ["AVERAGED", "DIRECTIONS", "OPPOSITE_DEFAULT", "checked_direction", "combine",
           "reverse_side_warnings", "swapped_lp"]

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
