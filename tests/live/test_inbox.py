"""A session's inbox: messages wait in order, a newer tick supersedes the oldest waiting
one, and there is a bound on what may wait."""

from __future__ import annotations

import anyio
import pytest

from cojam.live.inbox import Inbox, InboxFull, Refused, Superseded
from cojam.live.protocol import NoteOn, Stop, Tick


def tick(beat: float) -> Tick:
    return Tick(v=1, type="tick", beat=beat)


def note(beat: float) -> NoteOn:
    return NoteOn(v=1, type="note_on", pitch=60, beat=beat)


def test_a_newer_tick_supersedes_the_oldest_waiting_one_in_its_place():
    inbox = Inbox(max_ticks=1)
    assert inbox.put(tick(1.0)) is None
    assert inbox.put(note(1.5)) is None
    assert inbox.put(tick(2.0)) == Superseded(1.0)
    assert inbox.put(tick(3.0)) == Superseded(2.0)
    # every tick keeps its place, so its answer still comes in order
    assert list(inbox.items) == [Superseded(1.0), note(1.5), Superseded(2.0), tick(3.0)]


def test_more_waiting_ticks_may_be_allowed():
    inbox = Inbox(max_ticks=2)
    for beat in (1.0, 2.0):
        assert inbox.put(tick(beat)) is None
    assert inbox.put(tick(3.0)) == Superseded(1.0)
    assert [type(i).__name__ for i in inbox.items] == ["Superseded", "Tick", "Tick"]


def test_notes_and_refusals_are_never_superseded():
    inbox = Inbox(max_ticks=1)
    for item in (note(0.0), Refused("bad", "tick"), note(0.5)):
        assert inbox.put(item) is None
    assert len(inbox) == 3


def test_what_may_wait_is_bounded():
    inbox = Inbox(max_ticks=1, max_messages=3)
    for beat in (0.0, 0.25, 0.5):
        inbox.put(note(beat))
    with pytest.raises(InboxFull, match="3 messages are waiting"):
        inbox.put(note(0.75))
    with pytest.raises(InboxFull):
        inbox.put(tick(1.0))


def test_get_waits_in_order_and_ends_once_closed():
    inbox = Inbox()
    taken: list = []

    async def worker() -> None:
        while (item := await inbox.get()) is not None:
            taken.append(item)

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(worker)
            await anyio.sleep(0.01)
            inbox.put(note(0.0))
            inbox.put(tick(0.25))
            await anyio.sleep(0.01)
            inbox.put(Stop(v=1, type="stop"))
            await anyio.sleep(0.01)
            inbox.close()

    anyio.run(main)
    assert taken == [note(0.0), tick(0.25), Stop(v=1, type="stop")]


def test_closing_drops_what_waits():
    inbox = Inbox()
    inbox.put(tick(1.0))
    inbox.close()
    assert anyio.run(inbox.get) is None
