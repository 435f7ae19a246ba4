"""One model pass for every session: the model calls of sessions that tick at the same
time are served together, each session on its own KV cache.

A session's tick (``JamSession.ticking``) does not call the model itself: it yields a
``Forward`` request (these tokens, on my cache) and waits for the logits. The decoder's
walk (drafting, verifying, masks, sampling from the session's own random generator)
stays in the session and is the same code alone or batched; only where the model runs
changes. A shared pass (``run_pass``) walks every waiting session's tick to its next
model call, then serves all the calls with one ``forward_together`` per model: the
embeddings, projections, MLPs and head run once over all their tokens side by side,
attention per session on its own cache. On a CPU a small model's call costs mostly
per-operation overhead, which the sessions of a pass share; the arithmetic and the walks
(sampling, drafting) are still one per session.

A session's plans are the plans it would make alone: the walk sees the same logits up to
float rounding (a matrix product over many rows may round a row differently, ~1e-6),
which changes a sampled token only when a uniform draw falls within that distance of a
threshold.

Two schedulers:

- ``tick_together``: several sessions tick at once, pass after pass until every tick is
  done; for tests and benchmarks.
- ``Batcher``: the server's. Each session's tick waits for a pass, takes part in it,
  and waits for the next, until its plan is made. Passes run one at a time, each on a
  worker of the fair share (``cojam.live.fair_share``), its time split evenly between
  the sessions in it; sessions that come while a pass runs (a new tick, or one the pass
  just served) take part in the next, so sessions ticking together run in lockstep.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import torch

from cojam.live.engine import JamSession, Plan, advance
from cojam.live.fair_share import Account, FairShare
from cojam.models.online import OnlineModel
from cojam.models.row_cache import Forward, forward_together


@dataclass
class Turn:
    """One session's part in a shared pass: resume its tick with ``answer`` and walk to
    its next model call, which the pass serves. ``result`` is that call's logits, or
    None (the tick paused between slices), or what the walk returned (the tick's
    ``Plan``; True for ``extending``)."""

    model: OnlineModel
    steps: Generator[Forward | None, torch.Tensor | None, Plan | bool]
    answer: torch.Tensor | None = None
    account: Account | None = None
    result: torch.Tensor | Plan | bool | None = None
    error: Exception | None = None
    request: Forward | None = None
    done: bool = False
    """the pass that took this turn is over"""
    wake: anyio.Event = field(default_factory=anyio.Event)
    """set when the pass is over, or when this turn's task is to start the next one"""
    ended: bool = False
    """its walk has returned (``result`` is what it returned: a ``Plan``, or True)"""


def run_pass(turns: list[Turn]) -> None:
    """One shared pass: every turn's tick walks to its next model call (or pauses, or
    ends), then one ``forward_together`` per model serves all the calls. A tick that
    raises (an ``EngineError``) fails only its own turn."""
    calls: list[Turn] = []
    for turn in turns:
        turn.request = None
        try:
            result = advance(turn.steps, turn.answer)
        except Exception as e:  # the session's own error, for its own client
            turn.error = e
            continue
        if isinstance(result, Forward):
            turn.request = result
            calls.append(turn)
        else:
            turn.result, turn.ended = result, result is not None
    by_model: dict[int, list[Turn]] = {}
    for turn in calls:
        by_model.setdefault(id(turn.model), []).append(turn)
    for group in by_model.values():
        served = forward_together(group[0].model, [t.request for t in group])
        for turn, logits in zip(group, served, strict=True):
            turn.result = logits


def tick_together(ticks: list[tuple[JamSession, float]],
                  finished: Callable[[int, Plan], None] | None = None) -> list[Plan]:
    """Tick each (session, beat) in shared passes until every tick is done (a tick
    that pauses between slices just goes on in the next pass). ``finished(index,
    plan)`` is called as each tick ends. Returns the plans."""
    return _together([(s.model, s.ticking(beat)) for s, beat in ticks], finished)


def extend_together(sessions: list[JamSession]) -> None:
    """Each session's planning after its last answer (``JamSession.extending``), in
    shared passes: what a server does between ticks."""
    _together([(s.model, s.extending()) for s in sessions])


def _together(steps: list[tuple[OnlineModel, Generator]],
              finished: Callable[[int, Plan], None] | None = None) -> list:
    turns = {i: Turn(model, walk) for i, (model, walk) in enumerate(steps)}
    results: list = [None] * len(steps)
    while turns:
        run_pass(list(turns.values()))
        for index, turn in list(turns.items()):
            if turn.error is not None:
                raise turn.error
            if turn.ended:
                results[index] = turn.result
                del turns[index]
                if finished is not None:
                    finished(index, turn.result)
            turn.answer = turn.result
    return results


class Batcher:
    """Runs the server's ticks in shared passes (``run_pass``), one pass at a time, each
    on a worker of ``share`` and charged evenly to the sessions in it. Its methods run
    on the server's event loop."""

    def __init__(self, share: FairShare):
        self.share = share
        self.waiting: list[Turn] = []
        self.serving = False
        self.passes = 0  # passes run, and the model calls they served: for benchmarks
        self.calls = 0

    async def tick(self, account: Account, session: JamSession, beat: float) -> Plan:
        """``session.tick(beat)``, one pass at a time, each shared with whatever other
        sessions wait for one."""
        return await self.walk(account, session.model, session.ticking(beat))

    async def extend(self, account: Account, session: JamSession) -> None:
        """``session.extend()`` (its planning after its answer) the same way."""
        await self.walk(account, session.model, session.extending())

    async def walk(self, account: Account, model: OnlineModel,
                   steps: Generator[Forward | None, torch.Tensor | None, Any]) -> Any:
        """Run ``steps`` (a session's ``ticking`` or ``extending``) to its end in shared
        passes; what it returns."""
        turn = Turn(model, steps, account=account)
        while True:
            await self._take_part(turn)
            if turn.error is not None:
                raise turn.error
            if turn.ended:
                return turn.result
            turn.answer = turn.result

    async def _take_part(self, turn: Turn) -> None:
        """Wait for a pass to serve ``turn``; one that finds no pass running starts
        one, for every turn waiting then (its own included)."""
        turn.done, turn.result = False, None
        self.waiting.append(turn)
        while not turn.done:
            if self.serving:
                turn.wake = anyio.Event()
                await turn.wake.wait()
                continue
            self.serving = True
            try:
                await anyio.sleep(0)  # the turns the last pass served join this one
                await self._serve()
            finally:
                self.serving = False
                if self.waiting:  # the first one waiting starts the next pass
                    self.waiting[0].wake.set()

    async def _serve(self) -> None:
        turns, self.waiting = self.waiting, []
        accounts = [t.account for t in turns if t.account is not None]
        try:
            await self.share.run_together(accounts, partial(run_pass, turns))
        except Exception as e:
            for turn in turns:
                turn.error = e
            raise
        finally:
            for turn in turns:
                turn.done = True
                turn.wake.set()
        self.passes += 1
        self.calls += sum(turn.request is not None for turn in turns)
