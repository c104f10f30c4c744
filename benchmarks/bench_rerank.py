"""Does reranking candidates with the head beat taking the model's greedy output?

    python -m benchmarks.bench_rerank                      # both directions, n = 4 8 16
    python -m benchmarks.bench_rerank --limit 50 --ns 4    # quick look

On FLORES-200 devtest (the rows of ``parallel/en-pt/dev.tsv`` whose origin is flores, 1012 per
direction; the references are used to judge only), with the shipped head of each direction:

* candidates: beam search (n = beam = 4, 8, 16, Marian's length normalisation) and epsilon
  sampling (epsilon 0.02, seed 0; the first n of 16 draws, which are a sample of n);
* selection: greedy; the search's best (beam) / best length-normalised log-prob (sampling);
  QE reranking by each method; noisy-channel reranking (``--direction both``: the opposite
  student also scores the source given each candidate, Yee et al. 2019) with the shipped
  method and with the plain log-prob sums; MBR with chrF and with BLEU as utility (the other candidates as
  pseudo-references); MBR-chrF among the n/2 best by the shipped method; the oracle (best
  sentence chrF against the reference);
* judged by corpus chrF and BLEU (sacrebleu defaults), each row against greedy with sacrebleu's
  paired bootstrap (1000 resamples, p < 0.05 marked *); "headroom" = share of the oracle's chrF
  gain over greedy that the row recovers.

Candidates and token scores are cached (``--cache-dir``), so a rerun only redoes what changed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from benchmarks.qe_bench_common import MODELS, markdown_table, read_parallel, score_pairs
from sigmoid_qe import load_model
from sigmoid_qe.decoding import Decoding
from sigmoid_qe.directions import combine
from sigmoid_qe.methods import aggregate_scores, token_scores
from sigmoid_qe.rerank import first_best, top_k, utility_function

EPSILON = 0.02


def qe_methods(model) -> Dict[str, tuple]:
    """label -> (token statistic, aggregate); "combined" uses the head's weight."""
    shipped = (model.default_method, model.default_aggregate)
    methods = {f"QE {shipped[0]} {shipped[1]} (shipped)": shipped}
    for stat, agg in (("sigmoid", "mean"), ("softmax", "mean"), ("softmax", "mean-log"),
                      ("boosted", "mean"), ("combined", "mean-log")):
        if (stat, agg) != shipped:
            methods[f"QE {stat} {agg}"] = (stat, agg)
    return methods


def candidate_scores(tokens: Dict[str, np.ndarray], stat: str, agg: str, weight: float) -> float:
    return aggregate_scores(token_scores(stat, tokens, weight).tolist(), agg)


def cached_candidates(model, sources, decoding: Decoding, path: Path):
    """Candidates (texts, search scores) and generation seconds, cached as JSON."""
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["decoding"] == decoding.record() and data["sources"] == sources:
            return data["texts"], data["scores"], data["seconds"]
    start = time.perf_counter()
    found = model.generate(sources, decoding)
    seconds = time.perf_counter() - start
    texts = [[c.text for c in per] for per in found]
    if decoding.strategy == "sample":  # rank draws by log-prob per token (incl. EOS)
        pieces = model.backend.target_token_ids
        scores = [[c.logprob / (len(pieces(c.text)) + 1) for c in per] for per in found]
    else:
        scores = [[c.score for c in per] for per in found]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"decoding": decoding.record(), "sources": sources, "texts": texts,
                                "scores": scores, "seconds": seconds}, ensure_ascii=False),
                    encoding="utf-8")
    return texts, scores, seconds


def utility_matrix(group: Sequence[str], utility) -> np.ndarray:
    n = len(group)
    matrix = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                matrix[i, j] = utility(group[i], group[j])
    return matrix


def mbr_pick(matrix: np.ndarray, pool: Sequence[int]) -> int:
    pool = list(pool)
    if len(pool) == 1:
        return pool[0]
    sub = matrix[np.ix_(pool, pool)]
    expected = sub.sum(axis=1) / (len(pool) - 1)
    return pool[first_best(expected)]


def evaluate(systems: Dict[str, List[str]], refs: List[str], samples: int) -> Dict[str, dict]:
    """Corpus chrF/BLEU and paired-bootstrap p-values against the first system (greedy)."""
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest
    names = list(systems)
    metrics = {"BLEU": BLEU(), "chrF": CHRF()}
    test = PairedTest([(n, systems[n]) for n in names], metrics, references=[refs],
                      test_type="bs", n_samples=samples)
    _, results = test()
    out = {}
    for k, name in enumerate(names):
        row = {}
        for metric, key in (("chrF", "chrF2"), ("BLEU", "BLEU")):  # sacrebleu's names
            result = results[key][k]
            row[metric] = result.score
            row[f"{metric} p"] = getattr(result, "p_value", None) if k else None
        out[name] = row
    return out


def _mark(row: dict, metric: str) -> str:
    p = row[f"{metric} p"]
    return "*" if p is not None and p < 0.05 else ""


def generate_all(lp: str, ns: Sequence[int], limit: int, cache: Path) -> None:
    src_lang = lp.split("-")[0]
    rows = [r for r in read_parallel("dev") if r["origin"] == "flores"][: limit or None]
    sources = [r[src_lang] for r in rows]
    model = load_model(MODELS[lp], device="cpu")
    cached_candidates(model, sources, Decoding("sample", max(ns), epsilon=EPSILON),
                      cache / lp / f"sample{max(ns)}.json")
    for n in ns:
        cached_candidates(model, sources, Decoding("beam", n), cache / lp / f"beam{n}.json")


def run_direction(lp: str, ns: Sequence[int], limit: int, cache: Path, samples: int) -> str:
    src_lang, tgt_lang = lp.split("-")
    rows = [r for r in read_parallel("dev") if r["origin"] == "flores"][: limit or None]
    sources, refs = [r[src_lang] for r in rows], [r[tgt_lang] for r in rows]
    model = load_model(MODELS[lp], device="cpu")
    weight = model.combine_weight
    methods = qe_methods(model)
    shipped = next(iter(methods))
    greedy = model.translate(sources)
    chrf, bleu = utility_function("chrf"), utility_function("bleu")
    tables = []
    sample_all = cached_candidates(model, sources, Decoding("sample", max(ns), epsilon=EPSILON),
                                   cache / lp / f"sample{max(ns)}.json")
    for strategy in ("beam", "sample"):
        for n in ns:
            if strategy == "beam":
                texts, scores, _ = cached_candidates(model, sources, Decoding("beam", n),
                                                     cache / lp / f"beam{n}.json")
            else:
                texts = [t[:n] for t in sample_all[0]]
                scores = [s[:n] for s in sample_all[1]]
            pairs = [(s, c) for s, group in zip(sources, texts) for c in group]
            stats = score_pairs(model, pairs, ("sigmoid", "softmax", "boosted"),
                                cache_dir=cache / "scores")
            back = score_pairs(model.reverse, [(c, src) for src, c in pairs],
                               ("sigmoid", "softmax"), cache_dir=cache / "scores")
            per_source = [stats[k * n:(k + 1) * n] for k in range(len(sources))]
            back_source = [back[k * n:(k + 1) * n] for k in range(len(sources))]
            systems: Dict[str, List[str]] = {"greedy": greedy}
            systems["search best" if strategy == "beam" else "best log-prob/token"] = [
                group[first_best(sc)] for group, sc in zip(texts, scores)]
            qe = {label: [[candidate_scores(t, stat, agg, weight) for t in group]
                          for group in per_source]
                  for label, (stat, agg) in methods.items()}
            for label in methods:
                systems[label] = [group[first_best(q)] for group, q in zip(texts, qe[label])]
            rev_weight = model.reverse.combine_weight
            for label, (stat, agg) in (("noisy channel: shipped method, both directions",
                                        (model.default_method, model.default_aggregate)),
                                       ("noisy channel: log-prob sums, both directions",
                                        ("softmax", "prod"))):
                both = [[combine(candidate_scores(f, stat, agg, weight),
                                 candidate_scores(b, stat, agg, rev_weight), agg)
                         for f, b in zip(group, rgroup)]
                        for group, rgroup in zip(per_source, back_source)]
                systems[label] = [group[first_best(q)] for group, q in zip(texts, both)]
            chrf_m = [utility_matrix(g, chrf) for g in texts]
            bleu_m = [utility_matrix(g, bleu) for g in texts]
            systems["MBR chrF"] = [g[mbr_pick(m, range(n))] for g, m in zip(texts, chrf_m)]
            systems["MBR BLEU"] = [g[mbr_pick(m, range(n))] for g, m in zip(texts, bleu_m)]
            k = max(1, n // 2)
            systems[f"MBR chrF, top {k} by {shipped.split(' (')[0]}"] = [
                g[mbr_pick(m, top_k(q, k))] for g, m, q in zip(texts, chrf_m, qe[shipped])]
            systems["oracle (sentence chrF vs reference)"] = [
                g[first_best([chrf(c, r) for c in g])] for g, r in zip(texts, refs)]
            results = evaluate(systems, refs, samples)
            gain = results["oracle (sentence chrF vs reference)"]["chrF"] - results["greedy"]["chrF"]
            table_rows = []
            base = results["greedy"]["chrF"]
            for name, row in results.items():
                headroom = (row["chrF"] - base) / gain * 100 if gain > 0 else float("nan")
                table_rows.append([name, f"{row['chrF']:.2f}{_mark(row, 'chrF')}",
                                   f"{row['BLEU']:.2f}{_mark(row, 'BLEU')}",
                                   "" if name == "greedy" else f"{headroom:.0f}%"])
            tables.append(f"**{lp}, {strategy}, n = {n}** ({len(sources)} sources)\n\n"
                          + markdown_table(["selection", "chrF", "BLEU", "headroom"], table_rows))
    return f"### {lp}\n\n" + "\n\n".join(tables) + "\n\n" + speed(model, sources[:100], ns)


def speed(model, sources: List[str], ns: Sequence[int]) -> str:
    """Candidates generated and scored per second on ``sources`` (timed afresh, no cache)."""
    rows = []
    start = time.perf_counter()
    model.translate(sources)
    rows.append(["greedy", len(sources), f"{len(sources) / (time.perf_counter() - start):.1f}", ""])
    for strategy in ("beam", "sample"):
        for n in ns:
            decoding = Decoding(strategy, n, epsilon=EPSILON) if strategy == "sample" \
                else Decoding("beam", n)
            start = time.perf_counter()
            found = model.generate(sources, decoding)
            generated = time.perf_counter() - start
            flat = [(s, c.text) for s, per in zip(sources, found) for c in per]
            start = time.perf_counter()
            model.score([s for s, _ in flat], [c for _, c in flat], progress=False)
            scored = time.perf_counter() - start
            rows.append([f"{strategy} n={n}", len(flat), f"{len(flat) / generated:.1f}",
                         f"{len(flat) / scored:.1f}"])
    return (f"Speed on the first {len(sources)} sources (2 cores, timed afresh; scored = the "
            "shipped method):\n\n" + markdown_table(["candidates", "count", "generated/s",
                                                       "scored/s"], rows))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lps", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--ns", nargs="+", type=int, default=[4, 8, 16])
    parser.add_argument("--limit", type=int, default=0, help="first N sources only")
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/bench-cache/rerank"))
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    parser.add_argument("--generate-only", action="store_true",
                        help="only generate and cache the candidates")
    args = parser.parse_args(argv)
    if args.generate_only:  # candidates do not depend on the head: make them ahead of time
        for lp in args.lps:
            generate_all(lp, args.ns, args.limit, args.cache_dir)
        return 0
    parts = [run_direction(lp, args.ns, args.limit, args.cache_dir, args.samples) for lp in args.lps]
    text = ("*, p < 0.05 against greedy (sacrebleu paired bootstrap, 1000 resamples). "
            "headroom: share of the oracle's chrF gain over greedy.\n\n" + "\n\n".join(parts) + "\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
