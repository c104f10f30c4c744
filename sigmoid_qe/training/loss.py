"""The training objective: binary cross-entropy with logits over (positive, negatives).

Only the rows of the head that a batch mentions are read, through
``F.embedding(..., sparse=True)``: the gradient is a sparse tensor with one row per gathered
token, never a dense [vocab, hidden] matrix (32k x 256 floats for Bergamot, 128k x 4096 for
an LLM), and ``torch.optim.SparseAdam`` updates just those rows.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


def pair_logits(weight: torch.Tensor, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """h . w_y for every (position, candidate): hidden [n, H], token_ids [n, c] -> [n, c]."""
    rows = F.embedding(token_ids, weight, sparse=True)  # [n, c, H], sparse gradient
    return torch.einsum("nch,nh->nc", rows, hidden.to(rows.dtype))


def bce_sum(weight: torch.Tensor, hidden: torch.Tensor, positives: torch.Tensor,
            negatives: torch.Tensor, negative_valid: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Summed BCE-with-logits over all sampled pairs, and the number of pairs.

    The positive (label 1) is the reference token at each of the n positions; ``negatives``
    [n, k] (label 0) count where ``negative_valid`` is True. Returning a sum and a count lets
    gradient accumulation and data-parallel ranks form the exact mean over *all* pairs of a
    step (sum everywhere, divide once), whatever the split of positions between them.
    """
    candidates = torch.cat([positives.unsqueeze(1), negatives], 1)
    candidates = torch.where(torch.cat([torch.ones_like(positives, dtype=torch.bool).unsqueeze(1),
                                        negative_valid], 1), candidates, positives.unsqueeze(1))
    logits = pair_logits(weight, hidden, candidates)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    weights = torch.cat([torch.ones_like(logits[:, :1]), negative_valid.to(logits.dtype)], 1)
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    count = int(positives.shape[0] + int(negative_valid.sum()))
    return (losses * weights).sum(), count


def bce_mean(weight: torch.Tensor, hidden: torch.Tensor, positives: torch.Tensor,
             negatives: torch.Tensor, negative_valid: torch.Tensor) -> torch.Tensor:
    """Mean BCE over all sampled pairs (the paper's loss)."""
    total, count = bce_sum(weight, hidden, positives, negatives, negative_valid)
    return total / max(1, count)
