"""The human-agreement dev protocol: every direction, method and aggregation on BioMQM round one
(agreement with people) and on the synthetic dev challenge set (single errors, alternatives).

    python -m benchmarks.human_dev --json runs/human-dev/report.json          # shipped heads
    python -m benchmarks.human_dev --head-pt-en DIR --head-en-pt DIR --json ...
    python -m scripts.select_human_scoring runs/human-dev/report.json          # the rule

Directions: *forward* scores the translation given the source with the model of the pair;
*reverse* scores the source given the translation with the model of the opposite pair (the
other Bergamot student and its head); *both* adds the two. Every (source, translation) pair is
scored once per direction and model; every candidate comes from those token arrays (sigmoid,
softmax, and which tokens start a word), never re-scored. Token arrays are cached in
``runs/human-cache`` (JSON, keyed by model, head fingerprint and the package's scoring code).

BioMQM round one (``../shared/data/bio-mqm/``): pt-en MT systems, pt-en linguist references,
en-pt linguist references. Statistic: Spearman with MQM over every row (higher MQM = better,
every candidate oriented higher = better), 95% bootstrap interval over segments (1000
resamples, seed 1234), PERM-BOTH p-value against the forward log-prob sum, and paired
bootstrap intervals (the same resamples) of the difference to the forward log-prob sum and, for
a head-based candidate, to its softmax-only twin (same direction and aggregation). Synthetic dev
(``heads_data.dev_items``: the heads' dev slice and non-FLORES dev rows, alt-dev groups):
detection (original above its single-error copy) and tolerance (both valid translations above
the error copy). FLORES devtest, alt-test and BioMQM beyond round one are never read here.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks.bench_biomqm import TABLES, load_table
from benchmarks.candidates import DIRECTIONS, LENGTH, Candidate
from benchmarks.qe_bench_common import BIOMQM, MODELS, code_fingerprint

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Pair = Tuple[str, str]
REVERSE = {"en-pt": "pt-en", "pt-en": "en-pt"}
CACHE = ROOT / "runs" / "human-cache"

#: Weights a of the combined token score sigma^a p^(1-a) compared (0 = softmax, 1 = sigmoid).
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Sentence aggregations compared (see ``aggregate``).
AGGREGATES = ("errors", "word-errors", "count", "prod", "mean", "mean-log")
#: Every candidate compared, in the rule's tie-break order (direction, then aggregation).
CANDIDATES = tuple(Candidate.of_weight(direction, weight, how) for weight in WEIGHTS
                   for direction in DIRECTIONS for how in AGGREGATES)
#: label -> the label of its softmax-only twin (head-based candidates only).
TWINS = {c.label: c.twin().label for c in CANDIDATES if c.twin() is not None}
LENGTH_LABEL = Candidate(method=LENGTH).label
#: Token score below which ``count`` counts a token as an error.
COUNT_THRESHOLD = 0.5


# -- token arrays ---------------------------------------------------------------------------------
def word_starts(text: str, tokens) -> np.ndarray:
    """1 where a scored token begins a new whitespace-separated word of ``text`` (EOS and the
    first token always do), else 0."""
    out = []
    for t in tokens:
        piece = text[t.start:t.end]
        starts = (t.start == t.end or t.start == 0 or piece[:1].isspace()
                  or text[t.start - 1].isspace() or t.token.startswith("\u2581"))
        out.append(1 if starts or not out else 0)
    return np.array(out, dtype=np.int8)


def token_arrays(qe, pairs: Sequence[Pair], batch_size: int = 32,
                 progress: bool = False) -> List[Dict[str, np.ndarray]]:
    """{"sigmoid", "softmax", "word"} arrays over the scored tokens of every (src, hyp) pair,
    cached per model + head + scoring code."""
    key = (f"{qe.name}|{qe.head_fingerprint()}|eos={qe.include_eos}|{qe.softmax_over}|"
           f"{code_fingerprint()}")
    path = CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    cache: Dict[Pair, Dict[str, np.ndarray]] = {}
    if path.is_file():
        for src, hyp, arrays in json.loads(path.read_text(encoding="utf-8")):
            cache[(src, hyp)] = {k: np.asarray(v) for k, v in arrays.items()}
    todo = list(dict.fromkeys(p for p in pairs if p not in cache))
    start = time.time()
    chunk = 4000  # saved after each chunk: a killed run keeps what it scored
    for lo in range(0, len(todo), chunk):
        part = todo[lo:lo + chunk]
        result = qe.score([s for s, _ in part], [h for _, h in part], method="sigmoid",
                          aggregate="mean", extra_stats=["softmax"], batch_size=batch_size,
                          progress=progress, check_direction=False)
        for pair, seg in zip(part, result.segments):
            cache[pair] = {"sigmoid": np.array([t.sigmoid for t in seg.tokens]),
                           "softmax": np.array([t.softmax for t in seg.tokens]),
                           "word": word_starts(pair[1], seg.tokens)}
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps([[s, h, {k: v.tolist() for k, v in a.items()}]
                                   for (s, h), a in cache.items()], ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)
        print(f"  {qe.name}: scored {lo + len(part)}/{len(todo)} pairs "
              f"({time.time() - start:.0f}s)", file=sys.stderr, flush=True)
    return [cache[p] for p in pairs]


# -- candidates -----------------------------------------------------------------------------------
def token_score(arrays: Dict[str, np.ndarray], weight: float) -> np.ndarray:
    """sigma^a p^(1-a) per token: a = 0 is the softmax, a = 1 the head (``methods.token_scores``)."""
    from sigmoid_qe.methods import token_scores
    return token_scores("combined", arrays, weight)


def aggregate(values: np.ndarray, words: np.ndarray, how: str) -> float:
    """One direction's sentence score (higher = better)."""
    from sigmoid_qe.methods import aggregate_scores
    if how == "word-errors":  # token -> word minimum -> expected number of bad words
        ids = np.cumsum(words) - 1
        worst = np.full(ids[-1] + 1, np.inf)
        np.minimum.at(worst, ids, values)
        return -float(np.sum(1.0 - worst))
    if how == "count":
        return -float(np.sum(values < COUNT_THRESHOLD))
    return aggregate_scores(values.tolist(), how)


def candidate_scores(fwd: List[Dict[str, np.ndarray]],
                     rev: List[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    """{label: sentence score per pair} for every direction x weight x aggregation, plus the
    length baselines. ``both`` follows the package's rule (:func:`sigmoid_qe.directions.combine`:
    counts and sums of logs add, means are averaged)."""
    from sigmoid_qe.directions import combine
    out: Dict[str, np.ndarray] = {}
    for weight in WEIGHTS:
        f_tok = [token_score(a, weight) for a in fwd]
        r_tok = [token_score(a, weight) for a in rev]
        for how in AGGREGATES:
            f = np.array([aggregate(v, a["word"], how) for v, a in zip(f_tok, fwd)])
            r = np.array([aggregate(v, a["word"], how) for v, a in zip(r_tok, rev)])
            out[Candidate.of_weight("forward", weight, how).label] = f
            out[Candidate.of_weight("reverse", weight, how).label] = r
            out[Candidate.of_weight("both", weight, how).label] = np.array(
                [combine(x, y, how) for x, y in zip(f, r)])
    out[LENGTH_LABEL] = np.array([-float(len(a["softmax"])) for a in fwd])
    return out


# -- BioMQM ---------------------------------------------------------------------------------------
def biomqm_report(models, samples: int, seed: int, progress: bool) -> Dict[str, object]:
    from benchmarks.bench_biomqm import as_matrix
    from sigmoid_qe.metaeval import resampling, stats
    report: Dict[str, object] = {}
    for title, name, lp in TABLES:
        frame = load_table(BIOMQM / name)
        pairs = list(zip(frame["source"], frame["hypothesis"]))
        fwd = token_arrays(models[lp], pairs, progress=progress)
        rev = token_arrays(models[REVERSE[lp]], [(h, s) for s, h in pairs], progress=progress)
        scores = candidate_scores(fwd, rev)
        gold = as_matrix(frame, frame["human"])
        indices = resampling.item_bootstrap_indices(gold.shape[1], samples, seed)
        baseline = as_matrix(frame, scores["forward softmax prod"])
        boot = {label: np.array([stats.spearman(gold[..., idx], as_matrix(frame, values)[..., idx])
                                 for idx in indices]) for label, values in scores.items()}
        rows = {}
        for label, values in scores.items():
            metric = as_matrix(frame, values)
            rho = stats.spearman(gold, metric)
            low, high = resampling.percentile_interval(boot[label])
            perm = resampling.perm_both(lambda g, m: stats.spearman(g.values, m), gold, baseline,
                                        metric, k=samples, seed=seed)
            rows[label] = {"spearman": rho, "ci": [low, high], "p_vs_logprob_sum": perm.p_value,
                           "gap_vs_logprob_sum_ci": list(resampling.percentile_interval(
                               boot[label] - boot["forward softmax prod"]))}
            twin = TWINS.get(label)
            if twin is not None:
                rows[label]["gap_vs_softmax_twin_ci"] = list(resampling.percentile_interval(
                    boot[label] - boot[twin]))
        report[name] = {"title": title, "lp": lp, "rows": len(frame), "results": rows}
        print(f"  BioMQM {title}: done", file=sys.stderr, flush=True)
    return report


# -- synthetic dev --------------------------------------------------------------------------------
def synthetic_report(models, lps: Sequence[str], progress: bool, split: str = "dev",
                     samples: int = 1000, seed: int = 1234) -> Dict[str, object]:
    """Detection and tolerance of every candidate on the dev challenge set (``split="dev"``)
    or on the test sets (``"test"``: FLORES devtest detection, alt-test tolerance; reported,
    never chosen on), with 95% bootstrap intervals over items."""
    from sigmoid_qe.challenge.sets import scored_pairs
    if split == "dev":
        from benchmarks.heads_data import dev_items as items_of
    else:
        from benchmarks.bench_heads_test import test_items as items_of
    rng = np.random.default_rng(seed)
    report: Dict[str, object] = {}
    for lp in lps:
        detection, tolerance = items_of(lp)
        pairs = scored_pairs(detection, tolerance)
        fwd = token_arrays(models[lp], pairs, progress=progress)
        rev = token_arrays(models[REVERSE[lp]], [(h, s) for s, h in pairs], progress=progress)
        det_idx = rng.integers(0, len(detection), (samples, len(detection)))
        tol_idx = rng.integers(0, len(tolerance), (samples, len(tolerance)))
        rows = {}
        for label, values in candidate_scores(fwd, rev).items():
            table = dict(zip(pairs, values.tolist()))
            hits = np.array([table[d.original] > table[d.perturbed] for d in detection])
            both = np.array([table[t.a] > table[t.perturbed] and table[t.b] > table[t.perturbed]
                             for t in tolerance])
            kinds = {kind: float(np.mean([h for h, d in zip(hits, detection) if d.kind == kind]))
                     for kind in ("deletion", "untranslated")}
            rows[label] = {"detection": float(hits.mean()), "tolerance": float(both.mean()),
                           "detection_ci": list(np.quantile(hits[det_idx].mean(1), [0.025, 0.975])),
                           "tolerance_ci": list(np.quantile(both[tol_idx].mean(1), [0.025, 0.975])),
                           **kinds}
        report[lp] = {"pairs": len(pairs), "detection_items": len(detection),
                      "tolerance_items": len(tolerance), "results": rows}
        print(f"  {split} {lp}: done", file=sys.stderr, flush=True)
    return report


#: The rows of the markdown tables (every candidate stays in the JSON).
TABLE_ROWS = ("forward softmax prod", "forward softmax errors", "forward softmax word-errors",
              "forward softmax mean", "forward combined a=0.25 prod", "forward combined a=0.5 prod",
              "forward combined a=0.5 mean-log", "forward combined a=0.25 errors",
              "forward combined a=0.75 word-errors", "forward sigmoid prod",
              "forward sigmoid errors", "forward sigmoid mean", "reverse softmax prod",
              "reverse sigmoid errors", "both softmax prod", "both softmax errors",
              "both combined a=0.25 prod", "both combined a=0.5 errors", "both sigmoid errors",
              "both softmax count", "length (-tokens)")


def markdown(report: Dict[str, object], rows: Sequence[str] = TABLE_ROWS) -> str:
    """The dev tables of a report: BioMQM Spearman [95% CI] per set, the mean, the gap to the
    forward log-prob sum and to the softmax twin [95% CI]; synthetic detection / tolerance."""
    from benchmarks.qe_bench_common import markdown_table
    sets = list(report["biomqm"])
    out = []
    body = []
    for label in rows:
        cells = [label]
        values = []
        for name in sets:
            r = report["biomqm"][name]["results"][label]
            values.append(r["spearman"])
            cells.append(f"{r['spearman']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"
                         f"{'*' if r['p_vs_logprob_sum'] < 0.05 else ''}")
        cells.append(f"{sum(values) / len(values):.4f}")
        for key in ("gap_vs_logprob_sum_ci", "gap_vs_softmax_twin_ci"):
            gaps = [report["biomqm"][n]["results"][label].get(key) for n in sets]
            cells.append(" / ".join(f"[{g[0]:+.3f}, {g[1]:+.3f}]" for g in gaps) if all(gaps)
                         else "")
        body.append(cells)
    titles = [report["biomqm"][n]["title"] for n in sets]
    out.append(markdown_table(["candidate", *titles, "mean", "gap to log-prob sum [95% CI], per set",
                               "gap to softmax twin [95% CI], per set"], body))
    for part in ("synthetic", "test"):
        if part not in report:
            continue
        lps = list(report[part])
        body = []
        for label in rows:
            cells = [label]
            for lp in lps:
                r = report[part][lp]["results"][label]
                ci = (f" [{r['detection_ci'][0]:.3f}, {r['detection_ci'][1]:.3f}]"
                      if "detection_ci" in r else "")
                tci = (f" [{r['tolerance_ci'][0]:.3f}, {r['tolerance_ci'][1]:.3f}]"
                       if "tolerance_ci" in r else "")
                cells += [f"{r['detection']:.3f}{ci}", f"{r['tolerance']:.3f}{tci}",
                          f"{r['deletion']:.3f}", f"{r['untranslated']:.3f}"]
            body.append(cells)
        heads = [f"{lp} {k}" for lp in lps for k in ("detection", "tolerance", "deletion",
                                                      "untranslated")]
        out.append(f"{part}:\n\n" + markdown_table(["candidate", *heads], body))
    return "\n\n".join(out)


def load_models(heads: Dict[str, Optional[str]], softmax_over: str = "full"):
    from sigmoid_qe import load_model
    return {lp: load_model(MODELS[lp], head=heads.get(lp), device="cpu", softmax_over=softmax_over)
            for lp in MODELS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head-en-pt", help="head directory for bergamot-en-pt (default: shipped)")
    parser.add_argument("--head-pt-en", help="head directory for bergamot-pt-en (default: shipped)")
    parser.add_argument("--json", type=Path, required=True, help="write every number here")
    parser.add_argument("--parts", nargs="+", default=["biomqm", "synthetic"],
                        choices=["biomqm", "synthetic", "test"],
                        help="test: FLORES devtest detection and alt-test tolerance (reported only)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--markdown", action="store_true",
                        help="print the tables of an existing --json report, score nothing")
    parser.add_argument("--softmax-over", choices=["full", "shortlist"], default="full",
                        help="softmax normaliser (the selection of issue 19 read 'full')")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.json.read_text(encoding="utf-8"))))
        return 0
    start = time.time()
    models = load_models({"en-pt": args.head_en_pt, "pt-en": args.head_pt_en}, args.softmax_over)
    report: Dict[str, object] = {
        "heads": {lp: qe.head_fingerprint() for lp, qe in models.items()},
        "softmax_over": args.softmax_over,
        "count_threshold": COUNT_THRESHOLD}
    if args.json.is_file():  # parts computed earlier are kept
        old = json.loads(args.json.read_text(encoding="utf-8"))
        if old.get("heads") == report["heads"] and old.get("softmax_over") == args.softmax_over:
            report.update({k: v for k, v in old.items() if k in ("biomqm", "synthetic", "test")})
    if "biomqm" in args.parts:
        report["biomqm"] = biomqm_report(models, args.samples, args.seed, args.progress)
    if "synthetic" in args.parts:
        report["synthetic"] = synthetic_report(models, ("pt-en", "en-pt"), args.progress)
    if "test" in args.parts:
        report["test"] = synthetic_report(models, ("pt-en", "en-pt"), args.progress, "test")
    report["seconds"] = round(time.time() - start, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.json} ({report['seconds']:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
