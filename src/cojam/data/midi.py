"""Read a MIDI file holding one melody track and one chord track (a DAW export).

The tracks are picked by name first (case-insensitive: a name containing ``melody``,
``lead`` or ``vocal`` is the melody; ``chord``, ``harmony`` or ``accomp`` the chords).
Failing that, a file with exactly two note tracks is split by rule: the melody is the
track of mostly single notes with the higher mean pitch, the chords the other, which must
be mostly simultaneous notes. Anything else is ``Skipped``: guessing among many tracks
would make training data out of bass lines and drums. A type-0 file (one track) is split
by MIDI channel first; the drum channel (10) is never used.

Times: a beat is a quarter note, and MIDI ticks count quarter notes directly
(``ticks_per_beat``), so beats = ticks / ticks_per_beat whatever the tempo.

Chords: notes of the chord track starting within ``ONSET_TOLERANCE_BEATS`` of each other
form one chord, named by ``chord_from_pitch_classes`` with the lowest note as bass. A
chord lasts until the next chord starts or until its notes end, whichever is first. A lone
note in the chord track names no chord and is left out.

Melody: made monophonic; at equal onsets the highest note wins and a note is cut where the
next one starts (legato overlaps are common in played MIDI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mido

from cojam.data.budget import InputBudget
from cojam.data.sources import Skipped, SourceError, find_by_suffix
from cojam.music.chords import PITCH_CLASS_NAMES, chord_from_pitch_classes, parse_chord
from cojam.music.song import ChordSpan, Note, Song

SOURCE = "midi"
SUFFIXES = (".mid", ".midi")
BUDGET = InputBudget(seconds=30, bytes=4_000_000)
ONSET_TOLERANCE_BEATS = 0.125  # a 32nd note: strummed or humanised chords still group
MELODY_NAMES = ("melody", "lead", "vocal")
CHORD_NAMES = ("chord", "harmony", "accomp")
DRUM_CHANNEL = 9


@dataclass
class NoteTrack:
    """The notes of one track (or one channel of a type-0 file), in beats."""

    name: str
    notes: list[Note]

    @property
    def mean_pitch(self) -> float:
        return sum(n.pitch for n in self.notes) / len(self.notes)

    @property
    def chord_share(self) -> float:
        """Fraction of onset groups with two or more notes (0 for a pure melody line)."""
        groups = group_onsets(self.notes)
        return sum(len(g) > 1 for g in groups) / len(groups)


def find_inputs(root: Path | None) -> list[Path]:
    if root is None:
        raise SourceError("", "the midi source needs a file or folder of MIDI files")
    return find_by_suffix(root, SUFFIXES)


def read(path: Path) -> Iterator[Song | Skipped]:
    """The one song in a MIDI file, or ``Skipped`` saying why not."""
    path = Path(path)
    midi = load(path)
    if isinstance(midi, str):
        yield Skipped(str(path), midi)
        return
    tracks = note_tracks(midi)
    picked = pick_tracks(tracks)
    if isinstance(picked, str):
        yield Skipped(str(path), picked)
        return
    melody, accompaniment = picked
    spans = chord_spans(accompaniment.notes)
    if not spans:
        yield Skipped(str(path), f"chord track {accompaniment.name!r} has no simultaneous "
                                 "notes to name chords from")
        return
    yield Song(
        song_id=f"{SOURCE}:{path.stem}", source=SOURCE, notes=tuple(monophonic(melody.notes)),
        chords=tuple(spans), time_signature=time_signature(midi), key=key_name(midi),
        meta={"file": path.name, "melody_track": melody.name, "chord_track": accompaniment.name},
    )


def load(path: Path) -> mido.MidiFile | str:
    """The parsed file, or the reason it cannot be read."""
    try:
        midi = mido.MidiFile(path)
    except EOFError:
        return "truncated or corrupt MIDI: the file ends in the middle of a track"
    except (OSError, ValueError, KeyError, IndexError, mido.KeySignatureError) as error:
        return f"not a readable MIDI file: {str(error) or type(error).__name__}"
    if midi.type == 2:
        return "MIDI type 2 (independent sequences) is not supported"
    return midi


def track_notes(track: mido.MidiTrack, ticks_per_beat: int) -> dict[int, list[Note]]:
    """Notes of one track by channel, in beats. A note-on with velocity 0 is a note-off;
    repeated note-ons of one pitch close first-in first-out; a note still on at the end of
    the track ends there."""
    tick = 0
    sounding: dict[tuple[int, int], list[int]] = {}
    found: dict[int, list[Note]] = {}

    def close(channel: int, pitch: int, start: int, end: int) -> None:
        if end > start:
            found.setdefault(channel, []).append(
                Note(start / ticks_per_beat, (end - start) / ticks_per_beat, pitch))

    for message in track:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding.setdefault((message.channel, message.note), []).append(tick)
        elif message.type in ("note_on", "note_off"):
            starts = sounding.get((message.channel, message.note))
            if starts:
                close(message.channel, message.note, starts.pop(0), tick)
    for (channel, pitch), starts in sounding.items():
        for start in starts:
            close(channel, pitch, start, tick)
    return {channel: sorted(notes) for channel, notes in found.items()}


def note_tracks(midi: mido.MidiFile) -> list[NoteTrack]:
    """Every track with notes (drums left out); a type-0 file gives one per channel."""
    tracks = []
    for index, track in enumerate(midi.tracks):
        name = next((m.name for m in track if m.type == "track_name"), "") or f"track {index}"
        by_channel = track_notes(track, midi.ticks_per_beat)
        by_channel.pop(DRUM_CHANNEL, None)
        if midi.type == 0:
            tracks.extend(NoteTrack(f"channel {c + 1}", n) for c, n in sorted(by_channel.items()))
        elif by_channel:
            notes = sorted(n for channel_notes in by_channel.values() for n in channel_notes)
            tracks.append(NoteTrack(name, notes))
    return tracks


def pick_tracks(tracks: list[NoteTrack]) -> tuple[NoteTrack, NoteTrack] | str:
    """(melody, chords) by name, else by the two-track rule; or the reason neither works."""
    melody = [t for t in tracks if any(w in t.name.lower() for w in MELODY_NAMES)]
    chords = [t for t in tracks if any(w in t.name.lower() for w in CHORD_NAMES)
              and t not in melody]
    if melody and chords:
        return melody[0], chords[0]
    if len(tracks) != 2:
        return (f"cannot tell the melody and chord tracks apart: no tracks named like "
                f"{'/'.join(MELODY_NAMES)} and {'/'.join(CHORD_NAMES)}, and {len(tracks)} "
                "note tracks instead of two")
    high, low = sorted(tracks, key=lambda t: t.mean_pitch, reverse=True)
    if high.chord_share < 0.5 <= low.chord_share:
        return high, low
    return (f"of the two note tracks, {high.name!r} (higher) is not a melody of mostly "
            f"single notes or {low.name!r} is not mostly chords "
            f"({high.chord_share:.0%} and {low.chord_share:.0%} of onsets are chords)")


def group_onsets(notes: list[Note]) -> list[list[Note]]:
    """Notes (sorted by onset) cut into groups starting within the tolerance of the
    group's first note."""
    groups: list[list[Note]] = []
    for n in sorted(notes):
        if groups and n.onset - groups[-1][0].onset <= ONSET_TOLERANCE_BEATS:
            groups[-1].append(n)
        else:
            groups.append([n])
    return groups


def chord_spans(notes: list[Note]) -> list[ChordSpan]:
    """Name each onset group of two or more pitch classes; it lasts until the next group
    starts or its own notes end."""
    groups = [g for g in group_onsets(notes) if len({n.pitch % 12 for n in g}) >= 2]
    spans = []
    for i, group in enumerate(groups):
        onset = group[0].onset
        end = max(n.end for n in group)
        if i + 1 < len(groups):
            end = min(end, groups[i + 1][0].onset)
        chord = chord_from_pitch_classes({n.pitch for n in group},
                                         bass=min(n.pitch for n in group) % 12)
        spans.append(ChordSpan(onset, end - onset, chord))
    return spans


def monophonic(notes: list[Note]) -> list[Note]:
    """One note at a time: the highest of notes sharing an onset, each cut where the next
    starts."""
    first_at: dict[float, Note] = {}
    for n in sorted(notes, key=lambda n: (n.onset, -n.pitch)):
        first_at.setdefault(n.onset, n)
    line = sorted(first_at.values())
    return [Note(n.onset, min(n.end, line[i + 1].onset) - n.onset if i + 1 < len(line)
                 else n.duration, n.pitch) for i, n in enumerate(line)]


def time_signature(midi: mido.MidiFile) -> tuple[int, int]:
    """The first time-signature meta message (4/4 when there is none)."""
    for track in midi.tracks:
        for message in track:
            if message.type == "time_signature":
                return message.numerator, message.denominator
    return 4, 4


def key_name(midi: mido.MidiFile) -> str | None:
    """The first key-signature meta message as ``"<tonic> major|minor"``, or None."""
    for track in midi.tracks:
        for message in track:
            if message.type == "key_signature":
                tonic = parse_chord(message.key)  # mido writes keys as chords: 'Bbm', 'F#'
                assert tonic is not None
                mode = "minor" if tonic.quality == "min" else "major"
                return f"{PITCH_CLASS_NAMES[tonic.root]} {mode}"
    return None
