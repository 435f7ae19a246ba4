"""Intervals: t over passes, bootstrap over songs, per-song grouping."""

import math

import numpy as np
import pytest

from cojam.eval.stats import bootstrap_interval, group_means, pass_interval


def test_pass_interval_stays_inside_the_passes():
    values = np.array([1.2, 9.0, 30.0])  # Vendi of three passes: a t-interval goes below 1
    mean, low, high = pass_interval(values)
    assert mean == pytest.approx(values.mean())
    assert 1.2 <= low <= mean <= high <= 30.0
    assert pass_interval(np.array([5.0])) == (5.0, 5.0, 5.0)
    assert pass_interval(np.array([2.0, 2.0, 2.0]))[1:] == pytest.approx((2.0, 2.0))
    with pytest.raises(ValueError):
        pass_interval(np.array([]))


def test_bootstrap_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(1).normal(0.5, 0.1, size=40)
    value, low, high = bootstrap_interval(values, seed=3)
    assert value == pytest.approx(values.mean()) and low < value < high
    # roughly the normal interval 1.96 * sd / sqrt(n)
    assert (high - low) / 2 == pytest.approx(1.96 * values.std() / math.sqrt(40), rel=0.25)
    assert bootstrap_interval(values, seed=3) == (value, low, high)
    assert bootstrap_interval(np.full(10, 0.7)) == pytest.approx((0.7, 0.7, 0.7))


def test_bootstrap_with_a_censored_statistic():
    def first_above(resamples):  # (R, n) -> (R,): inf when no value is above 0.5
        return np.where((resamples > 0.5).any(axis=1), 1.0, np.inf)

    value, low, high = bootstrap_interval(np.array([0.1, 0.2, 0.9]), first_above, seed=0)
    assert value == 1.0 and low == 1.0 and high == math.inf


def test_group_means_average_within_songs_and_skip_nan():
    values = np.array([1.0, 3.0, np.nan, 5.0, np.nan])
    assert group_means(values, ["a", "a", "b", "b", "c"])[:2].tolist() == [2.0, 5.0]
    assert math.isnan(group_means(values, ["a", "a", "b", "b", "c"])[2])
    curves = np.array([[1.0, np.nan], [3.0, 4.0]])
    assert group_means(curves, ["s", "s"]).tolist() == [[2.0, 4.0]]
