"""The adaptation test: the musician changes key mid-song; how fast does harmony recover?

For every test song (its first window) and every shift k in ``SHIFTS`` (±1…±6
semitones), the melody is transposed by k from a bar line near the middle of the window
onward (the same, seeded, bar for every k of a song), the window is cut ``AFTER_BEATS``
after the change, and the system accompanies it. The published protocol — a tritone at
beat 16 — runs too, as the case ``tritone_beat16``.

Per case we keep each output's per-beat harmony aligned at the change (``BEFORE_BEATS``
before it to ``AFTER_BEATS`` after), average over samples and songs, and report
``recovery_beats`` (metrics.py: beats until a 2-beat running mean is back to 90% of the
level before the change) per k, pooled over all k (``random_bar``), and for the
protocol. Recovery alone is gamed by a system that is equally bad before and after (it
"recovers" at once), so the summary also holds harmony before and after the change.

The ground-truth system gets its chords transposed by k from the change as well: it is
the perfect-adaptation reference, not excluded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cojam.data.batches import transposition_table
from cojam.data.tokens import TokenSpec
from cojam.eval.metrics import per_beat_harmony, recovery_beats_batch
from cojam.eval.pieces import Piece
from cojam.eval.stats import bootstrap_interval, group_means
from cojam.rewards.frames import frame_view

SHIFTS = (-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6)
BEFORE_BEATS = 8
AFTER_BEATS = 16
AFTER_WINDOW = 8  # beats after the change that "harmony after" averages
PROTOCOL = "tritone_beat16"
PROTOCOL_BEAT = 16
POOLED = "random_bar"


@dataclass(frozen=True)
class AdaptationCase:
    """One perturbed piece: ``shift`` semitones from ``change_beat`` on."""

    name: str  # "k=+3" or PROTOCOL
    shift: int
    change_beat: int
    piece: Piece


def shift_name(shift: int) -> str:
    return f"k={shift:+d}"


def _restart(row: np.ndarray, frame: int, silence: int) -> None:
    """Turn a hold at ``frame`` into the onset of what it holds (in place): after a
    transposition it would continue a different pitch or chord than the one sounding."""
    token = int(row[frame])
    if token > silence and (token - silence - 1) % 2 == 1:
        row[frame] = token - 1


def transpose_from(piece: Piece, shift: int, frame: int, spec: TokenSpec) -> Piece | None:
    """The piece with melody and real chords moved by ``shift`` from ``frame`` on; None
    when a moved note leaves the pitch range."""
    table = transposition_table(spec, shift)
    melody, chords = piece.melody.copy(), piece.chords.copy()
    melody[frame:] = table[melody[frame:]]
    chords[frame:] = table[chords[frame:]]
    if (melody < 0).any():
        return None
    if frame < len(melody):
        _restart(melody, frame, spec.melody_silence)
        _restart(chords, frame, spec.chord_silence)
    return piece.with_melody(melody, chords)


def _cut(piece: Piece, beats: int, spec: TokenSpec) -> Piece:
    end = min(piece.num_frames, beats * spec.frames_per_beat)
    return piece.with_melody(piece.melody[:end], piece.chords[:end])


def change_bar(piece: Piece, rng: np.random.Generator, spec: TokenSpec) -> int | None:
    """A bar line (in beats, whole beats only) in the middle third of the piece with
    ``BEFORE_BEATS`` before and ``AFTER_BEATS`` after it; None if the piece is too short."""
    length = piece.num_frames // spec.frames_per_beat
    bar = piece.beats_per_bar
    lines = [int(b * bar) for b in range(1, int(length / bar) + 1) if float(b * bar).is_integer()]
    valid = [b for b in lines if b >= BEFORE_BEATS and b + AFTER_BEATS <= length]
    middle = [b for b in valid if length / 3 <= b <= 2 * length / 3]
    choices = middle or valid
    return int(rng.choice(choices)) if choices else None


def adaptation_cases(
    pieces: Sequence[Piece], spec: TokenSpec, seed: int = 0, shifts: Sequence[int] = SHIFTS
) -> tuple[list[AdaptationCase], list[str]]:
    """(cases, reasons for skipped ones) for the first window of every song."""
    cases, skipped = [], []
    for index, piece in enumerate(p for p in pieces if p.start_frame == 0):
        rng = np.random.default_rng([seed, index])
        beat = change_bar(piece, rng, spec)
        if beat is None:
            skipped.append(f"{piece.song_id}: too short for a mid-song change")
        else:
            for shift in shifts:
                moved = transpose_from(piece, shift, beat * spec.frames_per_beat, spec)
                if moved is None:
                    skipped.append(f"{piece.song_id} {shift_name(shift)}: leaves the pitch range")
                    continue
                cases.append(AdaptationCase(shift_name(shift), shift, beat,
                                            _cut(moved, beat + AFTER_BEATS, spec)))
        if piece.num_frames < (PROTOCOL_BEAT + AFTER_BEATS) * spec.frames_per_beat:
            skipped.append(f"{piece.song_id} {PROTOCOL}: shorter than {PROTOCOL_BEAT + AFTER_BEATS}"
                           " beats")
            continue
        frame = PROTOCOL_BEAT * spec.frames_per_beat
        moved = transpose_from(piece, 6, frame, spec) or transpose_from(piece, -6, frame, spec)
        if moved is None:
            skipped.append(f"{piece.song_id} {PROTOCOL}: leaves the pitch range")
            continue
        cases.append(AdaptationCase(PROTOCOL, 6, PROTOCOL_BEAT,
                                    _cut(moved, PROTOCOL_BEAT + AFTER_BEATS, spec)))
    return cases, skipped


def aligned_curve(case: AdaptationCase, chords: np.ndarray, spec: TokenSpec) -> np.ndarray:
    """(BEFORE_BEATS + AFTER_BEATS,) per-beat harmony of one output around the change."""
    curve = per_beat_harmony(frame_view(case.piece.melody, chords, spec))
    window = np.full(BEFORE_BEATS + AFTER_BEATS, np.nan)
    start = case.change_beat - BEFORE_BEATS
    for i in range(len(window)):
        if 0 <= start + i < len(curve):
            window[i] = curve[start + i]
    return window


def _nanmean(rows: np.ndarray, axis: int = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a beat no song has melody on
        return np.nanmean(rows, axis=axis)


def _recovery(resamples: np.ndarray) -> np.ndarray:
    """(R, songs, beats) resampled per-song curves -> (R,) recovery of each mean curve."""
    return recovery_beats_batch(_nanmean(resamples, axis=1), BEFORE_BEATS)


def summarise_curves(curves: np.ndarray, song_ids: Sequence[str], seed: int = 0) -> dict:
    """Summary of aligned curves (cases, passes, beats) of one case group: the mean curve
    over songs, recovery beats with a bootstrap interval over songs, harmony before and
    after the change. JSON-ready (a censored recovery is ``None``)."""
    per_song = group_means(_nanmean(curves, axis=1), list(song_ids))  # (songs, beats)
    mean_curve = _nanmean(per_song)
    value, low, high = bootstrap_interval(per_song, _recovery, seed=seed)
    return {
        "songs": len(per_song),
        "curve": [None if np.isnan(x) else round(float(x), 4) for x in mean_curve],
        "recovery_beats": _finite(value),
        "recovery_interval": [_finite(low), _finite(high)],
        "harmony_before": _finite(_nanmean(mean_curve[:BEFORE_BEATS])),
        "harmony_after": _finite(_nanmean(mean_curve[BEFORE_BEATS:BEFORE_BEATS + AFTER_WINDOW])),
    }


def _finite(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def summarise_adaptation(
    cases: Sequence[AdaptationCase],
    passes: Sequence[Sequence[np.ndarray]],
    spec: TokenSpec,
    seed: int = 0,
) -> dict[str, dict]:
    """Per case name (each k, ``random_bar`` pooled over k, the protocol): see
    ``summarise_curves``. ``passes[p][i]`` is the output for ``cases[i]`` in pass p."""
    curves = np.array([[aligned_curve(case, rows[i], spec) for rows in passes]
                       for i, case in enumerate(cases)])  # (cases, passes, beats)
    summary = {}
    names = sorted({c.name for c in cases if c.name != PROTOCOL}, key=lambda n: int(n[2:]))
    groups = {name: [i for i, c in enumerate(cases) if c.name == name] for name in names}
    groups[POOLED] = [i for i, c in enumerate(cases) if c.name != PROTOCOL]
    groups[PROTOCOL] = [i for i, c in enumerate(cases) if c.name == PROTOCOL]
    for name, members in groups.items():
        if members:
            summary[name] = summarise_curves(
                curves[members], [cases[i].piece.song_id for i in members], seed)
    return summary
