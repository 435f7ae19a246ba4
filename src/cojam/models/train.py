"""The training loop, and pre-training (maximum likelihood) of the online accompanist, the
melody agent and the offline teacher on it.

``fit`` is the one loop every trained model uses; what it optimises comes in as an
``Objective`` (how a batch becomes a loss, how the model is validated). Read it top to
bottom: optimizer, resume, loop (schedule, batch, loss, update, log, validate, checkpoint,
early stop), summary. ``train`` is pre-training: settings, data, model, objective, ``fit``.

Resuming is exact: the data of step s is a pure function of (seed, s), dropout is reseeded
from (seed, s) every step, and ``state.safetensors`` holds the latest weights, optimizer
tensors and trainer scalars (best validation loss, patience, the byte length of
``metrics.jsonl``), so a run killed at any moment and started again with the same command
ends with the same weights as one that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from cojam.configs import DEFAULT_RECIPE, RecipeError, load_recipe, load_section
from cojam.data.batches import FrameBatch, FrameExample, TrainBatches, eval_batches, song_examples
from cojam.data.cache import CacheError, load_songs, load_spec
from cojam.models.checkpoint import (
    Model,
    build_model,
    load_training_state,
    read_config,
    save_config,
    save_training_state,
    save_weights,
)
from cojam.models.likelihood import evaluate, stream_losses
from cojam.models.online import OnlineConfig
from cojam.models.teacher import TeacherConfig
from cojam.provenance import git_commit


@dataclass(frozen=True)
class TrainConfig:
    """How one model is pre-trained (the ``train`` object of a recipe section)."""

    batch_size: int = 16
    """windows per optimizer step"""
    lr: float = 1e-3
    """peak learning rate, reached after warm-up"""
    min_lr_ratio: float = 0.1
    """the cosine schedule ends at lr * min_lr_ratio"""
    warmup_steps: int = 100
    """linear warm-up steps"""
    max_steps: int = 2000
    """optimizer steps; the schedule's length (``--max-steps`` overrides it)"""
    weight_decay: float = 0.1
    """AdamW weight decay, on matrices only"""
    beta1: float = 0.9
    """AdamW beta1"""
    beta2: float = 0.95
    """AdamW beta2"""
    grad_clip: float = 1.0
    """clip the global gradient norm to this"""
    partner_loss_weight: float = 1.0
    """online models: weight of the partner stream's loss (the anticipation target)"""
    augment: bool = True
    """transpose training windows by -6..+5 semitones"""
    chord_shift_prob: float = 0.0
    """accompanist: share of windows whose heard chord history (up to a random frame) is
    moved to another key while the targets stay true, so the melody must lead"""
    eval_every: int = 200
    """validate every N steps (and at the last step)"""
    checkpoint_every: int = 100
    """write the resume state every N steps (and after each validation)"""
    patience: int = 0
    """stop after this many validations without improvement (0: never stop early)"""
    log_every: int = 10
    """write training metrics every N steps"""
    seed: int = 0
    """seeds initialisation, data order, augmentation and dropout"""
    threads: int = 2
    """torch CPU threads"""


@dataclass(frozen=True)
class OnlineSection:
    """Recipe section of an online model (``online`` or ``melody``)."""

    model: OnlineConfig
    """the model's sizes"""
    train: TrainConfig
    """how it is trained"""


@dataclass(frozen=True)
class TeacherSection:
    """Recipe section of the offline teacher."""

    model: TeacherConfig
    """the model's sizes"""
    train: TrainConfig
    """how it is trained"""


def load_run_section(recipe: str | Path, kind: str) -> OnlineSection | TeacherSection:
    """The recipe section for ``kind``; online sections get the kind's role (the section
    name sets it, so a recipe may not)."""
    if kind == "teacher":
        return load_section(recipe, "teacher", TeacherSection)
    path, raw = load_recipe(recipe)
    if "role" in raw.get(kind, {}).get("model", {}):
        raise RecipeError(f"{path}: {kind}.model.role: the section name sets the role")
    section = load_section(recipe, kind, OnlineSection)
    role = "accompanist" if kind == "online" else "melody"
    return dataclasses.replace(section, model=dataclasses.replace(section.model, role=role))


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` at ``max_steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(config.max_steps - config.warmup_steps, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


@dataclass(frozen=True)
class Objective:
    """What ``fit`` optimises."""

    loss: Callable[[FrameBatch, int], tuple[torch.Tensor, dict[str, float]]]
    """(batch, step) -> (loss to minimise, extra metrics to log under their own names)"""
    validate: Callable[[], tuple[float, dict[str, float]]]
    """() -> (validation loss, lower is better: picks the best checkpoint; extra metrics)"""


def fit(
    kind: str,
    model: torch.nn.Module,
    objective: Objective,
    batches: TrainBatches,
    config: TrainConfig,
    out_dir: Path,
    run_info: dict[str, Any],
    device: str,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``model`` (with ``.config`` and ``.spec``, already on ``device``) into run
    directory ``out_dir``, resuming from its ``state.safetensors`` if there is one; returns
    the summary also written to ``summary.json`` (a finished run returns it at once)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / "summary.json").exists():
        log(f"{out_dir} already holds a finished run")
        return json.loads((out_dir / "summary.json").read_text())

    # 1. optimizer -------------------------------------------------------------------------
    optimizer = _adamw(model, config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{kind}: {n_params:,} parameters on {device}")

    # 2. resume ----------------------------------------------------------------------------
    state_path = out_dir / "state.safetensors"
    scalars = _resume_or_start(kind, model, optimizer, out_dir, run_info, n_params, log)

    # 3. loop: step, log, validate, checkpoint, early stop --------------------------------
    stopped = _patience_spent(scalars, config)
    started = time.perf_counter() - scalars["seconds"]
    bar = tqdm(total=config.max_steps, initial=scalars["step"], disable=not progress,
               desc=f"train {kind}", unit="step")
    step = scalars["step"]
    model.train()
    with MetricsLog(out_dir, scalars["metrics_bytes"], step, log) as metrics:
        while step < config.max_steps and not stopped:
            lr, loss, extra, grad_norm = _train_step(model, optimizer, objective, batches, step,
                                                     config, device)
            step += 1
            bar.update(1)
            if step % config.log_every == 0 or step == config.max_steps:
                metrics.write(step, {"loss/train": loss.item(), **extra, "optim/lr": lr,
                                     "optim/grad_norm": grad_norm.item(),
                                     "time/seconds": time.perf_counter() - started})
                bar.set_postfix(loss=f"{loss.item():.3f}")
            evaluated = step % config.eval_every == 0 or step == config.max_steps
            if evaluated:
                _validate(objective, model, out_dir, step, scalars, metrics, bar)
                stopped = _patience_spent(scalars, config)
            if evaluated or step % config.checkpoint_every == 0:
                scalars.update(step=step, metrics_bytes=metrics.tell(),
                               seconds=time.perf_counter() - started)
                save_training_state(state_path, model, optimizer, scalars)
    bar.close()

    # 4. summary ---------------------------------------------------------------------------
    summary = {"kind": kind, "steps": step, "stopped_early": stopped,
               "best_step": scalars["best_step"], "best_valid_loss": scalars["best_valid"],
               "seconds": round(time.perf_counter() - started, 1), "parameters": n_params}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    state_path.unlink(missing_ok=True)
    log(f"{kind}: best validation loss {summary['best_valid_loss']:.4f} at step "
        f"{summary['best_step']}; {step} steps in {summary['seconds']}s")
    return summary


def _adamw(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases and norm gains)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=(config.beta1, config.beta2),
    )


def _resume_or_start(
    kind: str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    out_dir: Path,
    run_info: dict[str, Any],
    n_params: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The trainer scalars: loaded with the weights and optimizer state from
    ``state.safetensors`` when the run was interrupted (refusing a run of other settings),
    else fresh, with ``config.json`` written."""
    scalars: dict[str, Any] = {"step": 0, "best_valid": math.inf, "best_step": -1,
                               "evals_since_best": 0, "metrics_bytes": 0, "seconds": 0.0}
    state_path = out_dir / "state.safetensors"
    if not state_path.exists():
        save_config(out_dir, model, {**run_info, "parameters": n_params,
                                     "git_commit": git_commit()}, kind=kind)
        return scalars
    saved = read_config(out_dir)
    as_saved = json.loads(json.dumps(dataclasses.asdict(model.config)))  # tuples as lists
    if saved["kind"] != kind or saved["model"] != as_saved \
            or saved["train"] != run_info["train"]:
        raise ValueError(f"{out_dir} holds a different run ({saved['kind']}, other "
                         f"settings); choose another --out")
    scalars = load_training_state(state_path, model, optimizer)
    log(f"resumed from step {scalars['step']}")
    return scalars


def _patience_spent(scalars: dict[str, Any], config: TrainConfig) -> bool:
    """Whether early stopping is on and that many validations have not improved."""
    return bool(config.patience) and scalars["evals_since_best"] >= config.patience


def _train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    objective: Objective,
    batches: TrainBatches,
    step: int,
    config: TrainConfig,
    device: str,
) -> tuple[float, torch.Tensor, dict[str, float], torch.Tensor]:
    """One optimizer step on the batch of ``step``: returns (learning rate, loss, the
    objective's extra metrics, gradient norm before clipping)."""
    lr = lr_at(step, config)
    for group in optimizer.param_groups:
        group["lr"] = lr
    torch.manual_seed(config.seed * 1_000_003 + step)  # dropout: a function of (seed, step)
    with torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda")):
        loss, extra = objective.loss(batches.batch(step), step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return lr, loss, extra, grad_norm


def _validate(
    objective: Objective,
    model: torch.nn.Module,
    out_dir: Path,
    step: int,
    scalars: dict[str, Any],
    metrics: MetricsLog,
    bar: tqdm,
) -> None:
    """Validate after ``step``: save the weights when they are the best yet, count
    validations since the best (in ``scalars``), log the losses."""
    valid, extra = objective.validate()
    model.train()
    if valid < scalars["best_valid"]:
        scalars.update(best_valid=valid, best_step=step, evals_since_best=0)
        save_weights(out_dir, model)
    else:
        scalars["evals_since_best"] += 1
    metrics.write(step, {"loss/valid": valid, **extra})
    bar.write(f"step {step}: valid {valid:.4f} "
              + "".join(f"{k[5:]} {v:.4f} " for k, v in extra.items() if k.startswith("loss/"))
              + f"(best {scalars['best_valid']:.4f} at {scalars['best_step']})")


class MetricsLog:
    """``metrics.jsonl`` (one JSON line per write), and TensorBoard when it is installed.
    Opening drops the lines written after the resumed state (past ``metrics_bytes``)."""

    def __init__(self, out_dir: Path, metrics_bytes: int, step: int,
                 log: Callable[[str], None]) -> None:
        path = out_dir / "metrics.jsonl"
        with path.open("a") as f:
            f.truncate(metrics_bytes)
        self.file = path.open("a")
        self.board = _tensorboard(out_dir, step, log)

    def write(self, step: int, values: dict[str, float]) -> None:
        self.file.write(json.dumps({"step": step, **values}) + "\n")
        self.file.flush()
        if self.board is not None:
            for key, value in values.items():
                self.board.add_scalar(key, value, step)

    def tell(self) -> int:
        """Bytes written so far: where a resumed run truncates the file."""
        return self.file.tell()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
        if self.board is not None:
            self.board.close()


def _tensorboard(out_dir: Path, step: int, log: Callable[[str], None]) -> Any:
    """A TensorBoard writer when the package is installed (optional), else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log("TensorBoard is not installed; metrics go to metrics.jsonl only")
        return None
    return SummaryWriter(str(out_dir / "tensorboard"), purge_step=step or None)


# ----------------------------------------------------------------------- pre-training

def combined_loss(losses: dict[str, Any], own: str, partner_weight: float) -> Any:
    """Own stream + weight * partner stream (the teacher has only its own)."""
    partner = [v for k, v in losses.items() if k != own]
    return losses[own] + partner_weight * sum(partner) if partner else losses[own]


def pretraining_objective(model: Model, own: str, partner_weight: float,
                          valid: Sequence[FrameExample], batch_size: int) -> Objective:
    """Cross-entropy on the model's own stream plus ``partner_weight`` times the partner
    stream; validation is the same on the validation windows, per stream logged too."""

    def loss(batch: FrameBatch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        losses = stream_losses(model, batch)
        return (combined_loss(losses, own, partner_weight),
                {f"loss/train_{k}": v.item() for k, v in losses.items()})

    def validate() -> tuple[float, dict[str, float]]:
        scores = evaluate(model, eval_batches(valid, batch_size))
        total = combined_loss({k: v["nll"] for k, v in scores.items()}, own, partner_weight)
        return total, {**{f"loss/valid_{k}": v["nll"] for k, v in scores.items()},
                       **{f"accuracy/valid_{k}": v["accuracy"] for k, v in scores.items()}}

    return Objective(loss, validate)


def train(
    kind: str,
    data_dir: Path,
    out_dir: Path,
    recipe: str | Path = DEFAULT_RECIPE,
    max_steps: int | None = None,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    seed: int | None = None,
) -> dict[str, Any]:
    """Pre-train (or resume) a ``kind`` model (online, melody, teacher) on the cache in
    ``data_dir``; returns the summary (``out_dir/summary.json``). ``max_steps`` and
    ``seed`` override the recipe's."""
    section = load_run_section(recipe, kind)
    config = section.train
    if max_steps is not None:
        config = dataclasses.replace(config, max_steps=max_steps)
    if seed is not None:
        config = dataclasses.replace(config, seed=seed)
    torch.set_num_threads(config.threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    spec = load_spec(data_dir)
    frames = section.model.max_frames
    train_examples = song_examples(load_songs(data_dir, "train"), spec, frames)
    valid_examples = song_examples(load_songs(data_dir, "valid"), spec, frames)
    for split, examples in (("train", train_examples), ("valid", valid_examples)):
        if not examples:
            raise CacheError(f"{data_dir}: the {split} split is empty ({split}.jsonl holds no "
                             "song), so there is nothing to train or validate on; a cache of "
                             "a few songs (--limit 20) can leave a split empty: build it "
                             "from more inputs")
    if config.chord_shift_prob and kind != "online":
        raise RecipeError(f"{kind}.train.chord_shift_prob: only the online accompanist "
                          f"hears chord histories it is trained to predict")
    batches = TrainBatches(train_examples, spec, config.batch_size, config.seed, config.augment,
                           config.chord_shift_prob)
    log(f"{kind}: {len(train_examples)} training windows, {len(valid_examples)} validation "
        f"windows, vocabulary {spec.vocab_size}")

    torch.manual_seed(config.seed)
    model = build_model(kind, spec, section.model).to(device)
    own = "melody" if kind == "melody" else "chord"
    objective = pretraining_objective(model, own, config.partner_loss_weight, valid_examples,
                                      2 * config.batch_size)
    run_info = {"train": dataclasses.asdict(config), "recipe": str(recipe),
                "data": str(data_dir)}
    return fit(kind, model, objective, batches, config, out_dir, run_info, device, progress,
               log)
