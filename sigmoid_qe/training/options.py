"""The training recipe: every option of a run, with the defaults of the shipped heads.

Defaults follow the paper (5 + 5 negatives, temperature 2, dominant tokens never negatives,
BCE) except the learning rate: 1e-3, since at the paper's 1e-4 a head barely moves from the
output embedding in a CPU-sized run (each row only learns when it is sampled). The options
that are new here (source-copy negatives, several references, ``<unk>`` targets, a margin
ranking term) are off by default; ``scripts/train_default_heads.py`` says which the shipped
heads use.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

from ..errors import OptionError
from .sampler import SamplerOptions

UNK_TARGETS = ("train", "skip")


@dataclass
class TrainOptions:
    """One run's recipe. Errors name the field (the command line maps fields to flags)."""

    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1e-3
    warmup_steps: int = 0
    epochs: int = 1
    max_steps: Optional[int] = None
    eval_every: Optional[int] = 500
    save_every: Optional[int] = None
    #: How many checkpoints to keep (each is ~4x the head's float32 size).
    keep_checkpoints: int = 1
    patience: int = 3
    seed: int = 0
    sampler: SamplerOptions = field(default_factory=SamplerOptions)
    include_eos: bool = True
    #: "train": an ``<unk>`` reference token is a positive like any other; "skip": positions
    #: whose reference is ``<unk>`` are not trained on (the head is not taught that what the
    #: tokenizer cannot spell is acceptable).
    unk_targets: str = "train"
    #: Sources translated more than once: the other references' tokens at aligned positions
    #: are extra positives (and never negatives).
    multi_reference: bool = False
    #: Weight of a margin ranking term max(0, margin - (z_ref - z_neg)) next to the BCE.
    rank_weight: float = 0.0
    rank_margin: float = 1.0
    cache_features: bool = False
    cache_dtype: str = "float16"
    cache_dir: Optional[str] = None
    keep_cache: bool = False
    save_dtype: str = "float32"
    resume: bool = False
    #: replace the head of an earlier run in the output folder (its checkpoints are removed)
    overwrite: bool = False

    def check(self) -> None:
        for name in ("batch_size", "grad_accum", "epochs", "patience", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise OptionError(f"{name} must be >= 1")
        for name in ("max_steps", "eval_every", "save_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionError(f"{name} must be >= 1")
        if not self.lr > 0:
            raise OptionError("lr must be > 0")
        if self.warmup_steps < 0:
            raise OptionError("warmup_steps must be >= 0")
        if self.seed < 0:
            raise OptionError("seed must be >= 0")
        if self.unk_targets not in UNK_TARGETS:
            raise OptionError(f"unk_targets must be one of {', '.join(UNK_TARGETS)}")
        if not self.rank_weight >= 0 or not self.rank_margin >= 0:
            raise OptionError("rank_weight and rank_margin must be >= 0")
        if self.cache_dtype not in ("float16", "float32"):
            raise OptionError("cache_dtype must be float16 or float32")
        if self.save_dtype not in ("float32", "float16", "bfloat16"):
            raise OptionError("save_dtype must be float32, float16 or bfloat16")

    def record(self) -> Dict[str, Any]:
        """The options as one flat dict (sampler fields beside the others), for config.json."""
        flat = {k: v for k, v in asdict(self).items()
                if k not in ("sampler", "resume", "overwrite", "cache_dir", "keep_cache")}
        flat.update(asdict(self.sampler))
        return flat
