"""Music-theory rewards for melodies: the rule set of Sequence Tutor's RL Tuner.

Each rule is a pure function of a ``Melody`` (one row of frames: the pitch sounding and
whether a note starts there) and a ``Key``, returning the reward of every frame's action
(T,) judged on the melody up to and including that frame, as the original judged each
step on the composition so far. Our grid is the original's: 16th-note steps where a
frame either attacks a note, holds it, or rests. ``rule_rewards`` weighs the rules and
zeroes the frames before ``start`` (a seed the player did not choose); ``melody_metrics``
are the statistics a report prints about a played melody.

Amounts are the original's (``RuleWeights``). Where we differ, on purpose:

- keys: a tune's own key (``key_of_song``), not C major for every melody;
- preferred intervals: the original also paid every *held* or *rested* frame after a
  note (up to 1.5 a frame after a tonic or fifth); on a 16th grid most frames are holds,
  so that bonus pays a tonic held forever more than any melody: only note-to-note
  intervals are rewarded here;
- unique highest and lowest note: a melody of one pitch has a "unique" highest and
  lowest note by the original's test; here it needs two distinct pitches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cojam.data.tokens import TokenSpec
from cojam.music.chords import parse_chord
from cojam.music.song import Song
from cojam.rewards.frames import frame_view

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor with the leading tone
HOLD, REST = 0, 1  # event codes of the original: a note is coded by its MIDI pitch
LEAP = 7  # a fifth or more is a leap


@dataclass(frozen=True)
class Key:
    """The tonic's pitch class and the pitch classes that are in key."""

    tonic: int
    scale: frozenset[int]


def key_of_song(song: Song) -> Key:
    """The key of a cached tune: its key field's scale; the tonic is the tune's last note
    when that is in the scale (a folk tune ends on its tonic, and a key field often gives
    only the signature: a G minor tune written in B-flat major), else the field's tonic."""
    if song.key is None:
        raise ValueError(f"{song.song_id}: no key field, so 'in key' is undefined")
    name, _, mode = song.key.partition(" ")
    tonic = parse_chord(name)
    if tonic is None or mode not in ("major", "minor"):
        raise ValueError(f"{song.song_id}: key {song.key!r} is not '<tonic> major|minor'")
    steps = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    scale = frozenset((tonic.root + s) % 12 for s in steps)
    last = song.notes[-1].pitch % 12 if song.notes else None
    return Key(last if last in scale else tonic.root, scale)


@dataclass(frozen=True)
class Melody:
    """One melody on the frame grid."""

    pitch: np.ndarray  # (T,) MIDI pitch sounding, -1 for silence
    onset: np.ndarray  # (T,) bool, a note starts here

    @classmethod
    def from_tokens(cls, tokens: np.ndarray, spec: TokenSpec) -> Melody:
        """A row of melody tokens (padding cut off)."""
        tokens = np.asarray(tokens)
        view = frame_view(tokens, np.full(len(tokens), spec.chord_silence), spec)
        return cls(view.pitch, view.note_onset)

    @classmethod
    def from_events(cls, events: list[int]) -> Melody:
        """From the original's codes (a pitch attacks, ``HOLD`` holds, ``REST`` rests; a
        hold after a rest keeps resting): how the tests write melodies by hand."""
        pitch, onset, sounding = [], [], -1
        for code in events:
            if code == REST:
                sounding = -1
            elif code != HOLD:
                sounding = code
            pitch.append(sounding)
            onset.append(code not in (HOLD, REST))
        return cls(np.array(pitch, dtype=np.int64), np.array(onset, dtype=bool))

    @property
    def num_frames(self) -> int:
        return len(self.pitch)

    def events(self) -> np.ndarray:
        """(T,) the original's step codes: pitch at an attack, ``REST`` at the first silent
        frame after sound, ``HOLD`` otherwise."""
        codes = np.where(self.onset, self.pitch, HOLD)
        previous = np.concatenate([[-1], self.pitch[:-1]])
        return np.where((self.pitch < 0) & (previous >= 0), REST, codes)


@dataclass(frozen=True)
class RuleWeights:
    """The amount of each rule (the original's defaults); 0 turns a rule off."""

    in_key: float = -1.0
    """each note out of key"""
    tonic: float = 3.0
    """the first played note, and the note sounding at the last frame, on the tonic"""
    excessive_repeat: float = -100.0
    """each note repeating the same pitch too often in a row"""
    autocorrelation: float = -3.0
    """times the sum of |autocorrelation| > 0.15 at lags 1-3, every frame"""
    motif: float = 3.0
    """every frame whose last ``motif_frames`` hold a motif (3+ distinct pitches)"""
    repeated_motif: float = 4.0
    """every frame whose motif already occurred earlier"""
    intervals: float = 5.0
    """times the preferred-interval table, per note"""
    leap_resolved: float = 5.0
    """a leap of a fifth or more resolved by moving back"""
    leap_doubled: float = -5.0
    """a second leap in the same direction"""
    unique_extreme: float = 3.0
    """at the last frame, for each of the highest and lowest played pitch occurring once"""
    motif_frames: int = 8
    """the window a motif must fit in (the original's 8 steps)"""


def previous_pitches(melody: Melody) -> np.ndarray:
    """(T,) pitch of the last note attacked before each frame, -1 if none."""
    last, out = -1, np.full(melody.num_frames, -1)
    for t in range(melody.num_frames):
        out[t] = last
        if melody.onset[t]:
            last = melody.pitch[t]
    return out


def in_key(melody: Melody, key: Key) -> np.ndarray:
    """1 at each attack of a pitch out of key."""
    out_of_key = ~np.isin(melody.pitch % 12, list(key.scale))
    return (melody.onset & out_of_key).astype(float)


def tonic_start_end(melody: Melody, key: Key, start: int = 0) -> np.ndarray:
    """1 at the first note attacked from ``start`` on if it is the tonic, and 1 at the last
    frame if the note sounding there is the tonic."""
    reward = np.zeros(melody.num_frames)
    played = np.flatnonzero(melody.onset[start:]) + start
    if len(played) and melody.pitch[played[0]] % 12 == key.tonic:
        reward[played[0]] += 1.0
    if melody.num_frames and melody.pitch[-1] >= 0 and melody.pitch[-1] % 12 == key.tonic:
        reward[-1] += 1.0
    return reward


def excessive_repeats(melody: Melody) -> np.ndarray:
    """1 at each note whose pitch was attacked more than 4 times in a row just before it
    (more than 6 when held or rested notes lie between), as the original counts."""
    events = melody.events()
    flags = np.zeros(melody.num_frames)
    for t in np.flatnonzero(melody.onset):
        repeated, gaps = 0, False
        for code in events[t - 1 :: -1] if t else []:
            if code == events[t]:
                repeated += 1
            elif code in (HOLD, REST):
                gaps = True
            else:
                break
        flags[t] = repeated > (6 if gaps else 4)
    return flags


def autocorrelation(series: np.ndarray, lag: int) -> float:
    """Autocorrelation of a series at ``lag`` (the original's estimator); NaN when the
    series is constant or shorter than the lag."""
    series = np.asarray(series, dtype=float)
    n = len(series)
    variance = series.var() if n else 0.0
    if n <= lag or variance == 0:
        return float("nan")
    centred = series - series.mean()
    return float((centred[lag:] * centred[: n - lag]).sum() / n / variance)


def autocorrelation_excess(melody: Melody, threshold: float = 0.15) -> np.ndarray:
    """Each frame: the sum of |autocorrelation| at lags 1-3 of the event codes so far,
    counting only lags above ``threshold`` (the rule's weight is negative)."""
    events = melody.events()
    out = np.zeros(melody.num_frames)
    for t in range(melody.num_frames):
        coefficients = np.abs([autocorrelation(events[: t + 1], lag) for lag in (1, 2, 3)])
        out[t] = coefficients[coefficients > threshold].sum()  # NaN compares False
    return out


def motif_sizes(melody: Melody, window: int) -> np.ndarray:
    """(T,) the distinct pitches attacked in the ``window`` frames ending at each frame
    (0 before a full window has passed)."""
    sizes = np.zeros(melody.num_frames, dtype=int)
    for t in range(window - 1, melody.num_frames):
        frames = slice(t - window + 1, t + 1)
        sizes[t] = len(set(melody.pitch[frames][melody.onset[frames]].tolist()))
    return sizes


def motif(melody: Melody, window: int = 8) -> np.ndarray:
    """Each frame whose last ``window`` frames hold a motif (3+ distinct pitches): 1, plus
    0.1 for each pitch beyond three (the original's 0.3 bonus on its amount of 3)."""
    sizes = motif_sizes(melody, window)
    return np.where(sizes >= 3, 1.0 + 0.1 * np.maximum(sizes - 3, 0), 0.0)


def repeated_motif(melody: Melody, window: int = 8) -> np.ndarray:
    """Each frame whose motif (as above) already appeared, step for step, entirely before
    it: 1, plus 0.25 for each pitch beyond three (the original's bonus of 1 on 4)."""
    events, sizes = melody.events(), motif_sizes(melody, window)
    out = np.zeros(melody.num_frames)
    for t in np.flatnonzero(sizes >= 3):
        last = events[t - window + 1 : t + 1]
        earlier = events[: t - window + 1]
        if len(earlier) >= window:
            views = np.lib.stride_tricks.sliding_window_view(earlier, window)
            if (views == last).all(axis=1).any():
                out[t] = 1.0 + 0.25 * (sizes[t] - 3)
    return out


def interval_score(interval: int, from_pitch_class: int, key: Key) -> float:
    """The original's preferred-interval table for the absolute interval between two
    notes (before its scaler of 5): steps and thirds best, sevenths and leaps over an
    octave penalised, thirds and fifths up from the tonic (or its third / fifth) better."""
    degree = (from_pitch_class - key.tonic) % 12
    if interval == 7 and degree in (0, 7):
        return 0.1
    if interval == 4 and degree in (0, 4):
        return 0.15
    table = {2: 0.08, 4: 0.09, 5: 0.07, 7: 0.02, 9: 0.05, 11: -0.3}
    return -1.0 if interval > 12 else table.get(interval, 0.0)


def preferred_intervals(melody: Melody, key: Key) -> np.ndarray:
    """At each note after the first: ``interval_score`` of the interval from the last."""
    previous = previous_pitches(melody)
    out = np.zeros(melody.num_frames)
    for t in np.flatnonzero(melody.onset & (previous >= 0)):
        out[t] = interval_score(abs(int(melody.pitch[t] - previous[t])), previous[t] % 12, key)
    return out


def leap_outcomes(melody: Melody, steps_between_leaps: int = 6) -> tuple[np.ndarray, int]:
    """((T,) +1 where a leap is resolved, -1 where a second leap goes the same way; the
    number of leaps taken). A leap (a fifth or more) is resolved by a later leap back
    after more than ``steps_between_leaps`` frames, or by moving back past the note it
    leapt from (the original's leap-up-leap-back)."""
    previous = previous_pitches(melody)
    out = np.zeros(melody.num_frames)
    direction, leapt_from, since, leaps = 0, -1, 0, 0
    for t in range(melody.num_frames):
        if not melody.onset[t]:
            since += 1
            continue
        pitch = int(melody.pitch[t])
        if previous[t] >= 0 and abs(pitch - previous[t]) >= LEAP:
            new_direction = 1 if pitch > previous[t] else -1
            if direction == 0:
                direction, leapt_from = new_direction, int(previous[t])
                leaps += 1
            elif direction != new_direction:
                out[t] = 1.0 if since > steps_between_leaps else 0.0
                direction, leapt_from = 0, -1
            else:
                out[t] = -1.0
            since = 0
            continue
        since += 1
        if direction and (pitch - leapt_from) * direction <= 0:
            out[t] = 1.0
            direction, leapt_from = 0, -1
    return out, leaps


def unique_high_low(melody: Melody, start: int = 0) -> tuple[bool, bool]:
    """Whether the highest and the lowest pitch attacked from ``start`` on each occur
    once; both False unless at least two pitches were played."""
    played = melody.pitch[start:][melody.onset[start:]]
    if len(set(played.tolist())) < 2:
        return False, False
    return bool((played == played.max()).sum() == 1), bool((played == played.min()).sum() == 1)


def unique_extremes(melody: Melody, start: int = 0) -> np.ndarray:
    """At the last frame: 1 for each of the highest and lowest played pitch that occurs
    once (``unique_high_low``)."""
    out = np.zeros(melody.num_frames)
    if melody.num_frames:
        out[-1] = sum(unique_high_low(melody, start))
    return out


def rule_rewards(melody: Melody, key: Key, weights: RuleWeights, start: int = 0
                 ) -> dict[str, np.ndarray]:
    """Each rule's weighted reward per frame (T,), zero before ``start``."""
    window = weights.motif_frames
    leaps, _ = leap_outcomes(melody)
    terms = {
        "in_key": weights.in_key * in_key(melody, key),
        "tonic": weights.tonic * tonic_start_end(melody, key, start),
        "excessive_repeat": weights.excessive_repeat * excessive_repeats(melody),
        "autocorrelation": weights.autocorrelation * autocorrelation_excess(melody),
        "motif": weights.motif * motif(melody, window),
        "repeated_motif": weights.repeated_motif * repeated_motif(melody, window),
        "intervals": weights.intervals * preferred_intervals(melody, key),
        "leaps": np.where(leaps > 0, weights.leap_resolved, 0.0)
        + np.where(leaps < 0, weights.leap_doubled, 0.0),
        "unique_extremes": weights.unique_extreme * unique_extremes(melody, start),
    }
    for values in terms.values():
        values[:start] = 0.0
    return terms


def total_reward(melody: Melody, key: Key, weights: RuleWeights, start: int = 0) -> np.ndarray:
    """(T,) the sum of ``rule_rewards``."""
    return np.sum(list(rule_rewards(melody, key, weights, start).values()), axis=0)


def melody_metrics(melody: Melody, key: Key, start: int = 0, motif_frames: int = 8
                   ) -> dict[str, float]:
    """What a report prints about the part of a melody played from ``start``: shares of
    its notes (in key, excessively repeated, in a motif, in a repeated motif), 0/1 facts
    (tonic start and end, any excessive repeat, unique highest and lowest note), the
    share of its leaps resolved (NaN without leaps) and the autocorrelation of its
    event codes at lags 1-3 (NaN when undefined)."""
    played = melody.onset.copy()
    played[:start] = False
    n_notes = int(played.sum())

    def share(flags: np.ndarray) -> float:
        return float(flags[played].mean()) if n_notes else float("nan")

    repeats = excessive_repeats(melody)
    tonic = tonic_start_end(melody, key, start)
    first = np.flatnonzero(played)
    part = Melody(melody.pitch[start:], melody.onset[start:])
    leaps, n_leaps = leap_outcomes(part)
    unique_max, unique_min = unique_high_low(melody, start)
    events = part.events()
    return {
        "notes_in_key": share(1.0 - in_key(melody, key)),
        "excessive_repeats": share(repeats),
        "any_excessive_repeat": float(repeats[played].any()) if n_notes else float("nan"),
        "tonic_start": float(len(first) > 0 and tonic[first[0]] > 0),
        "tonic_end": float(melody.num_frames > 0 and tonic[-1] > 0),
        "leaps_resolved": float((leaps > 0).sum() / n_leaps) if n_leaps else float("nan"),
        "unique_max": float(unique_max),
        "unique_min": float(unique_min),
        "notes_in_motif": share(motif(melody, motif_frames) > 0),
        "notes_in_repeated_motif": share(repeated_motif(melody, motif_frames) > 0),
        **{f"autocorrelation_lag{lag}": autocorrelation(events, lag) for lag in (1, 2, 3)},
        "notes": float(n_notes),
    }
