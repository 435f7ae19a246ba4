"""Per-output and per-set scores on hand-made outputs, the degenerate ones included."""

import numpy as np
import pytest
from eval_helpers import chord

from cojam.data.tokens import song_to_frames
from cojam.eval.pieces import Piece
from cojam.eval.reference_systems import chord_row
from cojam.eval.system_scores import OUTPUT_METRICS, SET_METRICS, output_metrics, score_outputs
from cojam.music.song import ChordSpan, Note, Song


def c_major_piece(spec, song_id="p"):
    """Two bars: C E G E | F A C A, one note per beat, under C | F."""
    pitches = [60, 64, 67, 64, 65, 69, 72, 69]
    notes = tuple(Note(float(i), 1.0, p) for i, p in enumerate(pitches))
    spans = (ChordSpan(0.0, 4.0, chord("C")), ChordSpan(4.0, 4.0, chord("F")))
    melody, chords = song_to_frames(Song(song_id, "test", notes, spans), spec)
    return Piece(song_id, melody, chords, 4.0)


def test_true_chords_score_perfectly(spec):
    piece = c_major_piece(spec)
    m = output_metrics(piece.melody, piece.chords, spec, 4.0)
    assert m["harmony"] == 1.0 and m["harmony_per_beat"] == 1.0
    assert m["chord_changes_per_bar"] == 1.0 and m["onsets_on_beats"] == 1.0
    assert m["song_distinct_chords"] == 2.0 and m["chord_silence"] == 0.0
    assert set(m) == set(OUTPUT_METRICS)


def test_degenerate_outputs_each_show_somewhere(spec):
    piece = c_major_piece(spec)
    silent = np.full(piece.num_frames, spec.chord_silence)
    m = output_metrics(piece.melody, silent, spec, 4.0)
    assert m["harmony"] == 0.0 and m["chord_silence"] == 1.0
    one = chord_row(["C"], [0], piece.num_frames, spec)
    m = output_metrics(piece.melody, one, spec, 4.0)
    assert m["harmony"] == 5 / 8 and m["song_distinct_chords"] == 1.0  # of F A C A only C fits
    frantic = chord_row(["C", "F"] * 16, range(32), 32, spec, sustain=False)
    m = output_metrics(piece.melody, frantic, spec, 4.0)
    assert m["chord_changes_per_bar"] == 16.0 and m["onsets_on_beats"] == 0.25
    dangling = piece.chords.copy()
    dangling[0] = spec.chord_hold("C")  # a hold that continues nothing
    assert output_metrics(piece.melody, dangling, spec, 4.0)["invalid_holds"] == 1.0


def test_score_outputs_averages_passes_and_songs(spec):
    pieces = [c_major_piece(spec, "a"), c_major_piece(spec, "a"), c_major_piece(spec, "b")]
    true_rows = [p.chords for p in pieces]
    one = [chord_row(["C"], [0], p.num_frames, spec) for p in pieces]
    scores = score_outputs([pieces] * 2, [true_rows, one], spec,
                           rewards={"toy": [np.ones(3), np.zeros(3)]})
    assert scores.values["harmony"] == pytest.approx((1 + 5 / 8) / 2)  # true, one chord
    assert scores.values["reward/toy"] == pytest.approx(0.5)
    assert set(SET_METRICS) <= set(scores.values)
    # pass 1 uses C and F, pass 2 only C: distinct 2 and 1, mean 1.5, and an interval over
    # passes that never leaves what the passes span (a t-interval went below 1 here)
    assert scores.values["distinct_chords"] == 1.5
    low, high = scores.intervals["distinct_chords"]
    assert 1.0 <= low < 1.5 < high <= 2.0
    assert scores.chord_counts == {"C": 6, "F": 3}
    assert scores.sequences[1] == [["C"], ["C"], ["C"]]


def test_score_outputs_rejects_mismatched_passes(spec):
    piece = c_major_piece(spec)
    with pytest.raises(ValueError):
        score_outputs([[piece]], [[piece.chords], [piece.chords]], spec)
