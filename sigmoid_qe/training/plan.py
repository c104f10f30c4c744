"""What is fixed for a whole run, computed once before the first step: the :class:`RunPlan`.

The encoded pairs and their targets, the sampler, the per-sentence extras (source tokens for
source-copy negatives, other references' tokens, MQM rows' human-marked error tokens), the
schedule sizes, and the run's resume fingerprint: everything here is a function of the data,
the model and the options, which is what lets a resumed run or another process rebuild
exactly the same plan.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..backends.base import Backend, EncodedPair
from ..distributed import DistContext
from ..errors import InputError, InputWarning, OptionError, SigmoidQEWarning
from .batching import steps_per_epoch
from .data import ParallelData
from .features import scored_targets
from .mqm import MQMData, token_errors
from .options import TrainOptions
from .references import extra_positives
from .sampler import NegativeSampler, unigram_distribution


def encode_data(backend: Backend, data: Union[ParallelData, MQMData], include_eos: bool
                ) -> Tuple[List[EncodedPair], List[int]]:
    """Encoded pairs with something to train on, and their indices in ``data``.

    The backend's per-pair warnings (an over-long pair, say) are re-issued naming the file and
    line the pair came from.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = backend.encode(data.sources, data.targets, include_eos=include_eos)
    for item in caught:
        message = item.message
        if isinstance(message, InputWarning):
            side = "source" if message.side == "source" else "target"
            warnings.warn(SigmoidQEWarning(f"{data.location(message.side, message.index)}: "
                                           f"{side}: {message.message}"), stacklevel=3)
        else:
            warnings.warn_explicit(message, item.category, item.filename, item.lineno)
    keep = [i for i, p in enumerate(pairs) if any(p.scored)]
    return [pairs[i] for i in keep], keep


@dataclass(frozen=True)
class RunPlan:
    """Everything fixed for a run (see the module docstring)."""

    options: TrainOptions
    pairs: List[EncodedPair]
    targets: List[torch.Tensor]
    positions: List[int]
    sampler: NegativeSampler
    #: per pair: target-vocabulary ids of its source, for source-copy negatives (or None)
    source_candidates: List[Optional[torch.Tensor]]
    #: per pair: [positions, A] extra positive ids from other references (or None)
    extra_positives: List[Optional[torch.Tensor]]
    unk_id: Optional[int]
    special_count: int
    #: optimizer steps group micro_batches_per_step = processes x accumulation micro-batches
    micro_batches_per_step: int
    steps_per_epoch: int
    total_steps: int
    n_epochs: int
    #: what must be identical for a checkpoint to be resumed
    resume_fingerprint: Dict[str, Any]
    #: per pair: [positions] bool, True where people marked the token an error (MQM rows), or None
    errors: Optional[List[Optional[torch.Tensor]]] = None
    #: pairs [mqm_start:] are MQM rows (== len(pairs) without MQM data)
    mqm_start: Optional[int] = None

    @property
    def error_positions(self) -> int:
        return int(sum(int(e.sum()) for e in self.errors or () if e is not None))


def _source_candidates(backend: Backend, data: Union[ParallelData, MQMData], keep: Sequence[int],
                       targets: Sequence[torch.Tensor], specials: set) -> List[Optional[torch.Tensor]]:
    out: List[Optional[torch.Tensor]] = []
    for k, index in enumerate(keep):
        ids = set(backend.target_token_ids(data.sources[index])) - specials
        ids -= set(targets[k].tolist())  # tokens the reference writes too: copying them is right
        out.append(torch.as_tensor(sorted(ids), dtype=torch.long) if ids else None)
    return out


def plan_run(backend: Backend, train: ParallelData, dev: Optional[ParallelData],
             options: TrainOptions, ctx: DistContext, mqm: Optional[MQMData] = None) -> RunPlan:
    """Encode the data and fix every run-wide quantity; fails early on impossible options.

    MQM rows (``mqm``) follow the parallel pairs: they are shuffled into the same epochs, one
    pass per epoch, their error tokens marked in ``errors``."""
    pairs, keep = encode_data(backend, train, options.include_eos)
    if not pairs:
        raise InputError("no training pair has a token to train on", ", ".join(train.files))
    n_parallel = len(pairs)
    mqm_pairs, mqm_keep = encode_data(backend, mqm, options.include_eos) if mqm else ([], [])
    if mqm is not None and not mqm_pairs:
        raise InputError("no MQM row has a token to train on", ", ".join(mqm.files))
    errors: List[Optional[torch.Tensor]] = [None] * n_parallel + [
        torch.as_tensor(token_errors(p.offsets, mqm.spans[i], mqm.targets[i]),
                        dtype=torch.bool)
        for p, i in zip(mqm_pairs, mqm_keep)]
    pairs = pairs + mqm_pairs
    targets = [torch.as_tensor(scored_targets(p), dtype=torch.long) for p in pairs]
    specials = set(backend.special_token_ids())
    drawable = backend.vocab_size - len(specials) - 1
    if options.sampler.n_unigram + options.sampler.n_softmax > drawable:
        raise OptionError(f"negatives: {options.sampler.n_unigram} + {options.sampler.n_softmax} "
                          f"per position, but the vocabulary has only {drawable} tokens that "
                          f"can be negatives")
    unigram = unigram_distribution([t.tolist() for t in targets], backend.vocab_size, specials)
    sampler = NegativeSampler(unigram, options.sampler).to(backend.device)
    sources = (_source_candidates(backend, train, keep, targets[:n_parallel], specials)
               if options.sampler.n_source else [None] * n_parallel)
    if mqm_pairs:
        sources += (_source_candidates(backend, mqm, mqm_keep, targets[n_parallel:], specials)
                    if options.sampler.n_source else [None] * len(mqm_pairs))
    extras = (extra_positives([train.sources[i] for i in keep],
                              [t.tolist() for t in targets[:n_parallel]], specials)
              if options.multi_reference else [None] * n_parallel) + [None] * len(mqm_pairs)
    group = ctx.world_size * options.grad_accum
    per_epoch = steps_per_epoch(len(pairs), options.batch_size, group)
    # as in Hugging Face's Trainer, max_steps (when given) overrides epochs
    total = options.max_steps or options.epochs * per_epoch
    fingerprint = {
        "base_model": backend.name, "lp": train.lp, "train_pairs_sha256": train.content_sha256(),
        "dev_pairs_sha256": dev.content_sha256() if dev is not None else None,
        "sentences_per_step": options.batch_size * group, "vocab_size": backend.vocab_size,
        "hidden_size": backend.hidden_size,
        **{k: v for k, v in options.record().items()
           if k not in ("cache_features", "cache_dtype", "save_dtype", "save_every",
                        "keep_checkpoints", "grad_accum")}}
    # None without MQM data, as in checkpoints written before MQM mode: those keep resuming,
    # while a plain run cannot resume an MQM run's checkpoint, nor the reverse
    fingerprint.update(mqm_sha256=mqm.content_sha256() if mqm is not None else None,
                       mqm_weight=mqm.error_weight if mqm is not None else None)
    return RunPlan(options, pairs, targets, [int(t.numel()) for t in targets], sampler, sources,
                   extras, backend.unk_token_id, len(specials), group, per_epoch, total,
                   math.ceil(total / per_epoch), fingerprint, errors, n_parallel)
