"""The ABC reader on tunes written here, and on the Nottingham sample shipped with music21."""

from pathlib import Path

import music21
import pytest

from cojam.data import abc
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

TUNES = """\
% a file of four tunes
X:1
T:Test Tune
M:3/4
L:1/8
K:Ador
E2|"Am"A2 B2 c2|"G7/b"B4 "^Fine"d2|"Bbmaj7"d3 c B2|"F#m7b5"A6-|"D/f+"A3 "N.C."z3|]

X:2
T:No Chords
M:4/4
L:1/4
K:C
CDEF|G4|]

X:3
T:Odd Chord
M:4/4
L:1/4
K:G
"G"GABc|"Cxyz"d4|]

X:4
T:Only Rests
M:4/4
L:1/4
K:C
"C"z4|"G"z4|]
"""


def _chords(*items: tuple[float, float, str]) -> tuple[ChordSpan, ...]:
    return tuple(ChordSpan(onset, length, parse_chord(symbol)) for onset, length, symbol in items)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list:
    path = tmp_path_factory.mktemp("abc") / "tunes.abc"
    path.write_text(TUNES)
    return list(abc.read(path))


def test_a_tune_is_read_exactly(results: list) -> None:
    song = results[0]
    assert isinstance(song, Song)
    assert song.song_id == "abc:tunes#1"
    assert song.title == "Test Tune"
    assert song.time_signature == (3, 4)
    assert song.key == "A minor"  # A dorian counts as minor by its third
    # The one-beat pickup is padded to a full 3/4 bar, so bar 1 starts at beat 3; the tied
    # A is one note; the rest after it is silence.
    assert song.notes == (
        Note(2, 1, 64), Note(3, 1, 69), Note(4, 1, 71), Note(5, 1, 72), Note(6, 2, 71),
        Note(8, 1, 74), Note(9, 1.5, 74), Note(10.5, 0.5, 72), Note(11, 1, 71),
        Note(12, 4.5, 69),
    )
    # "^Fine" is an annotation, not a chord; "D/f+" is the Nottingham spelling of D/F#;
    # "N.C." ends the D/F# and leaves the rest of the bar without a chord.
    assert song.chords == _chords(
        (3, 3, "Am"), (6, 3, "G7/B"), (9, 3, "Bbmaj7"), (12, 3, "F#m7b5"), (15, 1.5, "D/F#"))


def test_bad_tunes_are_skipped_by_number_and_the_others_still_read(results: list) -> None:
    assert [type(r) for r in results] == [Song, Skipped, Skipped, Skipped]
    no_chords, odd_chord, no_notes = results[1:]
    assert no_chords.path.endswith("tunes.abc#X:2")
    assert no_chords.reason == "no chord symbols in tune X:2"
    assert odd_chord.path.endswith("tunes.abc#X:3")
    assert odd_chord.reason == ("unknown chord spelling 'Cxyz' at beat 4 of tune X:3: "
                                "unknown chord quality 'xyz'")
    assert no_notes.reason == "no notes in tune X:4"


def test_a_file_without_tunes_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "empty.abc"
    path.write_text("% just a comment\nT:no X line\n")
    assert list(abc.read(path)) == [
        Skipped(str(path), "no tunes in the file (no line starts with 'X:')")]


def test_a_repeated_tune_number_is_skipped_not_given_a_clashing_id(tmp_path: Path) -> None:
    path = tmp_path / "twice.abc"
    tune = 'X:7\nT:T\nM:2/4\nL:1/4\nK:C\n"C"CD|"G"E2|]\n\n'
    path.write_text(tune + tune)
    first, second = abc.read(path)
    assert isinstance(first, Song) and first.song_id == "abc:twice#7"
    assert isinstance(second, Skipped) and "X:7 appears twice" in second.reason


def test_lift_chords_leaves_headers_fields_and_comments_alone() -> None:
    tune = ('X:1\nT:The "Big" One\nK:D\n'
            '"D7""D"d2 "_low"A2|"^Fine"B2 "Em"e2|\nw:"quoted" lyrics\n"A"a4 % "C" in a comment\n'
            'd:|"G"g4|\n')
    marked, chords = abc.lift_chords(tune)
    assert chords == ["D7", "Em", "A", "G"]  # the first of two chords on a note; no annotations
    assert marked == ('X:1\nT:The "Big" One\nK:D\n'
                      '"C"d2 A2|B2 "C"e2|\nw:"quoted" lyrics\n"C"a4 % "C" in a comment\n'
                      'd:|"C"g4|\n')


def test_find_inputs(tmp_path: Path) -> None:
    (tmp_path / "a.abc").write_text("")
    (tmp_path / "b.txt").write_text("")
    assert abc.find_inputs(tmp_path) == [tmp_path / "a.abc"]
    with pytest.raises(SourceError):
        abc.find_inputs(None)


def test_the_nottingham_sample_shipped_with_music21() -> None:
    path = Path(music21.corpus.getWork("nottingham-dataset/reelsa-c.abc"))
    songs = list(abc.read(path))
    assert [s.song_id for s in songs] == ["abc:reelsa-c#80", "abc:reelsa-c#81"]
    cuckoo, czech = songs
    assert (cuckoo.title, cuckoo.key, cuckoo.time_signature) == ("Cuckoo's Nest", "D major", (4, 4))
    assert czech.key == "A minor"
    # The pickup E is padded to beat 3; the line cliche Am Am/G D/F# F ends the tune.
    assert czech.notes[0] == Note(3, 1, 64)
    symbols = [span.chord.symbol for span in czech.chords]
    assert symbols[:4] == ["Am", "E7", "Am", "E7"]
    assert symbols[-5:] == ["Am/G", "D/F#", "F", "E7", "Am"]
    assert "G7/B" in symbols and "Am/C" in symbols
