"""acc_eq: WMT's pairwise accuracy with an optimised metric tie threshold (Deutsch et al. 2023).

mt-metrics-eval's ``tau_optimization.py`` (``KendallWithTiesOpt``, sample rate 1.0) with its
bootstrap interval and the 'pairs' permutation test of WMT23; same conventions as
:mod:`.stats` (gold first, NaN = no human score).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np

from .resampling import PermResult, item_bootstrap_indices, percentile_interval
from .stats import PairIndex, paired_inputs, prepare_gold


@dataclass(frozen=True)
class AccEq:
    """Result of :func:`acc_eq`: the value, its tie threshold and, on request, the curve."""

    value: float
    epsilon: float
    n_groups: int
    thresholds: Optional[np.ndarray] = None
    values: Optional[np.ndarray] = None


def _lcm_scale(n_pairs: np.ndarray, n_groups: int) -> Optional[int]:
    """Common denominator of the group accuracies, if integer sums stay exact in int64."""
    denominator = 1
    for n in np.unique(n_pairs[n_pairs > 0]):
        denominator = math.lcm(denominator, int(n))
        if denominator * max(n_groups, 1) > 2 ** 62:
            return None
    return denominator


def _acc_eq_equal_groups(diff: np.ndarray, before: np.ndarray, change: np.ndarray,
                         size: int, groups: int, variant: str) -> AccEq:
    """acc_eq when every group has the same number of pairs (every system scored every
    segment): the curve is ``base + #gains - #losses`` up to the threshold, and only a
    threshold where some pair gains can start a new maximum. Two plain sorts suffice."""
    base = int(before.sum())
    gains = np.sort(diff[change > 0])
    losses = np.sort(diff[change < 0])
    best, epsilon = base, 0.0
    if len(gains):
        last = np.flatnonzero(np.r_[gains[1:] != gains[:-1], True])
        candidates = gains[last]
        values = base + (last + 1) - np.searchsorted(losses, candidates, side="right")
        k = int(np.argmax(values))
        if values[k] > base:
            best, epsilon = int(values[k]), float(candidates[k])
    exact = Fraction(best, size * groups)
    return AccEq(float(2 * exact - 1 if variant == "23" else exact), epsilon, groups)


def acc_eq(gold, metric, group: str = "item", variant: str = "acc23",
           return_curve: bool = False) -> AccEq:
    """WMT's tie-calibrated pairwise accuracy (``KendallWithTiesOpt``, sample rate 1.0).

    Every pair inside a group is concordant, discordant or tied. The metric tie threshold
    epsilon is searched over 0 and every distinct ``|metric difference|`` of a pair; at each
    candidate, the pairs with a difference up to it count as metric ties; the group accuracies
    ``(concordant + tied in both) / pairs`` are averaged over the groups that have a pair, and
    the smallest threshold reaching the maximum wins. Instead of re-scoring pairs one at a
    time, the change each pair makes when it becomes a tie is summed in order of difference
    (one sort and a cumulative sum), in exact integer arithmetic, so the threshold picked
    does not depend on rounding. ``variant="23"`` returns ``2 * acc - 1`` (tau_23).
    ``return_curve`` adds every candidate threshold and its value.
    """
    if variant not in ("acc23", "23"):
        raise ValueError("acc_eq optimises only the '23' and 'acc23' variants")
    prepared, m = paired_inputs(gold, metric)
    pairs = prepared.pairs(group)
    groups = int(np.count_nonzero(pairs.n_pairs))
    if groups == 0:
        return AccEq(float("nan"), 0.0, 0)
    diff, before = pairs.outcomes(m)
    change = pairs.gold_tie - before  # what becoming a metric tie does to the pair
    sizes = np.unique(pairs.n_pairs[pairs.n_pairs > 0])
    if len(sizes) == 1 and not return_curve:
        return _acc_eq_equal_groups(diff, before, change, int(sizes[0]), groups, variant)
    base_counts = np.bincount(pairs.row, weights=before, minlength=pairs.n_rows)
    if not return_curve:
        # pairs a tie leaves unchanged never make a threshold the first maximum
        moved = change != 0
        diff, change, rows = diff[moved], change[moved], pairs.row[moved]
    else:
        rows = pairs.row
    denominator = _lcm_scale(pairs.n_pairs, groups)
    if denominator is not None:
        weight = denominator // np.maximum(pairs.n_pairs, 1)
        base = int((base_counts.astype(np.int64) * weight).sum())
        steps = change.astype(np.int64) * weight[rows]
    else:  # astronomically many distinct group sizes: fall back to floating point
        weight = 1.0 / np.maximum(pairs.n_pairs, 1)
        base = float((base_counts * weight).sum())
        steps = change * weight[rows]
    order = np.argsort(diff)
    diffs = diff[order]
    curve = base + np.cumsum(steps[order])
    ends = np.flatnonzero(np.r_[diffs[1:] != diffs[:-1], True]) if len(diffs) else []
    thresholds, values = diffs[ends], curve[ends]
    if len(thresholds) == 0 or thresholds[0] != 0:
        thresholds = np.r_[0.0, thresholds]
        values = np.r_[np.array([base], dtype=curve.dtype), values]
    best = int(np.argmax(values))
    scale = (denominator or 1) * groups
    if denominator is not None:
        exact = Fraction(int(values[best]), scale)
        value = float(2 * exact - 1 if variant == "23" else exact)
    else:
        value = float(values[best]) / groups
        value = 2 * value - 1 if variant == "23" else value
    curve_values = None
    if return_curve:
        curve_values = values / scale
        if variant == "23":
            curve_values = 2 * curve_values - 1
    return AccEq(value, float(thresholds[best]), groups,
                 thresholds if return_curve else None, curve_values)


def acc_eq_bootstrap_ci(gold, metric, n_samples: int = 1000, seed: int = 1234,
                        alpha: float = 0.05, indices: Optional[np.ndarray] = None,
                        chunk: int = 32) -> Tuple[float, float]:
    """Bootstrap interval of item-grouped acc_eq, epsilon re-optimised in every resample.

    A resample only changes how often each item counts, so its whole threshold curve is a
    weighted cumulative sum over the same sorted pairs: no pair is enumerated twice.
    """
    prepared, m = paired_inputs(gold, metric)
    if indices is None:
        indices = item_bootstrap_indices(prepared.shape[1], n_samples, seed)
    pairs = prepared.pairs("item")
    has_pairs = pairs.n_pairs > 0
    per_pair = 1.0 / np.maximum(pairs.n_pairs, 1)
    diff, before = pairs.outcomes(m)
    change = pairs.gold_tie - before
    base_per_row = np.bincount(pairs.row, weights=before, minlength=pairs.n_rows) * per_pair
    moved = change != 0
    order = np.argsort(diff[moved])
    diffs = diff[moved][order]
    rows = pairs.row[moved][order]
    steps = (change[moved] * per_pair[pairs.row[moved]])[order]
    ends = np.flatnonzero(np.r_[diffs[1:] != diffs[:-1], True]) if len(diffs) else []
    values = []
    for start in range(0, len(indices), chunk):
        block = indices[start:start + chunk]
        counts = np.stack([np.bincount(b, minlength=pairs.n_rows) for b in block]).astype(float)
        groups = (counts * has_pairs).sum(axis=1)
        base = counts @ base_per_row
        best = base.copy()
        if len(ends):
            curves = base[:, None] + np.cumsum(counts[:, rows] * steps[None, :], axis=1)[:, ends]
            best = np.maximum(best, curves.max(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            values.extend(best / groups)
    return percentile_interval(values, alpha)


def acc_eq_pair_permutation(gold, metric1, metric2, epsilon1: float, epsilon2: float,
                            k: int = 1000, seed: int = 1234, block_size: int = 100,
                            early_min: float = 0.02, early_max: float = 0.5) -> PermResult:
    """mt-metrics-eval's ``PairwisePermutationSigDiff`` for item-grouped acc_eq.

    Each metric keeps its own tie threshold; resamples swap the two metrics' verdicts on a
    random half of the pairs, so no threshold is re-optimised (the WMT23 'pairs' test).
    """
    prepared = prepare_gold(gold)
    m1_in, m2_in = np.asarray(metric1, dtype=np.float64), np.asarray(metric2, dtype=np.float64)
    prepared = prepared.with_missing(m1_in).with_missing(m2_in)
    pairs = prepared.pairs("item")
    rows, n_pairs = pairs.row, pairs.n_pairs
    c1 = _pair_outcomes(pairs, m1_in, epsilon1)
    c2 = _pair_outcomes(pairs, m2_in, epsilon2)
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


def _pair_outcomes(pairs: PairIndex, metric: np.ndarray, epsilon: float) -> np.ndarray:
    """Per pair: 1 if concordant or tied in both with metric tie threshold epsilon."""
    diff, before = pairs.outcomes(metric)
    return np.where(diff <= epsilon, pairs.gold_tie, before).astype(float)


def acc_eq_flat_bootstrap_ci(gold, metric, indices: np.ndarray, alpha: float = 0.05,
                             chunk: int = 32) -> Tuple[float, float]:
    """Percentile interval of ungrouped acc_eq over resamples of the items (last axis), fast:
    the same numbers as ``resampling.bootstrap_ci(lambda g, m: acc_eq(g, m, group="none").value,
    ...)``.

    Why: a reference table with one system (BioMQM) has no pair for the item-grouped
    :func:`acc_eq_bootstrap_ci` to count, and re-running :func:`acc_eq` on 1000 resamples of
    ~900 segments (430k pairs each) takes minutes per metric. A resample only changes how often
    each item counts, so the pairs are enumerated and sorted once: a pair of entries weighs
    ``w_a * w_b``, the copies of one entry form ``C(w, 2)`` pairs tied in both scores (always
    counted as agreeing), and the tie-threshold curve is a weighted cumulative sum.

    ``gold``/``metric``: ``[n_items]`` or ``[n_systems, n_items]`` (NaN gold = no score; all
    systems of a drawn item come along); ``indices``: ``[n_samples, n_items]`` drawn items, e.g.
    ``resampling.item_bootstrap_indices``.
    """
    g = np.atleast_2d(np.asarray(gold, dtype=np.float64))
    m = np.atleast_2d(np.asarray(metric, dtype=np.float64))
    valid = ~np.isnan(g) & ~np.isnan(m)
    item = np.nonzero(valid)[1]
    ge, me = g[valid], m[valid]
    a, b = np.triu_indices(len(ge), 1)
    gd, md = ge[a] - ge[b], me[a] - me[b]
    order = np.argsort(np.abs(md), kind="stable")
    a, b = item[a[order]], item[b[order]]
    diffs = np.abs(md)[order]
    before = (np.sign(gd) == np.sign(md))[order].astype(np.float64)
    change = (gd == 0)[order].astype(np.float64) - before
    ends = np.flatnonzero(np.r_[diffs[1:] != diffs[:-1], True]) if len(diffs) else np.array([], int)
    entries_per_item = np.bincount(item, minlength=g.shape[1]).astype(np.float64)
    # integer weights and changes: exact, and int32 cumulative sums are the fastest here
    change32 = change.astype(np.int32)
    before_mask = before.astype(bool)
    all_ends = len(ends) == len(diffs)
    values = []
    for start in range(0, len(indices), chunk):
        block = indices[start:start + chunk]
        counts = np.stack([np.bincount(row, minlength=g.shape[1]) for row in block])
        w = counts.astype(np.int16 if counts.max() < 128 else np.int32)
        pair_w = np.multiply(np.take(w, a, axis=1), np.take(w, b, axis=1), dtype=np.int32)
        wf = counts.astype(np.float64)
        self_pairs = (wf * (wf - 1) / 2) @ entries_per_item
        base = np.where(before_mask, pair_w, 0).sum(axis=1) + self_pairs
        n_entries = wf @ entries_per_item
        total = n_entries * (n_entries - 1) / 2
        if len(ends):
            np.multiply(pair_w, change32, out=pair_w)
            curve = np.cumsum(pair_w, axis=1, out=pair_w)
            peak = (curve if all_ends else curve[:, ends]).max(axis=1)
            best = np.maximum(base, base + peak)
        else:
            best = base
        with np.errstate(invalid="ignore", divide="ignore"):
            values.extend(np.where(total > 0, best / total, np.nan))
    values = np.array(values)
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))
