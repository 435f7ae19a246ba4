"""Read POP909 song folders: the MELODY track of ``<nnn>.mid`` over ``chord_midi.txt``.

A POP909 song is a folder ``001/`` holding ``001.mid`` (tracks MELODY, BRIDGE, PIANO),
``chord_midi.txt`` (tab-separated ``start_sec end_sec label`` lines with Harte labels such
as ``C#:maj``, ``F#:maj7/5``, ``Bb:sus4``, ``N``), ``beat_midi.txt`` and ``key_audio.txt``
(``start_sec end_sec Gb:maj``), plus a ``versions/`` folder of other arrangements, which
is not read. One folder is one song, ``pop909:<folder name>``.

The melody's beats are MIDI ticks / ticks_per_beat. The chord file counts seconds, so its
times go through the MIDI file's own tempo map (seconds -> ticks -> beats): melody and
chords then share one beat axis, whatever the tempo does. Labels are mapped with
``parse_chord``; ``N`` is a stretch without chord; zero-length lines are dropped. A label
outside the vocabulary (a power chord ``C:5``, say) skips the song, with the label and
its line in the reason. The key is the first line of ``key_audio.txt`` when present.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path

import mido

from cojam.data.budget import InputBudget
from cojam.data.midi import load, monophonic, time_signature, track_notes
from cojam.data.sources import Skipped, SourceError
from cojam.music.chords import PITCH_CLASS_NAMES, ChordError, parse_chord
from cojam.music.song import ChordSpan, Song

SOURCE = "pop909"
BUDGET = InputBudget(seconds=30, bytes=8_000_000)  # the files of one song folder
CHORD_FILE = "chord_midi.txt"
KEY_FILE = "key_audio.txt"
MELODY_TRACK = "MELODY"
MAX_SONG_SECONDS = 24 * 3600  # a chord file's times; beats are bounded again per song
DEFAULT_TEMPO = 500_000  # microseconds per quarter note until the first set_tempo (120 bpm)


def find_inputs(root: Path | None) -> list[Path]:
    """Song folders under ``root`` (or ``root`` itself): those holding the chord file or a
    ``<folder name>.mid``. A folder missing the other is read, and skipped naming what it
    misses, rather than passed over without a word."""
    if root is None:
        raise SourceError("", "the pop909 source needs the POP909 folder")
    root = Path(root)
    if not root.is_dir():
        raise SourceError(root, "expected the POP909 folder (or one song folder)")
    folders = [root, *(p.parent for p in root.rglob(CHORD_FILE)),
               *(p.parent for p in root.rglob("*.mid") if p.stem == p.parent.name)]
    return sorted({f for f in folders if (f / CHORD_FILE).is_file() or _midi_file(f)})


def _midi_file(folder: Path) -> Path | None:
    """``<folder name>.mid``, else the only ``.mid`` in the folder itself."""
    named = folder / f"{folder.name}.mid"
    if named.is_file():
        return named
    found = [p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi")]
    return found[0] if len(found) == 1 else None


def read(folder: Path) -> Iterator[Song | Skipped]:
    """The one song in a POP909 folder, or ``Skipped`` saying why not."""
    folder = Path(folder)
    midi_path = _midi_file(folder)
    if midi_path is None:
        yield Skipped(str(folder), f"no {folder.name}.mid (or single .mid file) in the folder")
        return
    midi = load(midi_path)
    if isinstance(midi, str):
        yield Skipped(str(midi_path), midi)
        return
    melody = [t for t in midi.tracks if t.name.strip().upper() == MELODY_TRACK]
    if not melody:
        names = ", ".join(repr(t.name) for t in midi.tracks)
        yield Skipped(str(midi_path), f"no {MELODY_TRACK} track (tracks: {names})")
        return
    notes = monophonic([n for ns in track_notes(melody[0], midi.ticks_per_beat).values()
                        for n in ns])
    if not notes:
        yield Skipped(str(midi_path), f"the {MELODY_TRACK} track has no notes")
        return
    chord_path = folder / CHORD_FILE
    if not chord_path.is_file():
        yield Skipped(str(folder), f"no {CHORD_FILE} in the folder")
        return
    spans = read_chord_file(chord_path, seconds_to_beats(midi))
    if isinstance(spans, str):
        yield Skipped(str(chord_path), spans)
        return
    if not spans:
        yield Skipped(str(chord_path), "no chords (every line is 'N')")
        return
    yield Song(
        song_id=f"{SOURCE}:{folder.name}", source=SOURCE, notes=tuple(notes),
        chords=tuple(spans), time_signature=time_signature(midi), key=_key(folder / KEY_FILE),
        meta={"folder": folder.name},
    )


def seconds_to_beats(midi: mido.MidiFile) -> Callable[[float], float]:
    """Seconds -> quarter-note beats along the file's tempo map (tempo events of all
    tracks; 120 bpm before the first)."""
    changes: dict[int, int] = {0: DEFAULT_TEMPO}
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo":
                changes[tick] = message.tempo
    # (start second, start beat, seconds per beat) of each constant-tempo stretch
    stretches: list[tuple[float, float, float]] = []
    for tick, tempo in sorted(changes.items()):
        beat = tick / midi.ticks_per_beat
        second = 0.0
        if stretches:
            last_second, last_beat, last_scale = stretches[-1]
            second = last_second + (beat - last_beat) * last_scale
        stretches.append((second, beat, tempo / 1e6))
    starts = [s[0] for s in stretches]

    def convert(second: float) -> float:
        start, beat, scale = stretches[max(bisect_right(starts, second) - 1, 0)]
        return beat + (second - start) / scale

    return convert


def read_chord_file(path: Path, to_beats: Callable[[float], float]) -> list[ChordSpan] | str:
    """The chord spans of a ``chord_midi.txt``, or the reason the file cannot be used."""
    spans = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            start, end, label = float(fields[0]), float(fields[1]), fields[2]
        except (IndexError, ValueError):
            return f"line {number} is not 'start end label': {line[:80]!r}"
        if not all(math.isfinite(t) and 0 <= t <= MAX_SONG_SECONDS for t in (start, end)):
            return (f"line {number}: times {fields[0][:20]!r} {fields[1][:20]!r} are not "
                    f"seconds within 0-{MAX_SONG_SECONDS}")
        onset, until = to_beats(start), to_beats(end)
        try:
            chord = parse_chord(label)
        except ChordError as error:
            return (f"unknown chord spelling {label!r} at beat {onset:.2f} (line {number}): "
                    f"{error.reason}")
        if chord is not None and until > onset:
            spans.append(ChordSpan(onset=onset, duration=until - onset, chord=chord))
    return spans


def _key(path: Path) -> str | None:
    """The first key of ``key_audio.txt`` (``Gb:maj`` -> ``"F# major"``), or None."""
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 3:
            tonic, _, mode = fields[2].partition(":")
            try:
                chord = parse_chord(tonic)
            except ChordError:
                return None
            if chord is not None and mode in ("maj", "min"):
                return f"{PITCH_CLASS_NAMES[chord.root]} {'major' if mode == 'maj' else 'minor'}"
            return None
    return None
