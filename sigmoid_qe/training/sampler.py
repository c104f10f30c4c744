"""Negative sampling for Sigmoid Head training (Dinh & Niehues 2026).

At every target position the reference token is the positive. Negatives are drawn without
replacement from two sources:

* the unigram frequency distribution of the training targets (special tokens excluded):
  frequent tokens that are wrong *here*;
* the frozen model's softmax at temperature T (weights p^(1/T), T=2 by default): tokens the
  model itself finds plausible, the hard negatives.

Both give probability 0 to the reference and to the softmax's dominant set at that position
(:mod:`sigmoid_qe.dominant`), because dominant tokens are likely *valid alternatives*: training
them as wrong would teach the head the softmax's own confusion. Softmax draws that repeat a
unigram draw are dropped, so a position has at most ``n_unigram + n_softmax`` negatives;
``valid`` masks say which slots are real.

Randomness is drawn from a generator seeded by (seed, epoch, sentence, stream), not from a
global stream. That makes a sentence's negatives independent of batching, of the number of
processes and of interruptions: resuming, 2-process and cached runs draw exactly the
negatives of a plain 1-process run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Set, Tuple

import torch

from ..dominant import ABSOLUTE_JUMP, dominant_topk

UNIGRAM_STREAM = 1
SOFTMAX_STREAM = 2
#: Epoch number used for the fixed negatives of the dev set.
DEV_EPOCH = -1
#: Any jump of the dominant-set rule needs p(i) > 0.005, so it lies in the top 200: the top 256
#: give exactly the result of the routine's default 1024 (see :func:`dominant_sets`).
DOMINANT_TOP_K = 256
FIRST_TOP_K = 32
#: Draws with replacement per wanted negative in the rejection pool (see :func:`_first_distinct`).
POOL_FACTOR = 8
POOL_EXTRA = 16


@dataclass
class SamplerOptions:
    """How many negatives, from where; the paper's defaults."""

    n_unigram: int = 5
    n_softmax: int = 5
    temperature: float = 2.0
    exclude_dominant: bool = True

    def __post_init__(self) -> None:
        if self.n_unigram < 0 or self.n_softmax < 0 or self.n_unigram + self.n_softmax == 0:
            raise ValueError("need at least one negative per position")
        if not self.temperature > 0:
            raise ValueError("temperature must be > 0")


def sentence_generator(seed: int, epoch: int, index: int, stream: int,
                       device: torch.device = torch.device("cpu")) -> torch.Generator:
    """A generator private to one sentence's draws in one epoch (see the module docstring)."""
    key = f"{seed}/{epoch}/{index}/{stream}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1
    generator = torch.Generator(device=device)
    generator.manual_seed(value)
    return generator


def special_token_ids(backend) -> Set[int]:
    """Token ids that are never unigram negatives: pad, EOS, BOS, unknown, language codes.

    Read from the backend's ``special_token_ids`` when it has one, else from a Hugging Face
    tokenizer or the target SentencePiece model (Bergamot).
    """
    explicit = getattr(backend, "special_token_ids", None)
    if explicit is not None:
        return {int(i) for i in explicit}
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "all_special_ids"):
        ids = set(int(i) for i in tokenizer.all_special_ids)
        if getattr(tokenizer, "pad_token_id", None) is not None:
            ids.add(int(tokenizer.pad_token_id))
        return ids
    sp = getattr(backend, "tgt_sp", None)
    if sp is not None:
        return {i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}
    return set()


def unigram_distribution(target_ids: Iterable[Sequence[int]], vocab_size: int,
                         special_ids: Iterable[int] = ()) -> torch.Tensor:
    """Relative frequency [vocab] of the training targets, special tokens set to 0."""
    counts = torch.zeros(vocab_size, dtype=torch.float64)
    for ids in target_ids:
        if len(ids):
            counts += torch.bincount(torch.as_tensor(ids, dtype=torch.long), minlength=vocab_size)[:vocab_size].double()
    special = [i for i in special_ids if 0 <= i < vocab_size]
    if special:
        counts[special] = 0
    total = counts.sum()
    if total <= 0:
        raise ValueError("the training targets contain no ordinary token to sample negatives from")
    return (counts / total).float()


def dominant_sets(probs: torch.Tensor, enabled: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """Dominant tokens of each row of probabilities [n, vocab], by the shared routine.

    Returns (ids [n, D] padded with -1, count [n]); D is the largest set in the rows (>= 1).
    With ``enabled=False`` every set is empty (the ablation without exclusion).
    """
    n = probs.shape[0]
    if not enabled or n == 0:
        return (torch.full((n, 1), -1, dtype=torch.long, device=probs.device),
                torch.zeros(n, dtype=torch.long, device=probs.device))
    # The last jump sits at a rank i with p(i) > 0.005 (the drop must exceed 0.005). Sorting
    # the top 32 is exact for every row whose 32nd probability is <= 0.005; the few others get
    # the top 256, exact for all rows since p(256) <= 1/256 < 0.005.
    k = min(FIRST_TOP_K, probs.shape[-1])
    top_p, top_ids, count = dominant_topk(probs, top_k=k)
    wide = (top_p[:, -1] > ABSOLUTE_JUMP).nonzero().flatten() if k < probs.shape[-1] else top_p.new_zeros(0).long()
    if wide.numel():
        _, wide_ids, wide_count = dominant_topk(probs[wide], top_k=min(DOMINANT_TOP_K, probs.shape[-1]))
        count = count.clone()
        count[wide] = wide_count
        width = max(1, int(count.max().item()))
        ids = torch.full((n, width), -1, dtype=torch.long, device=probs.device)
        ids[:, :min(width, k)] = top_ids[:, :width]
        ids[wide, :width] = wide_ids[:, :width]
        ids[torch.arange(width, device=probs.device) >= count.unsqueeze(-1)] = -1
        return ids, count
    width = max(1, int(count.max().item()))
    ids = top_ids[:, :width].clone()
    ids[torch.arange(width, device=probs.device) >= count.unsqueeze(-1)] = -1
    return ids, count


def gumbel_topk(log_weights: torch.Tensor, k: int,
                generator: Optional[torch.Generator]) -> Tuple[torch.Tensor, torch.Tensor]:
    """k draws without replacement per row, with probability proportional to exp(log_weights).

    Gumbel-top-k (Vieira 2014; Kool et al. 2019): the k largest of log w + Gumbel noise are an
    exact sample without replacement. Entries at -inf are never drawn; when a row has fewer
    than k drawable entries, the extra slots come back with ``valid`` False.
    """
    n, vocab = log_weights.shape
    k = min(k, vocab)
    if k == 0 or n == 0:
        empty = torch.zeros((n, k), dtype=torch.long, device=log_weights.device)
        return empty, empty.bool()
    uniform = torch.rand((n, vocab), generator=generator, device=log_weights.device)
    gumbel = -torch.log(-torch.log(uniform.clamp_(min=1e-20, max=1.0 - 1e-7)))
    keys = log_weights.float() + gumbel
    values, ids = keys.topk(k, dim=-1)
    return ids, torch.isfinite(values)


def exclusion_mask(targets: torch.Tensor, dominant_ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Bool [n, vocab]: True at each row's reference token and dominant tokens (ids -1 = none)."""
    mask = torch.zeros((targets.shape[0], vocab_size + 1), dtype=torch.bool, device=targets.device)
    mask.scatter_(1, targets.unsqueeze(1), True)
    mask.scatter_(1, torch.where(dominant_ids >= 0, dominant_ids, vocab_size), True)
    return mask[:, :vocab_size]


class NegativeSampler:
    """Draws the negatives of the paper (see the module docstring)."""

    def __init__(self, unigram: torch.Tensor, options: SamplerOptions = SamplerOptions()):
        self.unigram = unigram.float()
        self.options = options
        self.vocab_size = int(unigram.shape[0])
        self._log_unigram = torch.log(self.unigram)  # -inf where the count is 0

    def to(self, device: torch.device) -> "NegativeSampler":
        self.unigram = self.unigram.to(device)
        self._log_unigram = self._log_unigram.to(device)
        return self

    # -- the softmax draw -------------------------------------------------------------------
    def softmax_negatives(self, probs: torch.Tensor, targets: torch.Tensor,
                          dominant_ids: torch.Tensor,
                          generator: Optional[torch.Generator]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``n_softmax`` draws per row with weights p^(1/T), reference and dominant set excluded,
        without replacement.

        ``probs``: [n, vocab] softmax of the frozen model at temperature 1. Drawn as a
        pool with replacement from the masked weights (one cumulative sum per row), keeping the
        first distinct draws; rows whose pool has too few distinct tokens are redrawn exactly
        with Gumbel-top-k. Rejecting repeats is exactly sequential sampling without
        replacement, and ~15x cheaper on CPU than Gumbel noise over the whole vocabulary.
        """
        k, n = self.options.n_softmax, targets.shape[0]
        if k == 0 or n == 0:
            return _empty(n, k, targets.device)
        temperature = self.options.temperature
        weights = probs.float().sqrt() if temperature == 2.0 else probs.float().pow(1.0 / temperature)
        # zero the reference and the dominant set in place (-1 padding -> the reference again)
        weights.scatter_(1, targets.unsqueeze(1), 0.0)
        weights.scatter_(1, torch.where(dominant_ids >= 0, dominant_ids, targets.unsqueeze(1)), 0.0)
        size = POOL_FACTOR * k + POOL_EXTRA
        pool = None
        if weights.device.type == "cpu":  # CPU raises on an all-zero row: skip a pass over [n, V]
            try:
                pool = torch.multinomial(weights, size, replacement=True, generator=generator)
                drawable = torch.ones(n, dtype=torch.bool, device=weights.device)
            except RuntimeError:
                pool = None
        if pool is None:  # (GPUs would assert instead) rows with nothing left: drawn, marked invalid
            drawable = weights.sum(1) > 0
            safe = weights if bool(drawable.all()) else weights.masked_fill(~drawable.unsqueeze(1), 1.0)
            pool = torch.multinomial(safe, size, replacement=True, generator=generator)
        ids, valid = _first_distinct(pool, drawable.unsqueeze(1).expand_as(pool), k)
        short = ((valid.sum(1) < k) & drawable).nonzero().flatten()
        if short.numel():
            exact_ids, exact_valid = gumbel_topk(weights[short].log(), k, generator)  # -inf at 0
            ids[short], valid[short] = exact_ids, exact_valid
        return ids, valid

    # -- the unigram draw -------------------------------------------------------------------
    def unigram_negatives(self, targets: torch.Tensor, dominant_ids: torch.Tensor,
                          generator: Optional[torch.Generator]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``n_unigram`` draws per row from the unigram distribution, reference and dominant
        set excluded, without replacement.

        The distribution is shared by all rows, so the pool is drawn from it directly and the
        excluded tokens are rejected by comparison: no [n, vocab] work at all. A row whose pool
        runs dry (the excluded mass is large) is redrawn exactly with Gumbel-top-k.
        """
        k, n = self.options.n_unigram, targets.shape[0]
        if k == 0 or n == 0:
            return _empty(n, k, targets.device)
        size = POOL_FACTOR * k + POOL_EXTRA
        pool = torch.multinomial(self.unigram, n * size, replacement=True,
                                 generator=generator).view(n, size)
        excluded = (pool == targets.unsqueeze(1)) | (pool.unsqueeze(2) == dominant_ids.unsqueeze(1)).any(-1)
        ids, valid = _first_distinct(pool, ~excluded, k)
        short = (valid.sum(1) < k).nonzero().flatten()
        if short.numel():
            rows = self._log_unigram.expand(short.numel(), -1).masked_fill(
                exclusion_mask(targets[short], dominant_ids[short], self.vocab_size), float("-inf"))
            exact_ids, exact_valid = gumbel_topk(rows, k, generator)
            ids[short], valid[short] = exact_ids, exact_valid
        return ids, valid

    # -- both -------------------------------------------------------------------------------
    @staticmethod
    def combine(unigram_ids: torch.Tensor, unigram_valid: torch.Tensor, softmax_ids: torch.Tensor,
                softmax_valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Concatenate the two draws, dropping softmax draws that repeat a unigram draw."""
        repeat = ((softmax_ids.unsqueeze(2) == unigram_ids.unsqueeze(1)) & unigram_valid.unsqueeze(1)).any(-1)
        return (torch.cat([unigram_ids, softmax_ids], 1),
                torch.cat([unigram_valid, softmax_valid & ~repeat], 1))

    def sample(self, probs: torch.Tensor, targets: torch.Tensor,
               unigram_generator: Optional[torch.Generator] = None,
               softmax_generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """All negatives [n, n_unigram + n_softmax] and their validity for one sentence's
        positions, from the full softmax [n, vocab] (the convenience path used by tests)."""
        dom_ids, _ = dominant_sets(probs, self.options.exclude_dominant)
        soft = self.softmax_negatives(probs, targets, dom_ids, softmax_generator)
        uni = self.unigram_negatives(targets, dom_ids, unigram_generator)
        return self.combine(*uni, *soft)


def _empty(n: int, k: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    ids = torch.zeros((n, k), dtype=torch.long, device=device)
    return ids, ids.bool()


def _first_distinct(pool: torch.Tensor, allowed: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The first ``k`` allowed, not-yet-seen entries of each row of ``pool`` [n, m], in order.

    With ``pool`` drawn with replacement from weights w, this is an exact sample without
    replacement from w restricted to the allowed tokens: each kept draw is w-distributed
    over the tokens not yet kept (rejection sampling of the sequential process).
    """
    m = pool.shape[1]
    # repeats: a stable sort keeps equal tokens in draw order, so all but the first of each run
    # of equal values are repeats of an earlier draw
    values, order = pool.sort(dim=1, stable=True)
    repeat_sorted = torch.zeros_like(pool, dtype=torch.bool)
    repeat_sorted[:, 1:] = values[:, 1:] == values[:, :-1]
    repeated = torch.zeros_like(repeat_sorted).scatter_(1, order, repeat_sorted)
    keep = allowed & ~repeated
    take = keep & (keep.cumsum(1) <= k)
    position = torch.arange(m, device=pool.device)
    order = torch.where(take, position, position + m).argsort(dim=1)[:, :k]
    return pool.gather(1, order), take.gather(1, order)
