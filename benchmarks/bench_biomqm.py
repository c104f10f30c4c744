"""Segment-level agreement of every glass-box QE method with BioMQM's human MQM scores.

    python -m benchmarks.bench_biomqm                        # default models and heads
    python -m benchmarks.bench_biomqm --head-pt-en DIR --head-en-pt DIR \
        --extra-head no-excl:pt-en=DIR2                      # trained heads, plus an ablation

Data: ``../shared/data/bio-mqm/`` round one (see its README): the two pt->en MT systems
(``pt-en.round1.tsv``) and the MQM-scored linguist references, pt->en and en->pt. Each row is
scored by the default model of its direction (``bergamot-pt-en`` / ``bergamot-en-pt``).
Repeated annotations of a (system, segment) would be averaged first (round one has none).

Sign convention: MQM is minus the summed error weights, so 0 is best and **higher is better**;
every QE method is oriented higher = better too (entropy negated, sum-log = log of the product
of token probabilities, length baseline = minus the number of scored tokens). A positive
correlation means agreement with the linguists.

Statistics (``sigmoid_qe.metaeval.stats``): Pearson, Spearman, Kendall tau-b and acc_eq
(WMT's tie-calibrated pairwise accuracy), all over every scored row without grouping (round
one's reference tables have one system, so WMT's item-grouped acc_eq has no pair to count);
95% percentile bootstrap intervals from 1000 resamples of segments (seed 1234; the systems of a
segment are drawn together). Nothing here is tuned on this data.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.candidates import Candidate
from benchmarks.qe_bench_common import (
    BIOMQM,
    MODELS,
    describe_heads,
    load_heads,
    markdown_table,
    methods_for,
    parse_extra_heads,
    score_all_heads,
    sentence_scores,
    shipped_method,
)
from sigmoid_qe.metaeval.tie_calibrated import acc_eq_flat_bootstrap_ci

TABLES = (("pt-en MT systems (round 1)", "pt-en.round1.tsv", "pt-en"),
          ("pt-en linguist references", "pt-en.round1-refs.tsv", "pt-en"),
          ("en-pt linguist references", "en-pt.round1-refs.tsv", "en-pt"))


def load_table(path: Path, limit: int = 0):
    """A BioMQM table with repeated annotations of a (system, segment) averaged."""
    from sigmoid_qe.metaeval.loaders import load_biomqm
    frame = load_biomqm(path)
    if limit:
        keep = sorted(frame["seg"].unique())[:limit]
        frame = frame[frame["seg"].isin(keep)]
    return (frame.groupby(["system", "seg", "source", "hypothesis"], as_index=False, sort=True)
            .agg(human=("human", "mean"), annotations=("human", "size")))


def as_matrix(frame, values: Sequence[float]) -> np.ndarray:
    """[systems, segments] matrix (NaN where a system has no row for a segment)."""
    systems = sorted(frame["system"].unique())
    segs = np.sort(frame["seg"].unique())
    out = np.full((len(systems), len(segs)), np.nan)
    rows = np.searchsorted(systems, frame["system"].to_numpy())
    cols = np.searchsorted(segs, frame["seg"].to_numpy())
    out[rows, cols] = np.asarray(values, dtype=np.float64)
    return out


def correlations(gold: np.ndarray, metric: np.ndarray, indices: np.ndarray) -> Dict[str, Tuple]:
    """{measure: (value, ci_low, ci_high[, epsilon])} for one metric."""
    from sigmoid_qe.metaeval import resampling, stats, tie_calibrated
    out = {}
    for name, fn in (("pearson", stats.pearson), ("spearman", stats.spearman),
                     ("kendall", stats.kendall)):
        out[name] = (fn(gold, metric), *resampling.bootstrap_ci(fn, gold, metric, indices=indices))
    acc = tie_calibrated.acc_eq(gold, metric, group="none")
    out["acc_eq"] = (acc.value, *acc_eq_flat_bootstrap_ci(gold, metric, indices), acc.epsilon)
    return out


def fmt(value: float, low: float, high: float) -> str:
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def report_table(title: str, frame, scores: Dict[str, np.ndarray], methods: List[Candidate],
                 samples: int, seed: int) -> str:
    from sigmoid_qe.metaeval import resampling, tie_calibrated
    gold = as_matrix(frame, frame["human"])
    indices = resampling.item_bootstrap_indices(gold.shape[1], samples, seed)
    rows = []
    for method in methods:
        metric = as_matrix(frame, scores[method.label])
        r = correlations(gold, metric, indices)
        rows.append([method.label, fmt(*r["pearson"]), fmt(*r["spearman"]), fmt(*r["kendall"]),
                     fmt(*r["acc_eq"][:3]) + f" (ε={r['acc_eq'][3]:.3g})"])
    constant = tie_calibrated.acc_eq(gold, np.zeros_like(gold), group="none").value
    n_zero = int((frame["human"] == 0).sum())
    lines = [f"### {title}", "",
             f"{len(frame)} rows, {gold.shape[1]} segments, {gold.shape[0]} system(s), "
             f"mean MQM {frame['human'].mean():.3f}, MQM = 0 on {n_zero} rows; "
             f"max annotations per row {int(frame['annotations'].max())}. "
             f"acc_eq of a constant score (every pair a tie): {constant:.3f}.", "",
             markdown_table(["method", "Pearson [95% CI]", "Spearman", "Kendall τb",
                             "acc_eq (ungrouped)"], rows), ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--head-en-pt", help="head directory for bergamot-en-pt (default: load_model's)")
    parser.add_argument("--head-pt-en", help="head directory for bergamot-pt-en (default: load_model's)")
    parser.add_argument("--extra-head", action="append", default=[], metavar="NAME:LP=DIR",
                        help="another head to compare (e.g. an ablation); repeatable")
    parser.add_argument("--no-combined", action="store_true", help="omit the combined sigma^0.5 p^0.5 rows")
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=1234, help="bootstrap seed")
    parser.add_argument("--limit", type=int, default=0, help="first N segments per table (quick runs)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", type=Path, help="reuse token scores across runs")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    if not (BIOMQM / TABLES[0][1]).is_file():
        raise SystemExit(f"{BIOMQM} is missing (../shared/data/bio-mqm)")
    extra = parse_extra_heads(args.extra_head)
    heads = {"en-pt": args.head_en_pt, "pt-en": args.head_pt_en}
    frames = {name: load_table(BIOMQM / name, args.limit) for _, name, _ in TABLES}
    start = time.time()
    print("# BioMQM: segment-level agreement with MQM (higher MQM = better)\n")
    for lp in ("pt-en", "en-pt"):
        tables = [t for t in TABLES if t[2] == lp]
        models = load_heads(lp, heads[lp], extra.get(lp, {}))
        print(f"## {lp}: {MODELS[lp]} (heads: {describe_heads(models)})\n")
        pairs = [p for _, name, _ in tables
                 for p in zip(frames[name]["source"], frames[name]["hypothesis"])]
        stats_all = score_all_heads(models, pairs, args.batch_size, args.cache_dir, args.progress)
        methods = methods_for(list(models), combined=not args.no_combined, length=True,
                              shipped=shipped_method(models))
        offset = 0
        for title, name, _ in tables:
            n = len(frames[name])
            part = {k: v[offset:offset + n] for k, v in stats_all.items()}
            offset += n
            scores = {m.label: sentence_scores(m, part) for m in methods}
            print(report_table(title, frames[name], scores, methods, args.samples, args.seed))
            sys.stdout.flush()
    print(f"_{args.samples} bootstrap resamples (seed {args.seed}); "
          f"{time.time() - start:.0f}s on this machine._")


if __name__ == "__main__":
    main()
