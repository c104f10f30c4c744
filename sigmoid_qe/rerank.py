"""Choosing one translation among candidates: QE reranking, MBR, and QE-pruned MBR.

* QE reranking: the candidate with the best quality estimate.
* MBR (minimum Bayes risk): the candidate with the highest expected utility against the other
  candidates, which stand in for references: ``mean_{j != i} U(c_i, c_j)`` with sacrebleu's
  sentence chrF or BLEU as ``U`` (the candidate itself is never its own pseudo-reference; a
  duplicate candidate is another sample and counts).
* QE-pruned MBR: MBR among the ``k`` candidates with the best quality estimate, both as
  hypotheses and as pseudo-references (``comet-mbr --rerank_top_k``).

Ties go to the earlier candidate, always. :func:`rerank` does the whole step for a list of
sources (candidates given or generated, QE-scored when the choice needs it); ``sigmoid-qe-rerank``
reads, chunks and writes around it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from .errors import OptionError, shifted_input_warnings

if TYPE_CHECKING:
    from .decoding import Decoding

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


def utility_signature(name: str, qe_top_k: Optional[int] = None) -> str:
    """What MBR selection used, sacrebleu-style: ``mbr:chrF|case:mixed|eff:yes|nc:6|nw:0|
    space:no|sacrebleu:2.6.0`` (each candidate against one other, so one pseudo-reference),
    with ``qe-top-k:K`` when QE pruned the candidates first."""
    from sacrebleu.metrics import BLEU, CHRF
    metric = {"chrf": CHRF, "bleu": lambda: BLEU(effective_order=True)}[name]()
    metric.num_refs = 1  # sacrebleu's signature needs it; one pseudo-reference at a time
    info = metric.get_signature().info
    fields = [f"{key}:{value}" for key, value in info.items()
              if value is not None and key not in ("version", "nrefs")]
    label = {"chrf": "chrF", "bleu": "BLEU"}[name]
    top = [f"qe-top-k:{qe_top_k}"] if qe_top_k else []
    return "|".join([f"mbr:{label}", *fields, *top, f"sacrebleu:{info['version']}"])


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


def rerank(model, sources: Sequence[str], candidates: Optional[Sequence[Sequence[str]]] = None,
           decoding: Union[Decoding, str, None] = None,
           mbr: Union[str, Callable[[str, str], float], None] = None,
           qe_top_k: Optional[int] = None, method: Optional[str] = None,
           aggregate: Optional[str] = None, indices: Optional[Sequence[int]] = None,
           generated=None, qe: Optional[Sequence[Sequence[float]]] = None) -> List[Dict]:
    """One translation per source, chosen among its ``candidates`` (a list per source) or among
    candidates the model generates with ``decoding`` (a :class:`~sigmoid_qe.decoding.Decoding`).

    The choice is QE reranking (``mbr`` None; ``method``/``aggregate`` as in
    :meth:`QEModel.score <sigmoid_qe.model.QEModel.score>`), MBR with ``mbr`` as utility (a
    name in :data:`MBR_METRICS` or a function ``U(hypothesis, pseudo_reference)``), or MBR among
    the ``qe_top_k`` best by QE. ``model`` (a :class:`~sigmoid_qe.model.QEModel`) may be None
    for MBR over given candidates. ``indices`` are the sources' positions in the whole input
    (default 0, 1, ...): sampling seeds and the lines that warnings name follow them.

    ``generated`` (the :meth:`~sigmoid_qe.model.QEModel.generate` output for these sources)
    and ``qe`` (their candidates' scores) are given by a caller that computed them already
    (data-parallel reranking shares both out by their one-process batch plans).

    Returns one record per source, as ``sigmoid-qe-rerank --to-json`` writes it:
    ``{"source", "chosen" (index), "translation" (the chosen text), "candidates": [{"text",
    "qe", "logprob", "search_score", "mbr"}, ...]}`` (the scores that were computed).
    """
    sources = list(sources)
    if (candidates is None) == (decoding is None):
        raise OptionError("give the candidates, or a decoding to generate them")
    if qe_top_k is not None and mbr is None:
        raise OptionError("qe_top_k prunes the candidates of MBR: give mbr too")
    if not sources:
        return []
    positions = list(indices) if indices is not None else list(range(len(sources)))
    utility = utility_function(mbr) if isinstance(mbr, str) else mbr
    if decoding is not None:
        found = (generated if generated is not None
                 else model.generate(sources, decoding, indices=positions))
        groups = [[c.text for c in per] for per in found]
    else:
        found, groups = None, [list(group) for group in candidates]
        if len(groups) != len(sources):
            raise OptionError(f"{len(groups)} candidate lists for {len(sources)} sources")
    needs_qe = utility is None or qe_top_k is not None
    if needs_qe and qe is None:
        qe = qe_scores(model, sources, groups, positions, method, aggregate)
    elif not needs_qe:
        qe = None
    out = []
    for k, (source, group) in enumerate(zip(sources, groups)):
        choice = choose(group, qe[k] if qe else None, utility, qe_top_k)
        out.append(choice_record(source, group, choice, qe[k] if qe else None,
                                 found[k] if found else None))
    return out


def qe_scores(model, sources: Sequence[str], groups: List[List[str]], positions: Sequence[int],
              method: Optional[str] = None, aggregate: Optional[str] = None,
              context=None) -> List[List[float]]:
    """QE score of every candidate, grouped per source; warnings name the candidate's line
    (``position * len(group) + k``, the layout of a candidates file) or, for source-side ones,
    its source's line. With an active ``context`` (a data-parallel run) every rank calls it
    with the same candidates; they are shared out by the one-process batch plan and every
    rank gets every score (:func:`sigmoid_qe.parallel.sharded_segments`)."""
    flat_sources = [s for s, group in zip(sources, groups) for _ in group]
    flat = [c for group in groups for c in group]
    owner = [k for k, group in enumerate(groups) for _ in group]

    def position(side: str, index: int) -> int:
        source_line = positions[owner[index]]
        if side != "translation":
            return source_line
        return source_line * len(groups[owner[index]]) + index - owner.index(owner[index])

    with shifted_input_warnings(position=position):
        if context is not None and context.active:
            from .parallel import sharded_segments
            found = sharded_segments(model, list(enumerate(zip(flat_sources, flat))), context,
                                     positions[0] == 0 and context.is_main, everyone=True,
                                     method=method, aggregate=aggregate)
            values = [segment.score for segment in found]
        else:
            values = model.score(flat_sources, flat, method=method, aggregate=aggregate,
                                 progress=False, check_direction=positions[0] == 0).scores
    scores, k = [], 0
    for group in groups:
        scores.append(values[k:k + len(group)])
        k += len(group)
    return scores


def choice_record(source: str, group: List[str], choice: Choice, qe, generated) -> Dict:
    """The record of one source: its candidates with their scores, and the choice."""
    candidates = []
    for i, text in enumerate(group):
        entry: Dict = {"text": text}
        if qe is not None:
            entry["qe"] = qe[i]
        if generated is not None:
            entry["logprob"] = generated[i].logprob
            entry["search_score"] = generated[i].score
        if choice.mbr is not None and i in choice.mbr:
            entry["mbr"] = choice.mbr[i]
        candidates.append(entry)
    return {"source": source, "chosen": choice.index, "translation": group[choice.index],
            "candidates": candidates}
