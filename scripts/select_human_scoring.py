"""Choose the default scoring (direction, method, weight, aggregation) on human judgments, by a
rule written down before the candidates were looked at (2026-12-07, issue 19).

    python -m benchmarks.human_dev --json runs/human-dev/report.json
    python -m scripts.select_human_scoring runs/human-dev/report.json [--write]

The rule:

1. Candidates: every direction (forward, reverse, both) x token score sigma^a p^(1-a) with
   a in {0 (softmax), 0.25, 0.5, 0.75, 1 (sigmoid)} x aggregation (errors, word-errors, count,
   prod, mean, mean-log) in ``benchmarks/human_dev.py``. One choice serves both directions of
   the offline default: round one has 494 en->pt rows only, too few to choose on alone.
2. Eligible: on the synthetic dev challenge set of *both* pairs, detection >= the forward
   log-prob sum's - 0.005 and alternative tolerance >= the forward softmax mean's.
3. A head-based candidate (a > 0) is eligible only if its criterion (4) is above that of its
   softmax-only twin (a = 0, same direction and aggregation): the head must earn its place.
4. Criterion: the mean Spearman with MQM over the three round-one sets (pt-en MT systems, pt-en
   references, en-pt references). The highest wins; exact ties go to the smaller a, then the
   simpler direction (forward, reverse, both), then the order of aggregations above.

``--write`` stores the choice in both shipped heads' config.json (method, aggregate,
direction, combine_weight).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from benchmarks.candidates import DIRECTIONS, Candidate
from benchmarks.human_dev import AGGREGATES, WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
HEADS = {lp: ROOT / "sigmoid_qe" / "heads" / f"bergamot-{lp}" for lp in ("en-pt", "pt-en")}
SETS = ("pt-en.round1.tsv", "pt-en.round1-refs.tsv", "en-pt.round1-refs.tsv")
DETECTION_SLACK = 0.005


def human(report, name: str) -> float:
    """Mean Spearman over the three round-one sets."""
    return sum(report["biomqm"][s]["results"][name]["spearman"] for s in SETS) / len(SETS)


def synthetic_ok(report, name: str) -> Tuple[bool, float]:
    """(eligible under rule 2, the worst margin to its targets)."""
    margins = []
    for _lp, part in report["synthetic"].items():
        r = part["results"]
        margins.append(r[name]["detection"] - r["forward softmax prod"]["detection"] + DETECTION_SLACK)
        margins.append(r[name]["tolerance"] - r["forward softmax mean"]["tolerance"])
    return all(m >= 0 for m in margins), min(margins)


def choose(report) -> Tuple[Dict[str, object], List[Dict[str, object]]]:
    table = []
    for d_rank, direction in enumerate(DIRECTIONS):
        for weight in WEIGHTS:
            for a_rank, how in enumerate(AGGREGATES):
                name = Candidate.of_weight(direction, weight, how).label
                ok, worst = synthetic_ok(report, name)
                twin = human(report, Candidate.of_weight(direction, 0.0, how).label)
                value = human(report, name)
                beats_twin = weight == 0.0 or value > twin
                table.append({"name": name, "direction": direction, "weight": weight,
                              "aggregate": how, "human": value, "twin": twin,
                              "synthetic_ok": ok, "worst_margin": worst,
                              "eligible": ok and beats_twin,
                              "order": (-value, weight, d_rank, a_rank)})
    eligible = [row for row in table if row["eligible"]]
    if not eligible:
        raise SystemExit("no candidate is eligible: the rule chooses nothing")
    best = min(eligible, key=lambda row: row["order"])
    return best, table


def config_fields(best) -> Dict[str, object]:
    return Candidate.of_weight(best["direction"], best["weight"], best["aggregate"]).config_fields()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="benchmarks/human_dev.py --json output")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    parser.add_argument("--write", action="store_true", help="store the choice in both heads")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    best, table = choose(report)
    table.sort(key=lambda row: row["order"])
    print("| candidate | mean Spearman | softmax twin | synthetic ok | worst margin | eligible |")
    print("|---|---:|---:|---|---:|---|")
    for row in table[:args.top]:
        print(f"| {row['name']} | {row['human']:.4f} | {row['twin']:.4f} | "
              f"{'yes' if row['synthetic_ok'] else 'no'} | {row['worst_margin']:+.4f} | "
              f"{'yes' if row['eligible'] else 'no'} |")
    fields = config_fields(best)
    print(f"\nchosen: {best['name']} (mean Spearman {best['human']:.4f}) -> {fields}")
    if args.write:
        for _lp, directory in HEADS.items():
            path = directory / "config.json"
            config = json.loads(path.read_text(encoding="utf-8"))
            config.pop("combine_weight", None)
            config.update(fields)
            path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
