"""Fixed-seed decoding cases on tiny untrained models, one per decoding path: generation
(online accompanist, melody agent, teacher; cached and recomputed), RL rollouts (with and
without the melody agent), self-play, evaluation's batched generation, and live sessions
(drafting and verifying, one token per call, recomputing, harmonic rhythm).

``test_decoding_golden.py`` checks that every path still plays exactly the tokens stored
in ``decoding_golden.json``, which was written by the code before the paths shared one
decoding loop (the live cases' ``stale`` frames were added when a tick began to answer
before planning past its commit horizon; its tokens, commitments and model calls stayed
as stored)::

    python tests/models/decoding_cases.py --write
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from cojam.data.tokens import PAD, TokenSpec
from cojam.eval.model_systems import Sampling, batched_generation
from cojam.eval.pieces import Piece
from cojam.eval.selfplay import self_play
from cojam.live.engine import JamSession, JamSettings
from cojam.models.generate import generate_accompaniment, generate_melody
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.teacher import TeacherConfig, TeacherModel
from cojam.rl.rollout import play

GOLDEN = Path(__file__).with_name("decoding_golden.json")
SPEC = TokenSpec(chords=("C", "Dm", "Em", "F", "G", "Am", "G7", "C/E"), min_pitch=55,
                 max_pitch=79)


def online(role: str, max_frames: int = 12, seed: int = 1) -> OnlineModel:
    torch.manual_seed(seed)
    config = OnlineConfig(role=role, d_model=32, n_layers=2, n_heads=2, mlp_ratio=2,
                          max_frames=max_frames)
    return OnlineModel(SPEC, config).eval()


def teacher() -> TeacherModel:
    torch.manual_seed(2)
    config = TeacherConfig(d_model=32, n_encoder_layers=1, n_decoder_layers=2, n_heads=2,
                           mlp_ratio=2, max_frames=12)
    return TeacherModel(SPEC, config).eval()


def melodies(batch: int, length: int, seed: int = 3) -> torch.Tensor:
    """(B, T) note-ons, holds and rests; row b ends ``2 b`` frames early (PAD after)."""
    g = torch.Generator().manual_seed(seed)
    pitches = torch.randint(SPEC.min_pitch, SPEC.max_pitch + 1, (batch, length), generator=g)
    kind = torch.randint(0, 4, (batch, length), generator=g)
    rows = []
    for b in range(batch):
        row, previous = [], None
        for t in range(length):
            if kind[b, t] == 0:
                row.append(SPEC.melody_silence)
                previous = None
            elif kind[b, t] == 1 and previous is not None:
                row.append(SPEC.melody_hold(previous))
            else:
                previous = int(pitches[b, t])
                row.append(SPEC.melody_on(previous))
        rows.append(row[: length - 2 * b] + [PAD] * (2 * b))
    return torch.tensor(rows)


def chord_rows(batch: int, length: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(4)
    picks = torch.randint(0, len(SPEC.chords), (batch, length), generator=g)
    return torch.tensor([[SPEC.chord_on(SPEC.chords[k]) for k in row] for row in picks])


def generation_cases() -> dict[str, list]:
    out = {}
    melody = melodies(3, 30)
    for name, kw in {"t1.5": {"temperature": 1.5}, "greedy": {"temperature": 0.0},
                     "topk": {"top_k": 4, "top_p": 0.9}}.items():
        for use_cache in (True, False):
            g = torch.Generator().manual_seed(11)
            tokens = generate_accompaniment(online("accompanist"), melody, generator=g,
                                            use_cache=use_cache, **kw)
            out[f"generate/online/{name}/cache={use_cache}"] = tokens.tolist()
            g = torch.Generator().manual_seed(12)
            tokens = generate_accompaniment(teacher(), melody, generator=g,
                                            use_cache=use_cache, **kw)
            out[f"generate/teacher/{name}/cache={use_cache}"] = tokens.tolist()
        g = torch.Generator().manual_seed(13)
        tokens = generate_melody(online("melody"), chord_rows(2, 20), generator=g, **kw)
        out[f"generate/melody/{name}"] = tokens.tolist()
    return out


def rollout_cases() -> dict[str, list]:
    out = {}
    melody = melodies(4, 12)
    mask = melody != PAD
    policy, agent = online("accompanist"), online("melody", seed=5)
    for name, kw in {"data": {}, "agent": {"agent": agent, "seed_frames": 3}}.items():
        rollout = play(policy, melody, mask, generator=torch.Generator().manual_seed(21), **kw)
        out[f"rollout/{name}/chords"] = rollout.chords.tolist()
        out[f"rollout/{name}/melody"] = rollout.melody.tolist()
        out[f"rollout/{name}/log_probs"] = rollout.log_probs.tolist()
        out[f"rollout/{name}/hidden"] = rollout.hidden[..., :3].tolist()
    return out


def selfplay_cases() -> dict[str, list]:
    out = {}
    seed = melodies(3, 6)
    acc, agent = online("accompanist", max_frames=16), online("melody", max_frames=16, seed=5)
    for name, kw in {"t1": {}, "topk": {"temperature": 0.8, "top_k": 5, "top_p": 0.95}}.items():
        g = torch.Generator().manual_seed(31)
        played_melody, chords = self_play(acc, agent, seed, 14, generator=g, **kw)
        out[f"selfplay/{name}/melody"] = played_melody.tolist()
        out[f"selfplay/{name}/chords"] = chords.tolist()
    return out


def eval_cases() -> dict[str, list]:
    rows = melodies(5, 20)
    pieces = [Piece(f"p{i}", row[row != PAD].numpy(), np.zeros(int((row != PAD).sum())), 4.0)
              for i, row in enumerate(rows)]
    out = {}
    for name, model in {"online": online("accompanist"), "teacher": teacher()}.items():
        chords = batched_generation(model, pieces, 41, Sampling(0.9, 0, 1.0, batch_size=2))
        out[f"eval/{name}"] = [row.tolist() for row in chords]
    return out


def jam(session: JamSession, beats: float, seed: int) -> dict[str, list]:
    """Tick every frame with a scripted line; the committed chords, the final sequence and
    each tick's model calls and tokens fed."""
    g = torch.Generator().manual_seed(seed)
    events, beat = [], 1.0
    while beat < beats:
        length = 0.5 * (1 + int(torch.randint(0, 2, (1,), generator=g)))
        pitch = 60 + int(torch.randint(0, 12, (1,), generator=g))
        if int(torch.randint(0, 5, (1,), generator=g)):
            events += [(beat, 1, pitch), (beat + 0.9 * length, 0, pitch)]
        beat += length
    events.sort()
    calls, stale = [], []
    decoder = session.decoder
    for frame in range(int(beats * 4)):
        while events and events[0][0] <= frame / 4:
            at, is_on, pitch = events.pop(0)
            (session.note_on if is_on else session.note_off)(pitch, at)
        report = session.tick(frame / 4).report
        session.extend()  # as the server does after answering; the decoder counts both
        calls.append([decoder.chosen, decoder.calls, decoder.fed])
        stale.append(report.stale_frames)
    return {"chords": list(session.chords), "tokens": list(session.tokens), "calls": calls,
            "stale": stale}


def live_cases() -> dict[str, list]:
    model = online("accompanist", max_frames=80, seed=6)
    cases = {
        "engine": ({}, {}),
        "one-token": ({}, {"replan_budget": None, "draft_tokens": 1}),
        "recompute": ({}, {"reuse_cache": False}),
        "half-bar-listen": ({"harmonic_rhythm": "half-bar", "listen": 2}, {}),
        "greedy": ({"temperature": 0.0}, {}),
    }
    out = {}
    torch.set_num_threads(1)
    for name, (settings, options) in cases.items():
        settings = JamSettings(**{"lookahead": 4, "commit": 1, "count_in": 2, "listen": 0,
                                  "harmonic_rhythm": "free", "seed": 7, **settings})
        result = jam(JamSession(model, settings, **options), 32.0, seed=8)
        out.update({f"live/{name}/{key}": value for key, value in result.items()})
    return out


CASES: dict[str, Callable[[], dict[str, list]]] = {
    "generate": generation_cases, "rollout": rollout_cases, "selfplay": selfplay_cases,
    "eval": eval_cases, "live": live_cases,
}


def all_cases() -> dict[str, list]:
    torch.set_num_threads(1)
    return {key: value for make in CASES.values() for key, value in make().items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the current outputs")
    parser.add_argument("--out", type=Path, help="write the outputs here instead")
    args = parser.parse_args()
    path = args.out or (GOLDEN if args.write else None)
    result = all_cases()
    if path is not None:
        path.write_text(json.dumps(result) + "\n")
    print(f"{len(result)} outputs")
