"""``sigmoid-qe-filter``: keep the parallel pairs whose translation the model trusts.

Input: ``-s SRC -t TGT`` (aligned lines) or ``--tsv FILE`` (``source<TAB>target`` lines).
Output: the kept pairs as ``source<TAB>target`` lines on stdout (or ``-o``), in input order;
``--dropped FILE`` gets the others as ``line<TAB>score<TAB>source<TAB>target``.

* ``--threshold X`` keeps the pairs scoring at least X, in one streaming pass.
* ``--keep-top P%`` keeps exactly round(P% x pairs) pairs, the best by score over the whole
  corpus (ties: the earlier line). It takes two passes over the input: the first scores every
  pair and stores the scores only (8 bytes a pair, in a temporary file), the second writes.

The input is read in chunks, never whole. Pairs whose languages look swapped against the
model's direction are counted and reported in one warning at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..errors import InputError, OptionError, SigmoidQEWarning
from ..files import check_output, iter_lines, open_output
from ..version import __version__
from .common import (
    ArgumentParser,
    add_method_arguments,
    add_model_arguments,
    add_quiet_argument,
    check_method_arguments,
    load_from_args,
    positive_int,
    run_cli,
)

#: Line numbers quoted in the swapped-languages warning.
EXAMPLES = 5


def percentage(text: str) -> float:
    """"10%" or "10" -> 10.0, in (0, 100]."""
    try:
        value = float(text[:-1] if text.endswith("%") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 10%, got {text!r}") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"must be in (0, 100], got {text!r}")
    return value


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe-filter",
        description="Filter a parallel corpus by reference-free translation quality.")
    parser.add_argument("-s", "--sources", default=None, metavar="FILE")
    parser.add_argument("-t", "--targets", default=None, metavar="FILE")
    parser.add_argument("--tsv", default=None, metavar="FILE",
                        help="one file of source<TAB>target lines instead of -s/-t")
    keep = parser.add_mutually_exclusive_group(required=True)
    keep.add_argument("--threshold", type=float, default=None, metavar="X",
                      help="keep the pairs scoring at least X")
    keep.add_argument("--keep-top", type=percentage, default=None, metavar="P%",
                      help="keep exactly the best P%% of the pairs")
    add_method_arguments(parser, "do not score the end-of-sentence token after the target")
    parser.add_argument("-o", "--output", default="-", metavar="FILE",
                        help="kept pairs, source<TAB>target (default stdout)")
    parser.add_argument("--dropped", default=None, metavar="FILE",
                        help="dropped pairs: line<TAB>score<TAB>source<TAB>target")
    parser.add_argument("--chunk-size", type=positive_int, default=1000, metavar="PAIRS",
                        help="pairs scored at a time (default 1000)")
    add_model_arguments(parser)
    add_quiet_argument(parser)
    parser.add_argument("--version", action="version", version=f"sigmoid-qe {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _filter, argv)


def iter_pairs(args) -> Iterator[Tuple[str, str]]:
    """(source, target) pairs, streamed from -s/-t or --tsv; a tab inside a text (which the
    TSV outputs could not hold) and a line-count mismatch are errors naming file and line."""
    if args.tsv is not None:
        for number, line in enumerate(iter_lines(args.tsv), start=1):
            fields = line.split("\t")
            if len(fields) != 2:
                raise InputError(f"expected source<TAB>target, found {len(fields)} field(s)",
                                 args.tsv, number)
            yield fields[0], fields[1]
        return
    targets = iter_lines(args.targets)
    number = 0
    for number, source in enumerate(iter_lines(args.sources), start=1):
        target = next(targets, None)
        if target is None:
            raise InputError(f"has {number - 1} lines but {args.sources} has more", args.targets)
        for text, path in ((source, args.sources), (target, args.targets)):
            if "\t" in text:
                raise InputError("contains a tab, which the source<TAB>target output cannot "
                                 "hold", path, number)
        yield source, target
    if next(targets, None) is not None:
        raise InputError(f"has more lines than {args.sources} ({number})", args.targets)


def _check(args) -> int:
    """Options, outputs and the whole input (one reading pass) before the model loads."""
    check_method_arguments(args)
    if args.tsv is not None and (args.sources or args.targets):
        raise OptionError("give --tsv FILE or -s SRC -t TGT, not both")
    if args.tsv is None and not (args.sources and args.targets):
        raise OptionError("give -s SRC -t TGT, or --tsv FILE")
    inputs = [p for p in (args.sources, args.targets, args.tsv) if p]
    if args.dropped is not None and args.dropped == args.output:
        raise OptionError("-o and --dropped go to the same file")
    check_output(args.output, inputs, "-o")
    if args.dropped:
        check_output(args.dropped, inputs, "--dropped")
    return sum(1 for _ in iter_pairs(args))


def kept_count(total: int, percent: float) -> int:
    """round(percent% of total), halves rounded up."""
    return int(np.floor(total * percent / 100 + 0.5))


class _Swaps:
    """Pairs whose languages look the other way round from the model's direction."""

    def __init__(self, lp: Optional[str]):
        from ..languages import split_lp
        src, tgt = split_lp(lp) if lp else (None, None)
        self.src, self.tgt = src, tgt
        self.lines: List[int] = []
        self.count = 0

    def check(self, line: int, source: str, target: str) -> None:
        from ..default_model import guess_language
        if self.src is None:
            return
        if guess_language([source]) == self.tgt and guess_language([target]) == self.src:
            self.count += 1
            if len(self.lines) < EXAMPLES:
                self.lines.append(line)

    def report(self) -> None:
        import warnings
        if self.count:
            where = ", ".join(str(n) for n in self.lines) + (", ..." if self.count > EXAMPLES else "")
            warnings.warn(SigmoidQEWarning(
                f"{self.count} pair(s) look swapped ({self.tgt} source, {self.src} target, but "
                f"the model translates {self.src}-{self.tgt}): lines {where}"), stacklevel=2)


def _filter(args, files) -> int:
    total = _check(args)
    files["source"] = args.tsv or args.sources
    files["translation"] = args.tsv or args.targets
    head = [pair for _, pair in zip(range(100), iter_pairs(args))]
    model = load_from_args(args, [s for s, _ in head], [t for _, t in head])
    swaps = _Swaps(model.backend.lp)

    def scored() -> Iterator[Tuple[int, float, str, str]]:
        pairs = iter_pairs(args)
        segments = model.iter_score(pairs, method=args.method, aggregate=args.aggregate,
                                    chunk_size=args.chunk_size,
                                    progress=False if args.quiet else None, total=total)
        for line, segment in enumerate(segments, start=1):
            swaps.check(line, segment.source, segment.hypothesis)
            yield line, segment.score, segment.source, segment.hypothesis

    with contextlib.ExitStack() as stack:
        if args.keep_top is None:
            decisions = ((line, score, src, tgt, score >= args.threshold)
                         for line, score, src, tgt in scored())
        else:
            scores_path = stack.enter_context(_scores_file())
            with open(scores_path, "wb") as stored:
                for _, score, _, _ in scored():
                    stored.write(np.float64(score).tobytes())
            decisions = _top(args, scores_path, kept_count(total, args.keep_top))
        out = stack.enter_context(open_output(args.output))
        dropped = stack.enter_context(open_output(args.dropped)) if args.dropped else None
        for line, score, src, tgt, keep in decisions:
            if keep:
                out.write(f"{src}\t{tgt}\n")
            elif dropped is not None:
                dropped.write(f"{line}\t{score:.6f}\t{src}\t{tgt}\n")
    swaps.report()
    return 0


def _top(args, scores_path: str, k: int) -> Iterator[Tuple[int, float, str, str, bool]]:
    """Second pass of --keep-top: exactly ``k`` kept, the highest scores, earlier lines first
    among equal scores."""
    scores = np.fromfile(scores_path, dtype=np.float64)
    if k == 0:
        cut, above = np.inf, 0
    else:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th highest
        above = int((scores > cut).sum())
    ties_left = k - above
    for line, ((src, tgt), score) in enumerate(zip(iter_pairs(args), scores), start=1):
        keep = score > cut
        if not keep and score == cut and ties_left > 0:
            keep, ties_left = True, ties_left - 1
        yield line, float(score), src, tgt, bool(keep)


@contextlib.contextmanager
def _scores_file() -> Iterator[str]:
    handle, path = tempfile.mkstemp(prefix="sigmoid-qe-filter.", suffix=".f64")
    os.close(handle)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
