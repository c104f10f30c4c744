"""Training Sigmoid Heads: data, negative sampling, loss, the run plan and loop, checkpoints,
feature cache and data-parallel support. Entry points: :func:`train_head` and
``sigmoid-qe-train``."""
from .data import ParallelData, ParallelTable, load_parallel, read_parallel
from .options import TrainOptions
from .sampler import NegativeSampler, SamplerOptions
from .trainer import TrainResult, train_head

__all__ = [
           "NegativeSampler",
           "ParallelData",
           "ParallelTable",
           "SamplerOptions",
           "TrainOptions",
           "TrainResult",
           "load_parallel",
           "read_parallel",
           "train_head",
]
