"""What the frozen model contributes to training, per sentence: hidden states, the dominant
sets and the softmax negatives.

This is the expensive part of training (the LM forward plus the [positions, vocab] softmax);
:mod:`.cache` stores its output so that later epochs can skip it. Everything here runs under
``torch.no_grad``: the model is frozen and only the head learns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ..backends.base import Backend, EncodedPair
from ..backends.frozen import logit_chunks, scored_positions
from ..dominant import dominant_sets
from .sampler import SOFTMAX_STREAM, NegativeSampler, sentence_generator


@dataclass
class SentenceFeatures:
    """One sentence's scored positions.

    hidden [n, H] float; targets [n] long; dominant_ids [n, D] long (-1 = no token);
    softmax draws per epoch: ids [n, S] long and valid [n, S] bool.
    """

    hidden: torch.Tensor
    targets: torch.Tensor
    dominant_ids: torch.Tensor
    softmax: Dict[int, Tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    @property
    def positions(self) -> int:
        return int(self.targets.shape[0])


def scored_targets(pair: EncodedPair) -> List[int]:
    """The target ids a pair trains on (its scored positions), in order."""
    return [t for t, s in zip(pair.target_ids, pair.scored) if s]


def extract_features(backend: Backend, pairs: Sequence[EncodedPair], indices: Sequence[int],
                     sampler: NegativeSampler, seed: int, epochs: Sequence[int],
                     device: Optional[torch.device] = None) -> List[SentenceFeatures]:
    """Run the frozen model on ``pairs`` (one batch) and draw their softmax negatives for each
    epoch in ``epochs`` (one epoch normally; all of them when the result is cached).

    ``indices`` are the sentences' numbers in the training set, which seed their draws.
    """
    device = device or backend.device
    positions = scored_positions(backend, pairs)
    hidden, targets = positions.hidden, positions.ids
    bounds = positions.bounds()
    result: List[SentenceFeatures] = []
    k = 0
    with torch.no_grad():
        for lo, hi, logits in logit_chunks(backend, hidden, positions.counts):
            probs = torch.softmax(logits, dim=-1)
            dom_ids, _ = dominant_sets(probs, sampler.options.exclude_dominant)
            while k < len(pairs) and bounds[k][1] <= hi:  # the whole sentences of this chunk
                start, end = bounds[k]
                a, b = start - lo, end - lo
                feats = SentenceFeatures(hidden[start:end].to(device), targets[start:end].to(device),
                                         dom_ids[a:b].to(device))
                for epoch in epochs:
                    generator = sentence_generator(seed, epoch, int(indices[k]), SOFTMAX_STREAM,
                                                   probs.device)
                    ids, valid = sampler.softmax_negatives(probs[a:b], targets[start:end],
                                                           dom_ids[a:b], generator)
                    feats.softmax[epoch] = (ids.to(device), valid.to(device))
                result.append(feats)
                k += 1
    return result
