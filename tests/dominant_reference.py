"""The plain reference form of the dominant set, that ``sigmoid_qe.dominant.dominant_sets`` (the
fast exact search) is tested against: the rule on a plain top-k sort."""
from __future__ import annotations

import torch

from sigmoid_qe.dominant import dominant_count

#: Top-k of the plain reference form.
REFERENCE_TOP_K = 1024


def dominant_mask(probs: torch.Tensor, top_k: int = REFERENCE_TOP_K) -> torch.Tensor:
    """Bool mask [n, vocab], True at each row's dominant tokens: the rule on a plain top-k
    sort (the reference form of :func:`~sigmoid_qe.dominant.dominant_sets`)."""
    top_p, top_ids = probs.topk(min(top_k, probs.shape[-1]), dim=-1, sorted=True)
    count = dominant_count(top_p)
    in_set = torch.arange(top_ids.shape[-1], device=probs.device) < count.unsqueeze(-1)
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask.scatter_(-1, top_ids, in_set)
    return mask
