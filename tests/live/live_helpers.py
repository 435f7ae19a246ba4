"""Helpers for live tests: a tiny accompanist, a scripted melody, a clock that ticks.

An untrained model plays random but valid chords and expects random melody, which is
exactly what the engine's bookkeeping must survive: its predictions are almost always
wrong, so nearly every tick re-plans.
"""

from __future__ import annotations

import json
import threading
import time

import torch
from websockets.sync.client import connect

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.live.engine import JamSession, JamSettings
from cojam.live.server import serving_in_background
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



def jams_over_sockets(app, starts: list[dict], ticks: int,
                      frame_seconds: float | None = None,
                      beat_scales: list[float] | None = None) -> list[list[list]]:
    """One client per ``starts`` entry (protocol fields of its ``start`` beside ``v``
    and ``type``), all at once, on ``app`` served in the background: ``ticks`` ticks a
    frame apart (``beat_scales[i]`` beats of a frame at a time), a note on every other
    one, each answered by a plan; then stop. With ``frame_seconds`` the ticks go out in
    real time, else as soon as each is answered. Each client's plans' chords."""
    plans: list[list[list]] = [[] for _ in starts]
    scales = beat_scales or [1.0] * len(starts)

    def client(index: int) -> None:
        with connect(f"ws://localhost:{port}/ws") as ws:
            ws.send(json.dumps({"v": 1, "type": "start", **starts[index]}))
            assert json.loads(ws.recv())["type"] == "ready"
            began = time.monotonic()
            for frame in range(ticks):
                if frame_seconds is not None:
                    time.sleep(max(0.0, began + frame * frame_seconds - time.monotonic()))
                beat = frame / 4 * scales[index]
                if frame % 2 == 0:
                    ws.send(json.dumps({"v": 1, "type": "note_on", "beat": beat,
                                        "pitch": 60 + (frame * (index + 3)) % 12}))
                ws.send(json.dumps({"v": 1, "type": "tick", "beat": beat}))
                answer = json.loads(ws.recv())
                assert answer["type"] == "plan", answer
                plans[index].append(answer["chords"])
            ws.send(json.dumps({"v": 1, "type": "stop"}))

    with serving_in_background(app) as port:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(starts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    return plans
