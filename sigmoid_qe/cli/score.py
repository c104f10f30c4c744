"""``sigmoid-qe``: score translations against their sources, printed the way comet-score does.

stdout carries only results (``{path}\\tSegment {i}\\tscore: {x:.4f}`` per segment and
``{path}\\tscore: {x:.4f}`` per system), so it can be piped; progress and notices go to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .common import add_model_arguments, add_scoring_arguments, run_cli, score_systems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigmoid-qe",
        description="Reference-free translation quality estimation with a Sigmoid Head.")
    add_scoring_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--only-system", action="store_true", help="print system scores only")
    parser.add_argument("--to-json", default=None, metavar="FILE",
                        help="write segment and token scores as JSON (keys: the -t paths)")
    from ..version import __version__
    parser.add_argument("--version", action="version", version=f"sigmoid-qe {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: _score(args))


def _score(args) -> int:
    from ..textio import write_atomically
    _, results = score_systems(args)
    out = sys.stdout
    for path, result in results.items():
        if not args.only_system:
            for i, value in enumerate(result.scores):
                out.write(f"{path}\tSegment {i}\tscore: {value:.4f}\n")
        out.write(f"{path}\tscore: {result.system_score:.4f}\n")
    out.flush()
    if args.to_json:
        payload = {path: [seg.to_dict() for seg in result.segments] for path, result in results.items()}
        write_atomically(args.to_json, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
