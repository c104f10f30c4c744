"""``sigmoid-qe-eval``: how well do metric scores agree with WMT human judgements?

Reads an mt-metrics-eval test set (or an MLQE-PE, BioMQM, WMT DA or plain TSV file), picks
the systems and references the way the WMT metrics task does, and prints the WMT table
(segment Pearson/Spearman/Kendall and acc_eq, system Pearson/Spearman/Kendall, SPA and
pairwise accuracy per language pair and pooled), optionally with bootstrap intervals,
significance clusters and plots. ``--score-testset`` first scores every system of the test
set with a sigmoid-qe model and writes mt-metrics-eval and WMT submission files.

User mistakes print one line, ``sigmoid-qe-eval: error: ...``, and exit with status 2;
output files are written completely or not at all.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

PROG = "sigmoid-qe-eval"
EXIT_USER_ERROR = 2


class _UsageError(Exception):
    """A command-line mistake, reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise _UsageError(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=(
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
    what.add_argument("--level", choices=("seg", "sys", "both"), default="both")
    what.add_argument("--measures", nargs="+", metavar="MEASURE",
                      choices=("pearson", "spearman", "kendall", "acc_eq", "spa",
                               "pairwise_accuracy"),
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
    extra.add_argument("--ci-samples", type=int, default=1000, metavar="N")
    extra.add_argument("--significance", action="store_true",
                       help="significance clusters from paired permutation tests (PERM-BOTH; "
                            "slow with many metrics)")
    extra.add_argument("--k", type=int, default=1000, metavar="N",
                       help="resamples per permutation test (default 1000)")
    extra.add_argument("--pval", type=float, default=0.05)

    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=("json", "tsv", "text", "latex"), default="text")
    out.add_argument("--output", metavar="FILE", help="write the table here instead of stdout")
    out.add_argument("--plot", metavar="DIR",
                     help="write PNG scatter plots and bar charts here (needs matplotlib)")
    out.add_argument("--quiet", action="store_true", help="no progress bars or notices")

    score = parser.add_argument_group("scoring a test set (--score-testset)")
    score.add_argument("--score-testset", action="store_true",
                       help="score every system of the test set with --model, write mt-metrics-eval "
                            "and WMT submission files to --out, then evaluate them")
    score.add_argument("--model", metavar="NAME_OR_DIR")
    score.add_argument("--head", metavar="DIR")
    score.add_argument("--name", default="sigmoid-qe", help="metric name (default sigmoid-qe)")
    score.add_argument("--out", metavar="DIR", help="where the score files go")
    score.add_argument("--method", default="sigmoid")
    score.add_argument("--aggregate", default="mean")
    score.add_argument("--batch-size", type=int, default=32)
    score.add_argument("--device", default=None)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ..errors import SigmoidQEError
    try:
        args = build_parser().parse_args(argv)
        _check_args(args)
        with warnings.catch_warnings():  # restores showwarning afterwards
            warnings.simplefilter("default")
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.showwarning = _show_warning
            return _run(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (_UsageError, SigmoidQEError) as exc:
        _error(str(exc))
        return EXIT_USER_ERROR
    except ImportError as exc:
        if "matplotlib" in str(exc):
            _error(str(exc))
            return EXIT_USER_ERROR
        raise
    except OSError as exc:  # cannot write an output file, disk full, ...
        _error(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (an untrained head, an empty translation) as one line each."""
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)


def _notice(args, message: str) -> None:
    if not args.quiet:
        print(f"{PROG}: {message}", file=sys.stderr)


def _check_args(args) -> None:
    inputs = [n for n in ("mtme_root", "mlqe", "biomqm", "tsv", "wmt_da") if getattr(args, n)]
    if len(inputs) != 1:
        raise _UsageError("give exactly one input: --mtme-root, --mlqe, --biomqm, --tsv or --wmt-da")
    if args.score_testset:
        if not args.mtme_root:
            raise _UsageError("--score-testset needs --mtme-root")
        missing = [f"--{n}" for n in ("model", "out") if not getattr(args, n)]
        if missing:
            raise _UsageError(f"--score-testset needs {' and '.join(missing)}")
    if args.mlqe_gold and not args.mlqe:
        raise _UsageError("--mlqe-gold goes with --mlqe")
    for value, flag in ((args.ci_samples, "--ci-samples"), (args.k, "--k"),
                        (args.batch_size, "--batch-size")):
        if value < 1:
            raise _UsageError(f"{flag} must be at least 1")
    if not 0 < args.pval < 1:
        raise _UsageError("--pval must be between 0 and 1")
    for spec in args.add_metric:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise _UsageError(f"--add-metric {spec!r}: expected NAME=PATH")


def _options(args):
    from ..metaeval.evaluation import Options
    levels = ("seg", "sys") if args.level == "both" else (args.level,)
    return Options(levels=levels, seg_group=args.seg_group,
                   measures=tuple(args.measures) if args.measures else None, ci=args.ci,
                   ci_samples=args.ci_samples, significance=args.significance, k=args.k,
                   pval=args.pval)


def _run(args) -> int:
    from ..metaeval.evaluation import evaluate
    from ..metaeval.report import format_records
    files: Dict[Path, object] = {}
    if args.mtme_root:
        lps, written = _mtme_inputs(args)
        files.update(written)
    else:
        lps = _frame_inputs(args)
    records = evaluate(lps, _options(args))
    if not records and not files:
        from ..errors import InputError
        raise InputError("nothing to evaluate: no metric has scores at the requested level(s)")
    text = format_records(records, args.format) if records else ""
    if args.plot:
        from ..metaeval.report import render_plots
        for name, png in render_plots(records, lps).items():
            files[Path(args.plot) / name] = png
    if args.output:
        files[Path(args.output)] = text
    if files:
        from ..metaeval.submission import write_files_atomically
        write_files_atomically(files)
    if not args.output:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            return 0
    return 0


# ----------------------------------------------------------------------------------------
# mt-metrics-eval input


def _mtme_inputs(args):
    from ..errors import InputError
    from ..metaeval.evaluation import lp_data_from_mtme
    from ..metaeval.loaders import MtmeLp, find_test_set
    from ..metaeval.testsets import lp_info
    folder = find_test_set(args.mtme_root, args.test_set)
    lps = args.lp or _default_lps(folder, args)
    if not lps:
        what = f"human scores named {args.gold!r}" if args.gold else "human scores"
        raise InputError(f"no language pair of {args.test_set} has {what} here", folder)
    data = {lp: MtmeLp(folder, lp) for lp in lps}
    levels = ("seg", "sys") if args.level == "both" else (args.level,)
    if "seg" not in levels and (not args.measures or "spa" in args.measures):
        levels = ("seg", "sys")  # SPA, a system-level measure, needs the segment scores
    written: Dict[Path, str] = {}
    metrics = list(args.metrics) if args.metrics else None
    added = _add_mtme_metrics(args, data)  # checked before any (long) scoring run
    if metrics is not None:
        metrics += [m for m in added if m not in metrics]
    if args.score_testset:
        written, new_files = _score_testset(args, folder, data)
        for lp, paths in new_files.items():
            for path in paths:
                data[lp].add_metric_file(path, args.name)
        if metrics is not None and args.name not in metrics:
            metrics.append(args.name)
    result = []
    for lp in lps:
        info = lp_info(args.test_set, lp)
        wanted = metrics
        if wanted is not None:
            available = _available(data[lp], args.std_ref or info.std_ref)
            skipped = [m for m in wanted if m not in available]
            if skipped and len(skipped) < len(wanted):
                _notice(args, f"{lp}: no scores for {', '.join(skipped)}")
                wanted = [m for m in wanted if m in available]
        try:
            result.append(lp_data_from_mtme(data[lp], info, args.gold, wanted, levels,
                                            args.include_outliers, args.primary_only,
                                            args.std_ref))
        except InputError as exc:
            if not args.score_testset:
                raise
            # the new scores are still written; only their evaluation is skipped
            _notice(args, f"{lp} not evaluated: {exc}")
    return result, written


def _available(data, std_ref: str) -> List[str]:
    from ..metaeval.evaluation import metric_catalogue
    return list(metric_catalogue(data, std_ref))


def _default_lps(folder: Path, args) -> List[str]:
    from ..metaeval.testsets import TESTSETS
    on_disk = sorted(p.name[:-4] for p in (folder / "sources").glob("*.txt"))
    human = folder / "human-scores"
    out = []
    for lp in on_disk:
        info = TESTSETS.get(args.test_set, {}).get(lp)
        gold = args.gold or (info.std_gold.get("seg") or info.std_gold.get("sys")
                             if info is not None else None)
        if info is not None and not info.std_gold and not args.gold:
            continue
        pattern = f"{lp}.{gold}.*.score" if gold else f"{lp}.*.score"
        if any(human.glob(pattern)):
            out.append(lp)
    return out


def _add_mtme_metrics(args, data) -> List[str]:
    """Register --add-metric files with every lp that has them; returns the names."""
    from ..errors import InputError
    from ..metaeval.loaders import parse_metric_filename
    from ..metaeval.testsets import lp_info
    names = []
    for spec in args.add_metric:
        name, _, path = spec.partition("=")
        path = Path(path)
        if not path.exists():
            raise InputError("no such file or folder", path)
        found_any = False
        for lp, lp_data in data.items():
            std_ref = args.std_ref or lp_info(args.test_set, lp).std_ref
            for file in _metric_files_for(path, lp):
                _, ref, level = parse_metric_filename(file)
                if level not in ("seg", "sys"):
                    continue
                if ref not in ("src", std_ref):
                    raise InputError(f"scored with reference {ref!r}, but {lp} is evaluated "
                                     f"with {std_ref!r} or src", file)
                lp_data.add_metric_file(file, name)
                found_any = True
        if not found_any:
            raise InputError(f"--add-metric {name}: no NAME-REF.seg.score or NAME-REF.sys.score "
                             f"files for {', '.join(data)}", path)
        names.append(name)
    return names


def _metric_files_for(path: Path, lp: str) -> List[Path]:
    if path.is_file():
        siblings = [path]
        stem = path.name.rsplit(".", 2)[0]
        for level in ("seg", "sys"):
            other = path.with_name(f"{stem}.{level}.score")
            if other.is_file() and other not in siblings:
                siblings.append(other)
        return siblings
    for folder in (path / lp, path / "metric-scores" / lp, path):
        files = sorted(folder.glob("*-*.seg.score")) + sorted(folder.glob("*-*.sys.score"))
        if files:
            if folder == path and len({f.name.rsplit(".", 2)[0] for f in files}) > 1:
                continue  # a flat folder with several metrics: ambiguous
            return files
    return []


def _score_testset(args, folder: Path, data) -> Tuple[Dict[Path, str], Dict[str, List[Path]]]:
    """Score all systems of every lp (one model load per lp); the files to write."""
    from ..metaeval.score_testset import score_lp
    from ..metaeval.submission import check_metric_name, mtme_files, wmt_submission_files
    check_metric_name(args.name)
    for lp_data in data.values():  # fail on unreadable texts before loading any model
        for system in lp_data.system_names():
            lp_data.system_output(system)
    from .. import load_model
    out = Path(args.out)
    files: Dict[Path, str] = {}
    new_files: Dict[str, List[Path]] = {}
    scored = []
    for lp, lp_data in data.items():
        _notice(args, f"scoring {lp}: {len(lp_data.system_names())} systems x "
                      f"{lp_data.n_segments} segments with {args.model}")
        qe = load_model(args.model, head=args.head, lp=lp, device=args.device,
                        batch_size=args.batch_size)
        scores = score_lp(qe, lp_data, method=args.method, aggregate=args.aggregate,
                          batch_size=args.batch_size, progress=not args.quiet,
                          on_warning=lambda line: _notice(args, f"warning: {line}"))
        signature = getattr(qe, "signature", None)
        if callable(signature):
            _notice(args, f"{lp}: {signature(args.method, args.aggregate)}")
        lp_files = mtme_files(out, lp, args.name, scores.seg, scores.sys, "src")
        files.update(lp_files)
        new_files[lp] = list(lp_files)
        scored.append(scores)
    files.update(wmt_submission_files(out, args.name, args.test_set, scored))
    # the new files are needed for the evaluation before the final atomic write: stage them
    staged = _stage(files)
    return files, {lp: [staged[p] for p in paths] for lp, paths in new_files.items()}


def _stage(files: Dict[Path, str]) -> Dict[Path, Path]:
    """Copies of the score files in a private temporary folder, read by the evaluation
    before the real files are written (so a later error leaves no partial output)."""
    import atexit
    import shutil
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="sigmoid-qe-eval-"))
    atexit.register(shutil.rmtree, folder, True)
    staged = {}
    for k, (path, text) in enumerate(files.items()):
        copy = folder / str(k) / path.name
        copy.parent.mkdir()
        copy.write_text(text, encoding="utf-8")
        staged[path] = copy
    return staged


# ----------------------------------------------------------------------------------------
# table inputs (MLQE-PE, BioMQM, TSV, WMT DA)


def _frame_inputs(args):
    from ..errors import InputError
    from ..metaeval import loaders
    from ..metaeval.evaluation import lp_data_from_frame
    if args.mlqe:
        frame = loaders.load_mlqe(args.mlqe, gold=args.mlqe_gold)
    elif args.biomqm:
        frame = loaders.load_biomqm(args.biomqm)
    elif args.tsv:
        frame = loaders.load_tsv(args.tsv)
    else:
        frame = loaders.load_wmt_da(args.wmt_da)
    if args.lp:
        frame = frame[frame["lp"].isin(args.lp)]
        if frame.empty:
            raise InputError(f"no rows for language pair(s) {', '.join(args.lp)}")
    for spec in args.add_metric:
        name, _, path = spec.partition("=")
        frame = attach_metric(frame, name, Path(path))
    metrics = [m for m in loaders.metric_columns(frame)
               if m not in ("da_mean", "da_raw", "n_ratings", "n_errors", "annotator",
                            "error_spans")]
    if args.metrics:
        unknown = [m for m in args.metrics if m not in metrics]
        if unknown:
            raise InputError(f"no metric column(s) {', '.join(unknown)} (available: "
                             f"{', '.join(metrics) or 'none'})")
        metrics = list(args.metrics)
    if not metrics:
        raise InputError("no metric scores to evaluate: add some with --add-metric NAME=FILE")
    return lp_data_from_frame(frame, metrics=metrics)


def attach_metric(frame, name: str, path: Path):
    """Add a metric column from a file with one score per table row, or with
    ``SYSTEM SCORE`` lines (each system's segments in order)."""
    import numpy as np
    from ..errors import InputError
    from ..metaeval.loaders import read_score_file, read_text_lines
    lines = [l for l in read_text_lines(path) if l]
    if not lines:
        raise InputError("file is empty", path)
    frame = frame.copy()
    if len(lines[0].split()) == 1:
        if len(lines) != len(frame):
            raise InputError(f"has {len(lines)} scores but the input has {len(frame)} rows", path)
        values = []
        for number, line in enumerate(lines, start=1):
            try:
                values.append(float(line))
            except ValueError:
                raise InputError(f"score {line!r} is not a number", path, number) from None
        frame[name] = values
        return frame
    scores = read_score_file(path, allow_none=False)
    column = np.full(len(frame), np.nan)
    for system, part in frame.groupby("system", sort=False):
        if system not in scores:
            raise InputError(f"no scores for system {system!r}", path)
        order = np.argsort(part["seg"].to_numpy(), kind="stable")
        values = scores[system]
        if len(values) != len(part):
            raise InputError(f"system {system!r} has {len(values)} scores but {len(part)} rows",
                             path)
        column[frame.index.get_indexer(part.index[order])] = values
    frame[name] = column
    return frame


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
