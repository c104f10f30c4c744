"""Scoring on several processes: shard, score, gather in input order; and chunked streams.

Under ``torchrun`` or ``accelerate launch`` every process runs the same command. The
length-sorted batches are planned first, on the whole input (or each chunk of a stream), as
one process would build them; rank r then scores whole batches r, r + world, ... on its own
device, and rank 0 gets every row back in the original order. Every row is thus computed in
the same batch as by one process, and N processes give bit-identical token scores to one (at
the same batch size). Without a process group it is plain single-process scoring.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from .directions import joined_directions, reverse_segments
from .distributed import DistContext, current_context
from .errors import InputError, shifted_input_warnings
from .progress import PassesBar, progress_bar


def score_sharded(model, sources: Sequence[str], hypotheses: Sequence[str],
                  context: Optional[DistContext] = None, everyone: bool = False, **score_kwargs):
    """Multi-process scoring of one input: shard, score, gather.

    Each rank scores rows ``rank, rank + world, ...`` with its own copy of ``model`` (a
    :class:`~sigmoid_qe.model.QEModel` on its own device); rank 0 gets the
    :class:`~sigmoid_qe.results.QEResult` of every row *in input order*, the other ranks get
    None (or, with ``everyone``, the whole result too: for code every rank runs alike, such
    as a significance test). Without a process group it is simply ``model.score``.
    """
    from .results import QEResult
    ctx = context or current_context()
    if len(sources) != len(hypotheses):
        raise InputError(f"{len(sources)} sources but {len(hypotheses)} translations")
    if not ctx.active:
        return model.score(sources, hypotheses, **score_kwargs)
    options = dict(score_kwargs)
    check = options.pop("check_direction", True)
    segments = sharded_segments(model, list(enumerate(zip(sources, hypotheses))), ctx, check,
                                everyone, **options)
    if segments is None:
        return None
    direction = options.get("direction") or model.default_direction
    method, aggregate = model.scoring(options.get("method"), options.get("aggregate"))
    eos = options.get("include_eos")
    return QEResult(segments, method, aggregate,
                    str(model.signature(method, aggregate, eos, direction)))


def sharded_segments(model, items: Sequence[Tuple[int, Tuple[str, str]]], ctx: DistContext,
                     check_direction: bool = True, everyone: bool = False, progress=False,
                     **score_options) -> Optional[List[Any]]:
    """The :class:`~sigmoid_qe.results.SegmentScore` of each (position, (source,
    hypothesis)) item, in item order, scored across the ranks (rank 0 gets them, the others
    None unless ``everyone``); warnings name the items' positions. ``progress`` (a bar that
    moves per batch) is for one process only.

    Each pass is shared out by its own one-process batch plan: the forward model's, and for
    ``reverse``/``both`` the opposite model's too (its pairs have other lengths, so it batches
    them otherwise). Each row is thus computed in the very batch one process computes it in."""
    sources = [pair[0] for _, pair in items]
    hypotheses = [pair[1] for _, pair in items]
    options = dict(score_options)
    direction = options.pop("direction", None) or model.default_direction
    method, aggregate = model.scoring(options.pop("method", None), options.pop("aggregate", None))
    options["progress"] = False
    size, eos = options.get("batch_size"), options.get("include_eos")

    def rows(part):
        return [p[0] for _, p in part], [p[1] for _, p in part]

    def forward(part):
        with shifted_input_warnings(position=lambda _side, k: part[k][0]):
            return model.score(*rows(part), method, aggregate, direction="forward",
                               check_direction=check_direction, **options).segments

    def reverse(part):
        with shifted_input_warnings(position=lambda _side, k: part[k][0]):
            return reverse_segments(model, *rows(part), method, aggregate,
                                          check_direction=check_direction
                                          and direction == "reverse", **options)
    plan = model.batch_plan(sources, hypotheses, size, eos) if ctx.active else None
    if direction == "forward" or not ctx.active:
        if not ctx.active:  # one process: score() does it all, as it always did
            def whole(part):
                with shifted_input_warnings(position=lambda _side, k: part[k][0]):
                    return model.score(*rows(part), method, aggregate, direction=direction,
                                       check_direction=check_direction,
                                       **dict(options, progress=progress)).segments
            return shard_map(whole, items, ctx)
        return shard_map(forward, items, ctx, plan, everyone)
    both = shard_map(forward, items, ctx, plan, everyone) if direction == "both" else None
    backward = shard_map(reverse, items, ctx,
                         model.batch_plan(sources, hypotheses, size, eos, side="reverse"),
                         everyone)
    if backward is None:
        return None
    return joined_directions(sources, hypotheses, both, backward, aggregate)


def rank_rows(batches: Sequence[Sequence[int]], rank: int, world: int) -> List[int]:
    """The rows of ``rank``: whole batches ``rank, rank + world, ...`` of the one-process
    batch plan, in plan order. Each rank's own length-sorted batching of these rows then
    rebuilds exactly those batches, so every row is computed in the same batch, next to the
    same rows, as by one process: N processes give bit-identical token scores."""
    return [row for batch in batches[rank::world] for row in batch]


def shard_map(func: Callable[[List[Any]], List[Any]], items: Sequence[Any],
              context: Optional[DistContext] = None,
              batches: Optional[Sequence[Sequence[int]]] = None,
              everyone: bool = False) -> Optional[List[Any]]:
    """``func`` over ``items`` split across the ranks; rank 0 gets the results in item
    order, the others None (or the results too, with ``everyone``). Every rank must call it
    with the same items (it is a collective). With ``batches`` (index lists: the one-process
    batch plan) each rank takes whole batches (:func:`rank_rows`), else rank r takes
    ``items[r::world]``."""
    ctx = context or current_context()
    if not ctx.active:
        return func(list(items))
    mine = (rank_rows(batches, ctx.rank, ctx.world_size) if batches is not None
            else list(range(ctx.rank, len(items), ctx.world_size)))
    part = func([items[i] for i in mine]) if mine else []
    gathered = ctx.gather_objects((mine, part))
    if not ctx.is_main and not everyone:
        return None
    out: List[Any] = [None] * len(items)
    for rows, values in gathered:
        for i, value in zip(rows, values):
            out[i] = value
    return out


def scored_chunks(model, pairs: Iterable[Tuple[str, str]], chunk_size: int = 1000,
                  context: Optional[DistContext] = None, skip: int = 0,
                  progress=None, total: Optional[int] = None, **score_options
                  ) -> Iterator[Tuple[int, Optional[list]]]:
    """Stream ``pairs`` through ``model`` a chunk at a time: (index of the chunk's first pair,
    its :class:`~sigmoid_qe.results.SegmentScore` list in input order, or None on ranks other
    than 0). The first ``skip`` pairs are passed over (a resumed job); chunk boundaries stay
    at multiples of ``chunk_size`` from the start, so every chunk is scored exactly as in an
    uninterrupted run. Warnings name positions in the whole input; the language-direction
    check runs on the first chunk only."""
    ctx = context or current_context()
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if skip % chunk_size:
        raise ValueError("skip must be a multiple of chunk_size")
    iterator = iter(pairs)
    for _ in itertools.islice(iterator, skip):
        pass
    bar = progress_bar(total, progress if ctx.is_main else False, "Scoring")
    bar.update(skip)
    # one process: the bar moves per batch (a chunk is up to 1,000 pairs; a bar that moved
    # per chunk sat at 0 for a whole small file); sharded, rank 0 sees only its own batches
    direction = score_options.get("direction") or getattr(model, "default_direction", "forward")
    batches_bar = None if ctx.active else PassesBar(bar, 2 if direction == "both" else 1)
    start = skip
    try:
        while True:
            chunk = list(itertools.islice(iterator, chunk_size))
            if not chunk:
                return

            segments = sharded_segments(model, list(enumerate(chunk, start)), ctx,
                                        start == 0 and ctx.is_main,
                                        progress=batches_bar if batches_bar is not None else False,
                                        **score_options)
            if batches_bar is not None:
                batches_bar.finish(len(chunk))
            else:
                bar.update(len(chunk))
            yield start, segments
            start += len(chunk)
    finally:
        bar.close()
