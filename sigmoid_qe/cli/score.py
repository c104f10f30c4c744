"""``sigmoid-qe``: score translations against their sources, printed the way comet-score does.

stdout carries only results (``{path}\\tSegment {i}\\tscore: {x:.4f}`` per segment and
``{path}\\tscore: {x:.4f}`` per system), so it can be piped; progress and notices go to stderr.
With ``--spans`` every ``--to-json`` record also gets XCOMET's ``errors``; ``--html`` writes a
page to read, ``--spans-wmt`` a WMT23 QE task-2 file and ``--word-tags`` WMT word-level tags.
"""
from __future__ import annotations

import itertools
import json
import math
import sys
from typing import Dict, List, Optional

from ..distributed import current_context
from ..errors import InputError, OptionError
from ..files import count_lines, iter_lines, zip_lines
from ..off_target import OffTarget, target_language
from ..outputs import JsonObjectWriter, write_output
from ..parallel import scored_chunks
from ..results import ExactSum
from ..resume import (
    ResumableOutputs,
    scoring_identity,
)
from .common import (
    MAX_CHUNK_SIZE,
    ArgumentParser,
    add_model_arguments,
    add_quiet_argument,
    add_scoring_arguments,
    add_term,
    check_distinct_inputs,
    check_method_arguments,
    check_printable_names,
    int_up_to,
    load_from_args,
    notice,
    resumed_notice,
    run_cli,
)
from .preflight import JobRecord, Outputs

#: The --to-json member next to the systems' record arrays: the run's signature (a string).
#: Readers take the systems as the members whose value is a list.
SIGNATURE_KEY = "signature"
#: The outputs, checked before work (:mod:`sigmoid_qe.cli.preflight`).
OUTPUTS = Outputs((("-o", "output"), ("--to-json", "to_json"), ("--to-jsonl", "to_jsonl"),
                   ("--html", "html"), ("--spans-wmt", "spans_wmt"), ("--word-tags", "word_tags")))
#: The options a resumed run must share with the interrupted one (every option but
#: NOT_RESUMED: what only says how to run, not what to write).
RESUME_FIELDS = ("model", "head", "head_key", "allow_other_model", "lp", "device", "precision",
                 "batch_size", "chunk_size", "prompt_style", "prompt_template",
                 "trust_remote_code", "method", "aggregate", "direction", "reverse_model",
                 "reverse_head", "softmax_over", "no_eos", "sources", "translations",
                 "only_system", "output", "to_json", "to_jsonl", "html", "spans", "spans_wmt",
                 "span_threshold", "omissions", "word_tags", "word_tokenization")
NOT_RESUMED = ("resume", "quiet", "version")


def stdout_outputs(args):
    """The outputs that, given as ``-`` (or /dev/stdout), go to stdout instead of the score
    lines (never mixed into them)."""
    return (("--to-json", args.to_json), ("--to-jsonl", args.to_jsonl), ("--html", args.html),
            ("--spans-wmt", args.spans_wmt), ("--word-tags", args.word_tags))


def span_threshold(text: str):
    """"0.3" (minor; major = the method's floor) or "0.3,0.1" (minor, major)."""
    import argparse
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MINOR or MINOR,MAJOR, got {text!r}") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected MINOR or MINOR,MAJOR, got {text!r}")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be finite numbers, got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe",
        description="Reference-free translation quality estimation with a Sigmoid Head.")
    add_scoring_arguments(parser)
    add_model_arguments(parser)
    add_quiet_argument(parser)
    parser.add_argument("--only-system", action="store_true", help="print system scores only")
    add_term(parser, "output", default=None,
                        help="write the score lines to FILE instead of stdout")
    add_term(parser, "to_json", default=None,
                        help="write segment and token scores as JSON (keys: the -t paths, and "
                             "'signature'; '-' = stdout instead of the score lines)")
    parser.add_argument("--to-jsonl", default=None, metavar="FILE",
                        help="one JSON object per segment (with its system and index)")
    big = parser.add_argument_group("long jobs")
    big.add_argument("--chunk-size", type=int_up_to(MAX_CHUNK_SIZE), default=1000, metavar="PAIRS",
                     help="pairs read, scored and written at a time (default 1000)")
    big.add_argument("--resume", action="store_true",
                     help="continue an interrupted run of the same command (outputs to files)")
    spans = parser.add_argument_group("where the errors are")
    spans.add_argument("--spans", action="store_true",
                       help="error spans from the head's span model (in --to-json records as "
                            "'errors'; omitted source words as 'source_errors')")
    spans.add_argument("--span-threshold", type=span_threshold, default=None, metavar="MINOR[,MAJOR]",
                       help="spans of the method's token scores below these thresholds instead "
                            "(default: the head's span model)")
    spans.add_argument("--no-omissions", dest="omissions", action="store_const", const=False,
                       default=None, help="with --spans, skip the reverse model's search for "
                                          "source words the translation leaves out")
    spans.add_argument("--html", default=None, metavar="FILE",
                       help="a self-contained page: token scores as colours, error spans marked")
    spans.add_argument("--spans-wmt", default=None, metavar="FILE",
                       help="error spans as a WMT23 QE task-2 file (first -t file)")
    spans.add_argument("--word-tags", default=None, metavar="FILE",
                       help="OK/BAD per word, MLQE-PE task2_wordlevel_mt.tags layout (first -t file)")
    spans.add_argument("--word-tokenization", default=None, metavar="FILE",
                       help="the words to tag, one tokenised line per translation (default: "
                            "whitespace-delimited words)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _score, argv)


def _check(args) -> Dict[str, int]:
    """Every option, output path and input line, before any model is loaded: returns the
    line count of each input (a reading pass that decodes every line, so that a bad byte or
    a missing line fails now rather than hours into the job)."""
    check_method_arguments(args)
    _check_span_options(args)
    _check_translation_spans(args, args.direction)
    OUTPUTS.stdout_aliases(args)
    on_stdout = [flag for flag, value in stdout_outputs(args) if value == "-"]
    if on_stdout and args.output:
        raise OptionError(f"{on_stdout[0]} - replaces the score lines on stdout: leave out -o")
    if args.resume and not args.output and not on_stdout:
        raise OptionError("--resume writes its results to files: give -o FILE for the score lines")
    if args.resume and args.html:
        raise OptionError("--html is drawn from the whole run at its end and cannot be resumed: "
                          "leave it out (or score without --resume)")
    inputs = [args.sources, *args.translations]
    _check_json_keys(args)
    check_distinct_inputs(args.translations, "-t")
    check_printable_names(args.translations, "-t")
    OUTPUTS.check(args, inputs, lambda m: notice(args, m), also_read=[args.word_tokenization])
    counts = {path: count_lines(path) for path in inputs}
    for path in args.translations:
        if counts[path] != counts[args.sources]:
            raise InputError(f"has {counts[path]} lines but {args.sources} has "
                             f"{counts[args.sources]}", path)
    if args.word_tokenization:
        words = count_lines(args.word_tokenization, allow_empty=True)
        if words != counts[args.translations[0]]:
            raise InputError(f"has {words} lines but {args.translations[0]} has "
                             f"{counts[args.translations[0]]}", args.word_tokenization)
    return counts


def _check_translation_spans(args, direction: Optional[str]) -> None:
    """--spans-wmt and --word-tags mark the translation's words; ``reverse`` scores only the
    source, so they would say "no error" of words nobody assessed: refused."""
    wanted = [flag for flag, value in (("--spans-wmt", args.spans_wmt),
                                       ("--word-tags", args.word_tags)) if value]
    if direction == "reverse" and wanted:
        raise OptionError(f"{wanted[0]} marks errors in the translation, which --direction "
                          "reverse does not assess (it scores the source): use --direction "
                          "both or forward")


def _check_span_options(args) -> None:
    wants_spans = bool(args.html or args.spans_wmt or args.word_tags)
    if args.span_threshold is not None and not (args.spans or wants_spans):
        raise OptionError("--span-threshold goes with --spans, --html, --spans-wmt or --word-tags")
    if args.word_tokenization and not args.word_tags:
        raise OptionError("--word-tokenization goes with --word-tags")


def _check_json_keys(args) -> None:
    """A -t path that would collide with the --to-json signature member is refused."""
    if SIGNATURE_KEY in args.translations and args.to_json:
        raise InputError(f"--to-json names its signature member {SIGNATURE_KEY!r}: give this file "
                         "another name (or a path such as ./signature)", SIGNATURE_KEY)


def _score(args, files) -> int:
    counts = _check(args)
    args.spans = args.spans or bool(args.html or args.spans_wmt or args.word_tags)
    files["source"] = args.sources
    head = list(itertools.islice(iter_lines(args.sources), 100))
    model = load_from_args(args, head, list(itertools.islice(iter_lines(args.translations[0]), 100)))
    if args.direction is None:  # the head's direction, known now
        _check_translation_spans(args, model.default_direction)
    unused = [flag for flag, value in (("--reverse-model", args.reverse_model),
                                       ("--reverse-head", args.reverse_head)) if value]
    if unused and (args.direction or model.default_direction) == "forward":
        import warnings

        from ..errors import SigmoidQEWarning
        warnings.warn(SigmoidQEWarning(f"{' and '.join(unused)} not used: the direction is "
                                       "forward (give --direction reverse or both)"), stacklevel=2)
    context = current_context()
    signature = str(model.signature(args.method, args.aggregate, direction=args.direction))
    lines_to = (None if any(value == "-" for _, value in stdout_outputs(args))
                else (args.output or "-"))
    paths = {"lines": lines_to, "json": args.to_json, "jsonl": args.to_jsonl,
             "spans": args.spans_wmt, "tags": args.word_tags}
    key = JobRecord.from_args("score", args, [args.sources, *args.translations,
                                              args.word_tokenization],
                              RESUME_FIELDS).resume_key()
    scoring = scoring_identity(model, signature, args.direction or model.default_direction)
    outputs = ResumableOutputs(paths if context.is_main else {}, key, args.resume,
                               scoring=scoring)
    pages: Dict[str, list] = {}
    with outputs:
        progress = outputs.progress
        if context.active:  # every rank resumes where rank 0 left off
            progress = context.gather_objects(progress)[0]
        job = _Job(args, model, outputs, progress, pages, signature)
        if job.resumed and context.is_main:
            notice(args, job.resumed_notice(counts))
        job.run(context, files, counts)
    if args.html and context.is_main:
        from ..report_html import render
        from ..results import QEResult
        method, aggregate = model.scoring(args.method, args.aggregate)
        results = {p: QEResult(segs, method, aggregate, signature) for p, segs in pages.items()}
        floor = model.score_floor(method)
        sources = [seg.source for seg in next(iter(results.values())).segments]
        # with the span model the page shades what it marks; else tokens below the threshold
        threshold = (None if args.span_threshold is None and model.span_model() is not None
                     else model.span_thresholds(method, args.span_threshold).minor)
        write_output(args.html, render(results, sources, low=floor, high=0.0 if floor < 0 else 1.0,
                                       languages=job.languages,
                                       expected=job.off_target.expected, threshold=threshold))
    if context.is_main:
        job.off_target.report("; their scores are the model's, see the records' 'lang'")
        notice(args, f"signature: {signature}")
    return 0


class _Job:
    """The scoring loop: systems one after the other, each streamed in chunks; after every
    chunk the outputs are checkpointed (see :mod:`sigmoid_qe.resume`)."""

    def __init__(self, args, model, outputs, progress: Optional[dict], pages: Dict[str, list],
                 signature: str = ""):
        self.args, self.model, self.outputs, self.pages = args, model, outputs, pages
        self.signature = signature
        self.off_target = OffTarget(target_language(model.backend.lp))
        #: per system: (language, off-target) of each translation, for the HTML report
        self.languages: Dict[str, list] = {}
        self.state = progress or {"system": 0, "done": 0, "sum": [], "json": None}
        self.resumed = progress is not None

    def resumed_notice(self, counts: Dict[str, int]) -> str:
        """How many pairs (over every -t file) an earlier run finished, and where this one
        goes on."""
        systems = self.args.translations
        k = min(self.state["system"], len(systems) - 1)
        line = self.state["done"] if self.state["system"] < len(systems) else counts[systems[k]]
        done = sum(counts[path] for path in systems[:k]) + line
        return resumed_notice(done, sum(counts[path] for path in systems), systems[k], line)

    def run(self, context, files, counts: Dict[str, int]) -> None:
        args, out = self.args, self.outputs
        json_out = out.get("json")
        writer = None
        if json_out is not None:
            writer = (JsonObjectWriter.resumed(json_out, self.state["json"]) if self.resumed
                      else JsonObjectWriter(json_out, {SIGNATURE_KEY: self.signature}))
        if out.get("spans") is not None and not self.resumed:
            disk, parameters = self.model.footprint()
            out["spans"].write(f"{disk}\n{parameters}\n1\n")
        method = args.method or self.model.default_method
        lp = self.model.backend.lp or "xx-xx"
        for k, path in enumerate(args.translations):
            if k < self.state["system"]:
                continue
            files["translation"] = path
            skip = self.state["done"] if k == self.state["system"] else 0
            if writer is not None and not (self.resumed and skip):
                writer.array(path)
            total = ExactSum(self.state["sum"] if skip else ())
            pairs = zip_lines(args.sources, path, expected=counts[path])
            tokenized = (iter_lines(args.word_tokenization, allow_empty=True)
                         if k == 0 and args.word_tokenization else None)
            if tokenized is not None:
                for _ in itertools.islice(tokenized, skip):
                    pass
            for start, segments in scored_chunks(
                    self.model, pairs, args.chunk_size, context, skip,
                    progress=False if args.quiet else None, total=counts[path],
                    method=args.method, aggregate=args.aggregate, spans=args.spans,
                    span_threshold=args.span_threshold,
                    **({"omissions": False} if args.omissions is False else {})):
                if segments is None:
                    continue
                for i, segment in enumerate(segments, start):
                    total.add(segment.score)
                    self._write_segment(k, path, i, segment, writer, method, lp, tokenized)
                self.state.update(system=k, done=start + len(segments), sum=total.partials,
                                  json=writer.state() if writer else None)
                out.checkpoint(self.state)
            if not context.is_main:
                continue
            if out.get("lines") is not None:
                out["lines"].write(f"{path}\tscore: {total.value() / counts[path]:.4f}\n")
            self.state.update(system=k + 1, done=0, sum=[], json=writer.state() if writer else None)
            out.checkpoint(self.state)
        if writer is not None:
            writer.close()

    def _write_segment(self, k: int, path: str, i: int, segment, writer, method: str, lp: str,
                       tokenized) -> None:
        args, out = self.args, self.outputs
        if out.get("lines") is not None and not args.only_system:
            out["lines"].write(f"{path}\tSegment {i}\tscore: {segment.score:.4f}\n")
        record = segment.to_dict()
        lang, off = self.off_target.check(f"{path}:{i + 1}", segment.hypothesis)
        record.update(lang=lang, off_target=off)
        if writer is not None:
            writer.add(record)
        if out.get("jsonl") is not None:
            out["jsonl"].write(json.dumps({"system": path, "segment": i, **record},
                                          ensure_ascii=False) + "\n")
        if args.html:
            self.pages.setdefault(path, []).append(segment)
            self.languages.setdefault(path, []).append((lang, off))
        if k != 0:
            return
        if out.get("spans") is not None:
            out["spans"].write(wmt_task2_line(segment, i, lp, f"sigmoid-qe-{method}") + "\n")
        if out.get("tags") is not None:
            words = next(tokenized).split() if tokenized is not None else None
            out["tags"].write("".join(line + "\n" for line in word_tag_lines(
                self.model, segment, i, lp, method, args.span_threshold, words)))


def wmt_task2_line(segment, index: int, lp: str, method_name: str) -> str:
    """One line of a WMT23 QE task-2 submission (after its footprint, parameters and
    ensemble-size lines): LP, METHOD, SEGMENT, MT, starts, ends, types (-1 -1 no-error when
    there is none)."""
    errors = segment.errors or []
    if errors:
        starts = " ".join(str(e.start) for e in errors)
        ends = " ".join(str(e.end) for e in errors)
        kinds = " ".join(e.severity for e in errors)
    else:
        starts, ends, kinds = "-1", "-1", "no-error"
    mt = segment.hypothesis.replace("\t", " ")
    return "\t".join([lp, method_name, str(index), mt, starts, ends, kinds])


def word_tag_lines(model, segment, index: int, lp: str, method: str, span_threshold,
                   words: Optional[List[str]]) -> List[str]:
    """One line per word: LP, METHOD, mt, SEGMENT, WORD INDEX, WORD, TAG."""
    from ..methods import METHOD_TABLE, orient
    from ..spans import align_words, word_spans, word_tags
    statistic = METHOD_TABLE[method].statistic
    eos = model.backend.eos_token_id
    text = segment.hypothesis
    if words is not None:
        spans = align_words(text, words)
        if words and not any(word in text for word in words):
            import warnings

            from ..errors import InputWarning
            warnings.warn(InputWarning("no word of its --word-tokenization line is in the "
                                       "translation: is that file aligned with -t?",
                                       "translation", index), stacklevel=2)
    else:
        spans = word_spans(text)
        words = [text[s:e] for s, e in spans]
    if segment.errors is not None:  # the spans that were written: a word inside one is BAD
        marked = [(e.start, e.end) for e in segment.errors if e.start < e.end]
        tags = ["BAD" if any(a < e and b > s for a, b in marked) else "OK" for s, e in spans]
    else:
        values = orient(method, [getattr(t, statistic) for t in segment.tokens])
        tags = word_tags(text, spans, [(t.start, t.end) for t in segment.tokens], values,
                         [t.token_id == eos for t in segment.tokens],
                         model.span_thresholds(method, span_threshold))
    return ["\t".join([lp, f"sigmoid-qe-{method}", "mt", str(index), str(k), word, tag])
            for k, (word, tag) in enumerate(zip(words, tags))]


if __name__ == "__main__":
    sys.exit(main())
