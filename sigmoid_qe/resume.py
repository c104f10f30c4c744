"""The outputs of a long job, written as it goes, and how a killed job continues (``--resume``).

Without ``--resume`` every output goes through :func:`~sigmoid_qe.outputs.open_output`: a file
appears complete at the end or not at all (stdout is written through).

With ``--resume`` every output must be a file. Each is written to ``FILE.partial``, and after
every completed chunk the job records, in ``FIRST.partial.json`` (FIRST = the first output),
how far it got: the byte length of each partial file and the job's own counters. A job killed
at any moment leaves that record pointing at the last completed chunk; the rerun with the same
command plus ``--resume`` cuts each partial file back to its recorded length and continues
from there, so the result is byte-identical to an uninterrupted run. Only when the job ends
are the partial files renamed into place and the record deleted, so a partial file is never
taken for a finished one. A rerun *without* ``--resume`` finds the record and refuses; so
does a ``--resume`` whose command or inputs differ from the interrupted run's.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import IO, Dict, Mapping, Optional

from .errors import InputError, OptionError, SigmoidQEError
from .files import STDOUT
from .outputs import open_output, write_output

PARTIAL = ".partial"
STATE = ".partial.json"


def input_identity(paths) -> Dict[str, list]:
    """Size and modification time of each input file: a resumed job must read the same."""
    out = {}
    from .files import _SPOOLED
    for path in paths:
        if path is None:
            continue
        info = os.stat(_SPOOLED.get(os.fspath(path), path))
        out[os.fspath(path)] = [info.st_size, info.st_mtime_ns]
    return out


def job_key(options: Mapping, inputs) -> str:
    """A digest of everything that shapes the output: options and input files."""
    blob = json.dumps({"options": dict(options), "inputs": input_identity(inputs)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def scoring_identity(model, signature: str, direction: str) -> str:
    """A digest of what decides the scores besides the options and inputs: the signature
    (model, head fingerprint, method, aggregate, EOS, direction, reverse model and head,
    weight, normaliser, precision) and the configuration of each head that scores (its
    combine weight and span thresholds are not in its weights)."""
    heads = [model.head] + ([model.reverse.head] if direction != "forward" else [])
    configs = [{k: v for k, v in asdict(head.config).items() if k != "name_or_path"}
               for head in heads]
    blob = json.dumps({"signature": signature, "heads": configs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def refuse_leftovers(paths) -> None:
    """A run without --resume over the record of an interrupted one: one line, before work."""
    for path in paths:
        if path and path != STDOUT and (Path(path + STATE).exists()
                                        or Path(os.path.realpath(path) + STATE).exists()):
            raise OptionError(f"{path}: an interrupted run left a partial result "
                              f"({path}{PARTIAL}); add --resume to continue it, or delete "
                              f"{path}{STATE} and the .partial files to start over")


class ResumableOutputs:
    """Named output streams (text, or binary where asked) with checkpoints.

    ``paths`` maps a name to a path (None: no such output). ``state`` after :meth:`open` is
    the recorded progress of the interrupted run (None when starting afresh).
    """

    def __init__(self, paths: Mapping[str, Optional[str]], key: str, resume: bool,
                 binary: tuple = (), scoring: Optional[str] = None):
        self.paths = {name: os.fspath(p) for name, p in paths.items() if p is not None}
        if resume:  # a symbolic link is written through: its target gets the result
            self.paths = {name: p if p == STDOUT else os.path.realpath(p)
                          for name, p in self.paths.items()}
        self.binary = set(binary)
        self.key = key
        #: :func:`scoring_identity` of the model: a resumed run must score as the first did
        self.scoring = scoring
        self.resume = resume
        self.streams: Dict[str, IO] = {}
        self.state: Optional[dict] = None
        self._stack = contextlib.ExitStack()
        if resume:
            special = [p for p in self.paths.values() if p == STDOUT or not _regular_or_new(p)]
            if special:
                raise OptionError(f"--resume writes its results to files: {special[0]} is not "
                                  "a regular file (give -o FILE)")
            first = next(iter(self.paths.values()), None)
            self.record = Path(first + STATE) if first else None

    # -- opening -------------------------------------------------------------------------
    def __enter__(self) -> ResumableOutputs:
        if not self.resume:
            for name, path in self.paths.items():
                self.streams[name] = self._stack.enter_context(
                    open_output(path, binary=name in self.binary))
            return self
        if self.record is not None and self.record.exists():
            self.state = _read_record(self.record)
            if self.state.get("key") != self.key:
                raise OptionError(f"{self.record}: the interrupted run had other options or "
                                  "inputs; rerun it as it was, or delete the .partial files")
            if self.scoring is not None and self.state.get("scoring") != self.scoring:
                raise OptionError(f"{self.record}: the model or its head changed since the "
                                  "interrupted run (weights, or config.json: combine weight, "
                                  "span thresholds, ...): resume with the head it had, or "
                                  "delete the .partial files to start over")
        ours = {name: self.state is not None and os.path.exists(path + PARTIAL)
                for name, path in self.paths.items()}
        for name, path in self.paths.items():  # all checked before any is made
            if not ours[name] and os.path.lexists(path + PARTIAL):  # no record names it
                raise InputError(f"exists, and no {os.path.basename(path)}{STATE} says it is "
                                 "this command's partial result: move it away, or choose "
                                 "another output", path + PARTIAL)
        for name, path in self.paths.items():
            raw = open(path + PARTIAL, "r+b" if ours[name] else "x+b")
            if self.state is not None:
                raw.truncate(self.state["lengths"].get(name, 0))
                raw.seek(0, io.SEEK_END)
            self.streams[name] = (raw if name in self.binary else
                                  io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        if not self.resume:
            return self._stack.__exit__(kind, value, traceback)
        failed: Optional[OSError] = value if isinstance(value, OSError) else None
        for stream in self.streams.values():
            try:
                stream.close()
            except OSError as exc:  # a full disk: the last flush fails
                failed = failed or exc
                with contextlib.suppress(Exception):
                    (stream if isinstance(stream, io.RawIOBase) else stream.buffer).close()
        if self.record is None:
            return False
        if failed is not None and (kind is None or isinstance(value, OSError)):
            reason = str(failed.strerror or failed)
            reason = reason[:1].lower() + reason[1:]
            first = next(iter(self.paths.values()))
            if not self.record.exists():  # no chunk was completed: nothing worth keeping
                for path in self.paths.values():
                    with contextlib.suppress(OSError):
                        os.unlink(path + PARTIAL)
                raise InputError(f"cannot write ({reason}); nothing kept", first) from None
            raise InputError(f"cannot write ({reason}); the results up to the last checkpoint "
                             "are kept: free space, then rerun with --resume", first) from None
        if kind is None:
            for path in self.paths.values():
                os.replace(path + PARTIAL, path)
            self.record.unlink(missing_ok=True)
        elif issubclass(kind, SigmoidQEError):  # the job cannot complete as asked: no leftovers
            for path in self.paths.values():
                with contextlib.suppress(OSError):
                    os.unlink(path + PARTIAL)
            self.record.unlink(missing_ok=True)
        return False  # an interruption keeps the partial files and the record, to resume

    def __getitem__(self, name: str) -> IO:
        return self.streams[name]

    def get(self, name: str) -> Optional[IO]:
        return self.streams.get(name)

    # -- progress ------------------------------------------------------------------------
    def checkpoint(self, progress: Mapping) -> None:
        """Everything written so far is one completed step: make it durable and record it."""
        if not self.resume or self.record is None:
            return
        lengths = {}
        for name, stream in self.streams.items():
            stream.flush()
            raw = stream if name in self.binary else stream.buffer
            os.fsync(raw.fileno())
            lengths[name] = raw.tell()
        write_output(self.record, json.dumps({"key": self.key, "scoring": self.scoring,
                                              "lengths": lengths,
                                              "progress": dict(progress)}))

    @property
    def progress(self) -> Optional[dict]:
        return None if self.state is None else self.state["progress"]


def _read_record(record: Path) -> dict:
    """The record of an interrupted run, or one line saying it cannot be used."""
    try:
        state = json.loads(record.read_text(encoding="utf-8"))
        if not (isinstance(state, dict) and isinstance(state.get("lengths"), dict)
                and isinstance(state.get("progress"), dict)):
            raise ValueError("not a resume record")
        return state
    except (OSError, ValueError, UnicodeDecodeError):
        raise InputError("unreadable resume record: delete it and the .partial files to start "
                         "over", record) from None


def _regular_or_new(path: str) -> bool:
    import stat
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


def check_resumable(resume: bool, inputs) -> None:
    """--resume reads its inputs again from the start: they must be regular files."""
    from .files import is_rereadable
    if not resume:
        return
    for path in inputs:
        if path is not None and (path == STDOUT or not is_rereadable(path)):
            raise InputError("--resume needs inputs it can read again (a regular file, not a "
                             "pipe)", path)
