"""Token statistics, their orientation, and token scores -> sentence score.

One table owns what each ``--method`` is: the token statistic it reads, its sign (every method
is oriented "higher = better": probabilities as they are, entropy negated, since a confident
model has low entropy) and whether its token scores are probabilities (only those can be
multiplied). ``prod`` is reported as the sum of log token scores, the usual way to keep a
product of probabilities in float range; ``mean-log`` is their mean (the log of the geometric
mean: a product that does not grow with length). ``errors`` is minus the expected number of
bad tokens, -sum(1 - s_t): 0 = no error expected, -2.5 = about two or three bad tokens. It
counts the way MQM does (a sum of penalties over a segment of any length), reads the same for
every model and direction, and with two directions the counts add. ``token_scores`` is the one
place a method's token scores are made from token statistics (the combined sigma^a p^(1-a)
included): scoring, the benchmarks and the scripts all call it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import OptionError


@dataclass(frozen=True)
class Method:
    """A sentence-scoring method: which token statistic, which way round."""

    name: str
    #: The token statistic computed by scoring (a field of ``TokenScore``).
    statistic: str
    #: +1 when higher statistic = better translation, -1 when lower is better.
    sign: int
    #: Token scores are probabilities in [0, 1] (so ``prod`` is meaningful).
    is_probability: bool
    #: Reads the model's softmax (so the logits, and ``softmax_over``, come into play).
    needs_softmax: bool
    #: (minor, major) span thresholds when a head carries no calibration for the method
    #: (a warning says so): round values on the method's scale (entropy: negated nats).
    span_thresholds: Tuple[float, float]


METHOD_TABLE: Dict[str, Method] = {m.name: m for m in (
    # the Sigmoid Head's sigma(h . w_y)
    Method("sigmoid", "sigmoid", +1, True, False, (0.5, 0.1)),
    # the model's probability of the token
    Method("softmax", "softmax", +1, True, True, (0.1, 0.01)),
    # negated entropy of the model's softmax
    Method("entropy", "entropy", -1, False, True, (-2.5, -4.0)),
    # BoostedProb: the dominant set's mass when the token is in it, else its probability
    Method("boosted", "boosted", +1, True, True, (0.1, 0.01)),
    # sigma^a * p^(1-a): the head's score and the model's probability, weighted by the head's
    # combine_weight a (0.5 unless the head says otherwise)
    Method("combined", "combined", +1, True, True, (0.2, 0.03)),
)}
METHODS = tuple(METHOD_TABLE)
#: Token statistics computed from the full-vocabulary softmax.
SOFTMAX_STATS = ("softmax", "entropy", "boosted")
#: Every token statistic scoring can compute: the fields of ``TokenScore`` and ``TokenStats``.
STATISTICS = ("sigmoid", *SOFTMAX_STATS, "combined")
#: Weight of the head's score in ``combined`` when a head does not set one.
DEFAULT_COMBINE_WEIGHT = 0.5


def combine_weight(configured: Optional[float]) -> float:
    """The ``combined`` method's a: the head's configured weight, else the default."""
    return DEFAULT_COMBINE_WEIGHT if configured is None else float(configured)


AGGREGATES = ("mean", "prod", "mean-log", "min", "errors")
#: Each aggregate's scale in words (for a probability method), as the README's table says it.
AGGREGATE_SCALES = {
    "mean": "the mean token score, 0 to 1",
    "prod": "the sum of log token scores, at most 0, lower for longer sentences",
    "mean-log": "the mean log token score, at most 0",
    "min": "the lowest token score, 0 to 1",
    "errors": "minus the expected number of bad tokens, at most 0",
}
#: Aggregates that need probabilities (logs of them, or 1 - s as the chance of an error).
PROBABILITY_AGGREGATES = ("prod", "mean-log", "errors")
#: Methods whose token scores are probabilities (the only ones a product makes sense for).
PROBABILITY_METHODS = tuple(m.name for m in METHOD_TABLE.values() if m.is_probability)
#: Floor of a token score before its sentence-level log (``prod``, ``mean-log``): a float's.
_TINY = 1e-45
#: Floor of a token statistic before its log inside ``combined``, for tensors (scoring) and
#: arrays (the benchmarks) alike, so both give the same token scores: the smallest normal
#: float32 (torch.finfo(torch.float32).tiny), under which float32 logs lose precision.
LOG_FLOOR = 2.0 ** -126


def check_method(method: str, aggregate: str) -> Method:
    """The method's table entry; unknown or meaningless combinations raise OptionError."""
    if method not in METHOD_TABLE:
        raise OptionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if aggregate not in AGGREGATES:
        raise OptionError(f"unknown aggregate {aggregate!r}; choose one of {', '.join(AGGREGATES)}")
    entry = METHOD_TABLE[method]
    if aggregate in PROBABILITY_AGGREGATES and not entry.is_probability:
        raise OptionError(f"aggregate {aggregate!r} needs a probability method "
                          f"({', '.join(PROBABILITY_METHODS)}), not {method!r}")
    return entry


def token_scores(method: str, statistics: Mapping[str, Any], weight: Optional[float] = None):
    """Token scores of ``method``, higher = better, from the token statistics it reads.

    ``statistics`` maps statistic names to one value per token: torch tensors (scoring) or
    numpy arrays (the benchmarks). ``combined`` reads "sigmoid" and "softmax" and is
    sigma^a * p^(1-a) computed in logs, with a = ``combine_weight(weight)``; every other method
    is its own statistic, negated where lower is better (entropy).
    """
    entry = METHOD_TABLE[method]
    if entry.statistic == "combined":
        a = combine_weight(weight)
        sigmoid, softmax = statistics["sigmoid"], statistics["softmax"]
        if _is_tensor(sigmoid):
            return (a * _log_tensor(sigmoid) + (1.0 - a) * _log_tensor(softmax)).exp()
        return np.exp(a * _log_array(sigmoid) + (1.0 - a) * _log_array(softmax))
    values = statistics[entry.statistic]
    return values if entry.sign > 0 else -values


def _is_tensor(values) -> bool:
    """A torch tensor (scoring), told apart without importing torch (the fast start)."""
    return hasattr(values, "clamp")


def _log_tensor(values):
    """log of a tensor of token statistics, in float32, floored at :data:`LOG_FLOOR`."""
    return values.float().clamp(min=LOG_FLOOR).log()


def _log_array(values) -> np.ndarray:
    """log of an array of token statistics, floored at :data:`LOG_FLOOR`."""
    return np.log(np.maximum(np.asarray(values, dtype=np.float64), LOG_FLOOR))


def orient(method: str, values: Sequence[float]) -> list:
    """Token statistics of ``method`` as token scores, higher = better."""
    sign = METHOD_TABLE[method].sign
    return list(values) if sign > 0 else [-v for v in values]


def aggregate_scores(values: Sequence[float], aggregate: str) -> float:
    """Sentence score from token scores: mean, prod (as sum of logs), mean-log, min, or
    errors (minus the expected number of bad tokens)."""
    if not values:
        return float("nan")
    if aggregate == "mean":
        return math.fsum(values) / len(values)
    if aggregate == "prod":
        return math.fsum(math.log(max(v, _TINY)) for v in values)
    if aggregate == "mean-log":
        return math.fsum(math.log(max(v, _TINY)) for v in values) / len(values)
    if aggregate == "min":
        return min(values)
    if aggregate == "errors":
        return -math.fsum(1.0 - v for v in values)
    raise OptionError(f"unknown aggregate {aggregate!r}")
