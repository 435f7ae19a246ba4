"""Read ABC tunes with quoted chord symbols (the Nottingham Music Database format).

One file holds many tunes, each starting at an ``X:`` line; each tune becomes one song
(``abc:<file stem>#<X number>``) with its meter from ``M:`` and key from ``K:``. A tune
that cannot be used (no chords, no notes, an unknown chord spelling, a music21 failure)
is yielded as ``Skipped`` naming the file and the tune, and the other tunes go on.

music21 parses the notes and timing (note lengths, broken rhythms, tuplets, ties). We do
not take its chord symbols, though: on import it drops spellings it cannot parse without
a word, rewrites flats (``Bb`` -> ``B-``, indistinguishable from the minor sign ``-``) and
realises chords from its own tables, with known errors. So before parsing we lift every
chord text out of the tune and put a placeholder ``"C"`` in its place; music21 times the
placeholders, and the k-th placeholder gets the k-th chord text, mapped with our
``parse_chord``. Annotations (quoted text starting with ``^ _ < > @``) are removed. When
several chord symbols sit on one note, the first is used (the others are alternatives).

The Nottingham files write a sharp on a bass note as ``+`` (``"D/f+"`` is D over F#, in
the line-cliche Am Am/G D/F# F of "Little Czech Number"); that is rewritten before
parsing. Lower-case bass notes (``"G7/b"``) are read as note names.

Repeats are not expanded: a tune is read in written order, every bar once (first and
second endings both, one after the other). music21's ``expandRepeats`` misreads the
Nottingham habit of end-repeat signs without a start-repeat (it makes 192 beats of a
64-beat tune that plays 128), and repetition adds no new material for training. The cost:
where a first ending is a short bar completing the pickup, the bars after the second
ending sit off the bar grid by the pickup's length (melody and chords stay together).

A pickup bar is padded so that beat 0 starts a full bar (see ``cojam.data.musicxml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from music21 import converter, harmony, stream

from cojam.data.budget import InputBudget
from cojam.data.musicxml import chord_spans, melody_notes, meter_and_key, pickup_beats
from cojam.data.sources import Skipped, SourceError, find_by_suffix
from cojam.music.chords import Chord, ChordError, parse_chord
from cojam.music.song import Song

SOURCE = "abc"
SUFFIXES = (".abc",)
BUDGET = InputBudget(seconds=120, bytes=4_000_000)  # a Nottingham file is ~100 kB
MAX_TUNE_NUMBER_CHARS = 40

# Greedy to the line's end and stripped after: a lazy group before ``\s*$`` backtracks
# quadratically on a long line of spaces.
_TUNE_START = re.compile(r"^X:[ \t]*(.*)$", re.MULTILINE)
_FIELD_LINE = re.compile(r"^[A-Za-z+]:(?!\|)")  # "w:", "P:B"; not a note before ":|"
_QUOTED_RUN = re.compile(r'(?:"[^"\n]*"\s*)+')
_QUOTED = re.compile(r'"([^"\n]*)"')
_ANNOTATION_MARKS = "^_<>@"
_NOTTINGHAM_SHARP_BASS = re.compile(r"/([A-Ga-g])\+")
_PLACEHOLDER = '"C"'


def find_inputs(root: Path | None) -> list[Path]:
    if root is None:
        raise SourceError("", "the abc source needs a file or folder of .abc files")
    return find_by_suffix(root, SUFFIXES)


def read(path: Path) -> Iterator[Song | Skipped]:
    """Every tune in an ABC file, as a ``Song`` or a ``Skipped`` saying why not."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    tunes = split_tunes(text)
    if not tunes:
        yield Skipped(str(path), "no tunes in the file (no line starts with 'X:')")
        return
    for tune in numbered_tunes(path, tunes):
        if isinstance(tune, Skipped):
            yield tune
        else:
            number, tune_text, where = tune
            yield _read_tune(tune_text, number, path, where)


def numbered_tunes(path: Path, tunes: list[tuple[str, str]]
                   ) -> Iterator[tuple[str, str, str] | Skipped]:
    """(X number, tune text, where) of each tune whose number can be its song id, or a
    ``Skipped`` for one whose X: field is no tune number or repeats an earlier one."""
    seen: set[str] = set()
    for position, (number, tune_text) in enumerate(tunes, start=1):
        if len(number) > MAX_TUNE_NUMBER_CHARS:
            yield Skipped(f"{path}#tune {position}", f"its X: field is {len(number):,} "
                          f"characters long, not a tune number (at most "
                          f"{MAX_TUNE_NUMBER_CHARS})")
            continue
        where = f"{path}#X:{number}"
        if number in seen:
            yield Skipped(where, f"tune number X:{number} appears twice in the file, so its "
                                 "song id would not be unique")
            continue
        seen.add(number)
        yield number, tune_text, where


def split_tunes(text: str) -> list[tuple[str, str]]:
    """(X number, tune text) for each tune; text before the first ``X:`` is dropped. An
    empty ``X:`` gets the tune's position (1, 2, ...) as its number."""
    starts = list(_TUNE_START.finditer(text))
    tunes = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        tunes.append((match.group(1).rstrip() or str(i + 1), text[match.start() : end]))
    return tunes


def lift_chords(tune_text: str) -> tuple[str, list[str]]:
    """The tune with every chord symbol replaced by a placeholder and annotations removed,
    and the chord texts in order. Header lines (up to the first ``K:``), field lines and
    comments are left alone."""
    chords: list[str] = []

    def replace_run(match: re.Match[str]) -> str:
        texts = [t.strip() for t in _QUOTED.findall(match.group(0))]
        texts = [t for t in texts if t and t[0] not in _ANNOTATION_MARKS]
        if not texts:
            return ""
        chords.append(texts[0])
        return _PLACEHOLDER

    lines = tune_text.splitlines()
    in_body = False
    for i, line in enumerate(lines):
        if not in_body:
            in_body = line.startswith("K:")
            continue
        if _FIELD_LINE.match(line):
            continue
        code, percent, comment = line.partition("%")
        lines[i] = _QUOTED_RUN.sub(replace_run, code) + percent + comment
    return "\n".join(lines) + "\n", chords


def _read_tune(tune_text: str, number: str, path: Path, where: str) -> Song | Skipped:
    marked, texts = lift_chords(tune_text)
    if not texts:
        return Skipped(where, f"no chord symbols in tune X:{number}")
    try:
        parsed = converter.parse(marked, format="abc")
    # music21 raises many exception types on malformed ABC; each becomes a Skipped
    # naming it, and the other tunes go on.
    except Exception as error:  # noqa: BLE001
        return Skipped(where, f"music21 could not parse tune X:{number}: "
                              f"{type(error).__name__}: {error}")
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if not scores:
        return Skipped(where, f"music21 found no music in tune X:{number}")
    score = scores[0]
    if len(score.parts) != 1:
        return Skipped(where, f"tune X:{number} has {len(score.parts)} voices; only "
                              "single-voice tunes are read")
    part = score.parts[0]
    shift = pickup_beats(part)
    notes = melody_notes(part, shift)
    if not notes:
        return Skipped(where, f"no notes in tune X:{number}")
    onsets = sorted(float(symbol.getOffsetInHierarchy(part)) + shift
                    for symbol in part.recurse().getElementsByClass(harmony.ChordSymbol))
    if len(onsets) != len(texts):
        return Skipped(where, f"tune X:{number}: music21 placed {len(onsets)} of the "
                              f"{len(texts)} chord symbols, so they cannot be matched to beats")
    chords: list[tuple[float, Chord | None]] = []
    for onset, text in zip(onsets, texts, strict=True):
        try:
            chords.append((onset, parse_chord(_NOTTINGHAM_SHARP_BASS.sub(r"/\1#", text))))
        except ChordError as error:
            return Skipped(where, f"unknown chord spelling {text!r} at beat {onset:g} of "
                                  f"tune X:{number}: {error.reason}")
    spans = chord_spans(chords, end=part.highestTime + shift)
    if not spans:
        return Skipped(where, f"tune X:{number} has only 'no chord' symbols")
    time_signature, key_name = meter_and_key(part)
    title = score.metadata.title if score.metadata else None
    return Song(
        song_id=f"{SOURCE}:{path.stem}#{number}", source=SOURCE, notes=tuple(notes),
        chords=tuple(spans), time_signature=time_signature, key=key_name, title=title,
        meta={"file": path.name, "tune": number},
    )
