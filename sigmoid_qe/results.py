"""Plain result containers: per token, per segment, per system."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional

if TYPE_CHECKING:
    from .spans import ErrorSpan


@dataclass
class TokenScore:
    """One scored hypothesis token: its piece, id and character offsets ``[start, end)`` in the
    hypothesis, and one field per token statistic (:data:`~sigmoid_qe.methods.STATISTICS`, a
    test keeps the two in step). Statistics that were not computed stay None."""

    token: str
    token_id: int
    start: int
    end: int
    sigmoid: Optional[float] = None  # the head's sigma(h . w_y)
    softmax: Optional[float] = None  # the model's probability of the token
    entropy: Optional[float] = None  # entropy of the model's softmax (nats; lower = surer)
    boosted: Optional[float] = None  # BoostedProb
    combined: Optional[float] = None  # sigma^a * p^(1-a)

    def to_dict(self) -> Dict[str, object]:
        """The token's JSON record: the fields that were computed."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SegmentScore:
    """A segment's sentence score, the token scores it was aggregated from and, when asked
    for, its error spans (XCOMET's ``errors``). Scored in the reverse direction too, the
    source's token scores (the opposite model reading the source given the translation) and
    the source words it finds unsupported (``source_errors``: offsets into ``source``)."""

    source: str
    hypothesis: str
    score: float
    tokens: List[TokenScore] = field(default_factory=list)
    truncated: bool = False
    errors: Optional[List[ErrorSpan]] = None
    source_tokens: Optional[List[TokenScore]] = None
    source_errors: Optional[List[ErrorSpan]] = None

    def to_dict(self) -> Dict[str, object]:
        """The ``--to-json`` record (COMET's keys plus the tokens, and ``errors`` if computed)."""
        record = {"src": self.source, "mt": self.hypothesis, "score": self.score,
                  "tokens": [t.to_dict() for t in self.tokens]}
        if self.errors is not None:
            record["errors"] = [e.to_dict() for e in self.errors]
        if self.source_tokens is not None:
            record["source_tokens"] = [t.to_dict() for t in self.source_tokens]
        if self.source_errors is not None:
            record["source_errors"] = [e.to_dict() for e in self.source_errors]
        return record


class ExactSum:
    """A running sum whose value is exactly ``math.fsum`` of everything added (Shewchuk's
    partials, as fsum keeps them), so a streamed system score equals the whole-list one;
    ``partials`` is the state to save and restore."""

    def __init__(self, partials=()):
        self.partials: List[float] = [float(x) for x in partials]

    def add(self, value: float) -> None:
        x = float(value)
        kept = 0
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                self.partials[kept] = low
                kept += 1
            x = high
        self.partials[kept:] = [x]

    def value(self) -> float:
        return math.fsum(self.partials)


@dataclass
class QEResult:
    """Scores of one system (a list of hypotheses): what ``score()`` returns."""

    segments: List[SegmentScore]
    method: str
    aggregate: str
    signature: str = ""

    @property
    def scores(self) -> List[float]:
        return [s.score for s in self.segments]

    @property
    def system_score(self) -> float:
        """Mean of the sentence scores (NaN for an empty system)."""
        values = self.scores
        return math.fsum(values) / len(values) if values else float("nan")

    def __len__(self) -> int:
        return len(self.segments)
