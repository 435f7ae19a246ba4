"""``cojam data build`` and ``cojam data stats``: the song cache."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cojam.data.cache import SOURCES, CacheError, build_cache, stats_summary


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data",
        help="build and inspect song caches",
        description="Build a song cache from a corpus, or print a cache's statistics.",
    )
    commands = data.add_subparsers(dest="data_command", metavar="ACTION")
    commands.required = True

    build = commands.add_parser(
        "build",
        help="read a corpus into a split song cache",
        description=(
            "Read a corpus with one reader, skip (and list) what cannot be used, and write "
            "train/valid/test.jsonl (80/10/10 by song), vocab.json and stats.json to OUT. "
            "Parsed files are cached in OUT/.parsed, so rebuilding is fast. Exits non-zero "
            "only when no song could be used."
        ),
        epilog=(
            "sources: bach (music21's Bach chorales, no --input needed, or your own chorale "
            "MusicXML files); abc (ABC tunes with quoted chords); musicxml (lead sheets with "
            "<harmony>); midi (a melody track and a chord track); hooktheory (the "
            "Hooktheory JSON dump, .json or .json.gz); pop909 (POP909 song folders); essen "
            "(music21's Essen folk songs, no --input needed: melodies without chords, split "
            "by file, for RL rollouts and evaluation)"
        ),
    )
    build.add_argument("--source", required=True, choices=SOURCES, help="corpus format")
    build.add_argument("--input", type=Path,
                       help="a file or folder to read (all but bach and essen)")
    build.add_argument("--out", type=Path, required=True, help="cache directory to write")
    build.add_argument("--limit", type=int, help="read at most N inputs (files or folders); "
                       "essen: the first N tunes of every file")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=run_build)

    stats = commands.add_parser(
        "stats",
        help="print a cache's statistics as JSON",
        description="Print songs per split, chord vocabulary size and the 20 commonest chords, "
        "pitch range and mean length of the cache in DIR, as JSON.",
    )
    stats.add_argument("dir", type=Path, help="cache directory")
    stats.set_defaults(func=run_stats)


def run_build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        report = build_cache(args.source, args.out, args.input, args.limit, progress=not args.quiet)
    except CacheError as e:
        print(f"cojam data build: {e}", file=sys.stderr)
        return 1
    print(report.summary(time.perf_counter() - started))
    print(f"wrote {args.out}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    try:
        summary = stats_summary(args.dir)
    except CacheError as e:
        print(f"cojam data stats: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    return 0
