"""Inversions of integer ranks (pairs i < j with ``ranks[i] > ranks[j]``) in O(n log n) numpy
steps: the discordant pairs of Kendall's tau (:func:`.stats.tau_counts`)."""
from __future__ import annotations

import math

import numpy as np


def rank_inversions(ranks: np.ndarray, top: int) -> int:
    """Inversions of dense integer ranks in ``[0, top)``: brute force in chunks for few distinct
    values (MQM scores), a bottom-up merge count otherwise."""
    if top <= _SMALL_RANGE:
        return _inversions_small_range(ranks, top)
    return _inversions_by_merging(ranks)


_SMALL_RANGE = 1024


def _inversions_small_range(ranks: np.ndarray, top: int) -> int:
    """Few distinct values (MQM scores): brute force inside chunks, and across chunks a table
    of how many earlier elements have each value (chunk size balances the two costs)."""
    n = len(ranks)
    size = int(min(64, max(16, 2 * math.sqrt(top))))
    chunks = -(-n // size)
    padded = np.full(chunks * size, top, dtype=np.int64)  # the largest value, last: no inversion
    padded[:n] = ranks
    blocks = padded.reshape(chunks, size)
    i, j = np.triu_indices(size, 1)
    within = int(np.count_nonzero(blocks[:, i] > blocks[:, j]))
    hist = np.bincount((np.arange(chunks)[:, None] * (top + 1) + blocks).ravel(),
                       minlength=chunks * (top + 1)).reshape(chunks, top + 1)
    earlier = np.cumsum(hist, axis=0) - hist  # per chunk: counts of each value before it
    at_most = np.cumsum(earlier, axis=1)  # ... with a value <= v
    before = np.arange(chunks) * size
    chunk_of = np.repeat(np.arange(chunks), size)[:n]
    across = int((before[chunk_of] - at_most[chunk_of, ranks]).sum())
    return within + across


def _inversions_by_merging(ranks: np.ndarray) -> int:
    """Bottom-up merge count: at each width, elements in value order are regrouped into
    blocks (a stable radix sort on block ids), and each right-half element counts the
    left-half elements of its block that sort after it."""
    n = len(ranks)
    position = np.argsort(ranks, kind="stable").astype(np.int64)
    total, width = 0, 1
    while width < n:
        block = position // (2 * width)
        order = np.argsort(block.astype(np.uint16 if n <= 2 * 65535 else np.uint32), kind="stable")
        pos, blk = position[order], block[order]
        left = ((pos // width) & 1) == 0
        seen_left = np.cumsum(left)
        starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
        ends = np.r_[starts[1:], n]
        left_before_block = np.r_[0, seen_left[ends[:-1] - 1]]
        lengths = ends - starts
        left_in_block = np.repeat(seen_left[ends - 1] - left_before_block, lengths)
        left_so_far = seen_left - np.repeat(left_before_block, lengths)
        right = ~left
        total += int((left_in_block[right] - left_so_far[right]).sum())
        width *= 2
    return total
