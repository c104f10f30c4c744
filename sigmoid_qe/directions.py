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
from typing import Iterator, List, Optional, Sequence

from .errors import InputWarning, OptionError, SigmoidQEWarning
from .languages import direction_warning, swapped_lp
from .results import QEResult, SegmentScore

__all__ = ["AVERAGED", "DIRECTIONS", "OPPOSITE_DEFAULT", "checked_direction", "combine",
           "joined_directions", "reverse_segments", "reverse_side_warnings", "score_directions",
           "swapped_lp"]

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


def score_directions(model, sources: Sequence[str], hypotheses: Sequence[str], direction: str,
                     method=None, aggregate=None, span_threshold=None, check_direction=True,
                     **options) -> QEResult:
    """``reverse`` / ``both`` for ``model`` (a :class:`~sigmoid_qe.model.QEModel`; its
    ``score`` comes here): the opposite model scores each source given its translation (with
    the same method and aggregation); ``both`` adds the forward score. The reverse side's
    token scores and spans are ``source_tokens`` / ``source_errors``."""
    method, aggregate = model.scoring(method, aggregate)
    forward = None
    if direction == "both":
        forward = model.score(sources, hypotheses, method, aggregate, direction="forward",
                              span_threshold=span_threshold,
                              check_direction=check_direction, **options).segments
    backward = reverse_segments(model, sources, hypotheses, method, aggregate,
                                span_threshold=span_threshold,
                                check_direction=check_direction and forward is None, **options)
    eos = model.include_eos if options.get("include_eos") is None else options["include_eos"]
    return QEResult(joined_directions(sources, hypotheses, forward, backward, aggregate),
                    method, aggregate, str(model.signature(method, aggregate, eos, direction)))


def reverse_segments(model, sources: Sequence[str], hypotheses: Sequence[str], method=None,
                     aggregate=None, span_threshold=None, check_direction: bool = False,
                     **options) -> List[SegmentScore]:
    """The reverse side alone: the opposite model's scores of each source given its
    translation (its warnings worded as the user's sides); ``check_direction`` warns when
    the texts look like another pair. Data-parallel scoring shards this pass with its own
    batch plan (``QEModel.batch_plan`` with ``side="reverse"``)."""
    method, aggregate = model.scoring(method, aggregate)
    if check_direction:
        mismatch = direction_warning(model.backend.lp, sources, hypotheses)
        if mismatch:
            warnings.warn(SigmoidQEWarning(mismatch), stacklevel=3)
    with reverse_side_warnings():
        return model.reverse.score(hypotheses, sources, method, aggregate,
                                   direction="forward", check_direction=False,
                                   span_threshold=span_threshold, **options).segments


def joined_directions(sources: Sequence[str], hypotheses: Sequence[str],
                      forward: Optional[List[SegmentScore]], backward: List[SegmentScore],
                      aggregate: str) -> List[SegmentScore]:
    """One segment per pair from the forward segments (None: ``reverse`` only) and the
    reverse ones: the ``both`` score (:func:`combine`), the source side's tokens and spans."""
    out: List[SegmentScore] = []
    for k, rev in enumerate(backward):
        if forward is None:
            seg = SegmentScore(sources[k], hypotheses[k], rev.score, [], rev.truncated)
        else:
            seg = forward[k]
            seg.score = combine(seg.score, rev.score, aggregate)
            seg.truncated = seg.truncated or rev.truncated
        seg.source_tokens = rev.tokens
        seg.source_errors = rev.errors
        out.append(seg)
    return out
