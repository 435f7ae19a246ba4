"""Reference systems every report carries, and degenerate ones that prove the metrics.

- ``ground_truth`` — the song's own chords (for a perturbed melody, its chords perturbed
  the same way: the perfect-adaptation reference);
- ``random`` — a uniformly random vocabulary chord per bar (a floor for harmony with
  plausible rhythm);
- ``rule_based`` — a key-aware harmoniser: the key is estimated *online* from the melody
  heard before each beat (Krumhansl profiles, recency-weighted with a half-life of
  ``KEY_HALF_LIFE_BEATS`` so that it can follow a modulation, and changing key only on
  clearly better evidence), then for each beat it
  picks among I, V, IV, vi (minor: i, V, iv, VI) the chord whose tones cover the most of
  that beat's melody duration, keeping the previous chord on ties. Choosing a beat's
  chord from that beat's notes is one beat of lookahead an online model does not have:
  read it as a simple harmoniser that reads the lead sheet, not as an online competitor;
- ``rule_causal`` — the same harmoniser played fairly, as an online accompanist must:
  each beat's chord is chosen from the melody heard *before* that beat only (the key
  from everything heard so far, the chord covering the previous beat's notes). This is
  the baseline an online model has to beat;
- ``one_chord`` (degenerate) — the tonic triad of the whole melody's key, held forever
  (the key is read from the whole melody: lookahead an online model does not have);
- ``tonic_causal`` (degenerate) — the tonic triad of the key heard so far (the
  ``rule_causal`` key), re-chosen on each beat and held while the key stays: one chord
  per key, played fairly;
- ``every_frame`` (degenerate) — a random primary chord of the key re-attacked on every
  sixteenth.

Before the melody's first note the harmoniser is silent; over a silent beat it sustains.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np

from cojam.data.tokens import TokenSpec
from cojam.eval.key_finding import Key, estimate_key, pitch_class_histogram
from cojam.eval.pieces import Piece, System, melody_pitches
from cojam.music.chords import Chord

KEY_HALF_LIFE_BEATS = 8.0
KEY_SWITCH_MARGIN = 0.1  # correlation a new key needs over the current one


def chord_row(
    symbols: Sequence[str | None],
    starts: Sequence[int],
    num_frames: int,
    spec: TokenSpec,
    sustain: bool = True,
) -> np.ndarray:
    """Token row of chords ``symbols[i]`` from frame ``starts[i]`` to the next start (None
    = no chord). With ``sustain`` a chord equal to the one before is held, not re-attacked."""
    row = np.full(num_frames, spec.chord_silence, dtype=np.int64)
    previous = None
    for i, (start, symbol) in enumerate(zip(starts, symbols, strict=True)):
        end = starts[i + 1] if i + 1 < len(starts) else num_frames
        if symbol is not None:
            on = spec.chord_on(symbol)
            row[start:end] = on + 1
            if not (sustain and symbol == previous):
                row[start] = on
        previous = symbol
    return row


def ground_truth(pieces: Sequence[Piece], seed: int) -> list[np.ndarray]:
    return [piece.chords.copy() for piece in pieces]


def random_chords(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    """A uniformly random vocabulary chord on every bar line."""
    rng = np.random.default_rng(seed)
    rows = []
    for piece in pieces:
        frames_per_bar = max(int(round(piece.beats_per_bar * spec.frames_per_beat)), 1)
        starts = list(range(0, piece.num_frames, frames_per_bar))
        symbols = [spec.chords[i] for i in rng.integers(len(spec.chords), size=len(starts))]
        rows.append(chord_row(symbols, starts, piece.num_frames, spec, sustain=False))
    return rows


def best_primary_chord(key: Key, beat_pitches: np.ndarray, previous: Chord | None) -> Chord:
    """The primary chord of ``key`` whose tones cover most of the beat's sounding frames;
    ties keep ``previous``, then follow the order of ``Key.primary_chords``."""
    pcs = beat_pitches[beat_pitches >= 0] % 12
    candidates = [chord for _, chord in key.primary_chords()]
    covers = [sum(int(p) in chord.pitch_classes for p in pcs) for chord in candidates]
    ranked = sorted(
        range(len(candidates)),
        key=lambda i: (-covers[i], candidates[i] != previous, i),
    )
    return candidates[ranked[0]]


def harmonise(
    melody: np.ndarray, spec: TokenSpec, half_life_beats: float = KEY_HALF_LIFE_BEATS,
    causal: bool = False,
) -> np.ndarray:
    """The rule-based harmoniser's chord row for one melody row (see the module text);
    ``causal``: each beat's chord from the melody before that beat only."""
    pitches = melody_pitches(melody, spec)
    step = spec.frames_per_beat
    decay = 0.5 ** (1.0 / half_life_beats)
    heard = np.zeros(12)
    key: Key | None = None
    previous: Chord | None = None
    symbols: list[str | None] = []
    starts = list(range(0, len(pitches), step))
    for start in starts:
        beat = pitches[start : start + step]
        beat_histogram = pitch_class_histogram(beat)
        if causal:  # what was heard before this beat, and the beat just heard
            evidence, judged = heard, pitches[max(start - step, 0) : start]
        else:  # before any melody the beat's own notes are all there is to go on
            evidence = heard if heard.sum() > 0 else beat_histogram
            judged = beat
        if evidence.sum() > 0:
            key = estimate_key(evidence, current=key, margin=KEY_SWITCH_MARGIN)
        heard = heard * decay + beat_histogram
        if key is not None and (judged >= 0).any():
            previous = best_primary_chord(key, judged, previous)
        symbols.append(None if previous is None else previous.symbol)
    return chord_row(symbols, starts, len(pitches), spec)


def rule_based(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    return [harmonise(piece.melody, spec) for piece in pieces]


def rule_causal(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    return [harmonise(piece.melody, spec, causal=True) for piece in pieces]


def whole_melody_key(melody: np.ndarray, spec: TokenSpec) -> Key | None:
    return estimate_key(pitch_class_histogram(melody_pitches(melody, spec)))


def one_chord(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    """Degenerate: the tonic triad from the first frame to the last (silence if the melody
    never sounds)."""
    rows = []
    for piece in pieces:
        key = whole_melody_key(piece.melody, spec)
        symbol = None if key is None else key.tonic_triad.symbol
        rows.append(chord_row([symbol], [0], piece.num_frames, spec))
    return rows


def tonic_causal(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    """Degenerate but fair: each beat, the tonic triad of the key estimated from the
    melody before that beat (silence before any melody)."""
    decay = 0.5 ** (1.0 / KEY_HALF_LIFE_BEATS)
    rows = []
    for piece in pieces:
        pitches = melody_pitches(piece.melody, spec)
        step = spec.frames_per_beat
        starts = list(range(0, len(pitches), step))
        heard, key, symbols = np.zeros(12), None, []
        for start in starts:
            if heard.sum() > 0:
                key = estimate_key(heard, current=key, margin=KEY_SWITCH_MARGIN)
            symbols.append(None if key is None else key.tonic_triad.symbol)
            heard = heard * decay + pitch_class_histogram(pitches[start : start + step])
        rows.append(chord_row(symbols, starts, len(pitches), spec))
    return rows


def every_frame(pieces: Sequence[Piece], seed: int, spec: TokenSpec) -> list[np.ndarray]:
    """Degenerate: a random primary chord of the key, re-attacked every frame."""
    rng = np.random.default_rng(seed)
    rows = []
    for piece in pieces:
        key = whole_melody_key(piece.melody, spec)
        if key is None:
            rows.append(chord_row([None], [0], piece.num_frames, spec))
            continue
        options = [chord.symbol for _, chord in key.primary_chords()]
        symbols = [options[i] for i in rng.integers(len(options), size=piece.num_frames)]
        rows.append(chord_row(symbols, range(piece.num_frames), piece.num_frames, spec, False))
    return rows


REFERENCE_BASELINES = ("ground_truth", "random", "rule_causal", "rule_based")
DEGENERATE_BASELINES = ("one_chord", "tonic_causal", "every_frame")


def baseline_systems(spec: TokenSpec, degenerate: bool = True) -> dict[str, System]:
    """The reference baselines, and with ``degenerate`` the two that game single metrics."""
    systems: dict[str, System] = {
        "ground_truth": ground_truth,
        "random": partial(random_chords, spec=spec),
        "rule_causal": partial(rule_causal, spec=spec),
        "rule_based": partial(rule_based, spec=spec),
    }
    if degenerate:
        systems["one_chord"] = partial(one_chord, spec=spec)
        systems["tonic_causal"] = partial(tonic_causal, spec=spec)
        systems["every_frame"] = partial(every_frame, spec=spec)
    return systems
