"""Fit the word-level error model (:mod:`sigmoid_qe.span_model`) on human error spans.

Two steps, both plain numpy/scipy (no new dependency, nothing pickled):

1. **Probabilities.** An L2-regularised logistic regression of "this word overlaps a human
   error span" on the standardised word features: calibrated, so ``confidence`` means what it
   says.
2. **Thresholds.** ``minor`` and the sentence ``gate`` maximise span F1 (binary, the mean over
   the groups of items, e.g. the three BioMQM sets, so that a small set of clean references
   counts as much as a large set of error-dense MT); then ``major`` (>= ``minor``) maximises
   the severity-aware F1 (WMT23 task 2's) with the human severities. When synthetic single
   errors are given, only thresholds that mark at least ``min_marked`` of the changed words,
   put a span on at most ``max_flagged`` of the clean originals, and whose spans on the
   perturbed copies are at least ``min_precision`` changed characters (a span points at the
   error, not at its sentence) are eligible (the nearest miss when none is): what people mark
   decides, obvious errors must still be found, and found where they are.

F1 is computed exactly as :func:`sigmoid_qe.metaeval.spans.segment_counts` does (a test holds
the two together), from prefix sums per item so that a threshold grid stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import minimize

from ..span_model import (
    FEATURES,
    FORWARD_FEATURES,
    STATS,
    SpanModel,
    TokenArrays,
    probability_runs,
    reverse_arrays,
    word_features,
)
from .sets import detection_items
from .span_calibration import KIND_SEVERITY

__all__ = ["FEATURES", "FORWARD_FEATURES", "SpanItem", "choose_thresholds", "fit_logistic",
           "fit_probabilities", "fit_span_model", "fit_thresholds", "scored_items",
           "synthetic_rates", "synthetic_rows"]

Span = Tuple[int, int]
Gold = Tuple[Tuple[int, int, str], ...]
#: Quantiles of the training probabilities tried as thresholds.
QUANTILES = np.concatenate([np.linspace(0.30, 0.90, 25), np.linspace(0.91, 0.995, 18)])


@dataclass
class SpanItem:
    """One annotated translation: its words, their feature matrix, the gold spans and the
    group it is averaged in (a data set; ``synthetic`` items carry their error kind)."""

    mt: str
    words: List[Span]
    matrix: np.ndarray
    gold: Gold
    group: str = "all"
    kind: Optional[str] = None  # synthetic items: None = an untouched original

    def labels(self) -> np.ndarray:
        """1 for each word that overlaps a gold span."""
        return np.array([float(any(s < e2 and e > s2 for s2, e2, _ in self.gold if e2 > s2))
                         for s, e in self.words])


# -- step 1: the logistic regression ----------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0,
                 weights: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float]:
    """(coef, intercept) minimising the weighted mean log loss + ``l2`` / (2 n) * |coef|^2."""
    n, d = x.shape
    w8 = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    w8 = w8 * (n / w8.sum())

    def loss(w: np.ndarray) -> Tuple[float, np.ndarray]:
        z = x @ w[:d] + w[d]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        ll = (np.logaddexp(0.0, z) - y * z) * w8
        g = (p - y) * w8
        grad = np.concatenate([x.T @ g / n + l2 * w[:d] / n, [g.mean()]])
        return float(ll.mean() + 0.5 * l2 * w[:d] @ w[:d] / n), grad

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                      options={"maxiter": 500})
    return result.x[:d], float(result.x[d])


def fit_probabilities(items: Sequence[SpanItem], features: Sequence[str] = FEATURES,
                      l2: float = 1.0, extra: Sequence[SpanItem] = (),
                      extra_share: float = 0.0) -> SpanModel:
    """A :class:`SpanModel` with fitted coefficients (thresholds still the defaults).
    ``extra`` items (synthetic errors) weigh ``extra_share`` of the human items' total."""
    columns = [FEATURES.index(f) for f in features]
    parts = [i for i in items if len(i.words)]
    more = [i for i in extra if len(i.words)] if extra_share > 0 else []
    x = np.concatenate([i.matrix[:, columns] for i in parts + more])
    y = np.concatenate([i.labels() for i in parts + more])
    n_human = sum(len(i.words) for i in parts)
    weights = np.ones(len(y))
    if more:
        weights[n_human:] = extra_share * n_human / (len(y) - n_human)
    if not np.isfinite(x).all():
        raise ValueError("span features hold NaN: reverse features need reverse token scores")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = fit_logistic((x - mean) / scale, y, l2, weights)
    return SpanModel(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()),
                     tuple(coef.tolist()), intercept,
                     fitted_on={"words": n_human, "error_words": int(y[:n_human].sum()),
                                "synthetic_words": len(y) - n_human,
                                "synthetic_share": extra_share})


# -- step 2: thresholds -------------------------------------------------------------------------------
class _Counts:
    """Prefix sums of one item's gold characters, for exact span counts of any prediction."""

    def __init__(self, item: SpanItem):
        self.length = len(item.mt.strip())
        size = self.length + 1
        major, minor = np.zeros(size, bool), np.zeros(size, bool)
        for start, end, severity in item.gold:
            target = major if severity == "major" else minor
            end = min(end, self.length)
            if start == end:
                target[min(start, self.length)] = True
            elif start < end:
                target[start:end] = True
        self.gold = int((major | minor).sum())
        self.any = np.concatenate([[0], np.cumsum(major | minor)])
        self.major = np.concatenate([[0], np.cumsum(major)])
        self.minor = np.concatenate([[0], np.cumsum(minor)])

    def counts(self, spans: Sequence[Tuple[int, int, str]], severity: bool) -> Tuple[float, int]:
        """(true-positive credit, predicted slots) of non-overlapping non-empty spans."""
        tp, predicted = 0.0, 0
        for start, end, sev in spans:
            end = min(end, self.length)
            if end <= start:
                continue
            predicted += end - start
            both = self.any[end] - self.any[start]
            if not severity:
                tp += both
                continue
            agree = (self.major if sev == "major" else self.minor)
            agreed = agree[end] - agree[start]
            tp += agreed + 0.5 * (both - agreed)
        return tp, predicted


def _f1(tp: float, gold: float, predicted: float) -> float:
    p = tp / predicted if predicted else 0.0
    r = tp / gold if gold else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _runs(words: Sequence[Span], probs: np.ndarray, minor: float, major: float,
          gate: float) -> List[Tuple[int, int, str]]:
    """(start, end, severity) of the spans the model would give (:func:`probability_runs`)."""
    return [(words[first][0], words[last][1], "major" if top >= major else "minor")
            for first, last, top in probability_runs(probs, minor, gate)]


def group_f1(items: Sequence[SpanItem], probs: Sequence[np.ndarray], minor: float, major: float,
             gate: float, severity: bool, counters=None) -> Dict[str, float]:
    """Span F1 per group (micro over the group's items)."""
    counters = counters or [_Counts(i) for i in items]
    sums: Dict[str, List[float]] = {}
    for item, p, c in zip(items, probs, counters):
        tp, predicted = c.counts(_runs(item.words, p, minor, major, gate), severity)
        s = sums.setdefault(item.group, [0.0, 0.0, 0.0])
        s[0] += tp
        s[1] += c.gold
        s[2] += predicted
    return {g: _f1(*s) for g, s in sums.items()}


def synthetic_rates(items: Sequence[SpanItem], probs: Sequence[np.ndarray], minor: float,
                    gate: float) -> Dict[str, float]:
    """Share of changed words marked (a span overlaps the change) and share of clean originals
    with any span, per group."""
    out: Dict[str, List[int]] = {}
    for item, p in zip(items, probs):
        spans = _runs(item.words, p, minor, 2.0, gate)
        counts = out.setdefault(item.group, [0, 0, 0, 0])  # marked, perturbed, flagged, clean
        if item.kind is None:
            counts[3] += 1
            counts[2] += bool(spans)
        else:
            counts[1] += 1
            counts[0] += any(s < e2 and e > s2 for s, e, _ in spans for s2, e2, _ in item.gold)
    return {g: {"marked": c[0] / max(1, c[1]), "flagged": c[2] / max(1, c[3])}
            for g, c in out.items()}


def _per_item(items, probs, counters, minor: float, major: float, severity: bool):
    """(true-positive credit, predicted slots) per item at ``minor`` / ``major``, no gate."""
    out = np.zeros((len(items), 2))
    for n, (item, p, c) in enumerate(zip(items, probs, counters)):
        out[n] = c.counts(_runs(item.words, p, minor, major, -np.inf), severity)
    return out


def _mean_group_f1(per_item: np.ndarray, gold: np.ndarray, groups: np.ndarray,
                   passed: np.ndarray) -> float:
    """Mean over groups of micro F1, counting predictions only where the gate ``passed``."""
    k = int(groups.max()) + 1
    tp = np.bincount(groups, per_item[:, 0] * passed, minlength=k)
    predicted = np.bincount(groups, per_item[:, 1] * passed, minlength=k)
    total = np.bincount(groups, gold, minlength=k)
    return float(np.mean([_f1(*v) for v in zip(tp, total, predicted)]))


def choose_thresholds(items: Sequence[SpanItem], probs: Sequence[np.ndarray],
                      synthetic: Sequence[SpanItem] = (), synthetic_probs: Sequence[np.ndarray] = (),
                      min_marked: float = 0.80, max_flagged: float = 0.25,
                      min_precision: float = 0.5,
                      use_gate: bool = True) -> Tuple[float, float, float, Dict[str, float]]:
    """(minor, major, gate, report) for word probabilities ``probs`` of ``items`` (any score
    that grows with the chance of an error will do: only its order matters). The gate only
    switches whole sentences on or off, so each ``minor`` is counted once per item and every
    gate is a mask over those counts."""
    counters = [_Counts(i) for i in items]
    pooled = np.concatenate([p for p in probs if len(p)])
    grid = sorted(set(np.round(np.quantile(pooled, QUANTILES), 6).tolist()))
    names = sorted({i.group for i in items})
    groups = np.array([names.index(i.group) for i in items])
    gold = np.array([c.gold for c in counters], dtype=float)
    top = np.array([p.max() if len(p) else -np.inf for p in probs])
    s_names = sorted({i.group for i in synthetic})
    s_groups = np.array([s_names.index(i.group) for i in synthetic], dtype=int)
    s_top = np.array([p.max() if len(p) else -np.inf for p in synthetic_probs])
    s_clean = np.array([i.kind is None for i in synthetic], dtype=bool)
    s_counters = [_Counts(i) for i in synthetic]
    best = None
    for minor in grid:
        per_item = _per_item(items, probs, counters, minor, minor, False)
        if synthetic:
            hits = np.array([any(s < e2 and e > s2 for s, e, _ in
                                 _runs(i.words, p, minor, 2.0, -np.inf) for s2, e2, _ in i.gold)
                             for i, p in zip(synthetic, synthetic_probs)])
            any_span = s_top >= minor
            s_counts = _per_item(synthetic, synthetic_probs, s_counters, minor, minor, False)
        gates = [-np.inf] + ([g for g in grid if g > minor] if use_gate else [])
        for gate in gates:
            score = _mean_group_f1(per_item, gold, groups, top >= gate)
            shortfall = 0.0
            if synthetic:
                passed = s_top >= gate
                for g in range(len(s_names)):
                    perturbed, clean = (s_groups == g) & ~s_clean, (s_groups == g) & s_clean
                    marked = float((hits & passed)[perturbed].mean()) if perturbed.any() else 1.0
                    flagged = float((any_span & passed)[clean].mean()) if clean.any() else 0.0
                    shortfall += max(0.0, min_marked - marked) + max(0.0, flagged - max_flagged)
                    shown = perturbed & passed
                    marked_chars = s_counts[shown, 1].sum()
                    precision = s_counts[shown, 0].sum() / marked_chars if marked_chars else 1.0
                    shortfall += max(0.0, min_precision - precision)
            key = (-round(shortfall, 6), round(score, 6), -gate, minor)
            if best is None or key > best[0]:
                best = (key, minor, gate)
    (neg_shortfall, binary, _, _), minor, gate = best
    passed = top >= gate
    majors = [g for g in grid if g >= minor] + [np.inf]
    severity = [(_mean_group_f1(_per_item(items, probs, counters, minor, m, True), gold, groups,
                                passed), m) for m in majors]
    best_severity, major = max(severity, key=lambda pair: (round(pair[0], 6), -pair[1]))
    return minor, major, gate, {"binary_f1": round(binary, 4),
                                "severity_f1": round(best_severity, 4),
                                "synthetic_shortfall": round(-neg_shortfall, 4)}


def fit_thresholds(model: SpanModel, items: Sequence[SpanItem],
                   synthetic: Sequence[SpanItem] = (), use_gate: bool = True,
                   **limits: float) -> SpanModel:
    """``model`` with ``minor``, ``gate`` and ``major`` fitted (see the module docstring)."""
    probs = [model.probabilities(i.matrix) for i in items]
    synthetic_probs = [model.probabilities(i.matrix) for i in synthetic]
    minor, major, gate, report = choose_thresholds(items, probs, synthetic, synthetic_probs,
                                                   use_gate=use_gate, **limits)
    return SpanModel(model.features, model.mean, model.scale, model.coef, model.intercept,
                     minor=float(minor), major=float(min(major, 1.0)), gate=float(max(gate, 0.0)),
                     omissions=model.omissions,
                     fitted_on=dict(model.fitted_on, **{k: float(v) for k, v in report.items()}))


def fit_span_model(items: Sequence[SpanItem], features: Sequence[str] = FEATURES,
                   synthetic: Sequence[SpanItem] = (), l2: float = 1.0,
                   use_gate: bool = True, extra: Sequence[SpanItem] = (),
                   extra_share: float = 0.0) -> SpanModel:
    """Probabilities (human items, plus ``extra`` synthetic training items weighing
    ``extra_share`` of them), then thresholds (on the human items, ``synthetic`` the
    constraint): the whole fit."""
    model = fit_probabilities(items, features, l2, extra, extra_share)
    return fit_thresholds(model, items, synthetic, use_gate=use_gate)


# -- items from a model ---------------------------------------------------------------------------
#: Synthetic error kinds the span model is fitted on (deletions leave no word to mark).
SYNTHETIC_KINDS = ("replacement", "number", "negation", "untranslated", "swap")


def scored_items(qe, rows: Sequence[Tuple[str, str, Gold]], group: str, reverse: bool,
                 batch_size: int = 32, progress=False,
                 kinds: Optional[Sequence[Optional[str]]] = None) -> List[SpanItem]:
    """SpanItems of (source, translation, gold) rows, scored once with ``qe`` (and its
    reverse model when ``reverse``)."""
    sources, mts = [r[0] for r in rows], [r[1] for r in rows]
    result = qe.score(sources, mts, method="sigmoid", aggregate="mean", extra_stats=list(STATS),
                      batch_size=batch_size, progress=progress, check_direction=False,
                      direction="forward")
    backward = (reverse_arrays(qe, sources, mts, batch_size, progress, qe.include_eos)
                if reverse else [None] * len(rows))
    eos_id = qe.backend.eos_token_id
    out = []
    for k, (row, seg, rev) in enumerate(zip(rows, result.segments, backward)):
        words, matrix = word_features(row[1], row[0], TokenArrays.from_tokens(seg.tokens, eos_id), rev)
        out.append(SpanItem(row[1], words, matrix, tuple(row[2]), group,
                            kinds[k] if kinds is not None else None))
    return out


def synthetic_rows(pairs: Sequence[Tuple[str, str]], lp: str, seed: int = 0,
                   kinds: Sequence[str] = SYNTHETIC_KINDS):
    """(rows, kinds): each good translation untouched and with one seeded single error
    (``kinds``), the characters it changed as gold (swaps minor, the rest major)."""
    src, tgt = lp.split("-")
    detection = detection_items(list(dict.fromkeys(pairs)), tgt, src, seed=seed, kinds=kinds)
    by_original: Dict[Tuple[str, str], list] = {}
    for item in detection:
        by_original.setdefault(item.original, []).append(item)
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for pair in dict.fromkeys(pairs):
        rows.append((pair[0], pair[1], ()))
        labels.append(None)
        options = by_original.get(pair)
        if options:
            item = options[int(rng.integers(len(options)))]
            rows.append((item.perturbed[0], item.perturbed[1],
                         tuple((s, e, KIND_SEVERITY.get(item.kind, "major")) for s, e in item.spans)))
            labels.append(item.kind)
    return rows, labels
