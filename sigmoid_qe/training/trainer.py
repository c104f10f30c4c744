"""``train_head``: the paper's training of a Sigmoid Head on a frozen translation model.

One optimizer step = ``batch_size`` sentences x ``grad_accum`` x processes. For each sentence
the frozen model gives hidden states and softmax negatives (:mod:`.features`, or the cache),
the sampler adds unigram (and source-copy) negatives, and the summed loss of every
(position, candidate) pair is back-propagated into the gathered rows of the head only. The
step's gradient is divided by the number of pairs of the *whole* step (all micro-batches, all
processes), so the update is the gradient of the mean over all sampled pairs whatever the
split. SparseAdam with a cosine-decayed learning rate updates the touched rows.

With MQM data (:mod:`.mqm`), annotated translations join the parallel pairs: their tokens
inside human error spans are negatives of weight ``error_weight``, the rest train as usual.

Every ``eval_every`` steps the dev loss (the paper's BCE, negatives fixed once) decides early
stopping (``patience`` evaluations without improvement) and which head is kept: the best.

What is fixed for the run lives in a :class:`~.setup.RunPlan`; :class:`TrainingRun` holds only
what changes: the weight, the optimizer and scheduler, the :class:`~.checkpoint.TrainState`.
"""
from __future__ import annotations

import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..backends.base import Backend
from ..distributed import DistContext, current_context
from ..errors import InputError, SigmoidQEWarning
from ..head import SigmoidHead, SigmoidHeadConfig
from ..version import __version__
from .batching import CosineSchedule, epoch_batches, epoch_steps
from .cache import FeatureCache
from .checkpoint import (
    DamagedCheckpoint,
    TrainState,
    check_cache_dir,
    check_output_dir,
    load_checkpoint,
    resume_candidates,
    save_checkpoint,
)
from .data import ParallelData
from .devset import DevSet, dev_loss, prepare_dev, sentence_negatives
from .features import SentenceFeatures, extract_features
from .loss import objective_sum
from .mqm import MQMData
from .options import TrainOptions
from .plan import RunPlan, encode_data, plan_run
from .sampler import SOURCE_STREAM, sentence_generator


@dataclass
class TrainResult:
    """What a run produced: the kept head and how it got there."""

    head: SigmoidHead
    output_dir: Path
    steps: int
    dev_loss: Optional[float]
    history: List[List[float]]
    stopped: str
    seconds: float
    tokens: int
    record: Dict = field(default_factory=dict)


def train_head(backend: Backend, train: ParallelData, output_dir, dev: Optional[ParallelData] = None,
               options: Optional[TrainOptions] = None, head: Optional[SigmoidHead] = None,
               progress: bool = True, on_step: Optional[Callable[[int, float], None]] = None,
               context: Optional[DistContext] = None, checked: bool = False,
               mqm: Optional[MQMData] = None) -> TrainResult:
    """Train a Sigmoid Head for ``backend`` and write it to ``output_dir`` (head format).

    ``head`` is the starting point (default: a copy of the model's output embedding); it is
    checked for shape only: which model it was made for is the caller's to check (the CLI uses
    :func:`sigmoid_qe.loading.load_backend_and_head`, which honours ``--allow-other-model``).
    ``on_step(step, loss)`` is called after each optimizer step (and its checkpoint).
    Under ``torchrun``/``accelerate launch``, call :func:`.distributed.init_distributed` first
    (the CLI does); ``context`` is then found automatically. ``checked``: the caller has
    already claimed the output and cache folders (:func:`.checkpoint.check_output_dir`).
    ``mqm``: translations with human error spans (:func:`.mqm.read_mqm`), trained on beside
    ``train`` (MQM mode); the head's config.json records them under ``human_labels``.
    """
    options = options or TrainOptions()
    options.check()
    ctx = context or current_context()
    output_dir = Path(output_dir)
    if ctx.is_main and not checked:
        cache_dir = Path(options.cache_dir) if options.cache_features and options.cache_dir else None
        check_output_dir(output_dir, options.resume, options.overwrite, cache_dir)
        check_cache_dir(cache_dir, output_dir)
    ctx.barrier()
    torch.manual_seed(options.seed)
    np.random.seed(options.seed)
    random.seed(options.seed)
    plan = plan_run(backend, train, dev, options, ctx, mqm)
    return TrainingRun(backend, plan, train, dev, output_dir, head, progress and ctx.is_main,
                       on_step, ctx, mqm).run()


class TrainingRun:
    """The mutable part of one run: weight, optimizer, schedule, state, cache and dev set."""

    def __init__(self, backend: Backend, plan: RunPlan, train: ParallelData,
                 dev: Optional[ParallelData], output_dir: Path, head: Optional[SigmoidHead],
                 progress: bool, on_step, ctx: DistContext, mqm: Optional[MQMData] = None):
        self.backend, self.plan, self.opts = backend, plan, plan.options
        self.mqm = mqm
        self.train_data, self.dev_data, self.output_dir = train, dev, output_dir
        self.progress, self.on_step, self.ctx = progress, on_step, ctx
        self.device = backend.device
        start = head or SigmoidHead.from_output_embedding(backend.output_embedding(), backend.name,
                                                          backend.revision)
        # its base model is the loader's to check (--allow-other-model); only its shape here
        start.check_compatible(backend.vocab_size, backend.hidden_size, backend.name,
                               backend.revision, allow_other_model=True)
        self.weight = torch.nn.Parameter(start.weight.detach().to(self.device, torch.float32).clone())
        self.optimizer = torch.optim.SparseAdam([self.weight], lr=self.opts.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, CosineSchedule(plan.total_steps, self.opts.warmup_steps))
        self.state = TrainState()
        self.best_weight: Optional[torch.Tensor] = None
        self.cache: Optional[FeatureCache] = None
        self.session_tokens, self.session_start = 0, time.perf_counter()

    # -- setup ----------------------------------------------------------------------------------
    def _notice(self, message: str) -> None:
        if self.progress:
            from tqdm.auto import tqdm
            tqdm.write(f"sigmoid-qe-train: {message}", file=sys.stderr)

    def _resume(self) -> None:
        candidates = resume_candidates(self.output_dir) if self.opts.resume else []
        if not candidates:
            if self.opts.resume:
                self._notice(f"no checkpoint in {self.output_dir}: starting from scratch")
            return
        damaged: List[DamagedCheckpoint] = []
        for path in candidates:
            try:
                self.state, self.best_weight = load_checkpoint(
                    path, self.weight, self.optimizer, self.scheduler,
                    self.plan.resume_fingerprint)
            except DamagedCheckpoint as exc:
                damaged.append(exc)
                continue
            if damaged:
                warnings.warn(SigmoidQEWarning(
                    f"{damaged[0].path}: damaged checkpoint ({damaged[0].reason}): resumed from "
                    f"the older {path.name} instead"), stacklevel=2)
            self._notice(f"resumed from {path} (step {self.state.step})")
            return
        raise InputError(f"cannot resume: every checkpoint is damaged ({damaged[0].reason}); "
                         "delete the checkpoints folder to start over, or use another "
                         "--output-dir", damaged[0].path)

    def _open_cache(self) -> None:
        if not self.opts.cache_features:
            return
        directory = Path(self.opts.cache_dir) if self.opts.cache_dir else self.output_dir / "feature-cache"
        keys = ("base_model", "lp", "train_pairs_sha256", "seed", "n_softmax", "temperature",
                "exclude_dominant", "include_eos", "mqm_sha256")
        fingerprint = {k: self.plan.resume_fingerprint[k] for k in keys}
        if fingerprint["mqm_sha256"] is None:  # plain runs: caches made before MQM mode still match
            del fingerprint["mqm_sha256"]
        fingerprint.update(revision=self.backend.revision, epochs=self.plan.n_epochs,
                           cache_dtype=self.opts.cache_dtype)
        args = (directory, self.plan.positions, self.backend.hidden_size,
                self.opts.sampler.n_softmax, self.plan.n_epochs, self.opts.cache_dtype, fingerprint)
        if self.ctx.local_rank == 0:
            self.cache = FeatureCache(*args, create=True)
        self.ctx.barrier()
        if self.ctx.local_rank != 0:
            self.cache = FeatureCache(*args, create=False)
        self._notice(f"feature cache: {directory} ({self.cache.nbytes / 2**20:.0f} MiB, "
                     f"hidden states in {self.opts.cache_dtype})")

    # -- features -------------------------------------------------------------------------------
    def _features(self, indices: Sequence[int], epoch: int) -> List[SentenceFeatures]:
        """Features of a micro-batch: from the cache where present, else from the model."""
        plan = self.plan
        found: Dict[int, SentenceFeatures] = {}
        if self.cache is not None:
            for i in indices:
                if self.cache.has(i):
                    found[i] = self.cache.read(i, epoch, plan.targets[i], self.device)
        missing = [i for i in indices if i not in found]
        if missing:
            epochs = list(range(plan.n_epochs)) if self.cache is not None else [epoch]
            computed = extract_features(self.backend, [plan.pairs[i] for i in missing], missing,
                                        plan.sampler, self.opts.seed, epochs, self.device)
            for i, feats in zip(missing, computed):
                if self.cache is not None:
                    self.cache.write(i, feats)
                found[i] = feats
        return [found[i] for i in indices]

    def _negatives(self, feats: SentenceFeatures, index: int, epoch: int
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(negatives, valid, extra positives, extra valid) of one sentence in one epoch."""
        plan, sampler = self.plan, self.plan.sampler
        extra = plan.extra_positives[index]
        n = feats.positions
        if extra is None:
            extra = torch.full((n, 1), -1, dtype=torch.long)
        extra = extra.to(self.device)
        exclude = torch.cat([feats.dominant_ids, extra], 1)
        excluded = SentenceFeatures(feats.hidden, feats.targets, exclude, feats.softmax)
        ids, valid = sentence_negatives(sampler, excluded, index, epoch, self.opts.seed)
        valid = valid & ~(ids.unsqueeze(2) == extra.unsqueeze(1)).any(-1)  # cached softmax draws
        candidates = plan.source_candidates[index]
        if sampler.options.n_source:
            generator = sentence_generator(self.opts.seed, epoch, index, SOURCE_STREAM,
                                           feats.targets.device)
            src_ids, src_valid = sampler.source_negatives(
                feats.targets, exclude,
                candidates if candidates is not None else torch.zeros(0, dtype=torch.long),
                ids, valid, generator)
            ids, valid = torch.cat([ids, src_ids], 1), torch.cat([valid, src_valid], 1)
        return ids, valid, extra.clamp(min=0), extra >= 0

    def _errors(self, index: int, n: int) -> torch.Tensor:
        """[n] bool: the human-marked error tokens of sentence ``index`` (none for parallel pairs)."""
        marked = self.plan.errors[index] if self.plan.errors else None
        if marked is None:
            return torch.zeros(n, dtype=torch.bool, device=self.device)
        return marked.to(self.device)

    def _batch_tensors(self, indices: Sequence[int], epoch: int):
        """A micro-batch's positions: hidden, targets, negatives, valid, extra positives,
        their validity, and the MQM error mask."""
        parts = []
        for feats, index in zip(self._features(indices, epoch), indices):
            ids, valid, extra, extra_valid = self._negatives(feats, index, epoch)
            errors = self._errors(index, feats.positions)
            keep = slice(None)
            if self.opts.unk_targets == "skip" and self.plan.unk_id is not None:
                keep = feats.targets != self.plan.unk_id
            parts.append((feats.hidden[keep], feats.targets[keep], ids[keep], valid[keep],
                          extra[keep], extra_valid[keep], errors[keep]))
        width = max(p[4].shape[1] for p in parts)
        pad = lambda t, fill: torch.nn.functional.pad(t, (0, width - t.shape[1]), value=fill)  # noqa: E731
        return (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]),
                torch.cat([p[2] for p in parts]), torch.cat([p[3] for p in parts]),
                torch.cat([pad(p[4], 0) for p in parts]), torch.cat([pad(p[5], False) for p in parts]),
                torch.cat([p[6] for p in parts]))

    # -- dev ------------------------------------------------------------------------------------
    def _prepare_dev(self) -> Optional[DevSet]:
        if self.dev_data is None:
            return None
        pairs, _ = encode_data(self.backend, self.dev_data, self.opts.include_eos)
        return prepare_dev(self.backend, pairs, self.plan.sampler, self.opts.seed,
                           self.opts.batch_size, self.ctx, self.device)

    def _evaluate(self, dev: DevSet) -> bool:
        """Record the dev loss; True when early stopping says stop."""
        loss = dev_loss(self.weight, dev, self.ctx, self.device)
        state = self.state
        state.history.append([state.step, loss])
        if state.best_loss is None or loss < state.best_loss:
            state.best_loss, state.best_step, state.bad_evals = loss, state.step, 0
            self.best_weight = self.weight.detach().to("cpu", copy=True)
        elif state.step > 0:
            state.bad_evals += 1
        self._notice(f"step {state.step}: dev loss {loss:.4f} (best {state.best_loss:.4f} at step "
                     f"{state.best_step})")
        return state.bad_evals >= self.opts.patience

    # -- training -------------------------------------------------------------------------------
    def _step(self, micro_batches: List[List[int]], epoch: int) -> Tuple[float, int]:
        """One optimizer step over this rank's micro-batches; returns (mean loss, positions)."""
        loss_sum, pairs, positions = 0.0, 0, 0
        for indices in micro_batches:
            hidden, targets, negatives, valid, extra, extra_valid, errors = \
                self._batch_tensors(indices, epoch)
            loss, count = objective_sum(self.weight, hidden, targets, negatives, valid, extra,
                                        extra_valid, self.opts.rank_weight, self.opts.rank_margin,
                                        errors if self.mqm is not None else None,
                                        self.mqm.error_weight if self.mqm is not None else 1.0)
            loss.backward()
            loss_sum += float(loss.detach())
            pairs += count
            positions += int(targets.shape[0])
        loss_sum, pairs, positions = self.ctx.sum_floats([loss_sum, pairs, positions], self.device)
        grad = self.ctx.sum_sparse(self.weight.grad, self.weight.shape, self.device)
        self.weight.grad = grad * (1.0 / max(1.0, pairs))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum / max(1.0, pairs), int(positions)

    def _save(self) -> None:
        if self.cache is not None:
            self.cache.flush()
        if self.ctx.is_main:
            save_checkpoint(self.output_dir, self.state, self.weight, self.best_weight,
                            self.optimizer, self.scheduler, self.plan.resume_fingerprint,
                            keep=self.opts.keep_checkpoints)
        self.ctx.barrier()

    def _loop(self, dev: Optional[DevSet]) -> None:
        opts, state, plan = self.opts, self.state, self.plan
        from tqdm.auto import tqdm
        bar = tqdm(total=plan.total_steps, initial=state.step,
                   disable=None if self.progress else True,
                   desc="Training", unit="step", file=sys.stderr, dynamic_ncols=True)
        try:
            while state.stopped is None and state.epoch < plan.n_epochs:
                steps = epoch_steps(epoch_batches(plan.positions, opts.batch_size, opts.seed,
                                                  state.epoch), plan.micro_batches_per_step)
                while state.step_in_epoch < len(steps) and state.step < plan.total_steps:
                    group = steps[state.step_in_epoch]
                    r, a = self.ctx.rank, opts.grad_accum
                    loss, tokens = self._step(group[r * a:(r + 1) * a], state.epoch)
                    # the weight is the same on every rank, so all stop together
                    if not bool(torch.isfinite(self.weight).all()):
                        raise InputError(f"training diverged at step {state.step + 1} (non-"
                                         "finite weights): lower --lr; no head written",
                                         self.output_dir)
                    state.step += 1
                    state.step_in_epoch += 1
                    state.tokens += tokens
                    state.train_loss = loss
                    self.session_tokens += tokens
                    rate = self.session_tokens / max(1e-9, time.perf_counter() - self.session_start)
                    bar.update(1)
                    bar.set_postfix_str(f"epoch={state.epoch + 1} loss={loss:.4f} tok/s={rate:.0f}",
                                        refresh=False)
                    if dev is not None and opts.eval_every and state.step % opts.eval_every == 0:
                        if self._evaluate(dev):
                            state.stopped = "early stopping"
                    if state.stopped is None and state.step >= plan.total_steps:
                        state.stopped = "max steps" if opts.max_steps else "epochs"
                    if opts.save_every and state.step % opts.save_every == 0:
                        self._save()
                    if self.on_step is not None:
                        self.on_step(state.step, loss)
                    if state.stopped is not None:
                        break
                if state.step_in_epoch >= len(steps):
                    state.epoch += 1
                    state.step_in_epoch = 0
                    if self.cache is not None:
                        self.cache.flush()
                        self.ctx.barrier()
            if state.stopped is None:
                state.stopped = "epochs"
        finally:
            bar.close()

    # -- output ---------------------------------------------------------------------------------
    def _record(self, seconds: float) -> Dict:
        state, plan = self.state, self.plan
        fingerprint = plan.resume_fingerprint
        record = {
            "package_version": __version__, "base_model": self.backend.name,
            "base_revision": self.backend.revision, "lp": self.train_data.lp,
            "data": {"train": self.train_data.file_records(),
                     "dev": self.dev_data.file_records() if self.dev_data is not None else [],
                     "train_pairs_sha256": fingerprint["train_pairs_sha256"],
                     "dev_pairs_sha256": fingerprint["dev_pairs_sha256"]},
            "train_pairs": len(plan.pairs), "train_positions": int(sum(plan.positions)),
            "steps": state.step, "steps_per_epoch": plan.steps_per_epoch,
            "epochs_completed": round(state.step / plan.steps_per_epoch, 3),
            "stopped": state.stopped, "dev_loss": state.best_loss, "selected_step": state.best_step
            if state.best_loss is not None else state.step,
            "dev_loss_initial": state.history[0][1] if state.history else None,
            "dev_history": state.history, "train_loss_last_step": state.train_loss,
            "options": self.opts.record(), "world_size": self.ctx.world_size,
            "sentences_per_step": fingerprint["sentences_per_step"],
            "unigram_excluded_special_tokens": plan.special_count,
            "pairs_with_other_references": sum(e is not None for e in plan.extra_positives),
            "seconds_last_session": round(seconds, 1),
        }
        if self.mqm is not None:
            mqm_positions = int(sum(plan.positions[plan.mqm_start:]))
            record["human_labels"] = self.mqm.record(plan.error_positions, mqm_positions)
        if self.cache is not None:
            record["feature_cache"] = {"hidden_dtype": self.opts.cache_dtype,
                                       "positions_with_truncated_dominant_set": self.cache.truncated_dominant}
        return record

    def _finish(self, seconds: float) -> TrainResult:
        record = self._record(seconds)
        kept = self.best_weight if self.best_weight is not None else self.weight.detach().cpu()
        style = self.backend.prompt_style
        config = SigmoidHeadConfig(vocab_size=self.backend.vocab_size, hidden_size=self.backend.hidden_size,
                                   base_model=self.backend.name, base_revision=self.backend.revision,
                                   prompt_style=style if style not in (None, "default") else None,
                                   training=record)
        head = SigmoidHead(config)
        with torch.no_grad():
            head.weight.copy_(kept.to(torch.float32))
        if self.ctx.is_main:
            head.save_pretrained(self.output_dir, dtype=self.opts.save_dtype)
            if self.cache is not None and not self.opts.keep_cache:
                self.cache.delete()
        self.ctx.barrier()
        return TrainResult(head, self.output_dir, self.state.step, self.state.best_loss,
                           self.state.history, self.state.stopped or "epochs", seconds,
                           self.state.tokens, record)

    def run(self) -> TrainResult:
        plan = self.plan
        self._resume()
        if self.mqm is not None:
            self._notice(f"MQM mode: {len(plan.pairs) - plan.mqm_start} of the pairs are MQM rows, "
                         f"{plan.error_positions} tokens in human error spans (negatives of "
                         f"weight {self.mqm.error_weight:g})")
        self._notice(f"{len(plan.pairs)} training pairs ({sum(plan.positions)} target tokens), "
                     f"{plan.steps_per_epoch} steps per epoch of "
                     f"{plan.resume_fingerprint['sentences_per_step']} sentences, "
                     f"{plan.total_steps} steps, {self.ctx.world_size} process(es)")
        self._open_cache()
        dev = self._prepare_dev()
        start = self.session_start = time.perf_counter()
        if dev is not None and not self.state.history:
            self._evaluate(dev)  # step 0: the initial head, the baseline to beat
        if self.state.stopped is None:
            self._loop(dev)
        if dev is not None and self.state.history[-1][0] != self.state.step:
            self._evaluate(dev)  # the last head is a candidate too
        if self.opts.save_every:
            self._save()  # a final checkpoint: --resume on a finished run only rewrites the head
        return self._finish(time.perf_counter() - start)
