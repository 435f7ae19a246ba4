"""What a system is asked to accompany: bar-aligned windows of test songs.

A ``Piece`` is one window of a song (at most the models' ``max_frames``, cut on bar
lines exactly as training cuts them) with the song's real chords kept beside the melody,
so the ground-truth "system" can answer too. Every system sees the same pieces; systems
are plain functions ``accompany(pieces, seed) -> chord rows``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cojam.data.cache import load_songs
from cojam.data.tokens import TokenSpec, bar_windows, song_to_frames
from cojam.rewards.frames import frame_view


@dataclass(frozen=True)
class Piece:
    """One window: melody and ground-truth chord token rows of equal length."""

    song_id: str
    melody: np.ndarray  # (T,) melody tokens
    chords: np.ndarray  # (T,) the song's real chord tokens
    beats_per_bar: float
    start_frame: int = 0

    @property
    def num_frames(self) -> int:
        return len(self.melody)

    def with_melody(self, melody: np.ndarray, chords: np.ndarray | None = None) -> Piece:
        return replace(self, melody=melody, chords=self.chords if chords is None else chords)


# A system: chord token rows (one per piece, same lengths) for the pieces' melodies. The
# seed makes sampling systems repeatable; deterministic systems ignore it.
System = Callable[[Sequence[Piece], int], list[np.ndarray]]


def load_pieces(
    cache_dir: Path,
    split: str,
    spec: TokenSpec,
    max_frames: int = 256,
    limit_songs: int | None = None,
) -> list[Piece]:
    """Every song of the split cut into windows of whole bars of at most ``max_frames``."""
    songs = load_songs(cache_dir, split)
    if limit_songs is not None:
        songs = songs[:limit_songs]
    pieces = []
    for song in songs:
        melody, chords = song_to_frames(song, spec)
        frames_per_bar = int(round(song.beats_per_bar * spec.frames_per_beat))
        for start, end in bar_windows(len(melody), frames_per_bar, max_frames):
            pieces.append(
                Piece(song.song_id, melody[start:end], chords[start:end], song.beats_per_bar, start)
            )
    return pieces


def check_outputs(name: str, pieces: Sequence[Piece], outputs: Sequence[np.ndarray]) -> None:
    """A system must answer every piece with a chord row of the piece's length."""
    if len(outputs) != len(pieces):
        raise ValueError(f"system {name!r} returned {len(outputs)} rows for {len(pieces)} pieces")
    for piece, row in zip(pieces, outputs, strict=True):
        if len(row) != piece.num_frames:
            raise ValueError(
                f"system {name!r}: {piece.song_id} has {piece.num_frames} frames, "
                f"the output {len(row)}"
            )


def melody_pitches(melody: np.ndarray, spec: TokenSpec) -> np.ndarray:
    """(T,) MIDI pitch sounding per frame, -1 for silence."""
    return frame_view(melody, np.full(len(melody), spec.chord_silence), spec).pitch
