"""KL-control melody tuning (Sequence Tutor): off-policy Q-learning of the melody agent
on music-theory rewards, held near the MLE agent (the prior) by the prior's log-likelihood.

The network being tuned is a copy of the MLE melody agent; its melody logits at each frame
are read as values v(s, ·) of the agent's next melody token, in units of the KL weight c
(v = Q / c). Three backups of the same idea (Jaques et al. 2017), for a transition
s -a-> s' with music-theory reward r:

- ``q``   Q-learning, log prior in the reward:  v(s,a) = r/c + log p(a|s) + γ max v'(s')
- ``psi`` Ψ-learning (KL-regularised, soft):    v(s,a) = r/c + log p(a|s) + γ lse v'(s')
- ``g``   G-learning, prior inside the backup:  v(s,a) = r/c + γ lse (log p(·|s') + v'(s'))

where v' is the target network's and lse is log-sum-exp over the allowed tokens. The
policy plays softmax(v) for ``q`` and ``psi`` and softmax(log p + v) for ``g``. So that
the tuned network is an ordinary melody agent (the softmax of its logits is the tuned
policy, wherever it is loaded), ``g`` reads its values as v = logits - prior logits: it
starts at G = 0, the prior's policy, as Ψ does (``own_values``). Since Ψ = G + log p,
reading both from one network this way makes their Bellman errors equal term by term:
v(s,a) - target = logits(s,a) - prior(s,a) - r/c - γ (lse logits'(s') - lse prior(s'))
for either, where prior is the prior's logits. Under this parametrisation Ψ- and
G-learning are one algorithm (a test checks it); the original's differed in how each
network's raw outputs were read, not in what they converge to. Q-learning's policy is a
Boltzmann policy on Q / c (the original sampled from the softmax of its Q-values too).

The backups and the Bellman error (``bellman_loss``) read whichever stream a network plays,
so learning the accompanist from logged jams (``cojam.learn.offline``) shares them, adding
plain Q-learning (``naive``) and a pessimistic backup over Monte Carlo dropout samples of
the target network.

``train_kl_control`` reads top to bottom: setup (prompts, models, replay, optimizer,
resume), then each step

1. collect — every ``collect_every`` steps the current policy jams ``rollout_batch``
   melodies with the frozen MLE accompanist (``rollout.play`` with the network as the
   melody agent: the decode loop PPO's partner rollouts use), each opening with
   ``seed_frames`` of a real training tune; the rule rewards of every played frame go
   into the replay buffer with them;
2. learn — a batch of stored rollouts, teacher-forced through the network, the prior and
   the target network in one pass each; squared error to the backup on every played frame;
3. target — Polyak averaging of the target network towards the network;
4. logging and checkpoints;

then the summary. Every hyperparameter is a field of ``KLControlConfig``, read from the
recipe's ``kl-control`` section.

Resuming is exact, as for the other trainers: prompts, sampling and replay draws of step
s are functions of (seed, s); the network runs without dropout; and ``state.safetensors``
holds the network, the target network, the replay buffer (as module buffers), the
optimizer and the trainer's scalars.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from cojam.configs import load_section
from cojam.data.cache import load_songs
from cojam.data.tokens import BOS, PAD, TokenSpec, song_to_frames
from cojam.models.checkpoint import (
    finished_summary,
    read_config,
    resume_run,
    save_config,
    save_training_state,
    save_weights,
    step_seed,
)
from cojam.models.online import OnlineModel
from cojam.models.sampling import allowed_mask
from cojam.provenance import git_commit
from cojam.rewards.melody_rules import Key, Melody, RuleWeights, key_of_song, rule_rewards
from cojam.rl.players import frozen
from cojam.rl.rollout import masked_log_softmax, play

METHODS = ("q", "psi", "g")
BATCH_METHODS = ("naive", *METHODS)  # learning from logs also runs plain Q-learning
SECTION = "kl-control"


@dataclass(frozen=True)
class KLControlConfig:
    """How the melody agent is tuned (the recipe's ``kl-control`` section)."""

    method: Literal["q", "psi", "g"] = "psi"
    """the backup: Q-learning with log prior reward, Ψ-learning or G-learning"""
    steps: int = 300
    """gradient steps"""
    kl_weight: float = 2.0
    """c: rewards count r / c against the prior's log-likelihood (larger stays nearer)"""
    gamma: float = 0.5
    """discount per frame (the original's 0.5)"""
    lr: float = 1e-4
    """Adam learning rate"""
    grad_clip: float = 1.0
    """clip the global gradient norm to this"""
    target_update: float = 0.01
    """Polyak rate of the target network per step (the original's 0.01)"""
    batch_size: int = 16
    """stored rollouts per gradient step"""
    rollout_batch: int = 16
    """rollouts collected at a time"""
    collect_every: int = 4
    """collect new rollouts every N gradient steps"""
    buffer_size: int = 256
    """rollouts the replay buffer keeps (the oldest are replaced)"""
    seed_frames: int = 16
    """frames of a real tune each rollout opens with (the key is that tune's)"""
    episode_frames: int = 64
    """frames per rollout, the seed included"""
    rules: RuleWeights = field(default_factory=RuleWeights)
    """the music-theory rewards"""
    checkpoint_every: int = 25
    """write the resume state every N steps (and at the end)"""
    log_every: int = 5
    """write training metrics every N steps"""
    seed: int = 0
    """seeds prompts, sampling and replay draws"""
    threads: int = 1
    """torch CPU threads"""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0 < self.seed_frames < self.episode_frames:
            raise ValueError(f"need 0 < seed_frames ({self.seed_frames}) < episode_frames "
                             f"({self.episode_frames})")
        if self.kl_weight <= 0:
            raise ValueError(f"kl_weight must be positive, got {self.kl_weight}")


def load_kl_control_section(recipe: str | Path) -> KLControlConfig:
    return load_section(recipe, SECTION, KLControlConfig)


# ------------------------------------------------------------------ the backups (pure)

def backup_values(method: str, next_values: torch.Tensor, next_log_prior: torch.Tensor
                  ) -> torch.Tensor:
    """(..., V) target values and prior log-probs at s' (-inf off the allowed actions)
    -> (...) the value of s' each method backs up."""
    if method in ("q", "naive"):
        return next_values.max(dim=-1).values
    if method == "psi":
        return next_values.logsumexp(dim=-1)
    if method == "g":
        return (next_log_prior + next_values).logsumexp(dim=-1)
    raise ValueError(f"method must be one of {BATCH_METHODS}, got {method!r}")


def bellman_targets(method: str, reward: torch.Tensor, log_prior_taken: torch.Tensor,
                    next_values: torch.Tensor, next_log_prior: torch.Tensor,
                    done: torch.Tensor, gamma: float, kl_weight: float) -> torch.Tensor:
    """(...) the regression target of v(s, a): r / c, plus log p(a|s) for ``q`` and
    ``psi``, plus γ times the backed-up value of s' unless ``done``. ``naive`` is plain
    Q-learning (no prior anywhere: the batch-RL baseline that KL-control fixes).
    ``next_values`` may carry a leading axis of dropout samples: the backup is then their
    minimum, a pessimistic lower bound (Monte Carlo dropout, Way Off-Policy)."""
    immediate = reward / kl_weight + (0.0 if method in ("g", "naive") else log_prior_taken)
    future = backup_values(method, next_values, next_log_prior)
    if future.dim() > reward.dim():
        future = future.min(dim=0).values
    return immediate + gamma * torch.where(done, 0.0, future)


def policy_logits(method: str, values: torch.Tensor, log_prior: torch.Tensor) -> torch.Tensor:
    """(..., V) the policy's logits from values: v, or log p + v for ``g``."""
    return log_prior + values if method == "g" else values


# ---------------------------------------------------------------- prompts and replay

@dataclass(frozen=True)
class Prompt:
    """The opening of a training tune and its key."""

    song_id: str
    melody: np.ndarray  # (seed_frames,) melody tokens
    key: Key


def load_prompts(data_dir: Path, split: str, spec: TokenSpec, seed_frames: int
                 ) -> list[Prompt]:
    """The first ``seed_frames`` frames (from the first note) of every tune of ``split``
    that has a key and is that long."""
    prompts = []
    for song in load_songs(data_dir, split):
        if song.key is None:
            continue
        melody, _ = song_to_frames(song, spec)
        sounding = np.flatnonzero(melody != spec.melody_silence)
        if len(sounding) and len(melody) - sounding[0] >= seed_frames:
            opening = melody[sounding[0] : sounding[0] + seed_frames]
            prompts.append(Prompt(song.song_id, opening, key_of_song(song)))
    if not prompts:
        raise ValueError(f"{data_dir}: no {split} tune with a key and {seed_frames} frames")
    return prompts


class Replay(nn.Module):
    """A ring buffer of rollouts, held as module buffers so that the resume state (one
    atomic safetensors file) carries it."""

    def __init__(self, size: int, frames: int):
        super().__init__()
        self.register_buffer("melody", torch.full((size, frames), PAD, dtype=torch.long))
        self.register_buffer("chords", torch.full((size, frames), PAD, dtype=torch.long))
        self.register_buffer("reward", torch.zeros(size, frames))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # rollouts ever added

    def add(self, melody: torch.Tensor, chords: torch.Tensor, reward: torch.Tensor) -> None:
        size = len(self.melody)
        rows = (self.count + torch.arange(len(melody))) % size
        self.melody[rows], self.chords[rows], self.reward[rows] = melody, chords, reward
        self.count += len(melody)

    def sample(self, batch_size: int, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        filled = int(min(self.count.item(), len(self.melody)))
        rows = torch.randint(filled, (batch_size,), generator=generator)
        return self.melody[rows], self.chords[rows], self.reward[rows]


def melody_rewards(melody: torch.Tensor, keys: list[Key], spec: TokenSpec, rules: RuleWeights,
                   start: int) -> tuple[torch.Tensor, dict[str, float]]:
    """(B, T) played melodies -> ((B, T) rule reward of each frame, zero in the seed; the
    mean of each rule's total per melody, for the log)."""
    rows, totals = [], {}
    for tokens, key in zip(melody.cpu().numpy(), keys, strict=True):
        terms = rule_rewards(Melody.from_tokens(tokens, spec), key, rules, start)
        rows.append(np.sum(list(terms.values()), axis=0))
        for name, values in terms.items():
            totals[name] = totals.get(name, 0.0) + values.sum() / len(keys)
    return torch.tensor(np.array(rows), dtype=torch.float32), totals


# ------------------------------------------------------------------------- learning

def own_allowed(spec: TokenSpec, stream: str, tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) one stream's tokens -> (B, T, V) the sampler's mask at each frame."""
    previous = torch.cat([torch.full_like(tokens[:, :1], BOS), tokens[:, :-1]], dim=1)
    return allowed_mask(spec, stream, previous.flatten()).view(*tokens.shape, -1)


def melody_allowed(spec: TokenSpec, melody: torch.Tensor) -> torch.Tensor:
    """(B, T) melody tokens -> (B, T, V) the sampler's mask at each frame."""
    return own_allowed(spec, "melody", melody)


def own_logits(model: OnlineModel, melody: torch.Tensor, chords: torch.Tensor
               ) -> torch.Tensor:
    """(B, T, V) teacher-forced logits of the stream the model plays, at each frame."""
    chord_logits, melody_logits = model.frame_logits(melody, chords)
    return chord_logits if model.own_stream == "chord" else melody_logits


def own_tokens(model: OnlineModel, melody: torch.Tensor, chords: torch.Tensor
               ) -> torch.Tensor:
    return chords if model.own_stream == "chord" else melody


def own_values(method: str, model: OnlineModel, prior_logits: torch.Tensor,
               melody: torch.Tensor, chords: torch.Tensor, allowed: torch.Tensor
               ) -> torch.Tensor:
    """(B, T, V) a network's values of each frame's own token (the melody agent's melody,
    the accompanist's chords), -inf off the mask: for
    ``g`` its logits minus the prior's (G = 0 at the start); for ``q`` and ``psi`` its
    logits minus the log-normaliser of the prior's (a per-state constant the policy's
    softmax ignores), so that at the start they are log p exactly, Ψ's fixed point without
    rewards. Raw logits carry an arbitrary offset per state (about 14 for our agents)
    that the first updates would otherwise spend the network's capacity, and the prior's
    policy, to fit."""
    logits = own_logits(model, melody, chords)  # (B, T, V) predicting own token t
    prior_logits = prior_logits.masked_fill(~allowed, float("-inf"))
    if method == "g":
        values = logits.float() - prior_logits
    else:
        values = logits.float() - prior_logits.logsumexp(dim=-1, keepdim=True)
    return values.masked_fill(~allowed, float("-inf"))


def td_loss(config: KLControlConfig, network: OnlineModel, target: OnlineModel,
            prior: OnlineModel, melody: torch.Tensor, chords: torch.Tensor,
            reward: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared Bellman error over the played frames of a batch of rollouts (the
    frames after the seed; the last frame ends the episode)."""
    done = torch.zeros_like(reward, dtype=torch.bool)
    done[:, -1] = True
    played = torch.zeros_like(done)
    played[:, config.seed_frames :] = True
    return bellman_loss(config.method, config.gamma, config.kl_weight, network, target,
                        prior, melody, chords, reward, played, done)


def bellman_loss(method: str, gamma: float, kl_weight: float, network: OnlineModel,
                 target: OnlineModel, prior: OnlineModel, melody: torch.Tensor,
                 chords: torch.Tensor, reward: torch.Tensor, played: torch.Tensor,
                 done: torch.Tensor, target_samples: int = 0
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared Bellman error of the network's own tokens over the ``played`` frames
    of (B, T) rows, an episode ending at each ``done`` frame (s' of frame t is t + 1).
    ``target_samples`` > 0 reads the target network that many times with dropout on and
    backs up the minimum (the target's dropout rate is its own: ``set_dropout``)."""
    spec = network.spec
    taken_tokens = own_tokens(network, melody, chords)
    allowed = own_allowed(spec, network.own_stream, taken_tokens)  # (B, T, V)
    with torch.no_grad():
        prior_logits = own_logits(prior, melody, chords).float()
        log_prior = masked_log_softmax(prior_logits, allowed)  # (B, T, V)
        if target_samples > 0:
            target.train()
            target_values = torch.stack([
                own_values(method, target, prior_logits, melody, chords, allowed)
                for _ in range(target_samples)])  # (S, B, T, V)
            target.eval()
        else:
            target_values = own_values(method, target, prior_logits, melody, chords,
                                          allowed)
    values = own_values(method, network, prior_logits, melody, chords, allowed)
    taken = values.gather(2, taken_tokens[..., None])[..., 0]  # (B, T)
    log_prior_taken = log_prior.gather(2, taken_tokens[..., None])[..., 0]
    next_values = torch.cat([target_values[..., 1:, :], target_values[..., -1:, :]], dim=-2)
    next_log_prior = torch.cat([log_prior[:, 1:], log_prior[:, -1:]], dim=1)
    targets = bellman_targets(method, reward, log_prior_taken, next_values, next_log_prior,
                              done, gamma, kl_weight)
    loss = ((taken - targets.detach())[played] ** 2).mean()
    with torch.no_grad():
        log_policy = torch.log_softmax(policy_logits(method, values, log_prior), dim=-1)
        kl = (log_policy.exp() * (log_policy - log_prior).masked_fill(~allowed, 0.0)).sum(-1)
    return loss, {"losses/td": loss.item(), "values/taken": taken[played].mean().item(),
                  "values/target": targets[played].mean().item(),
                  "kl/prior": kl[played].mean().item(),
                  "charts/prior_log_prob": log_prior_taken[played].mean().item()}


def set_dropout(model: nn.Module, rate: float) -> nn.Module:
    """Every dropout of ``model`` at ``rate`` (Monte Carlo dropout of a target network
    whose recipe trained it without)."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = rate
    return model


def polyak(target: nn.Module, network: nn.Module, rate: float) -> None:
    with torch.no_grad():
        for t, n in zip(target.parameters(), network.parameters(), strict=True):
            t.lerp_(n, rate)


# -------------------------------------------------------------------------- training

@dataclass
class Tuning:
    """What a tuning run plays with; ``trained`` is what a checkpoint holds."""

    network: OnlineModel
    target: OnlineModel
    prior: OnlineModel
    accompanist: OnlineModel
    replay: Replay

    def trained(self) -> nn.ModuleDict:
        return nn.ModuleDict({"network": self.network, "target": self.target,
                              "replay": self.replay})


def collect(tuning: Tuning, prompts: list[Prompt], config: KLControlConfig, step: int
            ) -> dict[str, float]:
    """Play ``rollout_batch`` melodies with the current network and store them."""
    spec = tuning.network.spec
    picks = np.random.default_rng(step_seed(config.seed, step, 0)).integers(
        len(prompts), size=config.rollout_batch)
    opening = torch.full((config.rollout_batch, config.episode_frames), spec.melody_silence)
    opening[:, : config.seed_frames] = torch.from_numpy(np.stack([prompts[i].melody
                                                                  for i in picks]))
    generator = torch.Generator().manual_seed(step_seed(config.seed, step, 1))
    played = play(tuning.accompanist, opening, torch.ones_like(opening, dtype=torch.bool),
                  tuning.network, config.seed_frames, generator)
    melody, chords = played.melody.cpu(), played.chords.cpu()
    reward, terms = melody_rewards(melody, [prompts[i].key for i in picks], spec, config.rules,
                                   config.seed_frames)
    tuning.replay.add(melody, chords, reward)
    return {"reward/total": reward.sum(1).mean().item(),
            **{f"reward/{name}": value for name, value in terms.items()}}


def load_tuning(config: KLControlConfig, melody_run: Path, accompanist_run: Path,
                device: str) -> Tuning:
    """The network (a copy of the MLE agent), its target, the frozen prior and partner."""
    prior = frozen(melody_run, "melody", _spec_of(melody_run), device)
    accompanist = frozen(accompanist_run, "online", prior.spec, device)
    assert isinstance(prior, OnlineModel) and isinstance(accompanist, OnlineModel)
    if config.episode_frames > min(prior.config.max_frames, accompanist.config.max_frames):
        raise ValueError(f"episode_frames {config.episode_frames} exceed a model's window")
    network = copy.deepcopy(prior).requires_grad_(True).eval()  # no dropout, ever
    target = copy.deepcopy(prior)
    return Tuning(network, target, prior, accompanist,
                  Replay(config.buffer_size, config.episode_frames).to(device))


def _spec_of(run_dir: Path) -> TokenSpec:
    return TokenSpec.from_dict(read_config(run_dir)["spec"])


def train_kl_control(
    config: KLControlConfig,
    melody_run: Path,
    accompanist_run: Path,
    data_dir: Path,
    out_dir: Path,
    run_info: dict[str, Any] | None = None,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Tune the melody agent of ``melody_run`` into run directory ``out_dir`` (resuming
    from its ``state.safetensors``), prompting with the training tunes of the cache in
    ``data_dir``; returns the summary, also ``summary.json``. The run directory is a
    melody agent's: ``load_model`` and ``--melody-agent`` read it."""
    out_dir = Path(out_dir)
    if (summary := finished_summary(out_dir, "tuning run", log)) is not None:
        return summary
    torch.set_num_threads(config.threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    # setup: prompts, models, replay, optimizer, resume ----------------------------------
    tuning = load_tuning(config, Path(melody_run), Path(accompanist_run), device)
    prompts = load_prompts(data_dir, "train", tuning.prior.spec, config.seed_frames)
    optimizer = torch.optim.Adam(tuning.network.parameters(), lr=config.lr)
    log(f"tune-melody ({config.method}): {len(prompts)} training prompts, network of "
        f"{sum(p.numel() for p in tuning.network.parameters()):,} parameters on {device}")
    info = {"kl_control": dataclasses.asdict(config), "melody_run": str(melody_run),
            "accompanist_run": str(accompanist_run), "data": str(data_dir), **(run_info or {})}
    scalars = resume(out_dir, tuning, optimizer, info, log)

    metrics = (out_dir / "metrics.jsonl").open("a")
    started = time.perf_counter() - scalars["seconds"]
    step = scalars["step"]
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="tune-melody",
               unit="step")
    row: dict[str, float] = {}
    while step < config.steps:
        if step % config.collect_every == 0:  # 1. collect
            row.update(collect(tuning, prompts, config, step))
        generator = torch.Generator().manual_seed(step_seed(config.seed, step, 2))
        melody, chords, reward = tuning.replay.sample(config.batch_size, generator)
        loss, extra = td_loss(config, tuning.network, tuning.target, tuning.prior,
                              melody, chords, reward)  # 2. learn
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(tuning.network.parameters(),
                                                   config.grad_clip)
        optimizer.step()
        polyak(tuning.target, tuning.network, config.target_update)  # 3. target
        step += 1  # 4. logging and checkpoints
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
            row.update(extra, **{"optim/grad_norm": grad_norm.item(),
                                 "time/seconds": time.perf_counter() - started})
            metrics.write(json.dumps({"step": step, **row}) + "\n")
            metrics.flush()
            bar.set_postfix(td=f"{extra['losses/td']:.3f}", kl=f"{extra['kl/prior']:.3f}")
        if step % config.checkpoint_every == 0 or step == config.steps:
            scalars.update(step=step, metrics_bytes=metrics.tell(),
                           seconds=time.perf_counter() - started)
            save_weights(out_dir, tuning.network)
            save_training_state(out_dir / "state.safetensors", tuning.trained(), optimizer,
                                scalars)
    bar.close()
    metrics.close()
    summary = {"kind": "kl-control", "method": config.method, "steps": step,
               "seconds": round(time.perf_counter() - started, 1), **(run_info or {})}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "state.safetensors").unlink(missing_ok=True)
    log(f"tune-melody: {step} steps in {summary['seconds']}s")
    return summary


def resume(out_dir: Path, tuning: Tuning, optimizer: torch.optim.Optimizer,
           info: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The trainer's scalars, restored with the weights, replay and optimizer from
    ``state.safetensors`` after an interruption, fresh otherwise (then ``config.json``
    is written). ``metrics.jsonl`` is cut back to the restored step."""
    return resume_run(out_dir, tuning.trained(), optimizer,
                      ("kl_control", info["kl_control"]),
                      lambda: save_config(out_dir, tuning.network,
                                          {**info, "git_commit": git_commit()}),
                      {"step": 0, "metrics_bytes": 0, "seconds": 0.0}, log)
