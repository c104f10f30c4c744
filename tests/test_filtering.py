"""--keep-top's selection: exactly k kept, whatever the scores hold."""
from __future__ import annotations

import numpy as np

from sigmoid_qe.filtering import top_mask


def test_top_mask_keeps_exactly_k_even_with_nan():
    """A NaN score made the k-th highest NaN, and then fewer than k pairs were kept (1 of 3 at
    --keep-top 70% instead of 2); NaN now ranks lowest."""
    scores = np.array([-0.5, np.nan, -0.2])
    assert top_mask(scores, 2).tolist() == [True, False, True]
    assert top_mask(scores, 3).sum() == 3
    assert top_mask(np.array([0.1, 0.1, 0.3, 0.1]), 2).tolist() == [True, False, True, False]
