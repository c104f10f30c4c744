"""Resampling: bootstrap intervals, the PERM-BOTH significance test and significance clusters.

mt-metrics-eval's ``Bootstrap``, ``PermutationSigDiff`` and ``AssignRanks``. Item resamples
come from :func:`item_bootstrap_indices` (numpy ``default_rng(seed).integers``, seed 1234),
the same draw for every metric compared. (sacrebleu's paired bootstrap between *systems*, used
by ``sigmoid-qe-compare``, is sacrebleu's own code: see :mod:`sigmoid_qe.metric`.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .stats import prepare_gold


def item_bootstrap_indices(n_items: int, n_samples: int = 1000, seed: int = 1234) -> np.ndarray:
    """``[n_samples, n_items]`` resampled item indices, the same for every metric."""
    return np.random.default_rng(seed).integers(0, n_items, size=(n_samples, n_items))


def stratified_bootstrap_indices(sizes, n_samples: int = 1000, seed: int = 1234) -> List[np.ndarray]:
    """Per stratum (a language pair's systems, say) ``[n_samples, size]`` indices within it,
    from one generator, strata in order: resamples never mix strata."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, size, size=(n_samples, size)) for size in sizes]


def percentile_interval(values, alpha: float = 0.05) -> Tuple[float, float]:
    """The (alpha/2, 1 - alpha/2) quantiles of resampled statistics, NaNs dropped."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def bootstrap_ci(statistic: Callable[[np.ndarray, np.ndarray], float], gold, metric,
                 n_samples: int = 1000, seed: int = 1234, alpha: float = 0.05,
                 indices: Optional[np.ndarray] = None) -> Tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(gold, metric)``.

    Items (the last axis: segments of a ``[systems, items]`` matrix, or systems of a vector)
    are resampled with replacement, the same draw for gold and metric.
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    if indices is None:
        indices = item_bootstrap_indices(g.shape[-1], n_samples, seed)
    return percentile_interval([statistic(g[..., idx], m[..., idx]) for idx in indices], alpha)


@dataclass(frozen=True)
class PermResult:
    """p-value that metric 2 beats metric 1, the observed difference, resamples used."""

    p_value: float
    delta: float
    k_used: int


def _zscore(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    v = x[valid]
    sd = v.std()
    out = np.full_like(x, np.nan)
    out[valid] = (v - v.mean()) / sd if sd > 0 else 0.0
    return out


def perm_both(statistic: Callable[[np.ndarray, np.ndarray], float], gold, metric1, metric2,
              k: int = 1000, seed: int = 1234, block_size: int = 100,
              early_min: float = 0.02, early_max: float = 0.5) -> PermResult:
    """PERM-BOTH (Deutsch et al. 2021) as mt-metrics-eval's ``PermutationSigDiff``.

    Both metrics are z-scored over the entries with a human score; each resample swaps the
    two metrics' scores on a random half of the entries; the p-value is the share of
    resamples whose difference ``stat(metric2) - stat(metric1)`` reaches the observed one.
    Every ``block_size`` resamples it stops early when the p-value is below ``early_min`` or
    above ``early_max``. ``statistic(gold, metric)`` gets the gold as a
    :class:`PreparedGold` (its ``values`` are the array) and the metric as an array.
    """
    g = prepare_gold(gold)  # the statistic gets it prepared, to reuse across resamples
    valid = ~np.isnan(g.values)
    a = _zscore(np.asarray(metric1, dtype=np.float64), valid)
    b = _zscore(np.asarray(metric2, dtype=np.float64), valid)
    delta = statistic(g, b) - statistic(g, a)
    rng = np.random.default_rng(seed)
    hits, i = 0, 0
    for i in range(1, k + 1):
        swap = rng.random(g.shape) < 0.5
        m1 = np.where(swap, b, a)
        m2 = np.where(swap, a, b)
        if statistic(g, m2) - statistic(g, m1) >= delta:
            hits += 1
        if block_size and i % block_size == 0:
            p = hits / i
            if p < early_min or p > early_max:
                break
    return PermResult(hits / max(i, 1), float(delta), i)


def assign_ranks(sig_matrix: np.ndarray, pval: float = 0.05) -> List[int]:
    """Significance clusters as mt-metrics-eval's ``AssignRanks``.

    Metrics are in decreasing order of their statistic; ``sig_matrix[i, j]`` (j > i) is the
    p-value that metric i beats metric j. A new cluster starts at the first metric that some
    member of the current cluster beats significantly.
    """
    n = sig_matrix.shape[0]
    ranks, rank, start = [0] * n, 1, 0
    for i in range(n):
        if np.any(sig_matrix[start:i, i] <= pval):
            rank += 1
            start = i
        ranks[i] = rank
    return ranks


def significance_clusters(values: Dict[str, float],
                          compare: Callable[[str, str], float],
                          pval: float = 0.05) -> Tuple[Dict[str, Tuple[float, int]], np.ndarray]:
    """Rank metrics into clusters; ``compare(better, worse)`` gives the p-value that the
    better-scoring metric truly beats the other. Ties in value are ordered by name."""
    ordered = sorted(values, key=lambda name: (-values[name], name))
    n = len(ordered)
    sig = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            sig[i, j] = compare(ordered[i], ordered[j])
    ranks = assign_ranks(sig, pval)
    return {name: (values[name], rank) for name, rank in zip(ordered, ranks)}, sig
