"""Loaders: every format into the same tidy table, and one-line errors naming file and line."""
from __future__ import annotations

import io
import math
import tarfile

import numpy as np
import pandas as pd
import pytest

from sigmoid_qe.errors import InputError
from sigmoid_qe.metaeval import loaders, mtme, stats
from sigmoid_qe.metaeval.mtme import BASE_COLUMNS

from metaeval_data import HUMAN_SEG, SOURCES, make_tiny_mtme


def _error(func, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------- score files
def test_duplicated_domain_score_is_an_error(tmp_path):
    path = tmp_path / "m.domain.score"
    path.write_text("news A 0.1\nnews B 0.2\nnews A 0.3\n")
    with pytest.raises(InputError, match=r"m.domain.score:3: duplicate score for system A in "
                                         r"domain news \(first at line 1\)"):
        mtme.read_domain_score_file(path, ["news"])



@pytest.mark.parametrize("big", [False, True])  # the plain and the pandas parse
def test_read_score_file_blocks_and_none(tmp_path, big):
    path = tmp_path / "x.seg.score"
    repeat = 600 if big else 1
    lines = ["A\t0.5", "A\tNone", "B\t-1e-3", "A\t2"] * repeat
    path.write_text("\n".join(lines) + "\n")
    scores = mtme.read_score_file(path)
    assert list(scores) == ["A", "B"]
    assert np.array_equal(scores["A"][:3], [0.5, np.nan, 2.0], equal_nan=True)
    assert scores["B"][0] == -1e-3 and len(scores["A"]) == 3 * repeat


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("content,line,fragment", [
    ("A 1\nB 2 3\n", 2, "expected 2 fields"),
    ("A 1\nB\n", 2, "expected 2 fields"),
    ("A 1\nB x\n", 2, "'x' is not a number"),
    ("A 1\nB None\n", 2, "missing score 'None' in a metric score file"),
    ("A 1\nB inf\n", 2, "not a finite number"),
])
def test_malformed_score_file_names_file_and_line(tmp_path, content, line, fragment, big):
    path = tmp_path / "bad.seg.score"
    head = "C 0.25\n" * (2000 if big else 0)
    path.write_text(head + content)
    message = _error(mtme.read_score_file, path, allow_none=False)
    assert message.startswith(f"{path}:{line + (2000 if big else 0)}: ") and fragment in message


def test_missing_and_non_utf8_files(tmp_path):
    assert "no such file" in _error(mtme.read_score_file, tmp_path / "nope.score")
    bad = tmp_path / "latin1.seg.score"
    bad.write_bytes("A\t0.5\nB\t0.\xe9\n".encode("latin-1"))
    assert "not UTF-8" in _error(mtme.read_score_file, bad)
    assert "NAME-REF.LEVEL.score" in _error(mtme.parse_metric_filename, "foo.score")
    assert mtme.parse_metric_filename("a/My-Metric-src.seg.score") == ("My-Metric", "src", "seg")


def test_domain_score_file(tmp_path):
    path = tmp_path / "m-src.domain.score"
    path.write_text("news\tA\t1.5\nsocial\tA\t2.5\nnews\tB\tNone\n")
    scores = mtme.read_domain_score_file(path, ["news", "social"])
    assert list(scores["A"]) == [1.5, 2.5] and math.isnan(scores["B"][0])
    assert "unknown domain" in _error(mtme.read_domain_score_file, path, ["news"])


# ---------------------------------------------------------------------------- mt-metrics-eval


def test_mtme_lp_reads_texts_and_scores(tmp_path):
    folder = make_tiny_mtme(tmp_path)
    data = mtme.MtmeLp(folder, "en-de")
    assert data.src == SOURCES and data.n_segments == 4
    assert data.system_names() == ["refA", "sysA", "sysB", "sysC"]
    assert data.reference_names() == ["refA"]
    assert data.system_output("sysB")[3] is None  # the no-translation marker
    assert data.documents() == (["news", "news", "social", "social"],
                                ["doc1", "doc1", "doc2", "doc2"])
    assert data.domain_names() == ["news", "social"]
    assert data.human_names("seg") == ["mqm"]
    gold = data.human("mqm", "seg")
    assert list(gold["sysA"][:3]) == HUMAN_SEG["sysA"][:3] and math.isnan(gold["sysA"][3])
    assert set(data.metric_files()) == {("GoodQE", "src", "seg"), ("GoodQE", "src", "sys"),
                                        ("BadQE", "refA", "seg"), ("BadQE", "refA", "sys")}
    assert "available: mqm" in _error(data.human, "da", "seg")
    assert "no source file for xx-yy" in _error(mtme.MtmeLp, folder, "xx-yy")


def test_mtme_wrong_number_of_scores(tmp_path):
    folder = make_tiny_mtme(tmp_path)
    (folder / "metric-scores" / "en-de" / "Short-src.seg.score").write_text("sysA\t0.1\n")
    data = mtme.MtmeLp(folder, "en-de")
    assert "has 1 seg-level scores, expected 4" in _error(data.metric, "Short", "src", "seg")


def test_load_mtme_tidy_frame(tmp_path):
    folder = make_tiny_mtme(tmp_path)
    frame = mtme.load_mtme(folder, "en-de", gold="mqm", reference="refA")
    assert list(frame.columns[:len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert loaders.metric_columns(frame) == ["BadQE-refA", "GoodQE-src"]
    assert len(frame) == 4 * 4
    row = frame[(frame.system == "sysA") & (frame.seg == 2)].iloc[0]
    assert (row.doc, row.domain, row.source, row.reference, row.human) == \
        ("doc2", "social", SOURCES[2], "das haus", -2.0)
    assert math.isnan(frame[(frame.system == "refA")]["BadQE-refA"].iloc[0])  # not scored
    sys_frame = mtme.load_mtme(folder, "en-de", level="sys")
    assert len(sys_frame) == 4 and sys_frame.set_index("system").human["sysC"] == pytest.approx(-1 / 3)


def test_find_test_set(tmp_path):
    folder = make_tiny_mtme(tmp_path / "mt-metrics-eval-v2")
    assert mtme.find_test_set(tmp_path, "tiny23") == folder
    assert mtme.find_test_set(tmp_path / "mt-metrics-eval-v2", "tiny23") == folder
    assert mtme.find_test_set(folder, "whatever") == folder
    assert "no test set 'wmt99'" in _error(mtme.find_test_set, tmp_path, "wmt99")


def test_a_missing_mtme_root_is_said_to_be_missing(tmp_path):
    """Not "no test set here", as if the folder were there."""
    said = _error(mtme.find_test_set, tmp_path / "MISSING", "wmt23")
    assert "does not exist" in said and "no test set" not in said
    (tmp_path / "file").write_text("x")
    assert "must be a folder" in _error(mtme.find_test_set, tmp_path / "file", "wmt23")


# ---------------------------------------------------------------------------- MLQE-PE


MLQE_TSV = ("index\toriginal\ttranslation\tscores\tmean\tz_scores\tz_mean\tmodel_scores\n"
            "0\ta b\tA B\t[90, 80]\t85.0\t[0.1, 0.2]\t0.15\t-0.5\n"
            "1\tc d\tC D\t[10]\t10.0\t[-1.0]\t-1.0\t-2.0\n"
            "2\te\tE\t[50]\t50.0\t[0.0]\t0.0\t-1.0\n")


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_mlqe_tsv_and_tar(tmp_path):
    tsv = tmp_path / "dev.ende.df.short.tsv"
    tsv.write_text(MLQE_TSV)
    frame = loaders.load_mlqe(tsv)
    assert list(frame.human) == [0.15, -1.0, 0.0] and list(frame.model_scores) == [-0.5, -2, -1]
    assert frame.lp.iloc[0] == "en-de" and list(frame.seg) == [0, 1, 2]
    archive = tmp_path / "en-de-dev.tar.gz"
    _tar(archive, {"en-de-dev/dev.ende.df.short.tsv": MLQE_TSV,
                   "en-de-dev/dev.doc_ids": "doc_id\nX\nY\nZ\n"})
    from_tar = loaders.load_mlqe(archive)
    assert list(from_tar.doc) == ["X", "Y", "Z"]
    pd.testing.assert_frame_equal(from_tar.drop(columns="doc"), frame.drop(columns="doc"))


def test_mlqe_errors(tmp_path):
    bad = tmp_path / "x.tsv"
    bad.write_text("index\toriginal\ttranslation\n0\ta\tb\n")
    assert "missing column(s) z_mean" in _error(loaders.load_mlqe, bad)
    bad.write_text(MLQE_TSV.replace("\t0.0\t-1.0\n", "\toops\t-1.0\n"))
    assert f"{bad}:4: column 7: 'oops' is not a number" == _error(loaders.load_mlqe, bad)
    bad.write_text(MLQE_TSV + "3\tonly two\n")
    assert f"{bad}:5: expected 8 tab-separated fields, found 2" == _error(loaders.load_mlqe, bad)
    notar = tmp_path / "broken.tar.gz"
    notar.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert str(notar) in _error(loaders.load_mlqe, notar)


def test_mlqe_test21_with_gold(tmp_path):
    src, mt = "s1\ns2\n", "t1\nt2\n"
    plain = tmp_path / "en-de-test21.tar.gz"
    _tar(plain, {"en-de-test21/test21.src": src, "en-de-test21/test21.mt": mt})
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    gold = gold_dir / "en-de-test21.tar.gz"
    _tar(gold, {"en-de-test21/test21.src": src, "en-de-test21/test21.mt": mt,
                "en-de-test21/goldlabels/test21.da": "0.5\n-0.25\n"})
    assert "pass the matching test21_goldlabels archive" in _error(loaders.load_mlqe, plain)
    for frame in (loaders.load_mlqe(plain, gold=gold), loaders.load_mlqe(gold)):
        assert list(frame.human) == [0.5, -0.25] and list(frame.source) == ["s1", "s2"]
        assert frame.lp.iloc[0] == "en-de"


def test_mlqe_shared_test20_anchor(shared_data):
    """Published: Pearson of the NMT model's log-prob with z_mean on MLQE-PE test20."""
    expected = {"en-de": 0.208, "en-zh": 0.257, "et-en": 0.486, "ne-en": 0.483,
                "ro-en": 0.647, "ru-en": 0.536, "si-en": 0.401}
    folder = shared_data / "mlqe-pe" / "data" / "direct-assessments" / "test"
    for lp, value in expected.items():
        frame = loaders.load_mlqe(folder / f"{lp}-test.tar.gz")
        assert len(frame) == 1000 and frame.lp.iloc[0] == lp
        assert round(stats.pearson(frame.human, frame.model_scores), 3) == value
    gold = loaders.load_mlqe(shared_data / "mlqe-pe" / "data" / "test21" / "en-de-test21.tar.gz",
                             gold=shared_data / "mlqe-pe" / "data" / "test21_goldlabels"
                             / "en-de-test21.tar.gz")
    assert len(gold) == 1000 and gold.human.notna().all()


# ---------------------------------------------------------------------------- other formats


def test_biomqm_shared(shared_data):
    frame = loaders.load_biomqm(shared_data / "bio-mqm" / "pt-en.round1.tsv")
    assert len(frame) == 925 and set(frame.system) == {"MT Learner_run1", "MT Learner_run2"}
    assert frame.human.max() <= 0 and frame.lp.unique().tolist() == ["pt-en"]
    # the same (doc, seg) gets the same segment index for both systems
    shared = frame.groupby("seg").system.nunique()
    assert (shared == 2).sum() == 458
    refs = loaders.load_biomqm(shared_data / "bio-mqm" / "en-pt.round1-refs.tsv")
    assert refs.system.unique().tolist() == ["reference"] and len(refs) == 494


def test_biomqm_errors(tmp_path):
    path = tmp_path / "b.tsv"
    path.write_text("lp\tsystem\tdoc_id\tseg_id\tsource\ttarget\tmqm\n"
                    "pt-en\tS\td1\t1\tx\ty\t-1\npt-en\tS\td1\t2\tx\ty\tbad\n")
    assert _error(loaders.load_biomqm, path) == f"{path}:3: column 7: 'bad' is not a number"


def test_wmt_da_csv(tmp_path):
    path = tmp_path / "ad-seg-scores-de-en.csv"
    path.write_text("SYS SID RAW.SCR Z.SCR N\nsysA 1 70.5 0.25 2\nsysB 1 50 -0.5 1\n"
                    "sysA 2 90 1.0 1\n")
    frame = loaders.load_wmt_da(path, sources=["s1", "s2"])
    assert frame.lp.iloc[0] == "de-en" and list(frame.seg) == [0, 0, 1]
    assert list(frame.human) == [0.25, -0.5, 1.0] and list(frame.da_raw) == [70.5, 50, 90]
    assert list(frame.source) == ["s1", "s1", "s2"] and list(frame.n_ratings) == [2, 1, 1]
    path.write_text("SYS SID RAW.SCR Z.SCR N\nsysA one 70.5 0.25 2\n")
    assert _error(loaders.load_wmt_da, path) == f"{path}:2: segment id 'one' is not an integer"
    path.write_text("SYSTEM SEG SCORE\n")
    assert "missing column(s) SYS, SID, Z.SCR" in _error(loaders.load_wmt_da, path)


def test_generic_tsv(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("src\tmt\tscore\tsystem\tdoc\tmyqe\n"
                    "a\tA\t1.0\tS1\td\t0.5\nb\tB\t\tS1\td\t0.1\nc\tC\t3\tS2\te\t0.9\n")
    frame = loaders.load_tsv(path, lp="en-pt")
    assert loaders.metric_columns(frame) == ["myqe"]
    assert list(frame.seg) == [0, 1, 0] and math.isnan(frame.human[1])
    assert frame.lp.iloc[0] == "en-pt" and list(frame.doc) == ["d", "d", "e"]
    path.write_text("src\tmt\tscore\tmyqe\na\tA\t1\tx\n")
    assert _error(loaders.load_tsv, path) == f"{path}:2: score 'x' is not a number"
    path.write_text("source\tmt\n")
    assert "missing column(s) src, score" in _error(loaders.load_tsv, path)
