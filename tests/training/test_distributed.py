"""A real 2-process run (gloo on CPU) through `accelerate launch`, against 1 process.

With the same global batch (2 processes x 1 micro-batch = 1 process x 2 accumulated), the
two runs do the same optimizer steps on the same negatives, so the dev losses and heads
agree up to float summation order. The 2-process run also uses the shared feature cache,
written by both ranks in epoch 1 and read across ranks in epoch 2.
"""
import importlib.util
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.head import SigmoidHead

from training_helpers import single_thread, toy_files


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launcher(port: int):
    if importlib.util.find_spec("accelerate") is not None:
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(port), "-m", "sigmoid_qe.cli.train"]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--master_port", str(port), "-m", "sigmoid_qe.cli.train"]


def test_two_processes_match_one(tiny_marian_dir, tmp_path, capsys):
    train_path, dev_path = toy_files(tmp_path / "data", n_train=120, n_dev=30)
    common = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(train_path), "--dev",
              str(dev_path), "--epochs", "2", "--batch-size", "6", "--lr", "1e-2",
              "--eval-every", "5", "--device", "cpu", "--quiet"]
    assert train_cli.main(common + ["--grad-accum", "2", "--output-dir", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", ACCELERATE_USE_CPU="true")
    proc = subprocess.run(launcher(free_port()) + common + ["--output-dir", str(tmp_path / "two"),
                                                            "--cache-features", "--cache-dtype", "float32",
                                                            "--keep-cache"],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "config.json").read_text())["training"]
    two = json.loads((tmp_path / "two" / "config.json").read_text())["training"]
    assert one["world_size"] == 1 and two["world_size"] == 2
    assert one["sentences_per_step"] == two["sentences_per_step"] == 12
    assert one["steps"] == two["steps"] == 20
    assert len(one["dev_history"]) == len(two["dev_history"]) >= 4
    for (step_a, loss_a), (step_b, loss_b) in zip(one["dev_history"], two["dev_history"]):
        assert step_a == step_b and loss_a == pytest.approx(loss_b, abs=1e-5)
    assert one["dev_loss"] < 0.8 * one["dev_history"][0][1]  # it did learn
    head_one = SigmoidHead.from_pretrained(tmp_path / "one").weight
    head_two = SigmoidHead.from_pretrained(tmp_path / "two").weight
    assert (head_one - head_two).abs().max().item() < 1e-5
    done = np.load(tmp_path / "two" / "feature-cache" / "done.npy")
    assert done.all()  # both ranks wrote their sentences into the one shared cache


def test_sharded_scoring_gathers_in_input_order(tiny_marian_dir, tmp_path, monkeypatch):
    import warnings

    import torch.multiprocessing as mp

    from sigmoid_qe import load_model

    from training_helpers import sharded_scoring_worker, toy_pairs
    out = tmp_path / "scores.json"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    mp.spawn(sharded_scoring_worker, args=(2, free_port(), tiny_marian_dir, str(out)), nprocs=2)
    gathered = json.loads(out.read_text())
    pairs = toy_pairs(7, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = load_model(tiny_marian_dir, device="cpu").score([s for s, _ in pairs],
                                                                 [t for _, t in pairs], progress=False)
    assert gathered[:7] == [t for _, t in pairs]
    assert gathered[7:] == pytest.approx(single.scores, abs=1e-6)
