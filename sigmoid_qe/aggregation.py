"""Token scores -> sentence score.

Every method's token score is oriented "higher = better": probabilities as they are,
entropy negated (a confident model has low entropy). ``prod`` is reported as the sum of
log token scores, the usual way to keep a product of probabilities in float range.
"""
from __future__ import annotations

import math
from typing import Sequence

METHODS = ("sigmoid", "softmax", "entropy", "boosted")
AGGREGATES = ("mean", "prod", "min")
#: Methods whose token scores are probabilities (the only ones a product makes sense for).
PROBABILITY_METHODS = ("sigmoid", "softmax", "boosted")
_TINY = 1e-45


def check_method(method: str, aggregate: str) -> None:
    """Reject unknown or meaningless method/aggregate combinations early, with one line."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; choose one of {', '.join(AGGREGATES)}")
    if aggregate == "prod" and method not in PROBABILITY_METHODS:
        raise ValueError(f"aggregate 'prod' needs a probability method ({', '.join(PROBABILITY_METHODS)})")


def aggregate_scores(values: Sequence[float], aggregate: str) -> float:
    """Sentence score from token scores: mean, prod (as sum of logs) or min."""
    if not values:
        return float("nan")
    if aggregate == "mean":
        return math.fsum(values) / len(values)
    if aggregate == "prod":
        return math.fsum(math.log(max(v, _TINY)) for v in values)
    if aggregate == "min":
        return min(values)
    raise ValueError(f"unknown aggregate {aggregate!r}")
