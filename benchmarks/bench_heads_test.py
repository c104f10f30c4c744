"""The shipped heads on the test sets: FLORES error detection per kind, alt-test tolerance.

    python -m benchmarks.bench_heads_test                 # both directions, shipped heads
    python -m benchmarks.bench_heads_test --lps pt-en --head extra=DIR

Test sets, never used for any choice (``benchmarks/heads_data.py`` makes the splits):

* error detection: each FLORES-200 devtest translation (the ``flores`` rows of
  ``parallel/en-pt/dev.tsv``, 1012 per direction) against one copy per error kind of
  :mod:`sigmoid_qe.challenge.perturb`; accuracy = the original scores strictly higher;
* alternative tolerance: the alt-test groups (sources with two or more human translations,
  held out of training and of the dev set); share of perturbed A' that both A and B outscore.

Every method and aggregation is computed from one scoring of each distinct pair (the dev table
of ``scripts/dev_eval.py``, on the test items). "shipped default" is what ``sigmoid-qe`` uses
with no flags: the method, aggregation and combine weight stored in the head's config.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.candidates import LENGTH, Candidate
from benchmarks.heads_data import flores_rows, load_split
from benchmarks.qe_bench_common import MODELS, evaluate_items, markdown_table
from sigmoid_qe.challenge.perturb import KINDS
from sigmoid_qe.challenge.sets import alternatives, detection_items, tolerance_items

ROOT = Path(__file__).resolve().parents[1]


def test_items(lp: str, seed: int = 0):
    src, tgt = lp.split("-")
    pairs = [(r[src], r[tgt]) for r in flores_rows()]
    groups = alternatives((r[src], r[tgt]) for r in load_split("alt-test"))
    return detection_items(pairs, tgt, src, seed=seed), tolerance_items(groups, tgt, src, seed=seed)


def shipped_label(lp: str) -> str:
    from sigmoid_qe import load_model
    qe = load_model(MODELS[lp], device="cpu")
    method = qe.default_method
    return Candidate(method=method, weight=qe.combine_weight if method == "combined" else None,
                     aggregate=qe.default_aggregate,
                     head="shipped" if method in ("sigmoid", "combined") else None).label


ROWS = tuple(c.label for c in (
    *[Candidate(method="sigmoid", aggregate=how, head="shipped") for how in ("mean", "prod", "mean-log")],
    Candidate(method="sigmoid", aggregate="mean", head="untrained"),
    *[Candidate(method="softmax", aggregate=how) for how in ("mean", "prod", "mean-log")],
    Candidate(method="boosted", aggregate="mean"), Candidate(method="entropy", aggregate="mean"),
    Candidate(method="combined", weight=0.5, aggregate="mean-log", head="shipped"),
    Candidate(method="combined", weight=0.75, aggregate="mean-log", head="shipped"),
    Candidate(method="combined", weight=0.75, aggregate="prod", head="shipped"),
    Candidate(method=LENGTH)))


def table(report, shipped: str) -> str:
    rows = []
    for label in (shipped, *[r for r in ROWS if r != shipped]):
        r = report["results"].get(label)
        if r is None:
            continue
        d, t = r["detection"], r["tolerance"]
        name = f"**{label}** (shipped default)" if label == shipped else label
        rows.append([name, *[d[k] for k in KINDS], d["all"], d["mean"], t["both"]])
    return markdown_table(["method", *KINDS, "detection all", "mean of kinds", "tolerance both"],
                          rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lps", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--head", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "runs" / "score-cache")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out, reports = [], {}
    for lp in args.lps:
        from sigmoid_qe.loading import default_head_dir
        heads = {"shipped": str(default_head_dir(MODELS[lp])), "untrained": "untrained",
                 **dict(spec.split("=", 1) for spec in args.head)}
        detection, tolerance = test_items(lp)
        report = evaluate_items(lp, heads, detection, tolerance, args.cache_dir)
        reports[lp] = report
        counts = report["counts"]
        out.append(f"### {lp} ({len(detection)} detection items, {counts['tolerance_items']} "
                   f"tolerance items)\n\n" + table(report, shipped_label(lp)))
        print(out[-1] + "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
