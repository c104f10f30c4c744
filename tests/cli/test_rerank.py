"""sigmoid-qe-rerank: candidates from a file or generated, QE reranking and MBR against
independent computations, and bad candidates or options (one line, exit 2, no output)."""
from __future__ import annotations

import json

import pytest

from sigmoid_qe import load_model
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.rerank import choose, first_best, utility_function

from cli_helpers import run
from rerank_data import CANDIDATES, EN


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    cands = tmp_path / "cands.pt"
    cands.write_text("\n".join(c for group in CANDIDATES for c in group) + "\n")
    return src, cands


# -- sigmoid-qe-rerank ---------------------------------------------------------------------------
def test_rerank_from_file_by_qe_matches_scores(files, capsys, tmp_path):
    src, cands = files
    js = tmp_path / "out.json"
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--quiet",
                                      "--to-json", js, "--method", "softmax"], capsys)
    assert code == 0, err
    model = load_model("bergamot-en-pt", device="cpu")
    chosen = []
    for source, group in zip(EN, CANDIDATES):
        scores = model.score([source] * 4, group, method="softmax").scores
        chosen.append(group[first_best(scores)])
    assert out.splitlines() == chosen
    data = json.loads(js.read_text())
    assert data["selection"] == "qe" and "method:softmax" in data["signature"]
    assert [s["translation"] for s in data["segments"]] == chosen
    first = data["segments"][0]
    assert len(first["candidates"]) == 4
    assert first["candidates"][first["chosen"]]["text"] == chosen[0]


def test_rerank_mbr_needs_no_model_and_prunes(files, capsys, tmp_path):
    src, cands = files
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "chrf", "--quiet"], capsys)
    assert code == 0, err
    assert out.splitlines() == [g[choose(g, utility=utility_function("chrf")).index]
                                for g in CANDIDATES]
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "bleu", "--qe-top-k", 2, "--quiet", "-o", tmp_path / "o.txt"],
                         capsys)
    assert code == 0, err and out == ""
    assert len((tmp_path / "o.txt").read_text().splitlines()) == 4


def test_rerank_generated_candidates(files, capsys, tmp_path):
    src, _ = files
    js = tmp_path / "gen.json"
    code, out, err = run(rerank_cli, ["-s", src, "--generate", 3, "--quiet", "--to-json", js],
                         capsys)
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["decoding"]["strategy"] == "beam" and data["decoding"]["n"] == 3
    assert all(len(s["candidates"]) == 3 for s in data["segments"])
    assert out.splitlines() == [s["translation"] for s in data["segments"]]
    for s in data["segments"]:
        best = first_best([c["qe"] for c in s["candidates"]])
        assert s["chosen"] == best and all("logprob" in c for c in s["candidates"])
    # sampling with a seed: the same candidates twice, other chunking included
    argv = ["-s", src, "--generate", 3, "--decoding", "sample", "--seed", 4, "--quiet",
            "--to-json"]
    run(rerank_cli, argv + [tmp_path / "a.json"], capsys)
    run(rerank_cli, argv + [tmp_path / "b.json", "--chunk-size", 1], capsys)
    texts = lambda p: [[c["text"] for c in s["candidates"]]  # noqa: E731
                       for s in json.loads(p.read_text())["segments"]]
    assert texts(tmp_path / "a.json") == texts(tmp_path / "b.json")


def test_rerank_on_a_hugging_face_model(files, capsys, tiny_marian_dir, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("the cat sat on the mat\na dog eats fish\n")
    code, out, err = run(rerank_cli, ["-s", src, "--generate", 2, "--model", tiny_marian_dir,
                                      "--quiet", "--to-json", tmp_path / "j.json"], capsys)
    assert code == 0, err
    data = json.loads((tmp_path / "j.json").read_text())
    assert [len(s["candidates"]) for s in data["segments"]] == [2, 2]


@pytest.mark.parametrize("content, extra, message", [
    ("a\nb\nc\n", ["--num-candidates", 4], "not a multiple of --num-candidates 4"),
    ("a\nb\nc\nd\n", ["--num-candidates", 2], "but"),
    ("a\n\nc\nd\ne\nf\ng\nh\n", ["--num-candidates", 2], "empty candidate"),
    ("a\nb\n", ["--num-candidates", 0], "must be at least 1"),
    ("", ["--num-candidates", 2], "file is empty"),
])
def test_rerank_bad_candidates(tmp_path, capsys, content, extra, message):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    cands = tmp_path / "c.txt"
    cands.write_text(content)
    out = tmp_path / "out.txt"
    code, stdout, err = run(rerank_cli, ["-s", src, "-t", cands, *extra, "-o", out], capsys)
    assert code == 2 and stdout == "" and not out.exists()
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--generate", 2, "--temperature", 2], "does not apply to --decoding beam"),
    (["--generate", 2, "--decoding", "sample", "--beam-size", 4], "does not apply"),
    (["--generate", 2, "--qe-top-k", 1], "give --mbr too"),
    (["--generate", 2, "--mbr", "chrf", "--qe-top-k", 3], "more than the 2"),
    (["--generate", 2, "--beam-size", 1], "smaller than the 2"),
    ([], "--generate N"),
])
def test_rerank_bad_options(tmp_path, capsys, argv, message):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    code, stdout, err = run(rerank_cli, ["-s", src, *argv], capsys)
    assert code == 2 and stdout == "" and message in err


def test_mbr_signature_names_its_metric(files, capsys, tmp_path):
    src, cands = files
    js = tmp_path / "mbr.json"
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "chrf", "--qe-top-k", 2, "--to-json", js, "--lp", "en-pt"],
                         capsys)
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "signature:" in x]
    assert "model:bergamot-en-pt" in line and "|mbr:chrF|" in line and "nc:6" in line
    assert "qe-top-k:2" in line and "sacrebleu:" in line
    assert json.loads(js.read_text())["signature"] == line.split("signature: ", 1)[1]
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "bleu"], capsys)
    assert code == 0, err
    assert next(x for x in err.splitlines() if "signature:" in x).endswith(
        f"signature: mbr:BLEU|case:mixed|eff:yes|tok:13a|smooth:exp|sacrebleu:{_sacrebleu()}")


def _sacrebleu() -> str:
    import sacrebleu
    return sacrebleu.__version__


def test_generating_from_one_file_says_the_pair_came_from_the_sources(files, capsys):
    src, _ = files
    code, out, err = run(rerank_cli, ["-s", src, "--generate", 1], capsys)
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "using the default model" in x]
    assert "guessed from the source file" in line and "files" not in line
