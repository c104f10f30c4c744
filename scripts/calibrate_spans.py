"""Calibrate the error-span thresholds of a head, per method, on synthetic errors (no human
labels), and store them in the head's config.json.

    python -m scripts.calibrate_spans --lp pt-en --head sigmoid_qe/heads/bergamot-pt-en --write
    python -m scripts.calibrate_spans --lp en-de --model Helsinki-NLP/opus-mt-en-de \
        --head my-head/ --dev my-dev.tsv --write     # your own model, head and dev pairs

``--dev`` takes your own dev pairs: a file of ``source<TAB>translation`` lines (a first line
naming the two languages, e.g. ``en<TAB>de``, is skipped), or two line-aligned files; the
human translations should be good ones (each gets single synthetic errors). Without ``--dev``
the project's dev data in ``../shared/data`` is used (the shipped heads were calibrated so).

The synthetic errors are the dev challenge set's (``dev_eval.py``: every perturbation of the
dev pairs, with the characters it changed), mixed with the untouched originals;
:func:`sigmoid_qe.challenge.span_calibration.calibrate` picks the thresholds with the best span F1. The
same procedure runs for every method (sigmoid, combined, softmax, boosted, entropy), so their
span F1s on human annotations can be compared fairly. Prints the thresholds and the dev F1s.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from benchmarks.heads_data import dev_items
from benchmarks.qe_bench_common import MODELS
from sigmoid_qe.challenge.sets import scored_pairs
from sigmoid_qe.challenge.span_calibration import calibrate, gold_for, items_from_scores
from sigmoid_qe.methods import METHOD_TABLE, orient

ROOT = Path(__file__).resolve().parents[1]

METHODS = ("sigmoid", "combined", "softmax", "boosted", "entropy")


def read_dev_pairs(paths, lp: str):
    """(source, translation) pairs from the user's --dev file(s)."""
    from sigmoid_qe.errors import InputError
    from sigmoid_qe.files import read_lines
    if len(paths) == 2:
        sources, targets = read_lines(paths[0]), read_lines(paths[1])
        if len(sources) != len(targets):
            raise InputError(f"has {len(targets)} lines but {paths[0]} has {len(sources)}",
                             paths[1])
        return list(zip(sources, targets))
    if len(paths) != 1:
        raise InputError("--dev takes one source<TAB>translation file or two aligned files")
    lines = read_lines(paths[0])
    pairs = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise InputError(f"expected source<TAB>translation, found {len(fields)} field(s)",
                             paths[0], number)
        if number == 1 and [f.strip() for f in fields] == lp.split("-"):
            continue  # a header naming the languages
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise InputError("no pairs", paths[0])
    return pairs


def calibration_records(qe, lp: str, methods, batch_size: int = 32, dev=None):
    """Per method: (mt, token spans, oriented values, EOS flags, synthetic gold) of every dev
    challenge translation (originals: no gold)."""
    if dev is not None:
        from sigmoid_qe.challenge.sets import detection_items
        src, tgt = lp.split("-")
        detection = detection_items(list(dict.fromkeys(dev)), tgt, src)
    else:
        detection, _ = dev_items(lp)
    gold = {d.original: () for d in detection}
    gold.update({d.perturbed: gold_for(d.kind, d.spans) for d in detection})
    pairs = scored_pairs(detection)
    stats = [METHOD_TABLE[m].statistic for m in methods]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = qe.score([s for s, _ in pairs], [h for _, h in pairs], method=methods[0],
                          extra_stats=stats, batch_size=batch_size, progress=False)
    eos = qe.backend.eos_token_id
    out = {m: [] for m in methods}
    for pair, segment in zip(pairs, result.segments):
        spans = [(t.start, t.end) for t in segment.tokens]
        flags = [t.token_id == eos for t in segment.tokens]
        for method in methods:
            values = orient(method, [getattr(t, METHOD_TABLE[method].statistic) for t in segment.tokens])
            out[method].append((pair[1], spans, values, flags, gold[pair]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lp", required=True, help=f"language pair ({', '.join(MODELS)} pick "
                        "the Bergamot model; any other needs --model)")
    parser.add_argument("--model", default=None, help="the head's model (default: the "
                        "Bergamot model of --lp)")
    parser.add_argument("--head", required=True, help="head directory (or 'untrained')")
    parser.add_argument("--dev", nargs="+", default=None, metavar="FILE",
                        help="your dev pairs: source<TAB>translation lines, or two aligned "
                             "files (default: the project's dev data in ../shared/data)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--write", action="store_true", help="store the thresholds in the head's config")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    from sigmoid_qe import load_model
    from sigmoid_qe.errors import SigmoidQEError
    from sigmoid_qe.head import SigmoidHead
    try:
        if args.model is None and args.lp not in MODELS:
            raise SigmoidQEError(f"--lp {args.lp}: give --model (the Bergamot models are "
                                 f"{', '.join(MODELS)})")
        dev = read_dev_pairs(args.dev, args.lp) if args.dev else None
        if dev is None and not (ROOT.parent / "shared" / "data").is_dir():
            raise SigmoidQEError("the project's dev data (../shared/data) is absent: give your "
                                 "own dev pairs with --dev FILE")
        qe = load_model(args.model or MODELS[args.lp], head=args.head, lp=args.lp, device="cpu")
        records = calibration_records(qe, args.lp, list(args.methods), dev=dev)
    except SigmoidQEError as exc:
        print(f"calibrate_spans.py: error: {exc}", file=sys.stderr)
        return 2
    chosen, report = {}, {}
    for method, rows in records.items():
        thresholds, info = calibrate(items_from_scores(rows), floor=qe.score_floor(method))
        chosen[method] = thresholds.to_dict()
        report[method] = info
        print(f"{args.lp} {method:9s} minor {thresholds.minor:.4g} major {thresholds.major:.4g} "
              f"| synthetic binary F1 {info['binary_f1']:.3f}, severity F1 {info['severity_f1']:.3f}",
              flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"lp": args.lp, "thresholds": chosen, "report": report},
                                        indent=1) + "\n", encoding="utf-8")
    if args.write:
        head = SigmoidHead.from_pretrained(args.head)
        head.config.span_thresholds = dict(head.config.span_thresholds, **chosen)
        head.save_pretrained(args.head, dtype=head.config.dtype)
        print(f"wrote the thresholds into {args.head}/config.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
