"""Batched token scoring: backend forward -> gathered hidden states -> token statistics.

The Sigmoid Head only needs h . w_y for the observed token, so the sigmoid path gathers the
target rows of the head and never builds [batch, time, vocab] logits. Softmax-based
statistics (probability, entropy, BoostedProb) need the full vocabulary; they are computed
over chunks of scored positions so that memory stays bounded whatever the batch size.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from .backends.base import Backend, EncodedPair
from .dominant import DEFAULT_TOP_K, boosted_prob
from .head import SigmoidHead

#: Token statistics a method needs (the sigmoid needs no softmax at all).
SOFTMAX_STATS = ("softmax", "entropy", "boosted")
#: Max float32 elements of one logits chunk (64 MiB).
LOGITS_CHUNK_ELEMENTS = 1 << 24


@dataclass
class TokenStats:
    """Per scored token of one segment, as Python lists (None = not computed)."""

    token_ids: List[int]
    sigmoid: Optional[List[float]] = None
    softmax: Optional[List[float]] = None
    entropy: Optional[List[float]] = None
    boosted: Optional[List[float]] = None


def length_sorted_batches(pairs: Sequence[EncodedPair], batch_size: int) -> List[List[int]]:
    """Indices of ``pairs`` in batches of similar length (longest first, so that an
    out-of-memory error shows up at once rather than at the end)."""
    order = sorted(range(len(pairs)), key=lambda i: (-pairs[i].cost, i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def softmax_stats(backend: Backend, hidden: torch.Tensor, token_ids: torch.Tensor,
                  wanted: Iterable[str], top_k: int = DEFAULT_TOP_K) -> Dict[str, torch.Tensor]:
    """Softmax probability, entropy and/or BoostedProb of ``token_ids`` [n] given
    ``hidden`` [n, hidden], computed chunk by chunk over rows."""
    wanted = set(wanted)
    out: Dict[str, List[torch.Tensor]] = {name: [] for name in wanted}
    rows = max(1, LOGITS_CHUNK_ELEMENTS // max(1, backend.vocab_size))
    for start in range(0, hidden.shape[0], rows):
        h, y = hidden[start:start + rows], token_ids[start:start + rows]
        logp = torch.log_softmax(backend.output_logits(h).float(), dim=-1)
        if "softmax" in wanted:
            out["softmax"].append(logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).exp())
        if "entropy" in wanted:
            out["entropy"].append(-(logp.exp() * logp).nan_to_num().sum(-1))
        if "boosted" in wanted:
            out["boosted"].append(boosted_prob(logp.exp(), y, top_k))
    return {name: torch.cat(parts) if parts else hidden.new_zeros(0) for name, parts in out.items()}


def score_tokens(backend: Backend, head: Optional[SigmoidHead], pairs: Sequence[EncodedPair],
                 stats: Sequence[str], batch_size: int = 32, progress: bool = True,
                 desc: str = "Scoring") -> List[TokenStats]:
    """Token statistics for every pair, in the order of ``pairs``.

    ``stats`` names what to compute: any of "sigmoid", "softmax", "entropy", "boosted".
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    want_sigmoid = "sigmoid" in stats
    want_softmax = [s for s in SOFTMAX_STATS if s in stats]
    if want_sigmoid and head is None:
        raise ValueError("the sigmoid method needs a head")
    results: List[Optional[TokenStats]] = [None] * len(pairs)
    batches = length_sorted_batches(pairs, batch_size)
    bar = _progress(len(pairs), progress, desc)
    try:
        for batch_idx in batches:
            batch = [pairs[i] for i in batch_idx]
            with torch.inference_mode():
                out = backend.forward(batch)
                mask = out.scored_mask.to(out.hidden.device)
                hidden = out.hidden[mask].float()
                ids = out.target_ids.to(out.hidden.device)[mask]
                computed: Dict[str, torch.Tensor] = {}
                if want_sigmoid:
                    computed["sigmoid"] = head.token_scores(hidden, ids.to(head.weight.device))
                if want_softmax:
                    computed.update(softmax_stats(backend, hidden, ids, want_softmax))
            counts = mask.sum(1).tolist()
            ids_list = ids.tolist()
            lists = {name: t.float().cpu().tolist() for name, t in computed.items()}
            offset = 0
            for row, pair_index in enumerate(batch_idx):
                n = counts[row]
                sl = slice(offset, offset + n)
                results[pair_index] = TokenStats(
                    token_ids=ids_list[sl],
                    **{name: values[sl] for name, values in lists.items()})
                offset += n
            bar.update(len(batch_idx))
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def _progress(total: int, enabled: bool, desc: str):
    """tqdm on stderr (stdout carries only results); a no-op object when disabled."""
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, desc=desc, unit="seg", file=sys.stderr,
                dynamic_ncols=True, leave=False)
