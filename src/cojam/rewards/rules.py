"""Rule rewards and penalties: small pure functions of one (melody, chords) pair.

Each takes a ``FrameView`` (see ``frames.py``) and returns a float a musician can read:
a ratio in [0, 1] or a count. Penalties are positive numbers of "how much is wrong";
the RL reward subtracts them with configured weights. Each is written so that the
degenerate outputs that game a reward (one chord forever, silence, a chord change every
frame, dangling holds) show up in at least one of them.
"""

from __future__ import annotations

import numpy as np

from cojam.data.tokens import FRAMES_PER_BEAT
from cojam.rewards.frames import FrameView, chord_runs, frames_clashing, frames_in_chord


def note_in_chord(view: FrameView) -> float:
    """Fraction of melody-sounding frames whose pitch class is in the sounding chord
    (duration-weighted: each sixteenth counts once). A frame without a chord counts as
    outside. 0.0 when the melody is silent throughout."""
    return _share_of_melody(view, frames_in_chord(view))


def clashes(view: FrameView) -> float:
    """Fraction of melody-sounding frames whose sounding chord holds a pitch class a
    semitone from the melody's (``frames_clashing``); 0.0 when the melody is silent."""
    return _share_of_melody(view, frames_clashing(view))


def _share_of_melody(view: FrameView, flags: np.ndarray) -> float:
    """The share of the melody-sounding frames that ``flags`` (T,) marks; 0.0 without any."""
    sounding = view.pitch >= 0
    return float(flags[sounding].mean()) if sounding.any() else 0.0


def invalid_holds(view: FrameView) -> float:
    """Number of chord holds that continue no sounding chord (invalid output)."""
    return float(view.invalid_hold.sum())


def chord_silence(view: FrameView) -> float:
    """Fraction of all frames with no chord."""
    return float((view.chord < 0).mean()) if view.num_frames else 0.0


def silence_over_melody(view: FrameView) -> float:
    """Fraction of melody-sounding frames with no chord under them."""
    sounding = view.pitch >= 0
    if not sounding.any():
        return 0.0
    return float((view.chord[sounding] < 0).mean())


def excess_silence(view: FrameView, allowed: float = 0.04) -> float:
    """How far the chord silence exceeds ``allowed`` (a fraction of frames); 0 if within."""
    return max(0.0, chord_silence(view) - allowed)


def long_chords(view: FrameView, max_beats: float = 8.0) -> float:
    """Fraction of frames sounding a chord held past ``max_beats`` since its attack."""
    limit = int(round(max_beats * FRAMES_PER_BEAT))
    over = sum(max(0, length - limit) for _, length, _ in chord_runs(view))
    return over / view.num_frames if view.num_frames else 0.0


def repeated_chords(view: FrameView, max_repeats: int = 4) -> float:
    """Re-attacks beyond ``max_repeats`` of the same chord in a row (C C C C C C with the
    default 4 gives 2). Sustaining a chord is not re-attacking it."""
    excess, streak, previous = 0, 0, None
    for _, _, chord in chord_runs(view):
        streak = streak + 1 if chord == previous else 1
        previous = chord
        excess += streak > max_repeats
    return float(excess)


def chord_changes_per_frame(view: FrameView) -> float:
    """Chord attacks per frame (1.0 = a new chord every sixteenth)."""
    return float(view.chord_onset.sum() / view.num_frames) if view.num_frames else 0.0


def early_end(view: FrameView) -> float:
    """Fraction of melody-sounding frames after the last frame with a chord: the
    accompaniment stopped while the musician played on."""
    sounding = view.pitch >= 0
    if not sounding.any():
        return 0.0
    with_chord = np.flatnonzero(view.chord >= 0)
    last = with_chord[-1] if len(with_chord) else -1
    return float(sounding[last + 1 :].sum() / sounding.sum())


RULES = {
    "note_in_chord": note_in_chord,
    "invalid_holds": invalid_holds,
    "chord_silence": chord_silence,
    "silence_over_melody": silence_over_melody,
    "excess_silence": excess_silence,
    "long_chords": long_chords,
    "repeated_chords": repeated_chords,
    "chord_changes_per_frame": chord_changes_per_frame,
    "early_end": early_end,
}


def rule_scores(view: FrameView) -> dict[str, float]:
    """Every rule with its default parameters, by name."""
    return {name: rule(view) for name, rule in RULES.items()}
