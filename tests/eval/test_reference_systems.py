"""Baselines on hand-made melodies: the harmoniser's choices, and the degenerate systems
scoring lowest where they should."""

import numpy as np
import pytest
from eval_helpers import handmade_songs

from cojam.data.tokens import song_to_frames
from cojam.eval.pieces import Piece
from cojam.eval.reference_systems import (
    baseline_systems,
    chord_row,
    every_frame,
    ground_truth,
    harmonise,
    one_chord,
    random_chords,
    tonic_causal,
)
from cojam.eval.system_scores import score_outputs
from cojam.music.song import Note, Song
from cojam.rewards.frames import frame_view


def melody_row(pitches, spec, beat=1.0):
    """One note per entry (a list entry is several equal notes in one beat)."""
    notes, onset = [], 0.0
    for item in pitches:
        group = item if isinstance(item, list) else [item]
        for p in group:
            notes.append(Note(onset, beat / len(group), p))
            onset += beat / len(group)
    return song_to_frames(Song("m", "test", tuple(notes), ()), spec)[0]


def beat_chords(row, spec):
    """The chord sounding on each beat, by symbol."""
    view = frame_view(np.full(len(row), spec.melody_silence), row, spec)
    return [None if view.chord[t] < 0 else spec.chords[view.chord[t]]
            for t in range(0, len(row), spec.frames_per_beat)]


@pytest.mark.parametrize("tonic, expected", [
    (0, ["C", "G", "C", "F", "C", "F", "G", "C"]),
    (7, ["G", "D", "G", "C", "G", "C", "D", "G"]),
])
def test_rule_based_harmonises_a_major_scale(spec, tonic, expected):
    scale = [60 + tonic + s for s in (0, 2, 4, 5, 7, 9, 11, 12)]
    row = harmonise(melody_row(scale, spec), spec)
    assert beat_chords(row, spec) == expected


@pytest.mark.parametrize("tonic, vi", [(0, "Am"), (7, "Em")])
def test_rule_based_picks_vi_when_it_covers_the_most(spec, tonic, vi):
    # establish the key, then a beat of A and E (in C): only vi holds both
    pitches = [60, 64, 67, 72, 65, 71, 72, 60]
    pitches = [p + tonic for p in pitches] + [[69 + tonic, 64 + tonic]]
    assert beat_chords(harmonise(melody_row(pitches, spec), spec), spec)[-1] == vi


def test_rule_based_sustains_and_waits_for_the_melody(spec):
    rest = np.full(4, spec.melody_silence)  # one silent beat
    row = harmonise(np.concatenate([rest, melody_row([60, 64, 67], spec), rest]), spec)
    assert beat_chords(row, spec) == [None, "C", "C", "C", "C"]
    assert int(row[4]) == spec.chord_on("C") and int(row[8]) == spec.chord_hold("C")


def test_chord_row_attacks_and_holds(spec):
    row = chord_row(["C", "C", None, "G"], [0, 4, 8, 12], 16, spec)
    assert row[0] == spec.chord_on("C") and row[4] == spec.chord_hold("C")
    assert (row[8:12] == spec.chord_silence).all() and row[12] == spec.chord_on("G")
    again = chord_row(["C", "C"], [0, 4], 8, spec, sustain=False)
    assert again[4] == spec.chord_on("C")


def pieces_of(songs, spec):
    out = []
    for song in songs:
        melody, chords = song_to_frames(song, spec)
        out.append(Piece(song.song_id, melody, chords, song.beats_per_bar))
    return out


def test_ground_truth_one_chord_every_frame_shapes(spec):
    pieces = pieces_of(handmade_songs()[:2], spec)
    assert all((a == p.chords).all() for a, p in zip(ground_truth(pieces, 0), pieces, strict=True))
    tonic = one_chord(pieces, 0, spec)[1]  # tune-1 is in G
    assert tonic[0] == spec.chord_on("G") and (tonic[1:] == spec.chord_hold("G")).all()
    busy = every_frame(pieces, 0, spec)[0]
    assert frame_view(pieces[0].melody, busy, spec).chord_onset.all()
    rand = random_chords(pieces, 3, spec)[0]
    assert (rand == random_chords(pieces, 3, spec)[0]).all()  # seeded
    assert frame_view(pieces[0].melody, rand, spec).chord_onset.sum() == 8  # one per bar


@pytest.fixture(scope="module")
def baseline_scores(spec):
    pieces = pieces_of(handmade_songs(), spec)
    scores = {}
    for name, system in baseline_systems(spec).items():
        passes = [system(pieces, seed) for seed in range(3)]
        scores[name] = score_outputs([pieces] * 3, passes, spec).values
    return scores


def test_random_is_lowest_on_harmony(baseline_scores):
    harmony = {name: v["harmony"] for name, v in baseline_scores.items()}
    assert min(harmony, key=harmony.get) == "random"
    assert harmony["ground_truth"] > 0.7 and harmony["rule_based"] > 0.7


def test_one_chord_is_lowest_on_diversity(baseline_scores):
    for key in ("chord_entropy", "vendi_relative", "song_distinct_chords", "distinct_chords"):
        values = {name: v[key] for name, v in baseline_scores.items()}
        assert values["one_chord"] == min(values.values()), key
    assert baseline_scores["one_chord"]["song_distinct_chords"] == 1.0
    assert baseline_scores["one_chord"]["long_chords"] > 0.5


def test_every_frame_is_caught_by_rhythm(baseline_scores):
    busy = baseline_scores["every_frame"]
    assert busy["chord_changes_per_bar"] == pytest.approx(16.0)
    assert busy["onsets_on_beats"] == pytest.approx(0.25)
    assert busy["repeated_chords"] > 0
    assert all(v["chord_changes_per_bar"] < 4 for n, v in baseline_scores.items()
               if n != "every_frame")


def test_rule_causal_never_reads_the_beat_it_harmonises(spec):
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    row = harmonise(melody_row(scale, spec), spec, causal=True)
    chords = beat_chords(row, spec)
    assert chords[0] is None  # nothing heard yet: silence, never a guess
    # beat b's chord covers beat b-1's note: the lookahead harmoniser's chords, one late
    # (the key, from fewer notes, may differ on the first beats)
    assert chords[1:] == ["C", "G", "C", "F", "C", "F", "G"]
    # changing a beat's melody never changes that beat's own chord
    other = list(scale)
    other[5] = 70
    changed = beat_chords(harmonise(melody_row(other, spec), spec, causal=True), spec)
    assert changed[:6] == chords[:6]


def test_tonic_causal_holds_the_tonic_of_the_key_heard_so_far(spec):
    tune = [60, 64, 67, 72, 67, 64, 60, 60]  # C major arpeggio
    row = tonic_causal([Piece("t", melody_row(tune, spec), np.zeros(0), 4.0, 0)], 0, spec)[0]
    chords = beat_chords(row, spec)
    assert chords[0] is None and set(chords[1:]) == {"C"}  # silent until it has heard
    assert int(row[4]) == spec.chord_on("C") and int(row[8]) == spec.chord_hold("C")
