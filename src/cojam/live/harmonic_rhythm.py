"""Harmonic rhythm: where a chord may change, as the musician sets it.

A model trained on Bach changes chord almost every beat; under a folk tune or a pop song
a musician often wants one chord per bar. The setting is enforced at decoding, for any
model: on a chord frame off the allowed grid every token is masked but the one that
continues what sounds (a hold of the sounding chord, or silence after silence), so a
chord can be attacked, or stopped, only on the grid. The grid is counted from beat 0 of
the session (count-in included), so bars are the bars the metronome clicks.
"""

from __future__ import annotations

RHYTHMS = ("free", "beat", "half-bar", "bar")
"""``free``: any frame (a sixteenth); ``beat``: on beats; ``half-bar``: on the first beat
and the middle of a bar; ``bar``: on the first beat of a bar only."""
DEFAULT_RHYTHM = "beat"  # measured on held-out folk tunes: docs/protocol.md
# (benchmarks/harmonic_rhythm.py; numbers in docs/protocol.md)


def grid_frames(rhythm: str, beats_per_bar: int, frames_per_beat: int) -> int:
    """Frames between two places where a chord may change (1: any frame)."""
    bar = beats_per_bar * frames_per_beat
    frames = {"free": 1, "beat": frames_per_beat, "half-bar": bar // 2, "bar": bar}.get(rhythm)
    if frames is None:
        raise ValueError(f"harmonic rhythm must be one of {', '.join(RHYTHMS)}, got {rhythm!r}")
    return max(frames, 1)


def may_change(frame: int, grid: int) -> bool:
    """Whether the chord may change at absolute ``frame`` on a grid of ``grid`` frames."""
    return frame % grid == 0
