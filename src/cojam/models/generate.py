"""Generation: one decoding loop shared by the CLI, evaluation and RL.

``generate_accompaniment`` plays chords to a given melody: with the online accompanist it
feeds the real melody frame by frame and samples each frame's chord before it sees that
frame's melody (exactly the live situation); with the offline teacher it encodes the whole
melody first. ``generate_melody`` is the same loop for the melody agent over given chords.
With ``use_cache`` (the default) each frame costs one forward pass over two new tokens;
without it, the whole prefix is recomputed every frame (same tokens, for testing and
benchmarks).

Songs longer than the model's window (``max_frames``): the online models slide. When the
context is full it restarts as ``[BOS]`` + the last half window of frames (re-encoded into
a fresh cache), as training windows start mid-song with BOS too. The teacher plays
consecutive windows, each encoding its own melody.
"""

from __future__ import annotations

import torch

from cojam.data.tokens import BOS
from cojam.models.online import OnlineModel
from cojam.models.sampling import allowed_mask, sample_tokens
from cojam.models.teacher import TeacherModel


def _check_eval(model: torch.nn.Module) -> None:
    if model.training:
        raise ValueError("generation needs model.eval() (dropout would change the samples)")


@torch.no_grad()
def _decode_online(
    model: OnlineModel, partner: torch.Tensor, temperature: float, top_k: int, top_p: float,
    generator: torch.Generator | None, use_cache: bool,
) -> torch.Tensor:
    """The model's own stream (B, T) played against the given partner frames (B, T)."""
    _check_eval(model)
    device = model.head.weight.device
    partner = torch.as_tensor(partner, dtype=torch.long).to(device)
    B, T = partner.shape
    own = torch.empty(B, T, dtype=torch.long, device=device)
    previous = torch.full((B,), BOS, dtype=torch.long, device=device)
    tokens = torch.full((B, 1), BOS, dtype=torch.long, device=device)  # (B, 1 + 2t)
    max_len, keep = model.config.max_len, 2 * (model.config.max_frames // 2)
    cache = model.new_cache(B, min(max_len, 1 + 2 * T)) if use_cache else None
    step_input = tokens
    for t in range(T):
        if tokens.shape[1] >= max_len:  # the window is full: slide it
            tokens = torch.cat([tokens[:, :1], tokens[:, -keep:]], dim=1)
            cache = model.new_cache(B, max_len) if use_cache else None
            step_input = tokens
        logits = model(step_input, cache) if use_cache else model(tokens)  # (B, *, V)
        mask = allowed_mask(model.spec, model.own_stream, previous)
        previous = sample_tokens(logits[:, -1], mask, temperature, top_k, top_p, generator)
        own[:, t] = previous
        step_input = torch.stack([previous, partner[:, t]], dim=1)  # (B, 2)
        tokens = torch.cat([tokens, step_input], dim=1)
    return own


@torch.no_grad()
def _decode_teacher(
    model: TeacherModel, melody: torch.Tensor, temperature: float, top_k: int, top_p: float,
    generator: torch.Generator | None, use_cache: bool,
) -> torch.Tensor:
    _check_eval(model)
    device = model.head.weight.device
    melody = torch.as_tensor(melody, dtype=torch.long).to(device)
    window = model.config.max_frames
    chords = torch.empty_like(melody)
    previous = torch.full((len(melody),), BOS, dtype=torch.long, device=device)
    for start in range(0, melody.shape[1], window):
        part = melody[:, start : start + window]  # (B, W)
        B, W = part.shape
        bos = torch.full((B, 1), BOS, dtype=torch.long, device=device)
        cache = model.new_cache(B, W) if use_cache else None
        step_input = bos
        for t in range(W):
            if use_cache:
                logits = model(part, step_input, cache)
            else:
                logits = model(part, torch.cat([bos, chords[:, start : start + t]], dim=1))
            mask = allowed_mask(model.spec, "chord", previous)
            previous = sample_tokens(logits[:, -1], mask, temperature, top_k, top_p, generator)
            chords[:, start + t] = previous
            step_input = previous[:, None]
    return chords


def generate_accompaniment(
    model: OnlineModel | TeacherModel,
    melody: torch.Tensor,  # (B, T) melody frames
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """(B, T) chord tokens for the melody, one per frame, every token valid."""
    if isinstance(model, TeacherModel):
        return _decode_teacher(model, melody, temperature, top_k, top_p, generator, use_cache)
    if model.config.role != "accompanist":
        raise ValueError(f"generate_accompaniment needs an accompanist, not a "
                         f"{model.config.role!r} model")
    return _decode_online(model, melody, temperature, top_k, top_p, generator, use_cache)


def generate_melody(
    model: OnlineModel,
    chords: torch.Tensor,  # (B, T) chord frames
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """(B, T) melody tokens played by the melody agent over the given chords."""
    if not isinstance(model, OnlineModel) or model.config.role != "melody":
        raise ValueError("generate_melody needs a melody-agent model (role 'melody')")
    return _decode_online(model, chords, temperature, top_k, top_p, generator, use_cache)
