"""Error spans against expert MQM error spans: BioMQM round one (a test set: nothing is tuned here).

    python -m benchmarks.bench_spans                 # shipped heads, their calibrated thresholds

For the pt-en MT systems, the pt-en linguist references and the en-pt linguist references,
span precision / recall / F1 of every method's spans (sigmoid, combined, softmax, BoostedProb,
entropy; each with the thresholds calibrated on synthetic dev errors by
``sigmoid-qe-calibrate --dev`` and stored in the head), in both variants (WMT23 task 2 with
severity; binary), with 95% bootstrap intervals over segments, against two trivial baselines:
every character an error, and random words marked at the gold error rate. The last lines
give the paired test of sigmoid against softmax. Gold: ``neutral`` dropped, ``critical`` =
major (round one has no omission or locale-convention spans).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from benchmarks.qe_bench_common import BIOMQM, MODELS, markdown_table
from sigmoid_qe.metaeval import spans as evaluation
from sigmoid_qe.spans import word_spans

TABLES = (("pt-en", "pt-en.round1.tsv", "pt-en MT systems"),
          ("pt-en", "pt-en.round1-refs.tsv", "pt-en linguist references"),
          ("en-pt", "en-pt.round1-refs.tsv", "en-pt linguist references"))
METHODS = ("sigmoid", "combined", "softmax", "boosted", "entropy")


def predicted(qe, gold, method: str, batch_size: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = qe.score([s for s, _, _ in gold], [m for _, m, _ in gold], method=method,
                          spans=True, batch_size=batch_size, progress=False)
    return [evaluation.Segment(m, g, tuple((e.start, e.end, e.severity) for e in s.errors))
            for (_, m, g), s in zip(gold, result.segments)]


def everything(gold):
    return [evaluation.Segment(m, g, ((0, len(m), "major"),) if m else ()) for _, m, g in gold]


def random_words(gold, seed: int = 0):
    """Each word marked (major) with the share of characters the gold marks."""
    rng = np.random.default_rng(seed)
    marked = sum(evaluation.segment_counts(evaluation.Segment(m, g, ()))[1] for _, m, g in gold)
    rate = marked / max(1, sum(len(m.strip()) + 1 for _, m, _ in gold))
    return [evaluation.Segment(m, g, tuple((s, e, "major") for s, e in word_spans(m)
                                           if rng.random() < rate)) for _, m, g in gold]


def table(name, predictors, samples):
    rows = []
    for label, segments in predictors.items():
        row = [label]
        for severity in (True, False):
            r = evaluation.span_f1(segments, severity)
            low, high = evaluation.span_f1_ci(segments, severity, samples)
            row += [r["precision"], r["recall"], f"{r['f1']:.3f} [{low:.3f}, {high:.3f}]"]
        rows.append(row)
    print(f"#### {name}\n")
    print(markdown_table(["predictor", "P (wmt23)", "R (wmt23)", "F1 (wmt23) [95% CI]",
                          "P (binary)", "R (binary)", "F1 (binary) [95% CI]"], rows))
    test = evaluation.paired_span_test(predictors["softmax"], predictors["sigmoid"], True, samples)
    binary = evaluation.paired_span_test(predictors["softmax"], predictors["sigmoid"], False, samples)
    print(f"\nsigmoid vs softmax, paired bootstrap over segments: p = {test['p_value']:.3f} "
          f"(wmt23), {binary['p_value']:.3f} (binary) that sigmoid is not better.\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--head-en-pt")
    parser.add_argument("--head-pt-en")
    args = parser.parse_args(argv)
    from sigmoid_qe import load_model
    start = time.time()
    print("# Error spans on BioMQM round one (test set)\n")
    models = {}
    for lp, file, name in TABLES:
        if lp not in models:
            models[lp] = load_model(MODELS[lp], head=getattr(args, f"head_{lp.replace('-', '_')}"),
                                    device="cpu")
            qe = models[lp]
            print(f"### {lp}: {qe.name}, head {qe.head_fingerprint()}; thresholds "
                  + ", ".join(f"{m} {qe.head.config.span_thresholds.get(m, 'default')}" for m in METHODS)
                  + "\n")
        gold = evaluation.read_gold(BIOMQM / file)
        predictors = {m: predicted(models[lp], gold, m, args.batch_size) for m in METHODS}
        predictors["every character"] = everything(gold)
        predictors["random words at the gold rate"] = random_words(gold)
        table(f"{name} ({len(gold)} segments)", predictors, args.samples)
        sys.stdout.flush()
    print(f"_{time.time() - start:.0f}s on this machine._")


if __name__ == "__main__":
    main()
