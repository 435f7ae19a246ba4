"""``cojam jam``: serve the live jam page on localhost and open it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jam",
        help="start the live jam server and open the page",
        description=(
            "Start the live jam server and open the jam page: play melody on the computer "
            "keyboard or a MIDI keyboard and the model plays chords with you. Serves the "
            "bundled model and every --model run; each session is logged as jsonl "
            "(`cojam sessions export ID` turns a log into MIDI)."
        ),
        epilog="The server binds to 127.0.0.1; another address needs --allow-remote.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--model", type=Path, action="append", default=[], metavar="RUN",
                        help="a run directory of `cojam train online` to offer (repeatable; "
                        "the first is the default when no model is bundled)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the page")
    parser.add_argument("--sessions-dir", type=Path,
                        help="where session logs go (default: $COJAM_HOME/sessions or "
                        "~/.local/share/cojam/sessions)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow binding to an address other than localhost (anyone who "
                        "can reach it can jam and download sessions)")
    parser.add_argument("--no-batching", action="store_true",
                        help="run each session's model calls alone instead of sharing one "
                        "pass between the sessions that wait for the model (to compare)")
    parser.add_argument("--no-keep-warm", action="store_true",
                        help="do not run the model once on its own shortly before a tick "
                        "that follows a while without model work (it keeps the weights in "
                        "the CPU's caches; to compare)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cojam.live.host_check import is_loopback

    if not is_loopback(args.host):
        if not args.allow_remote:
            print(f"cojam jam: refusing to bind to {args.host}: the jam server has no "
                  f"authentication. Pass --allow-remote to do it anyway.", file=sys.stderr)
            return 2
        print(f"cojam jam: WARNING: binding to {args.host}; anyone who can reach this "
              f"address can use the model and download session logs.", file=sys.stderr)
    from cojam.live.model_choice import ModelChoiceError, load_models
    from cojam.live.server import create_app, serve, websocket_support
    from cojam.live.session_log import default_sessions_dir

    if websocket_support() is None:
        print("cojam jam: uvicorn has no WebSocket library; install `websockets` "
              "(pip install websockets)", file=sys.stderr)
        return 1

    try:
        models = load_models(args.model)
    except (ModelChoiceError, FileNotFoundError, ValueError) as e:
        print(f"cojam jam: {e}", file=sys.stderr)
        return 1
    sessions_dir = args.sessions_dir or default_sessions_dir()
    print(f"cojam jam: models {', '.join(models)}; session logs in {sessions_dir}")
    app = create_app(models, sessions_dir, host_names=("localhost", args.host),
                     batching=not args.no_batching, keep_warm=not args.no_keep_warm)
    serve(app, args.host, args.port, not args.no_browser)
    return 0
