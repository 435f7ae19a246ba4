"""Fixtures for RL tests: a tiny synthetic cache and tiny untrained model runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from rl_helpers import write_cache, write_reward_runs, write_runs

from cojam.data.tokens import TokenSpec

# Tiny models decode one frame at a time; on a busy machine thread hand-offs cost more
# than the arithmetic.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def rl_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cache(tmp_path_factory.mktemp("rl-cache"))


@pytest.fixture(scope="session")
def rl_spec(rl_cache: Path) -> TokenSpec:
    return TokenSpec.load(rl_cache / "vocab.json")


@pytest.fixture(scope="session")
def rl_runs(tmp_path_factory: pytest.TempPathFactory, rl_spec: TokenSpec) -> dict:
    """{online, teacher, melody: run directory, rewards: [reward run directories]}"""
    root = tmp_path_factory.mktemp("rl-runs")
    return {**write_runs(root, rl_spec),
            "rewards": write_reward_runs(root / "rewards", rl_spec)}
