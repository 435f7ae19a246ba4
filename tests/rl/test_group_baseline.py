"""Rollout groups (a per-melody baseline), and the exact-KL loss terms."""

import dataclasses

import numpy as np
import pytest
import torch

from cojam.data.batches import FrameBatch
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
