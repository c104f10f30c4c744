"""The dev set: features and negatives drawn once, then the training loss of any head on it.

Drawing the dev negatives once (epoch ``DEV_EPOCH`` of the per-sentence generators) makes
successive evaluations comparable: the dev loss only changes because the head does, which
is what early stopping and the choice of the kept head need. Under data parallelism each rank
holds every ``world``-th sentence and the sums are added up, so the number is the same as in
one process.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch

from ..backends.base import Backend, EncodedPair
from ..backends.frozen import length_sorted_batches
from ..distributed import DistContext
from .features import SentenceFeatures, extract_features
from .loss import bce_sum
from .sampler import DEV_EPOCH, UNIGRAM_STREAM, NegativeSampler, sentence_generator

#: Dev positions scored per chunk (bounds the [n, 1 + k, hidden] gather).
EVAL_CHUNK = 4096


def sentence_negatives(sampler: NegativeSampler, feats: SentenceFeatures, index: int, epoch: int,
                       seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """All negatives of one sentence in one epoch: fresh unigram draws + its softmax draws."""
    generator = sentence_generator(seed, epoch, index, UNIGRAM_STREAM, feats.targets.device)
    uni = sampler.unigram_negatives(feats.targets, feats.dominant_ids, generator)
    return sampler.combine(*uni, *feats.softmax[epoch])


@dataclass
class DevSet:
    """This rank's dev positions: hidden states, references, negatives and their validity."""

    hidden: torch.Tensor
    targets: torch.Tensor
    negatives: torch.Tensor
    valid: torch.Tensor


def prepare_dev(backend: Backend, pairs: Sequence[EncodedPair], sampler: NegativeSampler, seed: int,
                batch_size: int, ctx: DistContext, device: torch.device) -> DevSet:
    """Run the frozen model over this rank's share of the dev pairs and fix their negatives."""
    mine = [k for k in range(len(pairs)) if k % ctx.world_size == ctx.rank]
    parts: List[Tuple[SentenceFeatures, Tuple[torch.Tensor, torch.Tensor]]] = []
    for batch in length_sorted_batches([pairs[k].cost for k in mine], batch_size):
        indices = [mine[b] for b in batch]
        feats = extract_features(backend, [pairs[k] for k in indices], indices, sampler, seed,
                                 [DEV_EPOCH], device)
        parts.extend((f, sentence_negatives(sampler, f, k, DEV_EPOCH, seed)) for f, k in zip(feats, indices))
    width = sampler.options.n_unigram + sampler.options.n_softmax
    if not parts:  # more ranks than dev sentences
        return DevSet(torch.zeros((0, backend.hidden_size), device=device),
                      torch.zeros((0,), dtype=torch.long, device=device),
                      torch.zeros((0, width), dtype=torch.long, device=device),
                      torch.zeros((0, width), dtype=torch.bool, device=device))
    return DevSet(torch.cat([f.hidden for f, _ in parts]), torch.cat([f.targets for f, _ in parts]),
                  torch.cat([n[0] for _, n in parts]), torch.cat([n[1] for _, n in parts]))


def dev_loss(weight: torch.Tensor, dev: DevSet, ctx: DistContext, device: torch.device) -> float:
    """Mean BCE over all dev pairs (all ranks) for the head ``weight``."""
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, dev.targets.shape[0], EVAL_CHUNK):
            sl = slice(start, start + EVAL_CHUNK)
            loss, n = bce_sum(weight, dev.hidden[sl], dev.targets[sl], dev.negatives[sl], dev.valid[sl])
            total += float(loss)
            count += n
    total, count = ctx.sum_floats([total, count], device)
    return total / max(1.0, count)
