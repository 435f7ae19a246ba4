"""``cojam jam``: the live jam page (the main job)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jam",
        help="start the live jam server and open the page",
        description="Start the live jam server on localhost and open the jam page.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("cojam jam: no model is bundled yet, and the live jam is not built yet.", file=sys.stderr)
    return 2
