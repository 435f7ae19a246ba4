"""A song as cojam sees it: a monophonic melody over chord spans, timed in beats.

A beat is a quarter note everywhere (so 6/8 has 3 beats per bar). Melody notes carry a
MIDI pitch; chord spans carry a vocabulary ``Chord``. A ``Song`` prints readably, round-
trips through a plain dict (the cache's jsonl rows), and transposes melody and chords
together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cojam.music.chords import Chord, parse_chord


@dataclass(frozen=True, order=True)
class Note:
    """A melody note: MIDI ``pitch``, ``onset`` and ``duration`` in beats."""

    onset: float
    duration: float
    pitch: int

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"note pitch must be MIDI 0-127, got {self.pitch}")
        if self.duration <= 0:
            raise ValueError(f"note duration must be positive, got {self.duration}")
        if self.onset < 0:
            raise ValueError(f"note onset must be >= 0, got {self.onset}")

    @property
    def end(self) -> float:
        return self.onset + self.duration


@dataclass(frozen=True, order=True)
class ChordSpan:
    """A chord sounding from ``onset`` for ``duration`` beats."""

    onset: float
    duration: float
    chord: Chord

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError(f"chord duration must be positive, got {self.duration}")
        if self.onset < 0:
            raise ValueError(f"chord onset must be >= 0, got {self.onset}")

    @property
    def end(self) -> float:
        return self.onset + self.duration


@dataclass(frozen=True)
class Song:
    """Melody notes and chord spans (both sorted by onset) with meter, key and provenance."""

    song_id: str
    source: str
    notes: tuple[Note, ...]
    chords: tuple[ChordSpan, ...]
    time_signature: tuple[int, int] = (4, 4)
    key: str | None = None
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(sorted(self.notes)))
        object.__setattr__(self, "chords", tuple(sorted(self.chords)))

    @property
    def beats_per_bar(self) -> float:
        numerator, denominator = self.time_signature
        return numerator * 4 / denominator

    @property
    def length_beats(self) -> float:
        ends = [n.end for n in self.notes] + [c.end for c in self.chords]
        return max(ends, default=0.0)

    def transpose(self, semitones: int) -> Song:
        """Melody and chords moved together by ``semitones`` (key text is dropped if set)."""
        if semitones == 0:
            return self
        notes = tuple(replace(n, pitch=n.pitch + semitones) for n in self.notes)
        chords = tuple(replace(c, chord=c.chord.transpose(semitones)) for c in self.chords)
        key = None if self.key is None else transpose_key(self.key, semitones)
        return replace(self, notes=notes, chords=chords, key=key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "song_id": self.song_id,
            "source": self.source,
            "title": self.title,
            "time_signature": list(self.time_signature),
            "key": self.key,
            "notes": [[n.onset, n.duration, n.pitch] for n in self.notes],
            "chords": [[c.onset, c.duration, c.chord.symbol] for c in self.chords],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Song:
        chords = []
        for onset, duration, symbol in row["chords"]:
            chord = parse_chord(symbol)
            if chord is None:
                raise ValueError(f"song {row['song_id']}: chord span with no chord {symbol!r}")
            chords.append(ChordSpan(onset, duration, chord))
        return cls(
            song_id=row["song_id"],
            source=row["source"],
            title=row.get("title"),
            time_signature=tuple(row.get("time_signature", (4, 4))),
            key=row.get("key"),
            notes=tuple(Note(o, d, p) for o, d, p in row["notes"]),
            chords=tuple(chords),
            meta=row.get("meta", {}),
        )

    def __repr__(self) -> str:
        num, den = self.time_signature
        return (
            f"<Song {self.song_id} {self.title or ''!s} {num}/{den} key={self.key} "
            f"{len(self.notes)} notes, {len(self.chords)} chords, {self.length_beats:g} beats>"
        )


_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def transpose_key(key: str, semitones: int) -> str:
    """``"A minor"`` up 3 -> ``"C minor"``; keys are written ``"<tonic> major|minor"``."""
    tonic, _, mode = key.partition(" ")
    chord = parse_chord(tonic)
    if chord is None:
        raise ValueError(f"bad key {key!r}")
    return f"{_KEY_NAMES[(chord.root + semitones) % 12]} {mode}".strip()
