"""Data-parallel runs (training, scoring) over ``torch.distributed`` (gloo on CPU, NCCL on GPUs).

``accelerate launch`` and ``torchrun`` start one process per device and export RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; ``mpirun`` exports its own names, which
are mapped to those. :func:`init_distributed` joins the group from them, so the same
``sigmoid-qe-train`` command runs on one CPU, several GPUs or several nodes.

Every rank holds the whole head and applies the same reduced gradient, so the heads stay
identical without broadcasting weights. The head's gradient is sparse (only the rows a batch
touched), and neither NCCL nor DDP reduce sparse tensors, so :meth:`DistContext.sum_sparse`
gathers each rank's (row ids, rows) and sums them: the result is exactly the gradient of the
whole step's loss.
"""
from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence


class _Lazy:
    """A module imported on first use: a command that never scores (``--help``, ``--version``,
    a bad option) starts without importing torch."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


torch = _Lazy("torch")
dist = _Lazy("torch.distributed")

_MPI_ENV = {"RANK": ("OMPI_COMM_WORLD_RANK", "PMI_RANK"),
            "WORLD_SIZE": ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
            "LOCAL_RANK": ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")}


@dataclass
class DistContext:
    """This process's place in the group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def sum_floats(self, values: Sequence[float], device: torch.device) -> List[float]:
        """Element-wise sum over ranks (float64, so counts stay exact)."""
        tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
        if self.active:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def sum_sparse(self, grad: Optional[torch.Tensor], shape: Sequence[int],
                   device: torch.device) -> torch.Tensor:
        """Sum of every rank's sparse [vocab, hidden] gradient (None = no rows), coalesced."""
        if grad is None:
            indices = torch.zeros((0,), dtype=torch.long, device=device)
            values = torch.zeros((0, shape[1]), dtype=torch.float32, device=device)
        else:
            grad = grad.coalesce()
            indices, values = grad.indices()[0], grad.values()
        if self.active:
            sizes = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(self.world_size)]
            dist.all_gather(sizes, torch.tensor([indices.numel()], dtype=torch.long, device=device))
            width = int(max(s.item() for s in sizes))
            pad = width - indices.numel()
            padded_idx = torch.cat([indices, indices.new_zeros(pad)])
            padded_val = torch.cat([values, values.new_zeros((pad, values.shape[1]))])
            all_idx = [torch.empty_like(padded_idx) for _ in range(self.world_size)]
            all_val = [torch.empty_like(padded_val) for _ in range(self.world_size)]
            dist.all_gather(all_idx, padded_idx)
            dist.all_gather(all_val, padded_val)
            keep = [int(s.item()) for s in sizes]
            indices = torch.cat([i[:k] for i, k in zip(all_idx, keep)])
            values = torch.cat([v[:k] for v, k in zip(all_val, keep)])
        return torch.sparse_coo_tensor(indices.unsqueeze(0), values, tuple(shape),
                                       check_invariants=False).coalesce()

    def gather_objects(self, obj: Any) -> List[Any]:
        """Every rank's ``obj``, in rank order (a one-element list when not distributed)."""
        if not self.active:
            return [obj]
        out: List[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


def current_context() -> DistContext:
    """The context of an already-initialised process group (rank 0 of 1 when there is none;
    a group cannot exist before torch.distributed is imported, so this does not import it)."""
    if "torch.distributed" in sys.modules and dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(),
                           int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistContext()


def _env_int(name: str) -> Optional[int]:
    for key in (name, *_MPI_ENV.get(name, ())):
        value = os.environ.get(key)
        if value not in (None, ""):
            return int(value)
    return None


def init_distributed(device: Optional[str] = None) -> tuple:
    """Join the process group the launcher describes (if any) and pick this rank's device.

    Returns (DistContext, torch.device). ``device`` is "cpu", "cuda" or "auto"/None.
    """
    world = _env_int("WORLD_SIZE") or 1
    rank = _env_int("RANK") or 0
    local = _env_int("LOCAL_RANK")
    local = rank if local is None else local
    if device not in (None, "auto"):
        from .backends.base import resolve_device
        resolve_device(device)  # an unknown name or a missing CUDA device: one clear error
    want_cuda = (device is not None and str(device).startswith("cuda")) or (
        device in (None, "auto") and torch.cuda.is_available()
        and os.environ.get("ACCELERATE_USE_CPU", "").lower() not in ("true", "1"))
    chosen = (torch.device(f"cuda:{local % max(1, torch.cuda.device_count())}") if want_cuda
              else torch.device("cpu"))
    if want_cuda:
        torch.cuda.set_device(chosen)
    if world > 1 and not dist.is_initialized():
        os.environ.setdefault("RANK", str(rank))
        os.environ.setdefault("WORLD_SIZE", str(world))
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29500")
        dist.init_process_group(backend="nccl" if want_cuda else "gloo", init_method="env://",
                                rank=rank, world_size=world)
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), local), chosen
    return DistContext(), chosen


def join_process_group(device: Optional[str] = None) -> Optional[str]:
    """Under ``torchrun`` / ``accelerate launch`` (WORLD_SIZE > 1): join the process group
    (gloo on CPU, NCCL on GPUs) and return this rank's device, for the model to load on; the
    commands then shard their work and rank 0 writes (:mod:`sigmoid_qe.parallel`). Otherwise
    ``device`` unchanged."""
    if (_env_int("WORLD_SIZE") or 1) > 1:
        _, chosen = init_distributed(device)
        return str(chosen)
    return device


def shutdown_distributed(wait_for_peers: bool = False) -> None:
    """Leave the process group. ``wait_for_peers`` (a run that ended normally on every rank)
    meets the other ranks first: a rank that tears gloo down while a peer is still finishing
    its last collective can abort the peer ("terminate called without an active exception")."""
    if "torch.distributed" not in sys.modules:  # never joined (and torch never imported)
        return
    if dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()
