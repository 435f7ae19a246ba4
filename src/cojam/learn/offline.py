"""Offline KL-control of the accompanist from logged jams (Way Off-Policy batch RL).

The logs are the data: each session's melody and committed chords on the frame grid, the
implicit reward of each frame's chord (``cojam.learn.signals``), nothing else. No new
play: the policy that made the logs (a person's accompanist, or several) is whatever it
was, and the learner never asks it again. Naive batch Q-learning overestimates the value
of chords the logs rarely show, and follows those estimates away from anything the data
supports; the two fixes of Way Off-Policy are both here:

- KL-control: the accompanist that played (the prior, frozen) anchors the learned policy,
  its log-likelihood counting against the reward in units of ``kl_weight``
  (``method`` ``psi``, or ``q``/``g``: ``cojam.rl.kl_control``, shared with the melody
  tuner); ``naive`` is plain Q-learning, the ablation;
- pessimism: the target network is read ``mc_samples`` times with dropout on, and the
  backup takes the minimum, a lower bound where the network is unsure.

``learn_from_sessions`` reads top to bottom: load the logs (refusing too few sessions),
then each step a batch of logged rows teacher-forced through the network, the prior and
the target network; the squared Bellman error on every frame from the first chord on;
Adam; Polyak averaging of the target. The network starts as a copy of the prior and is
written as an ordinary accompanist run (the softmax of its logits is the learned policy),
so ``cojam jam --model`` plays it. A learning run is minutes long: it does not resume, and
a rerun starts over.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from cojam.data.tokens import PAD, TokenError, TokenSpec, song_to_frames
from cojam.learn.signals import SignalWeights, frame_rewards
from cojam.live.session_log import SessionLogError, list_sessions, read_session, session_song
from cojam.models.checkpoint import load_model, read_config, save_run, step_seed
from cojam.models.online import OnlineModel
from cojam.provenance import git_commit
from cojam.rl.kl_control import (
    BATCH_METHODS,
    bellman_loss,
    own_allowed,
    own_logits,
    own_values,
    polyak,
    set_dropout,
)


@dataclass(frozen=True)
class LearnConfig:
    """How the accompanist learns from logged sessions."""

    method: Literal["naive", "q", "psi", "g"] = "psi"
    """the backup: plain Q-learning (the ablation), or a KL-control one"""
    kl_weight: float = 0.5
    """c: rewards count r / c against the prior's log-likelihood (larger stays nearer)"""
    mc_samples: int = 4
    """dropout samples of the target network whose minimum is backed up (0: no pessimism)"""
    mc_dropout: float = 0.1
    """the target network's dropout rate while it is sampled"""
    gamma: float = 0.95
    """discount per frame (a sixteenth: 0.95 looks about five beats ahead)"""
    steps: int = 300
    """gradient steps"""
    batch_size: int = 16
    """logged rows per gradient step"""
    lr: float = 1e-4
    """Adam learning rate"""
    grad_clip: float = 1.0
    """clip the global gradient norm to this"""
    target_update: float = 0.01
    """Polyak rate of the target network per step"""
    min_sessions: int = 20
    """refuse to learn from fewer usable sessions than this"""
    signals: SignalWeights = field(default_factory=SignalWeights)
    """how much each implicit signal counts in a frame's reward"""
    log_every: int = 10
    """write training metrics every N steps"""
    seed: int = 0
    """seeds the batch draws and the dropout samples"""
    threads: int = 1
    """torch CPU threads"""

    def __post_init__(self) -> None:
        if self.method not in BATCH_METHODS:
            raise ValueError(f"method must be one of {BATCH_METHODS}, got {self.method!r}")
        if self.kl_weight <= 0:
            raise ValueError(f"kl_weight must be positive, got {self.kl_weight}")
        if self.mc_samples < 0 or not 0 <= self.mc_dropout < 1:
            raise ValueError(f"need mc_samples >= 0 and 0 <= mc_dropout < 1, got "
                             f"{self.mc_samples}, {self.mc_dropout}")


class TooFewSessions(ValueError):
    """A log folder with fewer usable sessions than learning needs."""


@dataclass(frozen=True)
class LoggedRows:
    """Logged sessions on the frame grid, one row per session window, padded with PAD."""

    melody: torch.Tensor  # (N, T) melody tokens
    chords: torch.Tensor  # (N, T) committed chord tokens
    reward: torch.Tensor  # (N, T) implicit reward of each frame's chord
    played: torch.Tensor  # (N, T) bool: frames the accompanist chose (first chord on)
    done: torch.Tensor  # (N, T) bool: the last frame of each row
    sessions: tuple[str, ...]  # the session of each row
    skipped: tuple[str, ...]  # sessions not used, each with why


def load_logged_rows(sessions_dir: Path, spec: TokenSpec, max_frames: int,
                     weights: SignalWeights, only: Collection[str] | None = None
                     ) -> LoggedRows:
    """Every readable session in ``sessions_dir`` (of ``only``, when given) with at least
    one committed chord, cut into windows of ``max_frames`` (a longer jam gives several
    rows). A log that cannot be read, has no chord, or holds a pitch or chord the model's
    vocabulary lacks is skipped and named in ``skipped``."""
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    sessions, skipped = [], []
    for summary in list_sessions(sessions_dir):
        session_id = summary["id"]
        if only is not None and session_id not in only:
            continue
        if "error" in summary:
            skipped.append(f"{session_id}: {summary['error']}")
            continue
        try:
            events = read_session(Path(sessions_dir) / f"{session_id}.jsonl")
            song, _ = session_song(events)
            melody, chords = song_to_frames(song, spec)
        except (SessionLogError, TokenError) as e:
            skipped.append(f"{session_id}: {e}")
            continue
        if not song.chords:
            skipped.append(f"{session_id}: no committed chord")
            continue
        reward = frame_rewards(events, len(melody), weights)
        for start in range(0, len(melody), max_frames):
            window = slice(start, start + max_frames)
            if (chords[window] != spec.chord_silence).any():
                rows.append((melody[window], chords[window], reward[window]))
                sessions.append(session_id)
    length = max((len(m) for m, _, _ in rows), default=1)
    shape = (len(rows), length)
    melody_t = torch.full(shape, PAD, dtype=torch.long)
    chords_t = torch.full(shape, PAD, dtype=torch.long)
    reward_t = torch.zeros(shape)
    played = torch.zeros(shape, dtype=torch.bool)
    done = torch.zeros(shape, dtype=torch.bool)
    for index, (melody, chords, reward) in enumerate(rows):
        n = len(melody)
        melody_t[index, :n] = torch.from_numpy(melody)
        chords_t[index, :n] = torch.from_numpy(chords)
        reward_t[index, :n] = torch.from_numpy(reward)
        first_chord = int(np.flatnonzero(chords != spec.chord_silence)[0])
        played[index, first_chord:n] = True
        done[index, n - 1] = True
    if len(rows):  # a chord the sampler could not have played is no action to learn
        allowed = own_allowed(spec, "chord", chords_t)
        played &= allowed.gather(2, chords_t[..., None])[..., 0]
    return LoggedRows(melody_t, chords_t, reward_t, played, done, tuple(sessions),
                      tuple(skipped))


def discounted_returns(reward: torch.Tensor, done: torch.Tensor, gamma: float
                       ) -> torch.Tensor:
    """(N, T) return-to-go of each frame, the sum of γ^k r_{t+k} to its row's end."""
    returns = torch.zeros_like(reward)
    running = torch.zeros(reward.shape[0], dtype=reward.dtype)
    for t in range(reward.shape[1] - 1, -1, -1):
        running = reward[:, t] + gamma * torch.where(done[:, t], 0.0, running)
        returns[:, t] = running
    return returns


def value_estimates(config: LearnConfig, network: OnlineModel, prior: OnlineModel,
                    rows: LoggedRows, batch_size: int = 32) -> dict[str, float]:
    """The learned values of the logged chords, in reward units (c v), beside the
    discounted return the logs realised from the same frames: what an estimate that
    believes its own backups would claim, and what the policy that played got. On the
    sessions a learned policy played itself, the gap is its overestimation."""
    estimates = []
    with torch.no_grad():
        for start in range(0, len(rows.melody), batch_size):
            melody = rows.melody[start : start + batch_size]
            chords = rows.chords[start : start + batch_size]
            played = rows.played[start : start + batch_size]
            allowed = own_allowed(network.spec, "chord", chords)
            prior_logits = own_logits(prior, melody, chords).float()
            values = own_values(config.method, network, prior_logits, melody, chords, allowed)
            taken = values.gather(2, chords[..., None])[..., 0]
            estimates.append(taken[played])
    returns = discounted_returns(rows.reward, rows.done, config.gamma)[rows.played]
    estimate = torch.cat(estimates) * config.kl_weight
    return {"values/logged_chords": estimate.mean().item(),
            "returns/logged": returns.mean().item()}


def learn_from_sessions(config: LearnConfig, sessions_dir: Path, model_run: Path,
                        out_dir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Learn the accompanist of ``model_run`` from the logs in ``sessions_dir`` into run
    directory ``out_dir``, on the CPU; returns the summary, also ``summary.json``."""
    torch.set_num_threads(config.threads)
    out_dir = Path(out_dir)

    # setup: the prior, the logs (refusing too few), the network and its target --------
    prior = load_model(model_run)
    if not isinstance(prior, OnlineModel) or prior.own_stream != "chord":
        raise ValueError(f"{model_run} holds no online accompanist")
    prior.requires_grad_(False)
    rows = load_logged_rows(sessions_dir, prior.spec, prior.config.max_frames, config.signals)
    used = len(set(rows.sessions))
    if used < config.min_sessions:
        raise TooFewSessions(
            f"{sessions_dir}: {used} usable session(s), learning needs at least "
            f"{config.min_sessions} (min_sessions); {len(rows.skipped)} skipped"
            + (f", e.g. {rows.skipped[0]}" if rows.skipped else "")
            + ". Jam more (cojam jam), or simulate sessions (cojam simulate-jams).")
    network = copy.deepcopy(prior).requires_grad_(True).eval()  # no dropout in the network
    target = set_dropout(copy.deepcopy(prior), config.mc_dropout)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    log(f"learn ({config.method}, c={config.kl_weight}, {config.mc_samples} dropout "
        f"samples): {used} sessions, {len(rows.melody)} rows of up to "
        f"{rows.melody.shape[1]} frames, {len(rows.skipped)} skipped")

    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (out_dir / "metrics.jsonl").open("w") as metrics:
        for step in range(1, config.steps + 1):
            generator = torch.Generator().manual_seed(step_seed(config.seed, step, 2))
            picks = torch.randint(len(rows.melody), (config.batch_size,), generator=generator)
            torch.manual_seed(step_seed(config.seed, step, 3))  # the dropout samples
            loss, extra = bellman_loss(
                config.method, config.gamma, config.kl_weight, network, target, prior,
                rows.melody[picks], rows.chords[picks], rows.reward[picks],
                rows.played[picks], rows.done[picks], config.mc_samples)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(network.parameters(), config.grad_clip)
            optimizer.step()
            polyak(target, network, config.target_update)
            if step % config.log_every == 0 or step == config.steps:
                row = {"step": step, **extra, "optim/grad_norm": grad_norm.item(),
                       "time/seconds": time.perf_counter() - started}
                metrics.write(json.dumps(row) + "\n")
                metrics.flush()
    seconds = time.perf_counter() - started
    estimates = value_estimates(config, network, prior, rows)
    save_run(out_dir, network, {"learn": dataclasses.asdict(config),
                                "model_run": str(model_run), "sessions": str(sessions_dir),
                                "git_commit": git_commit()})
    summary = {"kind": "learn-from-sessions", "method": config.method,
               "kl_weight": config.kl_weight, "mc_samples": config.mc_samples,
               "sessions": used, "rows": len(rows.melody), "skipped": len(rows.skipped),
               "steps": config.steps, "seconds": round(seconds, 1),
               "sessions_per_second": round(used * config.steps * config.batch_size
                                            / len(rows.melody) / seconds, 2),
               **{k: round(v, 4) for k, v in estimates.items()}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    log(f"learn: {config.steps} steps in {seconds:.1f}s")
    return summary


def learned_values_vs_returns(run_dir: Path, sessions_dir: Path, only: Collection[str]
                              ) -> dict[str, float]:
    """``value_estimates`` of the learned accompanist in ``run_dir`` on the sessions
    ``only`` (those it played) in ``sessions_dir``."""
    settings = read_config(run_dir)
    learn = settings["learn"]
    config = LearnConfig(**{**learn, "signals": SignalWeights(**learn["signals"])})
    network, prior = load_model(run_dir), load_model(settings["model_run"])
    rows = load_logged_rows(sessions_dir, prior.spec, prior.config.max_frames,
                            config.signals, only)
    return value_estimates(config, network, prior, rows)
