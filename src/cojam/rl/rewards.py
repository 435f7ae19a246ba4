"""The RL reward: sequence-level terms on the last chord, per-token terms on every chord.

Sequence-level terms judge a whole (melody, chords) pair, so they land on the last valid
chord token of each rollout:

- the learned reward ensemble (each member a z-score on real pairs), reported split into
  ``harmony`` (members that see pitches and chords) and ``rhythm`` (members that see
  only onsets and holds);
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


def sequence_rewards(
    melody: torch.Tensor,  # (B, T)
    chords: torch.Tensor,  # (B, T)
    mask: torch.Tensor,  # (B, T) bool
    spec: TokenSpec,
    config: PPOConfig,
    ensemble: Ensemble | None,
    adversarial: torch.Tensor | None = None,  # (B,) -log(1 - D), unweighted
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """((B,) weighted total of the sequence-level terms, {name: (B,) term} for logging:
    ``harmony``, ``rhythm``, ``rules`` and ``adversarial`` already weighted, and each
    rule's raw value as ``rule/<name>``)."""
    B = melody.shape[0]
    total = torch.zeros(B)
    parts: dict[str, torch.Tensor] = {}
    if ensemble is not None and config.ensemble_weight:
        harmony, rhythm = torch.zeros(B), torch.zeros(B)
        for member in ensemble.members:
            score = config.ensemble_weight * member.weight * member.normalised(
                melody, chords, mask).cpu()
            if is_rhythm_member(member.name):
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
