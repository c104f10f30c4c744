"""Scale: processes, memory, int8, and what a user would otherwise run, each measured in one run.

    python -m benchmarks.bench_scale                      # everything (about 15 minutes)
    python -m benchmarks.bench_scale --only int8 memory   # some parts

* ``processes``: ``sigmoid-qe`` on 2,000 pairs, 1 process (2 threads) vs ``torchrun`` with
  2 processes (1 thread each, gloo): seg/s and the speed-up (model loading excluded: the time
  from the first to the last chunk, read from the progress of a --to-jsonl file).
* ``memory``: peak RSS of ``sigmoid-qe -o FILE --to-jsonl FILE`` on 10k and 100k pairs, each in
  a fresh process: streaming means the second stays within 10% of the first.
* ``int8``: ``--precision int8`` vs fp32 on FLORES en->pt: seg/s ratio, mean/max |score
  difference|, Spearman of the sentence scores, same greedy translations.
* ``cometkiwi``: a CometKiwi-sized encoder (XLM-R large configuration, random weights: nothing
  is downloaded) over the same (source, translation) pairs at batch 32, against the default
  model's sigmoid scoring: seg/s of both and the ratio.

Pairs: FLORES rows of ``parallel/en-pt/dev.tsv`` (cycled where more are needed).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.qe_bench_common import read_parallel

PARTS = ("processes", "memory", "int8", "cometkiwi")


def flores_pairs(n: int):
    rows = [r for r in read_parallel("dev") if r["origin"] == "flores"]
    pairs = [(r["en"], r["pt"]) for r in rows]
    return [pairs[i % len(pairs)] for i in range(n)]


def write_pairs(folder: Path, pairs, name: str):
    src, hyp = folder / f"{name}.en", folder / f"{name}.pt"
    src.write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    hyp.write_text("".join(h + "\n" for _, h in pairs), encoding="utf-8")
    return src, hyp


def _env(threads: int):
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE",
                CUDA_VISIBLE_DEVICES="")


def timed_run(cmd, env, jsonl: Path) -> float:
    """Seconds from the first scored chunk to the end (model loading left out)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    while proc.poll() is None:
        if first is None and jsonl.with_name(jsonl.name + ".partial").exists() \
                and jsonl.with_name(jsonl.name + ".partial").stat().st_size > 0:
            first = time.perf_counter()
        time.sleep(0.01)
    end = time.perf_counter()
    if proc.returncode:
        raise SystemExit(proc.stderr.read().decode()[-2000:])
    return end - (first or end)


def part_processes(folder: Path) -> str:
    n, chunk = 2000, 50
    src, hyp = write_pairs(folder, flores_pairs(n), "proc")
    base = ["-s", str(src), "-t", str(hyp), "--quiet", "--device", "cpu", "--lp", "en-pt",
            "--chunk-size", str(chunk), "--resume"]
    rows = []
    for label, launcher, threads in (
            ("1 process, 2 threads", [sys.executable, "-m", "sigmoid_qe.cli.score"], 2),
            ("2 processes (torchrun, gloo), 1 thread each",
             [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
              "--master_port", "29731", "-m", "sigmoid_qe.cli.score"], 1)):
        out = folder / f"lines-{threads}"
        jsonl = folder / f"seg-{threads}.jsonl"
        seconds = timed_run(launcher + base + ["-o", str(out), "--to-jsonl", str(jsonl)],
                            _env(threads), jsonl)
        rows.append((label, (n - chunk) / seconds))
    speedup = rows[1][1] / rows[0][1]
    return ("| run | seg/s |\n|---|---:|\n" + "".join(f"| {a} | {b:.1f} |\n" for a, b in rows)
            + f"\nspeed-up of 2 processes: {speedup:.2f}x\n")


def part_memory(folder: Path) -> str:
    rows = []
    for n in (10_000, 100_000):
        src, hyp = write_pairs(folder, flores_pairs(n), f"mem{n}")
        cmd = [sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t", str(hyp),
               "--quiet", "--device", "cpu", "--lp", "en-pt", "-o", str(folder / f"o{n}"),
               "--to-jsonl", str(folder / f"o{n}.jsonl"), "--precision", "int8"]
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", probe, *cmd], env=_env(2), check=True,
                             capture_output=True, text=True)
        rows.append((n, int(out.stdout.strip()) / 1024, time.perf_counter() - start))
    ratio = rows[1][1] / rows[0][1]
    return ("| pairs | peak RSS (MiB) | wall s |\n|---:|---:|---:|\n"
            + "".join(f"| {n:,} | {rss:.0f} | {s:.0f} |\n" for n, rss, s in rows)
            + f"\npeak RSS 100k / 10k: {ratio:.3f}\n")


def part_int8(_folder: Path) -> str:
    from scipy.stats import spearmanr

    from sigmoid_qe import load_model
    pairs = flores_pairs(1012)
    sources, hyps = [s for s, _ in pairs], [h for _, h in pairs]
    models = {p: load_model("bergamot-en-pt", device="cpu", precision=p) for p in ("fp32", "int8")}
    scores, speed = {}, {p: [] for p in models}
    for model in models.values():
        model.score(sources[:32], hyps[:32], progress=False)
    for _ in range(2):  # alternate, so that other load hits both alike
        for precision, model in models.items():
            start = time.perf_counter()
            scores[precision] = np.array(model.score(sources, hyps, progress=False).scores)
            speed[precision].append(len(pairs) / (time.perf_counter() - start))
    diff = np.abs(scores["fp32"] - scores["int8"])
    greedy = {p: m.translate(sources[:200]) for p, m in models.items()}
    same = sum(a == b for a, b in zip(greedy["fp32"], greedy["int8"]))
    best = {p: max(v) for p, v in speed.items()}
    shipped = f"{models['fp32'].default_method} {models['fp32'].default_aggregate}"
    return (f"| precision | seg/s (best of 2) |\n|---|---:|\n| fp32 | {best['fp32']:.1f} |\n"
            f"| int8 | {best['int8']:.1f} |\n\nspeed-up {best['int8'] / best['fp32']:.2f}x; "
            f"sentence scores (shipped default: {shipped}): mean |diff| {diff.mean():.4f}, max "
            f"{diff.max():.4f}, Spearman {spearmanr(scores['fp32'], scores['int8'])[0]:.4f}; "
            f"greedy translations identical for {same}/200 sources\n")


def part_cometkiwi(_folder: Path) -> str:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from sigmoid_qe import load_model
    pairs = flores_pairs(128)
    sources, hyps = [s for s, _ in pairs], [h for _, h in pairs]
    qe = load_model("bergamot-en-pt", device="cpu")
    qe.score(sources[:32], hyps[:32], progress=False)
    start = time.perf_counter()
    qe.score(sources, hyps, progress=False, batch_size=32)
    ours = len(pairs) / (time.perf_counter() - start)
    shipped = f"{qe.default_method} {qe.default_aggregate}"
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24,
                              num_attention_heads=16, intermediate_size=4096,
                              max_position_embeddings=514, type_vocab_size=1)
    encoder = XLMRobertaModel(config).eval()
    # CometKiwi's input: <s> mt </s></s> src </s>; XLM-R's SentencePiece gives ~1.3 pieces per
    # word here, so the lengths are set from word counts instead of a downloaded tokenizer.
    lengths = [int(1.3 * (len(s.split()) + len(h.split()))) + 4 for s, h in pairs]
    with torch.inference_mode():
        encoder(input_ids=torch.ones(2, 64, dtype=torch.long))
        start = time.perf_counter()
        for i in range(0, len(pairs), 32):
            width = max(lengths[i:i + 32])
            ids = torch.randint(5, 250000, (len(lengths[i:i + 32]), width))
            mask = torch.zeros_like(ids)
            for r, n in enumerate(lengths[i:i + 32]):
                mask[r, :n] = 1
            encoder(input_ids=ids, attention_mask=mask)
        kiwi = len(pairs) / (time.perf_counter() - start)
    return ("| scorer | seg/s |\n|---|---:|\n"
            f"| CometKiwi-sized encoder (XLM-R large config, random weights), batch 32 | {kiwi:.2f} |\n"
            f"| sigmoid-qe default (bergamot-en-pt, {shipped}), batch 32 | {ours:.1f} |\n"
            f"\nratio: {ours / kiwi:.0f}x\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    text = []
    with tempfile.TemporaryDirectory() as tmp:
        for part in args.only:
            start = time.perf_counter()
            body = globals()[f"part_{part}"](Path(tmp))
            text.append(f"#### {part}\n\n{body}")
            print(text[-1], flush=True)
            print(f"({part}: {time.perf_counter() - start:.0f}s)", file=sys.stderr)
    if args.out:
        args.out.write_text("\n".join(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
