"""Implicit feedback in a session log: what the musician's play says about the chords.

Each signal is a plain function of the log's events (``read_session``), so a person's log
from ``make jam`` and a simulated musician's read alike:

- ``followed_notes``: did the musician's next notes fall in the committed chord sounding
  under them (did they follow the AI)?
- ``kept_playing``: after each chord onset, did the musician play on within
  ``patience_beats``, or stop (the jam ended, or they fell silent)?
- ``marks``: the moments the musician marked good (+1) or bad (-1) (``feedback`` events);
- ``replans``: how much of the model's uncommitted plan a tick changed, a surprise it had
  to re-plan for.

``frame_rewards`` places them on the frame grid (4 frames per beat) as the reward of the
chord sounding there, weighted by ``SignalWeights``: what offline learning reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cojam.data.tokens import FRAMES_PER_BEAT
from cojam.live.session_log import session_end, session_song
from cojam.music.song import ChordSpan

MARK_VALUES = {"good": 1.0, "bad": -1.0}


@dataclass(frozen=True)
class SignalWeights:
    """How much each implicit signal counts in the reward of a frame."""

    follow: float = 1.0
    """a note in (+) or out of (-) the chord sounding under it"""
    kept_playing: float = 1.0
    """a chord followed by more playing (+) or by the musician stopping (-)"""
    mark: float = 2.0
    """an explicit good (+) or bad (-) mark"""
    replan: float = 0.25
    """a tick that re-planned the whole uncommitted plan (-; a partial re-plan in part)"""
    patience_beats: float = 4.0
    """how soon after a chord's onset the musician must play again to count as going on"""
    mark_delay_beats: float = 0.5
    """a mark is credited to the chord sounding this long before it (reaction time)"""


def chord_at(spans: tuple[ChordSpan, ...], beat: float) -> ChordSpan | None:
    for span in spans:
        if span.onset <= beat < span.onset + span.duration:
            return span
    return None


def followed_notes(events: list[dict[str, Any]]) -> list[tuple[float, bool]]:
    """(onset beat, in the chord) for each note played while a committed chord sounded."""
    song, _ = session_song(events)
    out = []
    for note in song.notes:
        span = chord_at(song.chords, note.onset)
        if span is not None:
            out.append((note.onset, note.pitch % 12 in span.chord.pitch_classes))
    return out


def kept_playing(events: list[dict[str, Any]], patience_beats: float = 4.0
                 ) -> list[tuple[float, bool]]:
    """(onset beat, played on) for each committed chord onset: True when a note starts
    within ``patience_beats`` after it, False when none does (the musician fell silent,
    or the jam ended that soon)."""
    song, _ = session_song(events)
    onsets = np.array(sorted(note.onset for note in song.notes))
    out = []
    for span in song.chords:
        later = onsets[(onsets >= span.onset) & (onsets < span.onset + patience_beats)]
        out.append((span.onset, len(later) > 0))
    return out


def marks(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(beat, +1 good / -1 bad) for each moment the musician marked."""
    return [(float(e["beat"]), MARK_VALUES[e["value"]]) for e in events
            if e.get("type") == "feedback" and e.get("value") in MARK_VALUES]


def _plan_frames(chords: list[list[Any]], committed: bool) -> dict[int, str]:
    """frame -> symbol over a logged plan's committed or uncommitted chords."""
    frames = {}
    for symbol, onset, duration, is_committed in chords:
        if bool(is_committed) == committed:
            first = int(np.floor(onset * FRAMES_PER_BEAT + 1e-9))
            last = int(np.ceil((onset + duration) * FRAMES_PER_BEAT - 1e-9))
            frames.update(dict.fromkeys(range(first, last), symbol))
    return frames


def replans(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(tick beat, fraction changed) for each plan after the first: the share of the
    previous plan's uncommitted frames that this plan still covers and now fills with
    another chord (0: the model's expectation held; 1: it re-planned everything)."""
    plans = [e for e in events if e.get("type") == "plan"]
    out = []
    for before, after in zip(plans, plans[1:], strict=False):
        expected = _plan_frames(before["chords"], committed=False)
        now = {**_plan_frames(after["chords"], True), **_plan_frames(after["chords"], False)}
        shared = [f for f in expected if f in now]
        if shared:
            changed = sum(expected[f] != now[f] for f in shared)
            out.append((float(after["beat"]), changed / len(shared)))
    return out


def frame_rewards(events: list[dict[str, Any]], num_frames: int,
                  weights: SignalWeights = SignalWeights()) -> np.ndarray:
    """(num_frames,) the implicit reward of each frame's chord: every signal at the frame
    where it happened (a mark ``mark_delay_beats`` earlier); beyond the array, dropped."""
    reward = np.zeros(num_frames, dtype=np.float32)

    def add(beat: float, value: float) -> None:
        frame = int(np.floor(max(beat, 0.0) * FRAMES_PER_BEAT + 1e-9))
        if frame < num_frames:
            reward[frame] += value

    for beat, inside in followed_notes(events):
        add(beat, weights.follow if inside else -weights.follow)
    for beat, on in kept_playing(events, weights.patience_beats):
        add(beat, weights.kept_playing if on else -weights.kept_playing)
    for beat, value in marks(events):
        add(beat - weights.mark_delay_beats, weights.mark * value)
    for beat, changed in replans(events):
        add(beat, -weights.replan * changed)
    return reward


def session_summary(events: list[dict[str, Any]], weights: SignalWeights = SignalWeights()
                    ) -> dict[str, Any]:
    """Each signal of one session, and its total implicit reward."""
    followed = followed_notes(events)
    kept = kept_playing(events, weights.patience_beats)
    marked = marks(events)
    replanned = replans(events)
    beats = session_end(events)
    return {
        "id": events[0].get("id"), "beats": beats,
        "notes": sum(e.get("type") == "note_on" for e in events),
        "followed": float(np.mean([f for _, f in followed])) if followed else float("nan"),
        "kept_playing": float(np.mean([k for _, k in kept])) if kept else float("nan"),
        "good": sum(v > 0 for _, v in marked), "bad": sum(v < 0 for _, v in marked),
        "replanned": float(np.mean([c for _, c in replanned])) if replanned else 0.0,
        "reward": float(frame_rewards(events, int(beats * FRAMES_PER_BEAT) + 1,
                                      weights).sum()),
    }

