"""``cojam eval`` and ``cojam report``: evaluate systems on a cache split, write a report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate baselines and trained models on a cache split",
        description=(
            "Accompany every melody of a cache split with every system (the baselines "
            "ground_truth, random, rule_based, the degenerate one_chord and every_frame, and "
            "each --model), several samples each, and measure harmony, diversity, rhythm, "
            "adaptation to a mid-song key change, learned-reward scores and, with a melody "
            "agent, self-play. Writes results.json, sequences.json, PNG plots and report.md "
            "to OUT."
        ),
        epilog="Model names: --model mle=RUN names the system 'mle' (the reference for "
               "reward-hacking flags); --model RUN names it after the run directory; --model "
               "gapt=RUN1,RUN2,RUN3 pools seeds of one recipe into one system (sampling pass p "
               "is played by run p mod 3, so intervals cover the seeds).",
    )
    parser.add_argument("--model", action="append", default=[], metavar="[NAME=]RUN[,RUN...]",
                        help="a trained accompanist or teacher run directory (repeatable)")
    parser.add_argument("--data", type=Path, required=True, help="cache directory")
    parser.add_argument("--vocab", type=Path, metavar="CACHE",
                        help="tokenise with this cache's vocabulary instead of DATA's (to "
                             "accompany a melody-only cache such as --source essen; without "
                             "chords there is no ground_truth system)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"),
                        help="which split to accompany (default test)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--reward", action="append", default=[], type=Path, metavar="RUN",
                        help="a learned reward run directory or ensemble file (repeatable)")
    parser.add_argument("--melody-agent", type=Path, metavar="RUN",
                        help="melody agent run directory: enables self-play")
    parser.add_argument("--samples", type=int, default=3,
                        help="sampling passes per system (default 3)")
    parser.add_argument("--adaptation-samples", type=int, default=1,
                        help="sampling passes in the adaptation test (default 1; its curves "
                             "already average every song and shift)")
    parser.add_argument("--seed", type=int, default=0, help="seed of pass 0 (default 0)")
    parser.add_argument("--limit-songs", type=int, help="only the first N songs (a quick look)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--top-k", type=int, default=0, help="top-k sampling (0: off)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (1: off)")
    parser.add_argument("--batch-size", type=int, default=32, help="pieces per model batch")
    parser.add_argument("--style", choices=("corpus", "song"), default="corpus",
                        help="the style accompanists play in: corpus (default; the chord "
                             "corpus's, for its test split) or song (melody-only songs, such "
                             "as the folk test part); a model without it plays in its "
                             "corpus's")
    parser.add_argument("--selfplay-bars", type=int, default=16, help="bars per self-play session")
    parser.add_argument("--no-degenerate", action="store_true",
                        help="leave out the one_chord and every_frame systems")
    parser.add_argument("--no-adaptation", action="store_true", help="skip the adaptation test")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: decoding a frame at a time gains "
                             "little from more, and loses much when the cores are shared)")
    parser.add_argument("--device", default="cpu", help="torch device for models (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_eval)

    report = subparsers.add_parser(
        "report",
        help="(re)write report.md and plots from an evaluation directory",
        description="Draw the PNG plots and write report.md from the results.json and "
                    "sequences.json that `cojam eval` wrote to DIR; runs no model.",
    )
    report.add_argument("dir", type=Path, help="the evaluation directory (cojam eval --out)")
    report.set_defaults(func=run_report)


def run_eval(args: argparse.Namespace) -> int:
    # imported here so that `cojam --help` does not pay for torch and matplotlib
    import torch

    from cojam.data.cache import CacheError
    from cojam.eval.model_systems import Sampling
    from cojam.eval.suite import EvalConfig, models_from_args, run_evaluation

    torch.set_num_threads(args.threads)
    config = EvalConfig(
        split=args.split, samples=args.samples, adaptation_samples=args.adaptation_samples,
        seed=args.seed, limit_songs=args.limit_songs, vocab=args.vocab, device=args.device,
        degenerate=not args.no_degenerate, adaptation=not args.no_adaptation,
        selfplay_bars=args.selfplay_bars,
        sampling=Sampling(args.temperature, args.top_k, args.top_p, args.batch_size,
                          args.style),
    )
    try:
        results = run_evaluation(args.data, args.out, models_from_args(args.model),
                                 args.reward, args.melody_agent, config, progress=not args.quiet,
                                 log=lambda text: print(text, file=sys.stderr))
    except (CacheError, FileNotFoundError, ValueError) as e:
        print(f"cojam eval: {e}", file=sys.stderr)
        return 1
    print(json.dumps(results["systems"], indent=1))
    print(f"wrote {args.out / 'report.md'}", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from cojam.eval.report import write_report

    try:
        path = write_report(args.dir)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"cojam report: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0
