"""Plain result containers: per token, per segment, per system."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional


@dataclass
class TokenScore:
    """One scored hypothesis token. Fields that were not computed stay None."""

    token: str
    token_id: int
    start: int
    end: int
    sigmoid: Optional[float] = None
    softmax: Optional[float] = None
    entropy: Optional[float] = None
    boosted: Optional[float] = None

    def to_dict(self) -> Dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SegmentScore:
    """A segment's sentence score and the token scores it was aggregated from."""

    source: str
    hypothesis: str
    score: float
    tokens: List[TokenScore] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> Dict[str, object]:
        """The ``--to-json`` record (COMET's keys plus the tokens)."""
        return {"src": self.source, "mt": self.hypothesis, "score": self.score,
                "tokens": [t.to_dict() for t in self.tokens]}


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
