"""Mismatched (melody, chords) pairs: what a reward model must score below real ones.

Each negative keeps a real melody and replaces its chord row (pure functions on token
rows, no padding):

- ``other_song``: the chords of another song, cropped or tiled to the melody's length
  from a whole beat — plausible chords on the same beat grid, unrelated to this melody
  (a crop from any frame would put most chord changes off the beat, which a model can
  spot without listening to the chords);
- ``shifted``: the song's own chords rotated in time by at least a beat (4 frames) —
  right key and chord vocabulary, wrong moment;
- ``transposed``: the song's own chords moved by 1..11 semitones — right rhythm and
  progression, wrong key.

The rhythm reward models see no pitch or chord identity, so for them a transposed
negative equals the real pair: they use ``other_song`` and ``shifted`` only.
Holds left dangling at a seam are not fixed here; reward models repair holds on input
(see ``inputs.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cojam.data.batches import FrameExample, transposition_table
from cojam.data.tokens import TokenSpec

KINDS = ("other_song", "shifted", "transposed")
RHYTHM_KINDS = ("other_song", "shifted")
MIN_SHIFT = 4  # frames: one beat


def negative_kinds(rhythm: bool) -> tuple[str, ...]:
    return RHYTHM_KINDS if rhythm else KINDS


def fit_length(chords: np.ndarray, length: int, offset: int = 0) -> np.ndarray:
    """``chords`` repeated end to end and cut to ``length`` frames from ``offset``."""
    if len(chords) == 0 or length < 0 or not 0 <= offset < len(chords):
        raise ValueError(f"cannot fit {len(chords)} chord frames from {offset} to {length}")
    repeats = -(-(offset + length) // len(chords))  # ceil
    return np.tile(chords, repeats)[offset : offset + length]


def shift_chords(chords: np.ndarray, frames: int) -> np.ndarray:
    """Chords moved ``frames`` later, wrapping around: ``out[t] = chords[t - frames]``."""
    return np.roll(chords, frames)


def transpose_chords(chords: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Chords through a ``transposition_table`` (chords never leave the vocabulary)."""
    return table[chords]


class NegativeSampler:
    """Draws negatives of the named kinds for the examples of one batch.

    Other-song chords come from another example of the same batch with a different
    ``song_id``, so they went through the same augmentation as the real chords (drawing
    from the unaugmented pool would let key statistics alone give them away).
    """

    def __init__(self, spec: TokenSpec, kinds: Sequence[str]):
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"negative kinds {list(kinds)}: choose from {KINDS}")
        self.kinds = tuple(kinds)
        self.frames_per_beat = spec.frames_per_beat
        self.tables = {k: transposition_table(spec, k) for k in range(1, 12)}

    def negative(self, kind: str, index: int, examples: Sequence[FrameExample],
                 rng: np.random.Generator) -> FrameExample:
        """A negative of ``kind`` for ``examples[index]``: its melody, other chords."""
        real = examples[index]
        length = len(real.chords)
        if kind == "other_song":
            others = [e for e in examples if e.song_id != real.song_id]
            if not others:
                raise ValueError(f"batch holds only song {real.song_id!r}: no other song")
            other = others[int(rng.integers(len(others)))].chords
            beats = (len(other) - 1) // self.frames_per_beat + 1  # beats starting inside
            chords = fit_length(other, length, self.frames_per_beat * int(rng.integers(beats)))
        elif kind == "shifted":
            if length < 2 * MIN_SHIFT:
                raise ValueError(f"{real.song_id}: {length} frames cannot shift by a beat")
            frames = int(rng.integers(MIN_SHIFT, length - MIN_SHIFT + 1))
            chords = shift_chords(real.chords, frames)
        elif kind == "transposed":
            chords = transpose_chords(real.chords, self.tables[int(rng.integers(1, 12))])
        else:
            raise ValueError(f"unknown negative kind {kind!r}; choose from {self.kinds}")
        return FrameExample(real.song_id, real.melody, chords, real.start_frame)

    def one_each(self, examples: Sequence[FrameExample], rng: np.random.Generator
                 ) -> list[FrameExample]:
        """One negative per example, of a kind drawn uniformly (training)."""
        return [self.negative(self.kinds[int(rng.integers(len(self.kinds)))], i, examples, rng)
                for i in range(len(examples))]
