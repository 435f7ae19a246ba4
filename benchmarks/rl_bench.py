"""RL speed: rollout throughput (frames/s) and PPO update time per policy step, for a
recipe's model sizes. Runs the real trainer (``cojam.rl.ppo.train_rl``) for a few steps
on synthetic songs with freshly initialised models (policy, MLE reference, teacher,
melody agent, and a reward ensemble of the four reward model kinds, so every reward term
is computed), and reports medians over the steps after the first. Prints JSON.

    python benchmarks/rl_bench.py [--recipe cpu-small] [--section gapt] [--batch 64]
        [--frames 256] [--steps 4] [--threads 2] [--device cpu|cuda] [--out FILE]

``rollout_seconds`` is step 1 of ``train_rl`` (sampling the batch frame by frame, with the
melody agent for its share of rows); ``update_seconds`` is step 4 (all epochs and
minibatches); ``step_seconds`` is a whole policy step (also the reference, teacher,
reward and discriminator passes, and logging). Minibatches are the section's size, or
the largest divisor of ``--batch`` that divides it. On a CPU the ``paper`` sizes take
minutes per step: run them with ``--steps 1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cojam.configs import load_section
from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.models.checkpoint import build_model, save_config, save_run, save_weights
from cojam.models.train import load_run_section
from cojam.music.chords import Chord
from cojam.music.song import ChordSpan, Note, Song
from cojam.rewards.runs import build_reward_model
from cojam.rewards.train import RewardSection
from cojam.rl.config import load_rl_section
from cojam.rl.ppo import train_rl

QUALITIES = ("maj", "min", "dim", "7", "maj7", "m7")


def synthetic_cache(root: Path, songs: int, frames: int) -> TokenSpec:
    """Songs of ``frames`` frames: a random chord per beat, a random note per half beat."""
    rng = np.random.default_rng(0)
    beats = frames // 4
    all_songs = []
    for i in range(songs):
        chords = tuple(ChordSpan(float(b), 1.0, Chord(int(rng.integers(12)),
                                                        QUALITIES[int(rng.integers(6))]))
                       for b in range(beats))
        notes = tuple(Note(b / 2, 0.5, int(rng.integers(55, 80))) for b in range(2 * beats))
        all_songs.append(Song(f"bench-{i}", "synthetic", notes, chords))
    spec = TokenSpec(chords=chord_vocabulary([c.chord for s in all_songs for c in s.chords]))
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid", "test"):
        (root / f"{split}.jsonl").write_text(
            "".join(json.dumps(s.to_dict()) + "\n" for s in all_songs))
    spec.save(root / "vocab.json")
    (root / "stats.json").write_text("{}\n")
    return spec


def untrained_runs(root: Path, recipe: str, spec: TokenSpec) -> dict[str, Path]:
    runs = {}
    for kind in ("online", "teacher", "melody"):
        runs[kind] = root / kind
        save_run(runs[kind], build_model(kind, spec, load_run_section(recipe, kind).model))
    reward = load_section(recipe, "reward", RewardSection).model
    for kind in ("contrastive", "discriminative"):
        for rhythm in (False, True):
            config = dataclasses.replace(reward, kind=kind, rhythm=rhythm)
            run = root / f"{kind}{'-rhythm' if rhythm else ''}"
            model = build_reward_model(spec, config)
            save_config(run, model, kind="reward")
            save_weights(run, model)
            (run / "calibration.json").write_text('{"mean": 0.0, "std": 1.0}\n')
            runs[run.name] = run
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="cpu-small")
    parser.add_argument("--section", default="gapt")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    base = load_rl_section(args.recipe, args.section)
    config = dataclasses.replace(base, steps=args.steps, batch_size=args.batch,
                                 minibatch_size=math.gcd(base.minibatch_size, args.batch),
                                 max_frames=args.frames, threads=args.threads,
                                 checkpoint_every=args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = synthetic_cache(root / "cache", max(args.batch, 8), args.frames)
        runs = untrained_runs(root / "runs", args.recipe, spec)
        rewards = [path for name, path in runs.items() if name not in
                   ("online", "teacher", "melody")]
        started = time.perf_counter()
        train_rl(config, root / "cache", runs["online"], runs["teacher"], runs["melody"],
                 rewards, root / "out", device=args.device, progress=False,
                 log=lambda _: None)
        total = time.perf_counter() - started
        rows = [json.loads(line) for line in (root / "out" / "metrics.jsonl").open()]
    timed = rows[1:] or rows  # the first step warms up
    ends = [0.0] + [r["time/seconds"] for r in rows]
    steps = [b - a for a, b in zip(ends, ends[1:], strict=False)][len(rows) - len(timed):]
    policy_parameters = sum(p.numel() for p in build_model(
        "online", spec, load_run_section(args.recipe, "online").model).parameters())
    result = {
        "recipe": args.recipe, "section": args.section, "device": args.device,
        "threads": args.threads, "batch": args.batch, "frames": args.frames,
        "epochs": config.epochs, "minibatch": config.minibatch_size,
        "partner_fraction": config.partner_fraction, "policy_parameters": policy_parameters,
        "steps_timed": len(timed),
        "rollout_frames_per_second": round(statistics.median(
            r["charts/frames_per_second"] for r in timed), 1),
        "rollout_seconds": round(statistics.median(r["time/rollout_seconds"] for r in timed), 2),
        "update_seconds": round(statistics.median(r["time/update_seconds"] for r in timed), 2),
        "step_seconds": round(statistics.median(steps), 2),
        "wall_seconds": round(total, 1),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
