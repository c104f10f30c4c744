"""Slow, obviously-correct reference versions of the meta-evaluation statistics.

They follow the published definitions step by step in plain Python (the way mt-metrics-eval
spells them out: lists with ``None`` for missing human scores, one pair at a time), so the
vectorised code in ``sigmoid_qe.metaeval.stats`` can be checked against them.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence, Tuple

import numpy as np


def _rows(gold, metric, group):
    g = np.asarray(gold, dtype=object)
    m = np.asarray(metric, dtype=object)
    if g.ndim == 1:
        return [list(g)], [list(m)]
    if group == "none":
        return [list(g.ravel())], [list(m.ravel())]
    if group == "sys":
        return [list(r) for r in g], [list(r) for r in m]
    return [list(r) for r in g.T], [list(r) for r in m.T]


def _none(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def pair_stats(h1, h2, m1, m2, epsilon=0.0) -> str:
    """'con', 'dis', 'tie_h', 'tie_m' or 'tie_both' for one pair."""
    metric_tie = abs(m1 - m2) <= epsilon
    if h1 == h2 and metric_tie:
        return "tie_both"
    if h1 == h2:
        return "tie_h"
    if metric_tie:
        return "tie_m"
    if (h1 > h2) == (m1 > m2):
        return "con"
    return "dis"


def acc23_at(gold, metric, epsilon, group="item") -> Optional[Fraction]:
    """Average over groups with pairs of (concordant + tied in both) / pairs, exactly."""
    total, groups = Fraction(0), 0
    for g_row, m_row in zip(*_rows(gold, metric, group)):
        kept = [(h, m) for h, m in zip(g_row, m_row) if not _none(h) and not _none(m)]
        pairs = [(a, b) for i, a in enumerate(kept) for b in kept[i + 1:]]
        if not pairs:
            continue
        good = sum(pair_stats(a[0], b[0], a[1], b[1], epsilon) in ("con", "tie_both")
                   for a, b in pairs)
        total += Fraction(good, len(pairs))
        groups += 1
    return total / groups if groups else None


def acc_eq_brute(gold, metric, group="item") -> Tuple[float, float]:
    """Try every candidate threshold (0 and every pair's |metric difference|) from scratch."""
    candidates = {0.0}
    for g_row, m_row in zip(*_rows(gold, metric, group)):
        kept = [(h, m) for h, m in zip(g_row, m_row) if not _none(h) and not _none(m)]
        for i, a in enumerate(kept):
            for b in kept[i + 1:]:
                candidates.add(abs(a[1] - b[1]))
    best, best_eps = None, None
    for eps in sorted(candidates):
        value = acc23_at(gold, metric, eps, group)
        if best is None or value > best:
            best, best_eps = value, eps
    return float(best), best_eps


def acc_eq_sweep(gold, metric, group="item"):
    """mt-metrics-eval's tau_optimization, pair by pair: sort pairs by |metric difference|,
    turn each into a metric tie in turn and keep the running average; thresholds are the
    distinct differences (0 first), the first maximum wins. Returns (value, eps, thresholds,
    values) with exact fractions."""
    rows = []
    pairs = []
    for row, (g_row, m_row) in enumerate(zip(*_rows(gold, metric, group))):
        kept = [(h, m) for h, m in zip(g_row, m_row) if not _none(h) and not _none(m)]
        n = 0
        good = 0
        for i, a in enumerate(kept):
            for b in kept[i + 1:]:
                before = pair_stats(a[0], b[0], a[1], b[1]) in ("con", "tie_both")
                after = a[0] == b[0]
                pairs.append((abs(a[1] - b[1]), row, int(after) - int(before)))
                good += before
                n += 1
        rows.append((good, n))
    used = [r for r, (_, n) in enumerate(rows) if n]
    counts = {r: rows[r][0] for r in used}
    total = sum(Fraction(counts[r], rows[r][1]) for r in used)
    thresholds, values = [0.0], [total / len(used)]
    for diff, row, change in sorted(pairs, key=lambda p: p[0]):
        total += Fraction(change, rows[row][1])
        if thresholds[-1] == diff:
            values[-1] = total / len(used)
        else:
            thresholds.append(diff)
            values.append(total / len(used))
    k = max(range(len(values)), key=lambda i: (values[i], -i))
    return float(values[k]), thresholds[k], thresholds, [float(v) for v in values]


def agreement(gold: Sequence, metric: Sequence) -> Tuple[int, int]:
    agree = pairs = 0
    for i in range(len(gold)):
        for j in range(i + 1, len(gold)):
            if _none(gold[i]) or _none(gold[j]):
                continue
            agree += np.sign(gold[i] - gold[j]) == np.sign(metric[i] - metric[j])
            pairs += 1
    return int(agree), pairs


def spa_reference(gold, metric, num_permutations=1000, seed=4) -> float:
    """Thompson et al.'s pairwise confidence error, written out per system pair."""
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    keep = ~np.isnan(g).any(axis=0)
    g, m = g[:, keep], m[:, keep]
    rng = np.random.default_rng(seed)
    signs = rng.random(size=(num_permutations, g.shape[1]), dtype=np.float32)
    signs = np.rint(signs) * 2.0 - 1.0
    signs = signs.astype(np.float32)

    def p_values(scores):
        scores = scores.astype(np.float32)
        partial = signs @ scores.T
        sums = scores.sum(axis=1)
        out = {}
        for i in range(len(scores)):
            for j in range(i + 1, len(scores)):
                null = partial[:, i] - partial[:, j]
                out[i, j] = np.sum(null >= sums[i] - sums[j]) / num_permutations
        return out

    ph, pm = p_values(g), p_values(m)
    return 1.0 - float(np.mean([abs(ph[k] - pm[k]) for k in ph]))


def count_inversions(values) -> int:
    """Pairs i < j with ``values[i] > values[j]``, through the package's rank inversions."""
    from sigmoid_qe.metaeval.inversions import rank_inversions
    ranks = np.unique(np.asarray(values), return_inverse=True)[1].astype(np.int64).ravel()
    if len(ranks) < 2:
        return 0
    return rank_inversions(ranks, int(ranks.max()) + 1)
