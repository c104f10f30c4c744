"""The dev table: every head, method and aggregation on the dev challenge set (never a test set).

    python scripts/dev_eval.py --lp en-pt --head base=runs/screen/en-pt/base --head ... \\
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
import math
import sys
import time
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from heads_data import dev_items  # noqa: E402
from qe_bench_common import MODELS, evaluate_items, markdown_table  # noqa: E402


def evaluate(lp: str, heads: Dict[str, str], cache_dir: Path, batch_size: int = 32,
             seed: int = 0) -> Dict[str, object]:
    """The dev table of ``heads`` (name -> directory or "untrained")."""
    detection, tolerance = dev_items(lp, seed)
    return evaluate_items(lp, heads, detection, tolerance, cache_dir, batch_size)


def summary(report: Dict[str, object], top: int = 0) -> str:
    rows = []
    for label, r in report["results"].items():
        d, t = r["detection"], r["tolerance"]
        rows.append([label, d["all"], d["mean"], d["untranslated"], d["deletion"], t["both"]])
    rows.sort(key=lambda row: -(row[1] if not math.isnan(row[1]) else -1))
    if top:
        rows = rows[:top]
    return markdown_table(["method", "detection all", "mean of kinds", "untranslated", "deletion",
                           "tolerance both"], rows)


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
    report = evaluate(args.lp, heads, args.cache_dir, args.batch_size)
    report["seconds"] = round(time.time() - start, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"## dev, {args.lp} ({report['counts']['pairs']} pairs scored)\n")
    print(summary(report, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
