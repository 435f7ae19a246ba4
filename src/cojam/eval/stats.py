"""95% intervals for the report's numbers, two kinds, each where it fits:

- **per-song metrics** (harmony, changes per bar, penalties, reward scores, adaptation):
  a percentile bootstrap over *songs* (``bootstrap_interval``). Samples and windows of
  one song are averaged first, because they are not independent evidence: the unit of
  generalisation is the song. Resampling is seeded, so a report is reproducible.
- **set metrics** (chord entropy, distinct chords, Vendi): these describe a whole set of
  outputs and bootstrapping songs would duplicate items (which Vendi counts as lost
  diversity). Each sampling pass gives one set (one output per piece); the interval is a
  percentile bootstrap of the mean over passes (``pass_interval``), so it never leaves
  the range the passes span (a t-interval over three passes put Vendi below 1, which no
  set of outputs can score). With a deterministic system every pass is the same set and
  the interval has zero width — correctly: the only variation left is over songs, which
  a set metric does not resample.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

LEVEL = 0.95
RESAMPLES = 2000

def mean_over_songs(resamples: np.ndarray) -> np.ndarray:
    """(R, songs) -> (R,): the default bootstrap statistic."""
    return resamples.mean(axis=1)


def bootstrap_interval(
    per_song: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = mean_over_songs,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(statistic, low, high): the statistic of ``per_song`` (rows = songs) and the
    percentile interval of its value over songs resampled with replacement.

    ``statistic`` is vectorised: it maps resampled sets (R, songs, ...) to (R,) values
    (thousands of resamples would be slow one by one). It may return ``inf`` (a censored
    recovery time); the interval then takes the nearest resampled values rather than
    interpolating between infinities.
    """
    per_song = np.asarray(per_song, dtype=float)
    if len(per_song) == 0:
        raise ValueError("no songs to resample")
    value = float(statistic(per_song[None])[0])
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(per_song), size=(resamples, len(per_song)))
    stats = np.asarray(statistic(per_song[draws]), dtype=float)
    stats = stats[~np.isnan(stats)]
    if len(stats) == 0:
        return value, math.nan, math.nan
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(stats, [tail, 1 - tail], method="nearest")
    return value, float(low), float(high)


def pass_interval(values: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of the mean of one set metric over sampling passes: a
    percentile bootstrap over passes, inside [min, max] of the passes by construction."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        raise ValueError("no values to average")
    return bootstrap_interval(values, seed=seed)


def group_means(values: np.ndarray, groups: list[str]) -> np.ndarray:
    """Mean of ``values`` (rows) per group, in order of first appearance; NaN rows are
    ignored (a group whose rows are all NaN gives NaN)."""
    values = np.asarray(values, dtype=float)
    order = list(dict.fromkeys(groups))
    index = {g: i for i, g in enumerate(order)}
    members: list[list[int]] = [[] for _ in order]
    for row, group in enumerate(groups):
        members[index[group]].append(row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN group is NaN, as said
        return np.array([np.nanmean(values[rows], axis=0) for rows in members])
