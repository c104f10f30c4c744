"""What the commands that write files (score, filter, rerank) check before they read an input
whole or load a model, declared once; and the job record a resumable run is known by.

Each command declares its outputs as (flag, args attribute) pairs (:class:`Outputs`); the
checks then run in one order for all: standard-output aliases become ``-``, two outputs may not
be one file, piped inputs are spooled (read once), every output must be writable and not an
input, ``--resume`` needs inputs it can read again, and a run without ``--resume`` refuses the
record of an interrupted one. A command adds its own option rules around these.

:class:`JobRecord` is built once from the parsed options: the inputs and the options that
shape the output, each named by the command (``resume_fields``), so that a run is resumed only
by the same job, and an attribute set on ``args`` for another purpose does not change its key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from ..files import snapshot, spool_inputs
from ..outputs import check_distinct_outputs, check_output, is_stdout
from ..resume import check_resumable, job_key, refuse_leftovers


@dataclass(frozen=True)
class Outputs:
    """A command's output options: (flag, attribute of ``args``) pairs, e.g. ``("-o",
    "output")``."""

    flags: Tuple[Tuple[str, str], ...]
    #: whether the command has --resume (then it checks the inputs and the leftovers for it)
    resumable: bool = True

    def stdout_aliases(self, args) -> None:
        """An output naming standard output (``-``, ``/dev/stdout``, the file stdout goes to)
        becomes ``-``: it replaces the results there instead of mixing into them."""
        for _, name in self.flags:
            if is_stdout(getattr(args, name)):
                setattr(args, name, "-")

    def given(self, args) -> List[Tuple[str, Optional[str]]]:
        return [(flag, getattr(args, name)) for flag, name in self.flags]

    def files(self, args) -> List[str]:
        """The outputs that are files (not standard output)."""
        return [path for _, path in self.given(args) if path and path != "-"]

    def check(self, args, inputs: Sequence[Optional[str]], tell: Callable[[str], None],
              also_read: Sequence[Optional[str]] = (), leftovers: Iterable[Optional[str]] = ()
              ) -> None:
        """The shared checks, in order (see the module docstring). ``inputs`` are the files
        an output may not overwrite; ``also_read`` are further inputs (spooled, rechecked on
        --resume); ``leftovers`` are further files an interrupted run may have left."""
        given = self.given(args)
        check_distinct_outputs(given)
        spool_inputs([*inputs, *also_read], tell)
        for flag, path in given:
            if path:
                check_output(path, inputs, flag)
        if self.resumable:
            check_resumable(args.resume, [*inputs, *also_read])
            if not args.resume:
                refuse_leftovers([*self.files(args), *leftovers])
        snapshot([*inputs, *also_read])


@dataclass(frozen=True)
class JobRecord:
    """A job as ``--resume`` knows it: the command, its inputs and the options that shape its
    output (named explicitly; everything else, such as --quiet or --resume, is left out)."""

    command: str
    inputs: Tuple[Optional[str], ...]
    options: Tuple[Tuple[str, Any], ...]

    @classmethod
    def from_args(cls, command: str, args, inputs: Sequence[Optional[str]],
                  fields: Sequence[str]) -> JobRecord:
        return cls(command, tuple(inputs), tuple((name, getattr(args, name)) for name in fields))

    def resume_key(self) -> str:
        """The digest an interrupted run's record must carry to be continued: the options
        and the inputs' identity (:func:`sigmoid_qe.resume.job_key`)."""
        return job_key({"command": self.command, **dict(self.options)}, list(self.inputs))
