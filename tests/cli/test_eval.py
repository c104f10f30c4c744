"""``sigmoid-qe-eval`` end to end: tables, errors as one line (span files, duplicated rows),
undefined correlations reported as n/a, atomic outputs, scoring."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import sigmoid_qe
import sigmoid_qe.model
from sigmoid_qe.cli.eval import main
from sigmoid_qe.errors import InputError
from sigmoid_qe.metaeval import loaders, mtme

from cli_helpers import one_line, run, subprocess_env
from metaeval_data import SYSTEMS, make_tiny_mtme

EVAL = "sigmoid-qe-eval"


def records_of(text):
    return {(r["lp"], r["level"], r["measure"], r["metric"]): r for r in json.loads(text)}


# ---------------------------------------------------------------------------- WMT23 anchors


def test_wmt23_anchors_through_the_cli(shared_data, capsys, tmp_path):
    root = shared_data / "mt-metrics-eval-v2"
    out = tmp_path / "table.json"
    code, stdout, err = run(main, ["--mtme-root", root, "--test-set", "wmt23", "--gold", "mqm",
                                   "--metrics", "CometKiwi", "XCOMET-Ensemble", "GEMBA-MQM",
                                   "--format", "json", "--output", out, "--quiet"], capsys)
    assert code == 0 and stdout == "" and err == ""
    table = records_of(out.read_text())
    assert round(table["en-de", "seg", "pearson", "CometKiwi"]["value"], 3) == 0.475
    acc = table["en-de", "seg", "acc_eq", "CometKiwi"]
    assert round(acc["value"], 3) == 0.569 and acc["epsilon"] > 0
    assert round(table["en-de", "seg", "pearson", "XCOMET-Ensemble"]["value"], 3) == 0.695
    assert round(table["all", "sys", "pairwise_accuracy", "GEMBA-MQM"]["value"], 3) == 0.944
    measures = {(level, measure) for (_, level, measure, _) in table}
    assert measures == {("seg", "pearson"), ("seg", "spearman"), ("seg", "kendall"),
                        ("seg", "acc_eq"), ("sys", "pearson"), ("sys", "spearman"),
                        ("sys", "kendall"), ("sys", "spa"), ("sys", "pairwise_accuracy")}
    assert {lp for (lp, *_ ) in table} == {"en-de", "he-en", "zh-en", "all"}


# ---------------------------------------------------------------------------- tiny test set


@pytest.fixture
def tiny(tmp_path):
    return make_tiny_mtme(tmp_path)


def test_tiny_table_values(tiny, capsys):
    code, stdout, _ = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--format", "json"], capsys)
    assert code == 0
    table = records_of(stdout)
    # sysC > sysA > sysB for humans; GoodQE's system means agree, BadQE's are reversed
    assert table["en-de", "sys", "pairwise_accuracy", "GoodQE"]["value"] == 1.0
    assert table["en-de", "sys", "pairwise_accuracy", "BadQE"]["value"] == 0.0
    assert table["all", "sys", "pairwise_accuracy", "GoodQE"]["value"] == 1.0
    # refA is the standard reference: not a system; segment 4 has no human score
    assert table["en-de", "seg", "pearson", "GoodQE"]["n_systems"] == len(SYSTEMS)
    assert table["en-de", "seg", "pearson", "GoodQE"]["n_segments"] == 3
    assert table["en-de", "seg", "pearson", "BadQE"]["value"] == pytest.approx(
        -table["en-de", "seg", "pearson", "GoodQE"]["value"])


@pytest.mark.parametrize("fmt,marker", [("text", "segment-level Pearson\n====="),
                                        ("tsv", "lp\tlevel\tmeasure\tmetric\tvalue"),
                                        ("latex", "\\begin{tabular}")])
def test_formats(tiny, capsys, fmt, marker):
    code, stdout, _ = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--format", fmt,
                                 "--level", "seg"], capsys)
    assert code == 0 and marker in stdout and "GoodQE" in stdout
    assert "system-level" not in stdout


def test_text_ranks_best_first_with_clusters_and_intervals(tiny, capsys):
    code, stdout, _ = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--measures",
                                 "pearson", "--level", "seg", "--ci", "--resamples", "50",
                                 "--significance", "--k", "50"], capsys)
    assert code == 0
    lines = [l for l in stdout.splitlines() if "QE" in l]
    assert lines[0].split()[:2] == ["1", "GoodQE"] and lines[1].split()[:2] == ["2", "BadQE"]
    assert "[" in lines[0] and "(1)" in lines[0]


def test_add_metric_folder_and_file(tiny, capsys, tmp_path):
    extra = tmp_path / "extra" / "en-de"
    extra.mkdir(parents=True)
    good = tiny / "metric-scores" / "en-de" / "GoodQE-src.seg.score"
    (extra / "Copy-src.seg.score").write_text(good.read_text())
    code, stdout, _ = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--format", "json",
                                 "--add-metric", f"Mine={tmp_path / 'extra'}",
                                 "--add-metric", f"Single={good}"], capsys)
    assert code == 0
    table = records_of(stdout)
    for name in ("Mine", "Single"):
        assert table["en-de", "seg", "pearson", name]["value"] == \
            table["en-de", "seg", "pearson", "GoodQE"]["value"]
    # a segment-only metric gets the mean of its segment scores as system score
    assert table["en-de", "sys", "pairwise_accuracy", "Mine"]["value"] == 1.0


def test_metric_subset_and_primary(tiny, capsys):
    code, stdout, _ = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--format", "json",
                                 "--metrics", "BadQE", "--level", "sys"], capsys)
    assert code == 0
    assert {m for (_, _, _, m) in records_of(stdout)} == {"BadQE"}


def test_mtme_system_with_scores_but_no_output_is_said(tmp_path, capsys):
    """A system with human scores but no output file is left out, and stderr says so."""
    root = make_tiny_mtme(tmp_path)
    outputs = sorted((root / "system-outputs" / "en-de").glob("*.txt"))
    victim = next(p for p in outputs if not p.name.startswith("ref"))
    victim.unlink()
    code, out, err = run(main, ["--mtme-root", root, "--test-set", "tiny23"], capsys)
    assert code == 0, err
    assert f"{victim.stem} has seg-level human scores but no system output" in err
    assert "left out" in err


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("argv,fragment", [
    ([], "give exactly one input"),
    (["--mtme-root", "{tiny}", "--tsv", "x"], "give exactly one input"),
    (["--mtme-root", "{tiny}", "--test-set", "tiny23", "--metrics", "Nope"],
     "no scores for metric(s) Nope in en-de"),
    (["--mtme-root", "{tiny}", "--test-set", "tiny23", "--gold", "da"],
     "has human scores named 'da'"),
    (["--mtme-root", "{tiny}", "--test-set", "tiny23", "--gold", "da", "--lp", "en-de"],
     "no seg-level human scores 'da' for en-de (available: mqm)"),
    (["--mtme-root", "{tiny}", "--test-set", "tiny23", "--lp", "xx-yy"], "no source file for xx-yy"),
    (["--mtme-root", "/nonexistent", "--test-set", "wmt23"], "folder does not exist"),
    (["--mtme-root", "{tiny}", "--add-metric", "oops"], "expected NAME=PATH"),
    (["--mtme-root", "{tiny}", "--format", "xml"], "invalid choice: 'xml'"),
    (["--mtme-root", "{tiny}", "--score-testset"], "needs --model and --output-dir"),
    (["--tsv", "/nonexistent.tsv"], "no such file"),
])
def test_bad_input_is_one_line(tiny, capsys, argv, fragment):
    argv = [a.replace("{tiny}", str(tiny)) for a in argv]
    one_line(*run(main, argv, capsys), fragment, prog=EVAL)


def test_malformed_metric_file_leaves_no_output(tiny, capsys, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Broken-src.seg.score").write_text("sysA\t0.1\nsysA\tzero\n")
    out = tmp_path / "table.txt"
    code, stdout, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--output", out,
                              "--add-metric", f"Broken={bad}"], capsys)
    one_line(code, stdout, err, f"{bad / 'Broken-src.seg.score'}:2: score 'zero' is not", prog=EVAL)
    assert not out.exists() and list(tmp_path.glob(".table.txt*")) == []


def test_help_returns_zero(capsys):
    code, stdout, _ = run(main, ["--help"], capsys)
    assert code == 0 and "--score-testset" in stdout


def test_python_m_eval_runs():
    proc = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.eval", "--version"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("sigmoid-qe-eval ")


def test_span_gold_with_a_non_string_mt_is_one_line(tmp_path, capsys):
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps([{"src": "a", "mt": 5, "errors": []}]))
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps([{"src": "a", "mt": "5", "errors": []}]))
    code, out, err = run(main, ["--span-gold", gold, "--span-predictions", pred], capsys)
    one_line(code, out, err, "g.json", "'mt' must be a string", prog=EVAL, alone=False)


def test_span_predictions_of_two_systems_are_refused(tmp_path, capsys):
    """Span predictions are one system's: a file holding several is refused, naming them."""
    record = {"src": "a", "mt": "b c", "errors": []}
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps([record]))
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"sysA": [record], "sysB": [record]}))
    code, out, err = run(main, ["--span-gold", gold, "--span-predictions", pred], capsys)
    one_line(code, out, err, "holds 2 systems", "sysA", prog=EVAL, alone=False)


@pytest.mark.parametrize("rows", [
    ["a\tb\t0.5\t0.3"],                                            # one row
    ["a\tb\t0.5\t0.3", "c\td\t0.7\t0.3", "e\tf\t0.1\t0.3"],        # a constant metric
    ["a\tb\t0.5\t0.3", "c\td\t0.5\t0.1", "e\tf\t0.5\t0.9"],        # constant human scores
])
def test_undefined_correlations_are_na_not_zero(tmp_path, capsys, rows):
    """A correlation that is undefined (one row, a constant column) is n/a, never 0.000."""
    tsv = tmp_path / "e.tsv"
    tsv.write_text("\n".join(["src\tmt\tscore\tm"] + rows) + "\n")
    code, out, err = run(main, ["--tsv", tsv, "--format", "json",
                                "--measures", "pearson", "spearman", "kendall"], capsys)
    assert code == 0, err
    records = json.loads(out)
    assert records and all(r["value"] is None for r in records), records
    assert "undefined" in err and "reported as n/a" in err
    code, out, err = run(main, ["--tsv", tsv, "--measures", "pearson"], capsys)
    assert "0.000" not in out


def test_duplicated_segment_in_wmt_da_is_an_error_naming_the_line(tmp_path, capsys):
    da = tmp_path / "da-dup.en-de.csv"
    da.write_text("SYS SID RAW.SCR Z.SCR N\nA 1 50 0.1 1\nA 2 60 0.2 1\nB 1 70 0.3 1\n"
                  "A 2 90 0.9 1\nB 2 40 -0.1 1\n")
    metric = tmp_path / "m.txt"
    metric.write_text("A 0.1\nA 0.2\nB 0.3\nB 0.4\n")
    code, out, err = run(main, ["--wmt-da", da, "--add-metric", f"m={metric}", "--level",
                                "seg", "--measures", "pearson"], capsys)
    one_line(code, out, err, f"{da}:5:", "duplicate segment A/2 (first at line 3)", prog=EVAL,
             alone=False)
    assert out == ""


# ---------------------------------------------------------------------------- other inputs


def test_tsv_input_with_added_metric(tmp_path, capsys):
    table = tmp_path / "data.tsv"
    rows = ["src\tmt\tscore\tsystem\tlp\tqe"]
    human = {"S1": [1, 2, 3, 4], "S2": [2, 2, 5, 1]}
    for system, values in human.items():
        for k, h in enumerate(values):
            rows.append(f"s{k}\tm{k}\t{h}\t{system}\ten-pt\t{h * 0.1}")
    table.write_text("\n".join(rows) + "\n")
    per_row = tmp_path / "neg.txt"
    per_row.write_text("".join(f"{-h}\n" for values in human.values() for h in values))
    code, stdout, _ = run(main, ["--tsv", table, "--format", "json", "--add-metric",
                                 f"neg={per_row}"], capsys)
    assert code == 0
    result = records_of(stdout)
    assert result["en-pt", "seg", "pearson", "qe"]["value"] == pytest.approx(1.0)
    assert result["en-pt", "seg", "pearson", "neg"]["value"] == pytest.approx(-1.0)
    assert result["en-pt", "sys", "pairwise_accuracy", "qe"]["value"] == 1.0


def test_mlqe_input(shared_data, capsys):
    archive = shared_data / "mlqe-pe" / "data" / "direct-assessments" / "test" / "ro-en-test.tar.gz"
    code, stdout, _ = run(main, ["--mlqe", archive, "--format", "json", "--level", "seg"], capsys)
    assert code == 0
    assert round(records_of(stdout)["ro-en", "seg", "pearson", "model_scores"]["value"], 3) == 0.647


def test_biomqm_needs_metric_and_takes_system_lines(shared_data, capsys, tmp_path):
    table = shared_data / "bio-mqm" / "pt-en.round1.tsv"
    code, stdout, err = run(main, ["--biomqm", table], capsys)
    one_line(code, stdout, err, "add some with --add-metric", prog=EVAL)
    frame = loaders.load_biomqm(table)
    lines = [f"{r.system.replace(' ', '_')}\t{r.human + 0.5}" for r in frame.itertuples()]
    scores = tmp_path / "perfect.score"
    scores.write_text("\n".join(lines) + "\n")
    code, stdout, err = run(main, ["--biomqm", table, "--add-metric", f"p={scores}"], capsys)
    one_line(code, stdout, err, "no scores for system 'MT Learner_run", prog=EVAL)


# ---------------------------------------------------------------------------- --score-testset


class FakeResult:
    def __init__(self, scores):
        self.scores = scores
        self.system_score = sum(scores) / len(scores)


class FakeQE:
    """Stands in for sigmoid_qe.load_model(...): scores = minus the hypothesis length."""

    calls = []

    def __init__(self, name, head=None, lp=None, device=None, batch_size=32, **_):
        self.lp = lp
        FakeQE.calls.append((name, lp, batch_size))

    def scoring(self, method=None, aggregate=None):
        return method or "sigmoid", aggregate or "mean"

    def score(self, sources, hypotheses, method="sigmoid", aggregate="mean", batch_size=32,
              progress=True):
        assert len(sources) == len(hypotheses) and method == "sigmoid"
        return FakeResult([-float(len(h)) for h in hypotheses])

    def signature(self, method, aggregate):
        return f"fake|{method}|{aggregate}"


def test_score_testset_writes_round_trip_files_and_evaluates(tiny, capsys, tmp_path,
                                                             monkeypatch):
    monkeypatch.setattr(sigmoid_qe.model, "load_model", FakeQE)
    FakeQE.calls.clear()
    out = tmp_path / "submission"
    code, stdout, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23",
                                   "--score-testset", "--model", "fake-model", "--name", "LenQE",
                                   "--output-dir", out, "--format", "json", "--batch-size", "7"], capsys)
    assert code == 0, err
    assert FakeQE.calls == [("fake-model", "en-de", 7)]  # one model load for the lp
    seg = mtme.read_score_file(out / "metric-scores" / "en-de" / "LenQE-src.seg.score",
                                  allow_none=False)
    assert sorted(seg) == ["refA", "sysA", "sysB", "sysC"]  # every system output, refs too
    assert seg["sysA"].tolist() == [-len("sysA 0")] * 4
    assert seg["sysB"][3] == 0.0  # the no-translation marker is scored as ""
    wmt = loaders.load_wmt_submission(out / "LenQE.seg.score")
    assert len(wmt) == 16 and set(wmt.reference) == {"src"} and set(wmt.testset) == {"tiny23"}
    sys_lines = loaders.load_wmt_submission(out / "LenQE.sys.score")
    assert set(sys_lines.domain) == {"all", "news", "social"}
    table = records_of(stdout)
    assert ("en-de", "seg", "pearson", "LenQE") in table and ("en-de", "seg", "pearson",
                                                              "GoodQE") in table
    assert "fake|sigmoid|mean" in err


def test_score_testset_without_human_scores_still_writes(tiny, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sigmoid_qe.model, "load_model", FakeQE)
    for path in (tiny / "human-scores").iterdir():
        path.unlink()
    out = tmp_path / "submission"
    code, stdout, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--lp", "en-de",
                                   "--score-testset", "--model", "m", "--output-dir", out], capsys)
    assert code == 0 and stdout == ""
    assert "en-de not evaluated: " in err
    assert (out / "sigmoid-qe.seg.score").is_file()
    assert (out / "metric-scores" / "en-de" / "sigmoid-qe-src.sys.score").is_file()


def test_score_testset_failure_writes_nothing(tiny, capsys, tmp_path, monkeypatch):
    class Failing(FakeQE):
        def score(self, *args, **kwargs):
            raise InputError("the model refused")

    monkeypatch.setattr(sigmoid_qe.model, "load_model", Failing)
    out = tmp_path / "submission"
    code, stdout, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--score-testset",
                              "--model", "m", "--output-dir", out, "--quiet"], capsys)
    one_line(code, stdout, err, "the model refused", prog=EVAL)
    assert not out.exists() or not any(out.rglob("*"))


def test_score_testset_with_a_tiny_real_model(tiny, capsys, tmp_path, tiny_marian_dir):
    out = tmp_path / "real"
    code, _, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--score-testset",
                              "--model", tiny_marian_dir, "--name", "TinyQE", "--output-dir", out, "--quiet",
                              "--format", "json", "--device", "cpu"], capsys)
    assert code == 0, err
    seg = mtme.read_score_file(out / "metric-scores" / "en-de" / "TinyQE-src.seg.score",
                                  allow_none=False)
    assert len(seg) == 4 and all(len(v) == 4 and all(math.isfinite(x) for x in v)
                                 for v in seg.values())


# ---------------------------------------------------------------------------- plots


def test_plots(tiny, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plots = tmp_path / "plots"
    code, _, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23", "--plot", plots,
                              "--ci", "--resamples", "20", "--quiet"], capsys)
    assert code == 0, err
    names = sorted(p.name for p in plots.iterdir() if p.name != ".sigmoid-qe-folder")
    assert "scatter-en-de-GoodQE.png" in names and "bars-en-de-seg-pearson.png" in names
    assert all((plots / n).read_bytes()[:4] == b"\x89PNG" for n in names)


def test_no_human_scores_is_one_line_never_a_perfect_score(tmp_path, capsys):
    """Every human score None in a TSV: system-level SPA used to come out as 1.000 (with a
    leaked numpy warning); one line naming the file instead. An lp with none among others
    is named too."""
    table = tmp_path / "allnone.tsv"
    rows = ["src\tmt\tscore\tsystem\tlp\tqe"]
    for system in ("A", "B", "C"):
        rows += [f"s{k}\tm{k}\tNone\t{system}\ten-pt\t{k * 0.1}" for k in range(4)]
    table.write_text("\n".join(rows) + "\n")
    code, out, err = run(main, ["--tsv", table], capsys)
    one_line(code, out, err, f"{table}: no human scores to evaluate against", prog="sigmoid-qe-eval")
    assert out == ""
    rows += [f"s{k}\tm{k}\t{k}\t{system}\ten-de\t{k * 0.2}" for system in "AB" for k in range(4)]
    table.write_text("\n".join(rows) + "\n")
    code, out, err = run(main, ["--tsv", table], capsys)
    one_line(code, out, err, "en-pt: no human scores to evaluate against", prog="sigmoid-qe-eval")


def test_mtme_human_scores_all_none_is_one_line_naming_the_file(tiny, capsys):
    """An mt-metrics-eval seg-level human file whose every score is None was a traceback
    ('need at least one array to concatenate')."""
    human = tiny / "human-scores" / "en-de.mqm.seg.score"
    human.write_text("".join(f"{line.split(chr(9))[0]}\tNone\n"
                             for line in human.read_text().splitlines()))
    code, out, err = run(main, ["--mtme-root", tiny, "--test-set", "tiny23"], capsys)
    one_line(code, out, err, "no seg-level human scores for en-de", prog="sigmoid-qe-eval")
    assert str(human) in err and out == ""
