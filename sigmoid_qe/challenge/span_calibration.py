"""Span thresholds without human labels: fit them on synthetic errors.

Human error spans are what the thresholds are *judged* on, so they must not be what they are
*chosen* on. Instead, :mod:`sigmoid_qe.challenge.perturb` puts one known error into held-back
human translations and records the characters it changed; the thresholds that maximise span F1
(WMT23 task 2's, :mod:`sigmoid_qe.metaeval.spans`) on those copies, mixed with the untouched
originals (which have no error, so every predicted span there is a false positive), are kept.

Severity: a word-order error (a ``swap``) is a minor error, every other kind changes the
meaning and is major, as MQM guidelines class them. The ``minor`` threshold is chosen first on
the binary F1 (is this character in an error?), then the ``major`` one (<= ``minor``) on the
severity-aware F1. The same procedure calibrates every method, so methods are compared fairly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..metaeval.spans import Segment, span_f1
from ..spans import SpanThresholds, error_spans

Span = Tuple[int, int]
#: Severity of each synthetic error kind.
KIND_SEVERITY = {"swap": "minor"}
#: Candidate thresholds: these quantiles of all word scores (errors are the minority).
QUANTILES = np.concatenate([np.linspace(0.002, 0.05, 13), np.linspace(0.06, 0.5, 23)])
MAX_ITEMS = 4000


@dataclass(frozen=True)
class CalibrationItem:
    """One translation (an original or a perturbed copy) with its word scores and gold."""

    mt: str
    words: Tuple[Span, ...]
    values: Tuple[float, ...]
    eos: Optional[float]
    gold: Tuple[Tuple[int, int, str], ...]


def gold_for(kind: Optional[str], spans: Sequence[Span]) -> Tuple[Tuple[int, int, str], ...]:
    """Gold spans of a synthetic error of ``kind`` (None: an untouched original)."""
    if kind is None:
        return ()
    severity = KIND_SEVERITY.get(kind, "major")
    return tuple((s, e, severity) for s, e in spans)


def _f1(items: Sequence[CalibrationItem], thresholds: SpanThresholds, severity: bool) -> float:
    segments = [Segment(i.mt, i.gold, tuple((e.start, e.end, e.severity) for e in error_spans(
        i.mt, i.words, i.values, i.eos, thresholds))) for i in items]
    return span_f1(segments, severity)["f1"]


def calibrate(items: Sequence[CalibrationItem], floor: float = 0.0, word_aggregate: str = "min",
              seed: int = 0) -> Tuple[SpanThresholds, Dict[str, object]]:
    """The (minor, major) thresholds with the best F1 on ``items`` (at most MAX_ITEMS of them,
    a seeded sample), and a report of the search."""
    items = list(items)
    if len(items) > MAX_ITEMS:
        keep = np.random.default_rng(seed).choice(len(items), MAX_ITEMS, replace=False)
        items = [items[k] for k in sorted(keep)]
    values = np.array([v for i in items for v in i.values if np.isfinite(v)] +
                      [i.eos for i in items if i.eos is not None])
    grid = sorted(set(np.quantile(values, QUANTILES).tolist())) if len(values) else [floor]
    binary = [(_f1(items, SpanThresholds(t, t, word_aggregate, floor), False), t) for t in grid]
    best_binary, minor = max(binary, key=lambda pair: (pair[0], -pair[1]))
    severity = [(_f1(items, SpanThresholds(minor, t, word_aggregate, floor), True), t)
                for t in [g for g in grid if g <= minor] + [floor - 1.0]]
    best_severity, major = max(severity, key=lambda pair: (pair[0], pair[1]))
    chosen = SpanThresholds(minor, major, word_aggregate, floor)
    report = {"items": len(items), "binary_f1": best_binary, "severity_f1": best_severity,
              "minor": minor, "major": major, "word_aggregate": word_aggregate,
              "grid": len(grid)}
    return chosen, report


def items_from_scores(records: Sequence[Tuple[str, Sequence[Span], Sequence[float], Sequence[bool],
                                              Tuple[Tuple[int, int, str], ...]]],
                      word_aggregate: str = "min") -> List[CalibrationItem]:
    """CalibrationItems from (mt, token spans, oriented token values, is-EOS flags, gold)."""
    from ..spans import word_scores, word_spans
    out = []
    for mt, spans, values, is_eos, gold in records:
        content = [(s, v) for s, v, e in zip(spans, values, is_eos) if not e]
        eos = [v for v, e in zip(values, is_eos) if e]
        words = tuple(word_spans(mt))
        per_word = word_scores(words, [s for s, _ in content], [v for _, v in content],
                               word_aggregate)
        out.append(CalibrationItem(mt, words, tuple(per_word), eos[0] if eos else None, gold))
    return out
