"""What the command-line tests share: run a command's ``main`` and check a one-line error."""
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


def run(main, argv, capsys):
    """(exit code, stdout, stderr) of ``main(argv)``, warnings ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, out, err, fragment, prog="sigmoid-qe"):
    """A user error: exit 2, nothing on stdout, one line on stderr naming ``fragment``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{prog}") and fragment in lines[0], lines[0]


def subprocess_env():
    """The environment a command runs in from a test: one thread, no GPU."""
    return dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
