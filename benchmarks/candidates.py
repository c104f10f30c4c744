"""The harness's one vocabulary for a way to score a sentence.

Every benchmark table and every selection rule names its rows with :class:`Candidate`, in the
package's own words: a direction of ``sigmoid_qe.directions``, a method of
``sigmoid_qe.methods.METHOD_TABLE``, the combined weight a, and an aggregate of
``sigmoid_qe.methods.AGGREGATES``. A row read in RESULTS.md is therefore the options a user
types (``--direction both --method combined --combine-weight 0.25 --aggregate prod``), and a
harness-only aggregation says so by its name being in :data:`HARNESS_AGGREGATES`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from sigmoid_qe.directions import DIRECTIONS
from sigmoid_qe.methods import AGGREGATES, METHOD_TABLE

__all__ = ["DIRECTIONS", "HARNESS_AGGREGATES", "LENGTH", "Candidate"]
#: Aggregations compared on dev that the package does not offer (they lost, so none shipped):
#: ``word-errors`` (token -> word minimum -> expected number of bad words) and ``count`` (the
#: number of tokens under 0.5).
HARNESS_AGGREGATES = ("word-errors", "count")
#: The length baseline: minus the number of scored tokens (no method, no aggregate).
LENGTH = "length"


@dataclass(frozen=True)
class Candidate:
    """One sentence score: ``direction`` x ``method`` (with ``weight`` a for ``combined``) x
    ``aggregate``, reading the token scores of ``head`` where several heads are compared, and a
    ``role`` ("shipped default") shown before the label."""

    direction: str = "forward"
    method: str = "sigmoid"
    weight: Optional[float] = None
    aggregate: str = "mean"
    head: Optional[str] = None
    role: str = ""

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.method != LENGTH and self.method not in METHOD_TABLE:
            raise ValueError(f"unknown method {self.method!r}")
        if self.method != LENGTH and self.aggregate not in AGGREGATES + HARNESS_AGGREGATES:
            raise ValueError(f"unknown aggregate {self.aggregate!r}")

    @classmethod
    def of_weight(cls, direction: str, weight: float, aggregate: str) -> Candidate:
        """sigma^a p^(1-a) under its package name: a = 0 is ``softmax``, a = 1 ``sigmoid``."""
        method = {0.0: "softmax", 1.0: "sigmoid"}.get(weight, "combined")
        return cls(direction, method, weight if method == "combined" else None, aggregate)

    @property
    def label(self) -> str:
        """``forward combined a=0.5 [trained] prod``: direction, method, weight, head, aggregate."""
        if self.method == LENGTH:
            return "length (-tokens)"
        name = self.method
        if self.method == "combined" and self.weight is not None:
            name += f" a={self.weight:g}"
        if self.head is not None:
            name += f" [{self.head}]"
        text = f"{self.direction} {name} {self.aggregate}"
        return f"{self.role}: {text}" if self.role else text

    @property
    def key(self) -> Tuple[object, ...]:
        """What is computed (the role is presentation only): equal keys, equal scores."""
        return (self.direction, self.method, self.weight, self.aggregate, self.head)

    def twin(self) -> Optional[Candidate]:
        """The softmax-only twin of a head-based candidate (same direction and aggregate)."""
        if self.method not in ("sigmoid", "combined"):
            return None
        return Candidate(self.direction, "softmax", None, self.aggregate)

    def config_fields(self) -> dict:
        """The head config.json fields that make this candidate the default."""
        out = {"method": self.method, "aggregate": self.aggregate, "direction": self.direction}
        if self.method == "combined":
            out["combine_weight"] = self.weight
        return out
