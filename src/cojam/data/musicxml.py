"""Read MusicXML lead sheets (the Wikifonia format): the melody and the ``<harmony>`` chords.

music21 parses the file (``.musicxml``, ``.xml`` or compressed ``.mxl``) and gives us the
timing: offsets, ties, tuplets, pickups. The melody is the first voice of the first part;
where it holds a chord (two-note lead sheets), the highest note is the melody note.

Chords come from the ``<harmony>`` elements of the first part, read from the XML
itself: root-step, root-alter, kind (the MusicXML value: ``dominant``, ``minor-seventh``
...), bass or inversion, mapped with ``parse_musicxml_harmony``. music21's own reading is
not used: it realises chord symbols into pitches from its own table, which gets several
kinds wrong, and it cannot take a root from a ``<function>`` harmony. A harmony sits at
the position of the next note in its measure (plus its ``<offset>``) and lasts until the
next one, or to the end of the piece; ``kind="none"`` is a span with no chord.

Repeats are not expanded: a song is the written order, every bar once (expansion adds no
new material, and music21's ``expandRepeats`` misreads some repeat signs).

A pickup bar is padded, so that beat 0 is the start of a full bar: a one-beat upbeat in
4/4 starts at beat 3. Bar lines then fall on multiples of the bar length, which is where
the frame grid cuts training windows.

The score helpers here (``melody_notes``, ``chord_spans``, ``meter_and_key``,
``pickup_beats``) are shared with the ABC reader, which goes through music21's score
model too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

from music21 import chord, converter, harmony, key, meter, note, stream

from cojam.data.budget import InputBudget
from cojam.data.sources import Skipped, SourceError, find_by_suffix
from cojam.music.chords import (
    PITCH_CLASS_NAMES,
    QUALITIES,
    Chord,
    ChordError,
    parse_musicxml_harmony,
)
from cojam.music.song import ChordSpan, Note, Song

SOURCE = "musicxml"
SUFFIXES = (".musicxml", ".xml", ".mxl")
BUDGET = InputBudget(seconds=60, bytes=20_000_000)  # also the most an .mxl inflates to
MAX_MEASURES = 2_500  # 10,000 beats of 4/4 (sources.MAX_SONG_BEATS); checked before music21

_MAJOR_MODES = ("major", "ionian", "lydian", "mixolydian")
_MINOR_MODES = ("minor", "aeolian", "dorian", "phrygian", "locrian")


def find_inputs(root: Path | None) -> list[Path]:
    if root is None:
        raise SourceError("", "the musicxml source needs a file or folder of lead sheets")
    return find_by_suffix(root, SUFFIXES)


def read(path: Path) -> Iterator[Song | Skipped]:
    """The one song in a MusicXML file, or ``Skipped`` saying why not."""
    path = Path(path)
    document = _load_xml(path)
    if isinstance(document, str):
        yield Skipped(str(path), document)
        return
    try:
        score = converter.parse(path, format="musicxml", forceSource=True, storePickle=False)
    # music21 raises many exception types on malformed files; each becomes a Skipped
    # that names it, and the other files go on.
    except Exception as error:  # noqa: BLE001
        yield Skipped(str(path), f"music21 could not read the MusicXML: {_describe(error)}")
        return
    first_part = document.find("part")
    if not score.parts or first_part is None:
        yield Skipped(str(path), "the score has no parts")
        return
    yield _song(score, first_part, path)


def _load_xml(path: Path) -> ET.Element | str:
    """The score's root element, or why ``path`` is not a partwise MusicXML score (an .mxl
    is a zip whose ``META-INF/container.xml`` names the score inside)."""
    try:
        if path.suffix.lower() == ".mxl":
            with zipfile.ZipFile(path) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
                if inflated > BUDGET.bytes:
                    return (f"the .mxl archive inflates to {inflated:,} bytes, over the "
                            f"{BUDGET.bytes:,}-byte budget per input")
                names = [n for n in archive.namelist() if not n.startswith("META-INF/")]
                container = ET.fromstring(archive.read("META-INF/container.xml"))
                rootfile = container.find(".//rootfile")
                inner = rootfile.get("full-path") if rootfile is not None else None
                if inner not in names:
                    return "the .mxl archive names no score file in META-INF/container.xml"
                root = ET.fromstring(archive.read(inner))
        else:
            root = ET.parse(path).getroot()
    except (zipfile.BadZipFile, KeyError):
        return "not a valid .mxl file (a damaged zip, or no META-INF/container.xml)"
    except ET.ParseError as error:
        return f"not well-formed XML: {error}"
    tag = root.tag.rsplit("}", 1)[-1]
    if tag == "score-timewise":
        return "timewise MusicXML (<score-timewise>) is not supported; convert it to partwise"
    if tag != "score-partwise":
        return f"not MusicXML: the root element is <{tag[:80]}>, expected <score-partwise>"
    first_part = root.find("part")
    measures = 0 if first_part is None else len(first_part.findall("measure"))
    if measures > MAX_MEASURES:
        return (f"{measures} measures in the first part, over the limit of {MAX_MEASURES} "
                "(a song is at most a few hundred)")
    return root


def _song(score: stream.Score, first_part: ET.Element, path: Path) -> Song | Skipped:
    part = score.parts[0]
    shift = pickup_beats(part)
    notes = melody_notes(part, shift)
    if not notes:
        return Skipped(str(path), "no melody notes in the first part")
    measures = list(part.getElementsByClass(stream.Measure))
    placed = _harmony_positions(first_part)
    if not placed:
        return Skipped(str(path), "no chord symbols (<harmony> elements) in the first part")
    if len(measures) != len(first_part.findall("measure")):
        return Skipped(str(path), "music21 read a different number of measures than the file "
                                  "has, so chords cannot be placed")
    chords: list[tuple[float, Chord | None]] = []
    for index, position, element in placed:
        onset = float(measures[index].offset) + position + shift
        try:
            chords.append((onset, harmony_chord(element)))
        except ChordError as error:
            return Skipped(str(path), f"unknown chord spelling {error.spelling!r} at beat "
                                      f"{onset:g}: {error.reason}")
    chords.sort(key=lambda item: item[0])
    spans = chord_spans(chords, end=part.highestTime + shift)
    if not spans:
        return Skipped(str(path), "every <harmony> element is 'no chord'")
    time_signature, key_name = meter_and_key(part)
    return Song(
        song_id=f"{SOURCE}:{path.stem}", source=SOURCE, notes=tuple(notes), chords=tuple(spans),
        time_signature=time_signature, key=key_name, title=_title(score, path),
        meta={"file": path.name},
    )


def _harmony_positions(part: ET.Element) -> list[tuple[int, float, ET.Element]]:
    """(measure index, beats into the measure, element) of each ``<harmony>``: the
    position of the next note, following the ``<divisions>`` cursor through notes,
    ``<backup>`` and ``<forward>``, plus the harmony's own ``<offset>``."""
    divisions, placed = 1.0, []
    for index, measure in enumerate(part.findall("measure")):
        cursor = 0.0
        for child in measure:
            duration = float(child.findtext("duration", "0") or 0)
            if child.tag == "attributes":
                divisions = float(child.findtext("divisions", "") or divisions)
            elif child.tag == "note" and child.find("chord") is None:
                cursor += duration  # a grace note has no <duration>
            elif child.tag == "backup":
                cursor -= duration
            elif child.tag == "forward":
                cursor += duration
            elif child.tag == "harmony":
                offset = float(child.findtext("offset", "0") or 0)
                placed.append((index, (cursor + offset) / divisions, child))
    return placed


def harmony_chord(element: ET.Element) -> Chord | None:
    """One ``<harmony>`` element as a vocabulary chord (None for ``kind="none"``)."""
    kind = (element.findtext("kind") or "").strip()
    root_step = (element.findtext("root/root-step") or "").strip()
    if not root_step:
        spelling = f"{element.findtext('function') or '?'} kind={kind!r}"
        raise ChordError(spelling, "the <harmony> names no root (a <function> harmony?)")
    chord = parse_musicxml_harmony(
        root_step, float(element.findtext("root/root-alter") or 0), kind,
        (element.findtext("bass/bass-step") or "").strip() or None,
        float(element.findtext("bass/bass-alter") or 0),
    )
    inversion = int(element.findtext("inversion") or 0)
    if chord is None or chord.bass is not None or inversion == 0:
        return chord
    intervals = QUALITIES[chord.quality][1]
    if inversion >= len(intervals):
        raise ChordError(f"{root_step} kind={kind!r}",
                         f"inversion {inversion} of a {len(intervals)}-note chord")
    return Chord(chord.root, chord.quality, (chord.root + intervals[inversion]) % 12)


def _title(score: stream.Score, path: Path) -> str | None:
    """The work title, else the movement title (which music21 fills with the file name
    when the file has none: that is not a title)."""
    if score.metadata is None:
        return None
    for title in (score.metadata.title, score.metadata.movementName):
        if title and title != path.name:
            return title
    return None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# ------------------------------------------------------------ music21 score helpers

def pickup_beats(part: stream.Part) -> float:
    """Beats to add so that a pickup bar is padded to a full bar (0 without a pickup)."""
    first = part.getElementsByClass(stream.Measure).first()
    return float(first.paddingLeft) if first is not None else 0.0


def melody_notes(part: stream.Part, shift: float = 0.0) -> list[Note]:
    """The first voice of ``part`` as notes (ties merged, grace notes dropped, the top
    note of a chord), onsets moved by ``shift`` beats."""
    part = part.stripTies()
    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    notes = []
    for measure in measures:
        holder = measure.voices[0] if measure.voices else measure
        start = (measure.offset if measure is not part else 0.0)
        start += holder.offset if holder is not measure else 0.0
        for element in holder.getElementsByClass((note.Note, chord.Chord)):
            if isinstance(element, harmony.Harmony) or element.duration.quarterLength <= 0:
                continue
            pitch = element.pitch if isinstance(element, note.Note) else max(element.pitches)
            notes.append(Note(onset=float(start + element.offset) + shift,
                              duration=float(element.duration.quarterLength), pitch=pitch.midi))
    return notes


def chord_spans(chords: list[tuple[float, Chord | None]], end: float) -> list[ChordSpan]:
    """Each chord lasts until the next chord's onset, the last one until ``end``; a None
    (no chord) leaves its stretch empty. Of chords sharing an onset the last one wins."""
    spans = []
    for i, (onset, value) in enumerate(chords):
        until = chords[i + 1][0] if i + 1 < len(chords) else end
        if value is not None and until > onset:
            spans.append(ChordSpan(onset=onset, duration=until - onset, chord=value))
    return spans


def meter_and_key(part: stream.Part) -> tuple[tuple[int, int], str | None]:
    """The first time signature (4/4 when none) and the first key as ``"<tonic> major"``
    or ``"<tonic> minor"``. Modes count by their third (D dorian -> ``"D minor"``); a key
    signature without a mode says nothing about the tonic, so it gives None."""
    signature = part.recurse().getElementsByClass(meter.TimeSignature).first()
    time_signature = (signature.numerator, signature.denominator) if signature else (4, 4)
    found = part.recurse().getElementsByClass(key.Key).first()
    key_name = None
    if found is not None and found.mode in _MAJOR_MODES + _MINOR_MODES:
        mode = "major" if found.mode in _MAJOR_MODES else "minor"
        key_name = f"{PITCH_CLASS_NAMES[found.tonic.pitchClass]} {mode}"
    return time_signature, key_name
