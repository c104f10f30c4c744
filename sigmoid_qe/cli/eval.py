"""``sigmoid-qe-eval``: how well do metric scores agree with WMT human judgements?

Reads an mt-metrics-eval test set (or an MLQE-PE, BioMQM, WMT DA or plain TSV file), picks
the systems and references the way the WMT metrics task does, and prints the WMT table
(segment Pearson/Spearman/Kendall and acc_eq, system Pearson/Spearman/Kendall, SPA and
pairwise accuracy per language pair and pooled), optionally with bootstrap intervals,
significance clusters and plots. ``--score-testset`` first scores every system of the test
set with a sigmoid-qe model and writes mt-metrics-eval and WMT submission files.

User mistakes print one line, ``sigmoid-qe-eval: error: ...``, and exit with status 2;
output files are written completely or not at all. This module parses and dispatches; the
work is in :mod:`sigmoid_qe.metaeval` (:mod:`~sigmoid_qe.metaeval.inputs` for the paths).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..errors import InputError, OptionError
from ..files import spool_inputs
from ..folders import claim_folder
from ..outputs import check_output, is_stdout, write_files_atomically
from .common import (
    MAX_RESAMPLES,
    ArgumentParser,
    add_method_arguments,
    add_model_arguments,
    add_quiet_argument,
    add_term,
    check_method_arguments,
    int_up_to,
    notice,
    run_cli,
)

PROG = "sigmoid-qe-eval"
MEASURES = ("pearson", "spearman", "kendall", "acc_eq", "spa", "pairwise_accuracy")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog=PROG, description=(
        "Correlation of metric scores with human judgements, computed as the WMT metrics task "
        "(mt-metrics-eval) does."))
    source = parser.add_argument_group("input (one of)")
    source.add_argument("--mtme-root", metavar="DIR",
                        help="mt-metrics-eval data: the folder holding the test-set folders "
                             "(or mt-metrics-eval-v2/, or the test-set folder itself)")
    source.add_argument("--mlqe", metavar="FILE",
                        help="MLQE-PE DA file: a .tsv, its .tar.gz, or a WMT21 test21 archive")
    source.add_argument("--mlqe-gold", metavar="FILE",
                        help="the test21_goldlabels archive that goes with a test21 --mlqe archive")
    source.add_argument("--biomqm", metavar="FILE", help="BioMQM segment table (.tsv)")
    source.add_argument("--tsv", metavar="FILE",
                        help="generic TSV with src, mt, score (human), optional system, doc; "
                             "other numeric columns are metric scores")
    source.add_argument("--span-gold", metavar="FILE",
                        help="human error spans: a BioMQM table, a TSV with src, mt, errors, or a "
                             "JSON list of {src, mt, errors}; with --span-predictions")
    source.add_argument("--span-predictions", nargs="+", metavar="FILE",
                        help="predicted spans (sigmoid-qe --spans --to-json output or WMT23 "
                             "task-2 files); two files: also a paired test")
    source.add_argument("--word-gold", metavar="FILE",
                        help="gold OK/BAD word tags (MLQE-PE task2_wordlevel_mt.tags, or one "
                             "line of tags per segment); with --word-predictions")
    source.add_argument("--word-predictions", nargs="+", metavar="FILE", help="predicted tags")
    source.add_argument("--wmt-da", metavar="FILE",
                        help="WMT DA segment scores (SYS SID RAW.SCR Z.SCR N); add metrics with "
                             "--add-metric")

    what = parser.add_argument_group("what to evaluate")
    what.add_argument("--test-set", default="wmt23", help="test set under --mtme-root (default wmt23)")
    what.add_argument("--lp", nargs="+", metavar="LP",
                      help="language pairs (default: all with human scores)")
    what.add_argument("--gold", default=None, metavar="NAME",
                      help="human scores, e.g. mqm or da-sqm (default: the test set's standard)")
    what.add_argument("--metrics", nargs="+", metavar="NAME",
                      help="metrics to evaluate (default: all scored with the standard reference "
                           "or the source)")
    what.add_argument("--add-metric", action="append", default=[], metavar="NAME=PATH",
                      help="add a metric's scores: a folder of NAME-REF.{seg,sys}.score files "
                           "(per lp, or metric-scores/LP/ inside it) or one score file; with the "
                           "other inputs, a file with one score per row or SYSTEM SCORE lines")
    what.add_argument("--level", choices=("seg", "sys", "both"), default="both",
                      help="segment level, system level or both (default both)")
    what.add_argument("--measures", nargs="+", metavar="MEASURE", choices=MEASURES,
                      help="only these measures (default: all)")
    what.add_argument("--seg-group", choices=("none", "item"), default="none",
                      help="segment-level Pearson/Spearman/Kendall over all segments (none, as "
                           "WMT23) or averaged per segment (item); acc_eq is always per item")
    what.add_argument("--primary-only", action="store_true",
                      help="only the test set's primary submissions and baselines")
    what.add_argument("--include-outliers", action="store_true",
                      help="keep systems the test set marks as outliers")
    what.add_argument("--std-ref", metavar="REF", help="override the standard reference")

    extra = parser.add_argument_group("statistics")
    extra.add_argument("--ci", action="store_true", help="95%% bootstrap confidence intervals")
    add_term(extra, "resamples", old=("--ci-samples",), type=int_up_to(MAX_RESAMPLES), default=1000,
             help="bootstrap resamples of --ci (default 1000)")
    extra.add_argument("--significance", action="store_true",
                       help="significance clusters from paired permutation tests (PERM-BOTH; "
                            "slow with many metrics)")
    extra.add_argument("--permutations", "--k", dest="permutations", type=int_up_to(MAX_RESAMPLES),
                       default=1000, metavar="N",
                       help="resamples per permutation test (mt-metrics-eval's k; default 1000)")
    extra.add_argument("--pval", type=float, default=0.05,
                       help="significance level of --significance clusters (default 0.05)")

    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=("json", "tsv", "text", "latex"), default="text",
                     help="table format (default text: ranked tables)")
    add_term(out, "output",
                     help="write the table here instead of stdout ('-' = stdout)")
    out.add_argument("--plot", metavar="DIR",
                     help="write PNG scatter plots and bar charts here (needs matplotlib; a new "
                          "or empty folder, or one an earlier --plot made, with --overwrite)")
    out.add_argument("--overwrite", action="store_true",
                     help="write again into the --plot/--output-dir folder of an earlier run")
    add_quiet_argument(parser)

    score = parser.add_argument_group("scoring a test set (--score-testset)")
    score.add_argument("--score-testset", action="store_true",
                       help="score every system of the test set with --model, write mt-metrics-eval "
                            "and WMT submission files to --output-dir, then evaluate them")
    score.add_argument("--name", default="sigmoid-qe", help="metric name (default sigmoid-qe)")
    add_term(score, "output_dir", old=("--out",), help="where the score files go")
    add_method_arguments(score, "do not score the end-of-sentence token")
    add_model_arguments(parser, with_lp=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli(build_parser(), _run, argv)


def _check_args(args) -> None:
    """Every option mistake, before any file is read."""
    inputs = [n for n in ("mtme_root", "mlqe", "biomqm", "tsv", "wmt_da", "span_gold", "word_gold")
              if getattr(args, n)]
    if len(inputs) != 1:
        raise OptionError("give exactly one input: --mtme-root, --mlqe, --biomqm, --tsv, "
                          "--wmt-da, --span-gold or --word-gold")
    for gold, predictions in (("span_gold", "span_predictions"), ("word_gold", "word_predictions")):
        if bool(getattr(args, gold)) != bool(getattr(args, predictions)):
            raise OptionError(f"--{gold.replace('_', '-')} and --{predictions.replace('_', '-')} "
                              "go together")
    if args.score_testset:
        if not args.mtme_root:
            raise OptionError("--score-testset needs --mtme-root")
        missing = [f"--{n.replace('_', '-')}" for n in ("model", "output_dir")
                   if not getattr(args, n)]
        if missing:
            raise OptionError(f"--score-testset needs {' and '.join(missing)}")
        from ..metaeval.submission import check_metric_name
        check_metric_name(args.name)
    check_method_arguments(args)
    if args.mlqe_gold and not args.mlqe:
        raise OptionError("--mlqe-gold goes with --mlqe")
    if not 0 < args.pval < 1:
        raise OptionError("--pval must be between 0 and 1")
    from ..metaeval.inputs import parse_metric_spec
    for spec in args.add_metric:
        parse_metric_spec(spec)
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise OptionError("--plot needs matplotlib: pip install matplotlib (from a clone: "
                          "pip install -e '.[plot]')")
    _check_files(args)
    if args.plot and args.output_dir and os.path.realpath(args.plot) == os.path.realpath(args.output_dir):
        raise OptionError("--plot and --output-dir need folders of their own")
    _claim_output_folders(args, create=False)


def _claim_output_folders(args, create: bool) -> None:
    """--plot and --output-dir: new, empty, or an earlier run's with --overwrite, never a user's
    folder (see :func:`sigmoid_qe.folders.claim_folder`)."""
    for folder, flag, kind in ((args.plot, "--plot", "eval-plots"),
                               (args.output_dir, "--output-dir", "eval-scores")):
        if folder:
            claim_folder(folder, kind, flag, reuse=args.overwrite, reuse_flag="--overwrite",
                         create=create)


def _check_files(args) -> None:
    """Text inputs read once where they cannot be read twice; the --output file."""
    inputs_given = [getattr(args, n) for n in ("mtme_root", "mlqe", "mlqe_gold", "biomqm", "tsv",
                                                "wmt_da", "span_gold", "word_gold")
                    if getattr(args, n)]
    inputs_given += list(args.span_predictions or []) + list(args.word_predictions or [])
    texts = [getattr(args, n) for n in ("tsv", "wmt_da", "biomqm", "span_gold", "word_gold")
             if getattr(args, n)]
    texts += list(args.span_predictions or []) + list(args.word_predictions or [])
    from ..metaeval.inputs import parse_metric_spec
    texts += [str(path) for path in (parse_metric_spec(spec)[1] for spec in args.add_metric)
              if not path.is_dir()]
    spool_inputs(texts, lambda m: notice(args, m))
    if args.output:
        if is_stdout(args.output):
            args.output = "-"
        check_output(args.output, [p for p in inputs_given if p != "-" and Path(p).is_file()],
                     "--output")


def _options(args):
    from ..metaeval.evaluation import Options
    levels = ("seg", "sys") if args.level == "both" else (args.level,)
    return Options(levels=levels, seg_group=args.seg_group,
                   measures=tuple(args.measures) if args.measures else None, ci=args.ci,
                   ci_samples=args.resamples, significance=args.significance,
                   permutations=args.permutations, pval=args.pval)


def _run(args, files) -> int:
    from ..metaeval.evaluation import evaluate
    from ..metaeval.report import format_records
    _check_args(args)
    outputs: Dict[Path, object] = {}
    lps = []
    if args.span_gold or args.word_gold:
        records = _span_or_word_records(args)
    elif args.mtme_root:
        lps, written = _mtme_inputs(args, files)
        from ..distributed import current_context
        if not current_context().is_main:  # a data-parallel --score-testset: rank 0 reports
            return 0
        outputs.update(written)
        records = evaluate(lps, _options(args))
    else:
        lps = _frame_inputs(args)
        records = evaluate(lps, _options(args))
    if not records and not outputs:
        raise InputError("nothing to evaluate: no metric has scores at the requested level(s)")
    text = format_records(records, args.format) if records else ""
    if args.plot:
        from ..metaeval.report import render_plots
        for name, png in render_plots(records, lps).items():
            outputs[Path(args.plot) / name] = png
    to_file = args.output not in (None, "-")
    if to_file:
        outputs[Path(args.output)] = text
    if outputs:
        _claim_output_folders(args, create=True)  # made and marked only now: a failed job
        write_files_atomically(outputs)           # leaves nothing
    if not to_file:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


# ----------------------------------------------------------------------------------------
# mt-metrics-eval input


def _mtme_inputs(args, files):
    from ..metaeval.evaluation import lp_data_from_mtme, metric_catalogue
    from ..metaeval.inputs import add_metric_paths, default_lps
    from ..metaeval.mtme import MtmeLp, find_test_set
    from ..metaeval.testsets import lp_info
    folder = find_test_set(args.mtme_root, args.test_set)
    lps = args.lp or default_lps(folder, args.test_set, args.gold)
    if not lps:
        what = f"human scores named {args.gold!r}" if args.gold else "human scores"
        raise InputError(f"no language pair of {args.test_set} has {what} here", folder)
    data = {lp: MtmeLp(folder, lp) for lp in lps}
    levels = ("seg", "sys") if args.level == "both" else (args.level,)
    if "seg" not in levels and (not args.measures or "spa" in args.measures):
        levels = ("seg", "sys")  # SPA, a system-level measure, needs the segment scores
    written: Dict[Path, str] = {}
    metrics = list(args.metrics) if args.metrics else None
    added = add_metric_paths(data, args.add_metric, args.test_set, args.std_ref)  # before scoring
    if metrics is not None:
        metrics += [m for m in added if m not in metrics]
    if args.score_testset:
        written = _score_testset(args, data, files)
        if metrics is not None and args.name not in metrics:
            metrics.append(args.name)
    result = []
    for lp in lps:
        info = lp_info(args.test_set, lp)
        wanted = metrics
        if wanted is not None:
            available = list(metric_catalogue(data[lp], args.std_ref or info.std_ref))
            skipped = [m for m in wanted if m not in available]
            if skipped and len(skipped) < len(wanted):
                notice(args, f"{lp}: no scores for {', '.join(skipped)}")
                wanted = [m for m in wanted if m in available]
        try:
            result.append(lp_data_from_mtme(data[lp], info, args.gold, wanted, levels,
                                            args.include_outliers, args.primary_only,
                                            args.std_ref))
        except InputError as exc:
            if not args.score_testset:
                raise
            # the new scores are still written; only their evaluation is skipped
            notice(args, f"{lp} not evaluated: {exc}")
    return result, written


def _score_testset(args, data, files) -> Dict[Path, str]:
    """Score all systems of every lp (one model load per lp), register the scores in memory
    for the evaluation, and return the score files to write at the end."""
    from ..metaeval.score_testset import score_lp
    from ..metaeval.submission import mtme_files, wmt_submission_files
    from .common import load_from_args
    for lp_data in data.values():  # fail on unreadable texts before loading any model
        for system in lp_data.system_names():
            lp_data.system_output(system)
    out = Path(args.output_dir)
    outputs: Dict[Path, str] = {}
    scored = []
    for lp, lp_data in data.items():
        notice(args, f"scoring {lp}: {len(lp_data.system_names())} systems x "
                     f"{lp_data.n_segments} segments with {args.model}")
        files["source"] = str(lp_data.folder / "sources" / f"{lp}.txt")
        qe = load_from_args(args, [], [], lp=lp)
        method, aggregate = qe.scoring(args.method, args.aggregate)
        scores = score_lp(qe, lp_data, method=method, aggregate=aggregate,
                          batch_size=args.batch_size, progress=False if args.quiet else None,
                          on_warning=lambda line: notice(args, f"warning: {line}"))
        notice(args, f"{lp}: {qe.signature(method, aggregate)}")
        outputs.update(mtme_files(out, lp, args.name, scores.seg, scores.sys, "src"))
        lp_data.add_metric_scores(args.name, "src", "seg", scores.seg)
        lp_data.add_metric_scores(args.name, "src", "sys", {s: [v] for s, v in scores.sys.items()})
        scored.append(scores)
    outputs.update(wmt_submission_files(out, args.name, args.test_set, scored))
    return outputs


# ----------------------------------------------------------------------------------------
# error spans and word tags


def _span_or_word_records(args):
    from ..metaeval import spans
    options = dict(ci=args.ci, ci_samples=args.resamples)
    if args.span_gold:
        gold = spans.read_gold(args.span_gold)
        predictors = {path: spans.pair_up(gold, spans.read_predictions(path), path)
                      for path in args.span_predictions}
        return spans.span_records(predictors, **options)
    gold_tags = spans.read_word_tags(args.word_gold)
    return spans.word_records(gold_tags, {p: spans.read_word_tags(p) for p in args.word_predictions},
                              **options)


# ----------------------------------------------------------------------------------------
# table inputs (MLQE-PE, BioMQM, TSV, WMT DA)


def _frame_inputs(args):
    from ..metaeval.evaluation import lp_data_from_frame
    from ..metaeval.inputs import attach_metric, load_table, parse_metric_spec, table_metrics
    kind, path = next((k, getattr(args, k)) for k in ("mlqe", "biomqm", "tsv", "wmt_da")
                      if getattr(args, k))
    frame = load_table(kind, path, args.mlqe_gold)
    if not frame.empty and frame["human"].isna().all():
        raise InputError("no human scores to evaluate against (every human score is missing)",
                         path)
    if args.lp:
        frame = frame[frame["lp"].isin(args.lp)]
        if frame.empty:
            raise InputError(f"no rows for language pair(s) {', '.join(args.lp)}")
    for spec in args.add_metric:
        name, metric_path = parse_metric_spec(spec)
        frame = attach_metric(frame, name, metric_path)
    return lp_data_from_frame(frame, metrics=table_metrics(frame, args.metrics))


if __name__ == "__main__":
    sys.exit(main())
