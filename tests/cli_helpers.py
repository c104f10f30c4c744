"""What the command-line tests share: run a command's ``main`` and check a one-line error.

Every test that runs a command in-process uses :func:`run`, and every test of a user error uses
:func:`one_line`, so that what "a clean failure" means is written once.
"""
from __future__ import annotations

import os
import warnings

NO_MODEL = "/nonexistent/model-dir"  # a model that would fail to load: errors must come first


def pair_files(tmp_path):
    """A two-line source file (English) and its translation (Portuguese)."""
    src, hyp = tmp_path / "src.en", tmp_path / "hyp.pt"
    src.write_text("the cat sat on the mat\na dog\n", encoding="utf-8")
    hyp.write_text("o gato sentou no tapete\num cao\n", encoding="utf-8")
    return src, hyp


def run(command, argv, capsys):
    """(exit code, stdout, stderr) of a command run in-process on ``argv`` (paths allowed).

    ``command`` is a ``sigmoid_qe.cli`` module or its ``main``. Warnings raised outside the
    command's own handler are ignored: the command prints the ones a user sees itself.
    """
    main = getattr(command, "main", command)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, out, err, *fragments, prog="sigmoid-qe", alone=True):
    """A user error: exit 2, no traceback, nothing on stdout, and one ``PROG: error:`` line on
    stderr that names every fragment.

    ``alone=False`` allows warnings printed before the refusal (a command that warned about one
    input, then refused another); the error itself is still exactly one line. ``out=None`` skips
    the stdout check where the capture still holds an earlier command's results.
    """
    assert code == 2, err
    assert out in ("", None) and "Traceback" not in err, (out, err)
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    if alone:
        assert [line for line in err.splitlines() if line.strip()] == errors, err
    assert errors[0].startswith(f"{prog}: error: "), errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def subprocess_env():
    """The environment a command runs in from a test: one thread, no GPU."""
    return dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
