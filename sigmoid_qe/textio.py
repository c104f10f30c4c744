"""Reading segment files and writing result files without surprises.

Segments are lines split on "\\n" only (not on the Unicode line separators that
``str.splitlines`` also honours), so line numbers match what editors and ``wc -l`` show.
Output files are written to a temporary file and renamed, so an error never leaves a
partial file behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List, Union

from .errors import InputError

PathLike = Union[str, os.PathLike]


def read_segments(path: PathLike) -> List[str]:
    """One segment per line; clear errors for missing, empty or non-UTF-8 files."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path) from None
    if not data:
        raise InputError("file is empty", path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    lines = []
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 at byte {exc.start}", path, number) from None
        lines.append(text[:-1] if text.endswith("\r") else text)
    if not lines:
        raise InputError("file is empty", path)
    return lines


def write_atomically(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
