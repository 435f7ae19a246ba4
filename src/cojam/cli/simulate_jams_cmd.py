"""``cojam simulate-jams``: simulated musicians jam with the live server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.cli.run_flags import named_runs


def register(subparsers: argparse._SubParsersAction) -> None:
    simulate = subparsers.add_parser(
        "simulate-jams",
        help="simulated musicians jam with the live server; their sessions are logged",
        description=(
            "Serve the accompanists on a loopback port and let simulated musicians (the "
            "melody agent with a hidden taste in chords: it follows chords it likes, marks "
            "moments good or bad, and stops when annoyed) jam with them through the "
            "websocket protocol, faster than real time. Each seed is one musician; it plays "
            "once with every --model. Logs go to --sessions in the same format as people's "
            "(cojam sessions list --dir), with what each musician knew in musicians.jsonl."
        ),
    )
    simulate.add_argument("--melody-agent", type=Path, required=True,
                          help="the melody agent run that plays the musicians")
    simulate.add_argument("--model", action="append", metavar="NAME=RUN",
                          help="an accompanist to jam with (repeatable; default: the bundled "
                               "model as 'default')")
    simulate.add_argument("--sessions", type=Path, required=True, help="log folder to write")
    simulate.add_argument("--count", type=int, default=200, help="musicians (default 200)")
    simulate.add_argument("--first-seed", type=int, default=0,
                          help="the first musician's seed (default 0)")
    simulate.add_argument("--beats", type=int, default=32,
                          help="beats each musician plays at most after the count-in")
    simulate.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from cojam.learn.simulated_musician import JamRequest, simulate_sessions
    from cojam.models.checkpoint import load_model

    try:
        runs = named_runs(args.model, '--model')
        models = {name: load_model(run) for name, run in runs.items()}
        agent = load_model(args.melody_agent)
    except (FileNotFoundError, ValueError) as e:
        print(f"cojam simulate-jams: {e}", file=sys.stderr)
        return 1
    requests = [JamRequest(seed=seed, model=name, beats=args.beats)
                for seed in range(args.first_seed, args.first_seed + args.count)
                for name in models]
    results = simulate_sessions(models, agent, args.sessions, requests)
    print(json.dumps({"sessions": len(results), "dir": str(args.sessions)}))
    return 0
