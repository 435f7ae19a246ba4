"""Reward model run directories: build a model from its config, load it back.

A reward run directory holds, like every cojam run, ``config.json`` (``kind`` is
``reward``; ``model`` is the ``RewardConfig``, whose own ``kind`` says contrastive or
discriminative; ``spec`` the token spec) and ``model.safetensors``; training adds
``calibration.json`` (mean and standard deviation of the model's scores on the
validation split's real pairs, what the ensemble normalises by), ``auc.json`` (held-out
AUC against each negative kind), ``metrics.jsonl`` and ``summary.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from cojam.configs import from_dict
from cojam.data.tokens import TokenSpec
from cojam.rewards.contrastive import ContrastiveReward
from cojam.rewards.discriminative import DiscriminativeReward
from cojam.rewards.encoder import RewardConfig

RUN_KIND = "reward"
RewardModel = ContrastiveReward | DiscriminativeReward


def build_reward_model(spec: TokenSpec, config: RewardConfig) -> RewardModel:
    """A freshly initialised reward model of ``config.kind``."""
    if config.kind == "contrastive":
        return ContrastiveReward(spec, config)
    return DiscriminativeReward(spec, config)


def model_name(config: RewardConfig) -> str:
    """``contrastive``, ``discriminative-rhythm``, ...: the model type, seeds aside."""
    return config.kind + ("-rhythm" if config.rhythm else "")


def read_run_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.json)")
    data = json.loads(path.read_text())
    if data.get("kind") != RUN_KIND:
        raise ValueError(f"{path}: kind is {data.get('kind')!r}, not a reward model run")
    return data


def load_reward_model(run_dir: Path, device: torch.device | str = "cpu") -> RewardModel:
    """The reward model saved in ``run_dir``, in eval mode."""
    run_dir = Path(run_dir)
    data = read_run_config(run_dir)
    config = from_dict(RewardConfig, data["model"], f"{run_dir}/config.json: model")
    model = build_reward_model(TokenSpec.from_dict(data["spec"]), config)
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{run_dir} has no model.safetensors (no checkpoint yet)")
    model.load_state_dict(load_file(weights))
    return model.to(device).eval()


def read_calibration(run_dir: Path) -> tuple[float, float]:
    """(mean, std) of the run's scores on real validation pairs."""
    path = Path(run_dir) / "calibration.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the run has not finished training")
    data = json.loads(path.read_text())
    return float(data["mean"]), float(data["std"])
