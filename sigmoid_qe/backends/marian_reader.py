"""Readers for Marian's binary model (``.bin``) and lexical-shortlist (``.s2t.bin``) files.

Bergamot / Firefox Translations ship their models in these formats, and no Python library
reads them, so they are parsed here with numpy alone. Everything a damaged or foreign file
can get wrong is checked before any array is built, and reported as a
:class:`~sigmoid_qe.errors.ModelLoadError` naming the file: a bad model file must never end in
a numpy/torch crash far away from its cause.

Model file layout (little endian)::

    uint64 version, uint64 n
    n x 4 uint64: name length (with NUL), type code, shape length, data length
    the n names (NUL-terminated), then the n shapes (int32 each)
    uint64 pad count, pad bytes
    the n data blocks, in order

Type codes follow Marian's ``Type`` enum: class bits (signed 0x100, unsigned 0x200, float
0x400, intgemm 0x4000) plus the element size. ``intgemm8`` (0x4101) blocks hold int8 values
followed by one float32 multiplier (value = int8 / multiplier); they are stored transposed,
[out, in] row-major, while the header shows the logical [in, out] shape. Embedding matrices
(``*Wemb``) are the exception: one row per token, as in the header.
"""
from __future__ import annotations

import hashlib
import math
import os
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ModelLoadError

#: Marian type codes this reader understands.
TYPE_INT8 = 0x0101
TYPE_UINT8 = 0x0201
TYPE_FLOAT16 = 0x0402
TYPE_FLOAT32 = 0x0404
TYPE_INTGEMM8 = 0x4101
TYPE_INTGEMM16 = 0x4102

_PLAIN_DTYPES = {
    TYPE_INT8: np.dtype("<i1"),
    TYPE_UINT8: np.dtype("<u1"),
    TYPE_FLOAT16: np.dtype("<f2"),
    TYPE_FLOAT32: np.dtype("<f4"),
}
_INTGEMM_DTYPES = {TYPE_INTGEMM8: np.dtype("<i1"), TYPE_INTGEMM16: np.dtype("<i2")}

#: Sanity bounds that keep a random file from asking for absurd allocations.
MAX_TENSORS = 100_000
MAX_NAME = 4096
_MAX_RANK = 8

SHORTLIST_MAGIC = 0xF11A48D5013417F5


@dataclass
class MarianModelFile:
    """The float32 tensors of a Marian ``.bin`` model, in y = x @ W + b orientation.

    ``tensors`` maps names to float32 arrays: matrices have their logical [in, out] shape
    (read-only views, possibly non-contiguous), embeddings [vocab, dim], vectors [1, dim].
    ``config`` is the embedded ``special:model.yml`` (empty dict when absent).
    """

    path: str
    version: int
    tensors: Dict[str, np.ndarray]
    config: Dict[str, object]
    sha256: str
    types: Dict[str, int] = field(default_factory=dict)
    #: intgemm tensors' multipliers (value = int8 / multiplier), for int8 inference.
    multipliers: Dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> np.ndarray:
        """A tensor by name; a missing one is a :class:`ModelLoadError` (not a KeyError)."""
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelLoadError(
                f"{self.path}: tensor {name!r} missing; this Marian model's architecture is not "
                "supported (expected a Bergamot-style transformer)"
            ) from None


def _fail(path: str, what: str) -> ModelLoadError:
    return ModelLoadError(f"{path}: not a readable Marian binary model ({what})")


def parse_model_yml(text: str) -> Dict[str, object]:
    """Parse the flat YAML Marian embeds in its models (``key: value`` and ``- item`` lists).

    A full YAML parser is not needed for this machine-written subset, and not depending on one
    keeps the backend's dependencies to numpy, torch and sentencepiece.
    """
    config: Dict[str, object] = {}
    last_key: Optional[str] = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped == "-":
            if last_key is not None:
                items = config.get(last_key)
                if not isinstance(items, list):
                    items = []
                    config[last_key] = items
                items.append(_yml_scalar(stripped[1:].strip()))
            continue
        key, sep, value = stripped.partition(":")
        if not sep:
            continue
        last_key = key.strip()
        config[last_key] = _yml_scalar(value.strip()) if value.strip() else []
    return config


def _yml_scalar(value: str) -> object:
    if value in ("true", "false"):
        return value == "true"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _read_blob(path: str, what: str) -> bytes:
    """The whole file, or a one-line ModelLoadError naming it."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def _parse_headers(blob: bytes, path: str, count: int):
    """(names, shapes, [count, 4] headers, offset of the first data block), all checked."""
    size = len(blob)
    offset = 16
    if offset + 32 * count > size:
        raise _fail(path, "file ends inside the tensor headers (truncated?)")
    headers = np.frombuffer(blob, dtype="<u8", count=4 * count, offset=offset).reshape(count, 4)
    offset += 32 * count

    names: List[str] = []
    for name_len, _, _, _ in headers.tolist():
        if not 1 <= name_len <= MAX_NAME or offset + name_len > size:
            raise _fail(path, "bad or truncated tensor name")
        raw = blob[offset : offset + name_len]
        if raw[-1:] != b"\0":
            raise _fail(path, "tensor name is not NUL-terminated")
        try:
            names.append(raw[:-1].decode("utf-8"))
        except UnicodeDecodeError:
            raise _fail(path, "tensor name is not UTF-8") from None
        offset += name_len

    shapes: List[Tuple[int, ...]] = []
    for rank in headers[:, 2].tolist():
        if rank > _MAX_RANK or offset + 4 * rank > size:
            raise _fail(path, "bad or truncated tensor shape")
        shape = tuple(np.frombuffer(blob, dtype="<i4", count=rank, offset=offset).tolist())
        if any(dim < 0 for dim in shape):
            raise _fail(path, "negative tensor dimension")
        shapes.append(shape)
        offset += 4 * rank

    if offset + 8 > size:
        raise _fail(path, "file ends before the data section (truncated?)")
    (pad,) = struct.unpack_from("<Q", blob, offset)
    offset += 8 + pad
    data_total = sum(headers[:, 3].tolist())  # Python ints: no uint64 wrap-around
    if offset + data_total > size:
        raise _fail(
            path, f"data section needs {offset + data_total} bytes, file has {size} (truncated?)"
        )
    return names, shapes, headers, offset


def read_marian_model(path: str) -> MarianModelFile:
    """Read a Marian ``.bin`` model into float32 numpy arrays, validating the whole layout.

    Raises :class:`ModelLoadError` for a missing, truncated or non-Marian file, or one that
    uses a tensor type this reader does not know.
    """
    path = os.fspath(path)
    blob = _read_blob(path, "model file")
    if path.endswith(".npz") or blob[:2] == b"PK":
        raise _fail(path, "this is a .npz model; only Marian's binary .bin format is supported")
    size = len(blob)
    if size < 16:
        raise _fail(path, f"file is only {size} bytes")
    version, count = struct.unpack_from("<QQ", blob, 0)
    if version != 1:
        raise _fail(path, f"unknown format version {version}")
    if count == 0 or count > MAX_TENSORS:
        raise _fail(path, f"implausible tensor count {count}")
    offset = 16
    names, shapes, headers, offset = _parse_headers(blob, path, count)
    tensors: Dict[str, np.ndarray] = {}
    types: Dict[str, int] = {}
    multipliers: Dict[str, float] = {}
    config: Dict[str, object] = {}
    for name, (_, type_code, _, nbytes), shape in zip(names, headers.tolist(), shapes):
        block = memoryview(blob)[offset : offset + nbytes]
        offset += nbytes
        types[name] = type_code
        if name.startswith("special:"):
            if name == "special:model.yml":
                text = bytes(block).split(b"\0", 1)[0].decode("utf-8", errors="replace")
                config = parse_model_yml(text)
            continue
        if name.endswith("_QuantMultA"):
            continue  # activation-quantisation constants: meaningless for float inference
        tensors[name] = _decode_tensor(path, name, type_code, shape, block)
        if type_code in _INTGEMM_DTYPES:
            elements = math.prod(shape) if shape else 1
            (multipliers[name],) = struct.unpack_from(
                "<f", block, elements * _INTGEMM_DTYPES[type_code].itemsize)
    digest = hashlib.sha256(blob).hexdigest()
    return MarianModelFile(path, version, tensors, config, digest, types, multipliers)


def _decode_tensor(
    path: str, name: str, type_code: int, shape: Tuple[int, ...], block: memoryview
) -> np.ndarray:
    elements = math.prod(shape) if shape else 1
    if type_code in _PLAIN_DTYPES:
        dtype = _PLAIN_DTYPES[type_code]
        if elements * dtype.itemsize > len(block):
            raise _fail(path, f"tensor {name} is shorter than its shape {list(shape)}")
        values = np.frombuffer(block, dtype=dtype, count=elements).astype(np.float32)
        return values.reshape(shape)
    if type_code in _INTGEMM_DTYPES:
        dtype = _INTGEMM_DTYPES[type_code]
        need = elements * dtype.itemsize + 4
        if need > len(block):
            raise _fail(path, f"tensor {name} is shorter than its shape {list(shape)}")
        (multiplier,) = struct.unpack_from("<f", block, elements * dtype.itemsize)
        if not np.isfinite(multiplier) or multiplier == 0.0:
            raise _fail(path, f"tensor {name} has an invalid quantisation multiplier")
        values = np.frombuffer(block, dtype=dtype, count=elements).astype(np.float32)
        values *= np.float32(1.0 / multiplier)
        if len(shape) != 2 or _is_embedding(name):
            return values.reshape(shape)
        rows, cols = shape  # logical [in, out]; bytes are [out, in]
        return values.reshape(cols, rows).T
    raise _fail(path, f"tensor {name} has unsupported type 0x{type_code:x}")


def _is_embedding(name: str) -> bool:
    return name == "Wemb" or name.endswith("_Wemb")


@dataclass
class Shortlist:
    """A binary lexical shortlist: for each source token, the target tokens worth scoring.

    The native engine (like Marian) restricts greedy search to ``{0..first_num-1}`` plus the
    union of the lists of the source tokens; reproducing its output needs the same restriction.
    """

    path: str
    first_num: int
    best_num: int
    offsets: np.ndarray  # uint64 [source vocab + 1]
    ids: np.ndarray  # uint32 [total]

    def allowed(self, source_ids: Sequence[int], vocab_size: int) -> np.ndarray:
        """Sorted int64 array of the target ids allowed for one sentence's source ids."""
        src = np.unique(np.asarray(source_ids, dtype=np.int64))
        src = src[(src >= 0) & (src < len(self.offsets) - 1)]
        starts = self.offsets[src].astype(np.int64)
        ends = self.offsets[src + 1].astype(np.int64)
        parts = [np.arange(min(self.first_num, vocab_size), dtype=np.int64)]
        parts += [self.ids[s:e].astype(np.int64) for s, e in zip(starts, ends)]
        out = np.unique(np.concatenate(parts))
        return out[out < vocab_size]


def read_shortlist(path: str) -> Shortlist:
    """Read Marian's binary lexical shortlist (``lex.*.s2t.bin``), validating its layout."""
    path = os.fspath(path)
    blob = _read_blob(path, "shortlist")
    size = len(blob)
    if size < 48:
        raise ModelLoadError(f"{path}: not a binary lexical shortlist (only {size} bytes)")
    magic, _checksum, first_num, best_num, n_offsets, n_ids = struct.unpack_from("<6Q", blob, 0)
    if magic != SHORTLIST_MAGIC:
        raise ModelLoadError(f"{path}: not a binary lexical shortlist (bad magic number)")
    expected = 48 + 8 * n_offsets + 4 * n_ids
    if n_offsets < 1 or expected != size:
        raise ModelLoadError(
            f"{path}: binary lexical shortlist has {size} bytes, its header says {expected} "
            "(truncated?)"
        )
    offsets = np.frombuffer(blob, dtype="<u8", count=n_offsets, offset=48)
    ids = np.frombuffer(blob, dtype="<u4", count=n_ids, offset=48 + 8 * n_offsets)
    if offsets[-1] > n_ids or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelLoadError(f"{path}: binary lexical shortlist has inconsistent offsets")
    return Shortlist(path, int(first_num), int(best_num), offsets, ids)
