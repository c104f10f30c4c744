"""Command-line entry points (each ``main(argv=None) -> int``).

Ctrl-C while a command is still importing its libraries (torch takes seconds) exits quietly
with code 130, like Ctrl-C later on (:func:`.common.run_cli` takes over once it runs).
"""
import os as _os
import signal as _signal
import sys as _sys


def _interrupted_while_starting(signum, frame):  # pragma: no cover - timing dependent
    name = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if name.endswith(".py") or name in ("-m", ""):  # python -m sigmoid_qe.cli.X
        stem = name[:-3]
        name = "sigmoid-qe" if stem in ("score", "", "-m") else f"sigmoid-qe-{stem}"
    try:
        _sys.stderr.write(f"{name}: interrupted\n")
        _sys.stderr.flush()
    finally:
        _os._exit(130 if signum == _signal.SIGINT else 143)


def _started_as_command() -> bool:
    """True in a sigmoid-qe* console script or ``python -m sigmoid_qe.cli.X`` (where argv[0]
    is "-m" while the module is being found), never inside another program (pytest)."""
    first = _sys.argv[0] if _sys.argv else ""
    return _os.path.basename(first).startswith("sigmoid-qe") or first == "-m"


if _started_as_command():
    try:
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _interrupted_while_starting)
        if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
            _signal.signal(_signal.SIGTERM, _interrupted_while_starting)
    except ValueError:  # not the main thread
        pass
