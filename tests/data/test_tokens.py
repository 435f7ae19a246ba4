"""The frame grid and tokens: exact round trips, layouts and error cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cojam.data.tokens import (
    BOS,
    TokenError,
    TokenSpec,
    bar_windows,
    chord_vocabulary,
    deinterleave,
    frames_to_song,
    interleave,
    offline_layout,
    song_to_frames,
)
from cojam.music.chords import Chord, all_chords, parse_chord
from cojam.music.song import ChordSpan, Note, Song

SPEC = TokenSpec(chords=chord_vocabulary(all_chords(with_bass=False)))
CHORDS = all_chords(with_bass=False)


def test_token_ids_are_disjoint_and_described():
    spec = TokenSpec(chords=("C", "G7"))
    ids = [
        spec.melody_silence,
        spec.melody_on(60),
        spec.melody_hold(60),
        spec.chord_silence,
        spec.chord_on("C"),
        spec.chord_hold("C"),
        spec.chord_on("G7"),
        spec.chord_hold("G7"),
    ]
    assert len(set(ids)) == len(ids) and max(ids) == spec.vocab_size - 1
    assert [spec.describe(i) for i in ids[1:3]] == ["m:on(60)", "m:hold(60)"]
    assert spec.describe(spec.chord_hold("G7")) == "c:hold(G7)"
    assert spec.is_melody(spec.melody_on(60)) and not spec.is_chord(spec.melody_on(60))
    mask = spec.is_chord(np.array(ids))
    assert mask.tolist() == [False] * 3 + [True] * 5


def test_unknown_chord_and_pitch_raise():
    spec = TokenSpec(chords=("C",))
    with pytest.raises(TokenError, match="'Dm' is not in the token vocabulary"):
        spec.chord_on("Dm")
    with pytest.raises(TokenError, match="pitch 120"):
        spec.melody_on(120)


def test_chord_vocabulary_is_closed_under_transposition():
    vocab = chord_vocabulary([parse_chord("C/E")])
    assert len(vocab) == 12 and "D/F#" in vocab


def test_repeated_notes_and_chords_use_onsets():
    song = Song(
        "s",
        "t",
        notes=(Note(onset=0, duration=1, pitch=60), Note(onset=1, duration=1, pitch=60)),
        chords=(ChordSpan(0, 1, Chord(0)), ChordSpan(1, 1, Chord(0))),
    )
    melody, chords = song_to_frames(song, SPEC)
    assert (
        melody.tolist()
        == [SPEC.melody_on(60)]
        + [SPEC.melody_hold(60)] * 3
        + [SPEC.melody_on(60)]
        + [SPEC.melody_hold(60)] * 3
    )
    assert chords[4] == SPEC.chord_on("C")
    assert frames_to_song(melody, chords, SPEC).notes == song.notes


def test_strict_decoding_rejects_a_dangling_hold():
    melody = [SPEC.melody_hold(60), SPEC.melody_hold(60)]
    chords = [SPEC.chord_silence, SPEC.chord_silence]
    with pytest.raises(TokenError, match="frame 0: hold\\(60\\) continues no sounding note"):
        frames_to_song(melody, chords, SPEC)
    lenient = frames_to_song(melody, chords, SPEC, strict=False)
    assert lenient.notes == (Note(onset=0, duration=0.5, pitch=60),)


@st.composite
def grid_songs(draw):
    """Random songs on the sixteenth grid: monophonic melody with rests, chord spans with gaps."""
    frames = 0
    notes = []
    for _ in range(draw(st.integers(0, 12))):
        frames += draw(st.integers(0, 3))  # rest
        length = draw(st.integers(1, 8))
        notes.append(Note(onset=frames / 4, duration=length / 4, pitch=draw(st.integers(21, 108))))
        frames += length
    frames = 0
    chords = []
    for _ in range(draw(st.integers(0, 6))):
        frames += draw(st.integers(0, 4))
        length = draw(st.integers(1, 16))
        chords.append(ChordSpan(frames / 4, length / 4, draw(st.sampled_from(CHORDS))))
        frames += length
    if not notes and not chords:
        notes.append(Note(onset=0, duration=0.25, pitch=60))
    return Song("h", "tokens", notes=tuple(notes), chords=tuple(chords))


@settings(max_examples=200, deadline=None)
@given(grid_songs())
def test_song_tokens_song_is_exact_on_the_grid(song):
    melody, chords = song_to_frames(song, SPEC)
    back = frames_to_song(melody, chords, SPEC)
    assert back.notes == song.notes
    assert back.chords == song.chords
    online = interleave(melody, chords)
    assert online[0] == BOS and len(online) == 1 + 2 * len(melody)
    assert all(SPEC.is_chord(online[1::2])) and all(SPEC.is_melody(online[2::2]))
    m2, c2 = deinterleave(online)
    assert (m2 == melody).all() and (c2 == chords).all()
    encoder, decoder = offline_layout(melody, chords)
    assert (encoder == melody).all() and decoder[0] == BOS and (decoder[1:] == chords).all()


def test_off_grid_times_round_to_the_nearest_frame():
    song = Song("o", "t", notes=(Note(onset=0.1, duration=0.3, pitch=60),), chords=())
    melody, _ = song_to_frames(song, SPEC)
    assert melody.tolist() == [SPEC.melody_on(60), SPEC.melody_hold(60)]


def test_bar_windows_start_on_bar_lines():
    assert bar_windows(100, 16, 256) == [(0, 100)]
    assert bar_windows(600, 12, 256) == [(0, 252), (252, 504), (504, 600)]
    windows = bar_windows(1000, 12, 256)
    assert all(start % 12 == 0 and end - start <= 256 for start, end in windows)
    assert [end for _, end in windows[:-1]] == [start for start, _ in windows[1:]]
    assert bar_windows(40, 64, 16) == [(0, 16), (16, 32), (32, 40)]


def test_a_last_chord_shorter_than_half_a_frame_still_gets_its_frame():
    """Issue 16: a chord at beat 7.9 lasting 0.05 rounds to start at frame 32, where a
    song ending at 7.95 beats had only 32 frames (IndexError)."""
    song = Song("short", "test", notes=(Note(0, 7.9, 60),),
                chords=(ChordSpan(0, 7.9, parse_chord("C")),
                        ChordSpan(7.9, 0.05, parse_chord("G"))))
    melody, chords = song_to_frames(song, SPEC)
    assert len(melody) == len(chords) == 33
    assert chords[32] == SPEC.chord_on("G") and chords[31] == SPEC.chord_hold("C")
    assert melody[32] == SPEC.melody_silence
