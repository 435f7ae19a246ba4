"""``cojam simulate-jams`` and ``cojam learn``: simulated sessions, and learning from logs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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


def _models(specs: list[str] | None) -> dict[str, Path]:
    from cojam.models.bundled import bundled_model_dir

    if not specs:
        return {"default": bundled_model_dir()}
    models = {}
    for spec in specs:
        name, _, run = spec.partition("=")
        if not name or not run:
            raise ValueError(f"--model {spec!r}: expected NAME=RUN")
        models[name] = Path(run)
    return models


def run_simulate(args: argparse.Namespace) -> int:
    from cojam.learn.simulated_musician import JamRequest, simulate_sessions
    from cojam.models.checkpoint import load_model

    try:
        runs = _models(args.model)
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


def run_evaluate(args: argparse.Namespace) -> int:
    from cojam.learn.evaluation import evaluate_sessions, musicians
    from cojam.learn.offline import learned_values_vs_returns
    from cojam.provenance import git_commit

    try:
        results = evaluate_sessions(args.sessions, args.baseline)
        for name, run in _models(args.learned).items() if args.learned else ():
            played = {m["session"] for m in musicians(args.sessions) if m["model"] == name}
            results["models"][name].update(learned_values_vs_returns(run, args.sessions,
                                                                     played))
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"cojam evaluate-jams: {e}", file=sys.stderr)
        return 1
    results["git_commit"] = git_commit()
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(text + "\n")
    print(text)
    return 0
