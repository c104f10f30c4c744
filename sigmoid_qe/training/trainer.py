"""``train_head``: the paper's training of a Sigmoid Head on a frozen translation model.

One optimizer step = ``batch_size`` sentences x ``grad_accum`` x processes. For each sentence
the frozen model gives hidden states and softmax negatives (:mod:`.features`, or the cache),
the sampler adds unigram negatives, and the summed BCE of every (position, candidate) pair
is back-propagated into the gathered rows of the head only. The step's gradient is divided
by the number of pairs of the *whole* step (all micro-batches, all processes), so the update
is the gradient of the mean over all sampled pairs whatever the split. SparseAdam with a
cosine-decayed learning rate updates the touched rows.

Every ``eval_every`` steps the dev loss (same objective, negatives fixed once) decides early
stopping (``patience`` evaluations without improvement) and which head is kept: the best.
"""
from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..backends.base import Backend, EncodedPair
from ..errors import InputError
from ..head import SigmoidHead, SigmoidHeadConfig
from ..version import __version__
from .batching import CosineSchedule, epoch_batches, epoch_steps, steps_per_epoch
from .cache import FeatureCache
from .checkpoint import TrainState, latest_checkpoint, load_checkpoint, readable, save_checkpoint
from .data import ParallelData
from .distributed import DistContext, current_context
from .devset import DevSet, dev_loss, prepare_dev, sentence_negatives
from .features import SentenceFeatures, extract_features, scored_targets
from .loss import bce_sum
from .sampler import NegativeSampler, SamplerOptions, special_token_ids, unigram_distribution

@dataclass
class TrainOptions:
    """Training recipe; the defaults are the paper's (lr 1e-4, 5 + 5 negatives, T = 2)."""

    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1e-4
    warmup_steps: int = 0
    epochs: int = 1
    max_steps: Optional[int] = None
    eval_every: Optional[int] = 500
    save_every: Optional[int] = None
    patience: int = 3
    seed: int = 0
    n_unigram: int = 5
    n_softmax: int = 5
    temperature: float = 2.0
    exclude_dominant: bool = True
    include_eos: bool = True
    cache_features: bool = False
    cache_dtype: str = "float16"
    cache_dir: Optional[str] = None
    keep_cache: bool = False
    save_dtype: str = "float32"
    resume: bool = False

    def check(self) -> None:
        for name in ("batch_size", "grad_accum", "epochs", "patience"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be >= 1")
        for name in ("max_steps", "eval_every", "save_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"--{name.replace('_', '-')} must be >= 1")
        if not self.lr > 0:
            raise InputError("--lr must be > 0")
        if self.warmup_steps < 0:
            raise InputError("--warmup-steps must be >= 0")
        try:
            self.sampler_options()
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.cache_dtype not in ("float16", "float32"):
            raise InputError("--cache-dtype must be float16 or float32")

    def sampler_options(self) -> SamplerOptions:
        return SamplerOptions(self.n_unigram, self.n_softmax, self.temperature, self.exclude_dominant)


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
    tokens_per_second: float
    record: Dict = field(default_factory=dict)


def train_head(backend: Backend, train: ParallelData, output_dir, dev: Optional[ParallelData] = None,
               options: Optional[TrainOptions] = None, head: Optional[SigmoidHead] = None,
               progress: bool = True, on_step: Optional[Callable[[int, float], None]] = None,
               context: Optional[DistContext] = None) -> TrainResult:
    """Train a Sigmoid Head for ``backend`` and write it to ``output_dir`` (head format).

    ``head`` is the starting point (default: a copy of the model's output embedding).
    ``on_step(step, loss)`` is called after each optimizer step (and its checkpoint).
    Under ``torchrun``/``accelerate launch``, call :func:`.distributed.init_distributed` first
    (the CLI does); ``context`` is then found automatically.
    """
    options = options or TrainOptions()
    options.check()
    return _Run(backend, train, dev, Path(output_dir), options, head, progress, on_step,
                context or current_context()).run()


class _Run:
    """One training run; the methods are the stages of :func:`train_head`."""

    def __init__(self, backend, train, dev, output_dir, options, head, progress, on_step, ctx):
        self.backend, self.train_data, self.dev_data = backend, train, dev
        self.output_dir, self.opts, self.ctx = output_dir, options, ctx
        self.progress, self.on_step = progress and ctx.is_main, on_step
        self.device = backend.device
        self.init_head = head
        self.cache: Optional[FeatureCache] = None

    # -- setup ----------------------------------------------------------------------------------
    def _notice(self, message: str) -> None:
        if self.progress:
            from tqdm.auto import tqdm
            tqdm.write(f"sigmoid-qe-train: {message}", file=sys.stderr)

    def _check_output_dir(self) -> None:
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise InputError("exists and is not a directory", self.output_dir)
        if not self.opts.resume and latest_checkpoint(self.output_dir) is not None:
            raise InputError("holds checkpoints of an earlier run: pass --resume to continue it, "
                             "or choose another --output-dir", self.output_dir)

    def _encode(self, data: ParallelData) -> Tuple[List[EncodedPair], List[int]]:
        pairs = self.backend.encode(data.sources, data.targets, include_eos=self.opts.include_eos)
        keep = [i for i, p in enumerate(pairs) if any(p.scored)]
        return [pairs[i] for i in keep], keep

    def _setup(self) -> None:
        opts, backend = self.opts, self.backend
        torch.manual_seed(opts.seed)
        np.random.seed(opts.seed)
        random.seed(opts.seed)
        self.pairs, _ = self._encode(self.train_data)
        if not self.pairs:
            raise InputError("no training pair has a token to train on", ", ".join(self.train_data.files))
        self.targets = [torch.as_tensor(scored_targets(p), dtype=torch.long) for p in self.pairs]
        self.positions = [int(t.numel()) for t in self.targets]
        specials = special_token_ids(backend)
        unigram = unigram_distribution([t.tolist() for t in self.targets], backend.vocab_size, specials)
        self.sampler = NegativeSampler(unigram, opts.sampler_options()).to(self.device)
        self.group = self.ctx.world_size * opts.grad_accum
        self.steps_per_epoch = steps_per_epoch(len(self.pairs), opts.batch_size, self.group)
        # as in Hugging Face's Trainer, --max-steps (when given) overrides --epochs
        self.total_steps = opts.max_steps or opts.epochs * self.steps_per_epoch
        self.n_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        head = self.init_head or SigmoidHead.from_output_embedding(
            backend.output_embedding(), backend.name, backend.revision)
        head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name)
        self.weight = torch.nn.Parameter(head.weight.detach().to(self.device, torch.float32).clone())
        self.optimizer = torch.optim.SparseAdam([self.weight], lr=opts.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, CosineSchedule(self.total_steps, opts.warmup_steps))
        self.train_files = self.train_data.file_records()
        self.dev_files = self.dev_data.file_records() if self.dev_data is not None else []
        self.fixed = {
            "base_model": backend.name, "lp": self.train_data.lp,
            "train_pairs_sha256": self.train_data.content_sha256(),
            "dev_pairs_sha256": self.dev_data.content_sha256() if self.dev_data is not None else None,
            "batch_size": opts.batch_size, "sentences_per_step": opts.batch_size * self.group,
            "lr": opts.lr, "warmup_steps": opts.warmup_steps, "epochs": opts.epochs,
            "max_steps": opts.max_steps, "eval_every": opts.eval_every, "patience": opts.patience,
            "seed": opts.seed, "n_unigram": opts.n_unigram, "n_softmax": opts.n_softmax,
            "temperature": opts.temperature, "exclude_dominant": opts.exclude_dominant,
            "include_eos": opts.include_eos, "vocab_size": backend.vocab_size,
            "hidden_size": backend.hidden_size}
        self.state = TrainState()
        self.best_weight: Optional[torch.Tensor] = None
        self.special_count = len(specials)

    def _resume(self) -> None:
        path = latest_checkpoint(self.output_dir) if self.opts.resume else None
        if path is None:
            if self.opts.resume:
                self._notice(f"no checkpoint in {self.output_dir}: starting from scratch")
            return
        self.state, best = load_checkpoint(path, self.weight, self.optimizer, self.scheduler, self.fixed)
        self.best_weight = best
        self._notice(f"resumed from {path} (step {self.state.step})")

    def _open_cache(self) -> None:
        if not self.opts.cache_features:
            return
        directory = Path(self.opts.cache_dir) if self.opts.cache_dir else self.output_dir / "feature-cache"
        fingerprint = {k: self.fixed[k] for k in ("base_model", "lp", "train_pairs_sha256", "seed",
                                                  "n_softmax", "temperature", "exclude_dominant",
                                                  "include_eos")}
        fingerprint.update(revision=self.backend.revision, epochs=self.n_epochs,
                           cache_dtype=self.opts.cache_dtype)
        args = (directory, self.positions, self.backend.hidden_size, self.opts.n_softmax,
                self.n_epochs, self.opts.cache_dtype, fingerprint)
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
        found: Dict[int, SentenceFeatures] = {}
        if self.cache is not None:
            for i in indices:
                if self.cache.has(i):
                    found[i] = self.cache.read(i, epoch, self.targets[i], self.device)
        missing = [i for i in indices if i not in found]
        if missing:
            epochs = list(range(self.n_epochs)) if self.cache is not None else [epoch]
            computed = extract_features(self.backend, [self.pairs[i] for i in missing], missing,
                                        self.sampler, self.opts.seed, epochs, self.device)
            for i, feats in zip(missing, computed):
                if self.cache is not None:
                    self.cache.write(i, feats)
                found[i] = feats
        return [found[i] for i in indices]

    def _batch_tensors(self, indices: Sequence[int], epoch: int):
        feats = self._features(indices, epoch)
        negs = [sentence_negatives(self.sampler, f, i, epoch, self.opts.seed) for f, i in zip(feats, indices)]
        return (torch.cat([f.hidden for f in feats]), torch.cat([f.targets for f in feats]),
                torch.cat([n[0] for n in negs]), torch.cat([n[1] for n in negs]))

    # -- dev ------------------------------------------------------------------------------------
    def _prepare_dev(self) -> Optional[DevSet]:
        if self.dev_data is None:
            return None
        pairs, _ = self._encode(self.dev_data)
        return prepare_dev(self.backend, pairs, self.sampler, self.opts.seed, self.opts.batch_size,
                           self.ctx, self.device)

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
            hidden, targets, negatives, valid = self._batch_tensors(indices, epoch)
            loss, count = bce_sum(self.weight, hidden, targets, negatives, valid)
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
                            self.optimizer, self.scheduler, self.fixed)
        self.ctx.barrier()

    def _loop(self, dev: Optional[DevSet]) -> None:
        opts, state = self.opts, self.state
        from tqdm.auto import tqdm
        bar = tqdm(total=self.total_steps, initial=state.step, disable=not self.progress,
                   desc="Training", unit="step", file=sys.stderr, dynamic_ncols=True)
        self.session_tokens, self.session_start = 0, time.perf_counter()
        try:
            while state.stopped is None and state.epoch < self.n_epochs:
                steps = epoch_steps(epoch_batches(self.positions, opts.batch_size, opts.seed,
                                                  state.epoch), self.group)
                while state.step_in_epoch < len(steps) and state.step < self.total_steps:
                    group = steps[state.step_in_epoch]
                    r, a = self.ctx.rank, opts.grad_accum
                    loss, tokens = self._step(group[r * a:(r + 1) * a], state.epoch)
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
                    if state.stopped is None and state.step >= self.total_steps:
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
        state, opts = self.state, self.opts
        options = {k: v for k, v in asdict(opts).items() if k not in ("resume", "cache_dir", "keep_cache")}
        record = {
            "package_version": __version__, "base_model": self.backend.name,
            "base_revision": self.backend.revision, "lp": self.train_data.lp,
            "data": {"train": self.train_files, "dev": self.dev_files,
                     "train_pairs_sha256": self.fixed["train_pairs_sha256"],
                     "dev_pairs_sha256": self.fixed["dev_pairs_sha256"]},
            "train_pairs": len(self.pairs), "train_positions": int(sum(self.positions)),
            "steps": state.step, "steps_per_epoch": self.steps_per_epoch,
            "epochs_completed": round(state.step / self.steps_per_epoch, 3),
            "stopped": state.stopped, "dev_loss": state.best_loss, "selected_step": state.best_step
            if state.best_loss is not None else state.step,
            "dev_loss_initial": state.history[0][1] if state.history else None,
            "dev_history": state.history, "train_loss_last_step": state.train_loss,
            "options": options, "world_size": self.ctx.world_size,
            "sentences_per_step": opts.batch_size * self.group,
            "unigram_excluded_special_tokens": self.special_count,
            "seconds_last_session": round(seconds, 1),
        }
        if self.cache is not None:
            record["feature_cache"] = {"hidden_dtype": opts.cache_dtype,
                                       "positions_with_truncated_dominant_set": self.cache.truncated_dominant}
        return record

    def _finish(self, seconds: float) -> TrainResult:
        record = self._record(seconds)
        kept = self.best_weight if self.best_weight is not None else self.weight.detach().cpu()
        config = SigmoidHeadConfig(vocab_size=self.backend.vocab_size, hidden_size=self.backend.hidden_size,
                                   base_model=self.backend.name, base_revision=self.backend.revision,
                                   training=record)
        head = SigmoidHead(config)
        with torch.no_grad():
            head.weight.copy_(kept.to(torch.float32))
        if self.ctx.is_main:
            head.save_pretrained(self.output_dir, dtype=self.opts.save_dtype)
            readable(self.output_dir / "head.safetensors")
            if self.cache is not None and not self.opts.keep_cache:
                import shutil
                directory = self.cache.directory
                self.cache.close()
                shutil.rmtree(directory, ignore_errors=True)
        self.ctx.barrier()
        rate = self.session_tokens / max(1e-9, seconds)
        return TrainResult(head, self.output_dir, self.state.step, self.state.best_loss,
                           self.state.history, self.state.stopped or "epochs", seconds,
                           self.state.tokens, rate, record)

    def run(self) -> TrainResult:
        self._check_output_dir()
        self._setup()
        self._resume()
        self._notice(f"{len(self.pairs)} training pairs ({sum(self.positions)} target tokens), "
                     f"{self.steps_per_epoch} steps per epoch of {self.opts.batch_size * self.group} "
                     f"sentences, {self.total_steps} steps, {self.ctx.world_size} process(es)")
        self._open_cache()
        dev = self._prepare_dev()
        start = time.perf_counter()
        if dev is not None and not self.state.history:
            self._evaluate(dev)  # step 0: the initial head, the baseline to beat
        self.session_tokens, self.session_start = 0, start
        if self.state.stopped is None:
            self._loop(dev)
        if dev is not None and self.state.history[-1][0] != self.state.step:
            self._evaluate(dev)  # the last head is a candidate too
        if self.opts.save_every:
            self._save()  # a final checkpoint: --resume on a finished run only rewrites the head
        return self._finish(time.perf_counter() - start)
