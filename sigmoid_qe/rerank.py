"""Choosing one translation among candidates: QE reranking, MBR, and QE-pruned MBR.

* QE reranking: the candidate with the best quality estimate.
* MBR (minimum Bayes risk): the candidate with the highest expected utility against the other
  candidates, which stand in for references: ``mean_{j != i} U(c_i, c_j)`` with sacrebleu's
  sentence chrF or BLEU as ``U`` (the candidate itself is never its own pseudo-reference; a
  duplicate candidate is another sample and counts).
* QE-pruned MBR: MBR among the ``k`` candidates with the best quality estimate, both as
  hypotheses and as pseudo-references (``comet-mbr --rerank_top_k``).

Ties go to the earlier candidate, always.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .errors import OptionError

#: Utilities MBR can use: sacrebleu metrics, as sentence-level scores in [0, 100].
MBR_METRICS = ("chrf", "bleu")


def utility_function(name: str) -> Callable[[str, str], float]:
    """``U(hypothesis, pseudo_reference)``: sacrebleu's sentence chrF (default settings) or
    sentence BLEU (with effective order, as sacrebleu recommends for single sentences)."""
    from sacrebleu.metrics import BLEU, CHRF
    if name == "chrf":
        metric = CHRF()
    elif name == "bleu":
        metric = BLEU(effective_order=True)
    else:
        raise OptionError(f"--mbr must be one of {', '.join(MBR_METRICS)}, got {name!r}")
    return lambda hypothesis, reference: metric.sentence_score(hypothesis, [reference]).score


def first_best(values: Sequence[float]) -> int:
    """Index of the highest value; the earliest one on ties (NaN never wins)."""
    array = np.asarray(values, dtype=np.float64)
    array = np.where(np.isnan(array), -np.inf, array)
    return int(np.argmax(array))


def top_k(values: Sequence[float], k: int) -> List[int]:
    """Indices of the ``k`` highest values in candidate order (ties: earlier candidates)."""
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    return sorted(order[:k])


def expected_utilities(candidates: Sequence[str], utility: Callable[[str, str], float]
                       ) -> List[float]:
    """``mean_{j != i} U(c_i, c_j)`` for every candidate (0 for a lone candidate)."""
    n = len(candidates)
    if n < 2:
        return [0.0] * n
    return [sum(utility(candidates[i], candidates[j]) for j in range(n) if j != i) / (n - 1)
            for i in range(n)]


@dataclass
class Choice:
    """What was chosen for one source, and why: the index into its candidates, and the
    expected utilities of the candidates MBR looked at (None for QE reranking)."""

    index: int
    mbr: Optional[Dict[int, float]] = None


def choose(candidates: Sequence[str], qe: Optional[Sequence[float]] = None,
           utility: Optional[Callable[[str, str], float]] = None,
           qe_top_k: Optional[int] = None) -> Choice:
    """QE reranking (``utility`` None), MBR (``qe`` None or ``qe_top_k`` None), or MBR among
    the ``qe_top_k`` best by QE."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    if utility is None:
        if qe is None:
            raise ValueError("QE reranking needs QE scores")
        return Choice(first_best(qe))
    pool = list(range(len(candidates)))
    if qe_top_k is not None:
        if qe is None:
            raise ValueError("QE pruning needs QE scores")
        pool = top_k(qe, qe_top_k)
    utilities = expected_utilities([candidates[i] for i in pool], utility)
    return Choice(pool[first_best(utilities)], dict(zip(pool, utilities)))
