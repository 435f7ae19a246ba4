"""Helpers for live tests: a tiny accompanist, a scripted melody, a clock that ticks.

An untrained model plays random but valid chords and expects random melody, which is
exactly what the engine's bookkeeping must survive: its predictions are almost always
wrong, so nearly every tick re-plans.
"""

from __future__ import annotations

import torch

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.live.engine import JamSession, JamSettings
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.music.chords import parse_chord

CHORDS = ("C", "Dm", "Em", "F", "G", "Am", "G7", "Bdim", "C/E")


def tiny_model(max_frames: int = 128, seed: int = 0) -> OnlineModel:
    torch.manual_seed(seed)
    spec = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in CHORDS],
                                             transpositions=False))
    config = OnlineConfig(d_model=32, n_layers=2, n_heads=2, mlp_ratio=2, dropout=0.0,
                          max_frames=max_frames)
    return OnlineModel(spec, config).eval()


def note_events(notes: list[tuple[int, float, float]]) -> list[tuple[float, int, int]]:
    """(beat, 1 for on / 0 for off, pitch) of each (pitch, onset, end) note, in time order."""
    return sorted([(on, 1, p) for p, on, _ in notes] + [(off, 0, p) for p, _, off in notes])


def play(session: JamSession, notes: list[tuple[int, float, float]], until: float,
         step: float = 0.25, extend: bool = False) -> list:
    """Tick ``session`` every ``step`` beats up to ``until``, sending each (pitch, onset,
    end) note as the clock reaches it (with ``extend``, planning on after each answer as
    the server does; else each tick does the last one's); returns the plans."""
    events = note_events(notes)
    plans, beat = [], 0.0
    while beat <= until + 1e-9:
        while events and events[0][0] <= beat:
            at, is_on, pitch = events.pop(0)
            (session.note_on if is_on else session.note_off)(pitch, at)
        plans.append(session.tick(beat))
        if extend:
            session.extend()
        beat += step
    return plans


def melody(seed: int, beats: float, start: float = 0.0) -> list[tuple[int, float, float]]:
    """A random monophonic line of eighths and quarters from ``start``."""
    generator = torch.Generator().manual_seed(seed)
    notes, beat = [], start
    while beat < beats:
        length = 0.5 * (1 + int(torch.randint(0, 2, (1,), generator=generator)))
        pitch = 60 + int(torch.randint(0, 12, (1,), generator=generator))
        notes.append((pitch, beat, beat + length * 0.9))
        beat += length
    return notes


def settings(**changes) -> JamSettings:
    return JamSettings(**{"lookahead": 4, "commit": 1, "count_in": 2, "listen": 0,
                          "harmonic_rhythm": "free", "seed": 7,
                          **changes})
