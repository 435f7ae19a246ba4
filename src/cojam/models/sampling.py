"""Validity masks and sampling, shared by generation, RL and the live engine.

A sampled token is always valid: a chord position gets a chord-stream token, a melody
position a melody-stream token, and a hold only continues what is sounding (hold(x) only
right after on(x) or hold(x) in the same stream).
"""

from __future__ import annotations

import torch

from cojam.data.tokens import TokenSpec

STREAMS = ("chord", "melody")


def _stream_bounds(spec: TokenSpec, stream: str) -> tuple[int, int]:
    """[silence, end) id range of one stream; on(x) = silence + 1 + 2k, hold = on + 1."""
    if stream == "chord":
        return spec.chord_silence, spec.vocab_size
    if stream == "melody":
        return spec.melody_silence, spec.chord_silence
    raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")


def allowed_mask(spec: TokenSpec, stream: str, previous: torch.Tensor) -> torch.Tensor:
    """(B, V) bool: the tokens of ``stream`` that may follow ``previous`` (B,), the previous
    token of that same stream per row (BOS or PAD when there is none)."""
    silence, end = _stream_bounds(spec, stream)
    ids = torch.arange(spec.vocab_size, device=previous.device)
    in_stream = (ids >= silence) & (ids < end)
    is_hold = in_stream & (ids > silence) & ((ids - silence - 1) % 2 == 1)
    mask = (in_stream & ~is_hold).expand(len(previous), -1).clone()  # (B, V)
    sounding = (previous > silence) & (previous < end)  # (B,) an on or a hold
    prev_is_on = (previous - silence - 1) % 2 == 0
    hold = torch.where(prev_is_on, previous + 1, previous)  # (B,) the hold continuing it
    rows = torch.nonzero(sounding).squeeze(1)
    mask[rows, hold[rows]] = True
    return mask


def sample_tokens(
    logits: torch.Tensor,  # (B, V)
    mask: torch.Tensor,  # (B, V) allowed tokens
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One token per row among the allowed ones (B,). ``temperature`` 0 is greedy;
    ``top_k`` > 0 keeps the k likeliest; ``top_p`` < 1 keeps the smallest set whose
    probability reaches p (nucleus)."""
    if temperature < 0 or not 0 < top_p <= 1 or top_k < 0:
        raise ValueError(f"bad sampling settings: temperature={temperature}, top_k={top_k}, "
                         f"top_p={top_p}")
    logits = logits.float().masked_fill(~mask, float("-inf"))
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - sorted_logits.softmax(dim=-1) >= top_p  # mass before it >= p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
