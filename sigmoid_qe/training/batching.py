"""The order of training sentences and the learning-rate schedule.

Both are pure functions of (seed, epoch, sizes), never of a global random stream: a resumed
run recomputes exactly the batches it would have seen, and N processes split exactly the
batches one process would have taken, so that 1-process and N-process runs do the same
optimizer steps (see :mod:`.distributed`).
"""
from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

#: Sentences are sorted by length within windows of this many batches: little padding,
#: yet still a random order at the scale of the epoch.
SORT_WINDOW_BATCHES = 64


def epoch_batches(costs: Sequence[int], batch_size: int, seed: int, epoch: int) -> List[List[int]]:
    """Micro-batches of sentence indices for one epoch: shuffle, sort by length inside
    windows, cut into batches of ``batch_size``, shuffle the batches."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch)])
    order = rng.permutation(len(costs)).tolist()
    window = batch_size * SORT_WINDOW_BATCHES
    batches: List[List[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: (costs[i], i))
        batches.extend(chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size))
    return [batches[k] for k in rng.permutation(len(batches)).tolist()]


def epoch_steps(batches: List[List[int]], group: int) -> List[List[List[int]]]:
    """Optimizer steps: ``group`` (= processes x accumulation) consecutive micro-batches each;
    the last step of an epoch may have fewer."""
    return [batches[i:i + group] for i in range(0, len(batches), group)]


def steps_per_epoch(n_sentences: int, batch_size: int, group: int) -> int:
    """Number of optimizer steps of one epoch (the same for every epoch)."""
    window = batch_size * SORT_WINDOW_BATCHES
    full, rest = divmod(n_sentences, window)
    n_batches = full * SORT_WINDOW_BATCHES + math.ceil(rest / batch_size)
    return math.ceil(n_batches / group)


class CosineSchedule:
    """Learning-rate factor: linear warmup, then cosine decay to 0 at ``total`` steps.

    A class rather than a lambda so that ``LambdaLR.state_dict`` can store it.
    """

    def __init__(self, total: int, warmup: int = 0):
        self.total = max(1, int(total))
        self.warmup = max(0, int(warmup))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
