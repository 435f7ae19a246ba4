"""The MIDI reader on files built here with mido."""

from pathlib import Path

import mido
import pytest

from cojam.data import midi
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

TPB = 480


def _track(name: str | None, notes: list[tuple[float, float, int]], channel: int = 0,
           meta: tuple[mido.MetaMessage, ...] = ()) -> mido.MidiTrack:
    """A track from (onset beats, duration beats, pitch) notes."""
    events = []
    for onset, duration, pitch in notes:
        events.append((round(onset * TPB), 1, mido.Message("note_on", note=pitch, velocity=90,
                                                          channel=channel)))
        events.append((round((onset + duration) * TPB), 0, mido.Message(
            "note_off", note=pitch, velocity=0, channel=channel)))
    track = mido.MidiTrack()
    if name is not None:
        track.append(mido.MetaMessage("track_name", name=name))
    track.extend(meta)
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def _save(path: Path, tracks: list[mido.MidiTrack], type_: int = 1) -> Path:
    file = mido.MidiFile(type=type_, ticks_per_beat=TPB)
    file.tracks.extend(tracks)
    file.save(path)
    return path


def _conductor() -> mido.MidiTrack:
    """Meter 3/4, key Bb minor, and a tempo change that must not move any beat."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("time_signature", numerator=3, denominator=4))
    track.append(mido.MetaMessage("key_signature", key="Bbm"))
    track.append(mido.MetaMessage("set_tempo", tempo=600_000))
    track.append(mido.MetaMessage("set_tempo", tempo=300_000, time=2 * TPB))
    return track


MELODY = [(0, 1.2, 65), (1, 1, 68), (2, 1, 70), (2, 0.5, 61), (3, 3, 73)]  # legato, a chord
CHORDS = [
    (0, 3, 46), (0.02, 3, 53), (0.05, 3, 58), (0.05, 3, 61),  # Bbm, strummed
    (3, 2, 53), (3, 2, 56), (3, 2, 61),  # Db/F, cut short
    (5.5, 0.5, 41),  # a lone note: no chord
]


def test_named_tracks_are_read_exactly(tmp_path: Path) -> None:
    path = _save(tmp_path / "song.mid", [
        _conductor(), _track("Strings", [(0, 4, 80)]), _track("Chords", CHORDS, channel=1),
        _track("Lead Vocal", MELODY)])
    (song,) = midi.read(path)
    assert isinstance(song, Song)
    assert (song.song_id, song.time_signature, song.key) == ("midi:song", (3, 4), "Bb minor")
    assert song.meta["melody_track"] == "Lead Vocal"
    # Monophonic: the legato first note is cut at the second; of two notes at beat 2 the
    # higher one stays, and the next onset cuts it.
    assert song.notes == (Note(0, 1, 65), Note(1, 1, 68), Note(2, 1, 70), Note(3, 3, 73))
    assert song.chords == (ChordSpan(0, 3, parse_chord("Bbm")),
                           ChordSpan(3, 2, parse_chord("Db/F")))


def test_two_unnamed_tracks_are_told_apart_by_rule(tmp_path: Path) -> None:
    path = _save(tmp_path / "rule.mid", [_track("Piano 1", CHORDS), _track("Piano 2", MELODY)])
    (song,) = midi.read(path)
    assert (song.meta["melody_track"], song.meta["chord_track"]) == ("Piano 2", "Piano 1")
    assert [span.chord.symbol for span in song.chords] == ["Bbm", "C#/F"]


def test_a_type_0_file_is_split_by_channel_and_drums_are_ignored(tmp_path: Path) -> None:
    merged = mido.merge_tracks([_track(None, CHORDS, channel=2), _track(None, MELODY),
                                _track(None, [(0, 1, 36), (1, 1, 38)], channel=9)])
    (song,) = midi.read(_save(tmp_path / "zero.mid", [merged], type_=0))
    assert (song.meta["melody_track"], song.meta["chord_track"]) == ("channel 1", "channel 3")
    assert len(song.notes) == 4


def test_unidentifiable_tracks_are_skipped(tmp_path: Path) -> None:
    three = _save(tmp_path / "three.mid", [
        _track("A", MELODY), _track("B", CHORDS), _track("C", [(0, 1, 40)])])
    (skipped,) = midi.read(three)
    assert skipped.reason.startswith("cannot tell the melody and chord tracks apart")
    assert "3 note tracks instead of two" in skipped.reason
    two_melodies = _save(tmp_path / "two.mid", [_track("A", MELODY), _track("B", MELODY)])
    (skipped,) = midi.read(two_melodies)
    assert "is not mostly chords" in skipped.reason


def test_a_chord_track_of_single_notes_is_skipped(tmp_path: Path) -> None:
    path = _save(tmp_path / "bass.mid", [_track("melody", MELODY),
                                         _track("chords", [(0, 1, 40), (1, 1, 43)])])
    (skipped,) = midi.read(path)
    assert skipped == Skipped(str(path), "chord track 'chords' has no simultaneous notes to "
                                         "name chords from")


def test_truncated_and_foreign_files_are_skipped(tmp_path: Path) -> None:
    whole = _save(tmp_path / "whole.mid", [_track("melody", MELODY), _track("chords", CHORDS)])
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(whole.read_bytes()[:60])
    assert list(midi.read(truncated)) == [Skipped(
        str(truncated), "truncated or corrupt MIDI: the file ends in the middle of a track")]
    foreign = tmp_path / "foreign.mid"
    foreign.write_bytes(b"RIFF....WAVEfmt ")
    (skipped,) = midi.read(foreign)
    assert skipped.reason.startswith("not a readable MIDI file: MThd not found")


def test_find_inputs(tmp_path: Path) -> None:
    for name in ("a.mid", "b.MIDI", "c.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in midi.find_inputs(tmp_path)] == ["a.mid", "b.MIDI"]
    with pytest.raises(SourceError):
        midi.find_inputs(None)
