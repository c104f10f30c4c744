"""From loaded scores to the WMT meta-evaluation table (a list of plain records).

Loaders know files and stats know arrays; this module does what sits between: it picks the
systems and metrics that count for a language pair, lines the scores up as
``[systems, segments]`` matrices, and computes every measure of the WMT23 table:

* segment level: ``pearson``, ``spearman``, ``kendall`` (tau-b) over all segments of all
  systems (``group="none"``, WMT23's segment Pearson) or averaged per segment, and ``acc_eq``
  (item-grouped, WMT23/24's tie-calibrated accuracy, with its ``epsilon``);
* system level: ``pearson``, ``spearman``, ``kendall``, ``spa`` (soft pairwise accuracy from
  segment scores) and ``pairwise_accuracy`` per lp and pooled over lps (lp ``all``).

Each record is ``{"lp", "level", "measure", "metric", "value", ...extra}``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import InputError, SigmoidQEWarning
from .loaders import metric_columns
from .mtme import MtmeLp
from .pairwise import agreement, complete_items, pairwise_accuracy, soft_pairwise_accuracies
from .resampling import (
    bootstrap_ci,
    item_bootstrap_indices,
    percentile_interval,
    perm_both,
    significance_clusters,
    stratified_bootstrap_indices,
)
from .stats import correlation, prepare_gold
from .testsets import LpInfo, resolve_gold, select_systems
from .tie_calibrated import acc_eq, acc_eq_bootstrap_ci, acc_eq_pair_permutation

SEG_MEASURES = ("pearson", "spearman", "kendall", "acc_eq")
SYS_MEASURES = ("pearson", "spearman", "kendall", "spa", "pairwise_accuracy")


@dataclass
class LpData:
    """Aligned scores of one language pair: rows are systems (sorted), columns segments."""

    lp: str
    seg_systems: List[str] = field(default_factory=list)
    seg_gold: Optional[np.ndarray] = None  # [systems, segments], NaN = no human score
    seg_metrics: Dict[str, np.ndarray] = field(default_factory=dict)
    sys_systems: List[str] = field(default_factory=list)
    sys_gold: Optional[np.ndarray] = None  # [systems]
    sys_metrics: Dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def metrics(self) -> List[str]:
        return sorted(set(self.seg_metrics) | set(self.sys_metrics))


@dataclass
class Options:
    """What to compute; the defaults give the WMT23 table."""

    levels: Tuple[str, ...] = ("seg", "sys")
    seg_group: str = "none"
    measures: Optional[Tuple[str, ...]] = None  # None = all of the level
    ci: bool = False
    ci_samples: int = 1000
    ci_seed: int = 1234
    significance: bool = False
    permutations: int = 1000  # resamples per permutation test (mt-metrics-eval: k)
    perm_seed: int = 1234
    pval: float = 0.05
    spa_permutations: int = 1000
    spa_seed: int = 4

    def wants(self, level: str, measure: str) -> bool:
        return level in self.levels and (self.measures is None or measure in self.measures)


# ----------------------------------------------------------------------------------------
# building LpData


def metric_catalogue(data: MtmeLp, std_ref: str) -> Dict[str, Dict[str, Tuple[str, str]]]:
    """{display name: {level: (NAME, REF)}} of the stored metrics usable for this lp: those
    scored with the standard reference or the source. A source-based metric that shares its
    NAME with a reference-based one is shown as ``NAME[noref]``."""
    catalogue: Dict[str, Dict[str, Tuple[str, str]]] = {}
    names_with_ref = {n for (n, r, _) in data.metric_files() if r == std_ref}
    for (name, ref, level) in data.metric_files():
        if level not in ("seg", "sys") or ref not in (std_ref, "src"):
            continue
        display = f"{name}[noref]" if ref == "src" and name in names_with_ref else name
        catalogue.setdefault(display, {})[level] = (name, ref)
    return catalogue


def _matrix(scores: Dict[str, np.ndarray], systems: Sequence[str], where: str) -> np.ndarray:
    missing = [s for s in systems if s not in scores]
    if missing:
        raise InputError(f"{where} has no scores for system(s) {', '.join(missing)}")
    return np.vstack([np.asarray(scores[s], dtype=np.float64) for s in systems])


def _wanted_metrics(lp: str, catalogue: Dict[str, Dict], info: LpInfo,
                    metrics: Optional[Iterable[str]], primary_only: bool, std_ref: str) -> List[str]:
    """The metrics asked for (every one in ``catalogue`` by default, or its primary ones), each
    known to the catalogue; an unknown one is an InputError naming what is available."""
    if metrics is None:
        wanted = sorted(catalogue)
        if primary_only and info.primary_metrics:
            wanted = [m for m in wanted if m.replace("[noref]", "") in info.primary_metrics]
        return wanted
    wanted = list(dict.fromkeys(metrics))
    unknown = [m for m in wanted if m not in catalogue]
    if unknown:
        raise InputError(f"no scores for metric(s) {', '.join(unknown)} in {lp} "
                         f"with reference {std_ref} or src (available: "
                         f"{', '.join(sorted(catalogue)) or 'none'})")
    return wanted


def lp_data_from_mtme(data: MtmeLp, info: LpInfo, gold: Optional[str] = None,
                      metrics: Optional[Iterable[str]] = None, levels: Sequence[str] = ("seg", "sys"),
                      include_outliers: bool = False, primary_only: bool = False,
                      std_ref: Optional[str] = None) -> LpData:
    """Scores of one mt-metrics-eval lp as WMT evaluates them (see ``testsets``).

    ``metrics`` are display names (the METRIC part of the score files); the default is every
    metric scored with the standard reference or the source (only primary submissions and
    baselines with ``primary_only``). A metric with segment but no system scores gets the mean
    of its segment scores as system score.
    """
    std_ref = std_ref or info.std_ref
    catalogue = metric_catalogue(data, std_ref)
    wanted = _wanted_metrics(data.lp, catalogue, info, metrics, primary_only, std_ref)
    systems = data.system_names()
    references = data.reference_names()

    def level_systems(level: str) -> Tuple[Dict[str, np.ndarray], List[str]]:
        """The human scores of a level and the systems WMT evaluates at that level."""
        name = resolve_gold(info, gold, level)
        gold_map = data.human(name, level)
        scored = [s for s, v in gold_map.items() if not np.isnan(v).all()]
        if not scored:  # nothing to evaluate against (and no system to evaluate)
            raise InputError(f"no {level}-level human scores for {data.lp}: every score is "
                             "None", data.folder / "human-scores" / f"{data.lp}.{name}.{level}.score")
        orphans = sorted(set(scored) - set(systems) - set(references))
        if orphans:  # mt-metrics-eval finds systems by their outputs, as here: but say so
            warnings.warn(SigmoidQEWarning(
                f"{data.lp}: {', '.join(orphans)} ha{'s' if len(orphans) == 1 else 've'} "
                f"{level}-level human scores but no system output "
                f"(system-outputs/{data.lp}/NAME.txt): left out"), stacklevel=2)
        return gold_map, select_systems(systems, references, info, scored, include_outliers,
                                        std_ref)

    out = LpData(data.lp)
    if "seg" in levels:
        gold_map, out.seg_systems = level_systems("seg")
        g = _matrix(gold_map, out.seg_systems, f"the {data.lp} human scores")
        keep = ~np.isnan(g).all(axis=0)  # segments nobody scored change nothing
        out.seg_gold = g[:, keep]
        for name in wanted:
            if "seg" in catalogue[name]:
                key = catalogue[name]["seg"]
                where = f"{data.lp} metric {key[0]}-{key[1]}.seg.score"
                out.seg_metrics[name] = _matrix(data.metric(*key, "seg"), out.seg_systems,
                                                where)[:, keep]
    if "sys" in levels:
        gold_map, out.sys_systems = level_systems("sys")
        out.sys_gold = _matrix(gold_map, out.sys_systems, f"the {data.lp} human scores")[:, 0]
        for name in wanted:
            levels_here = catalogue[name]
            if "sys" in levels_here:
                key = levels_here["sys"]
                where = f"{data.lp} metric {key[0]}-{key[1]}.sys.score"
                out.sys_metrics[name] = _matrix(data.metric(*key, "sys"), out.sys_systems,
                                                where)[:, 0]
            elif "seg" in levels_here:
                key = levels_here["seg"]
                seg = _matrix(data.metric(*key, "seg"), out.sys_systems,
                              f"{data.lp} metric {key[0]}-{key[1]}.seg.score")
                out.sys_metrics[name] = seg.mean(axis=1)
    return out


def lp_data_from_frame(frame: pd.DataFrame, lp: Optional[str] = None,
                       metrics: Optional[Sequence[str]] = None) -> List[LpData]:
    """Scores from a loader's table (MLQE-PE, BioMQM, TSV, ...), one LpData per lp.

    Segment-level matrices come from (system, seg); system-level scores are means over each
    system's segments that have a human score (only with two systems or more).
    """
    metrics = list(metrics) if metrics is not None else metric_columns(frame)
    numeric = [m for m in metrics if pd.api.types.is_numeric_dtype(frame[m])]
    result = []
    for lp_name, part in frame.groupby("lp", sort=True):
        data = LpData(lp or str(lp_name) or "all")
        if part["human"].isna().all():  # every measure would be undefined (or a false 1.0)
            raise InputError(f"{data.lp}: no human scores to evaluate against (every human "
                             "score is missing)")
        data.seg_systems = sorted(part["system"].unique())
        segs = np.sort(part["seg"].unique())
        doubled = part.duplicated(["system", "seg"])
        if doubled.any():
            first = part[doubled].iloc[0]
            raise InputError(f"{lp_name}: system {first['system']} has segment {first['seg'] + 1} "
                             "twice: each system's segment is scored once")
        rows = pd.Index(data.seg_systems).get_indexer(part["system"])
        cols = np.searchsorted(segs, part["seg"].to_numpy())
        shape = (len(data.seg_systems), len(segs))

        def matrix(values, shape=shape, rows=rows, cols=cols) -> np.ndarray:
            out = np.full(shape, np.nan)
            out[rows, cols] = np.asarray(values, dtype=np.float64)
            return out

        data.seg_gold = matrix(part["human"])
        data.seg_metrics = {m: matrix(part[m]) for m in numeric}
        if len(data.seg_systems) >= 2:
            data.sys_systems = list(data.seg_systems)
            has_gold = ~np.isnan(data.seg_gold)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a system nobody scored: NaN
                data.sys_gold = np.nanmean(data.seg_gold, axis=1)
                data.sys_metrics = {
                    m: np.array([np.nanmean(v[r][has_gold[r]]) if has_gold[r].any() else np.nan
                                 for r in range(len(v))])
                    for m, v in data.seg_metrics.items()}
        result.append(data)
    return result


# ----------------------------------------------------------------------------------------
# computing the table


def _record(lp: str, level: str, measure: str, metric: str, value: float, **extra) -> dict:
    record = {"lp": lp, "level": level, "measure": measure, "metric": metric,
              "value": None if value is None or np.isnan(value) else float(value)}
    record.update(extra)
    return record


def _warn_undefined(value: float, lp: str, level: str, measure: str, metric: str) -> None:
    """A correlation that does not exist (under two scores, or constant human or metric
    scores) is reported as n/a (JSON null) with this notice, never as 0.000."""
    if np.isnan(value):
        warnings.warn(SigmoidQEWarning(
            f"{lp} {level}-level {measure} of {metric} is undefined (fewer than two scores, or "
            "the human or the metric scores are all equal): reported as n/a"), stacklevel=3)


def _seg_statistic(measure: str, group: str) -> Callable[[np.ndarray, np.ndarray], float]:
    if measure == "acc_eq":
        return lambda g, m: acc_eq(g, m, "item").value
    return lambda g, m: correlation(g, m, measure, group)


def _sys_statistic(measure: str) -> Callable[[np.ndarray, np.ndarray], float]:
    if measure == "pairwise_accuracy":
        return lambda g, m: pairwise_accuracy([prepare_gold(g).values], [m])
    return lambda g, m: correlation(g, m, measure, "none")


def evaluate(lps: Sequence[LpData], options: Optional[Options] = None) -> List[dict]:
    """Every requested measure for every lp and metric, then the pooled pairwise accuracy."""
    options = options or Options()
    records: List[dict] = []
    for data in lps:
        if "seg" in options.levels and data.seg_gold is not None:
            records += _seg_records(data, options)
        if "sys" in options.levels and data.sys_gold is not None:
            records += _sys_records(data, options)
    if options.wants("sys", "pairwise_accuracy"):
        records += _pooled_accuracy(lps, options)
    return records


def _seg_records(data: LpData, options: Options) -> List[dict]:
    records = []
    gold = prepare_gold(data.seg_gold)  # ranks and pairs computed once for all metrics
    n_items = gold.shape[1]
    indices = (item_bootstrap_indices(n_items, options.ci_samples, options.ci_seed)
               if options.ci else None)
    for measure in SEG_MEASURES:
        if not options.wants("seg", measure):
            continue
        group = "item" if measure == "acc_eq" else options.seg_group
        values: Dict[str, float] = {}
        epsilons: Dict[str, float] = {}
        for name, metric in data.seg_metrics.items():
            extra = {"n_systems": len(data.seg_systems),
                     "n_segments": int((~np.isnan(data.seg_gold)).any(axis=0).sum())}
            if measure == "acc_eq":
                result = acc_eq(gold, metric, "item")
                values[name], epsilons[name] = result.value, result.epsilon
                extra["epsilon"] = result.epsilon
            else:
                values[name] = correlation(gold, metric, measure, group, undefined=np.nan)
                _warn_undefined(values[name], data.lp, "segment", measure, name)
                extra["group"] = group
            if options.ci:
                if measure == "acc_eq":
                    low, high = acc_eq_bootstrap_ci(gold, metric, indices=indices)
                else:
                    low, high = bootstrap_ci(_seg_statistic(measure, group),
                                                   data.seg_gold, metric, indices=indices)
                extra.update(ci_low=low, ci_high=high)
            records.append(_record(data.lp, "seg", measure, name, values[name], **extra))
        if options.significance and len(values) > 1:
            if measure == "acc_eq":
                def compare(better, worse, _e=epsilons):
                    return acc_eq_pair_permutation(
                        gold, data.seg_metrics[worse], data.seg_metrics[better], _e[worse],
                        _e[better], options.permutations, options.perm_seed).p_value
            else:
                statistic = _seg_statistic(measure, group)

                def compare(better, worse, _s=statistic):
                    return perm_both(_s, gold, data.seg_metrics[worse],
                                           data.seg_metrics[better], options.permutations,
                                           options.perm_seed).p_value
            _add_ranks(records, data.lp, "seg", measure, values, compare, options.pval)
    return records


def _sys_records(data: LpData, options: Options) -> List[dict]:
    records = []
    gold = data.sys_gold
    n = len(data.sys_systems)
    indices = item_bootstrap_indices(n, options.ci_samples, options.ci_seed) if options.ci else None
    for measure in SYS_MEASURES:
        if measure == "spa" or not options.wants("sys", measure):  # SPA: from segment scores
            continue
        statistic = _sys_statistic(measure)
        values: Dict[str, float] = {}
        for name, metric in data.sys_metrics.items():
            if measure == "pairwise_accuracy":
                values[name] = statistic(gold, metric)
            else:
                values[name] = correlation(gold, metric, measure, "none", undefined=np.nan)
                _warn_undefined(values[name], data.lp, "system", measure, name)
            extra = {"n_systems": n}
            if options.ci:
                low, high = bootstrap_ci(statistic, gold, metric, indices=indices)
                extra.update(ci_low=low, ci_high=high)
            records.append(_record(data.lp, "sys", measure, name, values[name], **extra))
        if options.significance and len(values) > 1:
            def compare(better, worse, _s=statistic):
                return perm_both(_s, gold, data.sys_metrics[worse],
                                       data.sys_metrics[better], options.permutations,
                                       options.perm_seed).p_value
            _add_ranks(records, data.lp, "sys", measure, values, compare, options.pval)
    if options.wants("sys", "spa") and data.seg_gold is not None and data.seg_metrics:
        records += _spa_records(data, options)
    return records


def _spa_records(data: LpData, options: Options) -> List[dict]:
    keep = complete_items(data.seg_gold)
    values = soft_pairwise_accuracies(data.seg_gold, data.seg_metrics,
                                            options.spa_permutations, options.spa_seed)
    return [_record(data.lp, "sys", "spa", name, value, n_systems=len(data.seg_systems),
                    n_segments=int(keep.sum()))
            for name, value in values.items()]


def _pooled_accuracy(lps: Sequence[LpData], options: Options) -> List[dict]:
    """WMT's global system-level accuracy: metrics present in every lp, pairs within lps."""
    usable = [d for d in lps if d.sys_gold is not None and d.sys_metrics]
    if not usable:
        return []
    names = sorted(set.intersection(*(set(d.sys_metrics) for d in usable)))
    golds = [d.sys_gold for d in usable]
    values = {n: pairwise_accuracy(golds, [d.sys_metrics[n] for d in usable])
              for n in names}
    lp_names = ",".join(d.lp for d in usable)
    records = [_record("all", "sys", "pairwise_accuracy", n, v, lps=lp_names,
                       n_pairs=sum(agreement(g, g)[1] for g in golds))
               for n, v in values.items()]
    if options.ci:
        draws = stratified_bootstrap_indices([len(g) for g in golds], options.ci_samples,
                                             options.ci_seed)
        for record in records:
            metrics = [d.sys_metrics[record["metric"]] for d in usable]
            samples = [pairwise_accuracy([g[idx[b]] for g, idx in zip(golds, draws)],
                                         [m[idx[b]] for m, idx in zip(metrics, draws)])
                       for b in range(options.ci_samples)]
            record["ci_low"], record["ci_high"] = percentile_interval(samples)
    if options.significance and len(values) > 1:
        sizes = np.cumsum([0] + [len(g) for g in golds])
        gold_all = np.concatenate(golds)

        def pooled(g, m):
            g = prepare_gold(g).values
            return pairwise_accuracy([g[a:b] for a, b in zip(sizes[:-1], sizes[1:])],
                                           [m[a:b] for a, b in zip(sizes[:-1], sizes[1:])])

        def compare(better, worse):
            m_better = np.concatenate([d.sys_metrics[better] for d in usable])
            m_worse = np.concatenate([d.sys_metrics[worse] for d in usable])
            return perm_both(pooled, gold_all, m_worse, m_better, options.permutations,
                                   options.perm_seed).p_value
        _add_ranks(records, "all", "sys", "pairwise_accuracy", values, compare, options.pval)
    return records


def _add_ranks(records: List[dict], lp: str, level: str, measure: str,
               values: Dict[str, float], compare, pval: float) -> None:
    finite = {k: v for k, v in values.items() if not np.isnan(v)}
    ranked, _ = significance_clusters(finite, compare, pval)
    for record in records:
        if (record["lp"], record["level"], record["measure"]) == (lp, level, measure):
            if record["metric"] in ranked:
                record["rank"] = ranked[record["metric"]][1]
