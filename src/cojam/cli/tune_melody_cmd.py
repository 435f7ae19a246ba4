"""``cojam tune-melody``: tune the melody agent with KL-control (Sequence Tutor)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.cli.run_flags import add_trainer_flags, overridden
from cojam.configs import RecipeError, recipe_names


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune-melody",
        help="tune a melody agent on music-theory rules with KL-control (Q, Psi or G)",
        description=(
            "Tune the melody agent of MELODY_RUN by off-policy KL-control (Sequence Tutor): "
            "it jams with a frozen accompanist from the openings of training tunes, is "
            "rewarded by music-theory rules (in key, tonic, repeats, motifs, intervals, "
            "leaps) and held near the MLE agent by its log-likelihood. Writes a melody "
            "agent's run directory to OUT (config.json, model.safetensors, metrics.jsonl, "
            "summary.json), usable wherever --melody-agent is; run the same command again "
            "after an interruption and it resumes."
        ),
        epilog=f"Section: kl-control. Recipes: {', '.join(recipe_names())} or a JSON file.",
    )
    parser.add_argument("--model", type=Path, required=True,
                        help="the MLE melody agent run (the prior and the starting point)")
    parser.add_argument("--accompanist", type=Path, required=True,
                        help="the online accompanist run the agent jams with (frozen)")
    parser.add_argument("--data", type=Path, required=True,
                        help="a cache whose training tunes open the rollouts (a melody-only "
                             "one works: cojam data build --source essen)")
    parser.add_argument("--method", choices=("q", "psi", "g"),
                        help="the backup (default: the section's)")
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    add_trainer_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.data.cache import CacheError
    from cojam.rl.kl_control import load_kl_control_section, train_kl_control

    try:
        config = overridden(load_kl_control_section(args.recipe), args, method=args.method)
        summary = train_kl_control(config, args.model, args.accompanist, args.data, args.out,
                                   run_info={"recipe": str(args.recipe)},
                                   device=args.device, progress=not args.quiet)
    except (RecipeError, CacheError, FileNotFoundError, ValueError) as e:
        print(f"cojam tune-melody: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    return 0
