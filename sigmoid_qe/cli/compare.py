"""``sigmoid-qe-compare``: are two systems' QE scores really different?

Scores every ``-t`` system with one model load, then runs sacrebleu's paired bootstrap over
the segment scores (1000 resamples, seed 12345): each system's mean with its 95% interval,
and the p-value against the first system (the baseline).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ..significance import DEFAULT_SAMPLES, DEFAULT_SEED, paired_bootstrap
from .common import add_model_arguments, add_scoring_arguments, run_cli, score_systems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigmoid-qe-compare",
        description="Paired bootstrap test between systems' Sigmoid-QE scores (first = baseline).")
    add_scoring_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--n-samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: _compare(args))


def _compare(args) -> int:
    from ..errors import SigmoidQEError
    if len(args.translations) < 2:
        raise SigmoidQEError("give at least two systems with -t (the first is the baseline)")
    model, scored = score_systems(args)
    scores = {path: result.scores for path, result in scored.items()}
    results = paired_bootstrap(scores, n_samples=args.n_samples, seed=args.seed)
    print(f"system\tscore\tbootstrap mean ± 95% CI\tp-value (vs {results[0].name})")
    for r in results:
        p = "-" if r.p_value is None else f"{r.p_value:.4f}"
        print(f"{r.name}\t{r.score:.4f}\t{r.mean:.4f} ± {r.ci:.4f}\t{p}")
    print(f"# {model.signature(args.method, args.aggregate)}|bs:{args.n_samples}|rs:{args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
