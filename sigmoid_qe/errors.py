"""Errors that the command-line tools turn into one clean line and exit code 2.

Everything a user can get wrong (files, models, heads, options) raises a subclass of
:class:`SigmoidQEError`; the CLI prints ``str(error)`` without a traceback. Programming
errors stay ordinary exceptions so that they keep their traceback.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Iterator, Optional


class SigmoidQEError(Exception):
    """Base class of the errors that are the user's to fix."""


class InputError(SigmoidQEError):
    """Bad input data, located by file and line where known."""

    def __init__(self, message: str, path=None, line=None):
        self.message = message
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:"
            if line is not None:
                where += f"{line}:"
            where += " "
        super().__init__(f"{where}{message}")


class OptionError(SigmoidQEError, ValueError):
    """An option that cannot work (a batch size of 0, an unknown method, a seed below 0).

    A ``ValueError`` for library callers, one clean line for the command-line tools."""


class ModelLoadError(SigmoidQEError):
    """A model or head path that is missing, not a model, or does not fit."""


class SigmoidQEWarning(UserWarning):
    """Something was changed or assumed on the user's behalf (truncation, empty line, untrained
    head). The CLI prints these on stderr, one line each."""


class InputWarning(SigmoidQEWarning):
    """A warning about one input segment; ``side`` is "source" or "translation" and ``index``
    the 0-based segment, so that the CLI can name the file and line."""

    def __init__(self, message: str, side: str, index: int):
        self.message = message
        self.side = side
        self.index = index
        super().__init__(f"{side} line {index + 1}: {message}")


@contextlib.contextmanager
def shifted_input_warnings(offset: int = 0,
                           position: Optional[Callable[[str, int], int]] = None) -> Iterator[None]:
    """Re-issue the :class:`InputWarning` of a chunk with positions in the whole input:
    ``index + offset``, or ``position(side, index)``; a warning that maps to a line already
    warned about with the same words is dropped (a source shared by several candidates)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for item in caught:
        message = item.message
        if isinstance(message, InputWarning):
            index = (position(message.side, message.index) if position is not None
                     else message.index + offset)
            if (message.side, index, message.message) in seen:
                continue
            seen.add((message.side, index, message.message))
            message = InputWarning(message.message, message.side, index)
        warnings.warn(message, stacklevel=3)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can run to pages)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
