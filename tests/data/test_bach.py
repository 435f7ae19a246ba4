"""The Bach chorale reader on chorales written here, and on a few of music21's own."""

from pathlib import Path

import pytest
from music21 import converter, corpus, key, metadata, meter, note, roman, stream, tie

from cojam.data import bach
from cojam.data.sources import Skipped
from cojam.music.chords import chord_from_pitch_classes, parse_chord
from cojam.music.song import ChordSpan, Note, Song

# One-beat pickup (G), then C C | Am F | G (4-3 suspension) G | C (half note).
# Beat 2 of bar 1 has passing tones in the soprano (D) and the alto (B, which would make
# Cmaj7); the soprano's C is tied over the bar line into a suspension resolving to B.
CADENCE = {
    "Soprano": ["G4:1", "E5:1 E5:.5 D5:.5 C5:1 C5~:1", "C5:.5 B4:.5 D5:1 C5:2"],
    "Alto": ["D4:1", "C5:1 C5:.5 B4:.5 A4:1 A4:1", "G4:1 G4:1 E4:2"],
    "Tenor": ["B3:1", "G4:1 G4:1 E4:1 F4:1", "D4:1 B3:1 G3:2"],
    "Bass": ["G2:1", "C3:1 C3:1 A2:1 F2:1", "G2:1 G2:1 C3:2"],
}
# 3/4, no pickup: F, a chromatic cluster, all rest | cluster, G7, C.
CLUSTERS = {
    "Soprano": ["A4:1 E-4:1 r:1", "E-4:1 F4:1 E4:1"],
    "Alto": ["F4:1 D4:1 r:1", "D4:1 D4:1 C4:1"],
    "Tenor": ["C4:1 C#4:1 r:1", "C#4:1 B3:1 G3:1"],
    "Bass": ["F2:1 C3:1 r:1", "C3:1 G2:1 C3:1"],
}


def _part(name: str, bars: list[str], signature: str) -> stream.Part:
    """A part from bars of ``pitch:beats`` tokens; ``r`` rests, ``~`` ties to the next."""
    part = stream.Part()
    part.partName = name
    tied = False
    for number, bar in enumerate(bars):
        measure = stream.Measure(number=number)
        if number == 0:
            measure.append([meter.TimeSignature(signature), key.Key("C")])
        for token in bar.split():
            pitch, beats = token.split(":")
            element = note.Rest() if pitch == "r" else note.Note(pitch.rstrip("~"))
            element.quarterLength = float(beats)
            if tied or pitch.endswith("~"):
                element.tie = tie.Tie(("continue" if pitch.endswith("~") else "stop")
                                      if tied else "start")
            tied = pitch.endswith("~")
            measure.append(element)
        bar_length = measure.timeSignature.barDuration.quarterLength if number == 0 else 0
        if number == 0 and measure.duration.quarterLength < bar_length:
            measure.paddingLeft = bar_length - measure.duration.quarterLength
        part.append(measure)
    return part


def write_chorale(path: Path, voices: dict[str, list[str]], signature: str = "4/4",
                  title: str | None = None) -> Path:
    score = stream.Score()
    if title:
        score.metadata = metadata.Metadata(title=title)
    for name, bars in voices.items():
        score.insert(0, _part(name, bars, signature))
    score.write("musicxml", fp=path)
    return path


def _notes(*items: tuple[float, float, str]) -> list[Note]:
    return [Note(o, d, note.Note(p).pitch.midi) for o, d, p in items]


def _chords(*items: tuple[float, float, str]) -> list[ChordSpan]:
    return [ChordSpan(o, d, parse_chord(symbol)) for o, d, symbol in items]


@pytest.fixture(scope="module")
def cadence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bach") / "cadence.musicxml"
    return write_chorale(path, CADENCE, title="Cadence")


def test_a_cadence_is_read_with_its_melody_and_beat_chords(cadence: Path) -> None:
    [song] = bach.read(cadence)
    assert isinstance(song, Song)
    assert (song.song_id, song.source, song.title) == ("bach:cadence", "bach", "Cadence")
    assert (song.time_signature, song.key) == ((4, 4), "C major")
    assert song.meta == {"file": "cadence.musicxml", "pickup_beats": 1.0}
    # The pickup is padded to a full bar: it starts at beat 3 and bar 1 at beat 4. The
    # passing D is a melody note; the tied C is one note.
    assert list(song.notes) == _notes(
        (3, 1, "G4"), (4, 1, "E5"), (5, .5, "E5"), (5.5, .5, "D5"), (6, 1, "C5"),
        (7, 1.5, "C5"), (8.5, .5, "B4"), (9, 1, "D5"), (10, 2, "C5"))
    # The passing tones leave beat 5 a C (merged with beat 4, not Cmaj7), the suspension
    # leaves beat 8 a G (not Gsus4), and the half-note C is one span.
    assert list(song.chords) == _chords(
        (3, 1, "G"), (4, 2, "C"), (6, 1, "Am"), (7, 1, "F"), (8, 2, "G"), (10, 2, "C"))


def test_an_unnameable_beat_keeps_the_chord_before_it_and_rests_have_none(
    tmp_path: Path,
) -> None:
    [song] = bach.read(write_chorale(tmp_path / "clusters.musicxml", CLUSTERS, "3/4"))
    assert song.time_signature == (3, 4)
    assert song.meta["pickup_beats"] == 0.0
    assert list(song.notes) == _notes(
        (0, 1, "A4"), (1, 1, "E-4"), (3, 1, "E-4"), (4, 1, "F4"), (5, 1, "E4"))
    # The cluster after F prolongs F; the one after the rest has nothing to prolong and
    # gets no chord (never a made-up one); the resting beat 2 has none.
    assert list(song.chords) == _chords((0, 2, "F"), (4, 1, "G7"), (5, 1, "C"))


def test_voices_are_found_by_name_among_instrument_parts(tmp_path: Path, cadence: Path) -> None:
    voices = {"Violin 1": ["D6:1", "G5:4", "G5:4"], **CADENCE}
    [song] = bach.read(write_chorale(tmp_path / "cantata.musicxml", voices))
    [plain] = bach.read(cadence)
    assert song.notes == plain.notes
    assert song.chords == plain.chords


def test_a_score_without_four_voices_is_skipped(tmp_path: Path) -> None:
    duet = {"Soprano": CADENCE["Soprano"], "Bass": CADENCE["Bass"]}
    [skipped] = bach.read(write_chorale(tmp_path / "duet.musicxml", duet))
    assert isinstance(skipped, Skipped)
    assert skipped.path.endswith("duet.musicxml")
    assert "2 parts (Soprano, Bass)" in skipped.reason


def test_a_broken_file_is_skipped_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.musicxml"
    path.write_text('<?xml version="1.0"?>\n<score-partwise version="4.0"><part-list><score')
    [skipped] = bach.read(path)
    assert isinstance(skipped, Skipped)
    assert skipped.path == str(path)
    assert skipped.reason.startswith("cannot parse:")


def test_a_chorale_in_two_formats_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "bwv1.musicxml").write_text("the twin is found, not read")
    (tmp_path / "bwv1.krn").write_text("not read")
    [skipped] = bach.read(tmp_path / "bwv1.krn")
    assert skipped == Skipped(str(tmp_path / "bwv1.krn"),
                              "same chorale as bwv1.musicxml, which is read instead")


def test_find_inputs(tmp_path: Path) -> None:
    for name in ("a.mxl", "b.krn", "sub/c.musicxml", "d.txt", "e.rntxt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    found = bach.find_inputs(tmp_path)
    assert found == [tmp_path / "a.mxl", tmp_path / "b.krn", tmp_path / "sub/c.musicxml"]
    shipped = bach.find_inputs(None)
    assert len(shipped) > 400
    assert {p.suffix for p in shipped} <= set(bach.SUFFIXES)
    assert "bwv269.mxl" in {p.name for p in shipped}


@pytest.mark.parametrize(("work", "signature", "pickup", "key_name"),
                         [("bwv269", (3, 4), 1.0, "G major"), ("bwv104.6", (4, 4), 1.0, "A major"),
                          ("bwv66.6", (4, 4), 1.0, "F# minor")])
def test_real_chorales_hold_the_invariants(work: str, signature: tuple[int, int],
                                           pickup: float, key_name: str) -> None:
    [song] = bach.read(corpus.getWork(work, fileExtensions=("mxl",)))
    assert song.song_id == f"bach:{work}"
    assert (song.time_signature, song.key) == (signature, key_name)
    assert song.meta["pickup_beats"] == pickup
    # the pickup ends where the first full bar begins, on a bar line
    assert song.notes[0].onset == song.beats_per_bar - pickup
    for before, after in zip(song.notes, song.notes[1:], strict=False):
        assert before.end <= after.onset  # monophonic
    for before, after in zip(song.chords, song.chords[1:], strict=False):
        assert before.end <= after.onset
        assert not (before.end == after.onset and before.chord == after.chord)  # merged
    # chords under nearly all of the music, the last one under the final note
    covered = sum(span.duration for span in song.chords)
    assert covered >= 0.9 * (song.length_beats - song.notes[0].onset)
    assert song.chords[-1].end == song.notes[-1].end
    assert len({span.chord for span in song.chords}) >= 8


def test_bwv269_agrees_with_an_expert_harmonic_analysis() -> None:
    """Riemenschneider chorale 1 (BWV 269) as analysed in music21's corpus: the beat
    chords must match the analysis's chord (as pitch classes) on most beats."""
    [song] = bach.read(corpus.getWork("bwv269", fileExtensions=("mxl",)))
    analysis = converter.parse(corpus.getWork("bwv269").parent / "choraleAnalyses"
                               / "riemenschneider001.rntxt")
    expert = [(float(numeral.getOffsetInHierarchy(analysis)),
               chord_from_pitch_classes({p.pitchClass for p in numeral.pitches}))
              for numeral in analysis.recurse().getElementsByClass(roman.RomanNumeral)]
    shift = song.beats_per_bar - song.meta["pickup_beats"]
    agree = total = 0
    for span in song.chords:
        for beat in range(int(span.onset), int(span.end)):
            named = [chord for offset, chord in expert if offset <= beat - shift]
            total += 1
            agree += bool(named) and named[-1].pitch_classes == span.chord.pitch_classes
    assert total >= 60
    assert agree / total >= 0.85
