"""``sigmoid-qe``: score translations against their sources, printed the way comet-score does.

stdout carries only results (``{path}\\tSegment {i}\\tscore: {x:.4f}`` per segment and
``{path}\\tscore: {x:.4f}`` per system), so it can be piped; progress and notices go to stderr.
"""
from __future__ import annotations

import json
import sys
from typing import List, Optional

from ..files import check_output, write_output
from ..version import __version__
from .common import (
    ArgumentParser,
    add_model_arguments,
    add_quiet_argument,
    add_scoring_arguments,
    check_method_arguments,
    run_cli,
    score_systems,
)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe",
        description="Reference-free translation quality estimation with a Sigmoid Head.")
    add_scoring_arguments(parser)
    add_model_arguments(parser)
    add_quiet_argument(parser)
    parser.add_argument("--only-system", action="store_true", help="print system scores only")
    parser.add_argument("--to-json", default=None, metavar="FILE",
                        help="write segment and token scores as JSON (keys: the -t paths; "
                             "'-' = stdout instead of the score lines)")
    parser.add_argument("--version", action="version", version=f"sigmoid-qe {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _score, argv)


def _score(args, files) -> int:
    check_method_arguments(args)
    if args.to_json:
        check_output(args.to_json, [args.sources, *args.translations], "--to-json")
    files["source"] = args.sources
    _, results = score_systems(args, files)
    if args.to_json != "-":
        out = sys.stdout
        for path, result in results.items():
            if not args.only_system:
                for i, value in enumerate(result.scores):
                    out.write(f"{path}\tSegment {i}\tscore: {value:.4f}\n")
            out.write(f"{path}\tscore: {result.system_score:.4f}\n")
        out.flush()
    if args.to_json:
        payload = {path: [seg.to_dict() for seg in result.segments] for path, result in results.items()}
        write_output(args.to_json, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
