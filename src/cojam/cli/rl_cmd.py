"""``cojam rl``: post-train an online accompanist with PPO (ReaLchords, GAPT)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.cli.run_flags import add_trainer_flags, overridden
from cojam.configs import RecipeError, recipe_names


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rl",
        help="post-train an online accompanist with PPO (coherence rewards, adversarial term)",
        description=(
            "Post-train the accompanist of an MLE run with PPO: it accompanies training "
            "melodies (and the melody agent) frame by frame, rewarded by the learned reward "
            "ensemble and rule penalties, held near the MLE model by a per-token KL, pulled "
            "towards the offline teacher, and, for gapt, by a discriminator trained "
            "alongside. Writes an online run directory to OUT (config.json, "
            "model.safetensors, metrics.jsonl, summary.json); run the same command again "
            "after an interruption and it resumes."
        ),
        epilog=(
            "Sections: rl-coherence (no adversarial term), gapt (with it), gapt-no-teacher "
            f"(gapt without distillation). Recipes: {', '.join(recipe_names())} or a JSON "
            "file."
        ),
    )
    parser.add_argument("--data", type=Path, required=True, help="cache directory")
    parser.add_argument("--mle", type=Path, required=True,
                        help="the MLE online accompanist run (the policy's start, the KL anchor)")
    parser.add_argument("--teacher", type=Path, help="offline teacher run (distillation)")
    parser.add_argument("--melody-agent", type=Path, help="melody agent run (partner rollouts)")
    parser.add_argument("--reward", action="append", default=[], type=Path, metavar="RUN",
                        help="a reward run directory or ensemble file (repeatable)")
    parser.add_argument("--melodies", type=Path,
                        help="a melody-only cache (cojam data build --source essen) whose "
                             "training melodies fill the section's melody_fraction of each "
                             "batch")
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument("--section", default="rl-coherence",
                        help="which RL section of the recipe: rl-coherence (default), gapt or "
                             "gapt-no-teacher")
    add_trainer_flags(parser, "policy steps")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.data.cache import CacheError
    from cojam.rl.config import load_rl_section
    from cojam.rl.ppo import train_rl

    try:
        config = overridden(load_rl_section(args.recipe, args.section), args)
        summary = train_rl(config, args.data, args.mle, args.teacher, args.melody_agent,
                           args.reward, args.out,
                           run_info={"recipe": str(args.recipe), "section": args.section},
                           device=args.device, progress=not args.quiet,
                           melody_data=args.melodies)
    except (RecipeError, CacheError, FileNotFoundError, ValueError) as e:
        print(f"cojam rl: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    return 0
