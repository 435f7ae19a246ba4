"""The ``cojam`` command: parse options and call one function per subcommand.

Each subcommand lives in its own module under ``cojam.cli`` with a
``register(subparsers)`` function that adds its parser and sets ``func``; the
function receives the parsed ``argparse.Namespace`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# One module per subcommand family; each defines register(subparsers).
COMMAND_MODULES = (
    "cojam.cli.data_cmd",
    "cojam.cli.eval_cmd",
    "cojam.cli.eval_melody_cmd",
    "cojam.cli.evaluate_jams_cmd",
    "cojam.cli.export_cmd",
    "cojam.cli.generate_cmd",
    "cojam.cli.info_cmd",
    "cojam.cli.jam_cmd",
    "cojam.cli.learn_cmd",
    "cojam.cli.pipeline_cmd",
    "cojam.cli.rl_cmd",
    "cojam.cli.sessions_cmd",
    "cojam.cli.simulate_jams_cmd",
    "cojam.cli.train_cmd",
    "cojam.cli.tune_melody_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cojam",
        description="Live human-AI jamming: you play melody, an online model plays chords.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
