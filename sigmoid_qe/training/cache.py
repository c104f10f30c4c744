"""``--cache-features``: the frozen model's per-position output, memory-mapped on disk.

The LM forward and the [positions, vocab] softmax dominate training time, and they are the
same in every epoch. The first time a sentence is seen, the cache stores at each of its
scored positions:

* the hidden state (float16 by default, float32 on request): the head's input;
* the dominant-set token ids, up to ``DOMINANT_WIDTH`` of them (-1 = none): excluded from
  the unigram draw in every epoch;
* the softmax negatives of *every* planned epoch (ids, -1 = no draw), drawn right then with
  each epoch's own per-sentence generator (:func:`.sampler.sentence_generator`).

Storing the draws rather than a truncated distribution is what keeps the cache exact: a
top-k summary of the softmax would change the temperature-2 distribution, whose tail holds
much of the mass over a 32k vocabulary, whereas pre-drawn negatives are precisely the ones
an uncached run draws in that epoch. The unigram negatives need no model and are drawn fresh.

Approximations, both documented in the head's config: hidden states round-trip through
float16 unless ``--cache-dtype float32`` (with float32 a cached run gives the same head as an
uncached one); a dominant set of more than ``DOMINANT_WIDTH`` tokens (each would need p >
0.005 above a jump: not seen in practice) is truncated for the unigram exclusion, and such
positions are counted.

Layout (``.npy`` memmaps, so that ``numpy.load(mmap_mode="r")`` can inspect them):
``hidden.npy`` [P, H], ``dominant.npy`` [P, D] int32, ``softmax.npy`` [E, P, S] int32,
``done.npy`` [N] uint8 (a sentence is marked done only after its rows are written, so a
killed run recomputes a half-written sentence instead of reading it), ``meta.json``.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import torch
from numpy.lib.format import open_memmap

from ..folders import FOLDER_MARK, claim_folder, folder_kind
from ..outputs import write_output
from .features import SentenceFeatures

#: What a cache folder holds (besides its mark); nothing else is ever deleted.
CACHE_FILES = ("hidden.npy", "dominant.npy", "softmax.npy", "done.npy", "meta.json")
CACHE_KIND = "feature-cache"

DOMINANT_WIDTH = 16
_DTYPES = {"float16": np.float16, "float32": np.float32}


class FeatureCache:
    """Per-sentence features of a training set, written once, read every later epoch."""

    def __init__(self, directory: Path, positions: Sequence[int], hidden_size: int,
                 n_softmax: int, epochs: int, dtype: str, fingerprint: Dict,
                 create: bool = True):
        if dtype not in _DTYPES:
            raise ValueError(f"cache dtype must be one of {sorted(_DTYPES)}")
        self.directory = Path(directory)
        self.offsets = np.zeros(len(positions) + 1, dtype=np.int64)
        np.cumsum(np.asarray(positions, dtype=np.int64), out=self.offsets[1:])
        self.epochs = epochs
        self.n_softmax = n_softmax
        self.truncated_dominant = 0
        total = int(self.offsets[-1])
        meta = {"fingerprint": fingerprint, "positions": total, "sentences": len(positions),
                "hidden_size": hidden_size, "n_softmax": n_softmax, "epochs": epochs,
                "dtype": dtype, "dominant_width": DOMINANT_WIDTH}
        meta_path = self.directory / "meta.json"
        shapes = {"hidden.npy": ((max(1, total), hidden_size), _DTYPES[dtype]),
                  "dominant.npy": ((max(1, total), DOMINANT_WIDTH), np.int32),
                  "softmax.npy": ((epochs, max(1, total), max(1, n_softmax)), np.int32),
                  "done.npy": ((len(positions),), np.uint8)}
        if create:
            existing = None
            if meta_path.is_file():
                try:
                    existing = json.loads(meta_path.read_text("utf-8"))
                except ValueError:
                    existing = None
            if existing != meta or not all((self.directory / name).is_file() for name in shapes):
                claim_folder(self.directory, CACHE_KIND, "--cache-dir",
                             reuse=folder_kind(self.directory) == CACHE_KIND)
                for name in (*shapes, "meta.json"):  # an earlier cache's files, no others
                    (self.directory / name).unlink(missing_ok=True)
                for name, (shape, np_dtype) in shapes.items():
                    array = open_memmap(self.directory / name, mode="w+", dtype=np_dtype, shape=shape)
                    if name in ("dominant.npy", "softmax.npy"):
                        array[...] = -1
                    array.flush()
                    del array
                write_output(meta_path, json.dumps(meta, indent=2, sort_keys=True))
        self.hidden = open_memmap(self.directory / "hidden.npy", mode="r+")
        self.dominant = open_memmap(self.directory / "dominant.npy", mode="r+")
        self.softmax = open_memmap(self.directory / "softmax.npy", mode="r+")
        self.done = open_memmap(self.directory / "done.npy", mode="r+")

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.hidden, self.dominant, self.softmax, self.done))

    def has(self, index: int) -> bool:
        return bool(self.done[index])

    def write(self, index: int, feats: SentenceFeatures) -> None:
        """Store a sentence computed with draws for every epoch (``feats.softmax`` keys)."""
        lo, hi = int(self.offsets[index]), int(self.offsets[index + 1])
        if hi - lo != feats.positions:
            raise RuntimeError(f"sentence {index}: {feats.positions} positions, cache expects {hi - lo}")
        self.hidden[lo:hi] = feats.hidden.detach().cpu().numpy().astype(self.hidden.dtype)
        dom = feats.dominant_ids.detach().cpu()
        width = min(DOMINANT_WIDTH, dom.shape[1])
        if dom.shape[1] > DOMINANT_WIDTH:
            self.truncated_dominant += int((dom[:, DOMINANT_WIDTH:] >= 0).any(1).sum())
        block = np.full((hi - lo, DOMINANT_WIDTH), -1, dtype=np.int32)
        block[:, :width] = dom[:, :width].numpy()
        self.dominant[lo:hi] = block
        for epoch in range(self.epochs):
            ids, valid = feats.softmax[epoch]
            self.softmax[epoch, lo:hi] = torch.where(valid, ids, -1).cpu().numpy().astype(np.int32)
        self.done[index] = 1

    def read(self, index: int, epoch: int, targets: torch.Tensor, device: torch.device) -> SentenceFeatures:
        """A sentence's features with the softmax negatives of ``epoch``; ``targets`` come
        from the encoded pair (not stored)."""
        lo, hi = int(self.offsets[index]), int(self.offsets[index + 1])
        hidden = torch.from_numpy(np.asarray(self.hidden[lo:hi], dtype=np.float32)).to(device)
        dominant = torch.from_numpy(np.asarray(self.dominant[lo:hi], dtype=np.int64)).to(device)
        drawn = torch.from_numpy(np.asarray(self.softmax[epoch % self.epochs, lo:hi],
                                            dtype=np.int64)).to(device)
        valid = drawn >= 0
        feats = SentenceFeatures(hidden, targets.to(device), dominant)
        feats.softmax[epoch] = (drawn.clamp(min=0), valid)
        return feats

    def flush(self) -> None:
        for array in (self.hidden, self.dominant, self.softmax, self.done):
            array.flush()

    def close(self) -> None:
        self.flush()
        for name in ("hidden", "dominant", "softmax", "done"):
            setattr(self, name, None)

    def delete(self) -> None:
        """Remove the cache's own files, then its folder if nothing else is left in it (the
        folder is never removed with files the cache did not write)."""
        self.close()
        if folder_kind(self.directory) != CACHE_KIND:
            return
        for name in (*CACHE_FILES, FOLDER_MARK):
            with contextlib.suppress(OSError):
                (self.directory / name).unlink()
        with contextlib.suppress(OSError):
            self.directory.rmdir()
