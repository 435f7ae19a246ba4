"""``cojam eval-melody``: music-theory figures, prior likelihood, KL and diversity of
melody agents (the MLE agent and its KL-control tunings)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIGURES = ("notes_in_key", "excessive_repeats", "any_excessive_repeat", "tonic_start",
           "tonic_end", "leaps_resolved", "unique_max", "unique_min", "notes_in_motif",
           "notes_in_repeated_motif", "autocorrelation_lag1", "autocorrelation_lag2",
           "autocorrelation_lag3", "notes", "prior_log_likelihood", "kl_to_prior",
           "note_in_chord", "pitch_class_entropy", "melody_vendi")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-melody",
        help="evaluate melody agents: music-theory rules, prior likelihood and KL, diversity",
        description=(
            "Each system's runs jam with the accompanist from the openings of the split's "
            "tunes (one sampling pass per run); writes results.json and results.md (every "
            "figure with a 95%% bootstrap interval, runs of a system pooled) to OUT."
        ),
    )
    parser.add_argument("--system", action="append", required=True, metavar="NAME=RUN[,RUN]",
                        help="a system and its runs (repeatable); give the MLE agent's run "
                             "several times for several sampling passes")
    parser.add_argument("--prior", type=Path, required=True, help="the MLE melody agent run")
    parser.add_argument("--accompanist", type=Path, required=True,
                        help="the accompanist run the agents jam with")
    parser.add_argument("--data", type=Path, required=True, help="cache of the prompts")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"),
                        help="which split's openings the systems continue (default test)")
    parser.add_argument("--limit", type=int, default=128, help="at most this many prompts")
    parser.add_argument("--seed-frames", type=int, default=16,
                        help="frames of each tune that open a session (default 16)")
    parser.add_argument("--episode-frames", type=int, default=64,
                        help="frames per session, the opening included (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the first run")
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.data.cache import CacheError
    from cojam.eval.melody_eval import evaluate_systems, markdown_table

    systems = {}
    for text in args.system:
        name, _, runs = text.partition("=")
        if not name or not runs:
            print(f"cojam eval-melody: --system {text!r} is not NAME=RUN[,RUN]", file=sys.stderr)
            return 1
        systems[name] = [Path(r) for r in runs.split(",")]
    try:
        results = evaluate_systems(systems, args.prior, args.accompanist, args.data,
                                   args.split, args.limit, args.seed_frames,
                                   args.episode_frames, args.seed)
    except (CacheError, FileNotFoundError, ValueError) as e:
        print(f"cojam eval-melody: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown_table(results, FIGURES)
    (args.out / "results.md").write_text(table + "\n")
    print(table)
    return 0
