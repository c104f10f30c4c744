"""The span dev protocol: error spans against expert MQM spans, out of fold by document.

    python -m benchmarks.span_data                                    # score once (cached)
    python -m benchmarks.span_dev --json runs/span-dev/report.json    # every candidate
    python -m scripts.select_span_model runs/span-dev/report.json     # the rule

Dev: BioMQM round one (pt-en MT systems, pt-en references, en-pt references). Every segment
is predicted by a model fitted on the other folds (5 folds by a stable hash of the document
id, the same document in every set falls in the same fold). Statistics: character F1 as WMT23
QE task 2 scores it (severity: half credit for a mismatch) and binary, per set, with 95%
bootstrap intervals over segments, and paired bootstrap tests of every candidate against every
baseline (p = the share of resamples where the candidate is not better).

Candidates: the word-level error model (:mod:`sigmoid_qe.span_model`) on forward features,
and on forward + reverse features, each fitted on the human spans alone or with synthetic
single errors on the heads' training split as extra training items (equal total weight).
Baselines, fitted the same way out of fold (same folds, same F1 objective, no gate): the
head's sigmoid alone, the softmax alone, the entropy alone, the combined score alone; as
shipped (thresholds calibrated on synthetic errors, today's ``--spans``); every character an
error; random words at the gold rate. Second criterion: the synthetic dev set (one substitution
per sentence on the heads' dev split): share of changed words marked, share of clean
originals flagged. ``--test`` adds the same on FLORES devtest (test: reported, never chosen on).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from benchmarks.qe_bench_common import fold_of
from benchmarks.span_data import BIOMQM_SETS, load
from sigmoid_qe.challenge.span_fitting import (
    SpanItem,
    choose_thresholds,
    fit_span_model,
    synthetic_rates,
)
from sigmoid_qe.metaeval import spans as evaluation
from sigmoid_qe.span_model import (
    FEATURES,
    FORWARD_FEATURES,
    SpanModel,
    TokenArrays,
    spans_from_probabilities,
    word_features,
)
from sigmoid_qe.spans import SpanThresholds, error_spans, word_scores, word_spans

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 5
SETS = [label for _, _, label in BIOMQM_SETS]
#: name: (features, inputs (1 = forward only, 2 = also the reverse model), share of the
#: synthetic training errors' weight against the human items')
CANDIDATES = {"model: forward, human spans": (FORWARD_FEATURES, 1, 0.0),
              "model: forward, human + synthetic": (FORWARD_FEATURES, 1, 1.0),
              "model: forward + reverse, human spans": (FEATURES, 2, 0.0),
              "model: forward + reverse, human + synthetic": (FEATURES, 2, 1.0)}
SINGLE = ("sigmoid", "softmax", "entropy", "combined")


def arrays(record) -> TokenArrays:
    return TokenArrays(list(zip(record["start"], record["end"])), [bool(e) for e in record["eos"]],
                       {k: record[k] for k in ("sigmoid", "softmax", "entropy", "boosted")})


def items_of(rows, group_key: str) -> List[SpanItem]:
    out = []
    for r in rows:
        words, matrix = word_features(r["mt"], r["source"], arrays(r["forward"]), arrays(r["reverse"]))
        out.append(SpanItem(r["mt"], words, matrix, tuple(tuple(g) for g in r["gold"]),
                            r[group_key], r.get("kind")))
    return out


def single_scores(row, stat: str) -> np.ndarray:
    """An error score per word that grows as one statistic says "worse" (word minimum)."""
    fwd = row["forward"]
    keep = [k for k, e in enumerate(fwd["eos"]) if not e]
    spans = [(fwd["start"][k], fwd["end"][k]) for k in keep]
    if stat == "combined":
        values = [(fwd["sigmoid"][k] * fwd["softmax"][k]) ** 0.5 for k in keep]
    elif stat == "entropy":
        values = [-fwd["entropy"][k] for k in keep]
    else:
        values = [fwd[stat][k] for k in keep]
    words = word_scores(word_spans(row["mt"]), spans, values, "min")
    return -np.nan_to_num(np.asarray(words, dtype=float), nan=np.inf)


def predict_spans(item: SpanItem, probs: np.ndarray, minor: float, major: float, gate: float):
    return tuple((e.start, e.end, e.severity)
                 for e in spans_from_probabilities(item.mt, item.words, probs, minor, major, gate))


def out_of_fold(items: List[SpanItem], folds: List[int], synth: List[SpanItem], fit) -> List[tuple]:
    """Predicted spans of every item by the fit on the other folds; ``fit(train, synth) ->
    predict(item) -> spans``."""
    out: List[tuple] = [()] * len(items)
    for f in range(FOLDS):
        train = [i for i, k in zip(items, folds) if k != f]
        predict = fit(train, synth)
        for n, (item, k) in enumerate(zip(items, folds)):
            if k == f:
                out[n] = predict(item)
    return out


def model_fit(features, extra=(), share=0.0, use_gate=True):
    def fit(train, synth):
        model = fit_span_model(train, features, synthetic=synth, use_gate=use_gate, extra=extra,
                               extra_share=share)
        fit.last = model
        return lambda item: tuple((e.start, e.end, e.severity) for e in
                                  model.spans(item.mt, item.words, model.probabilities(item.matrix)))
    return fit


def single_fit(stat: str, scores: Dict[int, np.ndarray]):
    def fit(train, synth):
        probs = [scores[id(i)] for i in train]
        minor, major, gate, _ = choose_thresholds(train, probs, use_gate=False)
        return lambda item: predict_spans(item, scores[id(item)], minor, major, gate)
    return fit


def shipped_spans(rows, items, stat: str) -> List[tuple]:
    """Today's ``--spans`` for a method: the head's calibrated thresholds."""
    from sigmoid_qe.head import SigmoidHead
    from sigmoid_qe.methods import orient
    out = []
    heads = {}
    for row, item in zip(rows, items):
        lp = row["lp"]
        if lp not in heads:
            heads[lp] = SigmoidHead.from_pretrained(ROOT / "sigmoid_qe" / "heads" / f"bergamot-{lp}")
        data = heads[lp].config.span_thresholds[stat]
        floor = -float(np.log(32000)) if stat == "entropy" else 0.0
        thresholds = SpanThresholds.from_dict(data, floor)
        fwd = row["forward"]
        keep = [k for k, e in enumerate(fwd["eos"]) if not e]
        eos = [k for k, e in enumerate(fwd["eos"]) if e]
        raw = {"combined": [(s * p) ** 0.5 for s, p in zip(fwd["sigmoid"], fwd["softmax"])]}
        values = orient(stat, raw.get(stat, fwd.get(stat)))
        per_word = word_scores(item.words, [(fwd["start"][k], fwd["end"][k]) for k in keep],
                               [values[k] for k in keep], "min")
        spans = error_spans(item.mt, item.words, per_word, values[eos[0]] if eos else None,
                            thresholds)
        out.append(tuple((e.start, e.end, e.severity) for e in spans))
    return out


def everything(items):
    return [((0, len(i.mt), "major"),) if i.mt else () for i in items]


def random_words(items, seed=0):
    rng = np.random.default_rng(seed)
    marked = sum(evaluation.segment_counts(evaluation.Segment(i.mt, i.gold, ()))[1] for i in items)
    rate = marked / max(1, sum(len(i.mt.strip()) + 1 for i in items))
    return [tuple((s, e, "major") for s, e in i.words if rng.random() < rate) for i in items]


def evaluate(items, predictions, samples: int) -> Dict[str, Dict[str, object]]:
    out = {}
    for name in SETS:
        segs = [evaluation.Segment(i.mt, i.gold, p) for i, p in zip(items, predictions)
                if i.group == name]
        row = {}
        for key, severity in (("wmt23", True), ("binary", False)):
            r = evaluation.span_f1(segs, severity)
            low, high = evaluation.span_f1_ci(segs, severity, samples)
            row[key] = round(r["f1"], 4)
            row[f"{key}_ci"] = [round(low, 4), round(high, 4)]
            row[f"{key}_p"], row[f"{key}_r"] = round(r["precision"], 4), round(r["recall"], 4)
        row["flagged"] = round(float(np.mean([bool(p) for p in [s.predicted for s in segs]])), 4)
        out[name] = row
    return out


def paired(items, a, b, samples: int) -> Dict[str, Dict[str, float]]:
    """p that ``a`` is not better than ``b``, per set and variant."""
    out = {}
    for name in SETS:
        sa = [evaluation.Segment(i.mt, i.gold, p) for i, p in zip(items, a) if i.group == name]
        sb = [evaluation.Segment(i.mt, i.gold, p) for i, p in zip(items, b) if i.group == name]
        out[name] = {key: round(evaluation.paired_span_test(sb, sa, severity, samples)["p_value"], 4)
                     for key, severity in (("wmt23", True), ("binary", False))}
    return out


def synthetic_report(model, synth: List[SpanItem]) -> Dict[str, Dict[str, float]]:
    probs = [model.probabilities(i.matrix) for i in synth]
    rates = synthetic_rates(synth, probs, model.minor, model.gate)
    return {g: {k: round(v, 4) for k, v in r.items()} for g, r in rates.items()}


# -- omissions: the reverse direction's source spans against gold omission spans ---------------------
RAW = "bio-mqm-dataset/data/v1/target/main_phase/round_one"


def omission_gold(rows) -> Dict[tuple, tuple]:
    """(system, source, mt) -> gold omission spans on the source (the raw files' source_errors
    of category Omission, neutral dropped, critical = major, end exclusive)."""
    from benchmarks.qe_bench_common import BIOMQM
    out = {}
    for path in sorted((BIOMQM / RAW).glob("*/*/*/*.json")):
        for record in json.loads(path.read_text(encoding="utf-8-sig")):
            spans = tuple((e["startIndex"], e["endIndex"] + 1,
                           "minor" if e["severity"].lower() == "minor" else "major")
                          for e in record.get("source_errors", ())
                          if e["error_category"] == "Omission" and e["severity"].lower() != "neutral")
            out[(record["MT_Engine"] or "reference", record["source"], record["target"])] = spans
    return out


def omission_report(rows, candidates, samples: int) -> Dict[str, object]:
    """On pt-en MT systems: source-side spans of the reverse direction (the opposite model
    scoring the source given the translation) against gold omissions."""
    gold = omission_gold(rows)
    mine = [r for r in rows if r["set"] == "pt-en MT systems"]
    items = [SpanItem(r["source"], word_spans(r["source"]), np.zeros((0, 0)),
                      gold.get((r["system"], r["source"], r["mt"]), ()), "omissions") for r in mine]
    flipped = [dict(r, source=r["mt"], mt=r["source"], forward=r["reverse"], reverse=r["forward"],
                    lp="en-pt") for r in mine]
    predictions = {"combined only (as shipped, reverse head)":
                   shipped_spans(flipped, items, "combined")}
    for name, candidate in candidates.items():
        model = SpanModel.from_dict(candidate["model"])
        preds = []
        for r in flipped:
            words, x = word_features(r["mt"], r["source"], arrays(r["forward"]), arrays(r["reverse"]))
            preds.append(tuple((e.start, e.end, e.severity)
                               for e in model.spans(r["mt"], words, model.probabilities(x))))
        predictions[name] = preds
    predictions["every character"] = everything(items)
    predictions["random words at the gold rate"] = random_words(items)
    out = {"segments": len(items), "with_omissions": sum(bool(i.gold) for i in items)}
    for name, preds in predictions.items():
        segs = [evaluation.Segment(i.mt, i.gold, p) for i, p in zip(items, preds)]
        out[name] = {}
        for key, severity in (("wmt23", True), ("binary", False)):
            r = evaluation.span_f1(segs, severity)
            low, high = evaluation.span_f1_ci(segs, severity, samples)
            out[name][key] = round(r["f1"], 4)
            out[name][f"{key}_ci"] = [round(low, 4), round(high, 4)]
    return out


def tables(report) -> str:
    """The report as markdown: out-of-fold F1 per set, the synthetic rates, paired tests."""
    from benchmarks.qe_bench_common import markdown_table
    out = []
    rows = []
    for name, entry in list(report["candidates"].items()) + list(report["baselines"].items()):
        row = [name]
        for s in SETS:
            o = entry["oof"][s]
            row += [f"{o['binary']:.3f} [{o['binary_ci'][0]:.3f}, {o['binary_ci'][1]:.3f}]",
                    f"{o['wmt23']:.3f}", f"{o['flagged']:.2f}"]
        rows.append(row)
    head = ["spans from"] + [f"{s}: {k}" for s in SETS for k in ("binary F1 [95% CI]", "WMT23 F1",
                                                                    "flagged")]
    out.append(markdown_table(head, rows))
    rows = []
    for name, entry in report["candidates"].items():
        synth, flores = entry["synthetic_dev"], report.get("flores_test", {}).get(name, {})
        major = entry["oof_all_major"]
        rows.append([name] + [f"{synth[lp]['marked']:.3f} / {synth[lp]['flagged']:.3f}"
                              for lp in sorted(synth)]
                    + [f"{flores[lp]['marked']:.3f} / {flores[lp]['flagged']:.3f}" if lp in flores
                       else "" for lp in sorted(synth)]
                    + [" / ".join(f"{entry['oof'][s]['wmt23']:.3f} vs {major[s]['wmt23']:.3f}"
                                  for s in SETS)])
    out.append(markdown_table(["candidate"] + [f"dev {lp}: marked / clean flagged" for lp in
                                               sorted(synth)]
                              + [f"FLORES (test) {lp}: marked / clean flagged" for lp in sorted(synth)]
                              + ["WMT23 F1 with its severities vs all major (3 sets)"], rows))
    for name, entry in report["candidates"].items():
        rows = [[b] + [f"{p[s]['binary']:.3f} / {p[s]['wmt23']:.3f}" for s in SETS]
                for b, p in entry["paired_p"].items()]
        out.append(f"Paired bootstrap, p that **{name}** is not better (binary / WMT23):\n\n"
                   + markdown_table(["baseline"] + SETS, rows))
    om = report.get("omissions")
    if om:
        rows = [[n, f"{v['binary']:.3f} [{v['binary_ci'][0]:.3f}, {v['binary_ci'][1]:.3f}]",
                 f"{v['wmt23']:.3f}"] for n, v in om.items() if isinstance(v, dict)]
        out.append(f"Omissions (source side, pt-en MT systems, {om['with_omissions']} of "
                   f"{om['segments']} segments with a gold omission):\n\n"
                   + markdown_table(["source spans from", "binary F1 [95% CI]", "WMT23 F1"], rows))
    return "\n\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "runs" / "span-dev" / "report.json")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--test", action="store_true", help="also FLORES devtest (test only)")
    parser.add_argument("--tables", type=Path, default=None, metavar="REPORT",
                        help="print a finished report as markdown tables and stop")
    args = parser.parse_args(argv)
    if args.tables:
        print(tables(json.loads(args.tables.read_text(encoding="utf-8"))))
        return
    start = time.time()
    rows = load("biomqm")
    items = items_of(rows, "set")
    folds = [fold_of(r["doc"], FOLDS) for r in rows]
    synth_rows = load("synthetic-dev")
    synth = items_of(synth_rows, "lp")
    extra = items_of(load("synthetic-train"), "lp")
    report: Dict[str, object] = {"folds": FOLDS, "segments": {s: sum(i.group == s for i in items)
                                                              for s in SETS}}
    predictions: Dict[str, List[tuple]] = {}
    candidates = {}
    for name, (features, inputs, share) in CANDIDATES.items():
        fit = model_fit(features, extra, share)
        predictions[name] = out_of_fold(items, folds, synth, fit)
        full = fit_span_model(items, features, synthetic=synth, extra=extra, extra_share=share)
        as_major = [tuple((s, e, "major") for s, e, _ in p) for p in predictions[name]]
        candidates[name] = {"inputs": inputs, "oof": evaluate(items, predictions[name], args.samples),
                            "oof_all_major": evaluate(items, as_major, args.samples),
                            "synthetic_dev": synthetic_report(full, synth),
                            "model": full.to_dict()}
        print(f"{name}: {json.dumps(candidates[name]['oof'])} ({time.time() - start:.0f}s)",
              file=sys.stderr, flush=True)
    baselines = {}
    for stat in SINGLE:
        scores = {id(i): single_scores(r, stat) for r, i in zip(rows, items)}
        predictions[f"{stat} only (fitted)"] = out_of_fold(items, folds, [], single_fit(stat, scores))
        predictions[f"{stat} only (as shipped)"] = shipped_spans(rows, items, stat)
    predictions["every character"] = everything(items)
    predictions["random words at the gold rate"] = random_words(items)
    for name in predictions:
        if name not in CANDIDATES:
            baselines[name] = {"oof": evaluate(items, predictions[name], args.samples)}
    for name in CANDIDATES:
        candidates[name]["paired_p"] = {b: paired(items, predictions[name], predictions[b],
                                                  args.samples) for b in baselines}
    report["candidates"], report["baselines"] = candidates, baselines
    report["omissions"] = omission_report(rows, candidates, args.samples)
    if args.test:
        flores = items_of(load("flores-test"), "lp")
        report["flores_test"] = {
            n: synthetic_report(SpanModel.from_dict(candidates[n]["model"]), flores)
            for n in CANDIDATES}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.json} ({time.time() - start:.0f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
