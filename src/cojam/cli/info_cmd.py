"""``cojam info``: what the bundled model is and how it scored."""

from __future__ import annotations

import argparse
import json
import sys

from cojam.models.bundled import describe_manifest, read_manifest


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="describe the bundled model",
        description="Print the bundled model's manifest: the pipeline stage and recipe that "
                    "made it, seed, git commit, the commands that reproduce it, and its "
                    "evaluation numbers.",
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        manifest = read_manifest()
    except FileNotFoundError as e:
        print(f"cojam info: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(manifest, indent=1))
        return 0
    print(describe_manifest(manifest))
    return 0
