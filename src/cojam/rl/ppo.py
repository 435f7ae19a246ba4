"""PPO post-training of the online accompanist: ReaLchords, and GAPT with the adversarial
term. ``train_rl`` reads top to bottom: setup (data, models, optimizer, resume), then
each policy step

1. rollout — a batch of training windows (transposed), most accompanied as data melodies
   frame by frame, some played with the melody agent; log-probs recorded as sampled;
2. rewards — sequence terms on the last chord, KL and distillation on every chord (the
   ensemble rescaled by its spread over the first batch, see ``rewards.py``);
3. advantages — GAE over chord tokens, normalised over real tokens;
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

from cojam.data.batches import FrameBatch, TrainBatches, song_examples
from cojam.data.cache import load_songs, load_spec
from cojam.models.checkpoint import (
    load_training_state,
    read_config,
    save_config,
    save_training_state,
    save_weights,
)
from cojam.models.train import git_commit
from cojam.rl.config import PPOConfig
from cojam.rl.discriminator import adversarial_reward, update_discriminator
from cojam.rl.losses import (
    clipped_policy_loss,
    explained_variance,
    gae,
    masked_mean,
    normalise,
    value_loss,
)
from cojam.rl.models import RLModels, load_rl_models
from cojam.rl.rewards import member_scores, policy_scale, sequence_rewards, token_rewards
from cojam.rl.rollout import (
    Rollout,
    chord_log_probs,
    exact_kl,
    play,
    playable,
    played_log_probs,
    teacher_distribution,
)


def step_seed(seed: int, step: int, stream: int) -> int:
    """A seed for one random stream (sampling, minibatch order, dropout) of one step."""
    return (seed * 1_000_003 + step) * 8 + stream


def repeat_rows(batch: FrameBatch, times: int) -> FrameBatch:
    """Each row of ``batch`` ``times`` times in a row (a group of rollouts per melody)."""
    if times == 1:
        return batch
    return FrameBatch(*(np.repeat(a, times, axis=0) for a in (batch.melody, batch.chords,
                                                                batch.mask)),
                      tuple(i for i in batch.song_ids for _ in range(times)))


def group_relative(sequence: torch.Tensor, group_size: int) -> torch.Tensor:
    """(B,) sequence rewards minus the mean of their group of ``group_size`` rows."""
    if group_size == 1:
        return sequence
    groups = sequence.view(-1, group_size)
    return (groups - groups.mean(dim=1, keepdim=True)).flatten()


def rollouts(models: RLModels, batch: FrameBatch, config: PPOConfig, step: int, device: str
             ) -> tuple[Rollout, int]:
    """(the step's rollouts, the number of data-melody rows, which come first; the rest
    were played with the melody agent)."""
    melody = torch.from_numpy(batch.melody).to(device)  # (B, T)
    mask = torch.from_numpy(batch.mask).to(device)  # (B, T)
    generator = torch.Generator(device=device).manual_seed(step_seed(config.seed, step, 0))
    groups = len(melody) // config.group_size  # a group's rows share a melody: keep them together
    n_data = len(melody) - config.group_size * round(config.partner_fraction * groups)
    parts = []
    if n_data:
        parts.append(play(models.policy, melody[:n_data], mask[:n_data], generator=generator))
    if n_data < len(melody):
        seed_frames = config.partner_seed_beats * models.policy.spec.frames_per_beat
        parts.append(play(models.policy, melody[n_data:], mask[n_data:], models.agent,
                          seed_frames, generator))
    rollout = parts[0] if len(parts) == 1 else parts[0].cat(parts[1])
    return rollout, n_data


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
) -> dict[str, Any]:
    """Post-train the accompanist of ``mle_run`` with PPO into run directory ``out_dir``
    (resuming from its ``state.safetensors`` if there is one); returns the summary, also
    written to ``summary.json`` (a finished run returns it at once). ``run_info`` (recipe,
    section) is recorded in ``config.json``."""
    out_dir = Path(out_dir)
    if (out_dir / "summary.json").exists():
        log(f"{out_dir} already holds a finished RL run")
        return json.loads((out_dir / "summary.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    # setup: data, models, optimizer -----------------------------------------------------
    spec = load_spec(data_dir)
    examples = song_examples(load_songs(data_dir, "train"), spec, config.max_frames)
    batches = TrainBatches(examples, spec, config.batch_size // config.group_size, config.seed,
                           config.augment)
    models = load_rl_models(config, spec, Path(mle_run), teacher_run, melody_run, reward_runs,
                            device)
    policy, value_head, disc = models.policy, models.value_head, models.discriminator
    groups = [{"params": list(policy.parameters()), "lr": config.lr},
              {"params": list(value_head.parameters()), "lr": config.value_lr}]
    if disc is not None:  # one optimizer: each update leaves the other groups' grads None
        groups.append({"params": list(disc.parameters()), "lr": config.disc_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    trained = models.trained()
    log(f"rl: {len(examples)} training windows, policy of "
        f"{sum(p.numel() for p in policy.parameters()):,} parameters on {device}")

    # resume -------------------------------------------------------------------------------
    info = {"rl": dataclasses.asdict(config), "data": str(data_dir), "mle_run": str(mle_run),
            "teacher_run": None if teacher_run is None else str(teacher_run),
            "melody_run": None if melody_run is None else str(melody_run),
            "reward_runs": [str(r) for r in reward_runs], **(run_info or {})}
    state_path, metrics_path = out_dir / "state.safetensors", out_dir / "metrics.jsonl"
    scalars: dict[str, Any] = {"step": 0, "metrics_bytes": 0, "seconds": 0.0,
                               "disc_updates": 0, "adversarial_history": [],
                               "ensemble_scale": None}
    if state_path.exists():
        if read_config(out_dir).get("rl") != info["rl"]:
            raise ValueError(f"{out_dir} holds an RL run with other settings; choose "
                             "another --out")
        scalars = load_training_state(state_path, trained, optimizer)
        log(f"resumed from step {scalars['step']}")
    else:
        save_config(out_dir, policy, {**info, "git_commit": git_commit()})
    with metrics_path.open("a") as f:  # drop lines written after the resumed state
        f.truncate(scalars["metrics_bytes"])
    metrics = metrics_path.open("a")
    started = time.perf_counter() - scalars["seconds"]
    step = scalars["step"]
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="rl", unit="step")
    while step < config.steps:
        torch.manual_seed(step_seed(config.seed, step, 2))  # dropout, if a model has any
        batch = repeat_rows(batches.batch(step), config.group_size)

        # 1. rollout -----------------------------------------------------------------------
        tick = time.perf_counter()
        rollout, n_data = rollouts(models, batch, config, step, device)
        mask = rollout.mask  # (B, T) real chord tokens
        rollout_seconds = time.perf_counter() - tick

        # 2. rewards -----------------------------------------------------------------------
        with torch.no_grad():
            reference = chord_log_probs(models.reference, rollout.melody, rollout.chords, mask)
            mle_lp = reference.log_probs  # (B, T)
            teacher_dist = None if models.teacher is None else teacher_distribution(
                models.teacher, rollout.melody, rollout.chords, mask)  # (B, T, V)
            teacher_lp = None if teacher_dist is None else played_log_probs(
                teacher_dist, playable(rollout.chords, mask, spec))  # (B, T)
            values = value_head(rollout.hidden).squeeze(-1)  # (B, T)
            if not config.critic:  # the group mean is the only baseline
                values = torch.zeros_like(values)
        real_pairs = tuple(torch.from_numpy(a)[:n_data] for a in
                           (batch.melody, batch.chords, batch.mask))
        policy_pairs = (rollout.melody[:n_data], rollout.chords[:n_data], mask[:n_data])
        adversarial = None
        if disc is not None:  # melody-agent rows have no data chords to compare with: 0
            adversarial = torch.zeros(len(mask))
            adversarial[:n_data] = adversarial_reward(disc, *policy_pairs)
        members = None
        if models.ensemble is not None:
            members = member_scores(models.ensemble, rollout.melody, rollout.chords, mask)
            if scalars.get("ensemble_scale") is None:  # the first batch sets the scale
                scalars["ensemble_scale"] = policy_scale(members)
        sequence, parts = sequence_rewards(rollout.melody, rollout.chords, mask, spec, config,
                                           members, scalars.get("ensemble_scale"),
                                           adversarial)
        rewards, token_parts = token_rewards(group_relative(sequence, config.group_size).to(device),
                                             mask, rollout.log_probs,
                                             mle_lp, teacher_lp, config.kl_coef,
                                             config.distill_coef)

        # 3. advantages --------------------------------------------------------------------
        advantages = gae(rewards, values, mask, config.gamma, config.gae_lambda)  # (B, T)
        returns = advantages + values
        advantages = normalise(advantages, mask)

        # 4. update ------------------------------------------------------------------------
        tick = time.perf_counter()
        order_generator = torch.Generator().manual_seed(step_seed(config.seed, step, 1))
        updates: list[dict[str, float]] = []
        for _ in range(config.epochs):
            order = torch.randperm(len(mask), generator=order_generator)
            for start in range(0, len(order), config.minibatch_size):
                rows = order[start : start + config.minibatch_size].to(device)
                scores = chord_log_probs(policy, rollout.melody[rows], rollout.chords[rows],
                                         mask[rows])
                policy_loss, diagnostics = clipped_policy_loss(
                    scores.log_probs, rollout.log_probs[rows], advantages[rows], mask[rows],
                    config.clip)
                entropy = masked_mean(scores.entropy, mask[rows])
                predicted = value_head(scores.hidden.detach()).squeeze(-1)  # (b, T)
                critic_loss = value_loss(predicted, returns[rows], mask[rows]) * config.critic
                loss = policy_loss - config.entropy_coef * entropy + critic_loss
                if config.kl_loss_coef:
                    kl_mle = masked_mean(exact_kl(scores.distribution,
                                                  reference.distribution[rows]), mask[rows])
                    loss = loss + config.kl_loss_coef * kl_mle
                if config.distill_loss_coef and teacher_dist is not None:
                    # forward KL(teacher || pi), mass-covering: the reverse direction
                    # collapsed the policy onto the teacher's commonest token (the hold)
                    kl_teacher = masked_mean(exact_kl(teacher_dist[rows], scores.distribution),
                                             mask[rows])
                    loss = loss + config.distill_loss_coef * kl_teacher
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
        update_seconds = time.perf_counter() - tick

        # 5. discriminator -----------------------------------------------------------------
        row: dict[str, float] = {}
        if disc is not None and n_data:
            mean_adversarial = adversarial[:n_data].mean().item()
            history = [*scalars["adversarial_history"], mean_adversarial]
            scalars["adversarial_history"] = history[-config.disc_reward_window:]
            result = update_discriminator(disc, optimizer, real_pairs, policy_pairs, step,
                                          scalars["adversarial_history"], config)
            scalars["disc_updates"] += int(result["updated"])
            row.update({f"disc/{k}": v for k, v in result.items()},
                       **{"disc/updates": scalars["disc_updates"],
                          "reward/adversarial_raw": mean_adversarial})

        # 6. logging and checkpoints -------------------------------------------------------
        step += 1
        bar.update(1)
        frames = mask.sum().item()
        row.update({f"reward/{k}": v.mean().item() for k, v in parts.items()})
        row.update({f"reward/{k}": v.mean().item() for k, v in token_parts.items()})
        kl = (rollout.log_probs - mle_lp)
        row.update({
            "reward/sequence": sequence.mean().item(),
            "reward/total": (rewards * mask).sum(1).mean().item(),
            "kl/mle": masked_mean(kl, mask).item(),
            **({} if teacher_lp is None else
               {"kl/teacher": masked_mean(rollout.log_probs - teacher_lp, mask).item()}),
            **{k: sum(u[k] for u in updates) / len(updates) for k in updates[0]},
            "charts/explained_variance": explained_variance(values, returns, mask),
            "charts/frames_per_second": frames / rollout_seconds,
            "time/rollout_seconds": rollout_seconds,
            "time/update_seconds": update_seconds,
            "time/seconds": time.perf_counter() - started,
        })
        metrics.write(json.dumps({"step": step, **row}) + "\n")
        metrics.flush()
        bar.set_postfix(reward=f"{row['reward/sequence']:.3f}", kl=f"{row['kl/mle']:.3f}")
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_weights(out_dir, policy)
            scalars.update(step=step, metrics_bytes=metrics.tell(),
                           seconds=time.perf_counter() - started)
            save_training_state(state_path, trained, optimizer, scalars)
    bar.close()
    metrics.close()

    summary = {"kind": "rl", "steps": step, "seconds": round(time.perf_counter() - started, 1),
               "disc_updates": scalars["disc_updates"],
               "ensemble_scale": scalars["ensemble_scale"], **(run_info or {})}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    state_path.unlink(missing_ok=True)
    log(f"rl: {step} policy steps in {summary['seconds']}s")
    return summary
