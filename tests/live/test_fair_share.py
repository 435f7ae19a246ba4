"""Fair shares of the model: at most ``workers`` slices at once, real-time sessions before
sessions whose clock runs ahead of their tempo (which never take the last worker), then
the session that has used the least, idle time not banked, and a cancelled wait gives
its place up."""

from __future__ import annotations

import threading

import anyio

from cojam.live.fair_share import Account, FairShare


class Gate:
    """A slice of work that runs until the test opens the gate."""

    def __init__(self):
        self.opened = threading.Event()
        self.entered = threading.Event()

    def __call__(self) -> str:
        self.entered.set()
        assert self.opened.wait(30)
        return "gate"


async def _when(event: threading.Event) -> None:
    while not event.is_set():
        await anyio.sleep(0.005)


def test_the_least_used_session_goes_next_whatever_came_first():
    share, order = FairShare(workers=1), []
    hog, fresh, gate = Account(2.0, used=10.0), Account(2.0), Gate()

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(share.run, Account(2.0), gate)  # holds the only worker
            await _when(gate.entered)
            tasks.start_soon(share.run, hog, lambda: order.append("hog"))
            await anyio.sleep(0.01)  # the hog is waiting first
            tasks.start_soon(share.run, fresh, lambda: order.append("fresh"))
            await anyio.sleep(0.01)
            gate.opened.set()

    anyio.run(main)
    assert order == ["fresh", "hog"]
    assert share.running == 0 and not share.waiting


def test_at_most_workers_slices_run_at_once():
    share, lock, running, most = FairShare(workers=2), threading.Lock(), [0], [0]

    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.02)
        with lock:
            running[0] -= 1

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            for _ in range(8):
                tasks.start_soon(share.run, Account(2.0), work)

    anyio.run(main)
    assert 1 <= most[0] <= 2 and share.running == 0


def test_a_session_that_was_idle_joins_at_the_present():
    share, idle = FairShare(workers=1), Account(2.0)
    share.virtual = 5.0  # others have used 5 s while it was idle

    anyio.run(share.run, idle, lambda: None)
    assert idle.used >= 5.0  # it did not bank the time it did not use


def test_a_wait_cancelled_gives_its_place_up():
    share, order, gate = FairShare(workers=1), [], Gate()

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(share.run, Account(2.0), gate)
            await _when(gate.entered)
            with anyio.move_on_after(0.02):
                await share.run(Account(2.0), lambda: order.append("cancelled"))
            tasks.start_soon(share.run, Account(2.0), lambda: order.append("next"))
            await anyio.sleep(0.01)
            gate.opened.set()

    anyio.run(main)
    assert order == ["next"] and share.running == 0 and not share.waiting


def test_a_clock_that_runs_ahead_of_its_tempo_is_ahead_until_real_time_catches_up():
    account = Account(beats_per_second=2.0)  # 120 BPM
    for second in range(8):  # a page ticking in real time is never ahead
        account.moved(2.0, float(second))
        assert not account.ahead(second + 0.5)
    account.moved(16.0, 8.0)
    account.moved(16.0, 8.0)
    assert not account.ahead(8.0)  # two of the longest jumps are allowed
    account.moved(16.0, 8.0)
    assert account.ahead(8.0)
    for _ in range(100):  # the debt is bounded: flooding more does not dig deeper
        account.moved(16.0, 8.0)
    assert account.ahead(8.0 + 15.5)
    assert not account.ahead(8.0 + 16.0)  # 32 beats of real time later


def test_real_time_goes_before_ahead_and_ahead_never_takes_the_last_worker():
    share, order = FairShare(workers=2), []
    rushing = Account(2.0, credit=-1.0)
    gate = Gate()

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(share.run, Account(2.0, credit=-1.0), gate)  # an ahead slice
            await _when(gate.entered)
            tasks.start_soon(share.run, rushing, lambda: order.append("ahead"))
            await anyio.sleep(0.02)
            assert order == [] and share.running == 1  # the free worker is kept
            done = threading.Event()
            tasks.start_soon(share.run, Account(2.0, used=99.0),
                             lambda: (order.append("real time"), done.set()))
            await _when(done)  # beside the running ahead slice, before the waiting one
            gate.opened.set()

    anyio.run(main)
    assert order == ["real time", "ahead"] and share.running == 0
