"""The training objective: binary cross-entropy with logits over (positives, negatives), plus
an optional margin ranking term.

Only the rows of the head that a batch mentions are read, through
``F.embedding(..., sparse=True)``: the gradient is a sparse tensor with one row per gathered
token, never a dense [vocab, hidden] matrix (32k x 256 floats for Bergamot, 128k x 4096 for
an LLM), and ``torch.optim.SparseAdam`` updates just those rows.

Positives are the reference token at each position and, with several references, the other
references' tokens aligned to it (``extra``); negatives are the sampled tokens. In MQM mode
(:mod:`.mqm`) a position whose token people marked as an error (``errors``) turns that token
into a negative of weight ``error_weight``; its sampled negatives stay. The ranking
term ``max(0, margin - (z_ref - z_neg))`` over every (reference, negative) pair pushes the
reference's logit above each negative's by a margin, which BCE alone does not ask for.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def pair_logits(weight: torch.Tensor, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """h . w_y for every (position, candidate): hidden [n, H], token_ids [n, c] -> [n, c]."""
    rows = F.embedding(token_ids, weight, sparse=True)  # [n, c, H], sparse gradient
    return torch.einsum("nch,nh->nc", rows, hidden.to(rows.dtype))


def pair_targets(valid: torch.Tensor, n_positive: int, errors: Optional[torch.Tensor] = None,
                 error_weight: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Labels and weights [n, c] of the candidate columns (positives first, then negatives).

    ``valid`` [n, c] masks the real candidates; the first ``n_positive`` columns are the
    reference (column 0) and the other references' tokens. Where ``errors`` [n] is True, the
    reference is a human-marked error: label 0 with weight ``error_weight``, and the other
    references' tokens do not count (they were aligned to a wrong token).
    """
    labels = torch.zeros(valid.shape, dtype=torch.float32, device=valid.device)
    labels[:, :n_positive] = 1.0
    weights = valid.to(torch.float32)
    if errors is not None and bool(errors.any()):
        labels[errors, 0] = 0.0
        weights[errors, 0] = float(error_weight)
        weights[errors, 1:n_positive] = 0.0
    return labels, weights


def objective_sum(weight: torch.Tensor, hidden: torch.Tensor, positives: torch.Tensor,
                  negatives: torch.Tensor, negative_valid: torch.Tensor,
                  extra: Optional[torch.Tensor] = None, extra_valid: Optional[torch.Tensor] = None,
                  rank_weight: float = 0.0, rank_margin: float = 1.0,
                  errors: Optional[torch.Tensor] = None,
                  error_weight: float = 1.0) -> Tuple[torch.Tensor, int]:
    """Summed loss over all sampled pairs, and the number of (BCE) pairs.

    The reference (label 1) at each of the n positions, ``extra`` [n, a] positives (label 1)
    where ``extra_valid``, ``negatives`` [n, k] (label 0) where ``negative_valid``; where
    ``errors`` [n] the reference is a negative of weight ``error_weight`` (MQM mode, see
    :func:`pair_targets`) and has no ranking term. Returning a sum and a count lets gradient
    accumulation and data-parallel ranks form the exact mean over *all* pairs of a step (sum
    everywhere, divide once), whatever the split of positions.
    """
    n = positives.shape[0]
    if extra is None:
        extra = positives.new_zeros((n, 0))
        extra_valid = torch.zeros((n, 0), dtype=torch.bool, device=positives.device)
    valid = torch.cat([torch.ones((n, 1), dtype=torch.bool, device=positives.device),
                       extra_valid, negative_valid], 1)
    candidates = torch.cat([positives.unsqueeze(1), extra, negatives], 1)
    candidates = torch.where(valid, candidates, positives.unsqueeze(1))  # padding -> a real row
    logits = pair_logits(weight, hidden, candidates)
    labels, weights = pair_targets(valid, 1 + extra.shape[1], errors, error_weight)
    labels, weights = labels.to(logits.dtype), weights.to(logits.dtype)
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    total = (losses * weights).sum()
    if rank_weight > 0:
        negative_logits = logits[:, 1 + extra.shape[1]:]
        hinge = torch.relu(rank_margin - (logits[:, :1] - negative_logits))
        ranked = negative_valid if errors is None else negative_valid & ~errors.unsqueeze(1)
        total = total + rank_weight * (hinge * ranked.to(logits.dtype)).sum()
    return total, int(valid.sum())


def bce_sum(weight: torch.Tensor, hidden: torch.Tensor, positives: torch.Tensor,
            negatives: torch.Tensor, negative_valid: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """The paper's loss: summed BCE over the reference and the sampled negatives (the dev loss,
    comparable across recipes whatever their extra terms)."""
    return objective_sum(weight, hidden, positives, negatives, negative_valid)
