"""Songs and token rows to MIDI files a person can listen to.

Track 1 holds the melody (piano), track 2 the chords (strings), voiced as a bass note in
the octave below C3 plus the chord tones in close position from C3 up; each chord span is
re-attacked at its onset.
"""

from __future__ import annotations

from pathlib import Path

import mido

from cojam.music.chords import Chord
from cojam.music.song import Song

TICKS_PER_BEAT = 480
MELODY_PROGRAM = 0  # acoustic grand piano
CHORD_PROGRAM = 48  # string ensemble
BASS_LOW = 36  # C2
VOICING_LOW = 48  # C3


def voice_chord(chord: Chord) -> list[int]:
    """MIDI pitches for a chord: the bass (or root) in C2-B2, then the chord tones in
    ascending close position starting at C3 or just above."""
    bass_pc = chord.root if chord.bass is None else chord.bass
    pitches = [BASS_LOW + bass_pc]
    upper = sorted({VOICING_LOW + pc for pc in chord.pitch_classes})
    return pitches + upper


def _track(
    name: str, channel: int, program: int, events: list[tuple[float, int, int, bool]]
) -> mido.MidiTrack:
    """events: (beat, pitch, velocity, is_on). Note-offs sort before note-ons at one time."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for beat, pitch, velocity, is_on in sorted(events, key=lambda e: (e[0], e[3])):
        tick = int(round(beat * TICKS_PER_BEAT))
        kind = "note_on" if is_on else "note_off"
        track.append(
            mido.Message(
                kind,
                channel=channel,
                note=pitch,
                velocity=velocity if is_on else 0,
                time=tick - now,
            )
        )
        now = tick
    return track


def song_to_midi(song: Song, tempo_bpm: float = 100.0) -> mido.MidiFile:
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    num, den = song.time_signature
    meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    midi.tracks.append(meta)
    melody = [(n.onset, n.pitch, 96, True) for n in song.notes]
    melody += [(n.end, n.pitch, 0, False) for n in song.notes]
    midi.tracks.append(_track("melody", 0, MELODY_PROGRAM, melody))
    chords = []
    for span in song.chords:
        for pitch in voice_chord(span.chord):
            chords += [(span.onset, pitch, 64, True), (span.end, pitch, 0, False)]
    midi.tracks.append(_track("chords", 1, CHORD_PROGRAM, chords))
    return midi


def write_midi(song: Song, path: Path, tempo_bpm: float = 100.0) -> Path:
    """Write ``song`` as a type-1 MIDI file with separate melody and chord tracks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    song_to_midi(song, tempo_bpm).save(path)
    return path
