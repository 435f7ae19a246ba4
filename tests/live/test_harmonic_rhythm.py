"""The harmonic rhythm's grid: where a chord may change, in frames from beat 0."""

from __future__ import annotations

import pytest

from cojam.live.harmonic_rhythm import RHYTHMS, grid_frames, may_change


@pytest.mark.parametrize(("rhythm", "beats_per_bar", "frames"), [
    ("free", 4, 1), ("beat", 4, 4), ("half-bar", 4, 8), ("bar", 4, 16),
    ("half-bar", 3, 6), ("bar", 3, 12), ("half-bar", 1, 2),
])
def test_grid_frames(rhythm, beats_per_bar, frames):
    assert grid_frames(rhythm, beats_per_bar, 4) == frames


def test_may_change_on_the_grid_only():
    assert [frame for frame in range(20) if may_change(frame, 8)] == [0, 8, 16]
    assert all(may_change(frame, 1) for frame in range(5))


def test_unknown_rhythm_names_the_choices():
    with pytest.raises(ValueError, match="free, beat, half-bar, bar"):
        grid_frames("swing", 4, 4)
    assert RHYTHMS == ("free", "beat", "half-bar", "bar")
