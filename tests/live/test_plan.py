"""Frame tokens -> plan spans: true onsets, one N per silent run, cut at the plan's end."""

from __future__ import annotations

from cojam.data.tokens import TokenSpec
from cojam.live.plan import PlannedChord, chord_spans, stitch

SPEC = TokenSpec(chords=("C", "Am", "G"))
N, ON, HOLD = SPEC.chord_silence, SPEC.chord_on, SPEC.chord_hold


def test_spans_from_frames():
    frames = [HOLD("C"), HOLD("C"), N, N, ON("Am"), ON("Am"), HOLD("Am"), ON("G")]
    spans = chord_spans(SPEC, frames, first_frame=10, first_onset=8, committed_frames=14)
    assert spans == [
        PlannedChord("C", 2.0, 1.0, True),
        PlannedChord("N", 3.0, 0.5, True),
        PlannedChord("Am", 3.5, 0.25, False),
        PlannedChord("Am", 3.75, 0.5, False),
        PlannedChord("G", 4.25, 0.25, False),
    ]


def test_a_silent_plan_is_one_n():
    assert chord_spans(SPEC, [N] * 8, 4, 0, 4) == [PlannedChord("N", 0.0, 3.0, True)]


def test_stitch_fresh_then_older_then_held():
    fresh = [ON("C"), HOLD("C")]
    older = [ON("Am"), HOLD("Am"), HOLD("Am"), ON("G")]
    assert stitch(SPEC, fresh, older, 6) == [ON("C"), HOLD("C"), ON("Am"), ON("G"),
                                             HOLD("G"), HOLD("G")]
    assert stitch(SPEC, [HOLD("C")], [], 3) == [HOLD("C"), HOLD("C"), HOLD("C")]
    assert stitch(SPEC, [N], [N, HOLD("G")], 2) == [N, ON("G")]


def test_stitch_holds_the_fresh_chord_to_the_next_grid_frame():
    """Frames 6..11 on a grid of 4: the older plan takes over at frame 8, not at 7, and
    off the grid after the seam a chord only goes on."""
    fresh = [ON("C")]
    older = [ON("Am"), ON("G"), HOLD("G"), HOLD("G"), N, N]
    assert stitch(SPEC, fresh, older, 6, first_frame=6, grid=4) == [
        ON("C"), HOLD("C"), ON("G"), HOLD("G"), HOLD("G"), HOLD("G")]
    assert stitch(SPEC, [N], [N, ON("G"), HOLD("G")], 3, first_frame=3, grid=4) == [
        N, ON("G"), HOLD("G")]
