"""The discriminator: its reward, its smoothed loss, its schedule and its guard."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from rl_helpers import TINY_DISCRIMINATOR, TINY_PPO

from cojam.data.tokens import TokenSpec
from cojam.rewards.discriminative import DiscriminativeReward
from cojam.rl.discriminator import (
    accuracy,
    adversarial_reward,
    discriminator_due,
    smoothed_bce,
    update_discriminator,
)


def pairs(spec: TokenSpec, chord: str, n: int = 8) -> tuple[torch.Tensor, ...]:
    """n rows of 16 frames: a C note throughout under ``chord`` held throughout."""
    melody = torch.full((n, 16), spec.melody_hold(60))
    melody[:, 0] = spec.melody_on(60)
    chords = torch.full((n, 16), spec.chord_hold(chord))
    chords[:, 0] = spec.chord_on(chord)
    return melody, chords, torch.ones(n, 16, dtype=torch.bool)


def test_reward_is_minus_log_one_minus_d(rl_spec: TokenSpec) -> None:
    torch.manual_seed(0)
    model = DiscriminativeReward(rl_spec, TINY_DISCRIMINATOR).eval()
    melody, chords, mask = pairs(rl_spec, "C")
    d = torch.sigmoid(model.logits(melody, chords, mask)).detach()
    assert torch.allclose(adversarial_reward(model, melody, chords, mask), -torch.log(1 - d),
                          atol=1e-5)


def test_label_smoothing_targets() -> None:
    logits = torch.tensor([0.3, -1.0])
    got = smoothed_bce(logits[:1], logits[1:], smoothing=0.1)
    real = F.binary_cross_entropy_with_logits(logits[:1], torch.tensor([0.95]))
    fake = F.binary_cross_entropy_with_logits(logits[1:], torch.tensor([0.05]))
    assert got.item() == pytest.approx(0.5 * (real + fake).item())
    # with smoothing the loss has a finite optimum: a sure discriminator pays for it
    sure = smoothed_bce(torch.tensor([20.0]), torch.tensor([-20.0]), 0.1)
    calibrated = smoothed_bce(torch.tensor([2.944]), torch.tensor([-2.944]), 0.1)
    assert calibrated < sure


def test_schedule_every_k_then_only_while_fooled() -> None:
    config = dataclasses.replace(TINY_PPO, disc_every=5, disc_warmup_steps=20,
                                 disc_reward_threshold=1.0, disc_reward_window=3)
    assert [s for s in range(20) if discriminator_due(s, [], config)] == [0, 5, 10, 15]
    assert not discriminator_due(25, [], config)  # no history yet
    assert not discriminator_due(25, [2.0, 0.1, 0.2, 0.3], config)  # the last 3 count
    assert discriminator_due(25, [0.0, 1.5, 1.0, 0.9], config)  # mean 1.13 > 1


def test_guard_stops_updates_while_confident(rl_spec: TokenSpec) -> None:
    torch.manual_seed(0)
    model = DiscriminativeReward(rl_spec, TINY_DISCRIMINATOR)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    real, fake = pairs(rl_spec, "C"), pairs(rl_spec, "F#")  # trivially told apart
    always = dataclasses.replace(TINY_PPO, disc_every=1, disc_warmup_steps=1000,
                                 disc_max_accuracy=1.0)
    for step in range(30):
        result = update_discriminator(model, optimizer, real, fake, step, [], always)
        assert result["updated"] == 1.0
    assert accuracy(model, real, fake) == 1.0

    guarded = dataclasses.replace(always, disc_max_accuracy=0.9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = update_discriminator(model, optimizer, real, fake, 30, [], guarded)
    assert result == {"accuracy": 1.0, "updated": 0.0}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # when the schedule does not call for it, no update either
    off = dataclasses.replace(always, disc_every=7)
    assert update_discriminator(model, optimizer, real, fake, 3, [], off)["updated"] == 0.0
