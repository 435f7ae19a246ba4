"""Learning from sessions on one core: logged sessions learned per second by ``cojam
learn`` (``cojam.learn.offline``), without and with Monte Carlo dropout. Prints JSON.

    python benchmarks/learn_bench.py [--sessions DIR] [--model RUN] [--steps 20]
        [--repeats 3]

With ``--sessions`` it learns from those logs; without, it first simulates 24 short
sessions (32 beats) of the bundled accompanist with an untrained melody agent of its
vocabulary (the timing does not depend on how good the musician is). Each repeat is a
fresh ``learn_from_sessions`` of ``--steps`` gradient steps (batch 16); a session learned
is one session's rows passed through a gradient step, so sessions/s = steps x batch /
(rows per session) / seconds. Medians over repeats; the 1-minute load average beside
them (on a shared machine it explains most of the spread).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch

from cojam.learn.offline import LearnConfig, learn_from_sessions
from cojam.learn.simulated_musician import JamRequest, simulate_sessions
from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineModel


def simulated_logs(directory: Path, model_run: Path, count: int) -> Path:
    accompanist = load_model(model_run)
    torch.manual_seed(0)
    agent = OnlineModel(accompanist.spec,
                        dataclasses.replace(accompanist.config, role="melody")).eval()
    simulate_sessions({"default": accompanist}, agent, directory,
                      [JamRequest(seed=s) for s in range(count)], log=lambda _: None)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=Path)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model_run = args.model or bundled_model_dir()
    with tempfile.TemporaryDirectory() as scratch:
        sessions = args.sessions or simulated_logs(Path(scratch) / "sessions", model_run, 24)
        results = {}
        for name, samples in (("kl", 0), ("kl_mc4", 4)):
            config = LearnConfig(mc_samples=samples, steps=args.steps, min_sessions=1,
                                 log_every=args.steps)
            runs = [learn_from_sessions(config, sessions, model_run,
                                        Path(scratch) / f"{name}-{repeat}", log=lambda _: None)
                    for repeat in range(args.repeats)]
            results[name] = {
                "sessions_per_second": statistics.median(r["sessions_per_second"]
                                                         for r in runs),
                "seconds_per_step": round(statistics.median(r["seconds"] / r["steps"]
                                                            for r in runs), 3),
                "sessions": runs[0]["sessions"], "rows": runs[0]["rows"]}
    print(json.dumps({"benchmark": "learn_from_sessions", "threads": 1, "steps": args.steps,
                      "batch_size": LearnConfig().batch_size, **results,
                      "load_average_1min": round(os.getloadavg()[0], 2)}, indent=1))


if __name__ == "__main__":
    main()
