"""Checkpoints: everything needed to continue a run as if it had never stopped.

A checkpoint is a folder ``checkpoints/step-NNNNNNN`` with the head and best-so-far head
(safetensors), the optimizer and scheduler states and the RNG states (``torch.save``, read
back with ``weights_only=True``), and ``state.json`` (step, epoch, position in the epoch,
early-stopping record, the options that must not change). It is written under a temporary
name and renamed, then ``checkpoints/latest`` is rewritten (temp file + rename) to point at
it: a run killed at any moment leaves the previous checkpoint intact, never a half-written
one. The data order is a function of (seed, epoch) and the negatives of (seed, epoch,
sentence), so (epoch, step in epoch) is the whole data position.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..errors import InputError, first_line
from ..folders import claim_folder, folder_kind
from ..outputs import readable_file, write_output

CHECKPOINTS = "checkpoints"
LATEST = "latest"


@dataclass
class TrainState:
    """Where a run is, and what early stopping has seen."""

    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    best_loss: Optional[float] = None
    best_step: int = 0
    bad_evals: int = 0
    stopped: Optional[str] = None
    #: [[step, dev loss], ...] for every evaluation (step 0 = the initial head)
    history: List[List[float]] = field(default_factory=list)
    tokens: int = 0
    train_loss: Optional[float] = None


def checkpoint_root(output_dir: Path) -> Path:
    return Path(output_dir) / CHECKPOINTS


#: The kinds of folder training makes (see :func:`sigmoid_qe.folders.claim_folder`).
OUTPUT_KIND = "train-output"
CACHE_KIND = "feature-cache"


def check_output_dir(output_dir: Path, resume: bool, overwrite: bool = False,
                     cache_dir: Optional[Path] = None) -> None:
    """Make sure a run can write its results before it does any work, and never into a
    folder it did not make.

    A new (or empty) folder is created and marked as a training run's. An earlier run's
    folder is used only with ``resume`` (continue it) or ``overwrite`` (replace its head; its
    checkpoints are removed); any other non-empty folder is refused. A folder that an older
    version wrote (checkpoints, no mark) is taken with --resume. Removes the half-written
    checkpoint folder a killed run leaves.
    """
    output_dir = Path(output_dir)
    if cache_dir is not None:  # before anything is created
        _check_cache_place(cache_dir, output_dir)
    if resume and overwrite:
        raise InputError("--resume continues the run in the folder, --overwrite replaces it: "
                         "give one", output_dir)
    root = checkpoint_root(output_dir)
    if root.is_symlink() or (os.path.lexists(root) and not root.is_dir()):
        # checkpoints would be written through a link into someone's folder, or fail on a file
        raise InputError(f"its {CHECKPOINTS} is a {'link' if root.is_symlink() else 'file'}, "
                         f"not a folder this tool made: move it away", output_dir)
    claim_folder(output_dir, OUTPUT_KIND, "--output-dir", reuse=resume or overwrite,
                 reuse_flag="--resume (to continue it) or --overwrite (to replace it)",
                 adopt=_earlier_version_run)
    remove_checkpoints(checkpoint_root(output_dir), everything=overwrite)


def _ours(entry: Path, saved: bool = True) -> bool:
    """A folder checkpoint saving wrote: a real folder (never a link) named ``step-N`` with its
    ``state.json`` (``saved``), or a half-written ``.step-N.tmp-PID`` copy."""
    if entry.is_symlink() or not entry.is_dir():
        return False
    if saved:
        return bool(_STEP_NAME.fullmatch(entry.name)) and (entry / "state.json").is_file()
    return bool(_TMP_NAME.fullmatch(entry.name))


def remove_checkpoints(root: Path, everything: bool = False) -> None:
    """Remove the half-written checkpoint copies a killed run leaves in ``root`` and, with
    ``everything``, the saved checkpoints and the ``latest`` pointer too (``--overwrite``).
    Only what :func:`save_checkpoint` writes is removed: a link (``root`` itself or inside it)
    is never followed, a file or folder of another name is left, and ``root`` goes only when
    nothing else is in it."""
    if root.is_symlink() or not root.is_dir():
        return
    for entry in root.iterdir():
        if _ours(entry, saved=False) or (everything and _ours(entry)):
            shutil.rmtree(entry, ignore_errors=True)
    if everything:
        pointer = root / LATEST
        if pointer.is_file() and not pointer.is_symlink():
            pointer.unlink()
        with contextlib.suppress(OSError):
            root.rmdir()  # only when empty


def _earlier_version_run(folder: Path) -> bool:
    """A run folder written before folders were marked: checkpoints of this tool, or a head
    whose config.json holds this tool's training record."""
    if latest_checkpoint(folder) is not None:
        return True
    try:
        config = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    training = config.get("training") if isinstance(config, dict) else None
    return (isinstance(training, dict) and "options" in training
            and (Path(folder) / "head.safetensors").is_file())


def _check_cache_place(cache_dir: Path, output_dir: Path) -> None:
    cache, output = Path(os.path.realpath(cache_dir)), Path(os.path.realpath(output_dir))
    if cache == output or cache in output.parents:
        raise InputError("--cache-dir must not be the --output-dir or a folder holding it (the "
                         "cache is deleted after training)", cache_dir)


def check_cache_dir(cache_dir: Optional[Path], output_dir: Path) -> None:
    """``--cache-dir``: a new or empty folder, or the feature cache of an earlier run; never
    the output folder, a folder holding it, or a user's folder (it is emptied and deleted
    after training)."""
    if cache_dir is None:
        return
    _check_cache_place(cache_dir, output_dir)
    reuse = folder_kind(cache_dir) == CACHE_KIND
    claim_folder(cache_dir, CACHE_KIND, "--cache-dir", reuse=reuse)


_STEP_NAME = re.compile(r"step-[0-9]{7,}")
_TMP_NAME = re.compile(r"\.step-[0-9]{7,}\.tmp-[0-9]+")


def latest_checkpoint(output_dir: Path) -> Optional[Path]:
    """The folder ``checkpoints/latest`` points to, or None when there is none. Only a
    ``step-NNNNNNN`` folder inside ``checkpoints/`` is taken (never a path elsewhere)."""
    root = checkpoint_root(output_dir)
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _STEP_NAME.fullmatch(name):
        return None
    path = root / name
    return path if (path / "state.json").is_file() else None


def resume_candidates(output_dir: Path) -> List[Path]:
    """Checkpoints to resume from, best first: the one ``latest`` names, then the others,
    newest first (an older intact one is used when the newest is damaged)."""
    root = checkpoint_root(output_dir)
    found = sorted((p for p in root.glob("step-*") if _STEP_NAME.fullmatch(p.name)
                    and p.is_dir()), key=lambda p: int(p.name[5:]), reverse=True)
    latest = latest_checkpoint(output_dir)
    return ([latest] if latest is not None else []) + [p for p in found if p != latest]


def _rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {"key": np_state[0], "pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                      "cached_gaussian": float(np_state[4]),
                      "state": torch.from_numpy(np_state[1].astype(np.int64))},
            "python": json.dumps(random.getstate())}


def _set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state((np_state["key"], np_state["state"].numpy().astype(np.uint32),
                         np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"]))
    py = json.loads(state["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))


def save_checkpoint(output_dir: Path, state: TrainState, weight: torch.Tensor,
                    best_weight: Optional[torch.Tensor], optimizer: torch.optim.Optimizer,
                    scheduler, fixed: Dict[str, Any], keep: int = 1) -> Path:
    """Write ``checkpoints/step-N`` atomically and point ``latest`` at it; keep the last
    ``keep`` (each holds the head, the best head and Adam's two moments: ~4x the float32 head)."""
    from safetensors.torch import save_file
    root = checkpoint_root(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{state.step:07d}"
    final = root / name
    tmp = root / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    tensors = {"weight": weight.detach().to("cpu", torch.float32).contiguous()}
    if best_weight is not None:
        tensors["best"] = best_weight.detach().to("cpu", torch.float32).contiguous()
    save_file(tensors, str(tmp / "head.safetensors"))
    readable_file(tmp / "head.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(_rng_state(), tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"state": asdict(state), "fixed": fixed}, indent=2,
                                               sort_keys=True), encoding="utf-8")
    if final.exists():  # a rerun of the same step (after a resume): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_output(root / LATEST, name + "\n")
    steps = sorted(p for p in root.glob("step-*") if _ours(p))
    for old in steps[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, weight: torch.Tensor, optimizer: torch.optim.Optimizer, scheduler,
                    fixed: Dict[str, Any]) -> Tuple[TrainState, Optional[torch.Tensor]]:
    """Restore a checkpoint into ``weight``/``optimizer``/``scheduler``; returns the state and
    the best-so-far head. Refuses a checkpoint made with other data or other options."""
    try:
        record = json.loads((path / "state.json").read_text("utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("fixed"), dict):
            raise ValueError("state.json is not a checkpoint record")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DamagedCheckpoint(path, exc) from None
    changed = {k: (record["fixed"].get(k), v) for k, v in fixed.items()
               if record["fixed"].get(k) != v}
    if changed:
        key, (was, now) = next(iter(changed.items()))
        raise InputError(f"cannot resume: {key} was {was!r} in the checkpoint, now {now!r} "
                         f"(resume with the same data and options, or use another --output-dir)",
                         path)
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: the error says it
            warnings.simplefilter("ignore")
            return _load_parts(path, weight, optimizer, scheduler, record)
    except Exception as exc:  # any damage: truncated, random bytes, a pickle with code
        raise DamagedCheckpoint(path, exc) from None


def _load_parts(path: Path, weight: torch.Tensor, optimizer, scheduler, record: Dict[str, Any]
                ) -> Tuple[TrainState, Optional[torch.Tensor]]:
    from safetensors.torch import load_file
    tensors = load_file(str(path / "head.safetensors"))
    if tensors["weight"].shape != weight.shape or not torch.isfinite(tensors["weight"]).all():
        raise ValueError("head.safetensors: wrong shape or non-finite values")
    state = TrainState(**record["state"])
    with torch.no_grad():
        weight.copy_(tensors["weight"].to(weight.device, weight.dtype))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=weight.device,
                                         weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    _set_rng_state(torch.load(path / "rng.pt", weights_only=True))
    return state, tensors.get("best")


class DamagedCheckpoint(InputError):
    """A checkpoint that cannot be read (truncated, overwritten, not made by this package)."""

    def __init__(self, path: Path, exc: BaseException):
        self.reason = first_line(exc)
        if self.reason.startswith("Weights only load failed") or "Unpickl" in type(exc).__name__:
            self.reason = "not readable as plain tensors (damaged, or a pickle holding code)"
        super().__init__(f"damaged checkpoint ({type(exc).__name__}: {self.reason})", path)
