"""The dev table: every head, method and aggregation on the dev challenge set (never a test set).

    python -m scripts.dev_eval --lp en-pt --head base=runs/screen/en-pt/base --head ... \\
        --json runs/dev-eval/en-pt.json

Dev challenge set (see ``heads_data.py``): error detection, each of the six single-error
kinds, on every dev pair (the 2,000-pair dev slice held out of train.tsv plus the non-FLORES
rows of dev.tsv), and alternative tolerance on the alt-dev groups (sources translated twice,
never trained on). Each distinct pair is scored once per head (sigmoid), and once for all
heads with the softmax statistics; every method and aggregation comes from those token scores.
Prints a markdown table; ``--json`` keeps every number.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.qe_bench_common import MODELS, dev_summary, evaluate_dev

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lp", choices=list(MODELS), required=True)
    parser.add_argument("--head", action="append", default=[], metavar="NAME=DIR",
                        help="a head to evaluate ('untrained' for the copy of the embedding)")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "runs" / "score-cache")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--top", type=int, default=0, help="print only the best N rows")
    args = parser.parse_args(argv)
    heads = dict(spec.split("=", 1) for spec in args.head) or {"untrained": "untrained"}
    start = time.time()
    report = evaluate_dev(args.lp, heads, args.cache_dir, args.batch_size)
    report["seconds"] = round(time.time() - start, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"## dev, {args.lp} ({report['counts']['pairs']} pairs scored)\n")
    print(dev_summary(report, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
