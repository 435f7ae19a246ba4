"""Fair shares of the model's time: sessions that play in real time first, and among
them whoever has used the least compute.

Every session's model work goes through one ``FairShare``: a few worker threads (one per
core) and the sessions waiting for one. Work comes in slices (one step of a tick,
``JamSession.ticking``), and a session has at most one slice running or waiting. Two
rules decide who goes next when a worker is free:

1. A session whose clock runs ahead of its tempo (a client ticking 16 beats at a time as
   fast as it may, rather than as the music goes) is *ahead*: its slices wait while any
   real-time session's slice waits, and never take the last free worker. ``Account``
   keeps the count: the clock may run ``ALLOWANCE_BEATS`` ahead of real time at the
   session's tempo before it is ahead.
2. Within each of the two kinds, the waiting slice whose session has used the least
   compute goes first (start-time fair queuing); a session that was idle joins at the
   present (``virtual``), so time it did not use is not banked.

A batched model pass serves several sessions in one slice (``run_together``): it sorts
as the least used of them, is ahead only when all of them are, and each is charged its
share of its time.

So a musician's tick waits at most for a slice already running, whatever other clients
send; fairness alone is not enough on a loaded machine, where one real-time session may
need more than its equal share of the workers.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

Result = TypeVar("Result")
ALLOWANCE_BEATS = 32.0  # how far a clock may run ahead of real time (two longest jumps)


@dataclass
class Account:
    """One session's use of the model, and how far its clock runs ahead of its tempo."""

    beats_per_second: float
    """the session's tempo / 60: how fast its clock moves when played in real time"""
    used: float = 0.0
    """compute given so far, in seconds on the fair-share clock"""
    credit: float = ALLOWANCE_BEATS
    """beats the clock may still move faster than real time (negative: ahead)"""
    updated: float | None = None

    def moved(self, beats: float, now: float) -> None:
        """The client's clock moved ``beats`` at ``now`` (seconds, monotonic). The debt
        is bounded, so a client that stops rushing is in real time again after at most
        ``ALLOWANCE_BEATS`` beats of real time."""
        self._refill(now)
        self.credit = max(-ALLOWANCE_BEATS, self.credit - beats)

    def ahead(self, now: float) -> bool:
        self._refill(now)
        return self.credit < 0

    def _refill(self, now: float) -> None:
        if self.updated is not None:
            self.credit = min(ALLOWANCE_BEATS,
                              self.credit + (now - self.updated) * self.beats_per_second)
        self.updated = now


class FairShare:
    """Runs slices of model work on ``workers`` threads, real time first, then fairest
    first. Its methods run on the server's event loop."""

    def __init__(self, workers: int):
        self.workers = workers
        self.most_ahead = max(1, workers - 1)  # workers that slices of ahead sessions
        # may hold at once: one is kept for real time
        self.running = 0
        self.running_ahead = 0
        self.virtual = 0.0  # the start tag of the latest slice given a worker
        # (ahead, start tag, order, wake): real time sorts first
        self.waiting: list[tuple[bool, float, int, anyio.Event]] = []
        self._order = itertools.count()
        self.idle_since = float("-inf")  # when the last slice ended (``time.monotonic``)

    async def run(self, account: Account, work: Callable[[], Result]) -> Result:
        """``work()`` in a worker thread once it is this account's turn; its wall time is
        charged to ``account``."""
        return await self.run_together([account], work)

    async def run_together(self, accounts: list[Account], work: Callable[[], Result]
                           ) -> Result:
        """``work()`` done for several sessions at once (one batched model pass,
        ``cojam.live.batching``): it waits as the least used of them would, is ahead only
        when all of them are, and its wall time is split evenly between them."""
        starts = [max(account.used, self.virtual) for account in accounts]
        start = min(starts)
        now = time.monotonic()
        ahead = all(account.ahead(now) for account in accounts)
        await self._turn(ahead, start)
        self.virtual = max(self.virtual, start)
        spent = [0.0]

        def timed() -> Result:
            began = time.perf_counter()
            try:
                return work()
            finally:
                spent[0] = time.perf_counter() - began

        try:
            return await anyio.to_thread.run_sync(timed)
        finally:
            for account, account_start in zip(accounts, starts, strict=True):
                account.used = account_start + spent[0] / len(accounts)
            self._release(ahead)

    async def _turn(self, ahead: bool, start: float) -> None:
        """Wait until ``_dispatch`` gives this slice a worker."""
        wake = anyio.Event()
        entry = (ahead, start, next(self._order), wake)
        heapq.heappush(self.waiting, entry)
        self._dispatch()
        try:
            await wake.wait()
        except BaseException:  # cancelled: give up the place, or the worker it was given
            if wake.is_set():
                self._release(ahead)
            else:
                self.waiting.remove(entry)
                heapq.heapify(self.waiting)
            raise

    def _dispatch(self) -> None:
        """Give free workers to the first waiting slices that may have one."""
        while self.waiting and self.running < self.workers:
            ahead, _, _, wake = self.waiting[0]
            if ahead and (self.running_ahead >= self.most_ahead
                          or self.running > self.running_ahead):
                return  # only ahead slices wait (real time sorts first), and they do not
                # start beside a real-time slice, which would run slower for sharing
            heapq.heappop(self.waiting)
            self.running += 1
            self.running_ahead += ahead
            wake.set()

    def _release(self, ahead: bool) -> None:
        self.running -= 1
        self.running_ahead -= ahead
        self.idle_since = time.monotonic()
        self._dispatch()
