"""Error spans on the command line: sigmoid-qe's span outputs, their evaluation by
sigmoid-qe-eval, and span option mistakes."""
from __future__ import annotations

import json

import pytest

from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.metaeval import spans as evaluation

from cli_helpers import pair_files, run


@pytest.fixture()
def files(tmp_path):
    src, hyp = pair_files(tmp_path)
    hyp.write_text("o gato sentou no tapete\num cao azul peixe\n", encoding="utf-8")
    return src, hyp


def test_cli_spans_outputs_and_their_evaluation(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    out = {name: tmp_path / name for name in ("s.json", "t2.tsv", "w.tags")}
    code, stdout, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--spans",
                                             "--span-threshold", "0.6,0.3", "--to-json", out["s.json"],
                                             "--spans-wmt", out["t2.tsv"], "--word-tags", out["w.tags"],
                                             "--quiet"], capsys)
    assert code == 0, err
    assert len(stdout.splitlines()) == 3  # the score lines are unchanged by --spans
    records = json.loads(out["s.json"].read_text(encoding="utf-8"))[str(hyp)]
    assert all(r["mt"][e["start"]:e["end"]] == e["text"] for r in records for e in r["errors"])
    predicted = evaluation.read_predictions(out["t2.tsv"])
    assert [p for _, p in predicted] == [tuple((e["start"], e["end"], e["severity"]) for e in r["errors"])
                                         for r in records]
    tags = evaluation.read_word_tags(out["w.tags"])
    assert [len(t) for t in tags] == [5, 4]
    code, table, err = run(eval_cli.main, ["--span-gold", out["s.json"], "--span-predictions",
                                           out["s.json"], out["t2.tsv"], "--format", "json"], capsys)
    assert code == 0, err
    f1 = [r for r in json.loads(table) if r["measure"] == "f1 (wmt23)"]
    assert {r["value"] for r in f1} <= {1.0, 0.0} and len(f1) == 2  # self-agreement (or nothing to find)
    code, table, err = run(eval_cli.main, ["--word-gold", out["w.tags"], "--word-predictions",
                                           out["w.tags"], "--format", "json"], capsys)
    assert code == 0 and next(r for r in json.loads(table) if r["measure"] == "mcc")["value"] in (1.0, 0.0)


def test_cli_span_mistakes(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--spans",
                                        "--span-threshold", "1.5", "--quiet"], capsys)
    assert code == 2 and "outside the sigmoid score range" in err
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "/nonexistent",
                                        "--span-threshold", "0.5"], capsys)
    assert code == 2 and "goes with --spans" in err
    code, _, err = run(eval_cli.main, ["--span-gold", src], capsys)
    assert code == 2 and "go together" in err
