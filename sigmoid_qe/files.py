"""Users' files in and results out, by the same rules in every command.

Reading (:func:`iter_lines`, :func:`read_lines`, :func:`read_text`, :func:`read_table`):

* UTF-8; a leading byte-order mark (what some editors add) is dropped;
* lines are split on "\\n" only, not on the Unicode separators ``str.splitlines`` also honours,
  so that line numbers match ``wc -l`` and editors; a "\\r" before the "\\n" is dropped (CRLF);
  a final newline does not start an empty last line;
* invalid UTF-8, a NUL byte (a binary file) and a line over :data:`MAX_LINE_BYTES` are errors
  that name the file and line, raised as soon as the line is read: ``/dev/zero`` fails at once
  instead of filling memory;
* an empty file is an error unless the caller allows it.

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
import itertools
import json
import os
import stat
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import (
    IO,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from .errors import InputError, OptionError, SigmoidQEWarning

PathLike = Union[str, os.PathLike]
T = TypeVar("T")

#: Longest line read: longer ones are refused (no text segment is that long; a binary or
#: endless file is).
MAX_LINE_BYTES = 64 * 2**20
#: How the command line names standard output (for outputs) and standard input (for inputs).
STDOUT = "-"
STDIN = "-"
_BOM = b"\xef\xbb\xbf"


# -- reading -------------------------------------------------------------------------------------
def _reason(exc: OSError) -> str:
    """"no such file or directory", "permission denied", ...: the OS's words, lower case."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


#: Inputs that cannot be read twice (``-``, a pipe, a FIFO, ``<(...)``), copied once by
#: :func:`spool_inputs`: the user's name -> the copy's path.
_SPOOLED: Dict[str, str] = {}
#: (device, inode, size, mtime) of each input at its first complete reading: a later reading
#: that finds the file changed is an error (:func:`check_unchanged`).
_SNAPSHOTS: Dict[str, Tuple[int, int, int, int]] = {}


def _identity(info: os.stat_result) -> Tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _open_for_reading(path: PathLike) -> IO[bytes]:
    name = os.fspath(path)
    if name in _SPOOLED:
        return open(_SPOOLED[name], "rb")
    if name == STDIN:
        raise InputError("'-' (standard input) was not read in: a command reads it once at the "
                         "start", path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file ({_reason(exc)})", path) from None
    if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise InputError("cannot read file (is a directory)", path)
    return handle


def is_rereadable(path: PathLike) -> bool:
    """True when ``path`` can be read again from the start: a regular file (also behind
    ``/dev/stdin`` redirected from a file), or an input already copied by
    :func:`spool_inputs`. False for ``-``, a pipe, a FIFO, a terminal, a process
    substitution."""
    name = os.fspath(path)
    if name in _SPOOLED:
        return True
    if name == STDIN:
        return False
    try:
        return stat.S_ISREG(os.stat(name).st_mode)
    except OSError:
        return True  # missing: the reading reports it


def spool_inputs(paths: Iterable[Optional[PathLike]],
                 notice: Optional[Callable[[str], None]] = None) -> None:
    """Make every input readable more than once (commands count and check their inputs before
    they score them): ``-`` (standard input, for one input only), a pipe, a FIFO or a process
    substitution is read once, checked line by line like any input, into a private
    temporary file that later readings use under the user's name (``notice`` is told). The
    copies are deleted at exit (:func:`release_spooled`)."""
    names = [os.fspath(p) for p in paths if p is not None]
    if names.count(STDIN) > 1:
        raise InputError("standard input can be read for one input only", STDIN)
    for name in dict.fromkeys(names):
        if is_rereadable(name):
            continue
        source = sys.stdin.buffer if name == STDIN else None
        try:
            handle = source if source is not None else _open_for_reading(name)
        except InputError:
            raise
        if handle.isatty():
            if source is None:
                handle.close()
            raise InputError("is a terminal: pipe or redirect a file into it", name)
        folder = _spool_folder()
        fd, copy = tempfile.mkstemp(prefix="input.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                number = 0
                while True:
                    raw = handle.readline(MAX_LINE_BYTES + 1)
                    if not raw:
                        break
                    number += 1
                    body = raw[:-1] if raw.endswith(b"\n") else raw
                    _decode_line(body[len(_BOM):] if number == 1 and body.startswith(_BOM)
                                 else body, name, number)
                    out.write(raw)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(copy)
            raise
        finally:
            if source is None:
                handle.close()
        _SPOOLED[name] = copy
        if notice is not None:
            what = "standard input" if name == STDIN else f"{name} (not a regular file)"
            notice(f"read {what} once into a temporary copy ({number} lines)")


_SPOOL_DIR: List[str] = []


def _spool_folder() -> str:
    if not _SPOOL_DIR:
        _SPOOL_DIR.append(tempfile.mkdtemp(prefix="sigmoid-qe-input-"))
        atexit.register(release_spooled)
    return _SPOOL_DIR[0]


def release_spooled() -> None:
    """Delete the copies :func:`spool_inputs` made."""
    for copy in _SPOOLED.values():
        with contextlib.suppress(OSError):
            os.unlink(copy)
    _SPOOLED.clear()
    while _SPOOL_DIR:
        with contextlib.suppress(OSError):
            os.rmdir(_SPOOL_DIR.pop())


def snapshot(paths: Iterable[Optional[PathLike]]) -> None:
    """Record each input's identity now (see :func:`check_unchanged`)."""
    for path in paths:
        if path is None:
            continue
        name = os.fspath(path)
        if name in _SPOOLED or name == STDIN:
            continue
        with contextlib.suppress(OSError):
            _SNAPSHOTS[name] = _identity(os.stat(name))


def check_unchanged(path: PathLike, lines_read: Optional[int] = None,
                    expected: Optional[int] = None) -> None:
    """Refuse an input that changed since it was counted (its size, time or inode differ), or
    a reading that ended after ``lines_read`` lines where ``expected`` were counted: an input
    rewritten while it was scored, which would give a silently truncated result."""
    name = os.fspath(path)
    if expected is not None and lines_read is not None and lines_read != expected:
        raise InputError(f"changed while it was read: {lines_read} lines read, {expected} "
                         f"counted at the start; nothing written", path)
    if name in _SPOOLED or name not in _SNAPSHOTS:
        return
    try:
        now = _identity(os.stat(name))
    except OSError:
        now = None
    if now != _SNAPSHOTS[name]:
        raise InputError("changed while it was read (its size or time differ from the start); "
                         "nothing written", path)


def zip_lines(*paths: PathLike, expected: Optional[int] = None,
              allow_empty: Sequence[bool] = ()) -> Iterator[Tuple[str, ...]]:
    """The lines of several aligned files, in lockstep; at the end every file must end on the
    same line (``expected`` lines when given) and be unchanged since it was counted
    (:func:`check_unchanged`)."""
    iterators = [iter_lines(p, allow_empty=bool(allow_empty[k]) if k < len(allow_empty) else False)
                 for k, p in enumerate(paths)]
    sentinel = object()
    count = 0
    while True:
        row = [next(it, sentinel) for it in iterators]
        done = [value is sentinel for value in row]
        if any(done):  # the files that ended first: shorter than counted, or changed?
            for path, ended in zip(paths, done):
                if ended:
                    check_unchanged(path, count, expected)
            for path, ended in zip(paths, done):
                if not ended:
                    raise InputError("changed while it was read: more lines than counted; "
                                     "nothing written", path)
            return
        count += 1
        yield tuple(row)


def _decode_line(raw: bytes, path: PathLike, number: int) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:
        raise InputError(f"NUL byte at byte {nul}: not a text file?", path, number)
    if len(raw) > MAX_LINE_BYTES:
        raise InputError(f"line longer than {MAX_LINE_BYTES // 2**20} MiB: not a text file?",
                         path, number)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"invalid UTF-8 at byte {exc.start} of the line (not UTF-8 text?)",
                         path, number) from None
    return text[:-1] if text.endswith("\r") else text


def iter_lines(path: PathLike, allow_empty: bool = False) -> Iterator[str]:
    """The lines of a text file, one at a time (memory does not grow with the file)."""
    with _open_for_reading(path) as handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            if number == 0 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            number += 1
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            elif len(raw) > MAX_LINE_BYTES:
                _decode_line(raw, path, number)  # raises: over-long line
            yield _decode_line(raw, path, number)
        if number == 0 and not allow_empty:
            raise InputError("file is empty", path)


def count_lines(path: PathLike, allow_empty: bool = False) -> int:
    """The number of lines, every one decoded and checked (a pass before long work, so that
    a bad byte on the last line fails at once; memory stays flat). The file's identity is
    recorded: a later reading that finds it changed fails (:func:`check_unchanged`)."""
    name = os.fspath(path)
    before = None
    if name not in _SPOOLED and name != STDIN:
        with contextlib.suppress(OSError):
            before = _identity(os.stat(name))
    count = sum(1 for _ in iter_lines(path, allow_empty=allow_empty))
    if before is not None:
        with contextlib.suppress(OSError):
            after = _identity(os.stat(name))
            if after != before:
                raise InputError("changed while it was read", path)
            _SNAPSHOTS[name] = after
    return count


def chunks(items: Iterable[T], size: int) -> Iterator[List[T]]:
    """Consecutive lists of ``size`` items (the last one shorter)."""
    iterator = iter(items)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def _where(data: bytes, offset: int) -> Tuple[int, int]:
    """(1-based line, 0-based byte in that line) of a byte offset."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1)


def decode_text(data: bytes, where: PathLike) -> str:
    """Bytes of a whole text (a file's, an archive member's) as a str with "\n" line ends,
    by the rules of the module docstring; errors name ``where`` and the line."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    nul = data.find(b"\0")
    if nul >= 0:
        line, byte = _where(data, nul)
        raise InputError(f"NUL byte at byte {byte}: not a text file?", where, line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, byte = _where(data, exc.start)
        raise InputError(f"invalid UTF-8 at byte {byte} of the line (not UTF-8 text?)",
                         where, line) from None
    return text.replace("\r\n", "\n") if "\r" in text else text


def read_text(path: PathLike) -> str:
    """A whole text file as one string with "\n" line ends (an empty file gives "")."""
    chunks = []
    with _open_for_reading(path) as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            if b"\0" in chunk:  # fail at once on a binary (or endless: /dev/zero) file
                chunks.append(chunk)
                decode_text(b"".join(chunks), path)
            chunks.append(chunk)
    return decode_text(b"".join(chunks), path)


def read_lines(path: PathLike, allow_empty: bool = False) -> List[str]:
    """All lines of a text file (see the module docstring for the rules)."""
    lines = split_lines(read_text(path))
    if not lines and not allow_empty:
        raise InputError("file is empty", path)
    return lines


def split_lines(text: str) -> List[str]:
    """Lines of a decoded text: split on "\n" only; a final newline ends the last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class Table:
    """A tab-separated file: its header and its data rows, each with its line number."""

    path: str
    header: List[str]
    rows: List[Tuple[int, List[str]]]

    def column(self, name: str) -> int:
        return self.header.index(name)

    def records(self) -> List[Dict[str, str]]:
        """The rows as {column: field} dicts (the shape ``csv.DictReader`` gives)."""
        return [dict(zip(self.header, fields)) for _, fields in self.rows]


def parse_table(lines: Sequence[str], path: PathLike, required: Sequence[str] = (),
                what: str = "", first_line: int = 1) -> Table:
    """A header line then rows of tab-separated fields, no quoting (a ``"`` is a character).

    Every row must have as many fields as the header; the header must name the ``required``
    columns, each once. Blank lines are skipped with one warning (trailing ones silently).
    """
    if not lines:
        raise InputError("file is empty", path)
    header = [name.strip() for name in lines[0].split("\t")]
    missing = [c for c in required if c not in header]
    if missing:
        hint = f" ({what})" if what else ""
        raise InputError(f"missing column(s) {', '.join(missing)} in the header{hint}", path,
                         first_line)
    doubled = sorted({name for name in header if header.count(name) > 1 and name})
    if doubled:
        raise InputError(f"column(s) {', '.join(doubled)} named twice in the header", path,
                         first_line)
    rows: List[Tuple[int, List[str]]] = []
    blank: List[int] = []
    for number, line in enumerate(lines[1:], start=first_line + 1):
        if not line.strip():
            blank.append(number)
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} tab-separated fields, found {len(fields)}",
                             path, number)
        rows.append((number, fields))
    last_row = rows[-1][0] if rows else first_line
    inner = [n for n in blank if n < last_row]
    if inner:
        warnings.warn(SigmoidQEWarning(f"{path}: {len(inner)} blank line(s) skipped (the first at "
                                       f"line {inner[0]})"), stacklevel=3)
    return Table(str(path), header, rows)


def read_table(path: PathLike, required: Sequence[str] = (), what: str = "") -> Table:
    """A tab-separated file with a header line (see :func:`parse_table`)."""
    return parse_table(read_lines(path), path, required, what)


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
        raise InputError(f"cannot write {what} in {folder} ({_reason(exc)})", text) from None
    if target.exists() and (not os.access(target, os.W_OK)
                            or not os.stat(target).st_mode & 0o222):
        raise InputError(f"cannot write {what} (the file is read-only)", text)
    sweep_stale_temps(target)
    return text


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
    return InputError(f"cannot write ({_reason(exc)})", os.fspath(path))


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

    Missing parent folders are created (these are output folders, e.g. ``--out``). If
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
    if not create and not (folder_kind(path) or any(os.scandir(path))):
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
            raise InputError(f"cannot write the {name} (cannot create it: {_reason(exc)})",
                             folder) from None
        return False
    found = folder_kind(path)
    if found is None:
        try:
            empty = not any(os.scandir(path))
        except OSError as exc:
            raise InputError(f"cannot read the {name} ({_reason(exc)})", folder) from None
        if not empty and not (reuse and adopt is not None and adopt(path)):
            raise InputError(f"{flag}: the folder is not empty and was not made by sigmoid-qe "
                             f"(no {FOLDER_MARK} file): its files are never overwritten or "
                             "deleted; give a new or empty folder", folder)
        try:
            mark_folder(path, kind)
        except OSError as exc:
            raise InputError(f"cannot write the {name} ({_reason(exc)})", folder) from None
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
        raise InputError(f"cannot write the {name} ({_reason(exc)})", folder) from None
    return True


def readable_file(path: PathLike) -> None:
    """Give a file written by a library that creates 0600 files (safetensors) the usual mode."""
    os.chmod(path, new_file_mode())
