"""``cojam pipeline``: every stage from corpus to report, resumable."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from cojam.configs import DEFAULT_RECIPE, recipe_names


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="run every stage: cache, pre-training, reward models, RL, evaluation, report",
        description=(
            "Build the Bach cache from music21's corpus (or use --data), pre-train the "
            "online accompanist (one per seed), the offline teacher and the melody agent, "
            "train the reward models, post-train each MLE seed with rl-coherence and gapt, "
            "evaluate everything on the test split and write OUT/pipeline.md (stage times, "
            "headline table) beside OUT/eval/report.md. Stages whose outputs exist are "
            "skipped, so the same command resumes after a crash; each stage's log is in "
            "OUT/logs/."
        ),
        epilog=f"Recipes: {', '.join(recipe_names())} or a JSON file. With --bundle, the best "
               "gapt seed (by its training reward) is written into the package as the "
               "bundled default model, with a manifest of this run's evaluation.",
    )
    parser.add_argument("--out", type=Path, required=True, help="pipeline directory")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE,
                        help=f"recipe name or JSON path (default {DEFAULT_RECIPE})")
    parser.add_argument("--data", type=Path, help="use this cache instead of building Bach's")
    parser.add_argument("--melodies", type=Path,
                        help="use this melody-only cache instead of building music21's folk "
                             "collection (RL rollouts and the second evaluation)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the MLE accompanist and each RL section (default 0 1 2)")
    parser.add_argument("--reward-seeds", type=int, nargs="+", default=[0, 1],
                        help="seeds of each reward model kind (default 0 1)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="stages run side by side (default 2: one per core)")
    parser.add_argument("--eval-samples", type=int, default=3,
                        help="sampling passes per system in the evaluation (default 3)")
    parser.add_argument("--bundle", action="store_true",
                        help="write the best gapt policy into the package as the bundled model")
    parser.add_argument("--dry-run", action="store_true", help="print the stages and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.pipeline import (
        PipelineConfig,
        PipelineError,
        bundle_best,
        describe_plan,
        run_pipeline,
    )

    config = PipelineConfig(recipe=args.recipe, seeds=tuple(args.seeds),
                            reward_seeds=tuple(args.reward_seeds), data=args.data,
                            melodies=args.melodies,
                            jobs=args.jobs, eval_samples=args.eval_samples)
    command = "cojam " + shlex.join(["pipeline", *_canonical(args)])
    if args.dry_run:
        print(describe_plan(args.out, config))
        return 0
    try:
        run_pipeline(args.out, config, progress=not args.quiet,
                     log=lambda text: print(text, file=sys.stderr))
        print(f"wrote {args.out / 'pipeline.md'}")
        if args.bundle:
            print(f"bundled {bundle_best(args.out, config, command)}")
    except (PipelineError, FileNotFoundError, ValueError) as e:
        print(f"cojam pipeline: {e}", file=sys.stderr)
        return 1
    return 0


def _canonical(args: argparse.Namespace) -> list[str]:
    words = ["--out", str(args.out), "--recipe", str(args.recipe)]
    if args.data:
        words += ["--data", str(args.data)]
    if args.melodies:
        words += ["--melodies", str(args.melodies)]
    words += ["--seeds", *map(str, args.seeds), "--reward-seeds", *map(str, args.reward_seeds)]
    return words + (["--bundle"] if args.bundle else [])
