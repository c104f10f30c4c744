"""N processes give bit-identical token scores to one.

The length-sorted batches are planned on the whole chunk first and ranks take whole batches,
so every row is computed in the same batch, padded to the same length, as by one process. The
corpus has hundreds of lines of very different lengths over several chunks (``CHUNK`` is small
so that the tests stay fast), so that row-level sharding (each rank re-batching its own rows)
would put rows next to other rows and change float sums. With ``--direction both`` the
opposite model's pass has its own plan (its pairs are the other way round, so other lengths);
``sigmoid-qe-filter --score-only`` shares out its chunks the same way.
"""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys

import pytest

from sigmoid_qe.parallel import rank_rows
from sigmoid_qe.scoring import length_sorted_batches  # the rule scoring batches by

from tiny_models import WORDS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")


#: Pairs per chunk in these tests: 360 lines make 3 chunks (the defaults are 1000).
CHUNK = 120


def _lines(n: int, seed: int):
    rng = random.Random(seed)
    # lengths from 1 to 40 words: batches mix very different paddings
    return [" ".join(rng.choice(WORDS) for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 21, 40])))
            for _ in range(n)]


def test_rank_rows_rebuild_the_one_process_batches():
    rng = random.Random(3)
    costs = [rng.randint(1, 30) for _ in range(203)]
    batch_size, world = 8, 3
    plan = length_sorted_batches(costs, batch_size)
    seen = []
    for rank in range(world):
        rows = rank_rows(plan, rank, world)
        # the rank's own batching of its rows (indices local to the rows) ...
        local = length_sorted_batches([costs[i] for i in rows], batch_size)
        rebuilt = [[rows[k] for k in batch] for batch in local]
        # ... is exactly its share of the one-process plan, batch for batch, row for row
        assert rebuilt == plan[rank::world]
        seen += rows
    assert sorted(seen) == list(range(len(costs)))


def test_torchrun_two_processes_give_bit_identical_token_scores(tiny_marian_dir, tmp_path):
    src, hyp = tmp_path / "src.txt", tmp_path / "hyp.txt"
    src.write_text("\n".join(_lines(360, 11)) + "\n")
    hyp.write_text("\n".join(_lines(360, 12)) + "\n")
    common = ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--quiet", "--device", "cpu",
              "--chunk-size", str(CHUNK), "--batch-size", "8"]
    one = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", *map(str, common),
                          "--to-jsonl", str(tmp_path / "one.jsonl"), "-o", str(tmp_path / "one.txt")],
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", str(_free_port()), "-m", "sigmoid_qe.cli.score",
                          *map(str, common), "--to-jsonl", str(tmp_path / "two.jsonl"),
                          "-o", str(tmp_path / "two.txt")],
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    first = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    second = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert len(first) == len(second) == 360
    for a, b in zip(first, second):
        assert a["mt"] == b["mt"]
        # every token score, exactly (JSON floats round-trip): not "close", equal
        assert [t["sigmoid"] for t in a["tokens"]] == [t["sigmoid"] for t in b["tokens"]], \
            a["segment"]
        assert a["score"] == b["score"]
    assert (tmp_path / "one.txt").read_bytes() == (tmp_path / "two.txt").read_bytes()


def _one_and_two(module, argv, tmp_path, outputs=()):
    """(stdout of 1 process, stdout of 2 torchrun processes), each run's ``outputs`` (file
    names, given after their option in ``argv`` as ``{run}/name``) read back."""
    runs = {}
    for name, launcher in (("one", []), ("two", ["-m", "torch.distributed.run",
                                                 "--nproc_per_node", "2", "--master_port",
                                                 str(_free_port())])):
        (tmp_path / name).mkdir()
        args = [str(a).replace("{run}", str(tmp_path / name)) for a in argv]
        done = subprocess.run([sys.executable, *launcher, "-m", module, *args], env=_env(),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[name] = (done.stdout, {o: (tmp_path / name / o).read_bytes() for o in outputs})
    return runs["one"], runs["two"]


def test_torchrun_both_directions_over_several_chunks_is_bit_identical(tiny_marian_dir,
                                                                       tmp_path):
    """--direction both: the reverse model's pass was batched by each rank on its own rows
    (11 of 600 news lines differed); now by its own one-process plan."""
    from tiny_models import make_tiny_marian
    reverse = make_tiny_marian(tmp_path / "reverse", seed=1)
    src, hyp = tmp_path / "src.txt", tmp_path / "hyp.txt"
    src.write_text("\n".join(_lines(360, 21)) + "\n")
    hyp.write_text("\n".join(_lines(360, 22)) + "\n")
    argv = ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--reverse-model", reverse,
            "--direction", "both", "--spans", "--quiet", "--device", "cpu", "--chunk-size",
            CHUNK, "--batch-size", "8", "--to-jsonl", "{run}/out.jsonl", "-o", "{run}/out.txt"]
    (_, one), (_, two) = _one_and_two("sigmoid_qe.cli.score", argv, tmp_path,
                                      ("out.jsonl", "out.txt"))
    first = [json.loads(line) for line in one["out.jsonl"].decode().splitlines()]
    second = [json.loads(line) for line in two["out.jsonl"].decode().splitlines()]
    assert len(first) == len(second) == 360
    for a, b in zip(first, second):
        assert [t["sigmoid"] for t in a["source_tokens"]] == \
            [t["sigmoid"] for t in b["source_tokens"]], a["segment"]
        assert [t["sigmoid"] for t in a["tokens"]] == [t["sigmoid"] for t in b["tokens"]]
    assert one == two


@pytest.mark.parametrize("direction", ["forward", "both"])
def test_torchrun_score_only_is_byte_identical(direction, tiny_marian_dir, tmp_path):
    """sigmoid-qe-filter --score-only scored every chunk on every rank, and every rank
    printed it; it now shares each chunk out by the one-process plan and rank 0 prints."""
    from tiny_models import make_tiny_marian
    reverse = make_tiny_marian(tmp_path / "reverse", seed=1)
    src, hyp = tmp_path / "src.txt", tmp_path / "hyp.txt"
    src.write_text("\n".join(_lines(360, 31)) + "\n")
    hyp.write_text("\n".join(_lines(360, 32)) + "\n")
    argv = ["--score-only", "-s", src, "-t", hyp, "--model", tiny_marian_dir, "--reverse-model",
            reverse, "--direction", direction, "--quiet", "--device", "cpu", "--chunk-size",
            CHUNK, "--batch-size", "8"]
    (one, _), (two, _) = _one_and_two("sigmoid_qe.cli.filter", argv, tmp_path)
    assert len(one.splitlines()) == 360 and one == two


@pytest.mark.parametrize("how", [["-t", "{cands}", "--num-candidates", "3"],
                                 ["--generate", "2", "--qe-top-k", "2", "--mbr", "chrf"]])
def test_torchrun_reranking_is_byte_identical(how, tiny_marian_dir, tmp_path):
    """Reranking shared sources out one by one and each rank scored (and generated) its own
    candidates in its own batches; now both passes follow the one-process batch plans."""
    src, cands = tmp_path / "src.txt", tmp_path / "cands.txt"
    sources = _lines(90, 41)
    src.write_text("\n".join(sources) + "\n")
    cands.write_text("\n".join(_lines(270, 42)) + "\n")
    argv = ["-s", src, *[a.replace("{cands}", str(cands)) for a in how], "--model",
            tiny_marian_dir, "--quiet", "--device", "cpu", "--chunk-size", 40, "--batch-size",
            "8", "--to-json", "{run}/out.json", "-o", "{run}/out.txt"]
    (_, one), (_, two) = _one_and_two("sigmoid_qe.cli.rerank", argv, tmp_path,
                                      ("out.json", "out.txt"))
    assert len(one["out.txt"].decode().splitlines()) == 90
    assert one == two
