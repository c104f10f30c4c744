"""Score-file writers round-trip through the loaders, and never leave partial files."""
from __future__ import annotations

import os

import numpy as np
import pytest

from sigmoid_qe import outputs
from sigmoid_qe.errors import InputError
from sigmoid_qe.metaeval import loaders, mtme, submission
from sigmoid_qe.metaeval.submission import LpScores

from metaeval_data import make_tiny_mtme

# awkward floats on purpose: shortest repr, negative zero, tiny and huge magnitudes
SEG = {"sysB": [0.1, 1 / 3, -0.0, 1e-300], "sysA": [2.5e17, -7.25, 0.30000000000000004, 42.0]}
SYS = {"sysB": float(np.mean(SEG["sysB"])), "sysA": 1 / 7}


def test_mtme_round_trip(tmp_path):
    paths = submission.write_mtme_scores(tmp_path, "en-de", "MyQE", SEG, SYS)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "metric-scores/en-de/MyQE-src.seg.score", "metric-scores/en-de/MyQE-src.sys.score"]
    seg = mtme.read_score_file(paths[0], allow_none=False)
    sys_scores = mtme.read_score_file(paths[1], allow_none=False)
    assert list(seg) == ["sysA", "sysB"]
    for system, values in SEG.items():
        assert seg[system].tolist() == values  # bit-for-bit, order kept
        assert sys_scores[system].tolist() == [SYS[system]]
    assert np.signbit(seg["sysB"][2])  # -0.0 survives


def test_mtme_files_readable_by_the_test_set(tmp_path):
    folder = make_tiny_mtme(tmp_path)
    seg = {s: [0.1, 0.2, 0.3, 0.4] for s in ("sysA", "sysB", "sysC", "refA")}
    submission.write_mtme_scores(folder, "en-de", "NewQE", seg, {s: 0.25 for s in seg})
    data = mtme.MtmeLp(folder, "en-de")
    assert data.metric("NewQE", "src", "seg")["sysC"].tolist() == [0.1, 0.2, 0.3, 0.4]


def test_wmt_submission_round_trip(tmp_path):
    entry = LpScores("en-de", SEG, SYS, docs=["d1", "d1", "d2", "d2"],
                     domains=["news", "news", "social", "social"],
                     domain_sys=submission.domain_means(SEG, ["news", "news", "social", "social"]))
    seg_path, sys_path = submission.write_wmt_submission(tmp_path, "MyQE", "wmt23", [entry])
    assert (seg_path.name, sys_path.name) == ("MyQE.seg.score", "MyQE.sys.score")
    first = seg_path.read_text().splitlines()[0].split("\t")
    assert first == ["MyQE", "en-de", "wmt23", "news", "d1", "src", "sysB", "1", "0.1"]
    seg = loaders.load_wmt_submission(seg_path)
    assert list(seg.columns) == ["metric", "lp", "testset", "domain", "document", "reference",
                                 "system", "score", "seg"]
    for system, values in SEG.items():
        rows = seg[seg.system == system].sort_values("seg")
        assert rows.score.tolist() == values and rows.seg.tolist() == [0, 1, 2, 3]
    sys_frame = loaders.load_wmt_submission(sys_path)
    overall = sys_frame[sys_frame.domain == "all"].set_index("system").score.to_dict()
    assert overall == SYS
    news = sys_frame[sys_frame.domain == "news"].set_index("system").score
    assert news["sysA"] == pytest.approx((2.5e17 - 7.25) / 2)


def test_non_finite_scores_and_bad_names_are_refused(tmp_path):
    with pytest.raises(InputError, match="no finite score for en-de system sysA segment 2"):
        submission.write_mtme_scores(tmp_path, "en-de", "Q", {"sysA": [0.1, float("nan")]},
                                     {"sysA": 0.1})
    with pytest.raises(InputError, match="without spaces"):
        submission.write_mtme_scores(tmp_path, "en-de", "my metric", {"a": [1.0]}, {"a": 1.0})
    assert not any(tmp_path.rglob("*.score"))


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out" / "a.txt"
    target.parent.mkdir()
    target.write_text("old")
    real_replace = os.replace
    calls = []

    class Boom(str):
        def encode(self, *args):  # the second file cannot be encoded: fails while staging
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        outputs.write_files_atomically({target: "new", tmp_path / "out" / "b.txt": Boom("x")})
    assert target.read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append(b) or real_replace(a, b))
    outputs.write_files_atomically({target: "new"})
    assert target.read_text() == "new" and calls == [target]
