"""PPO post-training of the online accompanist: ReaLchords, and GAPT with the adversarial
term. ``train_rl`` reads top to bottom: setup (data, models, optimizer, resume), then
each policy step

1. rollout — a batch of training windows (transposed), most accompanied as data melodies
   frame by frame, some played with the melody agent; log-probs recorded as sampled;
2. rewards — frame-local terms on the chord that caused them (note-in-chord, the rhythm
   guard, KL and distillation), sequence terms on the last chord (the ensemble rescaled
   by its spread over the first batch, see ``rewards.py``);
3. advantages — each kind of term credited its own way (``credit.py``), summed and
   normalised over real tokens;
4. update — several epochs of minibatches: clipped policy loss, entropy bonus, value loss;
5. discriminator — updated on schedule, unless the guard holds it back;
6. logging and checkpoints;

then the summary. Every hyperparameter is a field of ``PPOConfig`` (``config.py``).

Resuming is exact, as for pre-training: the data, the sampling and the minibatch order of
step s are functions of (seed, s) only, the policy runs without dropout, and
``state.safetensors`` holds the policy, value head, discriminator, optimizer state and
the trainer's scalars (step, the discriminator's reward history, the ensemble's scale,
the byte length of ``metrics.jsonl``). A run killed at any moment and started again
with the same command ends with the same weights as one that was never interrupted.

The run directory is an online model's (``load_model`` reads it; ``config.json`` adds
the ``rl`` settings and the runs it was trained from), so evaluation and the live engine
use it like any accompanist.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from cojam.data.batches import TRANSPOSITIONS, FrameBatch, TrainBatches, song_examples
from cojam.data.cache import load_songs, load_spec
from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.checkpoint import (
    finished_summary,
    resume_run,
    save_config,
    save_training_state,
    save_weights,
    step_seed,
)
from cojam.models.online import SONG, style_token
from cojam.provenance import git_commit
from cojam.rl import credit
from cojam.rl.config import PPOConfig
from cojam.rl.discriminator import adversarial_reward, update_discriminator
from cojam.rl.losses import (
    clipped_policy_loss,
    explained_variance,
    masked_mean,
    normalise,
    value_loss,
)
from cojam.rl.players import RLModels, load_rl_models
from cojam.rl.rewards import member_scores, policy_scale, sequence_rewards, window_charts
from cojam.rl.rollout import (
    ChordScores,
    Rollout,
    chord_log_probs,
    exact_kl,
    frame_allowed,
    masked_log_softmax,
    play,
    playable,
    played_log_probs,
    teacher_distribution,
)


@dataclasses.dataclass(frozen=True)
class StepBatch:
    """One step's melodies, in row order: data rows (with their data chords), rows from
    the melody-only cache, then the rows whose opening seeds the melody agent."""

    rows: FrameBatch
    n_real: int  # data rows: the discriminator compares their chords with the policy's
    n_data: int  # rows accompanied as given (data and melody-only); the rest are partner rows


def pad_rows(batch: FrameBatch, length: int) -> FrameBatch:
    """``batch`` padded (``PAD``, mask False) to ``length`` frames."""
    extra = ((0, 0), (0, length - batch.melody.shape[1]))
    return FrameBatch(np.pad(batch.melody, extra, constant_values=PAD),
                      np.pad(batch.chords, extra, constant_values=PAD),
                      np.pad(batch.mask, extra, constant_values=False), batch.song_ids)


def step_batch(data: TrainBatches, melodies: TrainBatches | None, step: int,
               config: PPOConfig) -> StepBatch:
    """The rows of policy step ``step`` (a pure function of the seed and the step)."""
    n_partner = round(config.partner_fraction * config.batch_size)
    n_melody = 0 if melodies is None else melodies.batch_size
    rows = data.batch(step)
    n_real = config.batch_size - n_melody - n_partner
    if melodies is not None and n_melody:
        extra = melodies.batch(step)
        length = max(rows.melody.shape[1], extra.melody.shape[1])
        rows, extra = pad_rows(rows, length), pad_rows(extra, length)
        parts = [(a[:n_real], b, a[n_real:]) for a, b in
                 ((rows.melody, extra.melody), (rows.chords, extra.chords),
                  (rows.mask, extra.mask))]
        rows = FrameBatch(*(np.concatenate(p) for p in parts),
                          rows.song_ids[:n_real] + extra.song_ids + rows.song_ids[n_real:])
    return StepBatch(rows, n_real, config.batch_size - n_partner)


def rollouts(models: RLModels, batch: StepBatch, config: PPOConfig, step: int, device: str
             ) -> Rollout:
    """The step's rollouts, rows in the batch's order: the first ``n_data`` accompanied as
    given, the rest played with the melody agent after their opening beats."""
    melody = torch.from_numpy(batch.rows.melody).to(device)  # (B, T)
    mask = torch.from_numpy(batch.rows.mask).to(device)  # (B, T)
    generator = torch.Generator(device=device).manual_seed(step_seed(config.seed, step, 0))
    n_data = batch.n_data
    parts = []
    if n_data:
        start = torch.full((n_data,), BOS, dtype=torch.long, device=device)
        if config.song_style:  # the melody-only rows (``step_batch``) are songs
            start[batch.n_real:] = style_token(models.policy, SONG)
        parts.append(play(models.policy, melody[:n_data], mask[:n_data], generator=generator,
                          start=start))
    if n_data < len(melody):
        seed_frames = config.partner_seed_beats * models.policy.spec.frames_per_beat
        parts.append(play(models.policy, melody[n_data:], mask[n_data:], models.agent,
                          seed_frames, generator))
    return parts[0] if len(parts) == 1 else parts[0].cat(parts[1])


@dataclasses.dataclass
class Scored:
    """A batch of rollouts with every reward term and the frozen models' views of it."""

    local: torch.Tensor  # (B, T) frame-local reward of each chord token, summed over terms
    sequence: torch.Tensor  # (B,) sequence-level reward of each window
    parts: dict[str, torch.Tensor]  # {term: (B,) per window} for logging
    reference: ChordScores  # the frozen MLE model's view
    teacher: torch.Tensor | None  # (B, T, V) the teacher's masked log-probs, or None
    teacher_log_probs: torch.Tensor | None  # (B, T)
    adversarial: torch.Tensor | None  # (B,) unweighted -log(1 - D), 0 on agent rows


def song_rows(models: RLModels, rollout: Rollout, config: PPOConfig) -> torch.Tensor | None:
    """(B,) bool: the rollout's rows played in the song style (None without it)."""
    if not config.song_style:
        return None
    return rollout.start == style_token(models.policy, SONG)


@torch.no_grad()
def score(models: RLModels, rollout: Rollout, n_real: int, n_data: int, config: PPOConfig,
          scalars: dict[str, Any], data_rate: float | torch.Tensor | None = None) -> Scored:
    """Every reward term of a batch: frame-local ones per token, sequence ones per window.
    The first call sets the ensemble's scale (``scalars["ensemble_scale"]``). With
    ``frame_credit = "expected"`` the rule terms of the first ``n_data`` rows (fixed
    melodies) are left out of ``local``: ``expected_credit`` carries them. ``data_rate``:
    the training windows' chord attacks per beat, for the harmonic-rhythm term (or (B,), each
    row's own target: ``credit.row_change_targets``)."""
    spec, mask = models.policy.spec, rollout.mask
    reference = chord_log_probs(models.reference, rollout.melody, rollout.chords, mask)
    teacher = teacher_lp = None
    if models.teacher is not None:
        teacher = teacher_distribution(models.teacher, rollout.melody, rollout.chords, mask)
        teacher_lp = played_log_probs(teacher, playable(rollout.chords, mask, spec))
    adversarial = None
    if models.discriminator is not None:  # rows without data chords to compare with: 0
        adversarial = torch.zeros(len(mask))
        adversarial[:n_real] = adversarial_reward(
            models.discriminator, rollout.melody[:n_real], rollout.chords[:n_real],
            mask[:n_real])
    members = None
    if models.ensemble is not None:
        members = member_scores(models.ensemble, rollout.melody, rollout.chords, mask)
        if scalars.get("ensemble_scale") is None:  # the first batch sets the scale
            scalars["ensemble_scale"] = policy_scale(members)
    sequence, parts = sequence_rewards(rollout.melody, rollout.chords, mask, spec, config,
                                       members, scalars.get("ensemble_scale"), adversarial)
    rule_terms = credit.frame_terms(rollout.melody, rollout.chords, mask, spec, config,
                                    data_rate, song_rows(models, rollout, config))
    local_terms = {**rule_terms, **credit.token_terms(mask, rollout.log_probs,
                                                      reference.log_probs, teacher_lp, config)}
    device = mask.device
    sampled = torch.ones(len(mask), 1, device=device)  # rows whose rule terms are sampled
    if config.frame_credit == "expected":
        sampled[:n_data] = 0.0
    local = sum((t.to(device) * (sampled if name in rule_terms else 1.0)
                 for name, t in local_terms.items()), torch.zeros(mask.shape, device=device))
    parts.update({name: t.sum(1).cpu() for name, t in local_terms.items()})
    return Scored(local, sequence.to(device), parts, reference, teacher, teacher_lp,
                  adversarial)


@torch.no_grad()
def expected_credit(models: RLModels, rollout: Rollout, n_data: int, config: PPOConfig,
                    data_rate: float | torch.Tensor | None = None,
                    data_marginal: torch.Tensor | None = None) -> torch.Tensor | None:
    """(B, T, V) the advantage of every candidate chord under the frame-local rule terms
    (with ``data_marginal``, also the chord-vocabulary term, on the corpus-style rows
    only) on the first ``n_data`` rows (fixed melodies), 0 on the others; None unless
    ``frame_credit = "expected"`` (``credit.py``)."""
    if config.frame_credit != "expected" or not n_data:
        return None
    spec, mask = models.policy.spec, rollout.mask
    chords = playable(rollout.chords, mask, spec)
    log_p = masked_log_softmax(models.policy.head(rollout.hidden), frame_allowed(spec, chords))
    values = credit.candidate_rewards(rollout.melody, rollout.chords, mask, spec, config,
                                      data_rate, song_rows(models, rollout, config))
    rows = torch.arange(len(mask), device=mask.device) < n_data
    if data_marginal is not None and config.marginal_weight:
        corpus = rows & (rollout.start == BOS)  # the data's marginal is the corpus style's
        vocabulary = credit.marginal_rewards(log_p, corpus, mask, data_marginal, spec, config)
        values = values + vocabulary * (mask & corpus[:, None])[..., None]
    return credit.expected_advantages(values, log_p, rows, mask)


def update_policy(models: RLModels, optimizer: torch.optim.Optimizer, rollout: Rollout,
                  scored: Scored, advantages: torch.Tensor, targets: torch.Tensor,
                  config: PPOConfig, step: int, expected: torch.Tensor | None = None,
                  anchored: torch.Tensor | None = None) -> dict[str, float]:
    """Several epochs of minibatch updates of the policy and the value head; returns the
    mean of each diagnostic over the updates. ``expected`` (``expected_credit``) adds the
    exact policy gradient of the rule terms on the rows that have it; the exact KL loss
    applies to the rows ``anchored`` (B,) bool marks (default: all)."""
    policy, value_head, mask = models.policy, models.value_head, rollout.mask
    device = mask.device
    kl_mask = mask if anchored is None else mask & anchored.to(device)[:, None]
    order_generator = torch.Generator().manual_seed(step_seed(config.seed, step, 1))
    updates: list[dict[str, float]] = []
    for _ in range(config.epochs):
        order = torch.randperm(len(mask), generator=order_generator)
        for start in range(0, len(order), config.minibatch_size):
            rows = order[start : start + config.minibatch_size].to(device)
            scores = chord_log_probs(policy, rollout.melody[rows], rollout.chords[rows],
                                     mask[rows], rollout.start[rows])
            policy_loss, diagnostics = clipped_policy_loss(
                scores.log_probs, rollout.log_probs[rows], advantages[rows], mask[rows],
                config.clip)
            entropy = masked_mean(scores.entropy, mask[rows])
            predicted = value_head(scores.hidden.detach())  # (b, T, 2)
            critic_loss = sum(value_loss(predicted[..., k], targets[rows][..., k], mask[rows])
                              for k in (credit.LOCAL, credit.SEQUENCE))
            loss = policy_loss - config.entropy_coef * entropy + critic_loss
            if expected is not None:
                loss = loss + credit.expected_loss(scores.distribution, expected[rows],
                                                   mask[rows])
            if config.kl_loss_coef:
                kl_mle = masked_mean(exact_kl(scores.distribution,
                                              scored.reference.distribution[rows]),
                                     kl_mask[rows])
                loss = loss + config.kl_loss_coef * kl_mle
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(
                [*policy.parameters(), *value_head.parameters()], config.max_grad_norm)
            optimizer.step()
            updates.append({"losses/policy": policy_loss.item(),
                            "losses/value": critic_loss.item(),
                            "charts/entropy": entropy.item(),
                            "charts/clip_fraction": diagnostics["clip_fraction"],
                            "charts/approx_kl": diagnostics["approx_kl"],
                            "optim/grad_norm": grad_norm.item()})
    return {k: sum(u[k] for u in updates) / len(updates) for k in updates[0]}


def melody_only_rows(n_rows: int, n_real: int, n_data: int) -> torch.Tensor:
    """(B,) bool: a step's melody-only rows, ``n_real .. n_data`` (``step_batch``)."""
    rows = torch.zeros(n_rows, dtype=torch.bool)
    rows[n_real:n_data] = True
    return rows


def anchored_rows(batch: StepBatch, config: PPOConfig) -> torch.Tensor:
    """(B,) bool: the rows the exact KL loss applies to, all but the melody-only rows
    when ``kl_loss_melody_rows`` is False."""
    n_rows = len(batch.rows.mask)
    if config.kl_loss_melody_rows:
        return torch.ones(n_rows, dtype=torch.bool)
    return ~melody_only_rows(n_rows, batch.n_real, batch.n_data)


def update_adversary(models: RLModels, optimizer: torch.optim.Optimizer, batch: StepBatch,
                     rollout: Rollout, scored: Scored, step: int, config: PPOConfig,
                     scalars: dict[str, Any]) -> dict[str, float]:
    """The discriminator's turn on the data rows (data chords vs the policy's); returns
    its metrics (empty without a discriminator)."""
    n_real = batch.n_real
    if models.discriminator is None or not n_real or scored.adversarial is None:
        return {}
    real = tuple(torch.from_numpy(a)[:n_real] for a in (batch.rows.melody, batch.rows.chords,
                                                        batch.rows.mask))
    fake = (rollout.melody[:n_real], rollout.chords[:n_real], rollout.mask[:n_real])
    mean_adversarial = scored.adversarial[:n_real].mean().item()
    history = [*scalars["adversarial_history"], mean_adversarial]
    scalars["adversarial_history"] = history[-config.disc_reward_window:]
    result = update_discriminator(models.discriminator, optimizer, real, fake, step,
                                  scalars["adversarial_history"], config)
    scalars["disc_updates"] += int(result["updated"])
    return {**{f"disc/{k}": v for k, v in result.items()},
            "disc/updates": scalars["disc_updates"],
            "reward/adversarial_raw": mean_adversarial}


def step_row(rollout: Rollout, scored: Scored, values: torch.Tensor, targets: torch.Tensor,
             updates: dict[str, float], seconds: dict[str, float], spec: TokenSpec
             ) -> dict[str, float]:
    """The namespaced metrics of one policy step, with what a musician hears (charts)."""
    mask = rollout.mask
    kl = rollout.log_probs - scored.reference.log_probs
    row = {f"reward/{k}": v.mean().item() for k, v in scored.parts.items()}
    row.update({
        "reward/sequence": scored.sequence.mean().item(),
        "reward/local": (scored.local * mask).sum(1).mean().item(),
        "reward/total": ((scored.local * mask).sum(1) + scored.sequence).mean().item(),
        "kl/mle": masked_mean(kl, mask).item(),
        **updates,
        "charts/explained_variance": explained_variance(
            values[..., credit.SEQUENCE], targets[..., credit.SEQUENCE], mask),
        "charts/explained_variance_local": explained_variance(
            values[..., credit.LOCAL], targets[..., credit.LOCAL], mask),
        "charts/frames_per_second": mask.sum().item() / seconds["rollout"],
        "time/rollout_seconds": seconds["rollout"],
        "time/update_seconds": seconds["update"],
        **{f"charts/{k}": v for k, v in window_charts(rollout.melody, rollout.chords, mask,
                                                      spec).items()},
    })
    if scored.teacher_log_probs is not None:
        row["kl/teacher"] = masked_mean(rollout.log_probs - scored.teacher_log_probs,
                                        mask).item()
    return row


def melody_batches(melody_data: Path | None, spec: TokenSpec, rows: int, config: PPOConfig
                   ) -> TrainBatches | None:
    """Batches of ``rows`` training melodies of a melody-only cache, tokenised with the
    accompanist's vocabulary (None without a cache or rows); an error if one is missing."""
    if not rows:
        return None
    if melody_data is None:
        raise ValueError("melody_fraction > 0 needs a melody-only cache (--melodies)")
    examples = song_examples(load_songs(melody_data, "train"), spec, config.max_frames)
    if not examples:
        raise ValueError(f"{melody_data} holds no training melodies")
    return TrainBatches(examples, spec, rows, config.seed + 1, config.augment)


def heard_chords(batches: TrainBatches) -> list[np.ndarray]:
    """The training windows' chord rows as the policy meets them: in every transposition
    that augmentation may pick (as they are without augmentation)."""
    rows = [e.chords for e in batches.examples]
    if not batches.augment:
        return rows
    return [batches.tables[int(shift)][row] for shift in TRANSPOSITIONS for row in rows]


def new_optimizer(models: RLModels, config: PPOConfig) -> torch.optim.Optimizer:
    """One AdamW with a parameter group each for the policy, the value head and the
    discriminator: each update leaves the other groups' gradients None, so they do not
    move (one optimizer keeps the resume state in one place)."""
    groups = [{"params": list(models.policy.parameters()), "lr": config.lr},
              {"params": list(models.value_head.parameters()), "lr": config.value_lr}]
    if models.discriminator is not None:
        groups.append({"params": list(models.discriminator.parameters()),
                       "lr": config.disc_lr})
    return torch.optim.AdamW(groups, weight_decay=0.0)


def run_record(config: PPOConfig, runs: dict[str, Path | None], reward_runs: Sequence[Path],
               run_info: dict[str, Any] | None) -> dict[str, Any]:
    """What ``config.json`` records of a run: its settings and the runs it reads."""
    return {"rl": dataclasses.asdict(config),
            **{k: None if v is None else str(v) for k, v in runs.items()},
            "reward_runs": [str(r) for r in reward_runs], **(run_info or {})}


def assign_credit(models: RLModels, rollout: Rollout, batch: StepBatch, scored: Scored,
                  config: PPOConfig, data_rate: float | torch.Tensor | None,
                  data_marginal: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(value head's outputs (B, T, 2), normalised advantages (B, T), the value head's
    targets (B, T, 2), expected-credit advantages (B, T, V) or None): each kind of term
    credited its own way (``credit.py``)."""
    with torch.no_grad():
        values = models.value_head(rollout.hidden)  # (B, T, 2)
    attacks = credit.span_starts(rollout.chords, models.policy.spec)
    advantages, targets = credit.advantages(scored.local, attacks, scored.sequence,
                                            values, rollout.mask, config)
    expected = expected_credit(models, rollout, batch.n_data, config, data_rate,
                               data_marginal)
    return values, normalise(advantages, rollout.mask), targets, expected


def train_rl(
    config: PPOConfig,
    data_dir: Path,
    mle_run: Path,
    teacher_run: Path | None,
    melody_run: Path | None,
    reward_runs: Sequence[Path],
    out_dir: Path,
    run_info: dict[str, Any] | None = None,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    melody_data: Path | None = None,
) -> dict[str, Any]:
    """Post-train the accompanist of ``mle_run`` with PPO into run directory ``out_dir``
    (resuming from its ``state.safetensors``); returns the summary, also ``summary.json``
    (a finished run returns it at once). ``run_info`` (recipe, section) goes into
    ``config.json``; ``melody_data`` is a melody-only cache for ``melody_fraction``."""
    out_dir = Path(out_dir)
    if (summary := finished_summary(out_dir, "RL run", log)) is not None:
        return summary
    torch.set_num_threads(config.threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    # setup: data, models, optimizer, resume ---------------------------------------------
    spec = load_spec(data_dir)
    n_melody = round(config.melody_fraction * config.batch_size)
    batches = TrainBatches(song_examples(load_songs(data_dir, "train"), spec, config.max_frames),
                           spec, config.batch_size - n_melody, config.seed, config.augment)
    melodies = melody_batches(melody_data, spec, n_melody, config)
    models = load_rl_models(config, spec, Path(mle_run), teacher_run, melody_run, reward_runs,
                            device)
    optimizer = new_optimizer(models, config)
    data_rate = (credit.data_change_rate([e.chords for e in batches.examples], spec)
                 if config.rhythm_weight else None)
    data_marginal = (credit.data_chord_marginal(heard_chords(batches), spec)
                     if config.marginal_weight else None)
    log(f"rl: {len(batches.examples)} training windows, policy of "
        f"{sum(p.numel() for p in models.policy.parameters()):,} parameters on {device}")
    runs = {"data": data_dir, "mle_run": mle_run, "teacher_run": teacher_run,
            "melody_run": melody_run, "melody_data": melody_data}
    scalars = resume(out_dir, models, optimizer, run_record(config, runs, reward_runs,
                                                            run_info), log)  # makes out_dir

    started = time.perf_counter() - scalars["seconds"]
    step = scalars["step"]
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="rl", unit="step")
    with (out_dir / "metrics.jsonl").open("a") as metrics:
        while step < config.steps:
            torch.manual_seed(step_seed(config.seed, step, 2))  # dropout, if a model has any
            batch = step_batch(batches, melodies, step, config)
            tick = time.perf_counter()
            rollout = rollouts(models, batch, config, step, device)  # 1. rollout
            seconds = {"rollout": time.perf_counter() - tick}
            rates = credit.row_change_targets(song_rows(models, rollout, config), data_rate,
                                              config)
            scored = score(models, rollout, batch.n_real, batch.n_data, config, scalars,
                           rates)  # 2. rewards
            values, advantages, targets, expected = assign_credit(  # 3. advantages
                models, rollout, batch, scored, config, rates, data_marginal)
            tick = time.perf_counter()  # 4. update
            updates = update_policy(models, optimizer, rollout, scored, advantages, targets,
                                    config, step, expected, anchored_rows(batch, config))
            seconds["update"] = time.perf_counter() - tick
            row = update_adversary(models, optimizer, batch, rollout, scored, step, config,
                                   scalars)  # 5. discriminator
            step += 1  # 6. logging and checkpoints
            row.update(step_row(rollout, scored, values, targets, updates, seconds, spec),
                       **{"time/seconds": time.perf_counter() - started})
            metrics.write(json.dumps({"step": step, **row}) + "\n")
            metrics.flush()
            bar.update(1)
            bar.set_postfix(in_chord=f"{row['charts/note_in_chord']:.3f}",
                            kl=f"{row['kl/mle']:.3f}")
            if step % config.checkpoint_every == 0 or step == config.steps:
                scalars.update(step=step, metrics_bytes=metrics.tell(),
                               seconds=time.perf_counter() - started)
                checkpoint(out_dir, models, optimizer, scalars)
    bar.close()
    return finish(out_dir, step, time.perf_counter() - started, scalars, run_info, log)


def checkpoint(out_dir: Path, models: RLModels, optimizer: torch.optim.Optimizer,
               scalars: dict[str, Any]) -> None:
    """The policy's weights (loadable as a run) and the whole resume state."""
    save_weights(out_dir, models.policy)
    save_training_state(out_dir / "state.safetensors", models.trained(), optimizer, scalars)


def resume(out_dir: Path, models: RLModels, optimizer: torch.optim.Optimizer,
           info: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The trainer's scalars: restored with the weights and optimizer from
    ``state.safetensors`` if the run was interrupted, fresh otherwise (then the run's
    ``config.json`` is written). ``metrics.jsonl`` is cut back to the restored step."""
    fresh = {"step": 0, "metrics_bytes": 0, "seconds": 0.0, "disc_updates": 0,
             "adversarial_history": [], "ensemble_scale": None}
    return resume_run(out_dir, models.trained(), optimizer, ("rl", info["rl"]),
                      lambda: save_config(out_dir, models.policy,
                                          {**info, "git_commit": git_commit()}),
                      fresh, log)


def finish(out_dir: Path, step: int, seconds: float, scalars: dict[str, Any],
           run_info: dict[str, Any] | None, log: Callable[[str], None]) -> dict[str, Any]:
    """Write ``summary.json`` (the run is finished) and drop the resume state."""
    summary = {"kind": "rl", "steps": step, "seconds": round(seconds, 1),
               "disc_updates": scalars["disc_updates"],
               "ensemble_scale": scalars["ensemble_scale"], **(run_info or {})}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "state.safetensors").unlink(missing_ok=True)
    log(f"rl: {step} policy steps in {summary['seconds']}s")
    return summary
