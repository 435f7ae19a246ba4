"""``cojam export-midi``: any cached song or token file to MIDI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.data.midi_export import write_midi
from cojam.data.token_files import load_tokens
from cojam.music.song import Song


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


def _songs_from_jsonl(path: Path, wanted: list[str]) -> list[Song]:
    songs = []
    with path.open() as f:
        for line in f:
            song = Song.from_dict(json.loads(line))
            if not wanted or song.song_id in wanted:
                songs.append(song)
    missing = set(wanted) - {s.song_id for s in songs}
    if missing:
        raise ValueError(f"{path}: no song with id {', '.join(sorted(missing))}")
    return songs


def safe_name(song_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in song_id)


def run(args: argparse.Namespace) -> int:
    try:
        if args.input.suffix == ".jsonl":
            songs = _songs_from_jsonl(args.input, args.song)
        else:
            songs = [load_tokens(args.input)]
    except (OSError, ValueError) as e:
        print(f"cojam export-midi: {e}", file=sys.stderr)
        return 1
    if len(songs) == 1 and args.out.suffix.lower() in (".mid", ".midi"):
        targets = [args.out]
    else:
        targets = [args.out / f"{safe_name(s.song_id)}.mid" for s in songs]
    for song, target in zip(songs, targets, strict=True):
        write_midi(song, target, args.tempo)
        print(target)
    return 0
