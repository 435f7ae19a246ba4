"""Training a learned reward model: the objectives, on the project's one training loop.

``train_reward`` reads the recipe's ``reward`` section, builds a contrastive or
discriminative model (optionally on rhythm only), and hands ``models.train.fit`` an
``Objective``: how a training batch becomes a loss, and how the model is validated.
``fit`` owns everything else (AdamW, warm-up + cosine, checkpoints, exact resume,
``metrics.jsonl``, the progress bar). After the last step the best weights are
calibrated on the validation split's real pairs (``calibration.json``) and measured on
the test split against every negative kind (``auc.json``).

Validation is the objective itself on fixed data: the contrastive model's InfoNCE over
the validation windows in order (the batches never change, so losses compare across
steps), the discriminative model's cross-entropy over the real validation pairs and a
fixed set of negatives, each side weighted half. AUCs on validation are logged too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from cojam.configs import DEFAULT_RECIPE, load_section
from cojam.data.batches import FrameBatch, FrameExample, TrainBatches, collate, eval_batches
from cojam.data.batches import song_examples as cut_windows
from cojam.data.cache import load_songs, load_spec
from cojam.data.tokens import TokenSpec
from cojam.models.train import Objective, TrainConfig, fit
from cojam.rewards.auc import negative_auc, negative_examples, roc_auc
from cojam.rewards.contrastive import ContrastiveReward
from cojam.rewards.discriminative import DiscriminativeReward
from cojam.rewards.encoder import REWARD_KINDS, RewardConfig
from cojam.rewards.ensemble import calibrate, model_reward, score_examples
from cojam.rewards.negatives import MIN_SHIFT, NegativeSampler, negative_kinds
from cojam.rewards.runs import RUN_KIND, build_reward_model, model_name

VALID_NEGATIVES_PER_KIND = 2


@dataclass(frozen=True)
class RewardSection:
    """Recipe section ``reward``: the sizes and training of every learned reward model
    (kind and rhythm come from the command line)."""

    model: RewardConfig
    """the model's sizes"""
    train: TrainConfig
    """how it is trained (``partner_loss_weight`` is unused)"""


def examples_of(batch: FrameBatch) -> list[FrameExample]:
    """A padded batch back to its unpadded examples."""
    return [FrameExample(song, m[real], c[real]) for song, m, c, real
            in zip(batch.song_ids, batch.melody, batch.chords, batch.mask, strict=True)]


def tensors(batch: FrameBatch, device: str) -> tuple[torch.Tensor, ...]:
    """(melody, chords, mask) of a batch as tensors on ``device``, (B, T) each."""
    return tuple(torch.from_numpy(a).to(device) for a in (batch.melody, batch.chords,
                                                          batch.mask))


def same_song(song_ids: tuple[str, ...], device: str) -> torch.Tensor:
    """(B, B) True where rows i and j are windows of the same song."""
    ids = np.array(song_ids)
    return torch.from_numpy(ids[:, None] == ids[None, :]).to(device)


def contrastive_objective(model: ContrastiveReward, valid: list[FrameExample],
                          valid_negatives: dict[str, list[FrameExample]], batch_size: int,
                          device: str) -> Objective:
    def loss(batch: FrameBatch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        return model.loss(*tensors(batch, device), same_song(batch.song_ids, device))

    @torch.no_grad()
    def validate() -> tuple[float, dict[str, float]]:
        was_training = model.training
        model.eval()
        losses = [model.loss(*tensors(b, device), same_song(b.song_ids, device))[0].item()
                  for b in eval_batches(valid, batch_size) if len(set(b.song_ids)) > 1]
        reward = model_reward(model)
        real = score_examples(reward, valid)
        fake = {k: score_examples(reward, v) for k, v in valid_negatives.items()}
        model.train(was_training)
        return float(np.mean(losses)), auc_metrics(real, fake)

    return Objective(loss, validate)


def discriminative_objective(model: DiscriminativeReward, sampler: NegativeSampler, seed: int,
                             valid: list[FrameExample],
                             valid_negatives: dict[str, list[FrameExample]],
                             device: str) -> Objective:
    def loss(batch: FrameBatch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        real = examples_of(batch)
        negatives = sampler.one_each(real, np.random.default_rng([seed, step, 2]))
        pairs = collate(real + negatives)  # (2B, T): reals first
        labels = torch.arange(2 * len(real), device=device) < len(real)
        return model.loss(*tensors(pairs, device), labels)

    @torch.no_grad()
    def logits(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return model.logits(melody.to(device), chords.to(device), mask.to(device)).float()

    def validate() -> tuple[float, dict[str, float]]:
        was_training = model.training
        model.eval()
        real = score_examples(logits, valid)
        fake = {k: score_examples(logits, v) for k, v in valid_negatives.items()}
        model.train(was_training)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        real_t = torch.from_numpy(real)
        fake_t = torch.from_numpy(np.concatenate(list(fake.values())))
        loss = (bce(real_t, torch.ones_like(real_t)) + bce(fake_t, torch.zeros_like(fake_t))) / 2
        return loss.item(), auc_metrics(real, fake)

    return Objective(loss, validate)


def auc_metrics(real: np.ndarray, negatives: dict[str, np.ndarray]) -> dict[str, float]:
    """{``auc/valid_<kind>``: AUC of the real scores against that kind's}."""
    return {f"auc/valid_{kind}": roc_auc(real, scores) for kind, scores in negatives.items()}


def windows(data_dir: Path, split: str, spec: TokenSpec, max_frames: int) -> list[FrameExample]:
    """A split's windows, those too short to shift by a beat either way left out."""
    return [e for e in cut_windows(load_songs(data_dir, split), spec, max_frames)
            if len(e.melody) >= 2 * MIN_SHIFT]


def train_reward(
    kind: str,
    rhythm: bool,
    data_dir: Path,
    out_dir: Path,
    recipe: str | Path = DEFAULT_RECIPE,
    seed: int = 0,
    max_steps: int | None = None,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train (or resume) one reward model; returns the summary (``summary.json``) with the
    test AUCs (``auc.json``) added."""
    if kind not in REWARD_KINDS:
        raise ValueError(f"unknown reward kind {kind!r}; choose one of {REWARD_KINDS}")
    section = load_section(recipe, "reward", RewardSection)
    model_config = dataclasses.replace(section.model, kind=kind, rhythm=rhythm)
    config = dataclasses.replace(section.train, seed=seed)
    if max_steps is not None:
        config = dataclasses.replace(config, max_steps=max_steps)
    torch.set_num_threads(config.threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out_dir = Path(out_dir)
    name = model_name(model_config)
    if (out_dir / "auc.json").is_file():
        log(f"{out_dir} already holds a finished reward run")
        summary = json.loads((out_dir / "summary.json").read_text())
        return {**summary, **json.loads((out_dir / "auc.json").read_text())}

    spec = load_spec(data_dir)
    train_examples, valid, test = (windows(data_dir, split, spec, model_config.max_frames)
                                   for split in ("train", "valid", "test"))
    batches = TrainBatches(train_examples, spec, config.batch_size, config.seed, config.augment)
    kinds = negative_kinds(rhythm)
    valid_negatives = {k: negative_examples(valid, spec, k, VALID_NEGATIVES_PER_KIND)
                       for k in kinds}
    log(f"{name}: {len(train_examples)} training windows, {len(valid)} validation windows, "
        f"negatives {', '.join(kinds)}")

    torch.manual_seed(config.seed)
    model = build_reward_model(spec, model_config).to(device)
    if isinstance(model, ContrastiveReward):
        objective = contrastive_objective(model, valid, valid_negatives, config.batch_size,
                                          device)
    else:
        sampler = NegativeSampler(spec, kinds)
        objective = discriminative_objective(model, sampler, config.seed, valid,
                                             valid_negatives, device)
    run_info = {"train": dataclasses.asdict(config), "recipe": str(recipe),
                "data": str(data_dir), "negatives": list(kinds)}
    summary = fit(RUN_KIND, model, objective, batches, config, out_dir, run_info, device,
                  progress, log)

    model.load_state_dict(load_file(out_dir / "model.safetensors"))  # the best weights
    reward = model_reward(model)
    mean, std = calibrate(reward, valid)
    (out_dir / "calibration.json").write_text(
        json.dumps({"mean": mean, "std": std, "split": "valid", "pairs": len(valid)}) + "\n")
    aucs = negative_auc(reward, test, spec, kinds)
    result = {"model": name, "seed": seed, "split": "test", "pairs": len(test), "auc": aucs}
    (out_dir / "auc.json").write_text(json.dumps(result, indent=1) + "\n")
    log(f"{name} seed {seed}: test AUC " + ", ".join(f"{k} {v:.3f}" for k, v in aucs.items()))
    return {**summary, **result}
