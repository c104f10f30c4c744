"""Negative sampling for Sigmoid Head training (Dinh & Niehues 2026).

At every target position the reference token is the positive. Negatives are drawn without
replacement from two sources:

* the unigram frequency distribution of the training targets (special tokens excluded):
  frequent tokens that are wrong *here*;
* the frozen model's softmax at temperature T (weights p^(1/T), T=2 by default): tokens the
  model itself finds plausible, the hard negatives;
* optionally (``n_source``), tokens of the *source* sentence spelled in the target vocabulary,
  drawn uniformly: what an untranslated span would write. Tokens that also occur in the
  reference (names, numbers, punctuation) are never source negatives: copying them is right.

All give probability 0 to the reference and to the softmax's dominant set at that position
(:mod:`sigmoid_qe.dominant`), because dominant tokens are likely *valid alternatives*: training
them as wrong would teach the head the softmax's own confusion. Softmax draws that repeat a
unigram draw are dropped, and source draws never repeat either, so a position has at most
``n_unigram + n_softmax + n_source`` negatives; ``valid`` masks say which slots are real.

Randomness is drawn from a generator seeded by (seed, epoch, sentence, stream), not from a
global stream. That makes a sentence's negatives independent of batching, of the number of
processes and of interruptions: resuming, 2-process and cached runs draw exactly the
negatives of a plain 1-process run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Tuple

import torch

from ..dominant import dominant_sets
from ..errors import OptionError

UNIGRAM_STREAM = 1
SOFTMAX_STREAM = 2
SOURCE_STREAM = 3
#: Epoch number used for the fixed negatives of the dev set.
DEV_EPOCH = -1
#: Draws with replacement per wanted negative in the rejection pool (see :func:`_first_distinct`).
POOL_FACTOR = 8
POOL_EXTRA = 16


@dataclass(frozen=True)
class SamplerOptions:
    """How many negatives, from where; the paper's defaults (no source negatives)."""

    n_unigram: int = 5
    n_softmax: int = 5
    temperature: float = 2.0
    exclude_dominant: bool = True
    n_source: int = 0

    def __post_init__(self) -> None:
        counts = (self.n_unigram, self.n_softmax, self.n_source)
        if min(counts) < 0 or sum(counts) == 0:
            raise OptionError("need at least one negative per position (n_unigram, n_softmax, "
                              "n_source >= 0)")
        if not self.temperature > 0:
            raise OptionError("temperature must be > 0")

    @property
    def width(self) -> int:
        """Negative slots per position."""
        return self.n_unigram + self.n_softmax + self.n_source


def sentence_generator(seed: int, epoch: int, index: int, stream: int,
                       device: Optional[torch.device] = None) -> torch.Generator:
    """A generator private to one sentence's draws in one epoch (see the module docstring)."""
    key = f"{seed}/{epoch}/{index}/{stream}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1
    generator = torch.Generator(device=device if device is not None else "cpu")
    generator.manual_seed(value)
    return generator


def unigram_distribution(target_ids: Iterable[Sequence[int]], vocab_size: int,
                         special_ids: Iterable[int] = ()) -> torch.Tensor:
    """Relative frequency [vocab] of the training targets, special tokens set to 0."""
    counts = torch.zeros(vocab_size, dtype=torch.float64)
    for ids in target_ids:
        if len(ids):
            ids = torch.as_tensor(ids, dtype=torch.long)
            counts += torch.bincount(ids, minlength=vocab_size)[:vocab_size].double()
    special = [i for i in special_ids if 0 <= i < vocab_size]
    if special:
        counts[special] = 0
    total = counts.sum()
    if total <= 0:
        raise ValueError("the training targets contain no ordinary token to sample negatives from")
    return (counts / total).float()


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

    def to(self, device: torch.device) -> NegativeSampler:
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
    # -- the source draw --------------------------------------------------------------------
    def source_negatives(self, targets: torch.Tensor, dominant_ids: torch.Tensor,
                         candidates: torch.Tensor, taken: torch.Tensor, taken_valid: torch.Tensor,
                         generator: Optional[torch.Generator]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``n_source`` distinct draws per row, uniform over ``candidates`` (the sentence's source
        tokens, already without specials and reference tokens), never the row's reference,
        dominant tokens or a token already ``taken`` by the other draws."""
        k, n = self.options.n_source, targets.shape[0]
        if k == 0 or n == 0 or candidates.numel() == 0:
            return _empty(n, k, targets.device)
        cand = candidates.to(targets.device).unsqueeze(0)  # [1, m]
        blocked = (cand == targets.unsqueeze(1)) | (cand.unsqueeze(2) == dominant_ids.unsqueeze(1)).any(-1)
        blocked |= ((cand.unsqueeze(2) == taken.unsqueeze(1)) & taken_valid.unsqueeze(1)).any(-1)
        keys = torch.rand((n, cand.shape[1]), generator=generator, device=targets.device)
        keys = keys.masked_fill(blocked, -1.0)
        top, order = keys.topk(min(k, cand.shape[1]), dim=-1)
        ids, valid = cand.expand(n, -1).gather(1, order), top >= 0
        if ids.shape[1] < k:  # fewer candidates than slots
            pad = _empty(n, k - ids.shape[1], targets.device)
            ids, valid = torch.cat([ids, pad[0]], 1), torch.cat([valid, pad[1]], 1)
        return ids, valid

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
