"""A melody to accompany, read from one MIDI or MusicXML file (``cojam generate --melody``).

Unlike the corpus readers, which need chords, this reads a melody alone: a Song with no
chord spans. A MIDI file with several note tracks must name its melody track (like
melody/lead/vocal); a MusicXML file's melody is its first part.
"""

from __future__ import annotations

from pathlib import Path

import mido

from cojam.data import midi
from cojam.music.song import Note, Song


def melody_track_notes(loaded: mido.MidiFile, path: Path) -> list[Note]:
    """The monophonic notes of the melody track: the one note track, or the one named like
    melody/lead/vocal (the first such) when there are several."""
    tracks = midi.note_tracks(loaded)
    named = [t for t in tracks if any(w in t.name.lower() for w in midi.MELODY_NAMES)]
    if not named and len(tracks) != 1:
        raise ValueError(f"{path}: {len(tracks)} note tracks and none named like "
                         f"{'/'.join(midi.MELODY_NAMES)}; which one is the melody?")
    return midi.monophonic((named or tracks)[0].notes)


def read_melody(path: Path) -> Song:
    """A melody-only MIDI (.mid/.midi) or MusicXML file as a Song without chords."""
    if path.suffix.lower() in midi.SUFFIXES:
        loaded = midi.load(path)
        if isinstance(loaded, str):
            raise ValueError(f"{path}: {loaded}")
        notes = melody_track_notes(loaded, path)
        return Song(path.stem, "midi", tuple(notes), (), midi.time_signature(loaded))
    from music21 import converter  # slow imports: only MusicXML input needs them

    from cojam.data import musicxml

    score = converter.parse(str(path))
    part = score.parts[0]
    notes = musicxml.melody_notes(part, musicxml.pickup_beats(part))
    time_signature, key = musicxml.meter_and_key(part)
    return Song(path.stem, "musicxml", tuple(notes), (), time_signature, key)
