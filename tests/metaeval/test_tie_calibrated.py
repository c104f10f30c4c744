"""acc_eq's fast ungrouped bootstrap equals the slow one (resampling the plain statistic)."""
from __future__ import annotations

import numpy as np
import pytest

from sigmoid_qe.metaeval import resampling, tie_calibrated
from sigmoid_qe.metaeval.tie_calibrated import acc_eq_flat_bootstrap_ci


@pytest.mark.parametrize("shape", [(30,), (2, 25), (3, 12)])
def test_fast_flat_acc_eq_bootstrap_equals_the_slow_one(shape):
    rng = np.random.default_rng(sum(shape))
    gold = np.round(-rng.exponential(1, shape) * (rng.random(shape) < 0.4))
    metric = np.round(rng.random(shape) * 3 + 0.3 * gold, 1)  # ties in both
    if len(shape) == 2:
        gold[0, 1] = np.nan
    indices = resampling.item_bootstrap_indices(shape[-1], 100, 7)
    slow = resampling.bootstrap_ci(lambda g, m: tie_calibrated.acc_eq(g, m, group="none").value, gold, metric,
                              indices=indices)
    np.testing.assert_allclose(acc_eq_flat_bootstrap_ci(gold, metric, indices), slow, rtol=1e-12)
