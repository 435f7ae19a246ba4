"""``cojam learn``: learn the accompanist offline from logged jams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    learn = subparsers.add_parser(
        "learn",
        help="learn the accompanist offline from logged jams (KL-control, MC-dropout)",
        description=(
            "Learn from the jams logged in --sessions (people's from cojam jam, or "
            "simulated ones), offline: the implicit feedback in each log (the musician's "
            "notes in the committed chord, playing on after a chord or stopping, good/bad "
            "marks, re-plans) is the reward of the chords; KL-control keeps the policy near "
            "--model (the prior), and a minimum over Monte Carlo dropout samples of the "
            "target network keeps the values pessimistic where the logs say little. Writes "
            "an accompanist run to --out (cojam jam --model OUT plays it) with metrics.jsonl "
            "and summary.json. Refuses fewer than --min-sessions usable sessions."
        ),
    )
    learn.add_argument("--sessions", type=Path,
                       help="the session log folder (default: where cojam jam logs, "
                            "$COJAM_HOME/sessions or ~/.local/share/cojam/sessions)")
    learn.add_argument("--model", type=Path,
                       help="the accompanist run that is the prior and the starting point "
                            "(default: the bundled model)")
    learn.add_argument("--out", type=Path, required=True, help="run directory to write")
    learn.add_argument("--method", choices=("naive", "q", "psi", "g"),
                       help="the backup (default psi; naive: plain batch Q-learning)")
    learn.add_argument("--kl-weight", type=float, help="c: larger stays nearer the prior")
    learn.add_argument("--mc-samples", type=int,
                       help="dropout samples of the target's lower bound (0: none)")
    learn.add_argument("--steps", type=int, help="gradient steps")
    learn.add_argument("--min-sessions", type=int, help="refuse fewer usable sessions")
    learn.add_argument("--mark-delay", type=float,
                       help="a mark is credited to the chord sounding this many beats before "
                            "it (default 0.5, a person's reaction time; 0 for simulated "
                            "musicians, which mark the moment itself)")
    learn.add_argument("--seed", type=int, help="seed of batch draws and dropout")
    learn.set_defaults(func=run_learn)


def run_learn(args: argparse.Namespace) -> int:
    from cojam.learn.offline import LearnConfig, learn_from_sessions
    from cojam.learn.signals import SignalWeights
    from cojam.live.session_log import default_sessions_dir
    from cojam.models.bundled import bundled_model_dir

    changes = {name: value for name, value in (
        ("method", args.method), ("kl_weight", args.kl_weight),
        ("mc_samples", args.mc_samples), ("steps", args.steps),
        ("min_sessions", args.min_sessions), ("seed", args.seed)) if value is not None}
    try:
        if args.mark_delay is not None:
            changes["signals"] = SignalWeights(mark_delay_beats=args.mark_delay)
        sessions = args.sessions or default_sessions_dir()
        if not sessions.is_dir():
            raise FileNotFoundError(f"{sessions}: no such session folder")
        summary = learn_from_sessions(LearnConfig(**changes), sessions,
                                      args.model or bundled_model_dir(), args.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"cojam learn: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    return 0
