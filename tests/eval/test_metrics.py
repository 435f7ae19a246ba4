"""Evaluation metrics on hand-made cases, degenerate outputs included."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cojam.data.tokens import TokenSpec, chord_vocabulary, song_to_frames
from cojam.eval.key_finding import Key
from cojam.eval.metrics import (
    chord_changes_per_bar,
    chord_entropy,
    chord_symbols,
    chords_in_key,
    distinct_chords,
    key_invariant,
    ngram_similarity,
    onsets_on_beats,
    per_beat_harmony,
    recovery_beats,
    recovery_beats_batch,
    vendi_score,
)
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song
from cojam.rewards.frames import frame_view
from cojam.rewards.rules import clashes, note_in_chord

SPEC = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in ("C", "G7", "Am", "F")]))


def view(chords, pitches=(60, 62, 64, None)):
    notes = tuple(Note(onset=i, duration=1, pitch=p) for i, p in enumerate(pitches) if p)
    spans = tuple(ChordSpan(o, d, parse_chord(c)) for o, d, c in chords)
    melody, chord_row = song_to_frames(Song("t", "t", notes=notes, chords=spans), SPEC)
    return frame_view(melody, chord_row, SPEC)


def test_per_beat_harmony_marks_silent_beats():
    curve = per_beat_harmony(view([(0, 4, "C")]))
    assert curve[:3].tolist() == [1.0, 0.0, 1.0] and math.isnan(curve[3])


def test_clashes_see_the_rub_that_note_in_chord_does_not():
    """B rubs against C (a semitone below its root) and sits inside G7; F sits inside G7.
    Note-in-chord counts only the notes inside; the clashes count the rubs."""
    v = view([(0, 2, "C"), (2, 2, "G7")], pitches=(71, 71, 71, 65))  # B B | B F
    assert clashes(v) == pytest.approx(0.5)  # B against C's C; G7 holds B and F
    assert note_in_chord(v) == pytest.approx(0.5)
    assert clashes(view([(0, 4, "C")], pitches=(60, 62, 64, 67))) == 0.0
    assert clashes(view([(0, 4, "C")], pitches=(None,))) == 0.0  # no melody, no rub


def test_chords_in_key_counts_attacked_chords_inside_the_scale():
    v = view([(0, 1, "C"), (1, 1, "F"), (2, 2, "G7")])
    c_major, f_major = Key(0, "major").scale, Key(5, "major").scale
    assert chords_in_key(v, c_major) == 1.0
    assert chords_in_key(v, f_major) == pytest.approx(2 / 3)  # G7 holds B
    assert Key(9, "minor").scale == c_major | {8}  # A minor with its leading tone G#
    assert math.isnan(chords_in_key(v, None))


def test_chord_symbols_changes_and_beat_alignment():
    v = view([(0, 1, "C"), (1, 1, "C"), (2.25, 1.75, "G7")])
    assert chord_symbols(v, SPEC.chords) == ["C", "C", "G7"]
    assert chord_changes_per_bar(v, beats_per_bar=4) == 3.0
    assert onsets_on_beats(v) == pytest.approx(2 / 3)


def test_entropy_and_distinct_chords():
    assert chord_entropy([["C"] * 10, ["C"]]) == 0.0  # one chord forever: no diversity
    assert chord_entropy([["C", "G7"], ["Am", "F"]]) == 2.0
    assert distinct_chords([["C", "G7"], ["G7"]]) == 2
    assert chord_entropy([]) == 0.0


def test_vendi_counts_effective_distinct_sequences():
    same = [["C", "G7", "C"]] * 5
    assert vendi_score(ngram_similarity(same)) == pytest.approx(1.0)
    disjoint = [["C"], ["G7"], ["Am"], ["F"]]
    assert vendi_score(ngram_similarity(disjoint)) == pytest.approx(4.0)
    # Same chords in another order share unigrams but not bigrams: between 1 and 2.
    two = vendi_score(ngram_similarity([["C", "G7", "Am"], ["Am", "G7", "C"]]))
    assert 1.0 < two < 2.0
    assert vendi_score(ngram_similarity([[], []])) == pytest.approx(1.0)


def test_similarity_is_a_unit_diagonal_psd_matrix():
    rng = np.random.default_rng(0)
    seqs = [list(rng.choice(["C", "G7", "Am", "F"], size=rng.integers(0, 6))) for _ in range(20)]
    k = ngram_similarity(seqs)
    assert np.allclose(np.diag(k), 1.0) and np.allclose(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-9


def test_recovery_beats():
    curve = np.array([0.8] * 16 + [0.2, 0.3, 0.5, 0.75, 0.8, 0.8] + [0.8] * 4)
    assert recovery_beats(curve, 16) == 3.0  # mean(0.75, 0.8) >= 0.72
    assert recovery_beats(np.array([0.8] * 16 + [0.1] * 8), 16) == math.inf
    assert recovery_beats(np.array([0.8] * 16 + [0.9] * 4), 16) == 0.0


def test_key_invariant_sequences():
    assert key_invariant(["C", "F", "G", "C"]) == key_invariant(["D", "G", "A", "D"])
    assert key_invariant(["C", "F", "G7", "C/E"]) == ["maj", "+5:maj", "+2:7", "+5:maj/4"]
    # one chord forever in six keys: the symbol kernel sees six items, the key-free one
    one_chord = [[root] for root in ("C", "G", "D", "A", "E", "F")]
    assert vendi_score(ngram_similarity(one_chord)) == pytest.approx(6.0)
    assert vendi_score(ngram_similarity([key_invariant(s) for s in one_chord])) == (
        pytest.approx(1.0))
    with pytest.raises(ValueError):
        key_invariant(["N"])


@given(st.lists(st.lists(st.one_of(st.just(np.nan), st.floats(0, 1)), min_size=12,
                         max_size=12), min_size=1, max_size=6),
       st.integers(0, 11))
def test_recovery_batch_matches_the_scalar_version(curves, change):
    curves = np.array(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = [recovery_beats(row, change, before=4) for row in curves]
    assert recovery_beats_batch(curves, change, before=4).tolist() == expected
