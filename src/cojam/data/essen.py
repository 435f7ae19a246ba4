"""The Essen folk-song collection shipped with music21: melodies without chords.

music21 ships the collection as 31 ABC files (``corpus.getComposer("essenFolksong")``),
several thousand folk tunes. Each tune becomes one melody-only ``Song``
(``essen:<file stem>/<X number>``, no chord spans) for RL rollouts and for evaluation
metrics that need no reference chords; ``cojam.data.melody_cache`` builds the cache and
``split_of_file`` says which split each file goes to.

music21 parses each tune on its own, so one malformed tune is a ``Skipped`` naming the
file, the tune and the reason, and the other tunes go on. What we add:

- **Accidentals carry through the bar.** The files write an accidental once per bar
  (``=c2c2c2`` is three C naturals in E major), as ABC 2.1 and printed music do; music21
  only does so when a tune declares ABC 2.1, so every tune is parsed with that
  declaration and ``%%propagate-accidentals octave`` (a note in another octave does not
  inherit the accidental, as in printed music).
- **Meter.** A tune whose ``M:`` field is not a plain fraction (``none``, the free
  ``FREI4/4``) has no bar grid to cut windows on and is skipped, as is one whose bars or
  notes are implausibly long (``MAX_BAR_BEATS``, ``MAX_NOTE_BEATS``, ``MAX_SONG_BEATS``).
- **Key.** ``K:`` gives the tonic as music21 reads it (``"G major"``; ``Dm`` is
  ``"D minor"``). Most tunes write a major ``K:`` even when they sound in minor (their
  flats are written as accidentals), so the mode says less than the tonic does.

Timing follows the other readers: a beat is a quarter note, a pickup bar is padded to a
full bar, and tunes are read as written (the collection has no repeat signs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

from music21 import converter, corpus, harmony, meter, stream

from cojam.data.abc import numbered_tunes, split_tunes
from cojam.data.budget import InputBudget
from cojam.data.cache import split_of
from cojam.data.musicxml import meter_and_key, pickup_beats
from cojam.data.sources import Skipped, find_by_suffix
from cojam.music.song import Note, Song

SOURCE = "essen"
SUFFIXES = (".abc",)
MELODY_ONLY = True  # read by the cache: no chords, split by file
LIMIT_PER_INPUT = True  # ``--limit N`` reads the first N tunes of every file
# the largest file is 250 kB and 700 tunes, read in tens of seconds on one idle core
BUDGET = InputBudget(seconds=900, bytes=2_000_000)

MAX_BAR_BEATS = 16.0  # 4/1, the longest meter in the collection
MAX_NOTE_BEATS = 32.0
MAX_SONG_BEATS = 2048.0

# ABC 2.1 with accidentals carried through the bar in one octave (see the docstring)
_ABC_PREAMBLE = "%abc-2.1\n%%propagate-accidentals octave\n"
_METER_FIELD = re.compile(r"^M:(.*)$", re.MULTILINE)  # stripped after: no backtracking
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
_ESSEN_ID = re.compile(r"^N:[ \t]*(\S+)", re.MULTILINE)

# The split of each file of the collection, fixed so that a tune never changes split
# between builds (``--limit`` included). Test holds three files (Chinese songs, German
# ballads, the folk songs Haydn set: about a tenth of the tunes), valid four more (about
# a tenth), train the rest. A file not named here (``--input`` of other ABC files) is
# split by a hash of its name, like the cache splits songs.
TEST_FILES = ("ballad40.abc", "folkHaydn.abc", "han1.abc")
VALID_FILES = ("ballad30.abc", "boehme20.abc", "dva0.abc", "kinder0.abc")
TRAIN_FILES = (
    "altdeu10.abc", "altdeu20.abc", "ballad10.abc", "ballad20.abc", "ballad50.abc",
    "ballad60.abc", "ballad70.abc", "ballad80.abc", "boehme10.abc", "erk10.abc",
    "erk20.abc", "erk30.abc", "erk5.abc", "fink0.abc", "han2.abc", "irl.abc", "lot.abc",
    "lux.abc", "test0.abc", "test1.abc", "testd.abc", "teste.abc", "variant0.abc",
    "zuccal0.abc",
)
FILE_SPLITS = {
    **{name: "train" for name in TRAIN_FILES},
    **{name: "valid" for name in VALID_FILES},
    **{name: "test" for name in TEST_FILES},
}


def find_inputs(root: Path | None) -> list[Path]:
    """music21's Essen collection when ``root`` is None, else the ABC files under it."""
    if root is None:
        return sorted(p for p in corpus.getComposer("essenFolksong") if p.suffix in SUFFIXES)
    return find_by_suffix(root, SUFFIXES)


def split_of_file(name: str) -> str:
    """``train``, ``valid`` or ``test`` for every tune of the file called ``name``."""
    return FILE_SPLITS.get(name) or split_of(name)


def read(path: Path, limit: int | None = None) -> Iterator[Song | Skipped]:
    """The first ``limit`` tunes (all when None) of an ABC file, each as a melody-only
    ``Song`` or a ``Skipped`` saying why not."""
    path = Path(path)
    tunes = split_tunes(path.read_text(encoding="utf-8", errors="replace"))
    if not tunes:
        yield Skipped(str(path), "no tunes in the file (no line starts with 'X:')")
        return
    for tune in numbered_tunes(path, tunes[:limit]):
        yield tune if isinstance(tune, Skipped) else read_tune(tune[1], tune[0], path)


def read_tune(tune_text: str, number: str, path: Path) -> Song | Skipped:
    """One tune (its text from ``X:`` on) of the file ``path``."""
    where = f"{path}#X:{number}"
    fields = _METER_FIELD.search(tune_text)
    meter_text = fields.group(1).strip() if fields else None
    if meter_text is None or not _FRACTION.match(meter_text):
        return Skipped(where, f"meter M: {meter_text!r} is not a time signature like 3/4 (a "
                              "free meter has no bars to cut windows on)")
    try:
        parsed = converter.parse(_ABC_PREAMBLE + tune_text, format="abc")
    # music21 raises many exception types on malformed ABC; each becomes a Skipped
    # naming it, and the other tunes go on.
    except Exception as error:  # noqa: BLE001
        return Skipped(where, f"music21 could not parse tune X:{number}: "
                              f"{type(error).__name__}: {error}")
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if len(scores) != 1 or len(scores[0].parts) != 1:
        voices = sum(len(score.parts) for score in scores)
        return Skipped(where, f"tune X:{number} is not one single-voice tune ({len(scores)} "
                              f"scores, {voices} voices)")
    score = scores[0]
    part = score.parts[0]
    problem = _meter_problem(part, meter_text)
    if problem is not None:
        return Skipped(where, f"tune X:{number}: {problem}")
    try:
        notes = melody(part, pickup_beats(part))
    # music21 or our Note checks can fail on a malformed tune
    except Exception as error:  # noqa: BLE001
        return Skipped(where, f"tune X:{number}: no melody could be read: "
                              f"{type(error).__name__}: {error}")
    problem = _notes_problem(notes)
    if problem is not None:
        return Skipped(where, f"tune X:{number}: {problem}")
    time_signature, key_name = meter_and_key(part)
    essen_id = _ESSEN_ID.search(tune_text)
    return Song(
        song_id=f"{SOURCE}:{path.stem}/{number}", source=SOURCE, notes=tuple(notes),
        chords=(), time_signature=time_signature, key=key_name,
        title=score.metadata.title if score.metadata else None,
        meta={"file": path.name, "tune": number,
              "essen_id": essen_id.group(1) if essen_id else None},
    )


def melody(part: stream.Part, shift: float = 0.0) -> list[Note]:
    """The tune's notes (the top one of a chord), ties merged, grace notes dropped, onsets
    moved by ``shift`` beats. ``musicxml.melody_notes`` reads the same notes, but its
    ``stripTies`` copies the whole part and costs as much as parsing the tune."""
    notes: list[Note] = []
    tied_to = None  # (step, octave) of the last note when its tie goes on into the next
    for element in part.flatten().notes:
        if isinstance(element, harmony.Harmony) or element.duration.isGrace:
            continue
        if element.quarterLength <= 0:
            continue
        top = max(element.pitches)
        onset, duration = float(element.offset) + shift, float(element.quarterLength)
        tie = element.tie.type if element.tie is not None else None
        # a tie holds the note as it began: an accidental carries over the bar line
        if (tied_to == (top.step, top.octave) and tie in ("stop", "continue")
                and abs(notes[-1].end - onset) < 1e-9):
            notes[-1] = Note(notes[-1].onset, onset + duration - notes[-1].onset,
                             notes[-1].pitch)
        else:
            notes.append(Note(onset, duration, top.midi))
        tied_to = (top.step, top.octave) if tie in ("start", "continue") else None
    return notes


def _meter_problem(part: stream.Part, meter_text: str) -> str | None:
    """Why music21's meter of the tune is unusable, or None."""
    signature = part.recurse().getElementsByClass(meter.TimeSignature).first()
    if signature is None:
        return f"music21 found no time signature in M: {meter_text}"
    if f"{signature.numerator}/{signature.denominator}" != meter_text:
        return (f"music21 read M: {meter_text} as "
                f"{signature.numerator}/{signature.denominator}")
    bar = float(signature.barDuration.quarterLength)
    if not 0 < bar <= MAX_BAR_BEATS:
        return f"a bar of M: {meter_text} lasts {bar:g} beats (at most {MAX_BAR_BEATS:g})"
    return None


def _notes_problem(notes: list[Note]) -> str | None:
    """Why the melody cannot be used (no notes, non-finite or absurd lengths), or None."""
    if not notes:
        return "no notes"
    for note in notes:
        if not (math.isfinite(note.onset) and math.isfinite(note.duration)):
            return f"note {note} has a non-finite onset or duration"
        if note.duration > MAX_NOTE_BEATS:
            return (f"a note at beat {note.onset:g} lasts {note.duration:g} beats "
                    f"(at most {MAX_NOTE_BEATS:g})")
    length = max(note.end for note in notes)
    if length > MAX_SONG_BEATS:
        return f"{length:g} beats long (at most {MAX_SONG_BEATS:g})"
    return None
