"""Results out, by the same rules in every command.

Writing (:func:`check_output`, :func:`open_output`, :func:`write_output`,
:func:`write_files_atomically`): a destination is checked before any long work starts (folder
missing or read-only, a directory, one of the inputs); a regular file is written to a
temporary file beside it and renamed into place only when complete, so an error never leaves a
partial file; a symbolic link is followed and its target replaced (the link stays); a special
file (``/dev/stdout``, ``/dev/null``, a FIFO) is written through, never replaced; ``-`` is
standard output. New files get the user's umask (existing ones keep their mode).
"""
from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import (
    IO,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .errors import InputError, OptionError
from .files import STDOUT, PathLike, os_error_reason


# -- writing -------------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open()`` would give a new file (0666 minus the umask)."""
    return 0o666 & ~_umask()


def _same_file(a: Path, b: PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: PathLike, inputs: Sequence[PathLike] = (), what: str = "output") -> str:
    """Refuse, before any work is done, a destination that cannot be written.

    Returns the path as given. Raises :class:`InputError` naming ``path`` when it is a
    directory, one of ``inputs``, in a folder that does not exist or cannot be written, or an
    existing file that cannot be written.
    """
    text = os.fspath(path)
    if text == STDOUT:
        return text
    target = Path(text)
    _refuse_link_loop(text, what)
    if target.is_dir():
        raise InputError(f"{what} path is a directory", text)
    if text.endswith("/"):
        raise InputError(f"{what} path ends in '/' but is not a folder (a file name was "
                         "expected)", text)
    for source in inputs:
        if _same_file(target, source):
            raise InputError(f"{what} path is also an input file", text)
    if target.exists() and not stat.S_ISREG(os.stat(target).st_mode):
        if not os.access(target, os.W_OK):
            raise InputError(f"cannot write {what} (permission denied)", text)
        return text  # a device or FIFO: written through
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        raise InputError(f"cannot write {what}: folder {folder} does not exist", text)
    try:  # the only reliable test (root, read-only mounts, /proc): create a file there
        handle, probe = tempfile.mkstemp(prefix=".sigmoid-qe-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write {what} in {folder} ({os_error_reason(exc)})", text) from None
    if target.exists() and (not os.access(target, os.W_OK)
                            or not os.stat(target).st_mode & 0o222):
        raise InputError(f"cannot write {what} (the file is read-only)", text)
    sweep_stale_temps(target)
    return text


def _refuse_link_loop(text: str, what: str) -> None:
    """A path through a loop of symbolic links (``a -> b -> a``, ``a -> a``), or in a folder
    that is one, can never be written; ``exists()`` and ``is_dir()`` only say False."""
    import errno
    for place in (text, os.path.dirname(os.path.abspath(text))):
        try:
            os.stat(place)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(f"cannot write {what} (too many levels of symbolic links)",
                                 text) from None


def is_stdout(path: Optional[PathLike]) -> bool:
    """``-``, or a path naming the file behind standard output (``/dev/stdout``, or the very
    file stdout is redirected to): both mean "instead of the results on stdout"."""
    if path is None:
        return False
    text = os.fspath(path)
    if text == STDOUT:
        return True
    try:
        found = os.stat(text)
        return os.path.samestat(found, os.fstat(sys.stdout.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


def _resolved(path: str) -> str:
    return os.path.realpath(path.rstrip("/") or "/")


def check_distinct_outputs(outputs: Sequence[Tuple[str, Optional[PathLike]]]) -> None:
    """Refuse two outputs that are one file, however named (``x`` and ``./x``, a link and
    its target, two hard links; two of them standard output): ``outputs`` is (option, path)
    pairs, paths None where an option is not given."""
    seen: List[Tuple[str, str]] = []
    for flag, path in outputs:
        if path is None:
            continue
        text = os.fspath(path)
        for other_flag, other in seen:
            same = (is_stdout(text) and is_stdout(other)) or _resolved(text) == _resolved(other)
            if not same and os.path.exists(text) and os.path.exists(other):
                same = _same_file(Path(text), other)
            if same:
                where = "standard output" if is_stdout(text) else text
                raise OptionError(f"{other_flag} and {flag} both write {where}: give each "
                                  "output its own file")
        seen.append((flag, text))


class _Staged:
    """A temporary file beside a regular-file destination, renamed into place on commit.

    Its name, ``.NAME.PID.XXXX.tmp``, carries the writing process's id, so that a later run
    can delete what a killed one left (:func:`sweep_stale_temps`)."""

    def __init__(self, target: Path):
        self.target = Path(os.path.realpath(target))  # a symlink keeps pointing at the result
        self.mode = (stat.S_IMODE(os.stat(self.target).st_mode) if self.target.exists()
                     else new_file_mode())
        handle, self.temp = tempfile.mkstemp(prefix=f".{self.target.name}.{os.getpid()}.",
                                             suffix=".tmp", dir=self.target.parent)
        self.stream = os.fdopen(handle, "wb")
        self.text: Optional[io.TextIOWrapper] = None
        _LIVE_TEMPS.add(self.temp)

    def text_stream(self) -> io.TextIOWrapper:
        self.text = io.TextIOWrapper(self.stream, encoding="utf-8", newline="")
        return self.text

    def commit(self) -> None:
        (self.text or self.stream).close()
        os.chmod(self.temp, self.mode)
        os.replace(self.temp, self.target)
        _LIVE_TEMPS.discard(self.temp)

    def abort(self) -> None:
        """Remove the temporary file, whatever state its stream is in (a full disk makes
        every flush fail: the file is unlinked first, and close errors are dropped)."""
        with contextlib.suppress(OSError):
            os.unlink(self.temp)
        _LIVE_TEMPS.discard(self.temp)
        for stream in (self.text, self.stream):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()


#: Temporary files of this process not yet renamed or removed (removed at exit whatever
#: happens, e.g. on a signal that skips the normal clean-up).
_LIVE_TEMPS: set = set()


@atexit.register
def _remove_live_temps() -> None:
    for temp in list(_LIVE_TEMPS):
        with contextlib.suppress(OSError):
            os.unlink(temp)
    _LIVE_TEMPS.clear()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def sweep_stale_temps(path: PathLike) -> List[str]:
    """Delete the temporary files (``.NAME.PID.XXXX.tmp``) that a killed run writing ``path``
    left beside it, when their process is gone; returns what was deleted."""
    target = Path(os.path.realpath(os.fspath(path)))
    removed = []
    prefix = f".{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")].split(".")
        if len(middle) != 2 or not middle[0].isdigit() or len(middle[1]) != 8:
            continue
        pid = int(middle[0])
        if pid == os.getpid() or _process_alive(pid):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_uid == os.getuid():
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def _is_regular_or_new(target: Path) -> bool:
    """True where a result is staged and renamed into place; False for what must be written
    through: a device, a FIFO, and a path that is this process's standard output or error
    (``/dev/stdout`` with stdout redirected to a file: renaming over that file would lose
    what stdout already wrote there)."""
    try:
        found = os.stat(target)
    except FileNotFoundError:
        return True
    return stat.S_ISREG(found.st_mode) and _standard_stream(found) is None


def _standard_stream(found: os.stat_result) -> Optional[IO]:
    """sys.stdout or sys.stderr when ``found`` is the file behind it, else None."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if os.path.samestat(found, os.fstat(stream.fileno())):
                return stream
        except (AttributeError, OSError, ValueError):  # replaced or closed streams
            continue
    return None


def _writing_error(path: PathLike, exc: OSError) -> InputError:
    return InputError(f"cannot write ({os_error_reason(exc)})", os.fspath(path))


@contextlib.contextmanager
def open_output(path: PathLike, binary: bool = False) -> Iterator[IO]:
    """A stream to write a result to; the file appears complete or not at all.

    ``-`` is standard output; special files are written through; regular files (and the
    targets of symbolic links) are staged beside the target and renamed on success.
    """
    text = os.fspath(path)
    if text == STDOUT:
        yield sys.stdout.buffer if binary else sys.stdout
        sys.stdout.flush()
        return
    target = Path(text)
    try:
        if not _is_regular_or_new(target):
            stream = _standard_stream(os.stat(target))
            if stream is not None:  # the same file as stdout/stderr: write through that stream
                stream.flush()
                yield stream.buffer if binary else stream
                stream.flush()
                return
            with open(target, "ab" if binary else "a", encoding=None if binary else "utf-8") as out:
                yield out
            return
        staged = _Staged(target)
    except OSError as exc:
        raise _writing_error(path, exc) from None
    try:
        stream = staged.stream if binary else staged.text_stream()
        yield stream
        stream.flush()
        staged.commit()
    except OSError as exc:
        staged.abort()
        raise _writing_error(path, exc) from None
    except BaseException:
        staged.abort()
        raise


class JsonObjectWriter:
    """A JSON object written as it is built: scalar fields first, then arrays of records
    one record at a time (so a result of any length is never held whole)."""

    def __init__(self, stream: IO, fields: Optional[Mapping] = None):
        self.stream = stream
        self.members = 0
        self.records: Optional[int] = None
        stream.write("{")
        for key, value in (fields or {}).items():
            self._member(key, json.dumps(value, ensure_ascii=False))

    def _member(self, key: str, text: str) -> None:
        self._end_array()
        self.stream.write(("," if self.members else "") + "\n  " + json.dumps(key) + ": " + text)
        self.members += 1

    def _end_array(self) -> None:
        if self.records is not None:
            self.stream.write("\n  ]" if self.records else "]")
            self.records = None

    def state(self) -> Dict[str, Optional[int]]:
        """What :meth:`resumed` needs to carry on after the bytes written so far."""
        return {"members": self.members, "records": self.records}

    @classmethod
    def resumed(cls, stream: IO, state: Mapping) -> JsonObjectWriter:
        """A writer continuing a stream that already holds what ``state`` describes."""
        writer = cls.__new__(cls)
        writer.stream, writer.members, writer.records = stream, state["members"], state["records"]
        return writer

    def array(self, key: str) -> None:
        """Start the array ``key``; :meth:`add` appends to it."""
        self._member(key, "[")
        self.records = 0

    def add(self, record) -> None:
        self.stream.write(("," if self.records else "") + "\n    "
                          + json.dumps(record, ensure_ascii=False))
        self.records += 1

    def close(self) -> None:
        self._end_array()
        self.stream.write("\n}\n" if self.members else "}\n")


@contextlib.contextmanager
def json_output(path: PathLike, fields: Optional[Mapping] = None) -> Iterator[JsonObjectWriter]:
    """A :class:`JsonObjectWriter` on :func:`open_output`: the file is complete (closing
    brackets written) or absent."""
    with open_output(path) as stream:
        writer = JsonObjectWriter(stream, fields)
        yield writer
        writer.close()


def write_output(path: PathLike, content: Union[str, bytes]) -> None:
    """Write one result file (see :func:`open_output`)."""
    with open_output(path, binary=isinstance(content, bytes)) as out:
        out.write(content)


def write_files_atomically(files: Mapping[PathLike, Union[str, bytes]]) -> List[Path]:
    """Write several files as one: all are staged first, then all renamed.

    Missing parent folders are created (these are output folders, e.g. ``--output-dir``). If
    anything fails before the renames, no target is touched. Returns the written paths.
    """
    staged: Dict[Path, _Staged] = {}
    special: Dict[Path, bytes] = {}
    current: PathLike = ""
    try:
        for target, content in files.items():
            target = current = Path(target)
            data = content.encode("utf-8") if isinstance(content, str) else content
            if not _is_regular_or_new(target):
                special[target] = data
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            staged[target] = _Staged(target)
            staged[target].stream.write(data)
        for target, data in special.items():
            current = target
            sys.stdout.flush()  # a target may be the file behind stdout or stderr
            sys.stderr.flush()
            with open(target, "ab") as out:
                out.write(data)
        for target, item in staged.items():
            current = target
            item.commit()
    except BaseException as exc:
        for item in staged.values():
            item.abort()
        if isinstance(exc, OSError):
            raise _writing_error(current, exc) from None
        raise
    return [Path(t) for t in files]


def readable_file(path: PathLike) -> None:
    """Give a file written by a library that creates 0600 files (safetensors) the usual mode."""
    os.chmod(path, new_file_mode())
