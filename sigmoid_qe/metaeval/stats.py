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

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from .inversions import rank_inversions

GROUPS = ("none", "sys", "item")
KENDALL_VARIANTS = ("b", "c", "23", "acc23")

# Rows no longer than this are compared pair by pair in one vectorised step; longer rows use
# the O(n log n) sort-based counts.
_PAIRWISE_MAX_ROW = 64
# acc_eq enumerates every pair of a group; beyond this many pairs in total it refuses.
_MAX_PAIRS = 30_000_000


# ----------------------------------------------------------------------------------------
# grouping and the reusable part of the human scores


def _rows(x: np.ndarray, group: str) -> np.ndarray:
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; expected one of {GROUPS}")
    if x.ndim == 1:
        return x[None, :]
    if x.ndim != 2:
        raise ValueError("scores must be a vector or a [systems, items] matrix")
    if group == "none":
        return x.reshape(1, -1)
    return x if group == "sys" else x.T


class PreparedGold:
    """Human scores plus what every metric compared with them reuses (sort orders, ranks,
    the pairs of each group), computed once. mt-metrics-eval's ``KendallPreproc`` has the
    same idea. Every function here accepts one wherever it accepts gold scores."""

    def __init__(self, gold):
        self.values = np.asarray(gold, dtype=np.float64)
        if self.values.ndim not in (1, 2):
            raise ValueError("scores must be a vector or a [systems, items] matrix")
        self.shape = self.values.shape
        self._cache: Dict[tuple, object] = {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def flat(self) -> Tuple[np.ndarray, np.ndarray]:
        """(positions in the flattened array, values) of the scored entries, system-major."""
        def make():
            flat = self.values.ravel()
            where = np.flatnonzero(~np.isnan(flat))
            return where, flat[where]
        return self._cached(("flat",), make)

    def flat_ranks(self) -> np.ndarray:
        return self._cached(("ranks",), lambda: _average_ranks(self.flat()[1]))

    def flat_dense(self) -> Tuple[np.ndarray, int]:
        def make():
            ranks = _dense_ranks(self.flat()[1])
            return ranks, (int(ranks.max()) + 1 if len(ranks) else 0)
        return self._cached(("dense",), make)

    def pairs(self, group: str) -> PairIndex:
        return self._cached(("pairs", group), lambda: PairIndex.build(self.values, group))

    def with_missing(self, metric: np.ndarray) -> PreparedGold:
        """This, or a fresh one that also drops the entries where the metric has no score."""
        holes = np.isnan(metric) & ~np.isnan(self.values)
        if not holes.any():
            return self
        return PreparedGold(np.where(holes, np.nan, self.values))


def prepare_gold(gold) -> PreparedGold:
    """Wrap human scores for reuse across many metrics (a no-op on a PreparedGold)."""
    return gold if isinstance(gold, PreparedGold) else PreparedGold(gold)


def paired_inputs(gold, metric) -> Tuple[PreparedGold, np.ndarray]:
    prepared = prepare_gold(gold)
    m = np.asarray(metric, dtype=np.float64)
    if m.shape != prepared.shape:
        raise ValueError(f"gold and metric shapes differ: {prepared.shape} vs {m.shape}")
    return prepared.with_missing(m), m


def _average(values: np.ndarray, counted: np.ndarray, replace_nans_with_zeros: bool,
             undefined: float = 0.0) -> float:
    """mt-metrics-eval's macro average over groups (skipped groups never count); ``undefined``
    when no group is left (mt-metrics-eval's 0.0 by default)."""
    values = values[counted]
    if replace_nans_with_zeros:
        values = np.nan_to_num(values, nan=0.0)
    else:
        values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else undefined


# ----------------------------------------------------------------------------------------
# ranks


def _dense_ranks(x: np.ndarray) -> np.ndarray:
    return np.unique(x, return_inverse=True)[1].astype(np.int64).ravel()


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing their mean rank (``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0)
    order = np.argsort(x)
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], n]
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _rowwise_ranks(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Average ranks of each row's valid entries, all rows at once."""
    n_rows, length = x.shape
    filled = np.where(valid, x, np.inf)
    order = np.argsort(filled, axis=1)
    ordered = np.take_along_axis(filled, order, axis=1)
    new_run = np.ones_like(ordered, dtype=bool)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    last = np.ones_like(new_run)
    last[:, :-1] = new_run[:, 1:]
    pos = np.broadcast_to(np.arange(length), (n_rows, length))
    start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, length)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty_like(filled)
    np.put_along_axis(ranks, order, (start + end + 2) / 2.0, axis=1)
    return np.where(valid, ranks, np.nan)


# ----------------------------------------------------------------------------------------
# Pearson and Spearman


def _pearson_vectors(g: np.ndarray, m: np.ndarray) -> float:
    """scipy's pearsonr on two complete vectors: NaN when shorter than 2 or constant."""
    if len(g) < 2 or g.min() == g.max() or m.min() == m.max():
        return float("nan")
    dg = g - g.mean()
    dm = m - m.mean()
    # plain sums, not BLAS dot: as exact, and immune to BLAS thread start-up on busy machines
    r = (dg * dm).sum() / np.sqrt((dg * dg).sum()) / np.sqrt((dm * dm).sum())
    return float(min(1.0, max(-1.0, r)))


def _rowwise_pearson(g: np.ndarray, m: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson r of every row over its valid entries; NaN for constant rows or n < 2."""
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dg = np.where(valid, g - (np.where(valid, g, 0.0).sum(axis=1) / n)[:, None], 0.0)
        dm = np.where(valid, m - (np.where(valid, m, 0.0).sum(axis=1) / n)[:, None], 0.0)
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


def pearson(gold, metric) -> float:
    """Pearson's r (``scipy.stats.pearsonr``) over the entries with a gold score."""
    return correlation(gold, metric, "pearson", "none")


def spearman(gold, metric) -> float:
    """Spearman's rho (``scipy.stats.spearmanr``) over the entries with a gold score."""
    return correlation(gold, metric, "spearman", "none")


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


def _tie_pairs(ranks: np.ndarray) -> int:
    counts = np.bincount(ranks).astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def tau_counts(gold, metric, epsilon: float = 0.0) -> TauCounts:
    """Concordant, discordant and tied pairs of two vectors (gold NaN entries dropped).

    Metric differences with ``abs(d) <= epsilon`` count as ties (mt-metrics-eval's
    ``KendallVariants``). ``epsilon == 0`` is O(n log n); ``epsilon > 0`` compares all pairs,
    in chunks.
    """
    if epsilon < 0:
        raise ValueError("epsilon must be non-negative")
    prepared, m = paired_inputs(gold, np.asarray(metric, dtype=np.float64))
    where, g = prepared.flat()
    m = m.ravel()[where]
    if epsilon > 0 or len(g) <= _PAIRWISE_MAX_ROW:
        return _tau_counts_pairwise(g, m, epsilon)
    gold_ranks, gold_top = prepared.flat_dense()
    metric_ranks = _dense_ranks(m)
    metric_top = int(metric_ranks.max()) + 1
    n = len(g)
    total = n * (n - 1) // 2
    # discordant pairs = inversions of one variable in the order of the other (ties in the
    # ordering variable sorted ascending in the counted one, so they add nothing); count
    # over the variable with fewer distinct values
    if gold_top <= metric_top:
        key = metric_ranks * gold_top + gold_ranks
        counted_ranks, top = gold_ranks, gold_top
    else:
        key = gold_ranks * metric_top + metric_ranks
        counted_ranks, top = metric_ranks, metric_top
    order = np.argsort(key)
    keys = key[order]
    runs = np.diff(np.r_[np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]), n])
    joint = int((runs * (runs - 1) // 2).sum())
    ties_g = _tie_pairs(gold_ranks) - joint
    ties_m = _tie_pairs(metric_ranks) - joint
    counted = counted_ranks[order]
    discordant = rank_inversions(counted, top)
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


def _check_variant(variant: str, epsilon: float) -> None:
    if variant not in KENDALL_VARIANTS:
        raise ValueError(f"unknown Kendall variant {variant!r}; expected one of {KENDALL_VARIANTS}")
    if epsilon < 0:
        raise ValueError("epsilon must be non-negative")
    if epsilon > 0 and variant == "c":
        raise ValueError("a non-zero epsilon is not defined for tau-c")


def kendall(gold, metric, variant: str = "b", epsilon: float = 0.0) -> float:
    """Kendall's tau over all scored entries: ``b`` and ``c`` as scipy, ``23`` and ``acc23``
    as WMT23 (Deutsch et al. 2023). ``epsilon`` > 0 turns metric differences up to epsilon
    into ties (not for tau-c)."""
    return correlation(gold, metric, "kendall", "none", variant=variant, epsilon=epsilon)


def _kendall_flat(prepared: PreparedGold, m: np.ndarray, variant: str, epsilon: float) -> float:
    where, g = prepared.flat()
    if len(g) < 2:
        return float("nan")
    counts = tau_counts(prepared, m, epsilon)
    minclasses = 0
    if variant == "c":
        minclasses = min(len(np.unique(g)), len(np.unique(m.ravel()[where])))
    return _tau_from_counts(counts, variant, minclasses, len(g))


def _rowwise_tau(g: np.ndarray, m: np.ndarray, valid: np.ndarray, variant: str,
                 epsilon: float) -> np.ndarray:
    """Kendall per row; short rows all at once by pairs, long rows one by one by sorting."""
    n_rows, length = g.shape
    if variant == "c" or length > _PAIRWISE_MAX_ROW:
        out = []
        for r in range(n_rows):
            gr = np.where(valid[r], g[r], np.nan)
            out.append(_kendall_flat(PreparedGold(gr), m[r], variant, epsilon)
                       if valid[r].sum() >= 2 else float("nan"))
        return np.array(out)
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


def correlation(gold, metric, measure: str = "pearson", group: str = "none",
                replace_nans_with_zeros: bool = False, variant: str = "b",
                epsilon: float = 0.0, undefined: float = 0.0) -> float:
    """Pearson, Spearman or Kendall (``variant``), averaged over ``group`` as WMT does.

    ``correlation(G, M, "pearson", "none")`` is WMT23's segment-level Pearson (all segments
    of all systems in one vector); ``group="item"`` averages over segments. Where no group has
    a defined value (fewer than two scores, or constant ones) the result is ``undefined``:
    mt-metrics-eval's 0.0 by default, NaN where a report must say "undefined".
    """
    if measure == "kendall":
        _check_variant(variant, epsilon)
    elif measure not in ("pearson", "spearman"):
        raise ValueError(f"unknown measure {measure!r}; expected pearson, spearman or kendall")
    prepared, m = paired_inputs(gold, metric)
    if group == "none" or prepared.values.ndim == 1:
        where, g = prepared.flat()
        if len(g) < 2:
            return undefined  # no group with two scores: mt-metrics-eval's empty average
        if measure == "pearson":
            value = _pearson_vectors(g, m.ravel()[where])
        elif measure == "spearman":
            value = _pearson_vectors(prepared.flat_ranks(), _average_ranks(m.ravel()[where]))
        else:
            value = _kendall_flat(prepared, m, variant, epsilon)
        return _average(np.array([value]), np.array([True]), replace_nans_with_zeros, undefined)
    g_rows, m_rows = _rows(prepared.values, group), _rows(m, group)
    valid = ~np.isnan(g_rows)
    counted = valid.sum(axis=1) >= 2
    if measure == "pearson":
        values = _rowwise_pearson(g_rows, m_rows, valid)
    elif measure == "spearman":
        values = _rowwise_pearson(_rowwise_ranks(g_rows, valid), _rowwise_ranks(m_rows, valid),
                                  valid)
    else:
        values = _rowwise_tau(g_rows, m_rows, valid, variant, epsilon)
    return _average(values, counted, replace_nans_with_zeros, undefined)


# ----------------------------------------------------------------------------------------
# the pairs of every group (for pair statistics)


@dataclass
class PairIndex:
    """Every pair of scored entries inside every group, as flat positions into the matrix."""

    first: np.ndarray
    second: np.ndarray
    row: np.ndarray  # group of the pair
    gold_sign: np.ndarray  # sign of the human difference
    gold_tie: np.ndarray  # 1 where the human scores tie
    n_pairs: np.ndarray  # pairs per group
    n_rows: int

    @staticmethod
    def build(gold: np.ndarray, group: str) -> PairIndex:
        rows_of = _rows(gold, group)
        position = _rows(np.arange(gold.size).reshape(gold.shape), group)
        n_rows, length = rows_of.shape
        total = n_rows * length * (length - 1) // 2
        if total > _MAX_PAIRS:
            raise ValueError(f"{total} pairs in groups of {length}: too many for pair "
                             f"statistics; use group='item'")
        valid = ~np.isnan(rows_of)
        i, j = np.triu_indices(length, 1)
        rows, p = np.nonzero(valid[:, i] & valid[:, j])
        first, second = position[rows, i[p]], position[rows, j[p]]
        flat = gold.ravel()
        diff = flat[first] - flat[second]
        return PairIndex(first, second, rows, np.sign(diff), (diff == 0).astype(np.int8),
                          np.bincount(rows, minlength=n_rows), n_rows)

    def outcomes(self, metric: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(|metric difference|, 1 if concordant or tied in both else 0) of every pair."""
        flat = metric.ravel()
        diff = flat[self.first] - flat[self.second]
        return np.abs(diff), (np.sign(diff) == self.gold_sign).astype(np.int8)
