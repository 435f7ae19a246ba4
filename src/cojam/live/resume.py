"""Sessions whose socket dropped, kept for a grace period so the same page can take them
up again (protocol ``resume``) with their committed chords, cache and log intact.

A socket drops for reasons the musician does not choose (a flaky network, a laptop lid,
a proxy timing out); ending the session then would throw away what was played. A
session ended by ``stop`` is never kept. When the grace period runs out, ``expire`` ends
the session as a disconnect would have.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from cojam.live.engine import JamSession
from cojam.live.session_log import SessionLog

GRACE_SECONDS = 30.0  # how long a dropped session waits for its page to come back


def new_token() -> str:
    """Unguessable: holding the token is what entitles a socket to the session."""
    return secrets.token_urlsafe(18)


@dataclass
class HeldSession:
    """What a session owns while no socket serves it."""

    engine: JamSession
    log: SessionLog
    model: str
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class Resumable:
    """Held sessions by resume token; each is ended by ``expire`` after ``grace`` seconds
    unless taken first."""

    def __init__(self, grace: float = GRACE_SECONDS):
        self.grace = grace
        self.held: dict[str, HeldSession] = {}

    def __len__(self) -> int:
        return len(self.held)

    def hold(self, token: str, session: HeldSession,
             expire: Callable[[HeldSession], None]) -> None:
        """Keep ``session`` under ``token``; must run on the server's event loop."""

        def run_out() -> None:
            if self.held.get(token) is session:
                del self.held[token]
                expire(session)

        session.timer = asyncio.get_running_loop().call_later(self.grace, run_out)
        self.held[token] = session

    def take(self, token: str) -> HeldSession | None:
        """The session held under ``token``, no longer held; None when there is none."""
        session = self.held.pop(token, None)
        if session is not None and session.timer is not None:
            session.timer.cancel()
        return session
