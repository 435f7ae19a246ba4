"""The rank AUC on hand-made scores."""

import numpy as np
import pytest

from cojam.rewards.auc import roc_auc


def test_auc_perfect_reversed_chance_and_ties():
    assert roc_auc([3, 4], [1, 2]) == 1.0
    assert roc_auc([1, 2], [3, 4]) == 0.0
    assert roc_auc([1, 1], [1, 1, 1]) == 0.5  # all tied
    # 1 vs 0: 2 wins; 1 vs 1: tie (0.5); 2 vs 0 and 2 vs 1: wins -> 3.5 of 4 pairs.
    assert roc_auc([1, 2], [0, 1]) == pytest.approx(3.5 / 4)


def test_auc_matches_pair_counting_on_random_scores():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 30).astype(float), rng.integers(0, 5, 40).astype(float)
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(pos, neg) == pytest.approx(pairs)
    with pytest.raises(ValueError):
        roc_auc([], [1.0])
