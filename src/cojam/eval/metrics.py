"""Evaluation metrics over sets of generated accompaniments.

Per pair: harmony (note-in-chord, from ``rewards.rules``) and per-beat harmony. Over a
system's outputs: chord entropy, distinct chords, and the Vendi score of the set of chord
sequences. Around a perturbation: beats until harmony recovers.

Vendi score (Friedman & Dieng): ``exp(-sum(l * log l))`` over the eigenvalues ``l`` of
``K / n``, where ``K`` is an n x n similarity matrix with ones on the diagonal. It reads
as "the effective number of distinct items": n identical sequences score 1, n sequences
with nothing in common score n. Our similarity of two chord sequences is the cosine of
their chord n-gram count vectors (unigrams and bigrams of the attacked chord symbols, so
both the chords used and the moves between them count); the Gram matrix of unit vectors
is positive semi-definite, as the score needs.

Chord symbols carry their key, so over a test set of songs in many keys the symbol
kernel also counts key differences: one chord forever scores about the number of keys.
``key_invariant`` rewrites a sequence as root motions and qualities; the Vendi of those
(``vendi_relative`` in reports) measures the diversity of the progressions themselves.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np

from cojam.data.tokens import FRAMES_PER_BEAT
from cojam.eval.key_finding import outside_scale
from cojam.music.chords import parse_chord
from cojam.rewards.frames import FrameView, chord_runs, frames_in_chord


def chord_symbols(view: FrameView, chords: Sequence[str]) -> list[str]:
    """The attacked chords of one output, in order."""
    return [chords[index] for _, _, index in chord_runs(view)]


def chords_in_key(view: FrameView, scale: frozenset[int] | None) -> float:
    """Fraction of the attacked chords whose notes all lie in ``scale`` (the melody's
    key: ``Key.scale``); 1.0 with no chord attacked, NaN without a key."""
    if scale is None:
        return float("nan")
    runs = chord_runs(view)
    if not runs:
        return 1.0
    outside = outside_scale(scale)
    return float(np.mean([not view.chord_pcs[start, outside].any() for start, _, _ in runs]))


def per_beat_harmony(view: FrameView) -> np.ndarray:
    """Note-in-chord ratio per beat (NaN where the melody is silent for the whole beat)."""
    beats = math.ceil(view.num_frames / FRAMES_PER_BEAT)
    result = np.full(beats, np.nan)
    sounding = view.pitch >= 0
    inside = frames_in_chord(view)
    for beat in range(beats):
        window = slice(beat * FRAMES_PER_BEAT, (beat + 1) * FRAMES_PER_BEAT)
        if sounding[window].any():
            result[beat] = inside[window][sounding[window]].mean()
    return result


def chord_entropy(sequences: Sequence[Sequence[str]]) -> float:
    """Entropy in bits of the chord symbols attacked across all outputs (0 for one chord)."""
    counts = Counter(symbol for seq in sequences for symbol in seq)
    total = sum(counts.values())
    if total == 0:
        return 0.0
    probs = np.array(list(counts.values()), dtype=float) / total
    return float(-(probs * np.log2(probs)).sum())


def distinct_chords(sequences: Sequence[Sequence[str]]) -> int:
    return len({symbol for seq in sequences for symbol in seq})


def ngram_counts(sequence: Sequence[str], max_n: int = 2) -> Counter:
    grams: Counter = Counter()
    for n in range(1, max_n + 1):
        grams.update(tuple(sequence[i : i + n]) for i in range(len(sequence) - n + 1))
    return grams


def ngram_similarity(sequences: Sequence[Sequence[str]], max_n: int = 2) -> np.ndarray:
    """Cosine similarity of chord n-gram count vectors; an empty sequence is similar only
    to itself (and to other empty ones)."""
    grams = [ngram_counts(s, max_n) for s in sequences]
    keys = {g: i for i, g in enumerate(sorted({g for c in grams for g in c}))}
    vectors = np.zeros((len(sequences), max(len(keys), 1)))
    for row, counts in enumerate(grams):
        for gram, count in counts.items():
            vectors[row, keys[gram]] = count
    norms = np.linalg.norm(vectors, axis=1)
    empty = norms == 0
    vectors[~empty] /= norms[~empty, None]
    similarity = vectors @ vectors.T
    similarity[np.ix_(empty, empty)] = 1.0
    return similarity


def key_invariant(sequence: Sequence[str]) -> list[str]:
    """A chord sequence without its key: each chord as the root motion from the chord
    before (semitones up, 0-11) and its quality (``+5:maj``; an inversion adds the bass
    above the root, ``+7:maj/4``); the first chord as its quality alone. ``C F G C`` and
    ``D G A D`` both become ``maj +5:maj +2:maj +5:maj``."""
    out, previous = [], None
    for symbol in sequence:
        chord = parse_chord(symbol)
        if chord is None:
            raise ValueError(f"{symbol!r} is not a chord")
        text = chord.quality
        if previous is not None:
            text = f"+{(chord.root - previous) % 12}:{text}"
        if chord.bass is not None:
            text += f"/{(chord.bass - chord.root) % 12}"
        out.append(text)
        previous = chord.root
    return out


def vendi_score(similarity: np.ndarray) -> float:
    """Vendi score of a similarity matrix with ones on the diagonal."""
    n = len(similarity)
    if n == 0:
        return 0.0
    eigenvalues = np.linalg.eigvalsh(similarity / n)
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    return float(np.exp(-(eigenvalues * np.log(eigenvalues)).sum()))


def chord_changes_per_bar(view: FrameView, beats_per_bar: float) -> float:
    bars = view.num_frames / (beats_per_bar * FRAMES_PER_BEAT)
    return float(view.chord_onset.sum() / bars) if bars else 0.0


def onsets_on_beats(view: FrameView) -> float:
    """Fraction of chord attacks that fall on a beat (1.0 when there are none)."""
    onsets = np.flatnonzero(view.chord_onset)
    return float((onsets % FRAMES_PER_BEAT == 0).mean()) if len(onsets) else 1.0


def recovery_beats(
    curve: np.ndarray, change_beat: int, before: int = 8, level: float = 0.9, smooth: int = 2
) -> float:
    """Beats after ``change_beat`` until harmony is back to ``level`` x its mean over the
    ``before`` beats preceding the change, judged on a ``smooth``-beat running mean.

    ``curve`` is per-beat harmony (NaN = no melody), usually averaged over many songs.
    Returns ``inf`` when it never recovers within the curve (a censored measurement).
    """
    target = level * np.nanmean(curve[max(0, change_beat - before) : change_beat])
    for beat in range(change_beat, len(curve) - smooth + 1):
        window = curve[beat : beat + smooth]
        if not np.isnan(window).all() and np.nanmean(window) >= target:
            return float(beat - change_beat)
    return math.inf


def recovery_beats_batch(
    curves: np.ndarray, change_beat: int, before: int = 8, level: float = 0.9, smooth: int = 2
) -> np.ndarray:
    """``recovery_beats`` of each row of ``curves`` (R, beats) at once -> (R,); the
    bootstrap of a recovery time needs thousands of them."""
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    rows = len(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        target = level * np.nanmean(curves[:, max(0, change_beat - before) : change_beat], axis=1)
        after = curves[:, change_beat:]
        if after.shape[1] < smooth:
            return np.full(rows, math.inf)
        means = np.nanmean(np.lib.stride_tricks.sliding_window_view(after, smooth, axis=1), axis=2)
    reached = means >= target[:, None]  # NaN compares False: no melody, no recovery
    return np.where(reached.any(axis=1), reached.argmax(axis=1).astype(float), math.inf)
