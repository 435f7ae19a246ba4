"""MIDI export: separate melody and chord tracks, exact timing, voicing."""

import mido

from cojam.data.midi_export import TICKS_PER_BEAT, voice_chord, write_midi
from cojam.data.token_files import load_tokens, save_tokens
from cojam.data.tokens import TokenSpec, song_to_frames
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

SONG = Song(
    "x",
    "t",
    time_signature=(3, 4),
    notes=(Note(onset=0, duration=1, pitch=67), Note(onset=1.5, duration=0.5, pitch=69)),
    chords=(ChordSpan(0, 3, parse_chord("C/E")),),
)


def note_ons(track):
    now, events = 0, []
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            events.append((now / TICKS_PER_BEAT, message.note))
    return events


def test_midi_has_melody_and_voiced_chord_tracks(tmp_path):
    path = write_midi(SONG, tmp_path / "x.mid", tempo_bpm=90)
    midi = mido.MidiFile(path)
    names = [next(m.name for m in t if m.type == "track_name") for t in midi.tracks[1:]]
    assert names == ["melody", "chords"]
    assert note_ons(midi.tracks[1]) == [(0.0, 67), (1.5, 69)]
    assert note_ons(midi.tracks[2]) == [(0.0, p) for p in sorted(voice_chord(parse_chord("C/E")))]
    assert voice_chord(parse_chord("C/E"))[0] % 12 == 4  # the inversion's bass is lowest
    assert abs(midi.length - 3 * 60 / 90) < 1e-3  # tempo is whole microseconds


def test_token_file_round_trip_to_midi(tmp_path):
    spec = TokenSpec(chords=("C/E",))
    melody, chords = song_to_frames(SONG, spec)
    path = save_tokens(tmp_path / "x.json", spec, melody, chords, "x", (3, 4))
    song = load_tokens(path)
    assert song.notes == SONG.notes and song.chords == SONG.chords
    assert song.time_signature == (3, 4)
