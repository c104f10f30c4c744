"""``sigmoid-qe``: score translations against their sources, printed the way comet-score does.

stdout carries only results (``{path}\\tSegment {i}\\tscore: {x:.4f}`` per segment and
``{path}\\tscore: {x:.4f}`` per system), so it can be piped; progress and notices go to stderr.
With ``--spans`` every ``--to-json`` record also gets XCOMET's ``errors``; ``--html`` writes a
page to read, ``--spans-wmt`` a WMT23 QE task-2 file and ``--word-tags`` WMT word-level tags.
"""
from __future__ import annotations

import json
import sys
from typing import List, Optional

from ..errors import InputError, OptionError
from ..files import check_output, read_lines, write_output
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


def span_threshold(text: str):
    """"0.3" (minor; major = the method's floor) or "0.3,0.1" (minor, major)."""
    import argparse
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MINOR or MINOR,MAJOR, got {text!r}") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected MINOR or MINOR,MAJOR, got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


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
    spans = parser.add_argument_group("where the errors are")
    spans.add_argument("--spans", action="store_true",
                       help="error spans from the token scores (in --to-json records as 'errors')")
    spans.add_argument("--span-threshold", type=span_threshold, default=None, metavar="MINOR[,MAJOR]",
                       help="token-score thresholds of error spans (default: the head's calibration)")
    spans.add_argument("--html", default=None, metavar="FILE",
                       help="a self-contained page: token scores as colours, error spans marked")
    spans.add_argument("--spans-wmt", default=None, metavar="FILE",
                       help="error spans as a WMT23 QE task-2 file (first -t file)")
    spans.add_argument("--word-tags", default=None, metavar="FILE",
                       help="OK/BAD per word, MLQE-PE task2_wordlevel_mt.tags layout (first -t file)")
    spans.add_argument("--word-tokenization", default=None, metavar="FILE",
                       help="the words to tag, one tokenised line per translation (default: "
                            "whitespace-delimited words)")
    parser.add_argument("--version", action="version", version=f"sigmoid-qe {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _score, argv)


def _check(args) -> Optional[List[List[str]]]:
    """Every option and output path, before any model is loaded."""
    check_method_arguments(args)
    wants_spans = bool(args.html or args.spans_wmt or args.word_tags)
    if args.span_threshold is not None and not (args.spans or wants_spans):
        raise OptionError("--span-threshold goes with --spans, --html, --spans-wmt or --word-tags")
    if args.word_tokenization and not args.word_tags:
        raise OptionError("--word-tokenization goes with --word-tags")
    inputs = [args.sources, *args.translations]
    targets = [p for p in (args.to_json, args.html, args.spans_wmt, args.word_tags) if p]
    if len(set(targets)) != len(targets):
        raise OptionError("two outputs go to the same file")
    for path, flag in ((args.to_json, "--to-json"), (args.html, "--html"),
                       (args.spans_wmt, "--spans-wmt"), (args.word_tags, "--word-tags")):
        if path:
            check_output(path, inputs, flag)
    if not args.word_tokenization:
        return None
    lines = read_lines(args.word_tokenization, allow_empty=True)
    if len(lines) != len(read_lines(args.translations[0])):
        raise InputError(f"has {len(lines)} lines but {args.translations[0]} has a different "
                         f"number", args.word_tokenization)
    return [line.split() for line in lines]


def _score(args, files) -> int:
    tokenized = _check(args)
    args.spans = args.spans or bool(args.html or args.spans_wmt or args.word_tags)
    files["source"] = args.sources
    model, results = score_systems(args, files)
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
    if args.html:
        from ..report_html import render
        floor = model.score_floor(next(iter(results.values())).method)
        sources = [s.source for s in next(iter(results.values())).segments]
        write_output(args.html, render(results, sources, low=floor,
                                       high=0.0 if floor < 0 else 1.0))
    first = next(iter(results.values()))
    lp = model.backend.lp or "xx-xx"
    if args.spans_wmt:
        write_output(args.spans_wmt, wmt_task2_text(first, lp, f"sigmoid-qe-{first.method}",
                                                    *model.footprint()))
    if args.word_tags:
        write_output(args.word_tags, word_tag_text(model, first, lp, args, tokenized))
    return 0


def wmt_task2_text(result, lp: str, method_name: str, disk_bytes: int, parameters: int) -> str:
    """A WMT23 QE task-2 submission: footprint, parameters, ensemble size, then per segment
    LP, METHOD, SEGMENT, MT, starts, ends, types (-1 -1 no-error when there is none)."""
    lines = [str(disk_bytes), str(parameters), "1"]
    for i, segment in enumerate(result.segments):
        errors = segment.errors or []
        if errors:
            starts = " ".join(str(e.start) for e in errors)
            ends = " ".join(str(e.end) for e in errors)
            kinds = " ".join(e.severity for e in errors)
        else:
            starts, ends, kinds = "-1", "-1", "no-error"
        mt = segment.hypothesis.replace("\t", " ")
        lines.append("\t".join([lp, method_name, str(i), mt, starts, ends, kinds]))
    return "\n".join(lines) + "\n"


def word_tag_text(model, result, lp: str, args, tokenized: Optional[List[List[str]]]) -> str:
    """One line per word: LP, METHOD, mt, SEGMENT, WORD INDEX, WORD, TAG."""
    from ..methods import METHOD_TABLE, orient
    from ..spans import align_words, word_spans, word_tags
    thresholds = model.span_thresholds(result.method, args.span_threshold)
    statistic = METHOD_TABLE[result.method].statistic
    eos = model.backend.eos_token_id
    lines = []
    for i, segment in enumerate(result.segments):
        text = segment.hypothesis
        if tokenized is not None:
            words = tokenized[i]
            spans = align_words(text, words)
        else:
            spans = word_spans(text)
            words = [text[s:e] for s, e in spans]
        values = orient(result.method, [getattr(t, statistic) for t in segment.tokens])
        tags = word_tags(text, spans, [(t.start, t.end) for t in segment.tokens], values,
                         [t.token_id == eos for t in segment.tokens], thresholds)
        lines.extend("\t".join([lp, f"sigmoid-qe-{result.method}", "mt", str(i), str(k), word, tag])
                     for k, (word, tag) in enumerate(zip(words, tags)))
    return "\n".join(lines) + ("\n" if lines else "")


if __name__ == "__main__":
    sys.exit(main())
