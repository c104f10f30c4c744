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
# grouping and the reusable part of the human scores


def as_groups(gold, metric, group: str = "none") -> Tuple[np.ndarray, np.ndarray]:
    """Turn score vectors or ``[n_systems, n_items]`` matrices into ``[n_groups, n]`` rows.

    1-D input is one group whatever ``group`` says (system-level scores).
    """
    g = np.asarray(gold, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    if g.shape != m.shape:
        raise ValueError(f"gold and metric shapes differ: {g.shape} vs {m.shape}")
    return _rows(g, group), _rows(m, group)


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

    def pairs(self, group: str) -> "_PairIndex":
        return self._cached(("pairs", group), lambda: _PairIndex.build(self.values, group))

    def with_missing(self, metric: np.ndarray) -> "PreparedGold":
        """This, or a fresh one that also drops the entries where the metric has no score."""
        holes = np.isnan(metric) & ~np.isnan(self.values)
        if not holes.any():
            return self
        return PreparedGold(np.where(holes, np.nan, self.values))


def prepare_gold(gold) -> PreparedGold:
    """Wrap human scores for reuse across many metrics (a no-op on a PreparedGold)."""
    return gold if isinstance(gold, PreparedGold) else PreparedGold(gold)


def _inputs(gold, metric) -> Tuple[PreparedGold, np.ndarray]:
    prepared = prepare_gold(gold)
    m = np.asarray(metric, dtype=np.float64)
    if m.shape != prepared.shape:
        raise ValueError(f"gold and metric shapes differ: {prepared.shape} vs {m.shape}")
    return prepared.with_missing(m), m


def _average(values: np.ndarray, counted: np.ndarray, replace_nans_with_zeros: bool) -> float:
    """mt-metrics-eval's macro average over groups (skipped groups never count)."""
    values = values[counted]
    if replace_nans_with_zeros:
        values = np.nan_to_num(values, nan=0.0)
    else:
        values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else 0.0


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


def count_inversions(values) -> int:
    """Pairs i < j with ``values[i] > values[j]``, in O(n log n) numpy steps."""
    ranks = _dense_ranks(np.asarray(values))
    if len(ranks) < 2:
        return 0
    top = int(ranks.max()) + 1
    if top <= _SMALL_RANGE:
        return _inversions_small_range(ranks, top)
    return _inversions_by_merging(ranks)


_SMALL_RANGE = 1024


def _inversions_small_range(ranks: np.ndarray, top: int) -> int:
    """Few distinct values (MQM scores): brute force inside chunks, and across chunks a table
    of how many earlier elements have each value (chunk size balances the two costs)."""
    n = len(ranks)
    size = int(min(64, max(16, 2 * math.sqrt(top))))
    chunks = -(-n // size)
    padded = np.full(chunks * size, top, dtype=np.int64)  # the largest value, last: no inversion
    padded[:n] = ranks
    blocks = padded.reshape(chunks, size)
    i, j = np.triu_indices(size, 1)
    within = int(np.count_nonzero(blocks[:, i] > blocks[:, j]))
    hist = np.bincount((np.arange(chunks)[:, None] * (top + 1) + blocks).ravel(),
                       minlength=chunks * (top + 1)).reshape(chunks, top + 1)
    earlier = np.cumsum(hist, axis=0) - hist  # per chunk: counts of each value before it
    at_most = np.cumsum(earlier, axis=1)  # ... with a value <= v
    before = np.arange(chunks) * size
    chunk_of = np.repeat(np.arange(chunks), size)[:n]
    across = int((before[chunk_of] - at_most[chunk_of, ranks]).sum())
    return within + across


def _inversions_by_merging(ranks: np.ndarray) -> int:
    """Bottom-up merge count: at each width, elements in value order are regrouped into
    blocks (a stable radix sort on block ids), and each right-half element counts the
    left-half elements of its block that sort after it."""
    n = len(ranks)
    position = np.argsort(ranks, kind="stable").astype(np.int64)
    total, width = 0, 1
    while width < n:
        block = position // (2 * width)
        order = np.argsort(block.astype(np.uint16 if n <= 2 * 65535 else np.uint32), kind="stable")
        pos, blk = position[order], block[order]
        left = ((pos // width) & 1) == 0
        seen_left = np.cumsum(left)
        starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
        ends = np.r_[starts[1:], n]
        left_before_block = np.r_[0, seen_left[ends[:-1] - 1]]
        lengths = ends - starts
        left_in_block = np.repeat(seen_left[ends - 1] - left_before_block, lengths)
        left_so_far = seen_left - np.repeat(left_before_block, lengths)
        right = ~left
        total += int((left_in_block[right] - left_so_far[right]).sum())
        width *= 2
    return total


def tau_counts(gold, metric, epsilon: float = 0.0) -> TauCounts:
    """Concordant, discordant and tied pairs of two vectors (gold NaN entries dropped).

    Metric differences with ``abs(d) <= epsilon`` count as ties (mt-metrics-eval's
    ``KendallVariants``). ``epsilon == 0`` is O(n log n); ``epsilon > 0`` compares all pairs,
    in chunks.
    """
    if epsilon < 0:
        raise ValueError("epsilon must be non-negative")
    prepared, m = _inputs(gold, np.asarray(metric, dtype=np.float64))
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
    if top <= _SMALL_RANGE:
        discordant = _inversions_small_range(counted, top)
    else:
        discordant = _inversions_by_merging(counted)
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
                epsilon: float = 0.0) -> float:
    """Pearson, Spearman or Kendall (``variant``), averaged over ``group`` as WMT does.

    ``correlation(G, M, "pearson", "none")`` is WMT23's segment-level Pearson (all segments
    of all systems in one vector); ``group="item"`` averages over segments.
    """
    if measure == "kendall":
        _check_variant(variant, epsilon)
    elif measure not in ("pearson", "spearman"):
        raise ValueError(f"unknown measure {measure!r}; expected pearson, spearman or kendall")
    prepared, m = _inputs(gold, metric)
    if group == "none" or prepared.values.ndim == 1:
        where, g = prepared.flat()
        if len(g) < 2:
            return 0.0  # no group with two scores: mt-metrics-eval's empty average
        if measure == "pearson":
            value = _pearson_vectors(g, m.ravel()[where])
        elif measure == "spearman":
            value = _pearson_vectors(prepared.flat_ranks(), _average_ranks(m.ravel()[where]))
        else:
            value = _kendall_flat(prepared, m, variant, epsilon)
        return _average(np.array([value]), np.array([True]), replace_nans_with_zeros)
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
    return _average(values, counted, replace_nans_with_zeros)


# ----------------------------------------------------------------------------------------
# acc_eq: pairwise accuracy with an optimised metric tie threshold


@dataclass(frozen=True)
class AccEq:
    """Result of :func:`acc_eq`: the value, its tie threshold and, on request, the curve."""

    value: float
    epsilon: float
    n_groups: int
    thresholds: Optional[np.ndarray] = None
    values: Optional[np.ndarray] = None


@dataclass
class _PairIndex:
    """Every pair of scored entries inside every group, as flat positions into the matrix."""

    first: np.ndarray
    second: np.ndarray
    row: np.ndarray  # group of the pair
    gold_sign: np.ndarray  # sign of the human difference
    gold_tie: np.ndarray  # 1 where the human scores tie
    n_pairs: np.ndarray  # pairs per group
    n_rows: int

    @staticmethod
    def build(gold: np.ndarray, group: str) -> "_PairIndex":
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
        return _PairIndex(first, second, rows, np.sign(diff), (diff == 0).astype(np.int8),
                          np.bincount(rows, minlength=n_rows), n_rows)

    def outcomes(self, metric: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(|metric difference|, 1 if concordant or tied in both else 0) of every pair."""
        flat = metric.ravel()
        diff = flat[self.first] - flat[self.second]
        return np.abs(diff), (np.sign(diff) == self.gold_sign).astype(np.int8)


def _lcm_scale(n_pairs: np.ndarray, n_groups: int) -> Optional[int]:
    """Common denominator of the group accuracies, if integer sums stay exact in int64."""
    denominator = 1
    for n in np.unique(n_pairs[n_pairs > 0]):
        denominator = math.lcm(denominator, int(n))
        if denominator * max(n_groups, 1) > 2 ** 62:
            return None
    return denominator


def _acc_eq_equal_groups(diff: np.ndarray, before: np.ndarray, change: np.ndarray,
                         size: int, groups: int, variant: str) -> "AccEq":
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
    prepared, m = _inputs(gold, metric)
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
                        chunk: int = 32) -> Tuple[float, float]:
    """Bootstrap interval of item-grouped acc_eq, epsilon re-optimised in every resample.

    A resample only changes how often each item counts, so its whole threshold curve is a
    weighted cumulative sum over the same sorted pairs: no pair is enumerated twice.
    """
    prepared, m = _inputs(gold, metric)
    if indices is None:
        indices = bootstrap_indices(prepared.shape[1], n_samples, seed)
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


def _pair_outcomes(pairs: _PairIndex, metric: np.ndarray, epsilon: float) -> np.ndarray:
    """Per pair: 1 if concordant or tied in both with metric tie threshold epsilon."""
    diff, before = pairs.outcomes(metric)
    return np.where(diff <= epsilon, pairs.gold_tie, before).astype(float)


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
