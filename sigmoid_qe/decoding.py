"""How candidates are generated: one options object for every backend, and what comes back.

The options are those of Hugging Face's ``generate()`` and Marian, under the names users know:
``beam`` (the n best of a beam search, Marian's length normalisation), ``sample`` (ancestral
sampling with temperature, top-k, top-p/nucleus and epsilon truncation, seeded) and ``greedy``
(beam 1). The Bergamot backend implements them itself (:mod:`.backends.bergamot_decoding`);
Hugging Face models pass them to ``generate()``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Optional

from .errors import OptionError

#: The widest beam (and most candidates per source) allowed: memory grows with beam x
#: vocabulary x batch, and beams far wider than this do not find better translations.
MAX_BEAM = 256
#: Decoding strategies, as ``--decoding`` spells them.
STRATEGIES = ("greedy", "beam", "sample")


@dataclass(frozen=True)
class Decoding:
    """``n`` candidates per source by ``strategy``.

    ``beam_size`` defaults to ``n`` (it must be at least ``n``); ``length_penalty`` is the
    exponent of the length that divides a finished hypothesis' log-probability (Marian's
    ``normalize``, Hugging Face's ``length_penalty``; 1.0 in the Bergamot models' config).
    Sampling draws are seeded per (sentence, draw) where the backend allows it (Bergamot), so
    they do not depend on batching; Hugging Face seeds each batch.
    """

    strategy: str = "greedy"
    n: int = 1
    beam_size: Optional[int] = None
    length_penalty: float = 1.0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    epsilon: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise OptionError(f"decoding must be one of {', '.join(STRATEGIES)}, got "
                              f"{self.strategy!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise OptionError(f"the number of candidates must be at least 1, got {self.n!r}")
        if self.n > MAX_BEAM or (self.beam_size or 0) > MAX_BEAM:
            raise OptionError(f"at most {MAX_BEAM} candidates and a beam of at most {MAX_BEAM} "
                              f"(asked: {self.n}, beam {self.beam_size or self.n})")
        if self.strategy == "greedy" and self.n != 1:
            raise OptionError("greedy decoding gives one candidate: use beam or sample for "
                              f"{self.n}")
        if self.beam_size is not None and self.beam_size < self.n:
            raise OptionError(f"beam size {self.beam_size} is smaller than the {self.n} "
                              "candidates asked for")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise OptionError(f"temperature must be a finite number > 0, got {self.temperature}")
        if not math.isfinite(self.length_penalty):
            raise OptionError(f"length penalty must be a finite number, got {self.length_penalty}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise OptionError(f"seed must be an integer >= 0, got {self.seed!r}")
        if self.top_k < 0:
            raise OptionError(f"top-k must be >= 0, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise OptionError(f"top-p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.epsilon < 1:
            raise OptionError(f"epsilon must be in [0, 1), got {self.epsilon}")

    @property
    def beam(self) -> int:
        """The beam width: 1 for greedy, else ``beam_size`` or ``n``."""
        if self.strategy == "greedy":
            return 1
        return self.beam_size or self.n

    def record(self) -> Dict:
        """The options that shaped the candidates (for JSON outputs)."""
        fields = asdict(self)
        if self.strategy != "sample":
            for name in ("temperature", "top_k", "top_p", "epsilon", "seed"):
                fields.pop(name)
        if self.strategy != "beam":
            fields.pop("length_penalty")
        fields["beam_size"] = self.beam if self.strategy != "sample" else None
        return fields


@dataclass
class Candidate:
    """A generated translation and the model's log-probability of it (None where the backend
    does not report one); ``score`` is what the search ranked it by (length-normalised for
    beam search)."""

    text: str
    logprob: Optional[float] = None
    score: Optional[float] = None
