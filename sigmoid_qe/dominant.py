"""The dominant set of a softmax distribution (Dinh & Niehues 2026; BoostedProb's rule).

When several tokens are valid, the softmax shares its mass among them, and these tokens
stand out above a clear drop in the sorted probabilities. Scoring (BoostedProb) credits a
token in that set with the whole set's mass; training never samples such tokens as
negatives, because they may be correct alternatives. Both call :func:`dominant_sets`.

Rule: sort probabilities in descending order p(1) >= p(2) >= ...; there is a *jump* after
position i when p(i) - p(i+1) > 0.3 * p(i) and p(i) - p(i+1) > 0.005; the dominant set is
every token above the last jump (empty when there is no jump).

Why a short top-k is exact: a jump after position i needs p(i) > 0.005, so once the sorted
probabilities are at or below 0.005 no later jump can exist. :func:`dominant_sets` therefore
sorts only the top :data:`FIRST_TOP_K` of each row, which is exact for every row whose
32nd probability is <= 0.005, and the top :data:`WIDE_TOP_K` of the few other rows, which is
exact for all rows (p(256) <= 1/256 < 0.005). The tests hold the straightforward form (the
rule on a plain top-1024 sort, ``tests/dominant_reference.py``) that the fast one is checked
against.
"""
from __future__ import annotations

from typing import Tuple

import torch

RELATIVE_JUMP = 0.3
ABSOLUTE_JUMP = 0.005
#: Top-k sorted for every row (see the module docstring for why this is exact).
FIRST_TOP_K = 32
#: Top-k sorted for rows whose FIRST_TOP_K-th probability is above ABSOLUTE_JUMP.
WIDE_TOP_K = 256


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


def _top(probs: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    top_p, top_ids = probs.topk(min(k, probs.shape[-1]), dim=-1, sorted=True)
    return top_p, top_ids, dominant_count(top_p)


def dominant_sets(probs: torch.Tensor, enabled: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """Dominant tokens of each row of probabilities [n, vocab] (the fast exact search).

    Returns (ids [n, D] padded with -1, count [n]); D is the largest set in the rows (>= 1).
    With ``enabled=False`` every set is empty (the training ablation without exclusion).
    """
    n = probs.shape[0]
    if not enabled or n == 0:
        return (torch.full((n, 1), -1, dtype=torch.long, device=probs.device),
                torch.zeros(n, dtype=torch.long, device=probs.device))
    top_p, top_ids, count = _top(probs, FIRST_TOP_K)
    k = top_p.shape[-1]
    wide = ((top_p[:, -1] > ABSOLUTE_JUMP).nonzero().flatten() if k < probs.shape[-1]
            else top_p.new_zeros(0).long())
    if wide.numel():
        _, wide_ids, wide_count = _top(probs[wide], WIDE_TOP_K)
        count = count.clone()
        count[wide] = wide_count
    width = max(1, int(count.max().item()))
    ids = torch.full((n, width), -1, dtype=torch.long, device=probs.device)
    ids[:, :min(width, k)] = top_ids[:, :width]
    if wide.numel():
        ids[wide, :width] = wide_ids[:, :width]
    ids[torch.arange(width, device=probs.device) >= count.unsqueeze(-1)] = -1
    return ids, count


def boosted_prob(probs: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """BoostedProb: the dominant set's total mass if the token is in it, else p(token)."""
    ids, _ = dominant_sets(probs)
    member = ids >= 0
    mass = (probs.gather(-1, ids.clamp(min=0)) * member).sum(-1)
    is_dominant = ((ids == token_ids.unsqueeze(-1)) & member).any(-1)
    p_token = probs.gather(-1, token_ids.unsqueeze(-1)).squeeze(-1)
    return torch.where(is_dominant, mass, p_token)
