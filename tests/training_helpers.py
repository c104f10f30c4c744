"""Toy parallel data for the training tests: a word-for-word en->pt code over the tiny models'
vocabulary, so that a head can actually learn something in a few seconds."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Tuple

from tiny_models import WORDS

EN, PT = WORDS[:18], WORDS[18:36]


def toy_pairs(n: int, seed: int = 0):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        idx = [rng.randrange(len(EN)) for _ in range(rng.randint(2, 6))]
        pairs.append((" ".join(EN[i] for i in idx), " ".join(PT[i] for i in idx)))
    return pairs


def write_toy_tsv(path: Path, n: int, seed: int = 0) -> Path:
    lines = ["en\tpt\torigin"] + [f"{s}\t{t}\ttoy" for s, t in toy_pairs(n, seed)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toy_files(directory: Path, n_train: int = 96, n_dev: int = 24) -> Tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return (write_toy_tsv(directory / "train.tsv", n_train, seed=1),
            write_toy_tsv(directory / "dev.tsv", n_dev, seed=2))


def sharded_scoring_worker(rank: int, world: int, port: int, model_dir: str, out_path: str) -> None:
    """One rank of the 2-process scoring test (run by torch.multiprocessing.spawn)."""
    import json
    import os
    import warnings

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from sigmoid_qe import load_model
    from sigmoid_qe.distributed import init_distributed, shutdown_distributed
    from sigmoid_qe.parallel import score_sharded
    context, _ = init_distributed("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(model_dir, device="cpu")
    pairs = toy_pairs(7, seed=5)
    result = score_sharded(model, [s for s, _ in pairs], [t for _, t in pairs], progress=False)
    if context.is_main:
        Path(out_path).write_text(json.dumps([seg.hypothesis for seg in result.segments] +
                                             [seg.score for seg in result.segments]))
    else:
        assert result is None
    shutdown_distributed(wait_for_peers=True)  # as the CLI: meet before gloo is torn down


def single_thread():
    """Generator for an autouse fixture: the tiny models gain nothing from intra-op threads,
    and on a loaded shared machine spinning threads make them many times slower."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
