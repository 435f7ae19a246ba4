"""``cojam export-midi``: any cached song or token file to MIDI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cojam.data.midi_export import export_midi


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-midi",
        help="write a song or token file as MIDI",
        description=(
            "Write MIDI (melody and voiced chords on separate tracks) from a token file "
            "(.json, as `cojam generate` writes) or from songs in a cache split (.jsonl)."
        ),
    )
    parser.add_argument("input", type=Path, help="a token file (.json) or a cache split (.jsonl)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output .mid file, or a folder when exporting several songs",
    )
    parser.add_argument(
        "--song",
        action="append",
        default=[],
        help="song id to export from a .jsonl (repeatable; default: all)",
    )
    parser.add_argument("--tempo", type=float, default=100.0, help="tempo in BPM (default 100)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        written = export_midi(args.input, args.out, args.song, args.tempo)
    except (OSError, ValueError) as e:
        print(f"cojam export-midi: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
