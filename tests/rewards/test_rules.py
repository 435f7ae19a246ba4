"""Rule rewards on hand-made pairs, including the degenerate outputs that game them."""

import numpy as np
import pytest

from cojam.data.tokens import TokenSpec, chord_vocabulary, song_to_frames
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song
from cojam.rewards.frames import chord_runs, frame_view
from cojam.rewards.rules import (
    chord_changes_per_frame,
    chord_silence,
    early_end,
    excess_silence,
    invalid_holds,
    long_chords,
    note_in_chord,
    repeated_chords,
    rule_scores,
    silence_over_melody,
)

SPEC = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in ("C", "G7", "Am")]))
# C major scale, one note per beat over 8 beats.
MELODY = tuple(
    Note(onset=i, duration=1, pitch=p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])
)


def view(chords, notes=MELODY):
    spans = tuple(ChordSpan(o, d, parse_chord(c)) for o, d, c in chords)
    song = Song("t", "test", notes=notes, chords=spans)
    melody, chord_row = song_to_frames(song, SPEC)
    length = max(len(melody), 32)
    melody = np.pad(melody, (0, length - len(melody)), constant_values=SPEC.melody_silence)
    chord_row = np.pad(chord_row, (0, length - len(chord_row)), constant_values=SPEC.chord_silence)
    return frame_view(melody, chord_row, SPEC)


def test_note_in_chord_counts_sounding_frames():
    # C over beats 0-3 (C D E F: C and E inside), G7 over 4-7 (G A B C: G and B inside).
    assert note_in_chord(view([(0, 4, "C"), (4, 4, "G7")])) == 0.5
    assert note_in_chord(view([(0, 8, "Am")])) == 0.5  # C, E, A and the top C


def test_silence_games_nothing():
    silent = view([])
    assert note_in_chord(silent) == 0.0
    assert chord_silence(silent) == 1.0 and silence_over_melody(silent) == 1.0
    assert excess_silence(silent) == pytest.approx(0.96)
    assert early_end(silent) == 1.0


def test_one_chord_forever_is_long_and_repeated_attacks_are_counted():
    one = view([(0, 8, "C")])
    assert long_chords(one, max_beats=4) == pytest.approx(16 / 32)
    assert long_chords(one, max_beats=8) == 0.0
    reattacked = view([(b, 1, "C") for b in range(8)])
    assert repeated_chords(reattacked) == 4.0  # 8 attacks, 4 allowed
    assert repeated_chords(one) == 0.0
    assert long_chords(reattacked, max_beats=4) == 0.0


def test_a_change_every_frame_shows_in_changes_per_frame():
    busy = view([(f / 4, 0.25, ["C", "Am"][f % 2]) for f in range(32)])
    assert chord_changes_per_frame(busy) == 1.0
    assert chord_changes_per_frame(view([(0, 8, "C")])) == 1 / 32


def test_dangling_holds_are_invalid():
    melody = np.full(4, SPEC.melody_silence)
    chords = np.array(
        [SPEC.chord_hold("C"), SPEC.chord_hold("C"), SPEC.chord_silence, SPEC.chord_hold("G7")]
    )
    v = frame_view(melody, chords, SPEC)
    assert invalid_holds(v) == 2.0
    assert [(s, n, SPEC.chords[c]) for s, n, c in chord_runs(v)] == [(0, 2, "C"), (3, 1, "G7")]


def test_early_end_measures_melody_after_the_last_chord():
    assert early_end(view([(0, 4, "C")])) == 0.5
    assert early_end(view([(0, 8, "C")])) == 0.0


def test_rule_scores_names_every_rule():
    scores = rule_scores(view([(0, 4, "C"), (4, 4, "G7")]))
    assert scores["note_in_chord"] == 0.5 and scores["invalid_holds"] == 0.0
    assert set(scores) >= {"long_chords", "repeated_chords", "early_end", "excess_silence"}


def test_frame_view_rejects_wrong_streams():
    with pytest.raises(ValueError, match="wrong stream"):
        frame_view(np.array([SPEC.chord_silence]), np.array([SPEC.chord_silence]), SPEC)
