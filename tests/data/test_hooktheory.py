"""The Hooktheory reader on small dumps in the schema of ``Hooktheory.json.gz``."""

import copy
import gzip
import json
from pathlib import Path

import pytest

from cojam.data import hooktheory
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import Chord, parse_chord
from cojam.music.song import ChordSpan, Note, Song

RECORD = {  # shaped like the example in SheetSage's Dataset notebook
    "tags": ["MELODY", "HARMONY"],
    "split": "TRAIN",
    "hooktheory": {"id": "kwxAaOrYxKG", "artist": "some-artist", "song": "plague"},
    "annotations": {
        "num_beats": 8,
        "meters": [{"beat": 0, "beats_per_bar": 4, "beat_unit": 4}],
        "keys": [{"beat": 0, "tonic_pitch_class": 1,
                  "scale_degree_intervals": [2, 1, 2, 2, 1, 2]}],
        "melody": [
            {"onset": 0, "offset": 1.5, "octave": 0, "pitch_class": 3},
            {"onset": 1.5, "offset": 2, "octave": -1, "pitch_class": 11},
            {"onset": 4, "offset": 8, "octave": 1, "pitch_class": 0},
        ],
        "harmony": [
            {"onset": 0, "offset": 2, "root_pitch_class": 1,
             "root_position_intervals": [3, 4], "inversion": 0},
            {"onset": 2, "offset": 4, "root_pitch_class": 8,
             "root_position_intervals": [4, 3, 3], "inversion": 1},
            {"onset": 4, "offset": 6, "root_pitch_class": 11,
             "root_position_intervals": [4, 3, 4, 3], "inversion": 0},
            {"onset": 6, "offset": 8, "root_pitch_class": 6,
             "root_position_intervals": [4, 3], "inversion": 2},
        ],
    },
}


def _dump(tmp_path: Path, records: object, name: str = "Hooktheory.json") -> Path:
    path = tmp_path / name
    text = json.dumps(records)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_a_record_is_read_exactly(tmp_path: Path) -> None:
    (song,) = hooktheory.read(_dump(tmp_path, {"kwxAaOrYxKG": RECORD}, "Hooktheory.json.gz"))
    assert isinstance(song, Song)
    assert song.song_id == "hooktheory:Hooktheory#kwxAaOrYxKG"
    assert (song.title, song.time_signature, song.key) == ("plague", (4, 4), "C# minor")
    assert song.meta["split"] == "TRAIN" and song.meta["artist"] == "some-artist"
    # octave 0 is the octave of middle C: Eb4, B3, C5
    assert song.notes == (Note(0, 1.5, 63), Note(1.5, 0.5, 59), Note(4, 4, 72))
    assert song.chords == (
        ChordSpan(0, 2, parse_chord("C#m")),
        ChordSpan(2, 2, parse_chord("Ab7/C")),  # first inversion: the third in the bass
        ChordSpan(4, 2, parse_chord("Bmaj7")),  # a major ninth reduces to its seventh
        ChordSpan(6, 2, parse_chord("F#/C#")),  # second inversion: the fifth in the bass
    )


def test_chord_templates_and_inversions() -> None:
    assert hooktheory.hooktheory_chord(0, [4, 3], 0) == Chord(0, "maj")
    assert hooktheory.hooktheory_chord(9, [3, 4, 3], 3) == Chord(9, "m7", 7)  # Am7/G
    assert hooktheory.hooktheory_chord(2, [5, 2], 0) == Chord(2, "sus4")
    assert hooktheory.hooktheory_chord(7, [3, 3, 4], 0) == Chord(7, "m7b5")
    with pytest.raises(hooktheory.RecordError, match="inversion"):
        hooktheory.hooktheory_chord(0, [4, 3], 3)


def test_beats_are_quarter_notes_across_meter_changes(tmp_path: Path) -> None:
    record = copy.deepcopy(RECORD)
    # 6/8 counted in eighths for 4 counts (2 quarters), then 4/4 from count 4.
    record["annotations"]["meters"] = [{"beat": 0, "beats_per_bar": 6, "beat_unit": 8},
                                       {"beat": 4, "beats_per_bar": 4, "beat_unit": 4}]
    (song,) = hooktheory.read(_dump(tmp_path, {"x": record}))
    assert song.time_signature == (6, 8)
    assert [(n.onset, n.duration) for n in song.notes] == [(0, 0.75), (0.75, 0.25), (2, 4)]
    assert [(c.onset, c.duration) for c in song.chords] == [(0, 1), (1, 1), (2, 2), (4, 2)]


def test_records_with_missing_fields_are_skipped_by_id_and_field(tmp_path: Path) -> None:
    no_harmony = copy.deepcopy(RECORD)
    del no_harmony["annotations"]["harmony"]
    bad_note = copy.deepcopy(RECORD)
    del bad_note["annotations"]["melody"][1]["octave"]
    empty_melody = copy.deepcopy(RECORD)
    empty_melody["annotations"]["melody"] = None
    path = _dump(tmp_path, {"a": no_harmony, "b": RECORD, "c": bad_note, "d": empty_melody,
                            "e": "not a record"})
    results = list(hooktheory.read(path))
    assert [type(r) for r in results] == [Skipped, Song, Skipped, Skipped, Skipped]
    assert results[0] == Skipped(f"{path}#a",
                                 "record a: field 'annotations.harmony' is missing")
    assert results[2].reason == "record c: field 'annotations.melody[1].octave' is missing"
    assert results[3].reason == "record d: field 'annotations.melody' has no notes"
    assert results[4].reason == "record e: field 'annotations' is missing"


def test_unreadable_dumps_are_skipped(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": ')
    (skipped,) = hooktheory.read(broken)
    assert skipped.reason.startswith("not a readable JSON file")
    (skipped,) = hooktheory.read(_dump(tmp_path, [RECORD], "list.json"))
    assert skipped.reason == ("expected a JSON object mapping song ids to records, got a list")


def test_find_inputs(tmp_path: Path) -> None:
    for name in ("a.json", "b.json.gz", "c.gz"):
        (tmp_path / name).write_text("")
    assert [p.name for p in hooktheory.find_inputs(tmp_path)] == ["a.json", "b.json.gz"]
    with pytest.raises(SourceError):
        hooktheory.find_inputs(None)
