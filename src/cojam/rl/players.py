"""The models an RL run reads: the policy (a copy of the MLE accompanist), the frozen
references (the MLE model itself, the offline teacher), the melody agent, the reward
ensemble, and the two things trained from scratch alongside the policy (the value head
and the discriminator).

Value head: a linear layer with two outputs (the frame-local baseline and the sequence
value, see ``credit.py``) on the policy's final hidden state before each chord, reading
it detached. Why not a shared trunk: a fresh head's large early errors would flow
straight into the pretrained policy; why not a separate critic: it would double the cost
of every rollout and update on two CPU cores. The price is a critic that is a linear
probe of features learned for next-chord prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cojam.data.tokens import TokenSpec
from cojam.models.checkpoint import Model, kind_of, load_model
from cojam.models.online import SONG, OnlineModel, with_style
from cojam.models.teacher import TeacherModel
from cojam.rewards.discriminative import DiscriminativeReward
from cojam.rewards.ensemble import Ensemble, load_reward
from cojam.rl.config import PPOConfig


@dataclass
class RLModels:
    """Everything an RL run plays with; frozen models are in eval mode without gradients."""

    policy: OnlineModel
    """the accompanist being trained, initialised from the MLE run"""
    value_head: nn.Linear
    """from the policy's detached hidden state before each chord: the baseline of the
    frame-local reward and the value of the sequence reward (``credit.py``)"""
    reference: OnlineModel
    """the frozen MLE accompanist (the KL anchor)"""
    teacher: TeacherModel | None
    """the frozen offline teacher (distillation), if used"""
    agent: OnlineModel | None
    """the frozen melody agent (the partner in some rollouts), if used"""
    ensemble: Ensemble | None
    """the learned reward ensemble, if used"""
    discriminator: DiscriminativeReward | None
    """the adversarial discriminator, if used"""

    def trained(self) -> nn.ModuleDict:
        """The modules whose weights change, by name (what a checkpoint holds)."""
        modules = {"policy": self.policy, "value_head": self.value_head}
        if self.discriminator is not None:
            modules["discriminator"] = self.discriminator
        return nn.ModuleDict(modules)


def frozen(run_dir: Path, kind: str, spec: TokenSpec, device: str) -> Model:
    """A run's model in eval mode without gradients; it must be of ``kind`` and share the
    data's token vocabulary."""
    model = load_model(run_dir, device)
    if kind_of(model) != kind:
        raise ValueError(f"{run_dir} holds a {kind_of(model)!r} model, not {kind!r}")
    if model.spec != spec:
        raise ValueError(f"{run_dir}: the model's token vocabulary differs from the data's "
                         "vocab.json (trained on another cache?)")
    return model.requires_grad_(False)


def load_ensemble(reward_runs: Sequence[Path], device: str) -> Ensemble | None:
    """All members of the given reward runs and ensemble files as one ensemble."""
    members = [m for path in reward_runs for m in load_reward(Path(path), device).members]
    return Ensemble(members) if members else None


def load_rl_models(
    config: PPOConfig,
    spec: TokenSpec,
    mle_run: Path,
    teacher_run: Path | None,
    melody_run: Path | None,
    reward_runs: Sequence[Path],
    device: str,
) -> RLModels:
    """Load and check what ``config`` needs; a term with a weight but no model to compute
    it is an error, never silently dropped."""
    wants_teacher = bool(config.distill_coef)
    if wants_teacher and teacher_run is None:
        raise ValueError("distill_coef > 0 needs a teacher run")
    if config.partner_fraction and melody_run is None:
        raise ValueError("partner_fraction > 0 needs a melody agent run")
    if config.ensemble_weight and not reward_runs:
        raise ValueError("ensemble_weight > 0 needs at least one reward run")
    reference = frozen(mle_run, "online", spec, device)
    if config.max_frames > reference.config.max_frames:
        raise ValueError(f"max_frames {config.max_frames} exceeds the MLE model's "
                         f"{reference.config.max_frames}")
    policy = load_model(mle_run, device)
    assert isinstance(policy, OnlineModel) and isinstance(reference, OnlineModel)
    if config.song_style:
        policy = with_style(policy, SONG, bias=config.style_bias)
    teacher = frozen(teacher_run, "teacher", spec, device) if wants_teacher else None
    agent = frozen(melody_run, "melody", spec, device) if config.partner_fraction else None
    ensemble = load_ensemble(reward_runs, device) if config.ensemble_weight else None
    torch.manual_seed(config.seed)
    value_head = nn.Linear(policy.config.d_model, 2).to(device)  # see credit.py
    nn.init.zeros_(value_head.weight)
    nn.init.zeros_(value_head.bias)
    discriminator = None
    if config.adversarial_weight:
        discriminator = DiscriminativeReward(spec, config.discriminator).to(device).eval()
    assert teacher is None or isinstance(teacher, TeacherModel)
    assert agent is None or isinstance(agent, OnlineModel)
    return RLModels(policy.eval(), value_head, reference, teacher, agent, ensemble,
                    discriminator)
