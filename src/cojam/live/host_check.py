"""Answer only requests addressed to this server: the defence against DNS rebinding.

A web page on ``evil.example`` can make its own name resolve to 127.0.0.1 and then talk
to the jam server as if same-origin: its requests carry ``Host: evil.example:PORT`` (and
a matching ``Origin``). So every HTTP request and websocket handshake must name this
server in ``Host``: a name it serves under (``localhost``, the ``--host`` name) or an IP
address literal, which no rebinding page can use (its origin would then be the server's
own). Anything else gets HTTP 400, or a refused handshake (HTTP 403).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SERVED_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` serves this machine only (``localhost`` or a loopback
    address literal): the jam server has no authentication, so anything else is opt-in."""
    if host in SERVED_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, names: Iterable[str]) -> bool:
    """Whether a ``Host`` header (``name[:port]``, ``[v6]:port``) names this server."""
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:  # an unclosed "[" and the like
        return False
    if not hostname:
        return False
    if hostname in {name.lower() for name in names}:
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


class HostCheck:
    """ASGI middleware refusing HTTP requests and websockets whose ``Host`` is foreign."""

    def __init__(self, app: ASGIApp, names: Iterable[str] = SERVED_NAMES):
        self.app = app
        self.names = tuple(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers: dict[bytes, Any] = dict(scope["headers"])
            host = headers.get(b"host", b"").decode("latin-1")
            if not host_allowed(host, self.names):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    text = f"Host {host[:80]!r} is not this server's address"
                    await PlainTextResponse(text, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
