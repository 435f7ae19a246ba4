"""Training examples and batches on the frame grid.

Songs are cut into windows of at most ``max_frames`` frames starting on bar lines, each
an ``FrameExample`` of melody and chord token rows. ``TrainBatches.batch(step)`` is a pure
function of (seed, step): the order is a fresh permutation each epoch, so a run resumed
at step s draws exactly the batches an uninterrupted run would. Training batches are
transposed by a random -6..+5 semitones, in token space (a lookup table per shift).

A song's first window starts on the beat line of its first sounding frame (a pickup
padded to a full bar would otherwise teach the model to open with bars of no chord; a
window started off the beat would shift the beat grid of the whole window). With
``chord_shift_prob`` > 0 a batch also carries ``chord_inputs``: for that share of the
windows, the chords the model *hears* up to a random chord change (or the window's end)
are moved by a random non-zero interval while the targets stay true (``chord_targets``:
a hold of a chord the model did not hear sounding gets no loss). Free-running, an
accompanist's own first chords are a guess made before any melody was heard; a model
trained only on true histories follows its history and ignores the melody. Shifted
histories make the melody the only reliable guide, which is also the situation after the
musician changes key. The shift ends at a chord change, never mid-chord: ended at an
arbitrary frame instead, it taught the model to change chord off the beat, far more
often than the data does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from cojam.data.tokens import PAD, TokenSpec, bar_windows, song_to_frames
from cojam.music.chords import parse_chord
from cojam.music.song import Song

TRANSPOSITIONS = tuple(range(-6, 6))


@dataclass(frozen=True)
class FrameExample:
    """One window of a song: token rows of equal length ``T``."""

    song_id: str
    melody: np.ndarray  # (T,) int64
    chords: np.ndarray  # (T,) int64
    start_frame: int = 0


@dataclass(frozen=True)
class FrameBatch:
    """Padded rows: ``mask`` marks real frames; padding is ``PAD``."""

    melody: np.ndarray  # (B, T) int64
    chords: np.ndarray  # (B, T) int64
    mask: np.ndarray  # (B, T) bool
    song_ids: tuple[str, ...]
    chord_inputs: np.ndarray | None = None  # (B, T) the chords the model hears, if not ``chords``
    chord_targets: np.ndarray | None = None  # (B, T) what it is scored on, if not ``chords``


def song_examples(
    songs: Sequence[Song], spec: TokenSpec, max_frames: int = 256
) -> list[FrameExample]:
    """Every song cut into bar-aligned windows of at most ``max_frames`` frames; the first
    window starts on the beat line at or before the song's first frame with a note or a
    chord, so that every window's frame 0 is a beat (the grid the rhythm rewards and the
    live clock count beats on; started at an eighth-note pickup, a window would put the
    whole tune's beats half a beat late)."""
    examples = []
    for song in songs:
        melody, chords = song_to_frames(song, spec)
        frames_per_bar = int(round(song.beats_per_bar * spec.frames_per_beat))
        sounding = np.flatnonzero((melody != spec.melody_silence) | (chords != spec.chord_silence))
        first = int(sounding[0]) if len(sounding) else 0
        first -= first % spec.frames_per_beat
        for start, end in bar_windows(len(melody), frames_per_bar, max_frames):
            start = max(start, first) if start == 0 and first < end else start
            examples.append(FrameExample(song.song_id, melody[start:end], chords[start:end], start))
    return examples


def transposition_table(spec: TokenSpec, semitones: int) -> np.ndarray:
    """``table[token]`` = the token moved by ``semitones``; -1 where it leaves the range."""
    table = np.arange(spec.vocab_size, dtype=np.int64)
    for pitch in range(spec.min_pitch, spec.max_pitch + 1):
        target = pitch + semitones
        for offset in (0, 1):
            source = spec.melody_on(pitch) + offset
            inside = spec.min_pitch <= target <= spec.max_pitch
            table[source] = spec.melody_on(target) + offset if inside else -1
    for symbol in spec.chords:
        chord = parse_chord(symbol)
        assert chord is not None
        moved = chord.transpose(semitones)
        table[spec.chord_on(symbol)] = spec.chord_on(moved)
        table[spec.chord_hold(symbol)] = spec.chord_hold(moved)
    return table


def collate(examples: Sequence[FrameExample]) -> FrameBatch:
    length = max(len(e.melody) for e in examples)
    melody = np.full((len(examples), length), PAD, dtype=np.int64)
    chords = np.full((len(examples), length), PAD, dtype=np.int64)
    mask = np.zeros((len(examples), length), dtype=bool)
    for i, e in enumerate(examples):
        melody[i, : len(e.melody)] = e.melody
        chords[i, : len(e.chords)] = e.chords
        mask[i, : len(e.melody)] = True
    return FrameBatch(melody, chords, mask, tuple(e.song_id for e in examples))


class TrainBatches:
    """Shuffled, augmented training batches addressed by step number."""

    def __init__(
        self,
        examples: Sequence[FrameExample],
        spec: TokenSpec,
        batch_size: int,
        seed: int,
        augment: bool = True,
        chord_shift_prob: float = 0.0,
    ):
        if not examples:
            raise ValueError("no training examples")
        self.examples = list(examples)
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.chord_shift_prob = chord_shift_prob
        self.is_onset = np.zeros(spec.vocab_size, dtype=bool)  # chord-on tokens
        self.is_onset[[spec.chord_on(c) for c in spec.chords]] = True
        self.chord_index = np.full(spec.vocab_size, -1)  # token -> which chord it sounds
        for i, c in enumerate(spec.chords):
            self.chord_index[[spec.chord_on(c), spec.chord_hold(c)]] = i
        needed = augment or chord_shift_prob > 0
        self.tables = {k: transposition_table(spec, k) for k in TRANSPOSITIONS} if needed else {}
        self.batches_per_epoch = max(len(self.examples) // batch_size, 1)

    def batch(self, step: int) -> FrameBatch:
        epoch, index = divmod(step, self.batches_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.examples))
        chosen = order[index * self.batch_size : (index + 1) * self.batch_size]
        if len(chosen) < self.batch_size:  # fewer examples than one batch: wrap around
            chosen = np.resize(order, self.batch_size)
        picked = [self.examples[i] for i in chosen]
        if self.augment:
            rng = np.random.default_rng([self.seed, step, 1])
            picked = [self._transpose(e, rng) for e in picked]
        batch = collate(picked)
        if self.chord_shift_prob > 0:
            rng = np.random.default_rng([self.seed, step, 2])
            heard = self._shift_histories(batch, rng)
            batch = dataclasses.replace(batch, chord_inputs=heard,
                                        chord_targets=self._holds_heard(batch.chords, heard))
        return batch

    def _holds_heard(self, chords: np.ndarray, heard: np.ndarray) -> np.ndarray:
        """The true chords as targets, except a hold whose chord is not the one heard
        sounding before it (PAD: no loss): sampling could never play it, and learning it
        taught the model to attack the true chord at once, off the beat."""
        previous = np.concatenate([np.full((len(heard), 1), -1), self.chord_index[heard[:, :-1]]],
                                  axis=1)
        is_hold = (self.chord_index[chords] >= 0) & ~self.is_onset[chords]
        unplayable = is_hold & (self.chord_index[chords] != previous)
        return np.where(unplayable, PAD, chords)

    def _shift_histories(self, batch: FrameBatch, rng: np.random.Generator) -> np.ndarray:
        """Chord rows whose first frames (up to a random chord attack, or the whole row)
        are moved by a random non-zero interval, in ``chord_shift_prob`` of the rows."""
        heard = batch.chords.copy()
        shifts = [k for k in TRANSPOSITIONS if k != 0]
        for row in range(len(heard)):
            if rng.random() >= self.chord_shift_prob:
                continue
            length = int(batch.mask[row].sum())
            # cut where a chord is attacked (or at the end): the model hears the wrong key
            # up to a chord change, and learns to play the right one there, on a beat
            onsets = self.is_onset[batch.chords[row, 1:length]].nonzero()[0] + 1
            cuts = np.append(onsets, length)
            cut = int(cuts[rng.integers(len(cuts))])
            table = self.tables[int(rng.choice(shifts))]
            heard[row, :cut] = table[heard[row, :cut]]  # chord tokens never leave the vocabulary
        return heard

    def _transpose(self, example: FrameExample, rng: np.random.Generator) -> FrameExample:
        for shift in rng.permutation(TRANSPOSITIONS):
            table = self.tables[int(shift)]
            melody = table[example.melody]
            if (melody >= 0).all():  # a shift that leaves the pitch range is not used
                return FrameExample(
                    example.song_id, melody, table[example.chords], example.start_frame
                )
        return example


def eval_batches(examples: Sequence[FrameExample], batch_size: int) -> Iterator[FrameBatch]:
    """Examples in order, unaugmented."""
    for start in range(0, len(examples), batch_size):
        yield collate(examples[start : start + batch_size])
