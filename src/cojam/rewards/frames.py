"""Token rows as musical facts per frame: which pitch sounds, which chord, onsets.

Every rule reward and evaluation metric reads a (melody, chords) pair of token rows
through these views, so the token layout is interpreted in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from cojam.data.tokens import TokenSpec
from cojam.eval.key_finding import outside_key, pitch_class_histogram
from cojam.music.chords import parse_chord


@dataclass(frozen=True)
class FrameView:
    """Per-frame facts of one (melody, chords) pair of length T."""

    pitch: np.ndarray  # (T,) MIDI pitch sounding, -1 for silence
    note_onset: np.ndarray  # (T,) bool, a melody note starts here
    chord: np.ndarray  # (T,) index into spec.chords, -1 for no chord
    chord_onset: np.ndarray  # (T,) bool, a chord is (re-)attacked here
    invalid_hold: np.ndarray  # (T,) bool, a chord hold that continues nothing
    chord_pcs: np.ndarray  # (T, 12) bool, pitch classes of the sounding chord

    @property
    def num_frames(self) -> int:
        return len(self.pitch)


@cache
def chord_pc_table(chords: tuple[str, ...]) -> np.ndarray:
    """(len(chords) + 1, 12) bool; the last row (index -1) is no chord."""
    table = np.zeros((len(chords) + 1, 12), dtype=bool)
    for i, symbol in enumerate(chords):
        chord = parse_chord(symbol)
        assert chord is not None
        table[i, sorted(chord.pitch_classes)] = True
    return table


def frame_view(melody: np.ndarray, chords: np.ndarray, spec: TokenSpec) -> FrameView:
    """Interpret token rows (equal length; padding must be cut off beforehand)."""
    melody = np.asarray(melody, dtype=np.int64)
    chords = np.asarray(chords, dtype=np.int64)
    if melody.shape != chords.shape or melody.ndim != 1:
        raise ValueError(f"melody {melody.shape} and chords {chords.shape} must be equal 1-D rows")
    if not (spec.is_melody(melody).all() and spec.is_chord(chords).all()):
        raise ValueError("rows hold tokens of the wrong stream (or padding)")

    m_offset = melody - 3  # on(p) = 3 + 2(p - min), hold = on + 1; silence = 2 -> -1
    pitch = np.where(melody == spec.melody_silence, -1, spec.min_pitch + m_offset // 2)
    note_onset = (melody != spec.melody_silence) & (m_offset % 2 == 0)

    c_offset = chords - spec.chord_silence - 1
    chord = np.where(chords == spec.chord_silence, -1, c_offset // 2)
    is_hold = (chords != spec.chord_silence) & (c_offset % 2 == 1)
    previous = np.concatenate([[-1], chord[:-1]])
    invalid_hold = is_hold & (previous != chord)
    # A dangling hold still sounds its chord: it is invalid output, not silence.
    chord_onset = ((chords != spec.chord_silence) & (c_offset % 2 == 0)) | invalid_hold
    return FrameView(
        pitch, note_onset, chord, chord_onset, invalid_hold, chord_pc_table(spec.chords)[chord]
    )


def chord_runs(view: FrameView) -> list[tuple[int, int, int]]:
    """(start frame, length in frames, chord index) for each attacked chord."""
    starts = np.flatnonzero(view.chord_onset | (np.diff(view.chord, prepend=-2) != 0))
    runs = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else view.num_frames
        if view.chord[start] >= 0:
            runs.append((int(start), int(end - start), int(view.chord[start])))
    return runs


def frames_clashing(view: FrameView) -> np.ndarray:
    """(T,) bool: the melody sounds and the sounding chord holds a pitch class a semitone
    above or below it (the rub of Bb under a B, which note-in-chord does not see: a
    four-note chord holds more melody notes and rubs against more of the others)."""
    clashing = np.zeros(view.num_frames, dtype=bool)
    sounding = np.flatnonzero(view.pitch >= 0)
    pcs = view.pitch[sounding] % 12
    clashing[sounding] = (view.chord_pcs[sounding, (pcs + 1) % 12]
                          | view.chord_pcs[sounding, (pcs - 1) % 12])
    return clashing


def frames_out_of_key(view: FrameView) -> np.ndarray:
    """(T,) bool: the melody sounds and the sounding chord holds a pitch class outside
    the key of the view's whole melody (``Key.scale`` of ``estimate_key`` over its
    frames' pitch classes: the major scale, or natural minor with its leading tone);
    all False when no melody sounds."""
    outside = outside_key(pitch_class_histogram(view.pitch))
    return (view.pitch >= 0) & view.chord_pcs[:, outside].any(axis=1)


def frames_unaccompanied(view: FrameView) -> np.ndarray:
    """(T,) bool: the melody sounds and no chord does."""
    return (view.pitch >= 0) & (view.chord < 0)


def frames_in_chord(view: FrameView) -> np.ndarray:
    """(T,) bool: the melody sounds and its pitch class is in the chord sounding there
    (a frame without a chord is outside)."""
    inside = np.zeros(view.num_frames, dtype=bool)
    sounding = np.flatnonzero(view.pitch >= 0)
    inside[sounding] = view.chord_pcs[sounding, view.pitch[sounding] % 12]
    return inside
