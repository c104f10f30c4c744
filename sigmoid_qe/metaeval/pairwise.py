"""System-level pairwise accuracy and soft pairwise accuracy (SPA, Thompson et al. 2024).

mt-metrics-eval's ``Agreement`` and ``pce.py``: each statistic a plain function over arrays,
gold first (see :mod:`.stats`).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def agreement(gold, metric) -> Tuple[int, int]:
    """(agreeing pairs, pairs): ``sign`` of the human and the metric difference is the same.

    Ties count: both tied agrees, one tied does not (mt-metrics-eval's ``Agreement``).
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    i, j = np.triu_indices(len(g), 1)
    ok = ~np.isnan(g[i]) & ~np.isnan(g[j])
    agree = np.sign(g[i] - g[j]) == np.sign(m[i] - m[j])
    return int(np.count_nonzero(agree & ok)), int(np.count_nonzero(ok))


def pairwise_accuracy(golds: Sequence, metrics: Sequence) -> float:
    """System-level pairwise accuracy pooled over groups (language pairs): sum of agreeing
    system pairs over the sum of pairs, pairs never crossing groups (WMT's global accuracy)."""
    agree = total = 0
    for g, m in zip(golds, metrics):
        a, n = agreement(g, m)
        agree += a
        total += n
    return agree / total if total else float("nan")


def permutation_sign_matrix(n_items: int, num_permutations: int = 1000,
                            seed: int = 4) -> np.ndarray:
    """The ``[num_permutations, n_items]`` +-1 swaps of mt-metrics-eval's ``pce.py``
    (numpy ``default_rng(seed)``, float32 uniforms rounded), so p-values agree draw for draw."""
    rng = np.random.default_rng(seed)
    signs = rng.random(size=(num_permutations, n_items), dtype=np.float32)
    np.rint(signs, out=signs, casting="same_kind")
    signs *= 2.0
    signs -= 1.0
    return signs


def pairwise_p_values(seg_scores, num_permutations: int = 1000, seed: int = 4,
                      signs: Optional[np.ndarray] = None) -> np.ndarray:
    """Paired permutation p-values that system i beats system j (upper triangle, i < j).

    Systems are compared by the sum of their segment scores; each permutation swaps the two
    systems' scores on a random half of the segments (float32 as in mt-metrics-eval).
    """
    scores = np.asarray(seg_scores, dtype=np.float32)
    if signs is None:
        signs = permutation_sign_matrix(scores.shape[1], num_permutations, seed)
    return _p_values_from_partial(signs @ scores.T, scores.sum(axis=1), signs.shape[0])


def _p_values_from_partial(partial: np.ndarray, sums: np.ndarray, draws: int) -> np.ndarray:
    n_sys = len(sums)
    i, j = np.triu_indices(n_sys, 1)
    p = np.full((n_sys, n_sys), np.nan)
    p[i, j] = ((partial[:, i] - partial[:, j]) >= (sums[i] - sums[j])).sum(axis=0) / draws
    return p


def complete_items(gold) -> np.ndarray:
    """Items (columns) that have a human score for every system."""
    return ~np.isnan(np.asarray(gold, dtype=np.float64)).any(axis=0)


def soft_pairwise_accuracy(gold, metric, num_permutations: int = 1000, seed: int = 4) -> float:
    """SPA (Thompson et al. 2024): ``1 - mean |p_human - p_metric|`` over system pairs.

    ``gold`` and ``metric`` are ``[n_systems, n_items]`` segment scores; only items scored for
    every system are used (mt-metrics-eval assumes the missing items are the same for all
    systems). p-values come from :func:`pairwise_p_values` with the same permutations for
    human and metric. The result depends on the order of the systems: keep it fixed.
    """
    return soft_pairwise_accuracies(gold, {"m": metric}, num_permutations, seed)["m"]


def soft_pairwise_accuracies(gold, metrics: Dict[str, np.ndarray], num_permutations: int = 1000,
                             seed: int = 4) -> Dict[str, float]:
    """:func:`soft_pairwise_accuracy` of many metrics against the same human scores: one
    permutation matrix, one product for all metrics (bitwise the same as one at a time)."""
    g = np.asarray(gold, dtype=np.float64)
    keep = complete_items(g)
    n_sys = g.shape[0]
    if n_sys < 2 or not metrics:
        return {name: float("nan") for name in metrics}
    signs = permutation_sign_matrix(int(keep.sum()), num_permutations, seed)
    gold_p = pairwise_p_values(g[:, keep], signs=signs)
    names = list(metrics)
    stacked = np.vstack([np.asarray(metrics[n], dtype=np.float32)[:, keep] for n in names])
    partial = signs @ stacked.T
    sums = stacked.sum(axis=1)
    i, j = np.triu_indices(n_sys, 1)
    out = {}
    for k, name in enumerate(names):
        cols = slice(k * n_sys, (k + 1) * n_sys)
        metric_p = _p_values_from_partial(partial[:, cols], sums[cols], signs.shape[0])
        out[name] = float(1.0 - np.mean(np.abs(gold_p[i, j] - metric_p[i, j])))
    return out
