"""Does ``sigmoid-qe-filter --keep-top`` find the noise in a parallel corpus?

    python -m benchmarks.bench_filter_noise                 # both directions, 20% noise
    python -m benchmarks.bench_filter_noise --lps en-pt --noise 0.1

A copy of ``parallel/en-pt/dev.tsv`` (1,485 pairs; ``--split dev``: the heads' 2,000-pair dev
slice instead) with a known share of its targets replaced
(seeded; the same rows are noised in both directions), in four equal kinds:

* ``shuffled``: the target of another noised row (a misaligned pair);
* ``untranslated``: the source copied as the target;
* ``truncated``: the first third of the target's words (rows of 6+ words);
* ``wrong-language``: a German sentence (WMT23 en-de references) in place of the target.

Every method ranks the pairs and keeps the top (1 - noise rate), as ``--keep-top`` does (ties:
the earlier line). Reported: precision of the kept set (share of clean pairs), recall of the
clean pairs (share kept; at the true rate precision and recall coincide when every kept pair
is counted), and the share of each noise kind dropped. Methods: the filter's default (what
``sigmoid-qe-filter`` uses with no flags, ``FILTER_SCORING``: chosen on ``--split dev``), the
head's scoring default, the head's and the softmax's other aggregations, BoostedProb, and the
length ratio (``-|log(len(tgt)/len(src))|`` in characters), a common heuristic
filter, and the two-direction rows (``both``: the opposite student also scores the source given
the target, ``sigmoid_qe.directions.combine`` of the two). The filter's default is the row with
the highest kept precision averaged over both directions on ``--split dev`` (rule fixed
2026-12-07 before the two-direction rows were run; a tie keeps the current default).
One scoring pass per direction gives every model-based method; the benchmark then runs
``sigmoid-qe-filter`` itself on the noisy file and checks that it keeps the same pairs as the
filter-default row.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.candidates import Candidate
from benchmarks.heads_data import load_split
from benchmarks.qe_bench_common import (
    MODELS,
    SHARED,
    load_heads,
    markdown_table,
    read_parallel,
    score_all_heads,
    sentence_scores,
    shipped_method,
)

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("shuffled", "untranslated", "truncated", "wrong-language")
GERMAN = SHARED / "mt-metrics-eval-v2" / "wmt23" / "references" / "en-de.refA.txt"


def noisy_corpus(rows: Sequence[Dict[str, str]], lp: str, rate: float, seed: int = 0
                 ) -> Tuple[List[Tuple[str, str]], List[str]]:
    """(source, target) pairs with ``rate`` of the targets replaced, and each pair's label
    ("clean" or a noise kind). Which rows get which kind depends only on ``seed``."""
    src, tgt = lp.split("-")
    rng = np.random.default_rng(seed)
    pairs = [(r[src], r[tgt]) for r in rows]
    labels = ["clean"] * len(pairs)
    long_rows = [i for i, (_, t) in enumerate(pairs) if len(t.split()) >= 6]
    per_kind = round(len(pairs) * rate / len(KINDS))
    chosen = rng.choice(long_rows, size=per_kind * len(KINDS), replace=False)
    german = [line for line in GERMAN.read_text(encoding="utf-8").splitlines() if 20 < len(line) < 300]
    german_picks = rng.choice(len(german), size=per_kind, replace=False)
    groups = {kind: chosen[k * per_kind:(k + 1) * per_kind] for k, kind in enumerate(KINDS)}
    shuffled = groups["shuffled"]
    for i, j in zip(shuffled, np.roll(shuffled, 1)):  # a cycle: nobody keeps its own target
        pairs[i], labels[i] = (pairs[i][0], rows[j][tgt]), "shuffled"
    for i in groups["untranslated"]:
        pairs[i], labels[i] = (pairs[i][0], pairs[i][0]), "untranslated"
    for i in groups["truncated"]:
        words = pairs[i][1].split()
        pairs[i], labels[i] = (pairs[i][0], " ".join(words[:max(1, len(words) // 3)])), "truncated"
    for i, g in zip(groups["wrong-language"], german_picks):
        pairs[i], labels[i] = (pairs[i][0], german[g]), "wrong-language"
    return pairs, labels


def keep_top(scores: np.ndarray, k: int) -> np.ndarray:
    """The mask of the ``k`` highest scores, earlier pairs first among equals (as the CLI)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    mask = np.zeros(len(scores), dtype=bool)
    mask[order[:k]] = True
    return mask


def length_ratio(pairs: Sequence[Tuple[str, str]]) -> np.ndarray:
    return np.array([-abs(math.log((len(t) + 1) / (len(s) + 1))) for s, t in pairs])


def run_cli(pairs: Sequence[Tuple[str, str]], lp: str, percent: float) -> List[Tuple[str, str]]:
    """``sigmoid-qe-filter --keep-top`` on the noisy corpus: the kept pairs."""
    with tempfile.TemporaryDirectory() as tmp:
        tsv, out = Path(tmp) / "noisy.tsv", Path(tmp) / "kept.tsv"
        tsv.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
        subprocess.run(["sigmoid-qe-filter", "--tsv", str(tsv), "--lp", lp, "--keep-top",
                        f"{percent:g}%", "-o", str(out), "--quiet"], check=True)
        return [tuple(line.split("\t", 1)) for line in out.read_text(encoding="utf-8").splitlines()]


def corpus_rows(split: str) -> List[Dict[str, str]]:
    """``test``: parallel/en-pt/dev.tsv (the benchmark); ``dev``: the heads' held-out dev
    slice of train.tsv (``benchmarks/heads_data.py``), where the filter's default was chosen."""
    if split == "test":
        return read_parallel("dev")
    return load_split("dev-slice")


def evaluate(lp: str, rate: float, seed: int, cache_dir: Path, check_cli: bool,
             split: str = "test") -> str:
    pairs, labels = noisy_corpus(corpus_rows(split), lp, rate, seed)
    labels_arr = np.array(labels)
    clean = labels_arr == "clean"
    models = load_heads(lp, None, {})
    trained = {name: qe for name, qe in models.items() if name == "trained"} or models
    start = time.time()
    stats = score_all_heads(trained, pairs, cache_dir=cache_dir)
    head = next(iter(trained))
    back = score_all_heads({head: trained[head].reverse}, [(t, s) for s, t in pairs],
                           cache_dir=cache_dir)
    seconds = time.time() - start
    head = next(iter(trained))
    from sigmoid_qe.filtering import FILTER_DIRECTION, FILTER_SCORING
    method, aggregate = FILTER_SCORING
    head_of = {"sigmoid": head, "combined": head}
    weight = trained[head].combine_weight
    default = Candidate(method=method, weight=weight if method == "combined" else None,
                        aggregate=aggregate, head=head_of.get(method),
                        role="filter default" if FILTER_DIRECTION == "forward" else "")
    methods: List[Candidate] = [default]
    shipped = shipped_method(models)
    if shipped is not None:
        methods.append(Candidate(*shipped.key, role="the head's scoring default"))
    methods += [Candidate(method="sigmoid", aggregate=how, head=head)
                for how in ("mean", "mean-log", "prod")]
    methods += [Candidate(method="combined", weight=weight, aggregate=how, head=head)
                for how in ("mean", "mean-log")]
    methods += [Candidate(method="softmax", aggregate=how) for how in ("mean", "mean-log", "prod")]
    methods.append(Candidate(method="boosted", aggregate="mean"))
    methods = [m for k, m in enumerate(methods) if m.key not in {o.key for o in methods[:k]}]
    k = int(clean.sum())
    rows, masks = [], {}
    for method in methods:
        mask = keep_top(sentence_scores(method, stats), k)
        label = f"**{method.label}**" if method.role == "filter default" else method.label
        masks[label] = mask
        rows.append(_row(label, mask, clean, labels_arr))
    from sigmoid_qe.directions import combine
    from sigmoid_qe.languages import detect
    from sigmoid_qe.off_target import target_language
    expected = target_language(lp)
    off = np.array([detect(t, expected)[1] for _, t in pairs])
    rev_weight = trained[head].reverse.combine_weight
    for stat, agg in (("sigmoid", "mean"), ("sigmoid", "errors"), ("combined", "mean-log"),
                      ("combined", "prod"), ("softmax", "prod"), ("softmax", "mean-log")):
        forward = Candidate("forward", stat, weight if stat == "combined" else None, agg,
                            head_of.get(stat))
        reverse = Candidate("reverse", stat, rev_weight if stat == "combined" else None, agg,
                            head_of.get(stat))
        label = Candidate("both", stat, None, agg, head_of.get(stat)).label
        f = sentence_scores(forward, stats)
        r = sentence_scores(reverse, back)
        both = np.array([combine(x, y, agg) for x, y in zip(f, r)])
        mask = keep_top(both, k)
        if (stat, agg) == FILTER_SCORING and FILTER_DIRECTION == "both":
            masks[label] = mask
            rows.append(_row(label + " (no language check)", mask, clean, labels_arr))
            # what sigmoid-qe-filter does: off-target pairs never kept, the rest by score
            label = f"**filter default: {label}, off-target pairs dropped**"
            mask = keep_top(np.where(off, -np.inf, both), k) & ~off
        masks[label] = mask
        rows.append(_row(label, mask, clean, labels_arr))
    rows.append(_row("length ratio (characters)", keep_top(length_ratio(pairs), k), clean, labels_arr))
    percent = 100.0 * k / len(pairs)
    lines = [f"### {lp} ({split} data): {MODELS[lp]}, {len(pairs)} pairs, {len(pairs) - k} noised "
             f"({100 * (1 - k / len(pairs)):.1f}%), --keep-top {percent:.2f}%",
             "",
             markdown_table(["method", "kept precision", "clean recall",
                             *[f"{kind} dropped" for kind in KINDS]], rows),
             "",
             f"_One scoring pass ({len(pairs)} pairs, every model-based row) in {seconds:.0f}s._"]
    if check_cli:
        kept = run_cli(pairs, lp, percent)
        default_label = next(label for label in masks if label.startswith("**filter default"))
        expected = [p for p, keep in zip(pairs, masks[default_label]) if keep]
        same = kept == expected
        lines.append(f"_`sigmoid-qe-filter --keep-top {percent:.2f}%` kept {len(kept)} pairs, "
                     f"{'the same as' if same else 'NOT the same as'} the filter-default row._")
        if not same:
            raise SystemExit(f"{lp}: sigmoid-qe-filter disagrees with the benchmark's selection")
    return "\n".join(lines)


def _row(label: str, kept: np.ndarray, clean: np.ndarray, labels: np.ndarray) -> list:
    precision = float((kept & clean).sum() / max(1, kept.sum()))
    recall = float((kept & clean).sum() / max(1, clean.sum()))
    dropped = [float((~kept & (labels == kind)).sum() / max(1, (labels == kind).sum()))
               for kind in KINDS]
    return [label, precision, recall, *dropped]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lps", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--noise", type=float, default=0.2, help="share of noised pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/bench-cache/filter"))
    parser.add_argument("--no-cli-check", action="store_true")
    parser.add_argument("--split", choices=("test", "dev"), default="test",
                        help="test: parallel/en-pt/dev.tsv; dev: the heads' dev slice (choices)")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    if not GERMAN.is_file():
        print(f"needs the shared data ({GERMAN})", file=sys.stderr)
        return 2
    start = time.time()
    parts = [evaluate(lp, args.noise, args.seed, args.cache_dir, not args.no_cli_check, args.split)
             for lp in args.lps]
    text = "\n\n".join(parts) + f"\n\n_{time.time() - start:.0f}s on this machine._\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
