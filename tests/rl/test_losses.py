"""PPO arithmetic on hand-made cases: GAE, normalisation over real tokens, the clipped loss."""

from __future__ import annotations

import math

import pytest
import torch

from cojam.rl.losses import clipped_policy_loss, explained_variance, gae, masked_mean, normalise


def test_gae_by_hand() -> None:
    # one rollout of 3 real tokens and one of padding after 2
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.5, 2.0, 9.0]])
    values = torch.tensor([[0.2, 0.4, 0.6], [1.0, 0.0, 7.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    gamma, lam = 0.9, 0.5
    got = gae(rewards, values, mask, gamma, lam)
    # row 0: deltas backwards, the value after the last token is 0
    d2 = 1.0 - 0.6
    d1 = 0.0 + 0.9 * 0.6 - 0.4
    d0 = 0.0 + 0.9 * 0.4 - 0.2
    a2 = d2
    a1 = d1 + 0.45 * a2
    a0 = d0 + 0.45 * a1
    # row 1: token 1 is the last real one; padding's reward and value never leak in
    b1 = 2.0 - 0.0
    b0 = (0.5 + 0.9 * 0.0 - 1.0) + 0.45 * b1
    expected = torch.tensor([[a0, a1, a2], [b0, b1, 0.0]])
    assert torch.allclose(got, expected, atol=1e-6)


def test_gae_with_lambda_one_is_return_minus_value() -> None:
    rewards = torch.tensor([[0.1, -0.2, 0.3, 2.0]])
    values = torch.tensor([[0.5, 0.1, -0.3, 0.7]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    returns = rewards.flip(1).cumsum(1).flip(1)
    assert torch.allclose(gae(rewards, values, mask, 1.0, 1.0), returns - values, atol=1e-6)


def test_normalisation_uses_real_tokens_only() -> None:
    x = torch.tensor([[1.0, 3.0, 100.0], [5.0, -50.0, 7.0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    got = normalise(x, mask)
    real = torch.tensor([1.0, 3.0, 5.0])
    expected = (real - real.mean()) / real.std(unbiased=False)
    assert torch.allclose(got[mask], expected, atol=1e-5)
    assert (got[~mask] == 0).all()
    assert masked_mean(got, mask).abs() < 1e-6


def test_clipped_loss_by_hand() -> None:
    old = torch.zeros(1, 4)
    ratios = torch.tensor([[1.5, 0.5, 1.1, 3.0]])
    new = ratios.log()
    advantages = torch.tensor([[1.0, 1.0, -2.0, 5.0]])
    mask = torch.tensor([[True, True, True, False]])
    loss, info = clipped_policy_loss(new, old, advantages, mask, clip=0.2)
    # token 0: A > 0, ratio above 1 + clip: clipped to 1.2 -> -1.2
    # token 1: A > 0, ratio below 1 - clip: the unclipped -0.5 is the max (pessimistic)
    # token 2: A < 0, ratio inside the clip range: -(-2 * 1.1) = 2.2
    # token 3: padding, ignored
    assert loss.item() == pytest.approx((-1.2 - 0.5 + 2.2) / 3)
    assert info["clip_fraction"] == pytest.approx(2 / 3)
    expected_kl = sum((r - 1) - math.log(r) for r in (1.5, 0.5, 1.1)) / 3
    assert info["approx_kl"] == pytest.approx(expected_kl, rel=1e-5)


def test_clipped_loss_gradient_vanishes_outside_the_trust_region() -> None:
    new = torch.tensor([[math.log(1.5), math.log(1.1)]], requires_grad=True)
    loss, _ = clipped_policy_loss(new, torch.zeros(1, 2), torch.ones(1, 2),
                                  torch.ones(1, 2, dtype=torch.bool), clip=0.2)
    loss.backward()
    assert new.grad[0, 0] == 0 and new.grad[0, 1] < 0


def test_explained_variance() -> None:
    returns = torch.tensor([[1.0, 2.0, 3.0, 40.0]])
    mask = torch.tensor([[True, True, True, False]])
    assert explained_variance(returns, returns, mask) == pytest.approx(1.0)
    assert explained_variance(torch.full_like(returns, 2.0), returns, mask) == pytest.approx(0.0)
