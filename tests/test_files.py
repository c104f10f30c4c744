"""Reading the user's files: NUL bytes and /dev/zero are refused with file and line."""
from __future__ import annotations

import pytest

from sigmoid_qe.errors import InputError
from sigmoid_qe.files import read_lines


# -- 8. the smaller ones --------------------------------------------------------------------------------
def test_nul_bytes_and_dev_zero_are_refused(tmp_path):
    path = tmp_path / "nul.txt"
    path.write_bytes(b"fine\nbro\x00ken\n")
    with pytest.raises(InputError, match=r"nul.txt:2: NUL byte"):
        read_lines(path)
    with pytest.raises(InputError, match="NUL byte"):
        read_lines("/dev/zero")


def test_standard_input_under_torchrun_is_refused_before_work(monkeypatch, tmp_path, capsys):
    """Under torchrun every process reads each input: rank 0 used to take all of stdin and
    rank 1 then said '-: file is empty' (false) and the job died. Refused in one line, said
    by rank 0 only, before anything is read."""
    from sigmoid_qe.cli import score as score_cli
    src = tmp_path / "src"
    src.write_text("a\n")
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, lines in (("0", 1), ("1", 0)):
        monkeypatch.setenv("RANK", rank)
        code = score_cli.main(["-s", str(src), "-t", "-", "--model", "/nonexistent/model-dir"])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == lines, err
        assert rank == "1" or "under torchrun" in err
