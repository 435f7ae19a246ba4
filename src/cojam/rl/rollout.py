"""Rollouts: the policy plays chords to a melody, frame by frame, as it would live.

``play`` feeds a batch of melodies frame by frame through the decoding loop that
generation and self-play use (``cojam.models.decoding``): at frame t the policy samples
chord t having heard the melody up to t-1 only. With a melody agent (the loop's partner),
the agent plays too: after ``seed_frames`` of real melody, melody t is the agent's
sample, drawn having heard the chords up to t-1, so the accompanist learns to follow a
partner that reacts to it. Only chords are actions; the melody (data or agent) is the
environment.

``chord_log_probs`` is the same distribution, teacher-forced over whole rollouts in one
batched forward pass (the PPO update's log-probabilities, the value head's inputs, and
the MLE reference); ``teacher_log_probs`` is the offline teacher's, given the whole
melody. All of them use the sampler's validity mask, so every model's probabilities are
over the tokens the policy could actually play.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.decoding import Partner, play_frames
from cojam.models.online import OnlineModel, stream_layout
from cojam.models.sampling import SamplingConfig, allowed_mask, masked_log_softmax
from cojam.models.teacher import TeacherModel


@dataclass(frozen=True)
class Rollout:
    """What was played: padded rows of equal length, ``PAD`` after each row's end."""

    melody: torch.Tensor  # (B, T) the melody heard: data, or the agent's after its seed
    chords: torch.Tensor  # (B, T) the policy's chords
    mask: torch.Tensor  # (B, T) bool, real frames
    log_probs: torch.Tensor  # (B, T) log-prob of each chord when it was sampled
    hidden: torch.Tensor  # (B, T, C) the policy's hidden state that chose each chord
    start: torch.Tensor  # (B,) the token that opened each row's stream: its style

    def cat(self, other: Rollout) -> Rollout:
        """The rows of both rollouts (equal length T)."""
        return Rollout(*(torch.cat([getattr(self, f), getattr(other, f)])
                         for f in ("melody", "chords", "mask", "log_probs", "hidden",
                                   "start")))


@torch.no_grad()
def play(
    policy: OnlineModel,
    melody: torch.Tensor,  # (B, T) data melody, PAD after each row's end
    mask: torch.Tensor,  # (B, T) bool real frames
    agent: OnlineModel | None = None,
    seed_frames: int = 0,
    generator: torch.Generator | None = None,
    start: torch.Tensor | int = BOS,
) -> Rollout:
    """The policy's chords to ``melody`` (or, with ``agent``, to the agent's melody after
    ``seed_frames`` frames of it), sampled at temperature 1, each row's stream opened by
    ``start`` (its style)."""
    for model in (policy, agent):
        if model is not None and model.training:
            raise ValueError("rollouts need model.eval() (dropout would change the samples)")
    device = policy.head.weight.device
    melody, mask = melody.to(device), mask.to(device)
    if melody.shape[1] > policy.config.max_frames:
        raise ValueError(f"rollout of {melody.shape[1]} frames exceeds the policy's "
                         f"{policy.config.max_frames}")
    partner = None if agent is None else Partner(agent, seed_frames, mask)
    played = play_frames(policy, melody, SamplingConfig(), generator, partner, record=True,
                         start=start)
    assert played.log_probs is not None and played.hidden is not None
    chords = torch.where(mask, played.own, PAD)
    log_probs = torch.where(mask, played.log_probs, 0.0)
    starts = torch.as_tensor(start, device=device).expand(len(melody)).clone()  # (B,)
    return Rollout(played.heard, chords, mask, log_probs, played.hidden, starts)


def playable(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec) -> torch.Tensor:
    """Chords with padding replaced by chord silence, which is always allowed, so that
    teacher forcing over padded frames never meets an impossible token."""
    return torch.where(mask, chords, spec.chord_silence)


def previous_chords(chords: torch.Tensor) -> torch.Tensor:
    """(B, T) -> (B, T): the chord before each frame's, BOS for the first."""
    return torch.cat([torch.full_like(chords[:, :1], BOS), chords[:, :-1]], dim=1)


def frame_allowed(spec: TokenSpec, chords: torch.Tensor) -> torch.Tensor:
    """(B, T) playable chords -> (B, T, V) the sampler's mask at each frame."""
    previous = previous_chords(chords)
    return allowed_mask(spec, "chord", previous.flatten()).view(*chords.shape, -1)


@dataclass(frozen=True)
class ChordScores:
    """A model's teacher-forced view of the chords of a rollout."""

    log_probs: torch.Tensor  # (B, T) log-prob of each chord played
    entropy: torch.Tensor  # (B, T) entropy of the masked distribution
    hidden: torch.Tensor  # (B, T, C) the hidden state that chose each chord
    distribution: torch.Tensor  # (B, T, V) masked log-probs, -inf off the mask


def chord_log_probs(model: OnlineModel, melody: torch.Tensor, chords: torch.Tensor,
                    mask: torch.Tensor, start: torch.Tensor | int = BOS) -> ChordScores:
    """One batched forward pass of an accompanist over whole rollouts (differentiable),
    each row's stream opened by ``start`` (the policy: the rollout's styles; the MLE
    reference, which has none: BOS)."""
    device = model.head.weight.device
    chords = playable(chords.to(device), mask.to(device), model.spec)
    tokens = stream_layout(melody.cpu(), chords.cpu(), "accompanist", start)  # (B, 1 + 2T)
    tokens = tokens.to(device)[:, :-1]  # (B, 2T): position i predicts token i + 1
    hidden = model.hidden(tokens)[:, 0::2]  # (B, T, C): the positions that predict chords
    allowed = frame_allowed(model.spec, chords)  # (B, T, V)
    log_p = masked_log_softmax(model.head(hidden), allowed)  # (B, T, V)
    taken = played_log_probs(log_p, chords)  # (B, T)
    # 0 * -inf is nan, and torch.where would pass nan gradients: zero the log-probs first
    entropy = -(log_p.exp() * log_p.masked_fill(~allowed, 0.0)).sum(-1)  # (B, T)
    return ChordScores(taken, entropy, hidden, log_p)


def teacher_distribution(teacher: TeacherModel, melody: torch.Tensor, chords: torch.Tensor,
                         mask: torch.Tensor) -> torch.Tensor:
    """(B, T, V) the offline teacher's masked log-probs at each frame of a rollout, given
    the whole melody (one batched forward pass)."""
    device = teacher.head.weight.device
    chords = playable(chords.to(device), mask.to(device), teacher.spec)
    logits = teacher.frame_logits(melody.to(device), chords)  # (B, T, V)
    return masked_log_softmax(logits, frame_allowed(teacher.spec, chords))


def teacher_log_probs(teacher: TeacherModel, melody: torch.Tensor, chords: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """(B, T) the offline teacher's log-prob of each chord played, given the whole melody."""
    log_p = teacher_distribution(teacher, melody, chords, mask)
    return played_log_probs(log_p, playable(chords.to(log_p.device), mask.to(log_p.device),
                                            teacher.spec))


def played_log_probs(log_p: torch.Tensor, chords: torch.Tensor) -> torch.Tensor:
    """(B, T, V) masked log-probs and (B, T) playable chords -> (B, T) each chord's."""
    return log_p.gather(2, chords[..., None])[..., 0]


def exact_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """(..., V) masked log-probs of p and q (-inf off the mask) -> (...) KL(p || q), summed
    over the allowed tokens only."""
    allowed = torch.isfinite(log_p)
    diff = (log_p - log_q).masked_fill(~allowed, 0.0)
    return (log_p.exp() * diff).sum(-1)
