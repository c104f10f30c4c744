"""Bootstrap CI of *ungrouped* acc_eq, fast: the same numbers as
``resampling.bootstrap_ci(lambda g, m: tie_calibrated.acc_eq(g, m, group="none").value, ...)``.

Why it exists: BioMQM's reference tables have one system, so WMT's item-grouped acc_eq
(``tie_calibrated.acc_eq_bootstrap_ci``) has no pair to count; the ungrouped statistic is what is left,
and re-running ``tie_calibrated.acc_eq`` on 1000 resamples of ~900 segments (430k pairs each) takes
minutes per metric on this machine. A resample only changes how often each item counts, so
the pairs are enumerated and sorted once: a pair of entries weighs ``w_a * w_b``, the copies of
one entry form ``C(w, 2)`` pairs tied in both scores (always counted as agreeing), and the
tie-threshold curve is a weighted cumulative sum, as in ``tie_calibrated.acc_eq_bootstrap_ci``.
Candidate for ``sigmoid_qe.metaeval.stats`` (a ``group`` argument to ``acc_eq_bootstrap_ci``).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def acc_eq_flat_bootstrap_ci(gold, metric, indices: np.ndarray, alpha: float = 0.05,
                             chunk: int = 32) -> Tuple[float, float]:
    """Percentile interval of ungrouped acc_eq over resamples of the items (last axis).

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
