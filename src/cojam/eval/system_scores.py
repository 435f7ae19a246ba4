"""Scoring a system's outputs: metrics per output, per set, and their intervals.

Per output (one chord row for one melody row): harmony (note-in-chord over the piece and
as the mean of per-beat ratios; semitone clashes between melody and chord, which
note-in-chord does not see, and the share of chords in the melody's key), rhythm (chord
changes per bar, fraction of attacks on beats), the rule penalties (over-long chords,
re-attack streaks, silence, dangling holds) and the number of distinct chords inside the
piece. Per set (one output for every piece, from one sampling pass): chord entropy,
distinct chords and Vendi. Learned reward scores are per output too. Each degenerate
output games at most one of these and is caught by another: one chord forever has
perfect rhythm scores but entropy 0 and a long-chord penalty; a change every frame has
high entropy but 16 changes per bar and only a quarter of its attacks on beats; silence
has harmony 0; four-note chords out of key hold more melody notes but clash with more.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cojam.data.tokens import TokenSpec
from cojam.eval.metrics import (
    chord_changes_per_bar,
    chord_entropy,
    chord_symbols,
    chords_in_key,
    distinct_chords,
    key_invariant,
    ngram_similarity,
    onsets_on_beats,
    per_beat_harmony,
    vendi_score,
)
from cojam.eval.pieces import Piece
from cojam.eval.reference_systems import whole_melody_key
from cojam.eval.stats import bootstrap_interval, group_means, pass_interval
from cojam.rewards.frames import frame_view
from cojam.rewards.rules import chord_silence, clashes, invalid_holds, long_chords, note_in_chord
from cojam.rewards.rules import repeated_chords as repeated_chord_penalty

# Metric name -> what the report's table header says. Order is the table's order.
OUTPUT_METRICS = {
    "harmony": "note-in-chord ratio over the piece (duration-weighted)",
    "harmony_per_beat": "mean of the per-beat note-in-chord ratios",
    "clashes": "fraction of melody-sounding frames whose chord holds a note a semitone "
               "from the melody's (a rub that note-in-chord does not see)",
    "chords_in_key": "fraction of attacked chords whose notes all lie in the melody's key "
                     "(estimated from the whole melody)",
    "chord_changes_per_bar": "chord attacks per bar",
    "onsets_on_beats": "fraction of chord attacks on a beat",
    "long_chords": "fraction of frames held past 8 beats (penalty)",
    "repeated_chords": "re-attacks beyond 4 of one chord in a row (penalty)",
    "chord_silence": "fraction of frames without a chord",
    "invalid_holds": "chord holds that continue nothing (invalid output)",
    "song_distinct_chords": "distinct chords within one output",
}
SET_METRICS = {
    "chord_entropy": "entropy (bits) of the attacked chord symbols of a set",
    "distinct_chords": "distinct chord symbols used in a set",
    "vendi": "Vendi score of the set (chord-symbol 1-2-gram cosine kernel)",
    "vendi_relative": "Vendi score with the key-independent kernel (root motion + quality)",
}


def output_metrics(
    melody: np.ndarray, chords: np.ndarray, spec: TokenSpec, beats_per_bar: float
) -> dict[str, float]:
    """Every per-output metric of one (melody, chords) pair."""
    view = frame_view(melody, chords, spec)
    curve = per_beat_harmony(view)
    key = whole_melody_key(melody, spec)
    return {
        "harmony": note_in_chord(view),
        "harmony_per_beat": float(np.nanmean(curve)) if not np.isnan(curve).all() else np.nan,
        "clashes": clashes(view),
        "chords_in_key": chords_in_key(view, None if key is None else key.scale),
        "chord_changes_per_bar": chord_changes_per_bar(view, beats_per_bar),
        "onsets_on_beats": onsets_on_beats(view),
        "long_chords": long_chords(view),
        "repeated_chords": repeated_chord_penalty(view),
        "chord_silence": chord_silence(view),
        "invalid_holds": invalid_holds(view),
        "song_distinct_chords": float(len(set(chord_symbols(view, spec.chords)))),
    }


def set_metrics(sequences: Sequence[Sequence[str]]) -> dict[str, float]:
    """Set-level diversity of chord-symbol sequences (one per output)."""
    return {
        "chord_entropy": chord_entropy(sequences),
        "distinct_chords": float(distinct_chords(sequences)),
        "vendi": vendi_score(ngram_similarity(sequences)),
        "vendi_relative": vendi_score(ngram_similarity([key_invariant(s) for s in sequences])),
    }


@dataclass
class SystemScores:
    """A system's numbers: ``values[m]`` and ``intervals[m]`` = (low, high) at 95%."""

    values: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    sequences: list[list[list[str]]] = field(default_factory=list)  # [pass][piece] symbols
    chord_counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, estimate: tuple[float, float, float]) -> None:
        self.values[name] = estimate[0]
        self.intervals[name] = (estimate[1], estimate[2])


def score_outputs(
    pieces: Sequence[Sequence[Piece]],
    passes: Sequence[Sequence[np.ndarray]],
    spec: TokenSpec,
    rewards: Mapping[str, Sequence[np.ndarray]] | None = None,
    seed: int = 0,
) -> SystemScores:
    """Scores of ``passes[p][i]``, the chord row for ``pieces[p][i]`` in sampling pass p
    (the pieces are the same in every pass, except in self-play where the melody is
    played too; piece i comes from the same song in every pass).

    ``rewards[name][p]`` holds the learned reward of every piece in pass p (scored by the
    caller, which owns the reward models). Per-output metrics are averaged over passes
    and a song's windows, then bootstrapped over songs; set metrics are t-intervals over
    passes (see ``stats.py``).
    """
    if not passes or len(pieces) != len(passes):
        raise ValueError(f"{len(pieces)} piece lists for {len(passes)} sampling passes")
    scores = SystemScores()
    groups = [piece.song_id for piece in pieces[0]]
    per_output = [
        [output_metrics(piece.melody, row, spec, piece.beats_per_bar)
         for piece, row in zip(pass_pieces, rows, strict=True)]
        for pass_pieces, rows in zip(pieces, passes, strict=True)
    ]
    columns = {name: np.array([[m[name] for m in rows] for rows in per_output])
               for name in OUTPUT_METRICS}  # (passes, pieces)
    for name, reward_passes in (rewards or {}).items():
        columns[f"reward/{name}"] = np.asarray(reward_passes, dtype=float)
    for name, table in columns.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a silent piece has no ratio
            per_piece = np.nanmean(table, axis=0)
        per_song = group_means(per_piece, groups)
        per_song = per_song[~np.isnan(per_song)]
        scores.add(name, bootstrap_interval(per_song, seed=seed) if len(per_song) else
                   (np.nan, np.nan, np.nan))

    counts: Counter = Counter()
    for pass_pieces, rows in zip(pieces, passes, strict=True):
        sequences = [chord_symbols(frame_view(p.melody, r, spec), spec.chords)
                     for p, r in zip(pass_pieces, rows, strict=True)]
        scores.sequences.append(sequences)
        counts.update(symbol for seq in sequences for symbol in seq)
    per_pass = [set_metrics(sequences) for sequences in scores.sequences]
    for name in SET_METRICS:
        scores.add(name, pass_interval(np.array([m[name] for m in per_pass])))
    scores.chord_counts = dict(counts.most_common())
    return scores
