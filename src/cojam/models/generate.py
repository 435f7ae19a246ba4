"""Generation: a trained model plays chords to given melodies (or the melody agent a melody
over given chords).

``generate_accompaniment`` plays chords to a melody: the online accompanist through the
decoding loop (``cojam.models.decoding``), choosing each frame's chord before it hears that
frame's melody, exactly the live situation; the offline teacher encodes the whole melody
first and decodes the chords window by window (``max_frames`` each), with the same masks
and sampler. ``generate_melody`` is the decoding loop for the melody agent over given
chords. ``generate_rows`` plays rows of different lengths in padded batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from cojam.data.tokens import BOS, PAD
from cojam.models.decoding import check_eval, play_frames
from cojam.models.online import CORPUS, OnlineModel, style_token
from cojam.models.sampling import SamplingConfig, allowed_mask, sample_tokens
from cojam.models.teacher import TeacherModel


@torch.no_grad()
def _decode_teacher(model: TeacherModel, melody: torch.Tensor, sampling: SamplingConfig,
                    generator: torch.Generator | None, use_cache: bool) -> torch.Tensor:
    """(B, T) chords, each window of ``max_frames`` decoded from its own encoded melody."""
    check_eval(model)
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
            previous = sample_tokens(logits[:, -1], mask, sampling.temperature,
                                     sampling.top_k, sampling.top_p, generator)
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
    style: str = CORPUS,
) -> torch.Tensor:
    """(B, T) chord tokens for the melody, one per frame, every token valid. An online
    accompanist plays in ``style`` if it carries it (``cojam.models.online``); the teacher
    has no styles."""
    sampling = SamplingConfig(temperature, top_k, top_p)
    if isinstance(model, TeacherModel):
        return _decode_teacher(model, melody, sampling, generator, use_cache)
    if model.config.role != "accompanist":
        raise ValueError(f"generate_accompaniment needs an accompanist, not a "
                         f"{model.config.role!r} model")
    return play_frames(model, melody, sampling, generator, use_cache=use_cache,
                       start=style_token(model, style)).own


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
    sampling = SamplingConfig(temperature, top_k, top_p)
    return play_frames(model, chords, sampling, generator, use_cache=use_cache).own


def pad_rows(rows: Sequence[np.ndarray | torch.Tensor]) -> torch.Tensor:
    """Rows of different lengths -> (B, T) padded with ``PAD`` after each row's end."""
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row)
    return out


def generate_rows(
    model: OnlineModel | TeacherModel,
    rows: Sequence[np.ndarray],
    batches: Sequence[Sequence[int]],
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    style: str = CORPUS,
) -> list[np.ndarray]:
    """The model's row for each given row (melodies for an accompanist or the teacher,
    chords for the melody agent), played in ``batches`` of row indices, in that order,
    each padded to its longest row; outputs cut back to each row's length. An
    accompanist plays in ``style``."""
    melody_agent = isinstance(model, OnlineModel) and model.config.role == "melody"
    play = generate_melody if melody_agent else partial(generate_accompaniment, style=style)
    outputs: list[np.ndarray | None] = [None] * len(rows)
    for batch in batches:
        played = play(model, pad_rows([rows[i] for i in batch]), sampling.temperature,
                      sampling.top_k, sampling.top_p, generator).cpu().numpy()  # (B, T)
        for row, i in enumerate(batch):
            outputs[i] = played[row, : len(rows[i])].copy()
    missing = [i for i, row in enumerate(outputs) if row is None]
    if missing:
        raise ValueError(f"rows {missing} are in no batch")
    return [row for row in outputs if row is not None]
