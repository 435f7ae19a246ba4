"""``cojam sessions list|export``: the logs of past jams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cojam.live.session_log import (
    SessionLogError,
    default_sessions_dir,
    export_session_midi,
    list_sessions,
)

DIR_HELP = "session log folder (default: $COJAM_HOME/sessions or ~/.local/share/cojam/sessions)"


def register(subparsers: argparse._SubParsersAction) -> None:
    sessions = subparsers.add_parser(
        "sessions",
        help="list jam sessions or export one as MIDI",
        description="Every `cojam jam` session is logged as jsonl; list them or turn one "
        "into MIDI (the notes played and the chords the model committed).",
    )
    commands = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    commands.required = True

    listing = commands.add_parser(
        "list", help="print one JSON line per logged session",
        description="Print one JSON line per logged session: id, start time, model, length "
        "in beats, notes played and chords committed. A log that cannot be read (not UTF-8, "
        "a line that is not a JSON event) is skipped and named on stderr.",
    )
    listing.add_argument("--dir", type=Path, help=DIR_HELP)
    listing.set_defaults(func=run_list)

    export = commands.add_parser(
        "export", help="write a session as MIDI",
        description="Write a session's melody and committed chords as a MIDI file (melody "
        "and chords on separate tracks, at the session's tempo).",
    )
    export.add_argument("id", help="session id, as `cojam sessions list` prints it")
    export.add_argument("--out", type=Path, help="output .mid file (default: ID.mid here)")
    export.add_argument("--dir", type=Path, help=DIR_HELP)
    export.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    directory = args.dir or default_sessions_dir()
    for summary in list_sessions(directory):
        if "error" in summary:
            print(f"cojam sessions list: skipped {summary['id']}: {summary['error']}",
                  file=sys.stderr)
        else:
            print(json.dumps(summary))
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        out, song, tempo = export_session_midi(args.dir or default_sessions_dir(), args.id,
                                               args.out)
    except SessionLogError as e:
        print(f"cojam sessions export: {e}", file=sys.stderr)
        return 1
    print(f"{out}: {len(song.notes)} notes, {len(song.chords)} chords, {tempo:g} BPM")
    return 0
