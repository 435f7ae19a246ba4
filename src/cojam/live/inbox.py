"""A session's messages waiting for the model, in the order they came, with bounds.

A ``Connection`` reads its socket without waiting for the model and puts what the
session must act on here; one worker takes it out in order, so every answer still comes
in the order of the messages it answers. Two bounds keep a client that sends faster than
the model plays from piling up work:

- at most ``MAX_WAITING_TICKS`` ticks wait behind the one being computed. A newer tick
  supersedes the oldest waiting one: that tick is answered, in its place, by an ``error``
  saying so (``superseded``), and the newer tick moves the clock through its time. A plan
  for a moment that has passed is of no use to a musician, and computing it would only
  put the session further behind;
- at most ``MAX_WAITING_MESSAGES`` messages wait in all; a further one is refused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import anyio

from cojam.live.protocol import NoteOff, NoteOn, Stop, Tick

MAX_WAITING_TICKS = 1  # ticks waiting behind the one being computed (the page keeps at
# most two unanswered, so it is never superseded by a server that keeps up)
MAX_WAITING_MESSAGES = 400  # four seconds of messages at the rate limit


@dataclass(frozen=True)
class Superseded:
    """A tick that a newer one replaced before the model reached it."""

    beat: float


@dataclass(frozen=True)
class Refused:
    """A message refused when it came, answered in its turn."""

    message: str
    ref: str | None


Item = NoteOn | NoteOff | Tick | Stop | Superseded | Refused


class InboxFull(Exception):  # noqa: N818 - a state, like queue.Full
    """More than ``MAX_WAITING_MESSAGES`` are waiting."""


class Inbox:
    """The waiting messages of one session (used on the server's event loop only)."""

    def __init__(self, max_ticks: int = MAX_WAITING_TICKS,
                 max_messages: int = MAX_WAITING_MESSAGES):
        self.max_ticks, self.max_messages = max_ticks, max_messages
        self.items: deque[Item] = deque()
        self.closed = False
        self._arrived: anyio.Event | None = None  # set when an item comes or it closes

    def __len__(self) -> int:
        return len(self.items)

    def tick_waiting(self) -> bool:
        """Whether a tick waits (then the session's planning after its last answer is left
        to that tick: the page keeps at most two ticks unanswered, and a second one
        arriving while the first waited behind that planning would supersede it)."""
        return any(isinstance(item, Tick) for item in self.items)

    def put(self, item: Item) -> Superseded | None:
        """Queue ``item``; returns the tick it superseded, if any. Raises ``InboxFull``."""
        if len(self.items) >= self.max_messages:
            raise InboxFull(f"{len(self.items)} messages are waiting for the model")
        superseded = None
        if isinstance(item, Tick):
            ticks = [i for i, waiting in enumerate(self.items) if isinstance(waiting, Tick)]
            if len(ticks) >= self.max_ticks:
                oldest = ticks[0]
                superseded = Superseded(self.items[oldest].beat)
                self.items[oldest] = superseded
        self.items.append(item)
        self._wake()
        return superseded

    def close(self) -> None:
        """Nobody is left to answer: drop what waits, and wake the worker to end."""
        self.closed = True
        self.items.clear()
        self._wake()

    def _wake(self) -> None:
        if self._arrived is not None:
            self._arrived.set()

    async def get(self) -> Item | None:
        """The next item, waiting for one; None once closed."""
        while not self.items and not self.closed:
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return None if self.closed else self.items.popleft()
