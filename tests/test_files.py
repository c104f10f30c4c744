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
