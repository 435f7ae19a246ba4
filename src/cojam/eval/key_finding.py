"""Key finding from a melody: the Krumhansl–Kessler probe-tone profiles.

The rule-based harmoniser and the one-chord baseline need a key, and a melody is all
they are given. Each of the 24 keys is scored by the Pearson correlation of its profile
(rotated to the tonic) with the melody's pitch-class durations; the best key wins. Ties
(a flat histogram) go to the lower tonic, major before minor, so the result is stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cojam.music.chords import PITCH_CLASS_NAMES, Chord

# Krumhansl & Kessler (1982), tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Scale degrees (semitones above the tonic) and qualities of the harmoniser's chords, in
# the order it prefers them when they explain the melody equally well.
MAJOR_CHORDS = (("I", 0, "maj"), ("V", 7, "maj"), ("IV", 5, "maj"), ("vi", 9, "min"))
MINOR_CHORDS = (("i", 0, "min"), ("V", 7, "maj"), ("iv", 5, "min"), ("VI", 8, "maj"))


@dataclass(frozen=True)
class Key:
    """A tonic pitch class and a mode (``major`` or ``minor``)."""

    tonic: int
    mode: str

    def __str__(self) -> str:
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}"

    @property
    def scale(self) -> frozenset[int]:
        """The key's pitch classes: the major scale, or the natural minor scale with its
        leading tone (the raised seventh of the dominant chord)."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 10, 11)
        return frozenset((self.tonic + step) % 12 for step in steps)

    @property
    def tonic_triad(self) -> Chord:
        return Chord(self.tonic, "maj" if self.mode == "major" else "min")

    def primary_chords(self) -> list[tuple[str, Chord]]:
        """(roman numeral, chord) of I, V, IV, vi (major) or i, V, iv, VI (minor), in the
        harmoniser's order of preference."""
        table = MAJOR_CHORDS if self.mode == "major" else MINOR_CHORDS
        return [(name, Chord((self.tonic + step) % 12, quality)) for name, step, quality in table]


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(12,) summed ``weights`` (default 1 per entry) of each pitch class; -1 = silence."""
    pitches = np.asarray(pitches)
    sounding = pitches >= 0
    w = np.ones(len(pitches)) if weights is None else np.asarray(weights, dtype=float)
    return np.bincount(pitches[sounding] % 12, weights=w[sounding], minlength=12).astype(float)


def _standardise(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=-1, keepdims=True)
    return centred / np.linalg.norm(centred, axis=-1, keepdims=True)


# (24, 12) z-scored profiles of every key: rows 0-11 major tonics, 12-23 minor tonics.
_KEY_PROFILES = _standardise(np.array(
    [np.roll(MAJOR_PROFILE, t) for t in range(12)] + [np.roll(MINOR_PROFILE, t) for t in range(12)]
))


def key_scores(histogram: np.ndarray) -> np.ndarray:
    """(24,) Pearson correlation of the histogram with each key: rows 0-11 major, 12-23
    minor; all zero for a flat histogram (no evidence)."""
    histogram = np.asarray(histogram, dtype=float)
    if histogram.std() == 0:
        return np.zeros(24)
    return _KEY_PROFILES @ _standardise(histogram)


def outside_scale(scale: frozenset[int]) -> np.ndarray:
    """(12,) bool: the pitch classes not in ``scale``."""
    outside = np.ones(12, dtype=bool)
    outside[list(scale)] = False
    return outside


def outside_key(histogram: np.ndarray) -> np.ndarray:
    """(12,) bool: the pitch classes outside the key of a melody's pitch-class histogram
    (``estimate_key``, ``Key.scale``); none without a melody."""
    key = estimate_key(histogram)
    return np.zeros(12, dtype=bool) if key is None else outside_scale(key.scale)


def _row(key: Key) -> int:
    return key.tonic + (0 if key.mode == "major" else 12)


def estimate_key(
    histogram: np.ndarray, current: Key | None = None, margin: float = 0.0
) -> Key | None:
    """The best-correlated key of a pitch-class histogram; None when nothing sounded.

    With a ``current`` key, another key must correlate better by more than ``margin`` to
    replace it: a relative major and minor share their notes, and a listener does not
    re-hear the key on every ambiguous phrase.
    """
    histogram = np.asarray(histogram, dtype=float)
    if histogram.sum() <= 0:
        return current
    scores = key_scores(histogram)
    best = int(np.argmax(scores))
    if current is not None and scores[best] <= scores[_row(current)] + margin:
        return current
    return Key(best % 12, "major" if best < 12 else "minor")
