"""Folders the package makes, and only those, it writes into again, empties or deletes.

A folder sigmoid-qe creates (a training run's output, a feature cache, an evaluation's plots)
carries a mark file naming its kind; a user's folder without it is refused before any work.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import (
    Callable,
    Optional,
)

from .errors import InputError
from .files import PathLike, os_error_reason
from .outputs import check_output

# -- folders the package makes -----------------------------------------------------------------
#: The file that marks a folder as made by sigmoid-qe (its content names the kind of folder).
#: Only a folder with this mark is ever written into again, emptied or deleted by the package.
FOLDER_MARK = ".sigmoid-qe-folder"


def folder_kind(folder: PathLike) -> Optional[str]:
    """The kind a folder's mark names ("train-output", "feature-cache", ...), or None."""
    try:
        data = json.loads((Path(folder) / FOLDER_MARK).read_text("utf-8"))
        return str(data["kind"]) if isinstance(data, dict) and "kind" in data else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def mark_folder(folder: PathLike, kind: str) -> None:
    from .version import __version__
    (Path(folder) / FOLDER_MARK).write_text(
        json.dumps({"kind": kind, "made_by": f"sigmoid-qe {__version__}"}) + "\n", "utf-8")


_FOLDER_NAMES = {"--output-dir": "output folder", "--cache-dir": "cache folder"}


def claim_folder(folder: PathLike, kind: str, flag: str, reuse: bool = False,
                 reuse_flag: str = "--resume", adopt: Optional[Callable[[Path], bool]] = None,
                 create: bool = True) -> bool:
    """Make ``folder`` this package's ``kind`` of folder, or refuse it, before any work.

    A missing folder is created and marked; an existing empty one is marked. An existing
    folder marked with the same kind (an earlier run's) is used only with ``reuse`` (the
    ``reuse_flag`` option, --resume or --overwrite); anything else that is not empty (a
    user's folder, another kind of ours) is refused: the package never writes into, empties
    or deletes a folder it cannot prove it made. ``adopt(folder)`` may accept an unmarked
    folder that an earlier version made (it is then marked). Returns True when the folder
    held an earlier run. Raises :class:`InputError` naming the folder. ``create=False``
    only checks (a missing folder must be creatable; nothing is made or marked): call again
    with ``create=True`` just before writing, so that a job that fails leaves nothing."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} must be a folder, not a file", folder)
    if not create and not path.exists():
        parent = path
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(f"{flag} must be a folder, not a file", parent)
        check_output(parent / ".sigmoid-qe-write-test", what=flag)
        return False
    if not create and not (folder_kind(path) or _has_entries(path)):
        return False  # an empty folder: marked when written
    return _claim(path, kind, flag, reuse, reuse_flag, adopt)


def _claim(path: Path, kind: str, flag: str, reuse: bool, reuse_flag: str,
           adopt: Optional[Callable[[Path], bool]]) -> bool:
    folder = path
    name = _FOLDER_NAMES.get(flag, f"{flag} folder")
    if not path.exists():
        try:
            path.mkdir(parents=True)
            mark_folder(path, kind)
        except OSError as exc:
            raise InputError(f"cannot write the {name} (cannot create it: {os_error_reason(exc)})",
                             folder) from None
        return False
    found = folder_kind(path)
    if found is None:
        try:
            empty = not _has_entries(path)
        except OSError as exc:
            raise InputError(f"cannot read the {name} ({os_error_reason(exc)})", folder) from None
        if not empty and not (reuse and adopt is not None and adopt(path)):
            raise InputError(f"{flag}: the folder is not empty and was not made by sigmoid-qe "
                             f"(no {FOLDER_MARK} file): its files are never overwritten or "
                             "deleted; give a new or empty folder", folder)
        try:
            mark_folder(path, kind)
        except OSError as exc:
            raise InputError(f"cannot write the {name} ({os_error_reason(exc)})", folder) from None
        return not empty
    if found != kind:
        raise InputError(f"{flag}: this folder is sigmoid-qe's {found} folder, not a {kind} "
                         "folder: give another", folder)
    if not reuse:
        raise InputError(f"{flag}: holds an earlier run ({kind}): add {reuse_flag} to use it "
                         "again, or give a new folder", folder)
    try:  # the only reliable test that it is writable
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the {name} ({os_error_reason(exc)})", folder) from None
    return True


def _has_entries(path) -> bool:
    """Whether the folder has anything in it (the scandir iterator closed at once)."""
    with os.scandir(path) as entries:
        return any(True for _ in entries)
