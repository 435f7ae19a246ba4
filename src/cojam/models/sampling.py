"""Validity masks and sampling, shared by generation, RL and the live engine.

A sampled token is always valid: a chord position gets a chord-stream token, a melody
position a melody-stream token, and a hold only continues what is sounding (hold(x) only
right after on(x) or hold(x) in the same stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cojam.data.tokens import TokenSpec

STREAMS = ("chord", "melody")


@dataclass(frozen=True)
class SamplingConfig:
    """How a token is drawn from a model's masked distribution."""

    temperature: float = 1.0
    """0 is greedy"""
    top_k: int = 0
    """keep the k likeliest tokens (0: all)"""
    top_p: float = 1.0
    """keep the smallest set whose probability reaches p (1: all)"""


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


def masked_log_softmax(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """(..., V) logits -> log-probabilities over the ``allowed`` tokens, -inf elsewhere."""
    return logits.float().masked_fill(~allowed, float("-inf")).log_softmax(dim=-1)


def keep_or_sample(
    logits: torch.Tensor,  # (V,) one position's logits
    mask: torch.Tensor,  # (V,) allowed tokens
    guess: int,
    temperature: float,
    generator: torch.Generator | None,
) -> int:
    """One token with exactly the masked, tempered distribution p, given a guess g: keep g
    with probability p(g), else sample from p with g left out (P(x) = (1 - p(g)) p(x) /
    (1 - p(g)) = p(x), the speculative-sampling rule for a draft that puts all its mass on
    g). Greedy (``temperature`` 0): the argmax, whatever the guess."""
    if temperature == 0:
        return int(logits.masked_fill(~mask, float("-inf")).argmax())
    if mask[guess]:
        scaled = logits.float().masked_fill(~mask, float("-inf")) / temperature
        keep = scaled.softmax(dim=-1)[guess]
        if torch.rand((), generator=generator) < keep:
            return guess
        mask = mask.clone()
        mask[guess] = False
    return int(sample_tokens(logits[None], mask[None], temperature, generator=generator)[0])
