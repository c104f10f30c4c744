"""Training throughput with and without ``--cache-features``, and their ratio, in one run.

Trains the same head twice on the same slice of ``../shared/data/parallel/en-pt/train.tsv``
(no dev set, so that only training is timed): once re-running the frozen model every epoch,
once with the feature cache (epoch 1 runs the model and fills the cache, later epochs read
it). Tokens = trained target positions; per-epoch rates come from the step timestamps.

    python -m benchmarks.bench_training_speed                       # bergamot-en-pt
    python -m benchmarks.bench_training_speed --model DIR --lp en-pt  # any HF model
    python -m benchmarks.bench_training_speed --pairs 256 --epochs 3 --threads 2

Without ../shared the benchmark uses synthetic sentences; without the Bergamot backend it
stops and asks for ``--model``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch

from sigmoid_qe.files import read_table

ROOT = Path(__file__).resolve().parents[1]

TRAIN = ROOT.parent / "shared" / "data" / "parallel" / "en-pt" / "train.tsv"


def load_pairs(n: int, lp: str):
    src, tgt = lp.split("-")
    if TRAIN.is_file():
        rows = read_table(TRAIN).records()
        step = max(1, len(rows) // n)  # spread over the corpora (the file is in corpus order)
        rows = rows[::step][:n]
        return [r[src] for r in rows], [r[tgt] for r in rows]
    words = "the cat sat on the mat and the dog ran".split()
    return [" ".join(words)] * n, [" ".join(reversed(words))] * n


def load_backend_for(args):
    from sigmoid_qe.backends import load_backend
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_backend(args.model, lp=args.lp, device=args.device)
        except Exception as exc:
            if args.model != "bergamot-en-pt":
                raise
            # benchmarks never import tests/: name another model rather than the tests' tiny one
            raise SystemExit(f"bergamot-en-pt does not load ({exc}); pass --model with another "
                             "model (a Hugging Face Marian name or directory)") from exc


def timed_run(backend, data, out: Path, cache: bool, args):
    from sigmoid_qe.training import TrainOptions, train_head
    stamps = []
    options = TrainOptions(batch_size=args.batch_size, epochs=args.epochs, eval_every=None,
                           cache_features=cache, seed=0)
    start = time.perf_counter()
    result = train_head(backend, data, out, options=options, progress=False,
                        on_step=lambda step, loss: stamps.append(time.perf_counter()))
    per_epoch = result.record["steps_per_epoch"]
    positions = result.record["train_positions"]
    # epoch e ends at step e * per_epoch; epoch 1 starts after setup, at the first step minus one
    # step's worth (the first step's time includes a model forward like every uncached step)
    first = stamps[0] - (stamps[per_epoch - 1] - stamps[0]) / max(1, per_epoch - 1)
    ends = [stamps[e * per_epoch - 1] for e in range(1, args.epochs + 1)]
    starts = [first] + ends[:-1]
    rates = [positions / (b - a) for a, b in zip(starts, ends)]
    return rates, time.perf_counter() - start, positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bergamot-en-pt")
    parser.add_argument("--lp", default="en-pt")
    parser.add_argument("--pairs", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the cache pays off from epoch 2)")
    if args.threads:
        torch.set_num_threads(args.threads)
    from sigmoid_qe.training import ParallelData
    backend = load_backend_for(args)
    sources, targets = load_pairs(args.pairs, args.lp)
    data = ParallelData(sources, targets, [str(TRAIN)], args.lp)
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_total, positions = timed_run(backend, data, Path(tmp) / "plain", False, args)
        cached, cached_total, _ = timed_run(backend, data, Path(tmp) / "cached", True, args)
    plain_rate = sum(plain) / len(plain)
    read_rate = sum(cached[1:]) / len(cached[1:])
    print(f"model {backend.name} | {len(sources)} pairs, {positions} target tokens per epoch | "
          f"batch {args.batch_size} | {args.epochs} epochs | {torch.get_num_threads()} threads | "
          f"{args.device}")
    print(f"without cache:            {plain_rate:8.0f} tokens/s  (epochs: "
          f"{', '.join(f'{r:.0f}' for r in plain)})")
    print(f"with cache, epoch 1 fill: {cached[0]:8.0f} tokens/s")
    print(f"with cache, later epochs: {read_rate:8.0f} tokens/s")
    print(f"ratio later epochs / no cache: {read_rate / plain_rate:.1f}x; whole {args.epochs}-epoch run: "
          f"{plain_total:.0f}s -> {cached_total:.0f}s ({plain_total / cached_total:.2f}x)")


if __name__ == "__main__":
    main()
