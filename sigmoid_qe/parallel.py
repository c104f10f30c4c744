"""Scoring one input on several processes: shard, score, gather in input order.

Under ``torchrun`` or ``accelerate launch`` every process runs the same command; each scores
the rows ``rank, rank + world, ...`` on its own device, and rank 0 gets every row back in the
original order. Without a process group it is plain single-process scoring.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from .distributed import DistContext, current_context
from .errors import InputError


def score_sharded(model, sources: Sequence[str], hypotheses: Sequence[str],
                  context: Optional[DistContext] = None, **score_kwargs):
    """Multi-process scoring of one input: shard, score, gather.

    Each rank scores rows ``rank, rank + world, ...`` with its own copy of ``model`` (a
    :class:`~sigmoid_qe.model.QEModel` on its own device); rank 0 gets the
    :class:`~sigmoid_qe.results.QEResult` of every row *in input order*, the other ranks get
    None. Without a process group it is simply ``model.score``.
    """
    from .results import QEResult
    ctx = context or current_context()
    if len(sources) != len(hypotheses):
        raise InputError(f"{len(sources)} sources but {len(hypotheses)} translations")
    if not ctx.active:
        return model.score(sources, hypotheses, **score_kwargs)
    mine = list(range(ctx.rank, len(sources), ctx.world_size))
    part = model.score([sources[i] for i in mine], [hypotheses[i] for i in mine], **score_kwargs)
    gathered = ctx.gather_objects((mine, part.segments))
    if not ctx.is_main:
        return None
    segments: List[Any] = [None] * len(sources)
    for rows, segs in gathered:
        for i, seg in zip(rows, segs):
            segments[i] = seg
    return QEResult(segments, part.method, part.aggregate, part.signature)
