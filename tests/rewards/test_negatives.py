"""Negatives on hand-made token rows: exact expected tokens."""

import numpy as np
import pytest

from cojam.data.batches import FrameExample, transposition_table
from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.music.chords import parse_chord
from cojam.rewards.negatives import (
    MIN_SHIFT,
    NegativeSampler,
    fit_length,
    negative_kinds,
    shift_chords,
    transpose_chords,
)

SPEC = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in ("C", "G7", "Am")]))
C_ON, C_HOLD = SPEC.chord_on("C"), SPEC.chord_hold("C")
G_ON, G_HOLD = SPEC.chord_on("G7"), SPEC.chord_hold("G7")
N = SPEC.chord_silence
# Two beats of C, one of G7, a silent beat: 16 frames.
CHORDS = np.array([C_ON] + [C_HOLD] * 7 + [G_ON] + [G_HOLD] * 3 + [N] * 4)
MELODY = np.array([SPEC.melody_on(60)] + [SPEC.melody_hold(60)] * 15)


def test_fit_length_crops_from_offset_and_tiles_short_rows():
    row = np.array([1, 2, 3, 4, 5])
    assert fit_length(row, 3).tolist() == [1, 2, 3]
    assert fit_length(row, 3, offset=3).tolist() == [4, 5, 1]
    assert fit_length(row, 12, offset=1).tolist() == [2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3]
    with pytest.raises(ValueError):
        fit_length(row, 3, offset=5)


def test_shift_moves_chords_later_and_wraps():
    shifted = shift_chords(CHORDS, 4)
    expected = [N] * 4 + [C_ON] + [C_HOLD] * 7 + [G_ON] + [G_HOLD] * 3
    assert shifted.tolist() == expected
    assert shift_chords(CHORDS, -4)[:4].tolist() == [C_HOLD] * 4  # earlier: C already sounding


def test_transpose_moves_every_chord_token_and_keeps_silence():
    up_two = transpose_chords(CHORDS, transposition_table(SPEC, 2))
    expected = ([SPEC.chord_on("D")] + [SPEC.chord_hold("D")] * 7 + [SPEC.chord_on("A7")]
                + [SPEC.chord_hold("A7")] * 3 + [N] * 4)
    assert up_two.tolist() == expected


def test_sampler_keeps_melody_and_draws_each_kind_as_specified():
    other = np.array([SPEC.chord_on("Am")] + [SPEC.chord_hold("Am")] * 5)
    examples = [FrameExample("a", MELODY, CHORDS), FrameExample("a", MELODY, CHORDS),
                FrameExample("b", MELODY[:6], other)]
    sampler = NegativeSampler(SPEC, negative_kinds(rhythm=False))
    rng = np.random.default_rng(0)
    crops = set()
    for _ in range(20):
        song = sampler.negative("other_song", 0, examples, rng)
        assert song.melody is MELODY
        # Only song "b" is another; its chords are tiled from a whole beat (frame 0 or 4).
        crops.add(next(o for o in (0, 4) if np.array_equal(song.chords, fit_length(other, 16, o))))
        shifted = sampler.negative("shifted", 0, examples, rng)
        offsets = [k for k in range(MIN_SHIFT, 16 - MIN_SHIFT + 1)
                   if np.array_equal(np.roll(CHORDS, k), shifted.chords)]
        assert offsets  # a rotation by at least a beat either way
        moved = sampler.negative("transposed", 0, examples, rng)
        roots = {parse_chord(SPEC.chord_token_info(int(t))[1]).root for t in moved.chords[:8]}
        assert roots != {0} and len(roots) == 1  # C moved by 1..11 semitones, never by 0
    assert crops == {0, 4}


def test_rhythm_models_skip_transposed_negatives_and_errors_are_raised():
    assert negative_kinds(rhythm=True) == ("other_song", "shifted")
    sampler = NegativeSampler(SPEC, ("other_song",))
    with pytest.raises(ValueError, match="only song"):
        sampler.negative("other_song", 0, [FrameExample("a", MELODY, CHORDS)],
                         np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot shift"):
        sampler.negative("shifted", 0, [FrameExample("a", MELODY[:6], CHORDS[:6])],
                         np.random.default_rng(0))
    with pytest.raises(ValueError):
        NegativeSampler(SPEC, ("reversed",))
