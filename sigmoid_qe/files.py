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
from typing import IO, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

from .errors import InputError, SigmoidQEWarning

PathLike = Union[str, os.PathLike]
T = TypeVar("T")

#: Longest line read: longer ones are refused (no text segment is that long; a binary or
#: endless file is).
MAX_LINE_BYTES = 64 * 2**20
#: How the command line names standard output.
STDOUT = "-"
_BOM = b"\xef\xbb\xbf"


# -- reading -------------------------------------------------------------------------------------
def _reason(exc: OSError) -> str:
    """"no such file or directory", "permission denied", ...: the OS's words, lower case."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _open_for_reading(path: PathLike) -> IO[bytes]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file ({_reason(exc)})", path) from None
    if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise InputError("cannot read file (is a directory)", path)
    return handle


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
    a bad byte on the last line fails at once; memory stays flat)."""
    return sum(1 for _ in iter_lines(path, allow_empty=allow_empty))


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
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(f"cannot write {what} (permission denied)", text)
    return text


class _Staged:
    """A temporary file beside a regular-file destination, renamed into place on commit."""

    def __init__(self, target: Path):
        self.target = Path(os.path.realpath(target))  # a symlink keeps pointing at the result
        self.mode = (stat.S_IMODE(os.stat(self.target).st_mode) if self.target.exists()
                     else new_file_mode())
        handle, self.temp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                             dir=self.target.parent)
        self.stream = os.fdopen(handle, "wb")

    def commit(self) -> None:
        self.stream.close()
        os.chmod(self.temp, self.mode)
        os.replace(self.temp, self.target)

    def abort(self) -> None:
        self.stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


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
        stream = staged.stream if binary else io.TextIOWrapper(staged.stream, encoding="utf-8",
                                                                newline="")
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


def readable_file(path: PathLike) -> None:
    """Give a file written by a library that creates 0600 files (safetensors) the usual mode."""
    os.chmod(path, new_file_mode())
