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
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import stat
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import (
    IO,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from .errors import InputError, SigmoidQEWarning

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
def os_error_reason(exc: OSError) -> str:
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
        raise InputError(f"cannot read file ({os_error_reason(exc)})", path) from None
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


def stdin_buffer():
    """Standard input as bytes, or one line saying it is closed (``<&-``: Python has no
    ``sys.stdin`` then)."""
    if sys.stdin is None or getattr(sys.stdin, "buffer", None) is None:
        raise InputError("standard input is closed: pipe or redirect a file into it", STDIN)
    return sys.stdin.buffer


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
        if int(os.environ.get("WORLD_SIZE") or 1) > 1:  # torchrun: every process reads it
            refusal = InputError("under torchrun every process reads each input, and "
                                 "standard input or a pipe can be read by one only: give a "
                                 "regular file", name)
            refusal.every_rank = True  # every rank refuses alike: rank 0 says it
            raise refusal
        source = stdin_buffer() if name == STDIN else None
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
    return text


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
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]  # CRLF or LF ends a line
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
