"""Read the Hooktheory dump (``Hooktheory.json.gz``, published with SheetSage).

The file is one JSON object mapping a Hooktheory song id to a record. Fields used (as in
SheetSage's ``sheetsage/data.py`` and its ``notebooks/Dataset.ipynb``):

- ``annotations.melody``: ``[{onset, offset, pitch_class, octave}]``, times in beats;
- ``annotations.harmony``: ``[{onset, offset, root_pitch_class, root_position_intervals,
  inversion}]``; the intervals are *successive* steps between the chord tones in root
  position (``[4, 3]`` is a major triad, ``[4, 3, 3]`` a dominant seventh);
- ``annotations.meters``: ``[{beat, beats_per_bar, beat_unit}]``;
- ``annotations.keys``: ``[{beat, tonic_pitch_class, scale_degree_intervals}]``, the
  first one gives the song's key, major or minor by its third;
- ``hooktheory`` ``{id, artist, song}``, ``split`` and ``tags`` are kept as metadata only
  (our own splits are made by song id later).

Pitch: ``12 * (octave + 5) + pitch_class``, so octave 0 is the octave of middle C (MIDI
60), exactly SheetSage's ``(1 + default_octave + octave) * 12 + pitch_class`` with its
default octave 4.

Chords: the tones are the root plus the running sums of the intervals. If their pitch
classes are exactly a vocabulary template (``chords.QUALITIES``) that is the quality; else
``chord_from_pitch_classes`` names them (ninths become sevenths and so on). Inversion k
puts the k-th chord tone of the root position in the bass.

Beats: a Hooktheory beat is one count of the meter, a ``1/beat_unit`` note. Ours is a
quarter note, so times are scaled by ``4 / beat_unit`` piecewise across meter changes
(an identity for the common 4/4 with ``beat_unit`` 4; 6/8 counted in eighths halves).

A record with a missing or malformed field (a time that is not finite or lies past
``MAX_SONG_BEATS``, metadata that is not an object) is ``Skipped`` naming the song id
and the field; the other records go on: the dump is one file, and one bad record must not
lose the corpus. The dump is read as text of at most ``BUDGET.bytes`` characters, gzipped
or not.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

from cojam.data.budget import InputBudget
from cojam.data.sources import MAX_SONG_BEATS, Skipped, SourceError, find_by_suffix
from cojam.music.chords import PITCH_CLASS_NAMES, QUALITIES, Chord, chord_from_pitch_classes
from cojam.music.song import ChordSpan, Note, Song

SOURCE = "hooktheory"
SUFFIXES = (".json", ".json.gz")
BUDGET = InputBudget(seconds=1800, bytes=1_000_000_000)  # the dump is one file

MAX_INTEGER_DIGITS = 30
_TEMPLATES = {frozenset(intervals): quality for quality, (_, intervals) in QUALITIES.items()}


class LongInteger(str):
    """An integer of more digits than any field can use, kept as its text so that the field
    check refuses it (Python's ``int`` refuses over 4,300 digits, failing the whole file)."""

    def __repr__(self) -> str:
        return f"<an integer of {len(self)} digits>"


def _integer(text: str) -> int | LongInteger:
    return int(text) if len(text) <= MAX_INTEGER_DIGITS else LongInteger(text)


class RecordError(ValueError):
    """A record field that is missing or malformed."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"field {field!r} {problem}")
        self.field = field


def find_inputs(root: Path | None) -> list[Path]:
    if root is None:
        raise SourceError("", "the hooktheory source needs the Hooktheory.json.gz file")
    return find_by_suffix(root, SUFFIXES)


def read(path: Path) -> Iterator[Song | Skipped]:
    """Every record of a Hooktheory dump, as a ``Song`` or a ``Skipped`` saying why not."""
    path = Path(path)
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read(BUDGET.bytes + 1)
        if len(text) > BUDGET.bytes:
            yield Skipped(str(path), f"over {BUDGET.bytes:,} characters of JSON once "
                                     "decompressed, the budget per input; skipped")
            return
        records = json.loads(text, parse_int=_integer)
    except (OSError, EOFError, UnicodeDecodeError, ValueError, RecursionError) as error:
        yield Skipped(str(path), f"not a readable JSON file: {str(error)[:200]}")
        return
    if not isinstance(records, dict):
        yield Skipped(str(path), "expected a JSON object mapping song ids to records, got a "
                                 f"{type(records).__name__}")
        return
    stem = path.name.split(".")[0]
    for song_id, record in records.items():
        where = f"{path}#{song_id}"
        try:
            yield record_song(record, f"{SOURCE}:{stem}#{song_id}")
        except RecordError as error:
            yield Skipped(where, f"record {song_id}: {error}")
        # a value of a type or size no field check foresaw fails in Song, Note, a chord
        # table; it skips this record, named, and the other records go on
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError) as error:
            yield Skipped(where, f"record {song_id}: {type(error).__name__}: "
                                 f"{str(error)[:200]}")


def record_song(record: Any, song_id: str) -> Song:
    """One dump record as a song; raises ``RecordError`` naming the field at fault."""
    annotations = _get(record, "annotations", dict, "")
    meters = _get(annotations, "meters", list, "annotations")
    if not meters:
        raise RecordError("annotations.meters", "is empty")
    to_quarters = _quarter_notes(meters)
    melody = _get(annotations, "melody", list, "annotations", allow_none=True) or []
    harmony = _get(annotations, "harmony", list, "annotations", allow_none=True) or []
    if not melody:
        raise RecordError("annotations.melody", "has no notes")
    if not harmony:
        raise RecordError("annotations.harmony", "has no chords")
    notes = [_note(n, f"annotations.melody[{i}]", to_quarters) for i, n in enumerate(melody)]
    spans = [_span(h, f"annotations.harmony[{i}]", to_quarters) for i, h in enumerate(harmony)]
    first_meter = min(meters, key=lambda m: m["beat"])
    info = _get(record, "hooktheory", dict, "", allow_none=True) if "hooktheory" in record else {}
    info = info or {}
    return Song(
        song_id=song_id, source=SOURCE, notes=tuple(notes), chords=tuple(spans),
        time_signature=(first_meter["beats_per_bar"], first_meter["beat_unit"]),
        key=_key(annotations), title=info.get("song"),
        meta={"hooktheory_id": info.get("id"), "artist": info.get("artist"),
              "split": record.get("split"), "tags": record.get("tags", [])},
    )


def _get(container: Any, name: str, kind: type | tuple[type, ...], where: str,
         allow_none: bool = False) -> Any:
    """``container[name]`` checked to be a ``kind``; a bool is not a number here."""
    field = f"{where}.{name}" if where else name
    if not isinstance(container, dict) or name not in container:
        raise RecordError(field, "is missing")
    value = container[name]
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else "number"
        raise RecordError(field, f"is {repr(value)[:60]}, not a {expected}")
    return value


def _quarter_notes(meters: list[Any]) -> Callable[[float], float]:
    """Hooktheory beats -> quarter notes, scaled by ``4 / beat_unit`` per meter region."""
    checked = []
    for i, meter in enumerate(meters):
        where = f"annotations.meters[{i}]"
        beat = _time(meter, "beat", where)
        _get(meter, "beats_per_bar", int, where)
        unit = _get(meter, "beat_unit", int, where)
        if unit not in (1, 2, 4, 8, 16):
            raise RecordError(f"{where}.beat_unit", f"is {unit}, not a note value 1-16")
        checked.append((beat, 4 / unit))
    regions = []  # (start in Hooktheory beats, start in quarter notes, quarters per beat)
    for beat, scale in sorted(checked):
        quarters = regions[-1][1] + (beat - regions[-1][0]) * regions[-1][2] if regions else 0.0
        regions.append((beat, quarters, scale))

    def convert(beat: float) -> float:
        start, quarters, scale = next((r for r in reversed(regions) if r[0] <= beat), regions[0])
        return quarters + (beat - start) * scale

    return convert


def _time(item: Any, name: str, where: str) -> float:
    """A number of beats, finite and within ``MAX_SONG_BEATS`` either way."""
    value = _get(item, name, (int, float), where)
    if not (math.isfinite(value) and abs(value) <= MAX_SONG_BEATS):
        raise RecordError(f"{where}.{name}", f"is {value!r}, not a time within "
                                             f"{MAX_SONG_BEATS} beats")
    return value


def _times(item: Any, where: str, to_quarters: Callable[[float], float]) -> tuple[float, float]:
    onset, offset = _time(item, "onset", where), _time(item, "offset", where)
    if onset < 0 or offset <= onset:
        raise RecordError(where, f"has onset {onset} and offset {offset}")
    start = to_quarters(onset)
    return start, to_quarters(offset) - start


def _note(item: Any, where: str, to_quarters: Callable[[float], float]) -> Note:
    onset, duration = _times(item, where, to_quarters)
    pitch_class = _get(item, "pitch_class", int, where)
    octave = _get(item, "octave", int, where)
    pitch = 12 * (octave + 5) + pitch_class
    if not 0 <= pitch_class < 12 or not 0 <= pitch <= 127:
        raise RecordError(where, f"has pitch_class {pitch_class} and octave {octave}")
    return Note(onset=onset, duration=duration, pitch=pitch)


def _span(item: Any, where: str, to_quarters: Callable[[float], float]) -> ChordSpan:
    onset, duration = _times(item, where, to_quarters)
    return ChordSpan(onset=onset, duration=duration, chord=hooktheory_chord(
        _get(item, "root_pitch_class", int, where),
        _get(item, "root_position_intervals", list, where),
        _get(item, "inversion", int, where, allow_none=True), where))


def hooktheory_chord(root: int, intervals: list[int], inversion: int | None,
                     where: str = "harmony") -> Chord:
    """Root pitch class + successive root-position intervals + inversion -> a chord."""
    if not 0 <= root < 12:
        raise RecordError(f"{where}.root_pitch_class", f"is {root}, not a pitch class 0-11")
    if not intervals or not all(isinstance(i, int) and i > 0 for i in intervals):
        raise RecordError(f"{where}.root_position_intervals",
                          f"is {intervals!r}, not a list of positive steps")
    offsets = [0, *accumulate(intervals)]
    inversion = inversion or 0
    if not 0 <= inversion < len(offsets):
        raise RecordError(f"{where}.inversion", f"is {inversion} for a {len(offsets)}-note chord")
    bass = (root + offsets[inversion]) % 12
    quality = _TEMPLATES.get(frozenset(o % 12 for o in offsets))
    if quality is not None:
        return Chord(root, quality, bass)
    return chord_from_pitch_classes({root + o for o in offsets}, bass=bass)


def _key(annotations: dict[str, Any]) -> str | None:
    """The first key, major or minor by its third; None when absent or unreadable."""
    keys = annotations.get("keys")
    if not keys or not isinstance(keys[0], dict):
        return None
    tonic, steps = keys[0].get("tonic_pitch_class"), keys[0].get("scale_degree_intervals")
    if (not isinstance(tonic, int) or not isinstance(steps, list) or len(steps) < 2
            or not all(isinstance(step, int) for step in steps[:2])):
        return None
    third = steps[0] + steps[1]
    mode = {4: "major", 3: "minor"}.get(third)
    return f"{PITCH_CLASS_NAMES[tonic % 12]} {mode}" if mode else None
