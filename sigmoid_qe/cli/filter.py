"""``sigmoid-qe-filter``: keep the parallel pairs whose translation the model trusts.

Input: ``-s SRC -t TGT`` (aligned lines) or ``--tsv FILE`` (``source<TAB>target`` lines).
Output: the kept pairs as ``source<TAB>target`` lines on stdout (or ``-o``), in input order;
``--dropped FILE`` gets the others as ``line<TAB>score<TAB>source<TAB>target``.

The score is the mean sigmoid token score in both directions (the opposite model also scores
the source given the target) unless ``--method``/``--aggregate``/``--direction`` say otherwise
(:data:`sigmoid_qe.filtering.FILTER_SCORING`, ``FILTER_DIRECTION``: length-independent, and
the best on dev noise).

* ``--threshold X`` keeps the pairs scoring at least X, in one streaming pass.
* ``--keep-top P%`` keeps exactly round(P% x pairs) pairs, the best by score over the whole
  corpus (ties: the earlier line). It takes two passes over the input: the first scores every
  pair and stores the scores only (16 bytes a pair: score and off-target flag, in a temporary
  file), the second writes; off-target pairs are never among the kept.

The input is read in chunks, never whole. Pairs whose languages look swapped against the
model's direction are counted and reported in one warning at the end. Pairs whose target is
clearly not in the model's target language (off-target output, or a source copied untranslated;
:func:`sigmoid_qe.languages.detect`) are dropped whatever their score, and counted in one
warning; ``--keep-off-target`` leaves them to the score.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..distributed import current_context
from ..errors import InputError, OptionError, SigmoidQEWarning
from ..files import (
    check_unchanged,
    chunks,
    iter_lines,
    stdin_buffer,
    zip_lines,
)
from ..filtering import (
    FILTER_DIRECTION,
    FILTER_SCORING,
    Decision,
    Watch,
    apply_default_direction,
    decide_chunks,
    filter_scoring,
    kept_count,
    top_decisions,
)
from ..off_target import OffTarget, target_language
from ..parallel import sharded_segments
from ..resume import (
    ResumableOutputs,
    job_key,
    scoring_identity,
)
from .common import (
    MAX_CHUNK_SIZE,
    ArgumentParser,
    add_method_arguments,
    add_model_arguments,
    add_quiet_argument,
    add_term,
    check_distinct_inputs,
    check_method_arguments,
    finite_float,
    int_up_to,
    load_from_args,
    notice,
    resumed_notice,
    run_cli,
)
from .preflight import JobRecord, Outputs

#: With --resume, --keep-top keeps its scores in OUTPUT + this until the job is done.
SCORES_SUFFIX = ".scores.f64"
#: The outputs, checked before work (:mod:`sigmoid_qe.cli.preflight`).
OUTPUTS = Outputs((("-o", "output"), ("--dropped", "dropped")))
#: The options a resumed run must share with the interrupted one (every option but
#: NOT_RESUMED).
RESUME_FIELDS = ("model", "head", "head_key", "allow_other_model", "lp", "device", "precision",
                 "batch_size", "chunk_size", "prompt_style", "prompt_template",
                 "trust_remote_code", "method", "aggregate", "direction", "reverse_model",
                 "reverse_head", "softmax_over", "no_eos", "sources", "targets", "tsv",
                 "threshold", "keep_top", "keep_off_target", "output", "dropped")
NOT_RESUMED = ("resume", "quiet", "version", "score_only")


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
    parser.add_argument("-s", "--sources", default=None, metavar="FILE",
                        help="the corpus's source side, one sentence a line")
    parser.add_argument("-t", "--targets", default=None, metavar="FILE",
                        help="its target side, line by line (or --tsv)")
    parser.add_argument("--tsv", default=None, metavar="FILE",
                        help="one file of source<TAB>target lines instead of -s/-t")
    keep = parser.add_mutually_exclusive_group(required=True)
    keep.add_argument("--threshold", type=finite_float, default=None, metavar="X",
                      help="keep the pairs scoring at least X")
    keep.add_argument("--keep-top", type=percentage, default=None, metavar="P%",
                      help="keep exactly the best P%% of the pairs")
    keep.add_argument("--score-only", action="store_true",
                      help="print one score per pair instead, streaming source<TAB>target "
                           "lines from stdin (or --tsv, -s/-t): OpusCleaner's threshold.py "
                           "contract; an off-target pair scores -inf unless --keep-off-target")
    add_method_arguments(parser, "do not score the end-of-sentence token after the target",
                         FILTER_SCORING)
    add_term(parser, "output", default="-",
                        help="kept pairs, source<TAB>target (default stdout)")
    parser.add_argument("--dropped", default=None, metavar="FILE",
                        help="dropped pairs: line<TAB>score<TAB>source<TAB>target")
    parser.add_argument("--chunk-size", type=int_up_to(MAX_CHUNK_SIZE), default=1000,
                        metavar="PAIRS",
                        help="pairs scored at a time (default 1000)")
    parser.add_argument("--keep-off-target", action="store_true",
                        help="do not drop the pairs whose target is in another language than "
                             "the model's target language (dropped by default)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of the same command (-o FILE)")
    add_model_arguments(parser)
    add_quiet_argument(parser)
    for action in parser._actions:  # the filter's own default (see default_direction)
        if "--direction" in action.option_strings:
            action.help = action.help.replace(
                "(default: the head's, else forward)",
                f"(default: {FILTER_DIRECTION}, or forward for a model without its opposite)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _filter, argv)


def iter_pairs(args, expected: Optional[int] = None) -> Iterator[Tuple[str, str]]:
    """(source, target) pairs, streamed from -s/-t (:func:`~sigmoid_qe.files.zip_lines`) or
    --tsv; ``expected`` pairs when counted before (:func:`count_pairs`, which also refuses a
    tab inside a text and a line-count mismatch, naming file and line)."""
    if args.tsv is not None:
        number = 0
        for number, line in enumerate(iter_lines(args.tsv), start=1):
            yield _tsv_fields(line, args.tsv, number)
        check_unchanged(args.tsv, number, expected)
        return
    if expected is None:  # not counted (the first lines, or --score-only): check as it goes
        yield from _aligned_pairs(args)
        return
    for number, (source, target) in enumerate(zip_lines(args.sources, args.targets,
                                                         expected=expected), start=1):
        _refuse_tabs(args, number, source, target)
        yield source, target


def _tsv_fields(line: str, path: str, number: int) -> Tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2:
        raise InputError(f"expected source<TAB>target, found {len(fields)} field(s)", path, number)
    return fields[0], fields[1]


def _refuse_tabs(args, number: int, source: str, target: str) -> None:
    for text, path in ((source, args.sources), (target, args.targets)):
        if "\t" in text:
            raise InputError("contains a tab, which the source<TAB>target output cannot hold",
                             path, number)


def count_pairs(args) -> int:
    """The pairs of the input, every line read and checked (one pass before the model loads):
    -s and -t must have as many lines, and no text may hold a tab."""
    return sum(1 for _ in iter_pairs(args))


def _aligned_pairs(args) -> Iterator[Tuple[str, str]]:
    """-s/-t in lockstep, a line-count mismatch named as such (not as a changed file)."""
    targets = iter_lines(args.targets)
    number = 0
    for number, source in enumerate(iter_lines(args.sources), start=1):
        target = next(targets, None)
        if target is None:
            raise InputError(f"has {number - 1} lines but {args.sources} has more", args.targets)
        _refuse_tabs(args, number, source, target)
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
    if args.threshold is not None and not math.isfinite(args.threshold):
        raise OptionError(f"--threshold must be a finite number, got {args.threshold}")
    inputs = [p for p in (args.sources, args.targets, args.tsv) if p]
    check_distinct_inputs(inputs, "-s/-t")
    OUTPUTS.stdout_aliases(args)
    if args.resume and args.output == "-":
        raise OptionError("--resume writes its results to files: give -o FILE for the kept pairs")
    scores = args.output + SCORES_SUFFIX if args.output != "-" else None
    OUTPUTS.check(args, inputs, lambda m: notice(args, m), leftovers=[scores])
    if not args.resume and scores is not None and os.path.exists(scores):
        raise OptionError(f"{args.output}: an interrupted run left its scores ({scores}); add "
                          "--resume to continue it, or delete that file to start over")
    return count_pairs(args)


def _filter(args, files) -> int:
    if args.score_only:
        return score_only(args, files)
    total = _check(args)
    args.method, args.aggregate = filter_scoring(args.method, args.aggregate)
    direction_given = args.direction is not None
    files["source"] = args.tsv or args.sources
    files["translation"] = args.tsv or args.targets
    head = [pair for _, pair in zip(range(100), iter_pairs(args))]
    model = load_from_args(args, [s for s, _ in head], [t for _, t in head])
    if not direction_given:
        apply_default_direction(model, lambda message: notice(args, message))
    job = _FilterJob(args, model, total)
    if args.keep_top is None:
        job.threshold_pass()
    else:
        job.keep_top_passes()
    if job.context.is_main:
        watch = job.watch
        watch.swaps.report()
        if args.threshold is not None and watch.kept in (0, total):
            warnings.warn(SigmoidQEWarning(
                f"--threshold {args.threshold:g} kept {'none' if watch.kept == 0 else 'all'} of "
                f"the {total} pairs (scores here lie between {watch.low:.4f} and "
                f"{watch.high:.4f})"), stacklevel=2)
        watch.off_target.report("; kept or dropped by score (--keep-off-target)"
                              if args.keep_off_target else "; dropped")
        notice(args, "signature: " + str(job.model.signature(args.method, args.aggregate,
                                                             direction=args.direction)))
    return 0


#: The old name of :func:`sigmoid_qe.filtering.apply_default_direction`.
default_direction = apply_default_direction


class _FilterJob:
    """The passes of a filtering job over :func:`sigmoid_qe.filtering.decide_chunks`, with
    their checkpoints; only rank 0 writes (see :mod:`sigmoid_qe.resume`)."""

    def __init__(self, args, model, total: int):
        self.args, self.model, self.total = args, model, total
        self.context = current_context()
        self.watch = Watch(model.backend.lp, args.tsv or args.targets)
        direction = args.direction or model.default_direction
        self.scoring = scoring_identity(model, str(model.signature(
            args.method, args.aggregate, direction=direction)), direction)
        self.key = JobRecord.from_args("filter", args, [args.sources, args.targets, args.tsv],
                                       RESUME_FIELDS).resume_key()
        # the saved scores of --keep-top are also keyed by the model that made them
        self.scores_key = job_key({"job": self.key, "scoring": self.scoring}, [])
        self.paths = {"kept": args.output, "dropped": args.dropped} if self.context.is_main else {}

    def decided(self, outputs, threshold) -> Iterator[Tuple[int, Optional[List[Decision]]]]:
        """(first line index, decisions or None on other ranks) per chunk, after what
        ``outputs`` recorded."""
        if outputs.progress is not None and self.context.is_main:
            where = self.args.tsv or self.args.targets
            notice(self.args, resumed_notice(outputs.progress["done"], self.total, where))
        progress = outputs.progress or {"done": 0, "swaps": [0, []]}
        if self.context.active:
            progress = self.context.gather_objects(progress)[0]
        swaps = self.watch.swaps
        swaps.count, swaps.lines = progress["swaps"]
        yield from decide_chunks(
            self.model, iter_pairs(self.args, self.total), threshold, self.args.keep_off_target,
            self.args.chunk_size, self.watch, context=self.context, skip=progress["done"],
            progress=False if self.args.quiet else None, total=self.total,
            method=self.args.method, aggregate=self.args.aggregate)

    def checkpoint(self, outputs, done: int) -> None:
        swaps = self.watch.swaps
        outputs.checkpoint({"done": done, "swaps": [swaps.count, swaps.lines]})

    def threshold_pass(self) -> None:
        with ResumableOutputs(self.paths, self.key, self.args.resume,
                               scoring=self.scoring) as outputs:
            for start, decisions in self.decided(outputs, self.args.threshold):
                if decisions is None:
                    continue
                for decision in decisions:
                    _write(outputs, decision)
                self.checkpoint(outputs, start + len(decisions))

    def keep_top_passes(self) -> None:
        keep_off = self.args.keep_off_target
        with _scores_file(self.args, self.scores_key) as scores_path:
            needed = scores_path is not None and not os.path.exists(scores_path)
            if self.context.active:
                needed = self.context.gather_objects(needed)[0]
            if needed:
                sink = {"scores": scores_path} if scores_path else {}
                with ResumableOutputs(sink, self.key, self.args.resume,
                                      binary=("scores",), scoring=self.scoring) as outputs:
                    for start, decisions in self.decided(outputs, None):
                        if decisions is None:
                            continue
                        values = np.asarray([(d.score, d.off_target and not keep_off)
                                             for d in decisions], dtype=np.float64)
                        outputs["scores"].write(values.tobytes())
                        self.checkpoint(outputs, start + len(decisions))
                if scores_path is not None and self.args.resume:
                    Path(scores_path + ".key").write_text(self.scores_key, encoding="utf-8")
            if not self.context.is_main:
                return
            with ResumableOutputs(self.paths, self.key, self.args.resume,
                                   scoring=self.scoring) as outputs:
                stored = np.fromfile(scores_path, dtype=np.float64)
                k = kept_count(self.total, self.args.keep_top)
                for decision in top_decisions(stored, iter_pairs(self.args, self.total), k):
                    _write(outputs, decision)


def _write(outputs, decision: Decision) -> None:
    if decision.keep:
        outputs["kept"].write(f"{decision.source}\t{decision.target}\n")
    elif outputs.get("dropped") is not None:
        outputs["dropped"].write(f"{decision.line}\t{decision.score:.6f}\t{decision.source}\t"
                                 f"{decision.target}\n")


@contextlib.contextmanager
def _scores_file(args, key: str) -> Iterator[Optional[str]]:
    """Where --keep-top keeps the scores between its passes (None on ranks other than 0): a
    temporary file, or with --resume ``OUTPUT.scores.f64`` beside the output, kept until the
    job is done so that an interrupted second pass need not score again."""
    if not current_context().is_main:
        yield None
        return
    if args.resume:
        path = args.output + SCORES_SUFFIX
        if os.path.exists(path) and not _scores_match(path, key):
            if not os.path.exists(path + ".key"):  # not ours to delete
                raise InputError("exists, and is not the scores of an earlier run of this "
                                 "command: move it away, or choose another -o", path)
            os.unlink(path)
        yield path
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.unlink(path + ".key")
        return
    handle, path = tempfile.mkstemp(prefix="sigmoid-qe-filter.", suffix=".f64")
    os.close(handle)
    os.unlink(path)  # the scoring pass creates it
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _scores_match(path: str, key: str) -> bool:
    try:
        return open(path + ".key", encoding="utf-8").read() == key
    except OSError:
        return False


STDIN = "<stdin>"


def _stdin_pairs() -> Iterator[Tuple[str, str]]:
    """source<TAB>target lines from stdin, one at a time (it may be a pipe still being
    written); empty input is no pairs."""
    from ..files import _decode_line
    for number, raw in enumerate(stdin_buffer(), start=1):
        line = _decode_line(raw[:-1] if raw.endswith(b"\n") else raw, STDIN, number)
        fields = line.split("\t")
        if len(fields) != 2:
            raise InputError(f"expected source<TAB>target, found {len(fields)} field(s)", STDIN,
                             number)
        yield fields[0], fields[1]


def score_only(args, files) -> int:
    """--score-only: one score per pair on stdout, flushed after every chunk, so that a
    caller feeding a pipe (OpusCleaner's threshold.py) reads them as they come. The model is
    loaded on the first chunk (no input: no model, no output)."""
    check_method_arguments(args)
    if args.dropped or args.resume or args.output != "-":
        raise OptionError("--score-only prints the scores on stdout: leave out -o, --dropped "
                          "and --resume")
    if args.tsv is not None and (args.sources or args.targets):
        raise OptionError("give --tsv FILE or -s SRC -t TGT, not both")
    if bool(args.sources) != bool(args.targets):
        raise OptionError("give -s SRC -t TGT together")
    args.method, args.aggregate = filter_scoring(args.method, args.aggregate)
    where = args.tsv or args.targets or STDIN
    files["source"] = args.tsv or args.sources or STDIN
    files["translation"] = where
    if not (args.tsv or args.sources):
        stdin_buffer()  # closed: one line now
        if int(os.environ.get("WORLD_SIZE") or 1) > 1:
            raise InputError("under torchrun every process reads the pairs, and standard input "
                             "can be read by one only: give --tsv FILE or -s SRC -t TGT", STDIN)
    pairs = iter_pairs(args) if (args.tsv or args.sources) else _stdin_pairs()
    model, off_target, line = None, None, 0
    for chunk in chunks(pairs, args.chunk_size):
        sources, targets = [s for s, _ in chunk], [t for _, t in chunk]
        if model is None:
            model = load_from_args(args, sources, targets)
            if args.direction is None:
                apply_default_direction(model, lambda message: notice(args, message))
            off_target = OffTarget(target_language(model.backend.lp))
        # shared out by the one-process batch plan under torchrun; rank 0 prints
        context = current_context()
        segments = sharded_segments(model, list(enumerate(chunk, line)), context,
                                    context.is_main, method=args.method,
                                    aggregate=args.aggregate, direction=args.direction)
        if segments is None:
            line += len(chunk)
            continue
        lines = []
        for target, value in zip(targets, [segment.score for segment in segments]):
            line += 1
            off = off_target.check(f"{where}:{line}", target)[1]
            lines.append("-inf" if off and not args.keep_off_target else repr(float(value)))
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    if off_target is not None and current_context().is_main:
        off_target.report("; scored -inf" if not args.keep_off_target else "")
        notice(args, "signature: " + str(model.signature(args.method, args.aggregate,
                                                         direction=args.direction)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
