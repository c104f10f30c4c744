"""The statistics of the WMT metrics task, each a plain function over numpy arrays.

The definitions are those of Google's mt-metrics-eval (``stats.py``, ``tau_optimization.py``,
``pce.py`` and ``data.py``), because WMT results are only comparable when every detail agrees:
how missing human scores are dropped, how groups are averaged, how ties count. The code is
written for numpy instead of Python loops, so a full WMT table takes seconds, not minutes.

Conventions shared by every function here:

* Gold (human) scores come first, metric scores second, as in mt-metrics-eval's public API.
* A missing human score is ``NaN`` (mt-metrics-eval's ``None``). It is dropped together with
  the metric score beside it before anything is computed.
* Segment-level scores are matrices ``[n_systems, n_items]``. ``group`` says how they become
  vectors: ``"none"`` flattens them (system-major), ``"sys"`` takes each system's row and
  ``"item"`` each segment's column across systems; the per-group statistics are then averaged.
  As in mt-metrics-eval's ``AverageCorrelation``: groups with fewer than two scores are skipped,
  groups whose statistic is ``NaN`` (constant input) are dropped (or count as 0 with
  ``replace_nans_with_zeros``), and the result is ``0.0`` when no group is left.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

GROUPS = ("none", "sys", "item")
KENDALL_VARIANTS = ("b", "c", "23", "acc23")

# Rows no longer than this are compared pair by pair in one vectorised step; longer rows use
# the O(n log n) sort-based counts.
_PAIRWISE_MAX_ROW = 64
# acc_eq enumerates every pair of a group; beyond this many pairs in total it refuses.
_MAX_PAIRS = 30_000_000


# ----------------------------------------------------------------------------------------
# grouping


def as_groups(gold, metric, group: str = "none") -> Tuple[np.ndarray, np.ndarray]:
    """Turn score vectors or ``[n_systems, n_items]`` matrices into ``[n_groups, n]`` rows.

    1-D input is one group whatever ``group`` says (system-level scores).
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    if g.shape != m.shape:
        raise ValueError(f"gold and metric shapes differ: {g.shape} vs {m.shape}")
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; expected one of {GROUPS}")
    if g.ndim == 1:
        return g[None, :], m[None, :]
    if g.ndim != 2:
        raise ValueError("scores must be a vector or a [systems, items] matrix")
    if group == "none":
        return g.reshape(1, -1), m.reshape(1, -1)
    if group == "sys":
        return g, m
    return g.T, m.T


def _valid(g: np.ndarray, m: np.ndarray) -> np.ndarray:
    return ~np.isnan(g) & ~np.isnan(m)


def _average(values: np.ndarray, counted: np.ndarray, replace_nans_with_zeros: bool) -> float:
    """mt-metrics-eval's macro average over groups (skipped groups never count)."""
    values = values[counted]
    if replace_nans_with_zeros:
        values = np.nan_to_num(values, nan=0.0)
    else:
        values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else 0.0


# ----------------------------------------------------------------------------------------
# Pearson and Spearman


def _rowwise_pearson(g: np.ndarray, m: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson r of every row over its valid entries; NaN for constant rows or n < 2."""
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gz = np.where(valid, g, 0.0)
        mz = np.where(valid, m, 0.0)
        dg = np.where(valid, g - (gz.sum(axis=1) / n)[:, None], 0.0)
        dm = np.where(valid, m - (mz.sum(axis=1) / n)[:, None], 0.0)
        r = (dg * dm).sum(axis=1) / np.sqrt((dg * dg).sum(axis=1)) / np.sqrt((dm * dm).sum(axis=1))
    constant = (_row_range(g, valid) == 0) | (_row_range(m, valid) == 0)
    r = np.clip(r, -1.0, 1.0)
    r[constant | (n < 2)] = np.nan
    return r


def _row_range(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    hi = np.where(valid, x, -np.inf).max(axis=1, initial=-np.inf)
    lo = np.where(valid, x, np.inf).min(axis=1, initial=np.inf)
    with np.errstate(invalid="ignore"):
        return hi - lo


def _rowwise_ranks(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank) of each row's valid entries."""
    from scipy.stats import rankdata
    filled = np.where(valid, x, np.inf)
    ranks = rankdata(filled, method="average", axis=1)
    return np.where(valid, ranks, np.nan)


def pearson(gold, metric) -> float:
    """Pearson's r (``scipy.stats.pearsonr``) over the pairs with a gold score."""
    return _grouped_corr("pearson", gold, metric, "none")


def spearman(gold, metric) -> float:
    """Spearman's rho (``scipy.stats.spearmanr``) over the pairs with a gold score."""
    return _grouped_corr("spearman", gold, metric, "none")


# ----------------------------------------------------------------------------------------
# Kendall


@dataclass(frozen=True)
class TauCounts:
    """Sufficient statistics of Kendall's tau for one vector pair (mt-metrics-eval's names)."""

    con: int
    dis: int
    ties_gold: int  # tied in the human scores only
    ties_metric: int  # tied in the metric scores only
    ties_both: int

    @property
    def pairs(self) -> int:
        return self.con + self.dis + self.ties_gold + self.ties_metric + self.ties_both


def _dense_ranks(x: np.ndarray) -> np.ndarray:
    return np.unique(x, return_inverse=True)[1].astype(np.int64)


def _tie_pairs(ranks: np.ndarray) -> int:
    counts = np.bincount(ranks).astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def count_inversions(values) -> int:
    """Pairs i < j with values[i] > values[j], by a vectorised bottom-up merge: O(n log^2 n)."""
    a = _dense_ranks(np.asarray(values))
    n = len(a)
    if n < 2:
        return 0
    size = 1 << (n - 1).bit_length()
    top = int(a.max()) + 1
    buf = np.full(size, top, dtype=np.int64)  # padding sorts last and adds no inversion
    buf[:n] = a
    stride = top + 1
    width, total = 1, 0
    while width < size:
        blocks = buf.reshape(-1, 2 * width)
        offsets = (np.arange(blocks.shape[0], dtype=np.int64) * stride)[:, None]
        left = (blocks[:, :width] + offsets).ravel()
        right = (blocks[:, width:] + offsets).ravel()
        at_or_below = np.searchsorted(left, right, side="right")
        at_or_below -= np.repeat(np.arange(blocks.shape[0], dtype=np.int64) * width, width)
        total += int((width - at_or_below).sum())
        buf = np.sort(blocks, axis=1).ravel()
        width *= 2
    return total


def tau_counts(gold, metric, epsilon: float = 0.0) -> TauCounts:
    """Concordant, discordant and tied pairs of two vectors (gold NaN entries dropped).

    Metric differences with ``abs(d) <= epsilon`` count as ties (mt-metrics-eval's
    ``KendallVariants``). ``epsilon == 0`` uses sorting, O(n log n); ``epsilon > 0`` compares
    all pairs, in chunks.
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    keep = _valid(g, m)
    g, m = g[keep], m[keep]
    if epsilon < 0:
        raise ValueError("epsilon must be non-negative")
    if epsilon > 0 or len(g) <= _PAIRWISE_MAX_ROW:
        return _tau_counts_pairwise(g, m, epsilon)
    n = len(g)
    total = n * (n - 1) // 2
    gr, mr = _dense_ranks(g), _dense_ranks(m)
    order = np.lexsort((gr, mr))  # by metric, then gold: ties in metric add no inversion
    discordant = count_inversions(gr[order])
    joint = _tie_pairs(_dense_ranks(mr * (int(gr.max()) + 1) + gr))
    ties_m = _tie_pairs(mr) - joint
    ties_g = _tie_pairs(gr) - joint
    con = total - ties_m - ties_g - joint - discordant
    return TauCounts(con, discordant, ties_g, ties_m, joint)


def _tau_counts_pairwise(g: np.ndarray, m: np.ndarray, epsilon: float) -> TauCounts:
    n = len(g)
    totals = np.zeros(5, dtype=np.int64)
    chunk = max(1, 4_000_000 // max(n, 1))
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        dg = np.sign(g[rows, None] - g[None, :])
        md = m[rows, None] - m[None, :]
        dm = np.where(np.abs(md) <= epsilon, 0.0, np.sign(md))
        upper = np.arange(n)[None, :] > rows[:, None]
        prod = dg * dm
        totals += [
            np.count_nonzero((prod > 0) & upper), np.count_nonzero((prod < 0) & upper),
            np.count_nonzero((dg == 0) & (dm != 0) & upper),
            np.count_nonzero((dm == 0) & (dg != 0) & upper),
            np.count_nonzero((dm == 0) & (dg == 0) & upper)]
    return TauCounts(*(int(t) for t in totals))


def _tau_from_counts(c: TauCounts, variant: str, minclasses: int = 0, size: int = 0) -> float:
    total = c.pairs
    if total == 0:
        return float("nan")
    ties_x = c.ties_metric + c.ties_both
    ties_y = c.ties_gold + c.ties_both
    if variant in ("b", "c") and (ties_x == total or ties_y == total):
        return float("nan")
    if variant == "b":
        return float((c.con - c.dis) / np.sqrt(total - ties_x) / np.sqrt(total - ties_y))
    if variant == "c":
        return float(2 * (c.con - c.dis) / (size ** 2 * (minclasses - 1) / minclasses))
    if variant == "23":
        return (c.con + c.ties_both - c.dis - c.ties_gold - c.ties_metric) / total
    if variant == "acc23":
        return (c.con + c.ties_both) / total
    raise ValueError(f"unknown Kendall variant {variant!r}; expected one of {KENDALL_VARIANTS}")


def kendall(gold, metric, variant: str = "b", epsilon: float = 0.0) -> float:
    """Kendall's tau: ``b`` and ``c`` as scipy, ``23`` and ``acc23`` as WMT23 (Deutsch et al.).

    ``epsilon`` > 0 turns metric differences up to epsilon into ties (not allowed for tau-c).
    """
    if variant not in KENDALL_VARIANTS:
        raise ValueError(f"unknown Kendall variant {variant!r}; expected one of {KENDALL_VARIANTS}")
    if epsilon > 0 and variant == "c":
        raise ValueError("a non-zero epsilon is not defined for tau-c")
    g = np.asarray(gold, dtype=np.float64).ravel()
    m = np.asarray(metric, dtype=np.float64).ravel()
    keep = _valid(g, m)
    g, m = g[keep], m[keep]
    if len(g) < 2:
        return float("nan")
    counts = tau_counts(g, m, epsilon)
    minclasses = min(len(np.unique(g)), len(np.unique(m))) if variant == "c" else 0
    return _tau_from_counts(counts, variant, minclasses, len(g))


def _rowwise_tau(g: np.ndarray, m: np.ndarray, valid: np.ndarray, variant: str,
                 epsilon: float) -> np.ndarray:
    """Kendall per row; short rows all at once by pairs, long rows one by one by sorting."""
    n_rows, length = g.shape
    if variant == "c" or length > _PAIRWISE_MAX_ROW:
        return np.array([kendall(g[r][valid[r]], m[r][valid[r]], variant, epsilon)
                         for r in range(n_rows)])
    i, j = np.triu_indices(length, 1)
    ok = valid[:, i] & valid[:, j]
    sg = np.sign(g[:, i] - g[:, j])
    md = m[:, i] - m[:, j]
    sm = np.where(np.abs(md) <= epsilon, 0.0, np.sign(md))
    prod = sg * sm
    con = ((prod > 0) & ok).sum(axis=1)
    dis = ((prod < 0) & ok).sum(axis=1)
    tg = ((sg == 0) & (sm != 0) & ok).sum(axis=1)
    tm = ((sm == 0) & (sg != 0) & ok).sum(axis=1)
    tb = ((sm == 0) & (sg == 0) & ok).sum(axis=1)
    return np.array([_tau_from_counts(TauCounts(*map(int, c)), variant)
                     for c in zip(con, dis, tg, tm, tb)])


# ----------------------------------------------------------------------------------------
# grouped correlations


def _grouped_corr(measure: str, gold, metric, group: str, replace_nans_with_zeros: bool = False,
                  variant: str = "b", epsilon: float = 0.0) -> float:
    g, m = as_groups(gold, metric, group)
    valid = _valid(g, m)
    counted = valid.sum(axis=1) >= 2
    if measure == "pearson":
        values = _rowwise_pearson(g, m, valid)
    elif measure == "spearman":
        values = _rowwise_pearson(_rowwise_ranks(g, valid), _rowwise_ranks(m, valid), valid)
    elif measure == "kendall":
        values = _rowwise_tau(g, m, valid, variant, epsilon)
    else:
        raise ValueError(f"unknown measure {measure!r}")
    return _average(values, counted, replace_nans_with_zeros)


def correlation(gold, metric, measure: str = "pearson", group: str = "none",
                replace_nans_with_zeros: bool = False, variant: str = "b",
                epsilon: float = 0.0) -> float:
    """Pearson, Spearman or Kendall (``variant``), averaged over ``group`` as WMT does.

    ``correlation(G, M, "pearson", "none")`` is WMT23's segment-level Pearson (all segments
    of all systems in one vector); ``group="item"`` averages over segments.
    """
    return _grouped_corr(measure, gold, metric, group, replace_nans_with_zeros, variant, epsilon)


# ----------------------------------------------------------------------------------------
# acc_eq: pairwise accuracy with an optimised metric tie threshold


@dataclass(frozen=True)
class AccEq:
    """Result of :func:`acc_eq`: the value, its tie threshold and the search curve."""

    value: float
    epsilon: float
    n_groups: int
    thresholds: Optional[np.ndarray] = None
    values: Optional[np.ndarray] = None


@dataclass
class _Pairs:
    """Every scored pair inside every group, with what it adds before and after a tie."""

    row: np.ndarray  # group of the pair
    diff: np.ndarray  # |metric difference|
    before: np.ndarray  # 1 if concordant or tied in both, else 0
    after: np.ndarray  # 1 if the human scores tie (the pair once the metric ties), else 0
    n_pairs: np.ndarray  # pairs per group
    n_rows: int


def _enumerate_pairs(gold, metric, group: str) -> _Pairs:
    g, m = as_groups(gold, metric, group)
    n_rows, length = g.shape
    total = n_rows * length * (length - 1) // 2
    if total > _MAX_PAIRS:
        raise ValueError(f"acc_eq over group={group!r} needs {total} pairs; use group='item'")
    valid = _valid(g, m)
    i, j = np.triu_indices(length, 1)
    ok = valid[:, i] & valid[:, j]
    rows, p = np.nonzero(ok)
    gd = g[rows, i[p]] - g[rows, j[p]]
    md = m[rows, i[p]] - m[rows, j[p]]
    before = (np.sign(gd) == np.sign(md)).astype(np.int64)
    after = (gd == 0).astype(np.int64)
    return _Pairs(rows, np.abs(md), before, after, np.bincount(rows, minlength=n_rows), n_rows)


def _scale(n_pairs: np.ndarray, n_groups: int) -> Optional[int]:
    """Common denominator of the group accuracies, if integer sums stay exact in int64."""
    denominator = 1
    for n in np.unique(n_pairs[n_pairs > 0]):
        denominator = math.lcm(denominator, int(n))
        if denominator * max(n_groups, 1) > 2 ** 62:
            return None
    return denominator


def acc_eq(gold, metric, group: str = "item", variant: str = "acc23",
           return_curve: bool = False) -> AccEq:
    """WMT's tie-calibrated pairwise accuracy (``KendallWithTiesOpt``, sample rate 1.0).

    Every pair inside a group is concordant, discordant or tied. The metric tie threshold
    epsilon is searched over 0 and every distinct ``|metric difference|`` of a pair; at each
    candidate, the pairs with a difference up to it count as metric ties; the group accuracies
    ``(concordant + tied in both) / pairs`` are averaged over the groups that have a pair, and
    the smallest threshold reaching the maximum wins. Instead of re-scoring pairs one at a
    time, the change each pair makes when it becomes a tie is summed in order of difference
    (a sort and a cumulative sum), in exact integer arithmetic, so the threshold picked does not
    depend on rounding. ``variant="23"`` returns ``2 * acc - 1`` (tau_23) at the same epsilon.
    """
    if variant not in ("acc23", "23"):
        raise ValueError("acc_eq optimises only the '23' and 'acc23' variants")
    pairs = _enumerate_pairs(gold, metric, group)
    groups = int(np.count_nonzero(pairs.n_pairs))
    if groups == 0:
        return AccEq(float("nan"), 0.0, 0)
    denominator = _scale(pairs.n_pairs, groups)
    order = np.argsort(pairs.diff, kind="stable")
    diffs = pairs.diff[order]
    change = (pairs.after - pairs.before)[order]
    rows = pairs.row[order]
    base_counts = np.bincount(pairs.row, weights=pairs.before, minlength=pairs.n_rows)
    if denominator is not None:
        weight = denominator // np.maximum(pairs.n_pairs, 1)
        base = int((base_counts.astype(np.int64) * weight).sum())
        curve = base + np.cumsum(change * weight[rows])
    else:  # astronomically many distinct group sizes: fall back to floating point
        weight = 1.0 / np.maximum(pairs.n_pairs, 1)
        base = float((base_counts * weight).sum())
        curve = base + np.cumsum(change * weight[rows])
    ends = np.flatnonzero(np.r_[diffs[1:] != diffs[:-1], True]) if len(diffs) else np.array([], int)
    thresholds, values = diffs[ends], curve[ends]
    if len(thresholds) == 0 or thresholds[0] != 0:
        thresholds = np.r_[0.0, thresholds]
        values = np.r_[np.array([base], dtype=values.dtype), values]
    best = int(np.argmax(values))
    if denominator is not None:
        exact = Fraction(int(values[best]), denominator * groups)
        value = float(2 * exact - 1) if variant == "23" else float(exact)
        curve_values = values / (denominator * groups)
    else:
        value = float(values[best] / groups)
        value = 2 * value - 1 if variant == "23" else value
        curve_values = values / groups
    if variant == "23":
        curve_values = 2 * curve_values - 1
    return AccEq(value, float(thresholds[best]), groups,
                 thresholds if return_curve else None, curve_values if return_curve else None)


# ----------------------------------------------------------------------------------------
# system-level pairwise accuracy and soft pairwise accuracy


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
    n_sys, n_items = scores.shape
    if signs is None:
        signs = permutation_sign_matrix(n_items, num_permutations, seed)
    sums = scores.sum(axis=1)
    partial = signs @ scores.T
    i, j = np.triu_indices(n_sys, 1)
    null = partial[:, i] - partial[:, j]
    observed = sums[i] - sums[j]
    p = np.full((n_sys, n_sys), np.nan)
    p[i, j] = (null >= observed).sum(axis=0) / signs.shape[0]
    return p


def complete_items(gold) -> np.ndarray:
    """Items (columns) that have a human score for every system."""
    return ~np.isnan(np.asarray(gold, dtype=np.float64)).any(axis=0)


def soft_pairwise_accuracy(gold, metric, num_permutations: int = 1000, seed: int = 4,
                           gold_p_values: Optional[np.ndarray] = None,
                           signs: Optional[np.ndarray] = None) -> float:
    """SPA (Thompson et al. 2024): ``1 - mean |p_human - p_metric|`` over system pairs.

    ``gold`` and ``metric`` are ``[n_systems, n_items]`` segment scores; only items scored for
    every system are used (mt-metrics-eval assumes the missing items are the same for all
    systems). The result depends on the order of the systems: pass them in a fixed order.
    ``gold_p_values`` and ``signs`` may be passed in to reuse them across metrics.
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    keep = complete_items(g)
    if signs is None:
        signs = permutation_sign_matrix(int(keep.sum()), num_permutations, seed)
    if gold_p_values is None:
        gold_p_values = pairwise_p_values(g[:, keep], signs=signs)
    metric_p_values = pairwise_p_values(m[:, keep], signs=signs)
    i, j = np.triu_indices(g.shape[0], 1)
    if len(i) == 0:
        return float("nan")
    return float(1.0 - np.mean(np.abs(gold_p_values[i, j] - metric_p_values[i, j])))


# ----------------------------------------------------------------------------------------
# bootstrap confidence intervals


def bootstrap_indices(n_items: int, n_samples: int = 1000, seed: int = 1234) -> np.ndarray:
    """``[n_samples, n_items]`` resampled item indices, the same for every metric."""
    return np.random.default_rng(seed).integers(0, n_items, size=(n_samples, n_items))


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
        indices = bootstrap_indices(g.shape[-1], n_samples, seed)
    values = np.array([statistic(g[..., idx], m[..., idx]) for idx in indices])
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    return (float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)))


def acc_eq_bootstrap_ci(gold, metric, n_samples: int = 1000, seed: int = 1234,
                        alpha: float = 0.05, indices: Optional[np.ndarray] = None,
                        chunk: int = 64) -> Tuple[float, float]:
    """Bootstrap interval of item-grouped acc_eq, epsilon re-optimised in every resample.

    A resample only changes how often each item counts, so its whole threshold curve is a
    weighted cumulative sum over the same sorted pairs: no pair is enumerated twice.
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    if indices is None:
        indices = bootstrap_indices(g.shape[1], n_samples, seed)
    pairs = _enumerate_pairs(g, m, "item")
    has_pairs = pairs.n_pairs > 0
    order = np.argsort(pairs.diff, kind="stable")
    diffs = pairs.diff[order]
    rows = pairs.row[order]
    change = (pairs.after - pairs.before)[order] / np.maximum(pairs.n_pairs, 1)[rows]
    base_per_row = np.bincount(pairs.row, weights=pairs.before, minlength=pairs.n_rows)
    base_per_row = base_per_row / np.maximum(pairs.n_pairs, 1)
    ends = np.flatnonzero(np.r_[diffs[1:] != diffs[:-1], True]) if len(diffs) else np.array([], int)
    values = []
    for start in range(0, len(indices), chunk):
        block = indices[start:start + chunk]
        weights = np.stack([np.bincount(b, minlength=pairs.n_rows) for b in block]).astype(float)
        groups = (weights * has_pairs).sum(axis=1)
        base = weights @ base_per_row
        curves = base[:, None] + np.cumsum(weights[:, rows] * change[None, :], axis=1)[:, ends]
        best = np.maximum(base, curves.max(axis=1, initial=-np.inf))
        with np.errstate(invalid="ignore", divide="ignore"):
            values.extend(best / groups)
    values = np.array(values)
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    return (float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)))


# ----------------------------------------------------------------------------------------
# significance: PERM-BOTH and clusters


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
    above ``early_max``. ``statistic(gold, metric)`` gets arrays shaped like the input.
    """
    g = np.asarray(gold, dtype=np.float64)
    valid = ~np.isnan(g)
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


def acc_eq_pair_permutation(gold, metric1, metric2, epsilon1: float, epsilon2: float,
                            k: int = 1000, seed: int = 1234, block_size: int = 100,
                            early_min: float = 0.02, early_max: float = 0.5) -> PermResult:
    """mt-metrics-eval's ``PairwisePermutationSigDiff`` for item-grouped acc_eq.

    Each metric keeps its own tie threshold; resamples swap the two metrics' verdicts on a
    random half of the pairs, so no threshold is re-optimised (the WMT23 'pairs' test).
    """
    g = np.asarray(gold, dtype=np.float64)
    p1 = _pair_outcomes(g, np.asarray(metric1, dtype=np.float64), epsilon1)
    p2 = _pair_outcomes(g, np.asarray(metric2, dtype=np.float64), epsilon2)
    rows, n_pairs, c1 = p1
    _, _, c2 = p2
    groups = np.flatnonzero(n_pairs > 0)
    inv = 1.0 / np.maximum(n_pairs, 1)

    def mean_acc(hits: np.ndarray) -> np.ndarray:  # hits: [samples, pairs]
        per_row = np.stack([np.bincount(rows, weights=h, minlength=len(n_pairs)) for h in hits])
        return (per_row * inv)[:, groups].mean(axis=1)

    delta = float(mean_acc(c2[None, :])[0] - mean_acc(c1[None, :])[0])
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    step = block_size if block_size else k
    while done < k:
        n = min(step, k - done)
        swap = rng.random((n, len(rows))) < 0.5
        m1 = np.where(swap, c2[None, :], c1[None, :])
        m2 = np.where(swap, c1[None, :], c2[None, :])
        hits += int(np.count_nonzero(mean_acc(m2) - mean_acc(m1) >= delta))
        done += n
        if block_size:
            p = hits / done
            if p < early_min or p > early_max:
                break
    return PermResult(hits / max(done, 1), delta, done)


def _pair_outcomes(g: np.ndarray, m: np.ndarray, epsilon: float):
    """Per item-pair: 1 if concordant or tied in both at threshold epsilon."""
    pairs = _enumerate_pairs(g, m, "item")
    metric_tie = pairs.diff <= epsilon
    outcome = np.where(metric_tie, pairs.after, pairs.before).astype(float)
    return pairs.row, pairs.n_pairs, outcome


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
