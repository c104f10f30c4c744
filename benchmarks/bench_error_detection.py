"""Does a QE score prefer a human translation to the same translation with one error in it, and
does it keep preferring a *second* valid translation? The paper's thesis as a controlled test.

    python -m benchmarks.bench_error_detection                   # both directions, default heads
    python -m benchmarks.bench_error_detection --head-en-pt DIR --head-pt-en DIR \
        --extra-head no-excl:en-pt=DIR2 --extra-head no-excl:pt-en=DIR3
    python -m benchmarks.bench_error_detection --limit 100 --tatoeba-limit 100   # quick look

1. **Error detection** (FLORES-200 devtest rows of ``parallel/en-pt/dev.tsv``, 1012 per
   direction): each human translation gets one copy per error kind of
   :mod:`sigmoid_qe.challenge.perturb` (content-word deletion, number change, negation added/removed,
   content-word swap, replacement by a random word of the FLORES target side, a span left
   untranslated); accuracy = share of (original, copy) pairs where the original scores
   strictly higher (a tie is a miss).
2. **Alternative tolerance** (Tatoeba rows of ``dev.tsv`` *and* ``train.tsv``: dev alone has no
   source translated twice): for every source with two or more distinct translations, A and B
   are its first two; A is perturbed as above (replacement words from the Tatoeba target side)
   and we count how often *both* A and B score strictly above the perturbed A'. Caveat: these
   rows are in ``train.tsv``, which the heads are trained on.

Directions: en->pt scores Portuguese translations of English sources with ``bergamot-en-pt``;
pt->en scores English translations with ``bergamot-pt-en``. Every distinct (source,
translation) pair is scored once per head; all methods come from the same token scores.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.candidates import Candidate
from benchmarks.qe_bench_common import (
    MODELS,
    PARALLEL,
    describe_heads,
    load_heads,
    markdown_table,
    methods_for,
    parse_extra_heads,
    read_parallel,
    score_all_heads,
    sentence_scores,
)
from sigmoid_qe.challenge.perturb import KINDS, Perturber, build_vocabulary


def mine_alternatives(rows: Sequence[Dict[str, str]], src: str, tgt: str) -> List[Tuple[str, str, str]]:
    """(source, A, B) for every Tatoeba source with 2+ distinct translations, in corpus order."""
    groups: OrderedDict[str, List[str]] = OrderedDict()
    for row in rows:
        if row["origin"] != "tatoeba":
            continue
        translations = groups.setdefault(row[src], [])
        if row[tgt] not in translations:
            translations.append(row[tgt])
    return [(s, t[0], t[1]) for s, t in groups.items() if len(t) >= 2]


def build_items(lp: str, seed: int, limit: int, tatoeba_splits: Sequence[str], tatoeba_limit: int,
                kinds: Sequence[str]):
    """The pairs to score and the comparisons to make, for one direction."""
    src, tgt = lp.split("-")
    dev = read_parallel("dev")
    flores = [(r[src], r[tgt]) for r in dev if r["origin"] == "flores"]
    flores = flores[:limit] if limit else flores
    perturber = Perturber(tgt, source_lang=src, seed=seed,
                          vocabulary=build_vocabulary([t for _, t in flores], tgt, min_count=2))
    detection = []  # (kind, original pair, perturbed pair)
    for source, translation in flores:
        for kind, p in perturber.perturb_all(translation, source, kinds).items():
            detection.append((kind, (source, translation), (source, p.text)))
    rows = [r for split in tatoeba_splits for r in (dev if split == "dev" else read_parallel(split))]
    alternatives = mine_alternatives(rows, src, tgt)
    alternatives = alternatives[:tatoeba_limit] if tatoeba_limit else alternatives
    tato_vocab = build_vocabulary([r[tgt] for r in rows if r["origin"] == "tatoeba"], tgt, 2)
    tato_perturber = Perturber(tgt, source_lang=src, seed=seed, vocabulary=tato_vocab)
    tolerance = []  # (kind, A pair, B pair, perturbed A pair)
    for source, a, b in alternatives:
        for kind, p in tato_perturber.perturb_all(a, source, kinds).items():
            tolerance.append((kind, (source, a), (source, b), (source, p.text)))
    return flores, detection, alternatives, tolerance


def accuracy_rows(methods: List[Candidate], score_of, comparisons, kinds: Sequence[str]):
    """Per method: accuracy per kind, micro 'all', macro mean of kinds; and tie counts."""
    rows, ties = [], {}
    by_kind = {k: [c for c in comparisons if c[0] == k] for k in kinds}
    for method in methods:
        s = score_of[method.label]
        hits_all, accs, tied = [], [], 0
        row: List[object] = [method.label]
        for kind in kinds:
            hits = [s[orig] > s[pert] for _, orig, pert in by_kind[kind]]
            tied += sum(s[orig] == s[pert] for _, orig, pert in by_kind[kind])
            hits_all += hits
            acc = float(np.mean(hits)) if hits else float("nan")
            accs.append(acc)
            row.append(acc)
        row += [float(np.mean(hits_all)) if hits_all else float("nan"), float(np.nanmean(accs))]
        rows.append(row)
        ties[method.label] = tied
    return rows, ties


def tolerance_rows(methods: List[Candidate], score_of, comparisons, kinds: Sequence[str]):
    """Per method: 'both above' per kind, then A > A', B > A' and both, over all kinds."""
    rows = []
    for method in methods:
        s = score_of[method.label]
        row: List[object] = [method.label]
        for kind in kinds:
            both = [s[a] > s[p] and s[b] > s[p] for k, a, b, p in comparisons if k == kind]
            row.append(float(np.mean(both)) if both else float("nan"))
        a_hits = [s[a] > s[p] for _, a, _, p in comparisons]
        b_hits = [s[b] > s[p] for _, _, b, p in comparisons]
        both = [x and y for x, y in zip(a_hits, b_hits)]
        row += [float(np.mean(v)) if v else float("nan") for v in (a_hits, b_hits, both)]
        rows.append(row)
    return rows


def tie_note(ties: Dict[str, int], total: int) -> str:
    many = {k: v for k, v in ties.items() if total and v / total >= 0.01}
    if not many:
        return ""
    listed = "; ".join(f"{k}: {v}" for k, v in many.items())
    return f"Ties (counted as misses) on {total} pairs — {listed}.\n"


def run_direction(lp: str, args, extra: Dict[str, str]) -> None:
    kinds = list(args.kinds)
    flores, detection, alternatives, tolerance = build_items(
        lp, args.seed, args.limit, args.tatoeba, args.tatoeba_limit, kinds)
    models = load_heads(lp, getattr(args, f"head_{lp.replace('-', '_')}"), extra)
    pairs = list(dict.fromkeys(
        [p for c in detection for p in c[1:]] + [p for c in tolerance for p in c[1:]]))
    token_stats = score_all_heads(models, pairs, args.batch_size, args.cache_dir, args.progress)
    methods = methods_for(list(models), combined=not args.no_combined)
    score_of = {}
    for method in methods:
        values = sentence_scores(method, token_stats)
        score_of[method.label] = dict(zip(pairs, values.tolist()))

    print(f"## {lp}: {MODELS[lp]} (heads: {describe_heads(models)})\n")
    counts = {k: sum(c[0] == k for c in detection) for k in kinds}
    print(f"### Error detection, FLORES devtest ({len(flores)} translations; "
          f"accuracy = original scored strictly above its perturbed copy)\n")
    rows, ties = accuracy_rows(methods, score_of, detection, kinds)
    headers = ["method"] + [f"{k} ({counts[k]})" for k in kinds] + [
        f"all ({len(detection)})", "mean of kinds"]
    print(markdown_table(headers, rows))
    print()
    note = tie_note(ties, len(detection))
    if note:
        print(note)
    tcounts = {k: sum(c[0] == k for c in tolerance) for k in kinds}
    print(f"### Alternative tolerance, Tatoeba ({len(alternatives)} sources with two "
          f"translations A, B from {'+'.join(args.tatoeba)}; share where both A and B score "
          f"strictly above the perturbed A')\n")
    headers = ["method"] + [f"{k} ({tcounts[k]})" for k in kinds] + [
        f"A > A' ({len(tolerance)})", "B > A'", "both"]
    print(markdown_table(headers, tolerance_rows(methods, score_of, tolerance, kinds)))
    print()
    sys.stdout.flush()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directions", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--head-en-pt", help="head directory for bergamot-en-pt (default: load_model's)")
    parser.add_argument("--head-pt-en", help="head directory for bergamot-pt-en (default: load_model's)")
    parser.add_argument("--extra-head", action="append", default=[], metavar="NAME:LP=DIR",
                        help="another head to compare (e.g. an ablation); repeatable")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seed", type=int, default=0, help="perturbation seed")
    parser.add_argument("--limit", type=int, default=0, help="first N FLORES rows (quick runs)")
    parser.add_argument("--tatoeba", nargs="+", choices=("dev", "train"), default=["dev", "train"],
                        help="splits mined for sources translated more than once")
    parser.add_argument("--tatoeba-limit", type=int, default=0, help="first N mined sources")
    parser.add_argument("--no-combined", action="store_true", help="omit the combined sigma^0.5 p^0.5 rows")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", type=Path, help="reuse token scores across runs")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    if not (PARALLEL / "dev.tsv").is_file():
        raise SystemExit(f"{PARALLEL} is missing (../shared/data/parallel/en-pt)")
    extra = parse_extra_heads(args.extra_head)
    start = time.time()
    print(f"# Error detection and alternative tolerance (perturbation seed {args.seed})\n")
    for lp in args.directions:
        run_direction(lp, args, extra.get(lp, {}))
    print(f"_{time.time() - start:.0f}s on this machine._")


if __name__ == "__main__":
    main()
