"""Rollout groups (a per-melody baseline), and the exact-KL loss terms."""

import dataclasses

import numpy as np
import pytest
import torch

from cojam.data.batches import FrameBatch
from cojam.models.checkpoint import load_model
from cojam.rl.config import PPOConfig
from cojam.rl.ppo import group_relative, repeat_rows
from cojam.rl.rollout import exact_kl


def test_repeat_rows_keeps_each_melody_together():
    batch = FrameBatch(np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]]),
                       np.array([[True, True], [True, False]]), ("a", "b"))
    repeated = repeat_rows(batch, 3)
    assert repeated.melody[:, 0].tolist() == [1, 1, 1, 3, 3, 3]
    assert repeated.song_ids == ("a", "a", "a", "b", "b", "b")
    assert repeat_rows(batch, 1) is batch


def test_group_relative_subtracts_each_groups_mean():
    rewards = torch.tensor([1.0, 3.0, 10.0, 14.0])
    assert group_relative(rewards, 2).tolist() == [-1.0, 1.0, -2.0, 2.0]
    assert torch.equal(group_relative(rewards, 1), rewards)


def test_group_size_must_divide_the_batch():
    with pytest.raises(ValueError, match="group_size"):
        dataclasses.replace(PPOConfig(batch_size=8, minibatch_size=4), group_size=3)


def test_exact_kl_over_the_allowed_tokens():
    allowed = torch.tensor([True, True, False])
    p = torch.tensor([0.25, 0.75, 0.0])
    q = torch.tensor([0.5, 0.5, 0.0])
    log_p = torch.where(allowed, p.log(), float("-inf"))
    log_q = torch.where(allowed, q.log(), float("-inf"))
    expected = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert exact_kl(log_p, log_q).item() == pytest.approx(expected)
    assert exact_kl(log_p, log_p).item() == 0.0


def test_the_discriminator_can_start_from_the_discriminative_reward_run(tmp_path, rl_runs):
    from rl_helpers import TINY_DISCRIMINATOR

    from cojam.models.checkpoint import save_config, save_weights
    from cojam.rewards.discriminative import DiscriminativeReward
    from cojam.rewards.runs import build_reward_model
    from cojam.rl.models import warm_start

    spec = load_model(rl_runs["online"]).spec
    with pytest.raises(ValueError, match="discriminative-rhythm"):  # names what it found
        warm_start(DiscriminativeReward(spec, TINY_DISCRIMINATOR), rl_runs["rewards"], "cpu")
    torch.manual_seed(1)
    trained = build_reward_model(spec, dataclasses.replace(TINY_DISCRIMINATOR, dropout=0.1))
    run = tmp_path / "disc"
    save_config(run, trained, kind="reward")
    save_weights(run, trained)
    (run / "calibration.json").write_text('{"mean": 0.0, "std": 1.0}\n')
    torch.manual_seed(2)
    fresh = DiscriminativeReward(spec, TINY_DISCRIMINATOR)
    assert warm_start(fresh, [*rl_runs["rewards"], run], "cpu") == run
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
