"""The shortlist-normalised softmax of the Bergamot students: agreement with the full softmax
on dev, and the speed of the default scoring with and without it (issue 19, item 6).

    python -m benchmarks.bench_shortlist_softmax                  # both parts, both pairs
    python -m benchmarks.bench_shortlist_softmax --part speed --rounds 3

*agreement*: a seeded sample of the dev challenge pairs (``heads_data.dev_items``: dev
translations and their single-error copies), scored twice with the shipped heads: softmax over
the full 32k vocabulary and over the lexical shortlist of the source plus the hypothesis tokens
(what Marian decodes over). Printed: the per-token |log p_shortlist - log p_full| (max, 99th
percentile, mean), and the Spearman between the two of every sentence score that reads the
softmax (the shipped default, the log-prob sum, the softmax mean).

*speed*: segments/s on the same dev pairs (batch 32) of the scoring shipped before issue 19
(pt-en: sigmoid, sum of logs; en-pt: combined a=0.5, mean of logs, full softmax), of today's
default, and of today's default with the full softmax; interleaved rounds, best and median,
and the ratios of the best rounds. Set ``OMP_WAIT_POLICY=PASSIVE`` on a shared machine.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.qe_bench_common import MODELS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Pair = Tuple[str, str]
#: What each head scored with before issue 19 (method, aggregate, combine weight, softmax over).
PREVIOUS = {"pt-en": ("sigmoid", "prod", None, "full"), "en-pt": ("combined", "mean-log", 0.5, "full")}


def dev_pairs(lp: str, n: int, seed: int = 0) -> List[Pair]:
    from benchmarks.heads_data import dev_items
    from sigmoid_qe.challenge.sets import scored_pairs
    detection, tolerance = dev_items(lp)
    pairs = scored_pairs(detection, tolerance)
    return random.Random(seed).sample(pairs, min(n, len(pairs)))


def load(lp: str, softmax_over: str):
    from sigmoid_qe import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(MODELS[lp], device="cpu", softmax_over=softmax_over)


def agreement(lp: str, pairs: Sequence[Pair]) -> Dict[str, object]:
    from scipy.stats import spearmanr
    srcs, hyps = [s for s, _ in pairs], [h for _, h in pairs]
    out: Dict[str, object] = {}
    results = {}
    for over in ("full", "shortlist"):
        qe = load(lp, over)
        results[over] = qe.score(srcs, hyps, method="combined", aggregate="prod",
                                 extra_stats=["softmax", "sigmoid"], check_direction=False)
        method, aggregate = qe.scoring()
    diffs = np.concatenate([
        np.abs(np.log(np.maximum([t.softmax for t in a.tokens], 1e-45))
               - np.log(np.maximum([t.softmax for t in b.tokens], 1e-45)))
        for a, b in zip(results["full"].segments, results["shortlist"].segments)])
    out["tokens"] = int(diffs.size)
    out["max"], out["p99"], out["mean"] = (float(diffs.max()), float(np.quantile(diffs, 0.99)),
                                           float(diffs.mean()))
    from sigmoid_qe.methods import aggregate_scores, token_scores
    weight = load(lp, "full").combine_weight
    for label, stat, how in ((f"default ({method} a={weight:g} {aggregate})", "combined", aggregate),
                             ("softmax sum-log", "softmax", "prod"),
                             ("softmax mean", "softmax", "mean")):
        values = {}
        for over, res in results.items():
            values[over] = [aggregate_scores(token_scores(stat, {
                "sigmoid": np.array([t.sigmoid for t in seg.tokens]),
                "softmax": np.array([t.softmax for t in seg.tokens])}, weight).tolist(), how)
                for seg in res.segments]
        out[label] = float(spearmanr(values["full"], values["shortlist"]).statistic)
    return out


def speed(lp: str, pairs: Sequence[Pair], rounds: int) -> Dict[str, Tuple[float, float]]:
    srcs, hyps = [s for s, _ in pairs], [h for _, h in pairs]
    method, agg, weight, over = PREVIOUS[lp]
    previous = load(lp, over)
    if weight is not None:
        previous.head.config.combine_weight = weight
    today, today_full = load(lp, "shortlist"), load(lp, "full")
    runs = {"previous default": (previous, method, agg), "today's default": (today, None, None),
            "today's default, full softmax": (today_full, None, None)}
    times: Dict[str, List[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (qe, m, a) in runs.items():
            start = time.perf_counter()
            qe.score(srcs, hyps, method=m, aggregate=a, check_direction=False, progress=False)
            times[name].append(len(pairs) / (time.perf_counter() - start))
    return {name: (max(v), statistics.median(v)) for name, v in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", default=["agreement", "speed"],
                        choices=["agreement", "speed"])
    parser.add_argument("--lps", nargs="+", default=["pt-en", "en-pt"], choices=list(MODELS))
    parser.add_argument("--pairs", type=int, default=4000, help="dev pairs sampled (agreement)")
    parser.add_argument("--speed-pairs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for lp in args.lps:
        if "agreement" in args.part:
            pairs = dev_pairs(lp, args.pairs)
            r = agreement(lp, pairs)
            print(f"## {lp}: shortlist vs full softmax on {len(pairs)} dev pairs ({r['tokens']} tokens)")
            print(f"|log p_shortlist - log p_full| per token: max {r['max']:.4f}, "
                  f"99th percentile {r['p99']:.4f}, mean {r['mean']:.5f}")
            for key, value in r.items():
                if key not in ("tokens", "max", "p99", "mean"):
                    print(f"Spearman full vs shortlist, {key}: {value:.5f}")
            sys.stdout.flush()
        if "speed" in args.part:
            pairs = dev_pairs(lp, args.speed_pairs, seed=1)
            r = speed(lp, pairs, args.rounds)
            base = r["previous default"][0]
            print(f"## {lp}: segments/s on {len(pairs)} dev pairs, batch 32 "
                  f"(best / median of {args.rounds} rounds; ratio = best / previous best)")
            for name, (best, median) in r.items():
                print(f"{name}: {best:.1f} / {median:.1f} seg/s, ratio {best / base:.2f}x")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
