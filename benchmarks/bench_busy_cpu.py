"""``sigmoid-qe`` on 600 pairs, on a quiet machine and beside two busy processes: what the
package's own OpenMP setting (idle threads sleep, :mod:`sigmoid_qe.threads`) is worth.

    python -m benchmarks.bench_busy_cpu               # 3 rounds, median of each
    python -m benchmarks.bench_busy_cpu --rounds 5 --pairs 600

Each run is the same command, ``sigmoid-qe -s 600.en -t 600.pt --lp en-pt --only-system
--quiet`` (the first 600 pairs of ``../shared/data/parallel/en-pt/dev.tsv``, else the
examples repeated), in a fresh interpreter, with ``OMP_NUM_THREADS`` unset (torch uses every
core) and three settings:

* ``plain``: nothing set, what a user gets (the package chooses the passive policy);
* ``PASSIVE``: the user's explicit ``OMP_WAIT_POLICY=PASSIVE``, the known-good setting;
* ``spinning``: ``GOMP_SPINCOUNT=300000``, libgomp's own default, what the commands did before
  they set a policy (an explicit setting, so the package leaves it alone).

"busy" runs them beside two processes that spin on a core each (``while True: pass``), as on a
shared server or CI runner. Printed: the median and best seconds of each, and the ratios of
the medians to ``PASSIVE`` measured in this run (the target: ``plain`` at most 1.3x of it when
busy, and no slower than ``spinning`` when quiet). Run from the repository root on a machine
where nothing else runs, so that "quiet" is quiet.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "parallel" / "en-pt" / "dev.tsv"
SETTINGS = {"plain": {}, "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "spinning": {"GOMP_SPINCOUNT": "300000"}}
#: Variables that would make a setting other than the one measured.
CLEARED = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS",
           "MKL_NUM_THREADS")


def write_pairs(folder: Path, n: int):
    """``n`` English sources and Portuguese translations: dev.tsv's first rows, else the
    shipped examples (pt->en, turned around) repeated."""
    if DEV.is_file():
        rows = [line.rstrip("\n").split("\t") for line in DEV.read_text(encoding="utf-8")
                .splitlines()[1:n + 1]]
        en, pt = [r[0] for r in rows], [r[1] for r in rows]
    else:
        pt = (ROOT / "examples" / "src.pt").read_text(encoding="utf-8").splitlines()
        en = (ROOT / "examples" / "hyp.en").read_text(encoding="utf-8").splitlines()
        en, pt = (en * n)[:n], (pt * n)[:n]
    (folder / "pairs.en").write_text("".join(x + "\n" for x in en), encoding="utf-8")
    (folder / "pairs.pt").write_text("".join(x + "\n" for x in pt), encoding="utf-8")
    return folder / "pairs.en", folder / "pairs.pt"


def timed(command, env) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


@contextlib.contextmanager
def busy(n: int):
    """``n`` processes that each keep a core busy, stopped at the end."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the command")
    args = parser.parse_args(argv)
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        src, hyp = write_pairs(Path(tmp), args.pairs)
        command = [sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t", str(hyp),
                   "--lp", "en-pt", "--only-system", "--quiet"]
        timed(command, base)  # warm the file cache
        times = {(load, name): [] for load in ("quiet", "busy") for name in SETTINGS}
        for load in ("quiet", "busy"):
            with busy(args.busy) if load == "busy" else contextlib.nullcontext():
                for _ in range(args.rounds):  # interleaved, so drift hits every setting alike
                    for name, extra in SETTINGS.items():
                        times[load, name].append(timed(command, {**base, **extra}))
                        print(f"# {load} {name}: {times[load, name][-1]:.2f} s", flush=True)
    shown = ["sigmoid-qe", "-s", src.name, "-t", hyp.name, *command[7:]]
    print(f"`{' '.join(shown)}`, {args.pairs} pairs, {os.cpu_count()} "
          f"cores, OMP_NUM_THREADS unset, median of {args.rounds} rounds; busy = "
          f"{args.busy} spinning processes beside it")
    print()
    print("| machine | setting | median s | best s | median / PASSIVE |")
    print("|---|---|---:|---:|---:|")
    for (load, name), values in times.items():
        median = statistics.median(values)
        reference = statistics.median(times[load, "PASSIVE"])
        print(f"| {load} | {name} | {median:.2f} | {min(values):.2f} | {median / reference:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
