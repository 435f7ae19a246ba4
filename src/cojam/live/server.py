"""The jam server: the page, one websocket per session at ``/ws``, MIDI of logged sessions.

Routes:
- ``GET /`` the jam page and ``/static/...`` its files (plain JS, nothing fetched from
  elsewhere);
- ``GET /api/models`` the models offered (the page's model picker);
- ``GET /api/sessions/{id}/midi`` the MIDI of a session this server logged;
- ``WS /ws`` protocol v1 (``cojam.live.protocol``, ``docs/protocol.md``).

A websocket opened from a web page must come from this server's own origin: a browser
lets any site open a socket to localhost, and only the jam page should jam. Every
request must name this server in ``Host`` (``cojam.live.host_check``: no DNS rebinding).
A websocket without ``Origin`` is not from a browser (a test, a script) and is served.
"""

from __future__ import annotations

import importlib.util
import io
import socket
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import torch
import uvicorn
from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from cojam.data.midi_export import song_to_midi
from cojam.live.connection import MAX_SESSIONS, START_DEADLINE_SECONDS, Connection, Hub
from cojam.live.host_check import SERVED_NAMES, HostCheck
from cojam.live.session_log import SessionLogError, find_session, read_session, session_song
from cojam.models.online import OnlineModel

STATIC_DIR = Path(__file__).resolve().parent / "static"
WS_MAX_BYTES = 1024 * 1024  # above this uvicorn closes the socket (1009); above 64 kB we
# answer with an error and go on (protocol.MAX_MESSAGE_BYTES)


def websocket_support() -> str | None:
    """The WebSocket library uvicorn will use, or None: uvicorn serves websockets only
    with ``websockets`` or ``wsproto`` installed, and otherwise just refuses the upgrade."""
    for name in ("websockets", "wsproto"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser: a test, a script, another program
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


def create_app(models: dict[str, OnlineModel], sessions_dir: Path,
               max_sessions: int = MAX_SESSIONS, host_names: tuple[str, ...] = SERVED_NAMES,
               start_deadline: float = START_DEADLINE_SECONDS, batching: bool = True,
               keep_warm: bool = True) -> FastAPI:
    """The jam app serving ``models`` (name -> accompanist) and logging to
    ``sessions_dir``, answering requests whose ``Host`` is one of ``host_names`` or an
    IP address. ``batching`` False runs each session's model calls alone, ``keep_warm``
    False leaves the model cold between ticks (``cojam.live.warmth``; both to compare)."""
    hub = Hub(models, sessions_dir, max_sessions, start_deadline, batching, keep_warm)
    app = FastAPI(title="cojam jam", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(HostCheck, names=host_names)
    app.state.hub = hub

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/models")
    def offered_models() -> dict:
        return {"models": list(hub.models)}

    @app.get("/api/sessions/{session_id}/midi")
    def session_midi(session_id: str) -> Response:
        if session_id not in hub.created:
            raise HTTPException(404, f"no session {session_id} on this server")
        try:
            song, tempo = session_song(read_session(find_session(hub.sessions_dir,
                                                                 session_id)))
        except SessionLogError as e:
            raise HTTPException(404, str(e)) from None
        data = io.BytesIO()
        song_to_midi(song, tempo).save(file=data)
        return Response(data.getvalue(), media_type="audio/midi", headers={
            "Content-Disposition": f'attachment; filename="cojam-{session_id}.mid"'})

    @app.websocket("/ws")
    async def jam_socket(websocket: WebSocket) -> None:
        if not _same_origin(websocket):
            await websocket.close(code=1008, reason="cross-origin sockets are refused")
            return
        await Connection(hub, websocket).run()

    return app


def serve(app: FastAPI, host: str, port: int, open_browser: bool) -> None:
    """Run ``app`` with uvicorn until Ctrl+C, opening the page once it listens."""
    # The model is small: one thread per session call beats two threads fighting over
    # tiny matrices, and leaves the other core to another session.
    torch.set_num_threads(1)
    config = uvicorn.Config(app, host=host, port=port, ws_max_size=WS_MAX_BYTES,
                            log_level="warning")
    server = uvicorn.Server(config)
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"cojam jam: open {url}  (Ctrl+C to stop)", flush=True)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()


@contextmanager
def serving_in_background(app: FastAPI, start_seconds: float = 10.0) -> Iterator[int]:
    """``app`` served by uvicorn on a free loopback port in a background thread (for
    tests and benchmarks that talk to a real server); yields the port, stops on exit."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        if not server.started:
            raise RuntimeError("the jam server did not start")
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
