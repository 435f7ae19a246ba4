"""Keeping the model in the CPU's caches between ticks.

A page ticks every frame (125 ms at 120 BPM) and most ticks need no model call before
their answer, so the model often sits idle for a whole frame; the tick that then has to
choose a chord after a surprise finds the weights out of the CPU's caches. Measured on
2 cores with the bundled model: the same ticks take 1.5 to 1.7 times as long in real
time as frame after frame. One call of the model on one token, on a cache of its own,
shortly before a session's next tick is due brings the weights back: through the
server, one session's round-trip p99 went from 15.7-17.5 ms to 13.6-15.5 ms (batched,
four runs each; ``docs/results/live-batching``). 10 ms ahead, not less: the call is
handed to a worker thread, and 3 ms ahead it could still run when the tick came.

It changes nothing a session plays: the call runs on a scratch cache, draws no random
number and touches no session. It runs only when no model work has run for
``IDLE_SECONDS`` (a pass that just ran left the weights warm) and at most once per
``IDLE_SECONDS`` whatever the number of sessions, so it costs one call per frame at
most: about 1% of a core.
"""

from __future__ import annotations

import time

import anyio

from cojam.live.fair_share import FairShare
from cojam.models.online import OnlineModel
from cojam.models.row_cache import Forward, forward_alone
from cojam.models.transformer import KVCache

WARM_AHEAD_SECONDS = 0.010
"""how long before a session's next tick is due the model is warmed"""
IDLE_SECONDS = 0.02
"""model work this recent leaves the weights warm: no call then"""


def warm_call(model: OnlineModel, scratch: KVCache) -> None:
    """One call of ``model`` on one token of ``scratch`` (emptied first)."""
    scratch.truncate(0)
    forward_alone(model, Forward(scratch, [model.spec.melody_silence]))


class Warmer:
    """Warms each model before ticks that come after a while without model work. Its
    methods run on the server's event loop."""

    def __init__(self, share: FairShare):
        self.share = share
        self.scratch: dict[int, KVCache] = {}  # id(model) -> its scratch cache
        self.last = float("-inf")  # when the last warming call began
        self.calls = 0

    def idle(self, now: float) -> bool:
        """No model work runs or waits, none ran for ``IDLE_SECONDS``, and no warming
        call began that recently."""
        share = self.share
        return (not share.running and not share.waiting
                and now - share.idle_since >= IDLE_SECONDS and now - self.last >= IDLE_SECONDS)

    async def before(self, model: OnlineModel, due: float) -> None:
        """Wait until ``WARM_AHEAD_SECONDS`` before ``due`` (``time.monotonic``), then
        warm ``model`` if the model has been idle (``idle``)."""
        await anyio.sleep(max(0.0, due - WARM_AHEAD_SECONDS - time.monotonic()))
        now = time.monotonic()
        if not self.idle(now):
            return
        self.last = now
        scratch = self.scratch.get(id(model))
        if scratch is None:
            scratch = self.scratch[id(model)] = model.new_cache(1)
        self.calls += 1
        await anyio.to_thread.run_sync(warm_call, model, scratch)
