"""The dominant set of a softmax distribution (Dinh & Niehues 2026).

When several tokens are valid, the softmax shares its mass among them, and these tokens
stand out above a clear drop in the sorted probabilities. Scoring (BoostedProb) credits a
token in that set with the whole set's mass; training never samples such tokens as
negatives, because they may be correct alternatives. Both use this one routine.

Rule: sort probabilities in descending order p(1) >= p(2) >= ...; there is a *jump* after
position i when p(i) - p(i+1) > 0.3 * p(i) and p(i) - p(i+1) > 0.005; the dominant set is
every token above the last jump (empty when there is no jump).
"""
from __future__ import annotations

from typing import Tuple

import torch

#: How many top probabilities the rule looks at; beyond them the 0.005 floor rules out jumps
#: anyway for all but pathological distributions.
DEFAULT_TOP_K = 1024
RELATIVE_JUMP = 0.3
ABSOLUTE_JUMP = 0.005


def dominant_count(sorted_probs: torch.Tensor, relative: float = RELATIVE_JUMP,
                   absolute: float = ABSOLUTE_JUMP) -> torch.Tensor:
    """Size of the dominant set for each row of descending-sorted probabilities [n, k]."""
    if sorted_probs.shape[-1] < 2:
        return torch.zeros(sorted_probs.shape[:-1], dtype=torch.long, device=sorted_probs.device)
    upper, lower = sorted_probs[..., :-1], sorted_probs[..., 1:]
    drop = upper - lower
    jump = (drop > relative * upper) & (drop > absolute)
    positions = torch.arange(1, upper.shape[-1] + 1, device=sorted_probs.device)
    return (jump.long() * positions).amax(dim=-1)


def dominant_topk(probs: torch.Tensor, top_k: int = DEFAULT_TOP_K) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-k of probability rows [n, vocab] and their dominant-set size.

    Returns (top probabilities [n, k], top token ids [n, k], dominant count [n]); the
    dominant tokens of row r are ``ids[r, :count[r]]``.
    """
    k = min(top_k, probs.shape[-1])
    top_p, top_ids = probs.topk(k, dim=-1, sorted=True)
    return top_p, top_ids, dominant_count(top_p)


def dominant_mask(probs: torch.Tensor, top_k: int = DEFAULT_TOP_K) -> torch.Tensor:
    """Bool mask [n, vocab], True at each row's dominant tokens (used to exclude negatives)."""
    top_p, top_ids, count = dominant_topk(probs, top_k)
    in_set = torch.arange(top_ids.shape[-1], device=probs.device) < count.unsqueeze(-1)
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask.scatter_(-1, top_ids, in_set)
    return mask


def boosted_prob(probs: torch.Tensor, token_ids: torch.Tensor, top_k: int = DEFAULT_TOP_K) -> torch.Tensor:
    """BoostedProb: the dominant set's total mass if the token is dominant, else p(token)."""
    top_p, top_ids, count = dominant_topk(probs, top_k)
    rank_mask = torch.arange(top_ids.shape[-1], device=probs.device) < count.unsqueeze(-1)
    is_dominant = ((top_ids == token_ids.unsqueeze(-1)) & rank_mask).any(-1)
    dominant_mass = (top_p * rank_mask).sum(-1)
    p_token = probs.gather(-1, token_ids.unsqueeze(-1)).squeeze(-1)
    return torch.where(is_dominant, dominant_mass, p_token)
