"""Evaluation of melody agents (the MLE agent and its KL-control tunings).

Each agent jams with the same frozen accompanist from the openings of held-out tunes (the
seed frames are the tune's; everything after is the agent's), as in tuning, with one
sampling pass per run. Per melody: every ``melody_rules.melody_metrics`` figure, the
prior's mean log-likelihood of the played tokens, and the exact KL(agent || prior) per
played frame (both from one teacher-forced pass), and the session's harmony: the share of
the agent's sounding frames whose pitch class is in the accompanist's chord (self-play
note-in-chord, ``rewards.frames``). Per pass (a set of melodies):
pitch-class entropy and a melody Vendi.

Intervals (``eval.stats``): per-melody figures are averaged per tune over every run of a
system (its seeds pooled), then bootstrapped over tunes; set figures are bootstrapped
over passes. The melody Vendi uses ``metrics.ngram_similarity`` on interval sequences
(semitones between successive played notes, so a tune and its transposition count as
one): the effective number of distinct melodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cojam.data.tokens import TokenSpec
from cojam.eval.metrics import ngram_similarity, vendi_score
from cojam.eval.stats import bootstrap_interval, group_means, pass_interval
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineModel
from cojam.rewards.frames import frame_view, frames_in_chord
from cojam.rewards.melody_rules import Melody, melody_metrics
from cojam.rl.kl_control import Prompt, load_prompts, melody_allowed
from cojam.rl.rollout import exact_kl, masked_log_softmax, play

SET_METRICS = ("pitch_class_entropy", "melody_vendi")


@torch.no_grad()
def sample_melodies(agent: OnlineModel, accompanist: OnlineModel, prompts: Sequence[Prompt],
                    episode_frames: int, seed: int, batch_size: int = 64
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(melody, chords) (N, episode_frames): the agent's continuation of each prompt."""
    spec, seed_frames = agent.spec, len(prompts[0].melody)
    generator = torch.Generator().manual_seed(seed)
    melodies, chords = [], []
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start : start + batch_size]
        opening = torch.full((len(batch), episode_frames), spec.melody_silence)
        opening[:, :seed_frames] = torch.from_numpy(np.stack([p.melody for p in batch]))
        played = play(accompanist, opening, torch.ones_like(opening, dtype=torch.bool), agent,
                      seed_frames, generator)
        melodies.append(played.melody.cpu())
        chords.append(played.chords.cpu())
    return torch.cat(melodies), torch.cat(chords)


@torch.no_grad()
def prior_scores(agent: OnlineModel, prior: OnlineModel, melody: torch.Tensor,
                 chords: torch.Tensor, seed_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """((N,) the prior's mean log-prob of the played tokens, (N,) mean exact KL(agent ||
    prior) per played frame), over the sampler's allowed tokens."""
    allowed = melody_allowed(prior.spec, melody)
    log_p = masked_log_softmax(prior.frame_logits(melody, chords)[1], allowed)  # (N, T, V)
    log_q = masked_log_softmax(agent.frame_logits(melody, chords)[1], allowed)
    taken = log_p.gather(2, melody[..., None])[..., 0][:, seed_frames:]
    kl = exact_kl(log_q, log_p)[:, seed_frames:]
    return taken.mean(1).numpy(), kl.mean(1).numpy()


def note_in_chord(melody: np.ndarray, chords: np.ndarray, spec: TokenSpec, start: int) -> float:
    """Share of the sounding frames from ``start`` on whose pitch class is in the chord
    sounding there (NaN when the melody rests throughout)."""
    view = frame_view(melody, chords, spec)
    sounding = view.pitch[start:] >= 0
    inside = frames_in_chord(view)[start:]
    return float(inside[sounding].mean()) if sounding.any() else float("nan")


def played_notes(melody: Melody, start: int) -> np.ndarray:
    return melody.pitch[start:][melody.onset[start:]]


def pitch_class_entropy(melodies: Sequence[Melody], start: int) -> float:
    """Entropy in bits of the pitch classes of all played notes of a set."""
    counts = Counter(int(p) % 12 for m in melodies for p in played_notes(m, start))
    total = sum(counts.values())
    if not total:
        return 0.0
    probs = np.array(list(counts.values()), dtype=float) / total
    return float(-(probs * np.log2(probs)).sum())


def melody_vendi(melodies: Sequence[Melody], start: int) -> float:
    """Vendi score of a set of melodies' interval sequences (unigrams and bigrams)."""
    sequences = [[f"{b - a:+d}" for a, b in zip(notes[:-1], notes[1:], strict=True)]
                 for notes in (played_notes(m, start).tolist() for m in melodies)]
    return vendi_score(ngram_similarity(sequences))


def evaluate_pass(agent: OnlineModel, prior: OnlineModel, accompanist: OnlineModel,
                  prompts: Sequence[Prompt], episode_frames: int, seed: int
                  ) -> tuple[list[dict[str, float]], dict[str, float]]:
    """One sampling pass: (per-melody figures, set figures)."""
    seed_frames = len(prompts[0].melody)
    melody, chords = sample_melodies(agent, accompanist, prompts, episode_frames, seed)
    log_lik, kl = prior_scores(agent, prior, melody, chords, seed_frames)
    melodies = [Melody.from_tokens(row, agent.spec) for row in melody.numpy()]
    harmony = [note_in_chord(m, c, agent.spec, seed_frames)
               for m, c in zip(melody.numpy(), chords.numpy(), strict=True)]
    rows = [{**melody_metrics(m, p.key, seed_frames), "prior_log_likelihood": float(ll),
             "kl_to_prior": float(k), "note_in_chord": h}
            for m, p, ll, k, h in zip(melodies, prompts, log_lik, kl, harmony, strict=True)]
    sets = {"pitch_class_entropy": pitch_class_entropy(melodies, seed_frames),
            "melody_vendi": melody_vendi(melodies, seed_frames)}
    return rows, sets


def evaluate_systems(systems: dict[str, list[Path]], prior_run: Path, accompanist_run: Path,
                     data_dir: Path, split: str = "test", limit: int | None = 128,
                     seed_frames: int = 16, episode_frames: int = 64, seed: int = 0
                     ) -> dict[str, Any]:
    """Every system (a name and its runs, one pass each; the MLE agent may be given
    several times for several passes) on the prompts of ``split``: for each figure, the
    value and its 95% interval (``eval.stats``)."""
    prior = load_model(prior_run).requires_grad_(False)
    accompanist = load_model(accompanist_run).requires_grad_(False)
    assert isinstance(prior, OnlineModel) and isinstance(accompanist, OnlineModel)
    prompts = load_prompts(data_dir, split, prior.spec, seed_frames)[:limit]
    results: dict[str, Any] = {"split": split, "prompts": len(prompts),
                               "episode_frames": episode_frames, "seed_frames": seed_frames,
                               "systems": {}}
    for name, runs in systems.items():
        rows: list[dict[str, float]] = []
        songs: list[str] = []
        passes: dict[str, list[float]] = {k: [] for k in SET_METRICS}
        for index, run in enumerate(runs):
            agent = load_model(run).requires_grad_(False)
            assert isinstance(agent, OnlineModel)
            if agent.spec != prior.spec:
                raise ValueError(f"{run}: the agent's token vocabulary differs from the prior's")
            run_rows, sets = evaluate_pass(agent, prior, accompanist, prompts, episode_frames,
                                           seed + index)
            rows += run_rows
            songs += [p.song_id for p in prompts]
            for key, value in sets.items():
                passes[key].append(value)
        figures = {}
        for key in rows[0]:
            per_song = group_means(np.array([r[key] for r in rows]), songs)
            per_song = per_song[~np.isnan(per_song)]
            figures[key] = bootstrap_interval(per_song) if len(per_song) else (np.nan,) * 3
        for key, values in passes.items():
            figures[key] = pass_interval(np.array(values))
        results["systems"][name] = {"runs": [str(r) for r in runs], "figures": figures}
    return results


def markdown_table(results: dict[str, Any], figures: Sequence[str]) -> str:
    """One row per figure, one column per system: ``value [low, high]``."""
    names = list(results["systems"])
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for figure in figures:
        cells = []
        for name in names:
            value, low, high = results["systems"][name]["figures"][figure]
            cells.append(f"{value:.3f} [{low:.3f}, {high:.3f}]")
        lines.append(f"| {figure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
