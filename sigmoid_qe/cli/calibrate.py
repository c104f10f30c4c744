"""``sigmoid-qe-calibrate``: fit where ``--spans`` puts errors, for any model and head.

    sigmoid-qe-calibrate --head my-head/ --mqm spans.tsv --dev dev.tsv --output-dir my-head-calibrated/
    sigmoid-qe-calibrate --head my-head/ --dev dev.tsv --write      # no human spans at hand

* ``--mqm FILE ...``: human error spans (a BioMQM table, a TSV with ``src, mt, errors``, or
  JSON records with those keys, as ``sigmoid-qe --spans --to-json`` writes): the word-level
  error model (:mod:`sigmoid_qe.span_model`) is fitted on them; ``--dev`` pairs then add
  synthetic single errors to its training data and to the threshold search (an obvious wrong
  word must still be found).
* ``--dev FILE`` alone (good translations: ``source<TAB>translation`` lines, a first line
  naming the two languages is skipped, or two line-aligned files): the model is fitted on
  synthetic single errors of those pairs, and each method's token-score thresholds (what
  ``--span-threshold``-free spans of one method use when a head has no span model) are
  calibrated on the same errors.

The result goes into the head's ``config.json``: a copy of the head in a new ``--output-dir``
folder, or the head itself with ``--write``; without either the calibration is printed (JSON)
and nothing is written.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..errors import InputError, OptionError
from ..files import read_lines
from ..methods import METHOD_TABLE, METHODS, orient
from ..outputs import write_files_atomically
from .common import (
    ArgumentParser,
    add_model_arguments,
    add_quiet_argument,
    add_term,
    load_from_args,
    notice,
    run_cli,
)

#: Share of the human items' weight that the synthetic training items get.
SYNTHETIC_SHARE = 1.0
FEATURE_SETS = ("forward", "both")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe-calibrate",
        description="Fit the error-span model of a model and head, from human error spans "
                    "(--mqm) or synthetic errors on good dev translations (--dev).")
    add_model_arguments(parser)
    add_quiet_argument(parser)
    data = parser.add_argument_group("data")
    data.add_argument("--mqm", nargs="+", default=None, metavar="FILE",
                      help="human error spans: BioMQM TSV, TSV/JSON with src, mt, errors")
    data.add_argument("--dev", nargs="+", default=None, metavar="FILE",
                      help="good dev translations: source<TAB>translation lines, or two "
                           "line-aligned files (synthetic errors are made from them)")
    data.add_argument("--features", choices=FEATURE_SETS, default="forward",
                      help="forward: the model's own token scores (default); both: also the "
                           "reverse model's support (scores twice)")
    out = parser.add_argument_group("output")
    where = out.add_mutually_exclusive_group()
    add_term(where, "output_dir", old=("--output",), default=None,
                       help="write a calibrated copy of the head into this new folder")
    where.add_argument("--write", action="store_true",
                       help="write the calibration into the head's own config.json")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _calibrate, argv)


def read_dev_pairs(paths: Sequence[str], lp: Optional[str]) -> List[Tuple[str, str]]:
    """(source, translation) pairs of --dev (one TSV file, or two aligned files)."""
    if len(paths) == 2:
        sources, targets = read_lines(paths[0]), read_lines(paths[1])
        if len(sources) != len(targets):
            raise InputError(f"has {len(targets)} lines but {paths[0]} has {len(sources)}",
                             paths[1])
        return list(zip(sources, targets))
    if len(paths) != 1:
        raise OptionError("--dev takes one source<TAB>translation file or two aligned files")
    pairs = []
    for number, line in enumerate(read_lines(paths[0]), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise InputError(f"expected source<TAB>translation, found {len(fields)} field(s)",
                             paths[0], number)
        if number == 1 and lp and [f.strip() for f in fields] == lp.split("-"):
            continue  # a header naming the languages
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise InputError("no pairs", paths[0])
    return pairs


def _check_output(args) -> None:
    """Before any work: --output-dir is new (or an empty folder); --write has a head folder."""
    if args.write and not (args.head and (Path(args.head) / "config.json").is_file()):
        raise OptionError("--write needs --head to be a head folder with a config.json (or "
                          "write a calibrated copy with --output-dir DIR)")
    if args.output_dir is None:
        return
    path = Path(args.output_dir)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OptionError(f"--output-dir {args.output_dir}: exists and is not an empty folder (choose a "
                          f"new one; nothing of yours is overwritten)")


def _calibrate(args, files) -> int:
    from ..metaeval.spans import read_gold
    if not args.mqm and not args.dev:
        raise OptionError("give human error spans (--mqm FILE) or good dev translations "
                          "(--dev FILE), or both")
    _check_output(args)
    human = []
    for path in args.mqm or ():
        files["input"] = path
        rows = read_gold(path)
        if not rows:
            raise InputError("no rows", path)
        human.append((path, rows))
    dev = read_dev_pairs(args.dev, args.lp) if args.dev else None
    sample = [r for _, rows in human for r in rows[:100]] or dev[:100]
    qe = load_from_args(args, [r[0] for r in sample], [r[1] for r in sample])
    report = fit(qe, human, dev, args.features == "both", args.batch_size,
                 progress=False if args.quiet else None)
    text = json.dumps(report, indent=1)
    if args.output_dir is None and not args.write:
        print(text)
        return 0
    _save(qe, args, report)
    print(text)
    return 0


def fit(qe, human, dev, reverse: bool, batch_size: int, progress=None) -> dict:
    """The calibration: {"span_model": ..., "span_thresholds": ... (with --dev alone)}."""
    from ..challenge.span_fitting import (  # numpy and scipy: after the options are checked
        FEATURES,
        FORWARD_FEATURES,
        fit_span_model,
        scored_items,
        synthetic_rows,
    )
    lp = qe.backend.lp or "xx-xx"
    features = FEATURES if reverse else FORWARD_FEATURES
    items = [i for path, rows in human
             for i in scored_items(qe, rows, Path(path).name, reverse, batch_size, progress)]
    synthetic, train = [], []
    if dev is not None:
        rows, kinds = synthetic_rows(dev, lp)
        scored = scored_items(qe, rows, lp, reverse, batch_size, progress, kinds=kinds)
        half = len({r[0] for r in rows}) // 2 if items else 0
        # with human spans: the first half of the sources trains, the second is the constraint
        originals = list(dict.fromkeys(r[0] for r, k in zip(rows, kinds) if k is None))
        held = set(originals[half:]) if items else set(originals)
        train = [i for i, r in zip(scored, rows) if r[0] not in held or not items]
        synthetic = [i for i, r in zip(scored, rows) if r[0] in held]
    if items:
        model = fit_span_model(items, features, synthetic=synthetic, extra=train,
                               extra_share=SYNTHETIC_SHARE)
    else:
        model = fit_span_model(train, features, synthetic=synthetic)
    model.fitted_on.update(human=[Path(p).name for p, _ in human], dev_pairs=len(dev or ()))
    report = {"span_model": model.to_dict()}
    if dev is not None and not items:
        report["span_thresholds"] = method_thresholds(qe, dev, lp, batch_size)
    return report


def method_thresholds(qe, dev, lp: str, batch_size: int) -> dict:
    """Each method's (minor, major) token-score thresholds on synthetic errors of ``dev``."""
    from ..challenge.sets import detection_items, scored_pairs
    from ..challenge.span_calibration import calibrate, gold_for, items_from_scores
    src, tgt = lp.split("-")
    detection = detection_items(list(dict.fromkeys(dev)), tgt, src)
    gold = {d.original: () for d in detection}
    gold.update({d.perturbed: gold_for(d.kind, d.spans) for d in detection})
    pairs = scored_pairs(detection)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = qe.score([s for s, _ in pairs], [h for _, h in pairs], method="sigmoid",
                          extra_stats=[METHOD_TABLE[m].statistic for m in METHODS],
                          batch_size=batch_size, progress=False, check_direction=False,
                          direction="forward")
    eos = qe.backend.eos_token_id
    out = {}
    for method in METHODS:
        stat = METHOD_TABLE[method].statistic
        records = [(p[1], [(t.start, t.end) for t in seg.tokens],
                    orient(method, [getattr(t, stat) for t in seg.tokens]),
                    [t.token_id == eos for t in seg.tokens], gold[p])
                   for p, seg in zip(pairs, result.segments)]
        thresholds, _ = calibrate(items_from_scores(records), floor=qe.score_floor(method))
        out[method] = thresholds.to_dict()
    return out


def _save(qe, args, report: dict) -> None:
    """Into --output-dir (a new folder with a copy of the head) or the head's own config."""
    head = qe.head
    head.config.span_model = report["span_model"]
    if "span_thresholds" in report:
        head.config.span_thresholds = dict(head.config.span_thresholds, **report["span_thresholds"])
    if args.output_dir is not None:
        head.save_pretrained(args.output_dir, dtype=head.config.dtype)
        target = args.output_dir
    else:  # only the config changes: the weights stay the user's file
        target = args.head
        write_files_atomically({Path(target) / "config.json": head.config.to_json() + "\n"})
    notice(args, f"wrote the calibration into {target}/config.json")


if __name__ == "__main__":
    sys.exit(main())
