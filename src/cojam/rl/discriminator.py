"""Adversarial post-training: a discriminator that tells the policy's chords from the
data's, trained alongside the policy, whose verdict is a reward.

The discriminator has the discriminative reward model's architecture (one joint encoder
over melody and chords, a real/fake head) and starts fresh. It compares the policy's
chords with the data's chords *to the same melodies* (the rollouts that followed a data
melody), so the only thing that can tell them apart is the chords. Melody-agent rollouts
have no data chords to compare with; they get no adversarial term.

- Loss: binary cross-entropy with symmetric label smoothing s (targets 1 - s/2 for data
  pairs, s/2 for policy pairs), so its logits stay finite and its reward informative.
- Reward: ``-log(1 - D)`` = softplus(logit): near 0 when D is sure a rollout is the
  policy's, large when it takes the policy's chords for data.
- Schedule (``discriminator_due``): every ``disc_every`` policy steps during warm-up;
  afterwards only while the mean adversarial reward of the last few steps exceeds a
  threshold, i.e. while the policy is fooling it.
- Guard: never update while its accuracy on the step's pairs is already above
  ``disc_max_accuracy``, so it cannot overpower the policy (a perfect discriminator gives
  every rollout the same near-zero reward, and no gradient).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cojam.rewards.discriminative import DiscriminativeReward
from cojam.rl.config import PPOConfig

Pairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # melody, chords, mask: (B, T) each


def adversarial_reward(model: DiscriminativeReward, melody: torch.Tensor, chords: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """(B,) -log(1 - D(pair)) of each pair, without gradients."""
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model.logits(melody.to(device), chords.to(device), mask.to(device))
    return F.softplus(logits.float()).cpu()


def accuracy(model: DiscriminativeReward, real: Pairs, fake: Pairs) -> float:
    """Balanced accuracy: the mean of the hit rates on data pairs and on policy pairs."""
    device = next(model.parameters()).device
    with torch.no_grad():
        real_logits = model.logits(*(x.to(device) for x in real))
        fake_logits = model.logits(*(x.to(device) for x in fake))
    return 0.5 * ((real_logits > 0).float().mean() + (fake_logits <= 0).float().mean()).item()


def smoothed_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor, smoothing: float
                 ) -> torch.Tensor:
    """Binary cross-entropy, data pairs against ``1 - s/2``, policy pairs against ``s/2``,
    each side weighted half."""
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, 1 - smoothing / 2))
    fake = F.binary_cross_entropy_with_logits(
        fake_logits, torch.full_like(fake_logits, smoothing / 2))
    return 0.5 * (real + fake)


def discriminator_due(step: int, recent_rewards: Sequence[float], config: PPOConfig) -> bool:
    """Whether the schedule calls for an update after policy step ``step`` (0-based)."""
    if step < config.disc_warmup_steps:
        return step % config.disc_every == 0
    window = list(recent_rewards)[-config.disc_reward_window:]
    return (len(window) == config.disc_reward_window
            and sum(window) / len(window) > config.disc_reward_threshold)


def update_discriminator(
    model: DiscriminativeReward,
    optimizer: torch.optim.Optimizer,
    real: Pairs,
    fake: Pairs,
    step: int,
    recent_rewards: Sequence[float],
    config: PPOConfig,
) -> dict[str, float]:
    """Update the discriminator if the schedule calls for it and the guard allows it;
    returns ``accuracy`` (before any update), ``updated`` (0 or 1) and, when updated,
    ``loss``. ``optimizer`` must hold only the discriminator's parameters or leave the
    others without gradients."""
    before = accuracy(model, real, fake)
    metrics = {"accuracy": before, "updated": 0.0}
    if not discriminator_due(step, recent_rewards, config) or before > config.disc_max_accuracy:
        return metrics
    device = next(model.parameters()).device
    model.train()
    for _ in range(config.disc_gradient_steps):
        loss = smoothed_bce(model.logits(*(x.to(device) for x in real)),
                            model.logits(*(x.to(device) for x in fake)),
                            config.disc_label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
    model.eval()
    metrics.update(updated=1.0, loss=loss.item())
    return metrics
