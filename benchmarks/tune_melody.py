"""KL-control tuning speed on one core: seconds per rollout collection and per gradient
step of ``cojam.rl.kl_control`` for a recipe's ``kl-control`` section, on real runs, and
the projected time of the section's whole run. Prints JSON.

    python benchmarks/tune_melody.py --model MELODY_RUN --accompanist ONLINE_RUN
        --data CACHE [--recipe cpu-small] [--method psi] [--repeats 5] [--threads 1]

Times the trainer's own pieces (``collect``: the agent jams ``rollout_batch`` sessions
and the rules score them; ``td_loss`` + backward + Adam + Polyak: one gradient step) and
reports medians over ``--repeats`` after one warm-up of each. The projection is
``steps * step + steps / collect_every * collect`` (checkpoints and logging excluded).
The 1-minute load average is printed beside it: on a shared machine it explains most of
the spread between runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

import torch

from cojam.rl.kl_control import (
    collect,
    load_kl_control_section,
    load_prompts,
    load_tuning,
    polyak,
    td_loss,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--accompanist", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--recipe", default="cpu-small")
    parser.add_argument("--method", choices=("q", "psi", "g"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = load_kl_control_section(args.recipe)
    if args.method:
        config = dataclasses.replace(config, method=args.method)
    started = time.perf_counter()
    tuning = load_tuning(config, args.model, args.accompanist, "cpu")
    prompts = load_prompts(args.data, "train", tuning.prior.spec, config.seed_frames)
    setup = time.perf_counter() - started
    optimizer = torch.optim.Adam(tuning.network.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(0)

    collects, steps = [], []
    for repeat in range(args.repeats + 1):
        tick = time.perf_counter()
        collect(tuning, prompts, config, repeat)
        collects.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        melody, chords, reward = tuning.replay.sample(config.batch_size, generator)
        loss, _ = td_loss(config, tuning.network, tuning.target, tuning.prior, melody, chords,
                          reward)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tuning.network.parameters(), config.grad_clip)
        optimizer.step()
        polyak(tuning.target, tuning.network, config.target_update)
        steps.append(time.perf_counter() - tick)
    collect_seconds, step_seconds = statistics.median(collects[1:]), statistics.median(steps[1:])
    projected = config.steps * step_seconds + config.steps / config.collect_every * collect_seconds
    print(json.dumps({
        "recipe": args.recipe, "method": config.method, "threads": args.threads,
        "steps": config.steps, "collect_every": config.collect_every,
        "rollout_batch": config.rollout_batch, "batch_size": config.batch_size,
        "episode_frames": config.episode_frames, "setup_seconds": round(setup, 2),
        "collect_seconds": round(collect_seconds, 3), "step_seconds": round(step_seconds, 3),
        "projected_run_seconds": round(projected + setup, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }, indent=1))


if __name__ == "__main__":
    main()
