"""The chord vocabulary and the normaliser for every source's spellings."""

import pytest

from cojam.music.chords import (
    QUALITY_NAMES,
    Chord,
    ChordError,
    all_chords,
    chord_from_pitch_classes,
    parse_chord,
    parse_musicxml_harmony,
)


@pytest.mark.parametrize(
    ("spelling", "symbol"),
    [
        ("C", "C"), ("Am", "Am"), ("Am/c", "Am/C"), ("Am/e", "Am/E"), ("G7/b", "G7/B"),
        ("F#m7b5", "F#m7b5"), ("Bbmaj7", "Bbmaj7"), ("Ebm6", "Ebm6"), ("Dbdim7", "C#dim7"),
        ("C-7", "Cm7"), ("Cø7", "Cm7b5"), ("Co7", "Cdim7"), ("C+", "Caug"), ("Csus", "Csus4"),
        ("Csus2", "Csus2"), ("C6", "C6"), ("C9", "C7"), ("Cmaj9", "Cmaj7"), ("Cm9", "Cm7"),
        ("Cadd9", "C"), ("C6/9", "C6"), ("CM7", "Cmaj7"), ("C7sus4", "Csus4"),
        # Harte labels (Isophonics, POP909)
        ("C:min7", "Cm7"), ("A:maj/3", "A/C#"), ("E:hdim7", "Em7b5"), ("G:7/b7", "G7/F"),
        ("Bb:maj6", "Bb6"), ("F#:min", "F#m"), ("C:maj(9)", "C"), ("C:(1,3,5,b7)", "C7"),
        ("D:sus4", "Dsus4"), ("A:min/b3", "Am/C"),
    ],
)
def test_parse_chord_maps_spellings_to_the_vocabulary(spelling, symbol):
    assert parse_chord(spelling).symbol == symbol


@pytest.mark.parametrize("spelling", ["N", "NC", "N.C.", "X", ""])
def test_no_chord_spellings_are_none(spelling):
    assert parse_chord(spelling) is None


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [("H7", "no note name"), ("C5", "unknown chord quality '5'"), ("Cxyz", "'xyz'"),
     ("C:5", "power chord"), ("C/Q", "no note name"), ("C:maj/12", "bass degree")],
)
def test_unmappable_spellings_raise_with_the_spelling_and_reason(spelling, reason):
    with pytest.raises(ChordError) as info:
        parse_chord(spelling)
    assert info.value.spelling == spelling
    assert reason in str(info.value)


def test_every_vocabulary_symbol_parses_back_to_itself():
    for chord in all_chords(with_bass=True):
        assert parse_chord(chord.symbol) == chord
    assert len(all_chords()) == 12 * len(QUALITY_NAMES) == 156


def test_pitch_classes_and_transposition():
    assert Chord(0, "maj").pitch_classes == {0, 4, 7}
    assert Chord(2, "m7b5").pitch_classes == {2, 5, 8, 0}
    assert parse_chord("C/E").pitch_classes == {0, 4, 7}
    assert parse_chord("C/D").pitch_classes == {0, 2, 4, 7}
    assert parse_chord("Am7/G").transpose(3).symbol == "Cm7/Bb"
    assert parse_chord("B").transpose(1).symbol == "C"
    assert Chord(0, "maj", 0).bass is None  # a bass equal to the root is root position


def test_chord_rejects_bad_fields():
    with pytest.raises(ValueError, match="quality"):
        Chord(0, "power")
    with pytest.raises(ValueError, match="root"):
        Chord(12)


@pytest.mark.parametrize(
    ("step", "alter", "kind", "bass", "symbol"),
    [("B", -1, "major-seventh", None, "Bbmaj7"), ("C", 0, "major", "E", "C/E"),
     ("F", 1, "half-diminished", None, "F#m7b5"), ("G", 0, "dominant-ninth", None, "G7"),
     ("D", 0, "minor", None, "Dm"), ("A", 0, "suspended-fourth", None, "Asus4")],
)
def test_musicxml_harmony_kinds(step, alter, kind, bass, symbol):
    assert parse_musicxml_harmony(step, alter, kind, bass).symbol == symbol


def test_musicxml_unknown_kind_is_reported():
    with pytest.raises(ChordError, match="Tristan"):
        parse_musicxml_harmony("F", 0, "Tristan")
    assert parse_musicxml_harmony("C", 0, "none") is None


@pytest.mark.parametrize(
    ("pcs", "bass", "symbol"),
    [({0, 4, 7}, None, "C"), ({0, 4, 7}, 4, "C/E"), ({9, 0, 4}, 9, "Am"),
     ({7, 11, 2, 5}, 7, "G7"), ({7, 11, 2, 5}, 11, "G7/B"), ({2, 5, 9, 0}, 2, "Dm7"),
     ({11, 2, 5}, 11, "Bdim"), ({0, 4}, 0, "C"), ({0, 3, 6, 9}, 0, "Cdim7")],
)
def test_chord_from_pitch_classes_names_clean_chords(pcs, bass, symbol):
    assert chord_from_pitch_classes(pcs, bass=bass).symbol == symbol


def test_chord_from_pitch_classes_needs_two_pitch_classes():
    with pytest.raises(ChordError, match="fewer than two"):
        chord_from_pitch_classes({7})


@pytest.mark.parametrize(
    "weights", [{1: 0.3, 5: 0.1, 9: 0.7}, {1: 2.25, 5: 0.7, 9: 0.7}, {1: 2.25, 5: 0.2, 9: 1.1}]
)
def test_weighted_naming_breaks_equal_pitch_set_ties_by_the_bass(weights):
    # Aaug, C#aug and Faug hold the same pitch classes, as do F6 and Dm7: equal sets score
    # exactly the same whatever the weights, so the tie goes to the root in the bass (it
    # used to go to whichever summed the weights with less rounding error).
    assert chord_from_pitch_classes(weights, bass=9, weights=weights).symbol == "Aaug"
    assert chord_from_pitch_classes(weights, bass=1, weights=weights).symbol == "C#aug"
    sixth = {5: weights[1], 9: weights[5], 0: weights[9], 2: 1.0}
    assert chord_from_pitch_classes(sixth, bass=5, weights=sixth).symbol == "F6"
    assert chord_from_pitch_classes(sixth, bass=2, weights=sixth).symbol == "Dm7"


@pytest.mark.parametrize(("root", "third", "fifth"),
                         [(2.81, 1.02, 1.61), (2.25, 0.52, 1.84), (2.77, 0.8, 1.66)])
def test_weighted_naming_breaks_equal_score_ties_by_simplicity(root, third, fifth):
    # A C# E with a B weighing as much as the C#: A and Asus2 score the same (summed in
    # another order), so the simpler triad wins rather than the rounding error.
    weights = {9: root, 1: third, 4: fifth, 11: third}
    assert chord_from_pitch_classes(weights, bass=9, weights=weights).symbol == "A"
