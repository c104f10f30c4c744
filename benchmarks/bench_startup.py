"""How long a command that loads no model takes to start, against ``import torch`` (issue 20).

    python -m benchmarks.bench_startup              # 7 interleaved rounds
    python -m benchmarks.bench_startup --rounds 15

Each round starts fresh interpreters, one after the other: ``python -c "import torch"``, then
``python -m sigmoid_qe.cli.score --help``, ``--version``, and ``sigmoid-qe-eval --help``.
Printed: the median and best wall time of each and the ratio of the medians to ``import torch``
(the target: ``--help`` under half of it). Run from the repository root; the package is
imported from there (PYTHONPATH is set to it).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c 'import torch'": ["-c", "import torch"],
    "sigmoid-qe --help": ["-m", "sigmoid_qe.cli.score", "--help"],
    "sigmoid-qe --version": ["-m", "sigmoid_qe.cli.score", "--version"],
    "sigmoid-qe-eval --help": ["-c", "from sigmoid_qe.cli.eval import main; main(['--help'])"],
}


def timed(argv, env) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in COMMANDS.values():  # warm the file cache
        timed(command, env)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(timed(command, env))
    base = statistics.median(times["python -c 'import torch'"])
    print("| command | median s | best s | median / import torch |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.3f} | {min(values):.3f} | {median / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
