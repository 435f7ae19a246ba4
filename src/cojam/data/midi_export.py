"""Songs and token rows to MIDI files a person can listen to.

Track 1 holds the melody (piano), track 2 the chords (strings), voiced as a bass note in
the octave below C3 plus the chord tones in close position from C3 up; each chord span is
re-attacked at its onset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import mido

from cojam.data.token_files import load_tokens
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


def export_midi(input_path: Path, out: Path, song_ids: Sequence[str] = (),
                tempo_bpm: float = 100.0) -> list[Path]:
    """MIDI files from a token file (``.json``, one song) or from the songs of a cache
    split (``.jsonl``: those of ``song_ids``, or all): ``out`` itself when it names one
    ``.mid`` file for one song, else one file per song in folder ``out``. Returns the
    files written; an unreadable input or an unknown song id is an ``OSError`` or
    ``ValueError`` raised before anything is written."""
    input_path, out = Path(input_path), Path(out)
    if input_path.suffix == ".jsonl":
        songs = _songs_from_jsonl(input_path, song_ids)
    else:
        songs = [load_tokens(input_path)]
    if len(songs) == 1 and out.suffix.lower() in (".mid", ".midi"):
        targets = [out]
    else:
        targets = [out / f"{safe_name(s.song_id)}.mid" for s in songs]
    return [write_midi(song, target, tempo_bpm)
            for song, target in zip(songs, targets, strict=True)]


def _songs_from_jsonl(path: Path, wanted: Sequence[str]) -> list[Song]:
    songs = []
    with path.open() as f:
        for line in f:
            song = Song.from_dict(json.loads(line))
            if not wanted or song.song_id in wanted:
                songs.append(song)
    missing = set(wanted) - {s.song_id for s in songs}
    if missing:
        raise ValueError(f"{path}: no song with id {', '.join(sorted(missing))}")
    return songs


def safe_name(song_id: str) -> str:
    """A song id as a file name: characters other than letters, digits, ``-_.`` become
    ``_`` (ids hold colons and slashes: ``midi:tune01``, ``bach/bwv1.6``)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in song_id)
