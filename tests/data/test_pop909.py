"""The POP909 reader on a song folder laid out like the real dataset."""

from pathlib import Path

import mido
import pytest

from cojam.data import pop909
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

TPB = 480
# 120 bpm (0.5 s a beat) for 4 beats, then 60 bpm (1 s a beat): beat 4 is at 2 s.
CHORD_LINES = [
    (0.0, 0.5, "N"),
    (0.5, 2.0, "B:maj"),
    (2.0, 3.0, "F#:maj7/5"),
    (3.0, 3.0, "Bb:min"),  # zero length: dropped
    (3.0, 4.5, "Bb:sus4"),
    (4.5, 6.0, "A:min7/b3"),
]


def _track(name: str, notes: list[tuple[float, float, int]]) -> mido.MidiTrack:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    events = sorted([(round(o * TPB), 1, p, 80) for o, d, p in notes]
                    + [(round((o + d) * TPB), 0, p, 0) for o, d, p in notes])
    now = 0
    for tick, _, pitch, velocity in events:
        track.append(mido.Message("note_on", note=pitch, velocity=velocity, time=tick - now))
        now = tick
    return track


def _midi(path: Path, melody_name: str = "MELODY") -> None:
    conductor = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500_000),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=4 * TPB),
    ])
    file = mido.MidiFile(type=1, ticks_per_beat=TPB)
    file.tracks.extend([
        conductor,
        _track(melody_name, [(1, 1, 71), (2, 1.5, 73), (3, 3, 70)]),
        _track("BRIDGE", [(1, 2, 90)]),
        _track("PIANO", [(1, 3, 47), (1, 3, 54), (1, 3, 59)]),
    ])
    file.save(path)


def song_folder(root: Path, name: str = "001", lines: list = CHORD_LINES,
                melody_name: str = "MELODY") -> Path:
    folder = root / name
    (folder / "versions").mkdir(parents=True)
    _midi(folder / f"{name}.mid", melody_name)
    _midi(folder / "versions" / f"{name}-v1.mid", melody_name)
    (folder / "chord_midi.txt").write_text("".join(f"{s:.6f}\t{e:.6f}\t{label}\n"
                                                   for s, e, label in lines))
    (folder / "beat_midi.txt").write_text("0.0 1.0 1.0\n0.5 0.0 0.0\n1.0 1.0 0.0\n")
    (folder / "key_audio.txt").write_text("0.0\t6.0\tGb:maj\n")
    return folder


def test_a_song_folder_is_read_on_the_midi_beat_axis(tmp_path: Path) -> None:
    (song,) = pop909.read(song_folder(tmp_path))
    assert isinstance(song, Song)
    assert (song.song_id, song.time_signature, song.key) == ("pop909:001", (4, 4), "F# major")
    assert song.notes == (Note(1, 1, 71), Note(2, 1, 73), Note(3, 3, 70))  # cut at 3
    # Seconds follow the tempo map: 0.5 s = beat 1, 2 s = beat 4, 3 s = beat 5 ...
    assert song.chords == (
        ChordSpan(1, 3, parse_chord("B")),
        ChordSpan(4, 1, parse_chord("F#maj7/C#")),
        ChordSpan(5, 1.5, parse_chord("Bbsus4")),
        ChordSpan(6.5, 1.5, parse_chord("Am7/C")),
    )


def test_find_inputs_lists_song_folders_only(tmp_path: Path) -> None:
    root = tmp_path / "POP909"
    first, second = song_folder(root, "001"), song_folder(root, "002")
    (root / "index.xlsx").write_text("")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("")
    assert pop909.find_inputs(root) == [first, second]
    assert pop909.find_inputs(first) == [first]
    with pytest.raises(SourceError):
        pop909.find_inputs(None)


def test_an_unknown_label_skips_the_song_naming_it(tmp_path: Path) -> None:
    folder = song_folder(tmp_path, lines=[(0.5, 2.0, "B:maj"), (2.0, 3.0, "C:5")])
    assert list(pop909.read(folder)) == [Skipped(
        str(folder / "chord_midi.txt"),
        "unknown chord spelling 'C:5' at beat 4.00 (line 2): a power chord or single note "
        "has no third to name it")]


def test_a_malformed_line_or_missing_melody_track_skips_the_song(tmp_path: Path) -> None:
    folder = song_folder(tmp_path, "010", lines=[(0.5, 2.0, "B:maj")])
    (folder / "chord_midi.txt").write_text("0.5\t2.0\tB:maj\n0.5 oops\n")
    (skipped,) = pop909.read(folder)
    assert skipped.reason == "line 2 is not 'start end label': '0.5 oops'"
    folder = song_folder(tmp_path, "011", melody_name="VOCAL")
    (skipped,) = pop909.read(folder)
    assert skipped.reason.startswith("no MELODY track (tracks: '', 'VOCAL', 'BRIDGE'")


def test_a_truncated_midi_file_is_skipped(tmp_path: Path) -> None:
    folder = song_folder(tmp_path)
    midi_path = folder / "001.mid"
    midi_path.write_bytes(midi_path.read_bytes()[:50])
    assert list(pop909.read(folder)) == [Skipped(
        str(midi_path), "truncated or corrupt MIDI: the file ends in the middle of a track")]


def test_folders_missing_the_chord_file_or_the_midi_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "POP909"
    complete = song_folder(root, "001")
    no_chords, no_midi = song_folder(root, "002"), song_folder(root, "003")
    (no_chords / "chord_midi.txt").unlink()
    (no_midi / "003.mid").unlink()
    assert pop909.find_inputs(root) == [complete, no_chords, no_midi]
    assert list(pop909.read(no_chords)) == [
        Skipped(str(no_chords), "no chord_midi.txt in the folder")]
    assert list(pop909.read(no_midi)) == [
        Skipped(str(no_midi), "no 003.mid (or single .mid file) in the folder")]


@pytest.mark.parametrize("start,end", [("0.0", "inf"), ("nan", "1.0"), ("0.0", "1e12"),
                                       ("-1.0", "2.0")])
def test_a_time_that_is_not_finite_or_too_long_skips_the_song(tmp_path: Path, start: str,
                                                              end: str) -> None:
    folder = song_folder(tmp_path)
    (folder / "chord_midi.txt").write_text(f"0.5\t2.0\tB:maj\n{start}\t{end}\tC:maj\n")
    (skipped,) = pop909.read(folder)
    assert skipped == Skipped(str(folder / "chord_midi.txt"),
                              f"line 2: times {start!r} {end!r} are not seconds within 0-86400")
