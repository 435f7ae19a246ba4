"""Song: ordering, transposition, dict round trip, meter."""

import pytest

from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song, transpose_key


def make_song() -> Song:
    return Song(
        song_id="t:1",
        source="test",
        key="A minor",
        time_signature=(6, 8),
        title="Tune",
        notes=(Note(onset=1, duration=1, pitch=69), Note(onset=0, duration=1, pitch=64)),
        chords=(ChordSpan(0, 1.5, parse_chord("Am")), ChordSpan(1.5, 1.5, parse_chord("E7/G#"))),
    )


def test_notes_and_chords_are_sorted_by_onset():
    song = make_song()
    assert [n.pitch for n in song.notes] == [64, 69]
    assert song.length_beats == 3.0
    assert song.beats_per_bar == 3.0  # 6/8 is three quarter-note beats


def test_transpose_moves_melody_chords_and_key_together():
    song = make_song().transpose(3)
    assert [n.pitch for n in song.notes] == [67, 72]
    assert [c.chord.symbol for c in song.chords] == ["Cm", "G7/B"]
    assert song.key == "C minor"
    assert make_song().transpose(0) is not None
    assert transpose_key("Bb major", 2) == "C major"


def test_dict_round_trip():
    song = make_song()
    assert Song.from_dict(song.to_dict()) == song


def test_invalid_notes_are_rejected():
    with pytest.raises(ValueError, match="pitch"):
        Note(onset=0, duration=1, pitch=128)
    with pytest.raises(ValueError, match="duration"):
        Note(onset=0, duration=0, pitch=60)
    with pytest.raises(ValueError, match="no chord"):
        Song.from_dict({**make_song().to_dict(), "chords": [[0, 1, "N"]]})
