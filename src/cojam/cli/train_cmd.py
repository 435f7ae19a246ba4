"""``cojam train online|teacher|melody|reward``: train a model on a song cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.configs import DEFAULT_RECIPE, RecipeError, recipe_names
from cojam.data.cache import CacheError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="pre-train the online accompanist, the offline teacher or the melody agent, or "
             "train a reward model",
        description=(
            "Pre-train a model by maximum likelihood on a song cache. Writes config.json, "
            "model.safetensors (best on validation), metrics.jsonl and summary.json to OUT. "
            "Run the same command again after an interruption and it resumes where the last "
            "checkpoint left off."
        ),
        epilog=(
            "models: online (plays chords, chord of frame t before melody of frame t), "
            "teacher (sees the whole melody; the offline reference), melody (the melody "
            "agent, roles swapped), reward (a learned reward model: --kind contrastive or "
            "discriminative, --rhythm for the rhythm-only variant; also writes "
            "calibration.json and auc.json, the test-split AUC against each kind of negative). "
            f"Recipes: {', '.join(recipe_names())} or a JSON file."
        ),
    )
    parser.add_argument("model", choices=("online", "teacher", "melody", "reward"),
                        help="what to train")
    parser.add_argument("--data", type=Path, required=True, help="cache directory")
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE,
                        help=f"recipe name or JSON path (default {DEFAULT_RECIPE})")
    parser.add_argument("--max-steps", type=int, help="override the recipe's number of steps")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--kind", choices=("contrastive", "discriminative"),
                        help="reward: which reward model (required for reward)")
    parser.add_argument("--rhythm", action="store_true",
                        help="reward: see only silence/onset/hold (rhythm, not harmony)")
    parser.add_argument("--seed", type=int,
                        help="the run's seed (default: the recipe's; reward models: 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.models.train import train  # torch: imported here so `cojam --help` stays fast

    try:
        if args.model == "reward":
            summary = train_reward_command(args)
        else:
            summary = train(args.model, args.data, args.out, recipe=args.recipe,
                            max_steps=args.max_steps, device=args.device,
                            progress=not args.quiet, seed=args.seed)
    except (RecipeError, CacheError, ValueError) as e:
        print(f"cojam train: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    return 0


def train_reward_command(args: argparse.Namespace) -> dict:
    from cojam.rewards.train import train_reward

    if args.kind is None:
        raise ValueError("train reward needs --kind contrastive or --kind discriminative")
    return train_reward(args.kind, args.rhythm, args.data, args.out, recipe=args.recipe,
                        seed=args.seed or 0, max_steps=args.max_steps, device=args.device,
                        progress=not args.quiet)
