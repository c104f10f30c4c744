"""The signature of every run: one stderr line like sacrebleu's (silenced by --quiet), stdout
still comet-score's lines, and a top-level ``signature`` member in --to-json."""
from __future__ import annotations

import json
import re

from sigmoid_qe.cli import score as score_cli

from cli_helpers import pair_files as corpus
from cli_helpers import run

SIGNATURE = re.compile(r"^sigmoid-qe: signature: model:(?P<model>[^|]+)\|head:[0-9a-f]{8}\|"
                       r"method:(?P<method>\w+)\|agg:(?P<agg>[\w-]+)\|eos:(yes|no)\|.*version:\S+$")
SCORE_LINE = re.compile(r"^.+\t(Segment \d+\t)?score: -?\d+\.\d{4}$")


def test_signature_on_stderr_and_in_json(tiny_marian_dir, tmp_path, capsys):
    src, hyp = corpus(tmp_path)
    out_json = tmp_path / "out.json"
    code, out, err = run(score_cli, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--device", "cpu",
                                     "--method", "softmax", "--aggregate", "min", "--to-json", out_json], capsys)
    assert code == 0, err
    assert all(SCORE_LINE.match(line) for line in out.splitlines()) and len(out.splitlines()) == 3
    found = [m for m in map(SIGNATURE.match, err.splitlines()) if m]
    assert len(found) == 1, err
    assert found[0]["model"] == tiny_marian_dir
    assert (found[0]["method"], found[0]["agg"]) == ("softmax", "min")
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert "sigmoid-qe: signature: " + data["signature"] == found[0].group(0)
    assert [r["mt"] for r in data[str(hyp)]] == ["o gato sentou no tapete", "um cao"]


def test_quiet_silences_the_signature_but_json_keeps_it(tiny_marian_dir, tmp_path, capsys):
    src, hyp = corpus(tmp_path)
    code, out, err = run(score_cli, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--device", "cpu",
                                     "--quiet", "--to-json", "-"], capsys)
    assert code == 0
    assert "signature" not in err
    data = json.loads(out)  # --to-json -: stdout is the JSON alone
    assert data["signature"].startswith(f"model:{tiny_marian_dir}|")
    assert isinstance(data[str(hyp)], list) and len(data[str(hyp)]) == 2


def test_a_system_file_named_signature_is_refused_with_to_json(tiny_marian_dir, tmp_path, capsys,
                                                                  monkeypatch):
    src, hyp = corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "signature").write_text(hyp.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(score_cli, ["-s", src, "-t", "signature", "--model", tiny_marian_dir, "--to-json",
                                     tmp_path / "o.json"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "signature" in err
