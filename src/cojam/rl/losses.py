"""PPO's arithmetic on padded (B, T) rows of chord tokens: GAE, advantage normalisation,
the clipped policy loss and the value loss. ``mask`` marks real tokens; every mean here
is over real tokens only, so padding never dilutes a loss or shifts a normalisation.
"""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is True (0 if there are none)."""
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def gae(
    rewards: torch.Tensor,  # (B, T) reward of each token
    values: torch.Tensor,  # (B, T) value of the state before each token
    mask: torch.Tensor,  # (B, T) bool real tokens
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """(B, T) generalised advantage estimates. A rollout ends at its last real token:
    the value after it is 0 (nothing more will be rewarded), and padding gets 0."""
    real = mask.to(values.dtype)
    B, T = rewards.shape
    advantages = torch.zeros_like(values)
    running = torch.zeros(B, dtype=values.dtype, device=values.device)  # (B,)
    for t in reversed(range(T)):
        going_on = real[:, t + 1] if t + 1 < T else torch.zeros_like(running)  # (B,)
        next_value = values[:, t + 1] * going_on if t + 1 < T else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * going_on * running) * real[:, t]
        advantages[:, t] = running
    return advantages


def normalise(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``x`` shifted and scaled to mean 0, std 1 over the real entries; 0 elsewhere."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return torch.where(mask, (x - mean) / (var.sqrt() + eps), 0.0)


def clipped_policy_loss(
    log_probs: torch.Tensor,  # (B, T) current policy
    old_log_probs: torch.Tensor,  # (B, T) the policy that sampled the rollout
    advantages: torch.Tensor,  # (B, T)
    mask: torch.Tensor,  # (B, T) bool
    clip: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO's clipped surrogate (to minimise) and diagnostics: the fraction of tokens
    whose ratio was clipped, and the approximate KL from the old policy."""
    log_ratio = log_probs - old_log_probs
    ratio = log_ratio.exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1 - clip, 1 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        clip_fraction = masked_mean(((ratio - 1).abs() > clip).float(), mask).item()
        approx_kl = masked_mean((ratio - 1) - log_ratio, mask).item()  # k3, >= 0
    return loss, {"clip_fraction": clip_fraction, "approx_kl": approx_kl}


def value_loss(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor
               ) -> torch.Tensor:
    """Half the mean squared error of the value head over real tokens."""
    return 0.5 * masked_mean((values - returns) ** 2, mask)


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor
                       ) -> float:
    """1 - Var(returns - values) / Var(returns) over real tokens (1: a perfect critic)."""
    def var(x: torch.Tensor) -> torch.Tensor:
        return masked_mean((x - masked_mean(x, mask)) ** 2, mask)

    spread = var(returns)
    return float("nan") if spread == 0 else (1 - var(returns - values) / spread).item()
