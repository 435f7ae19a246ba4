"""Self-play: the melody agent and an online accompanist jam with each other.

Both are online models playing at the same moment: at frame t the accompanist picks
chord t having heard the melody up to t-1, and the melody agent picks melody t having
heard the chords up to t-1. The first frames of the melody come from a real song (the
seed, so each session starts somewhere musical); after that the agent plays. It is the
decoding loop of ``cojam.models.decoding`` with the melody agent as the partner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cojam.data.tokens import PAD, TokenSpec
from cojam.eval.pieces import Piece, melody_pitches
from cojam.models.decoding import Partner, play_frames
from cojam.models.online import OnlineModel
from cojam.models.sampling import SamplingConfig


@torch.no_grad()
def self_play(
    accompanist: OnlineModel,
    melody_agent: OnlineModel,
    seed_melody: torch.Tensor,  # (B, S) melody frames, PAD where a row's seed has ended
    num_frames: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(melody (B, T), chords (B, T)) of ``num_frames`` frames of joint play."""
    for model, role in ((accompanist, "accompanist"), (melody_agent, "melody")):
        if model.config.role != role:
            raise ValueError(f"self-play needs a model of role {role!r} there, got role "
                             f"{model.config.role!r}")
        if model.training:
            raise ValueError("self-play needs model.eval() (dropout would change the samples)")
        if num_frames > model.config.max_frames:
            raise ValueError(f"{num_frames} frames exceed the model's {model.config.max_frames}")
    if accompanist.spec != melody_agent.spec:
        raise ValueError("the accompanist and the melody agent use different token vocabularies")
    device = accompanist.head.weight.device
    seed_melody = torch.as_tensor(seed_melody, dtype=torch.long).to(device)[:, :num_frames]
    given = torch.full((len(seed_melody), num_frames), PAD, dtype=torch.long, device=device)
    given[:, : seed_melody.shape[1]] = seed_melody
    played = play_frames(accompanist, given, SamplingConfig(temperature, top_k, top_p),
                         generator, Partner(melody_agent, takes=given == PAD))
    return played.heard, played.own


def selfplay_pieces(
    accompanist: OnlineModel,
    melody_agent: OnlineModel,
    seeds: Sequence[Piece],
    seed_bars: int,
    session_bars: int,
    seed: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    batch_size: int = 32,
) -> list[Piece]:
    """One session per seed piece: its first ``seed_bars`` bars of melody, then the agent,
    ``session_bars`` bars in all (capped at both models' window). The returned pieces hold
    the session's melody and the accompanist's chords (as ``chords``)."""
    spec = accompanist.spec
    limit = min(accompanist.config.max_frames, melody_agent.config.max_frames)
    generator = torch.Generator(device=accompanist.head.weight.device).manual_seed(seed)
    sessions = []
    for start in range(0, len(seeds), batch_size):
        batch = seeds[start : start + batch_size]
        per_bar = [int(round(p.beats_per_bar * spec.frames_per_beat)) for p in batch]
        lengths = [min(session_bars * n, limit) for n in per_bar]
        seed_lengths = [min(seed_bars * n, p.num_frames, length)
                        for n, p, length in zip(per_bar, batch, lengths, strict=True)]
        seed_rows = torch.full((len(batch), max(seed_lengths)), PAD, dtype=torch.long)
        for row, (piece, n) in enumerate(zip(batch, seed_lengths, strict=True)):
            seed_rows[row, :n] = torch.from_numpy(piece.melody[:n])
        melody, chords = self_play(accompanist, melody_agent, seed_rows, max(lengths),
                                   temperature, top_k, top_p, generator)
        melody, chords = melody.cpu().numpy(), chords.cpu().numpy()
        for row, (piece, n) in enumerate(zip(batch, lengths, strict=True)):
            sessions.append(Piece(f"{piece.song_id}#selfplay", melody[row, :n].copy(),
                                  chords[row, :n].copy(), piece.beats_per_bar))
    return sessions


def melody_facts(pieces: Sequence[Piece], spec: TokenSpec) -> dict[str, float]:
    """What the melody agent played: the fraction of silent frames and the mean number of
    distinct pitches per session (a silent or one-note agent makes harmony trivial or
    undefined, so the report shows these beside the session's harmony)."""
    pitches = [melody_pitches(p.melody, spec) for p in pieces]
    return {"melody_silence": float(np.mean([(p < 0).mean() for p in pitches])),
            "melody_distinct_pitches": float(np.mean([len(set(p[p >= 0].tolist()))
                                                      for p in pitches]))}
