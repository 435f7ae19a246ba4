"""The RL reward: sequence-level terms on the last chord, per-token terms on every chord.

Sequence-level terms judge a whole (melody, chords) pair, so they land on the last valid
chord token of each rollout:

- the learned reward ensemble, reported split into ``harmony`` (members that see pitches
  and chords) and ``rhythm`` (members that see only onsets and holds). Each member is a
  z-score on real validation pairs (its calibration), then rescaled once more by its mean
  and spread over the first batch of rollouts (``policy_scale``). Why: reward models are
  far surer about real pairs than about a policy's, so a policy's z-scores on the real
  pairs' scale run to tens of standard deviations, and the KL and distillation terms
  would vanish beside them; after the rescaling a member is 0 for the initial policy's
  typical rollout and 1 for one a standard deviation better, whatever the reward model's
  confidence, so the weights mean the same from one set of reward runs to the next;
- the rule penalties of ``rewards.rules`` (and, optionally, the note-in-chord ratio as a
  bonus), each weighted by its config field;
- the adversarial term ``-log(1 - D)`` of the discriminator, weighted by lambda.

Per-token terms land on each chord token t:

- ``-kl_coef * (log pi(c_t) - log pi_MLE(c_t))``: a sampled estimate of the KL to the
  frozen MLE model, so the policy stays a musician and does not collapse onto what the
  reward models happen to like;
- ``distill_coef * (log pi_teacher(c_t) - log pi(c_t))``: pulls the policy towards the
  offline teacher, who heard the whole melody; to agree with it the policy must
  anticipate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from cojam.data.tokens import TokenSpec
from cojam.rewards import rules
from cojam.rewards.ensemble import Ensemble
from cojam.rewards.frames import FrameView, frame_view
from cojam.rl.config import PPOConfig


def rule_terms(config: PPOConfig) -> dict[str, tuple[float, Callable[[FrameView], float]]]:
    """{name: (signed weight, rule)}: penalties count against the reward, the
    note-in-chord ratio for it. Rules with weight 0 are left out."""
    terms = {
        "note_in_chord": (config.note_in_chord_weight, rules.note_in_chord),
        "invalid_holds": (-config.invalid_hold_penalty, rules.invalid_holds),
        "excess_silence": (-config.excess_silence_penalty,
                           lambda v: rules.excess_silence(v, config.silence_allowed)),
        "repeated_chords": (-config.repeated_chord_penalty,
                            lambda v: rules.repeated_chords(v, config.max_repeats)),
        "long_chords": (-config.long_chord_penalty,
                        lambda v: rules.long_chords(v, config.max_chord_beats)),
        "early_end": (-config.early_end_penalty, rules.early_end),
    }
    return {name: term for name, term in terms.items() if term[0] != 0}


def rule_scores(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
                spec: TokenSpec, config: PPOConfig) -> dict[str, torch.Tensor]:
    """{rule name: (B,) raw value} of every weighted rule, on each row's real frames."""
    terms = rule_terms(config)
    values: dict[str, list[float]] = {name: [] for name in terms}
    for m, c, real in zip(melody.cpu().numpy(), chords.cpu().numpy(), mask.cpu().numpy(),
                          strict=True):
        view = frame_view(m[real], c[real], spec)
        for name, (_, rule) in terms.items():
            values[name].append(rule(view))
    return {name: torch.tensor(np.asarray(v, dtype=np.float32)) for name, v in values.items()}


def is_rhythm_member(name: str) -> bool:
    """Ensemble members are named ``<model type>/<run>``; rhythm types end in -rhythm."""
    return name.split("/")[0].endswith("-rhythm")


def member_scores(ensemble: Ensemble, melody: torch.Tensor, chords: torch.Tensor,
                  mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """{member name: (B,) its weighted z-score on the real pairs' scale}."""
    return {m.name: m.weight * m.normalised(melody, chords, mask).cpu() for m in ensemble.members}


def policy_scale(scores: dict[str, torch.Tensor]) -> dict[str, list[float]]:
    """{member name: [mean, std]} of its scores over a batch of rollouts (std floored)."""
    return {name: [v.mean().item(), max(v.std(unbiased=False).item(), 1e-6)]
            for name, v in scores.items()}


def sequence_rewards(
    melody: torch.Tensor,  # (B, T)
    chords: torch.Tensor,  # (B, T)
    mask: torch.Tensor,  # (B, T) bool
    spec: TokenSpec,
    config: PPOConfig,
    members: dict[str, torch.Tensor] | None,  # (B,) each, from member_scores
    scale: dict[str, list[float]] | None = None,  # policy_scale of the first batch
    adversarial: torch.Tensor | None = None,  # (B,) -log(1 - D), unweighted
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """((B,) weighted total of the sequence-level terms, {name: (B,) term} for logging:
    ``harmony``, ``rhythm``, ``rules`` and ``adversarial`` already weighted, and each
    rule's raw value as ``rule/<name>``)."""
    B = melody.shape[0]
    total = torch.zeros(B)
    parts: dict[str, torch.Tensor] = {}
    if members is not None and config.ensemble_weight:
        harmony, rhythm = torch.zeros(B), torch.zeros(B)
        for name, value in members.items():
            mean, std = (0.0, 1.0) if scale is None else scale[name]
            score = config.ensemble_weight * (value - mean) / std
            if is_rhythm_member(name):
                rhythm += score
            else:
                harmony += score
        parts.update(harmony=harmony, rhythm=rhythm)
        total += harmony + rhythm
    weights = rule_terms(config)
    raw = rule_scores(melody, chords, mask, spec, config)
    parts["rules"] = sum((weights[name][0] * value for name, value in raw.items()),
                         torch.zeros(B))
    parts.update({f"rule/{name}": value for name, value in raw.items()})
    total += parts["rules"]
    if adversarial is not None and config.adversarial_weight:
        parts["adversarial"] = config.adversarial_weight * adversarial.cpu()
        total += parts["adversarial"]
    return total, parts


def token_rewards(
    sequence: torch.Tensor,  # (B,) sequence-level reward
    mask: torch.Tensor,  # (B, T) bool real chord tokens (a prefix of each row)
    log_probs: torch.Tensor,  # (B, T) policy log-prob of each chord played
    mle_log_probs: torch.Tensor,  # (B, T) the frozen MLE model's
    teacher_log_probs: torch.Tensor | None,  # (B, T) the offline teacher's, or None
    kl_coef: float,
    distill_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """((B, T) reward of each chord token, {``kl``, ``distill``: (B,) their per-rollout
    sums, weighted}): per-token terms on every real token, the sequence reward added on
    the last one."""
    real = mask.float()
    kl = (log_probs - mle_log_probs) * real  # (B, T)
    rewards = -kl_coef * kl
    parts = {"kl": -kl_coef * kl.sum(1)}
    if teacher_log_probs is not None and distill_coef:
        distill = distill_coef * (teacher_log_probs - log_probs) * real  # (B, T)
        rewards = rewards + distill
        parts["distill"] = distill.sum(1)
    last = mask.long().sum(1) - 1  # (B,)
    rewards = rewards.clone()
    rewards[torch.arange(len(last)), last] += sequence.to(rewards.device)
    return rewards, parts
