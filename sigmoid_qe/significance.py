"""Paired bootstrap resampling between systems' segment scores, as sacrebleu does it.

Same resample indices for every system (one RNG, seed 12345, drawn once), 1000 resamples,
the system's bootstrap mean with a 95% interval (the 2.5% and 97.5% order statistics), and
sacrebleu's p-value: the centred resampled |differences| exceeding the observed
|difference|, counted with +1 smoothing, ``(count + 1) / (n + 1)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

DEFAULT_SAMPLES = 1000
DEFAULT_SEED = 12345


@dataclass
class BootstrapResult:
    name: str
    score: float
    mean: float
    ci: float  # half-width of the 95% interval, as sacrebleu reports it
    p_value: Optional[float]  # against the first system; None for the first itself


def bootstrap_indices(n_segments: int, n_samples: int = DEFAULT_SAMPLES,
                      seed: int = DEFAULT_SEED) -> np.ndarray:
    """[n_samples, n_segments] resample indices, identical for every system."""
    rng = np.random.default_rng(seed)
    return rng.choice(n_segments, size=(n_samples, n_segments), replace=True)


def mean_and_ci(samples: np.ndarray) -> tuple:
    """Bootstrap mean and half-width of the 95% interval (sacrebleu's estimate_ci)."""
    ordered = np.sort(samples)
    n = len(ordered)
    low = n // 40
    return float(ordered.mean()), float(0.5 * (ordered[n - low - 1] - ordered[low]))


def paired_p_value(baseline_samples: np.ndarray, system_samples: np.ndarray,
                   observed_difference: float) -> float:
    diffs = np.abs(system_samples - baseline_samples)
    centred = diffs - diffs.mean()
    count = int(np.sum(centred > observed_difference))
    return (count + 1) / (len(centred) + 1)


def paired_bootstrap(systems: Dict[str, Sequence[float]], n_samples: int = DEFAULT_SAMPLES,
                     seed: int = DEFAULT_SEED) -> List[BootstrapResult]:
    """Each system's mean with 95% CI and its p-value against the first system."""
    names = list(systems)
    if len(names) < 2:
        raise ValueError("the paired bootstrap needs at least two systems")
    arrays = {name: np.asarray(systems[name], dtype=np.float64) for name in names}
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"systems have different numbers of segments: {sorted(lengths)}")
    n = lengths.pop()
    if n == 0:
        raise ValueError("no segments to resample")
    idx = bootstrap_indices(n, n_samples, seed)
    baseline = arrays[names[0]]
    base_samples = baseline[idx].mean(axis=1)
    results = []
    for name in names:
        scores = arrays[name]
        samples = scores[idx].mean(axis=1)
        mean, ci = mean_and_ci(samples)
        p = None if name == names[0] else paired_p_value(
            base_samples, samples, abs(baseline.mean() - scores.mean()))
        results.append(BootstrapResult(name, float(scores.mean()), mean, ci, p))
    return results
