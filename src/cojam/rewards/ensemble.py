"""Rewards as plain callables with one signature, and their weighted ensemble.

Every reward the RL trainer or the evaluation calls is a ``RewardFn``::

    score(melody: LongTensor (B, T), chords: LongTensor (B, T), mask: BoolTensor (B, T))
        -> Tensor (B,)

one score per pair, padding (``mask`` False) ignored. ``model_reward`` wraps a learned
reward model, ``rule_reward`` a rule of ``rules.py``; ``Ensemble`` sums members, each
first normalised by the mean and standard deviation of its scores on real validation
pairs (so a contrastive cosine and a discriminative log-probability count alike: 0 is a
typical real pair, -1 one standard deviation worse), then weighted.

``load_reward(path)`` gives a ready callable from a reward run directory (that model,
normalised) or from an ensemble file::

    {"members": [{"run": "contrastive-s0", "weight": 1.0}, ...]}

whose run paths are relative to the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cojam.data.batches import FrameExample, collate
from cojam.data.tokens import TokenSpec
from cojam.rewards.frames import FrameView, frame_view
from cojam.rewards.runs import load_reward_model, model_name, read_calibration

RewardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def model_reward(model: nn.Module) -> RewardFn:
    """A reward model as a ``RewardFn``: eval mode, no gradients, on the model's device."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def score(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        out = model(melody.to(device), chords.to(device), mask.to(device))  # (B,)
        model.train(was_training)
        return out.float()

    return score


def rule_reward(rule: Callable[[FrameView], float], spec: TokenSpec) -> RewardFn:
    """A rule reward (a function of one ``FrameView``) as a ``RewardFn``."""

    def score(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        values = []
        for m, c, real in zip(melody.cpu().numpy(), chords.cpu().numpy(), mask.cpu().numpy(),
                              strict=True):
            values.append(rule(frame_view(m[real], c[real], spec)))
        return torch.tensor(values, dtype=torch.float32)

    return score


def score_examples(reward: RewardFn, examples: Sequence[FrameExample],
                   batch_size: int = 32) -> np.ndarray:
    """(N,) scores of the examples' (melody, chords) pairs."""
    scores = []
    for start in range(0, len(examples), batch_size):
        batch = collate(examples[start : start + batch_size])
        scores.append(reward(torch.from_numpy(batch.melody), torch.from_numpy(batch.chords),
                             torch.from_numpy(batch.mask)).cpu().numpy())
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


def calibrate(reward: RewardFn, examples: Sequence[FrameExample]) -> tuple[float, float]:
    """(mean, std) of the reward over real pairs; std is floored so it can divide."""
    scores = score_examples(reward, examples)
    if len(scores) < 2:
        raise ValueError(f"calibration needs at least 2 real pairs, got {len(scores)}")
    return float(scores.mean()), max(float(scores.std()), 1e-6)


@dataclass(frozen=True)
class Member:
    """One reward in an ensemble, with what normalises it."""

    name: str
    """names the member in logs (``reward/<name>``)"""
    score: RewardFn
    """the raw reward"""
    mean: float = 0.0
    """subtracted from the raw score (mean over real validation pairs)"""
    std: float = 1.0
    """divides the centred score (std over real validation pairs)"""
    weight: float = 1.0
    """weight of the normalised score in the sum"""

    def normalised(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
                   ) -> torch.Tensor:
        return (self.score(melody, chords, mask) - self.mean) / self.std  # (B,)


class Ensemble:
    """The weighted sum of normalised members; itself a ``RewardFn``."""

    def __init__(self, members: Sequence[Member]):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)

    def parts(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
              ) -> dict[str, torch.Tensor]:
        """{member name: (B,) normalised score}, unweighted, for logging."""
        return {m.name: m.normalised(melody, chords, mask) for m in self.members}

    def __call__(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
                 ) -> torch.Tensor:
        return sum(m.weight * m.normalised(melody, chords, mask) for m in self.members)


def load_member(run_dir: Path, weight: float = 1.0, device: torch.device | str = "cpu"
                ) -> Member:
    """A trained reward run as an ensemble member, with its stored calibration."""
    model = load_reward_model(run_dir, device)
    mean, std = read_calibration(run_dir)
    name = f"{model_name(model.config)}/{Path(run_dir).name}"
    return Member(name, model_reward(model), mean, std, weight)


def load_reward(path: Path, device: torch.device | str = "cpu") -> Ensemble:
    """A reward run directory (one normalised member) or an ensemble JSON file."""
    path = Path(path)
    if path.is_dir():
        return Ensemble([load_member(path, 1.0, device)])
    if not path.is_file():
        raise FileNotFoundError(f"{path}: neither a reward run directory nor an ensemble file")
    data = json.loads(path.read_text())
    members = data.get("members") if isinstance(data, dict) else None
    if not members:
        raise ValueError(f"{path}: an ensemble file holds {{\"members\": [{{\"run\": ...}}]}}")
    return Ensemble([load_member(path.parent / m["run"], float(m.get("weight", 1.0)), device)
                     for m in members])


def write_ensemble(path: Path, runs: Sequence[Path], weights: Sequence[float] | None = None
                   ) -> None:
    """Write an ensemble file naming ``runs`` (stored relative to the file's folder)."""
    path = Path(path)
    weights = list(weights) if weights is not None else [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(weights)} weights")
    members = [{"run": os.path.relpath(Path(r).resolve(), path.parent.resolve()), "weight": w}
               for r, w in zip(runs, weights, strict=True)]
    path.write_text(json.dumps({"members": members}, indent=1) + "\n")
