"""The frozen model as scoring and training both see it: one primitive, one batching rule.

Scoring a hypothesis and training a head on a reference need the same thing from the LM:
for every scored target position, the vector its output layer multiplies (the last hidden
state) and the target token, split back per segment; and, when a softmax statistic or a
softmax negative is needed, the LM's own logits, computed in bounded chunks of positions so
that no [batch, time, vocab] tensor is ever built. :func:`scored_positions` and
:func:`logit_chunks` are that primitive; :func:`length_sorted_batches` is the batching rule
of every pass that does not train (scoring, dev sets, translation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Sequence, Tuple

import torch

from .base import Backend, EncodedPair

#: Max float32 elements of one logits chunk (64 MiB).
LOGITS_CHUNK_ELEMENTS = 1 << 24


def length_sorted_batches(costs: Sequence[int], batch_size: int) -> List[List[int]]:
    """Indices in batches of similar cost (longest first, so that an out-of-memory error shows
    up at once rather than at the end); ties keep input order."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    order = sorted(range(len(costs)), key=lambda i: (-costs[i], i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass
class ScoredPositions:
    """A batch's scored positions, concatenated over its pairs in batch order.

    hidden [n, H] float32; ids [n] long; ``counts[k]`` positions belong to the k-th pair.
    """

    hidden: torch.Tensor
    ids: torch.Tensor
    counts: List[int]

    def bounds(self) -> List[Tuple[int, int]]:
        """(start, end) rows of each pair."""
        out, start = [], 0
        for count in self.counts:
            out.append((start, start + count))
            start += count
        return out


def scored_positions(backend: Backend, batch: Sequence[EncodedPair]) -> ScoredPositions:
    """One teacher-forced pass over ``batch``: hidden states and ids of its scored positions."""
    with torch.no_grad():
        out = backend.forward(list(batch))
        mask = out.scored_mask.to(out.hidden.device)
        hidden = out.hidden[mask].float()
        ids = out.target_ids.to(out.hidden.device)[mask].long()
    return ScoredPositions(hidden, ids, mask.sum(1).tolist())


def logit_chunk_rows(vocab_size: int) -> int:
    """Positions per logits chunk, so that a chunk stays within LOGITS_CHUNK_ELEMENTS."""
    return max(1, LOGITS_CHUNK_ELEMENTS // max(1, vocab_size))


def logit_chunks(backend: Backend, hidden: torch.Tensor,
                 counts: Sequence[int] = ()) -> Iterator[Tuple[int, int, torch.Tensor]]:
    """(start, end, float32 logits [end - start, vocab]) over the rows of ``hidden``.

    With ``counts`` (positions per segment) chunks hold whole segments only, as training needs
    (each segment's draws use its own generator); a segment longer than a chunk is one chunk.
    """
    rows = logit_chunk_rows(backend.vocab_size)
    with torch.no_grad():
        if not counts:
            for start in range(0, hidden.shape[0], rows):
                end = min(start + rows, hidden.shape[0])
                yield start, end, backend.output_logits(hidden[start:end]).float()
            return
        start = end = 0
        for count in counts:
            if end > start and end + count - start > rows:
                yield start, end, backend.output_logits(hidden[start:end]).float()
                start = end
            end += count
        if end > start:
            yield start, end, backend.output_logits(hidden[start:end]).float()
