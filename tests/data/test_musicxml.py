"""The MusicXML reader on lead sheets written here, and on the two shipped with music21."""

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import music21
import pytest

from cojam.data import musicxml
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import ChordError, parse_chord
from cojam.music.song import ChordSpan, Note, Song

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <work><work-title>Pickup Tune</work-title></work>
  <part-list>
    <score-part id="P1"><part-name>Lead</part-name></score-part>
    <score-part id="P2"><part-name>Bass</part-name></score-part>
  </part-list>
  <part id="P1">
"""
TAIL = """  </part>
  <part id="P2">
    <measure number="1"><note><pitch><step>C</step><octave>2</octave></pitch>
      <duration>6</duration></note></measure>
  </part>
</score-partwise>
"""


def _harmony(step: str, kind: str, alter: int = 0, bass: str = "") -> str:
    alter_text = f"<root-alter>{alter}</root-alter>" if alter else ""
    bass_text = f"<bass><bass-step>{bass}</bass-step></bass>" if bass else ""
    return (f"<harmony><root><root-step>{step}</root-step>{alter_text}</root>"
            f"<kind>{kind}</kind>{bass_text}</harmony>")


def _note(step: str, octave: int, duration: int, extra: str = "", voice: int = 1) -> str:
    return (f"<note>{extra if extra == '<chord/>' else ''}<pitch><step>{step}</step>"
            f"<octave>{octave}</octave></pitch><duration>{duration}</duration>"
            f"{extra if extra != '<chord/>' else ''}<voice>{voice}</voice></note>")


def lead_sheet(last_kind: str = "dominant") -> str:
    """3/4 in D minor, divisions 2: a one-beat pickup, a bar with a two-note chord, a
    harmony with a bass note, a second voice and a tie into the last bar."""
    return HEAD + f"""
    <measure number="0" implicit="yes">
      <attributes><divisions>2</divisions><key><fifths>-1</fifths><mode>minor</mode></key>
        <time><beats>3</beats><beat-type>4</beat-type></time></attributes>
      {_note("A", 4, 2)}
    </measure>
    <measure number="1">
      {_harmony("D", "minor")}
      {_note("D", 5, 2)}{_note("F", 5, 2, "<chord/>")}
      {_harmony("B", "major-seventh", alter=-1, bass="D")}
      {_note("E", 5, 4, '<tie type="start"/>')}
      <backup><duration>6</duration></backup>
      {_note("D", 3, 6, voice=2)}
    </measure>
    <measure number="2">
      {_harmony("A", last_kind)}
      {_note("E", 5, 2, '<tie type="stop"/>')}
      <note><rest/><duration>2</duration><voice>1</voice></note>
      {_harmony("E", "half-diminished")}
      {_note("G", 4, 1)}
      {_harmony("C", "none")}
      {_note("A", 4, 1)}
    </measure>
""" + TAIL


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_lead_sheet_is_read_exactly(tmp_path: Path) -> None:
    (song,) = musicxml.read(_write(tmp_path, "pickup.musicxml", lead_sheet()))
    assert isinstance(song, Song)
    assert (song.song_id, song.title) == ("musicxml:pickup", "Pickup Tune")
    assert (song.time_signature, song.key) == ((3, 4), "D minor")
    # Pickup padded to a full bar (beat 2); the top note of D-F; voice 2 and part 2 are
    # not melody; the tied E is one note.
    assert song.notes == (Note(2, 1, 69), Note(3, 1, 77), Note(4, 3, 76), Note(8, 0.5, 67),
                          Note(8.5, 0.5, 69))
    # kind="none" leaves the end of the piece without a chord.
    assert song.chords == tuple(ChordSpan(o, d, parse_chord(s)) for o, d, s in [
        (3, 1, "Dm"), (4, 2, "Bbmaj7/D"), (6, 2, "A7"), (8, 0.5, "Em7b5")])


def test_a_compressed_mxl_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "pickup.mxl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container><rootfiles>'
            '<rootfile full-path="score.xml"/></rootfiles></container>'))
        archive.writestr("score.xml", lead_sheet())
    (song,) = musicxml.read(path)
    (plain,) = musicxml.read(_write(tmp_path, "pickup.xml", lead_sheet()))
    assert (song.notes, song.chords) == (plain.notes, plain.chords)


def test_an_unknown_harmony_kind_skips_the_song(tmp_path: Path) -> None:
    path = _write(tmp_path, "pedal.musicxml", lead_sheet(last_kind="pedal"))
    (skipped,) = musicxml.read(path)
    assert skipped == Skipped(str(path), (
        "unknown chord spelling \"A kind='pedal'\" at beat 6: unknown or unsupported "
        "MusicXML harmony kind 'pedal'"))


def test_xml_that_is_not_musicxml_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, "page.xml", "<html><body>hello</body></html>")
    assert list(musicxml.read(path)) == [Skipped(
        str(path), "not MusicXML: the root element is <html>, expected <score-partwise>")]
    broken = _write(tmp_path, "broken.xml", "<score-partwise><part>")
    (skipped,) = musicxml.read(broken)
    assert skipped.reason.startswith("not well-formed XML")
    damaged = _write(tmp_path, "damaged.mxl", "not a zip")
    (skipped,) = musicxml.read(damaged)
    assert skipped.reason == ("not a valid .mxl file (a damaged zip, or no "
                              "META-INF/container.xml)")
    hollow = tmp_path / "hollow.mxl"
    with zipfile.ZipFile(hollow, "w") as archive:
        archive.writestr("META-INF/container.xml", "<container/>")
    (skipped,) = musicxml.read(hollow)
    assert skipped.reason == "the .mxl archive names no score file in META-INF/container.xml"


def test_harmony_details_read_from_the_xml() -> None:
    def chord(xml: str) -> str | None:
        found = musicxml.harmony_chord(ET.fromstring(f"<harmony>{xml}</harmony>"))
        return None if found is None else found.symbol

    root = "<root><root-step>F</root-step><root-alter>1</root-alter></root>"
    assert chord(root + "<kind>half-diminished</kind>") == "F#m7b5"
    assert chord(root + '<kind text="m(maj7)">major-minor</kind>') == "F#m"
    assert chord(root + "<kind>dominant</kind><inversion>3</inversion>") == "F#7/E"
    assert chord(root + "<kind>major</kind><bass><bass-step>B</bass-step>"
                        "<bass-alter>-1</bass-alter></bass>") == "F#/Bb"
    assert chord("<root><root-step>C</root-step></root><kind>none</kind>") is None
    with pytest.raises(ChordError, match="names no root"):
        chord("<function>IV</function><kind>major</kind>")
    with pytest.raises(ChordError, match="inversion 3 of a 3-note chord"):
        chord(root + "<kind>major</kind><inversion>3</inversion>")


def test_a_harmony_offset_moves_it_within_the_bar(tmp_path: Path) -> None:
    offset = "<offset>1</offset></harmony>"
    text = lead_sheet().replace("<kind>major-seventh</kind><bass><bass-step>D</bass-step></bass>"
                                "</harmony>",
                                "<kind>major-seventh</kind><bass><bass-step>D</bass-step></bass>"
                                + offset)
    assert offset in text
    (song,) = musicxml.read(_write(tmp_path, "offset.musicxml", text))
    assert [(span.onset, span.chord.symbol) for span in song.chords[:2]] == [
        (3, "Dm"), (4.5, "Bbmaj7/D")]


def test_a_score_without_harmony_is_skipped(tmp_path: Path) -> None:
    text = HEAD + f"""<measure number="1"><attributes><divisions>1</divisions></attributes>
      {_note("C", 4, 4)}</measure>""" + TAIL
    (skipped,) = musicxml.read(_write(tmp_path, "bare.musicxml", text))
    assert skipped.reason == "no chord symbols (<harmony> elements) in the first part"


def test_find_inputs(tmp_path: Path) -> None:
    for name in ("a.xml", "b.mxl", "c.musicxml", "d.abc"):
        (tmp_path / name).write_text("")
    assert [p.name for p in musicxml.find_inputs(tmp_path)] == ["a.xml", "b.mxl", "c.musicxml"]
    with pytest.raises(SourceError):
        musicxml.find_inputs(None)


@pytest.mark.parametrize("name, title, first_chords, count", [
    ("berlinAlexandersRagtime", "Alexanders Ragtime Band", ["F", "C7", "F", "Bb"], 19),
    ("fosterBrownHair", "Jeanie With The Light Brown Hair", ["F", "Bb", "F", "C"], 40),
])
def test_the_lead_sheets_shipped_with_music21(
    name: str, title: str, first_chords: list[str], count: int
) -> None:
    (song,) = musicxml.read(Path(music21.corpus.getWork(f"leadSheet/{name}.mxl")))
    assert (song.song_id, song.title, song.time_signature) == (f"musicxml:{name}", title, (4, 4))
    assert len(song.chords) == count
    assert [span.chord.symbol for span in song.chords[:4]] == first_chords
    assert song.chords[0].onset == 4.0  # both start with a bar before the first chord
    assert song.chords[-1].end == song.length_beats  # the last chord lasts to the end
