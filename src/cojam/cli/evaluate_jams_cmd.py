"""``cojam evaluate-jams``: score the accompanists of simulated sessions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.cli.run_flags import named_runs


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate-jams",
        help="score the accompanists of simulated sessions against a baseline",
        description=(
            "Read the sessions cojam simulate-jams wrote to --sessions and score each model "
            "per musician: implicit reward, beats played, quitting annoyed, note-in-chord, "
            "Vendi of the chord sequences, realised discounted return; and each model's "
            "implicit reward minus --baseline's, musician by musician. Means with 95% "
            "bootstrap intervals over musicians, as JSON (also --out/results.json)."
        ),
    )
    evaluate.add_argument("--sessions", type=Path, required=True,
                          help="a folder cojam simulate-jams wrote")
    evaluate.add_argument("--baseline", default="default",
                          help="the model the others are compared with (default: default)")
    evaluate.add_argument("--out", type=Path, help="folder for results.json")
    evaluate.add_argument("--learned", action="append", metavar="NAME=RUN",
                          help="a model learned by cojam learn: also its value estimates of "
                               "the chords it played beside the returns they realised")
    evaluate.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from cojam.learn.evaluation import evaluate_jams

    try:
        learned = named_runs(args.learned, "--learned") if args.learned else {}
        results = evaluate_jams(args.sessions, args.baseline, learned, args.out)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"cojam evaluate-jams: {e}", file=sys.stderr)
        return 1
    print(json.dumps(results, indent=1))
    return 0
