"""Batched token scoring: backend forward -> gathered hidden states -> token statistics.

The Sigmoid Head only needs h . w_y for the observed token, so the sigmoid path gathers the
target rows of the head and never builds [batch, time, vocab] logits. Softmax-based
statistics (probability, entropy, BoostedProb) need the full vocabulary; they are computed
over chunks of scored positions so that memory stays bounded whatever the batch size.

``<unk>``: where the hypothesis has a character the tokenizer cannot spell, the head has
nothing to judge (training never shows it an ``<unk>`` as a negative, so it scores them near
1, and a "translation" in a script the model never writes would look good). Its sigmoid score
is therefore the model's own probability of writing ``<unk>`` there: low unless the model
itself expected something it cannot spell (a rare letter in a name, say).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from .backends.base import Backend, EncodedPair
from .backends.frozen import length_sorted_batches, logit_chunks, scored_positions
from .dominant import boosted_prob
from .head import SigmoidHead
from .methods import SOFTMAX_STATS, token_scores
from .progress import progress_bar


@dataclass
class TokenStats:
    """Per scored token of one segment, as Python lists: ``token_ids`` and one list per token
    statistic (the fields of :class:`~sigmoid_qe.results.TokenScore`; None = not computed)."""

    token_ids: List[int]
    sigmoid: Optional[List[float]] = None
    softmax: Optional[List[float]] = None
    entropy: Optional[List[float]] = None
    boosted: Optional[List[float]] = None
    combined: Optional[List[float]] = None


def softmax_stats(backend: Backend, hidden: torch.Tensor, token_ids: torch.Tensor,
                  wanted: Iterable[str]) -> Dict[str, torch.Tensor]:
    """Softmax probability, entropy and/or BoostedProb of ``token_ids`` [n] given
    ``hidden`` [n, hidden], computed chunk by chunk over rows."""
    parts = ((logits, token_ids[start:end])
             for start, end, logits in logit_chunks(backend, hidden))
    return _stats_of_parts(parts, set(wanted), hidden)


def support_softmax_stats(backend: Backend, hidden: torch.Tensor, token_ids: torch.Tensor,
                          bounds: Sequence[Tuple[int, int]], supports: Sequence[torch.Tensor],
                          wanted: Iterable[str]) -> Dict[str, torch.Tensor]:
    """As :func:`softmax_stats`, each pair's rows normalised over its own ``support`` (sorted
    token ids that include its targets) instead of the whole vocabulary."""
    def parts():
        for (start, end), support in zip(bounds, supports):
            if end > start:
                support = support.to(token_ids.device)
                yield (backend.support_logits(hidden[start:end], support),
                       torch.searchsorted(support, token_ids[start:end]))
    return _stats_of_parts(parts(), set(wanted), hidden)


def _stats_of_parts(parts, wanted, hidden: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The wanted statistics of (logits [rows, classes], target columns [rows]) parts, in order."""
    out: Dict[str, List[torch.Tensor]] = {name: [] for name in wanted}
    for logits, y in parts:
        logp = torch.log_softmax(logits, dim=-1)
        if "softmax" in wanted:
            out["softmax"].append(logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).exp())
        if "entropy" in wanted:
            out["entropy"].append(-(logp.exp() * logp).nan_to_num().sum(-1))
        if "boosted" in wanted:
            out["boosted"].append(boosted_prob(logp.exp(), y))
    return {name: torch.cat(parts) if parts else hidden.new_zeros(0) for name, parts in out.items()}


def score_tokens(backend: Backend, head: Optional[SigmoidHead], pairs: Sequence[EncodedPair],
                 stats: Sequence[str], batch_size: int = 32, progress: Optional[bool] = None,
                 desc: str = "Scoring", softmax_over: str = "full") -> List[TokenStats]:
    """Token statistics for every pair, in the order of ``pairs``.

    ``stats`` names what to compute: any of "sigmoid", "softmax", "entropy", "boosted".
    ``progress`` is True/False/None (a bar on a terminal) or a tqdm bar to advance.
    ``softmax_over`` "shortlist" normalises each pair's softmax over the backend's
    :meth:`~Backend.softmax_support` (Marian's lexical shortlist plus the pair's targets, as
    the model decodes) where it has one; "full" over the whole vocabulary.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    combine = "combined" in stats
    want_sigmoid = "sigmoid" in stats or combine
    want_softmax = [s for s in SOFTMAX_STATS if s in stats or (s == "softmax" and combine)]
    if want_sigmoid and head is None:
        raise ValueError("the sigmoid method needs a head")
    results: List[Optional[TokenStats]] = [None] * len(pairs)
    batches = length_sorted_batches([p.cost for p in pairs], batch_size)
    own_bar = not hasattr(progress, "update")  # a caller's bar (chunked scoring) stays open
    bar = progress_bar(len(pairs), progress, desc) if own_bar else progress
    try:
        for batch_idx in batches:
            if not any(any(pairs[i].scored) for i in batch_idx):  # nothing to run the model on
                for i in batch_idx:
                    results[i] = TokenStats(token_ids=[], **{name: [] for name in stats})
                bar.update(len(batch_idx))
                continue
            with torch.inference_mode():
                positions = scored_positions(backend, [pairs[i] for i in batch_idx])
                hidden, ids = positions.hidden, positions.ids
                computed: Dict[str, torch.Tensor] = {}
                if want_sigmoid:
                    computed["sigmoid"] = _sigmoid_scores(backend, head, hidden, ids)
                supports = None
                if want_softmax and softmax_over == "shortlist":
                    supports = [backend.softmax_support(pairs[i]) for i in batch_idx]
                    if any(x is None for x in supports):
                        supports = None
                if want_softmax and supports is not None:
                    computed.update(support_softmax_stats(backend, hidden, ids, positions.bounds(),
                                                          supports, want_softmax))
                elif want_softmax:
                    computed.update(softmax_stats(backend, hidden, ids, want_softmax))
                if combine:
                    computed["combined"] = token_scores("combined", computed,
                                                        head.config.combine_weight)
                computed = {name: value for name, value in computed.items() if name in stats}
            ids_list = ids.tolist()
            lists = {name: t.float().cpu().tolist() for name, t in computed.items()}
            for pair_index, (start, end) in zip(batch_idx, positions.bounds()):
                results[pair_index] = TokenStats(
                    token_ids=ids_list[start:end],
                    **{name: values[start:end] for name, values in lists.items()})
            bar.update(len(batch_idx))
    finally:
        if own_bar:
            bar.close()
    return results  # type: ignore[return-value]


def _sigmoid_scores(backend: Backend, head: SigmoidHead, hidden: torch.Tensor,
                    ids: torch.Tensor) -> torch.Tensor:
    """sigma(h . w_y), with ``<unk>`` positions scored by the model's p(<unk>) (see above)."""
    scores = head.token_scores(hidden, ids.to(head.weight.device))
    unk = backend.unk_token_id
    if unk is not None:
        rows = (ids == unk).nonzero().flatten()
        if rows.numel():
            logits = backend.output_logits(hidden[rows]).float()
            scores[rows.to(scores.device)] = torch.softmax(logits, -1)[:, unk].to(scores.dtype)
    return scores
