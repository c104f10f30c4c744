"""Calibrate the error-span thresholds of a head, per method, on synthetic errors (no human
labels), and store them in the head's config.json.

    python scripts/calibrate_spans.py --lp pt-en --head sigmoid_qe/heads/bergamot-pt-en --write

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

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "scripts", ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from sigmoid_qe.challenge.sets import scored_pairs  # noqa: E402
from sigmoid_qe.challenge.span_calibration import calibrate, gold_for, items_from_scores  # noqa: E402
from sigmoid_qe.methods import METHOD_TABLE, orient  # noqa: E402

from heads_data import dev_items  # noqa: E402
from qe_bench_common import MODELS  # noqa: E402

METHODS = ("sigmoid", "combined", "softmax", "boosted", "entropy")


def calibration_records(qe, lp: str, methods, batch_size: int = 32):
    """Per method: (mt, token spans, oriented values, EOS flags, synthetic gold) of every dev
    challenge translation (originals: no gold)."""
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
    parser.add_argument("--lp", choices=list(MODELS), required=True)
    parser.add_argument("--head", required=True, help="head directory (or 'untrained')")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--write", action="store_true", help="store the thresholds in the head's config")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    from sigmoid_qe import load_model
    from sigmoid_qe.head import SigmoidHead
    qe = load_model(MODELS[args.lp], head=args.head, device="cpu")
    records = calibration_records(qe, args.lp, list(args.methods))
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
