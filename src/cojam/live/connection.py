"""One websocket, one jam: read messages in order, act on them, answer, log.

A ``Hub`` holds what sessions share (the models, the log folder, the session count, the
model's worker threads); a ``Connection`` holds what one session owns (its engine and KV
cache, its log, its rate limit, its inbox). Each connection has two tasks: a reader that
takes every message off the socket as it comes (checking it, and answering at once what
needs no session) and a worker that acts on the session's messages strictly in order
(``cojam.live.inbox``), so every ``plan`` answers its ``tick`` in order. The model runs in
worker threads shared fairly between sessions (``cojam.live.fair_share``), one slice of a
tick at a time, so a session that asks for more than its share slows only itself; the
model calls of sessions that tick together share one pass (``cojam.live.batching``). A tick
is answered once its commitments are chosen; the session plans on past them after the
answer is sent (``JamSession.extending``), unless another tick already waits. When the
client stops, or the socket is closed for breaking the rules, the log is closed and the
session's cache is dropped; when the socket just drops, the session is held for a grace
period for its page to ``resume`` (``cojam.live.resume``).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Generator
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from cojam.live.batching import Batcher
from cojam.live.engine import (
    MAX_TICK_ADVANCE_BEATS,
    EngineError,
    JamSession,
    Plan,
    advance,
    check_tick,
)
from cojam.live.fair_share import Account, FairShare
from cojam.live.inbox import Inbox, InboxFull, Item, Refused, Superseded
from cojam.live.model_choice import ModelChoiceError, choose
from cojam.live.protocol import (
    MESSAGE_BURST,
    Feedback,
    NoteOff,
    NoteOn,
    ProtocolError,
    RateLimit,
    Resume,
    Start,
    Stop,
    Tick,
    error_message,
    parse_client_message,
    plan_message,
    ready_message,
    stopped_message,
)
from cojam.live.resume import HeldSession, Resumable, new_token
from cojam.live.session_log import SessionLog, new_session_id
from cojam.live.warmth import Warmer
from cojam.models.online import OnlineModel

MAX_SESSIONS = 32  # sessions at once; more are refused with close code 1013
MAX_DROPPED = 5 * MESSAGE_BURST  # rate-limited messages before the socket is closed (1008)
START_DEADLINE_SECONDS = 10.0  # a socket with no session started by then is closed (1008)


def _disconnect_reason(code: int | None) -> str:
    """``dropped`` (held for a resume) unless the client closed the socket on purpose: a
    normal closure (1000, or 1005 for a close frame without a code) or a page going away
    (1001, which takes its resume token with it)."""
    return "disconnect" if code in (1000, 1001, 1005) else "dropped"


class Hub:
    """What all sessions of one server share."""

    def __init__(self, models: dict[str, OnlineModel], sessions_dir: Path,
                 max_sessions: int = MAX_SESSIONS,
                 start_deadline: float = START_DEADLINE_SECONDS, batching: bool = True,
                 keep_warm: bool = True):
        self.models = models
        self.sessions_dir = Path(sessions_dir)
        self.max_sessions = max_sessions
        self.start_deadline = start_deadline
        self.active = 0
        self.created: set[str] = set()  # session ids this server logged (for downloads)
        self.resumable = Resumable()  # sessions whose socket dropped, by resume token
        # resume tokens of sessions whose socket dropped while the model was working for
        # them: set once the tick in progress is done and the session is held
        self.handing_over: dict[str, anyio.Event] = {}
        # worker threads for model calls: one per core, more would only contend
        self.share = FairShare(os.cpu_count() or 1)
        # model calls of all sessions served in shared passes (None: each session's
        # calls run alone, inside its own slices)
        self.batcher = Batcher(self.share) if batching else None
        # the model warmed before ticks that follow a while without model work (None: not)
        self.warmer = Warmer(self.share) if keep_warm else None

    @staticmethod
    def midi_url(session_id: str) -> str:
        return f"/api/sessions/{session_id}/midi"


class Connection:
    """One client's session over one websocket."""

    def __init__(self, hub: Hub, websocket: WebSocket):
        self.hub = hub
        self.websocket = websocket
        self.engine: JamSession | None = None
        self.log: SessionLog | None = None
        self.rate = RateLimit()
        self.dropped = 0
        self.opened = time.monotonic()
        self.model_name = ""
        self.token = ""  # the session's resume token
        self.inbox = Inbox()
        self.account: Account | None = None  # the session's use of the model
        self.clock: float | None = None  # the last tick accepted (the worker may be behind)
        self.sending = anyio.Lock()
        self.ticked = anyio.Event()  # set when a tick arrives (``_keep_warm``)
        self.tick_arrived = 0.0  # when the last tick arrived (``time.monotonic``)
        self.warming = anyio.CancelScope()  # the ``_keep_warm`` loop, ended with the worker

    async def run(self) -> None:
        """Serve the socket until the client stops or leaves."""
        await self.websocket.accept()
        if self.hub.active + len(self.hub.resumable) >= self.hub.max_sessions:
            await self._send(error_message(f"the server is full ({self.hub.max_sessions} "
                                           f"sessions); try again later"))
            await self.websocket.close(code=1013)
            return
        self.hub.active += 1
        reason, handed = "disconnect", None
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._work)
                tasks.start_soon(self._keep_warm)
                try:
                    reason = await self._read()
                finally:
                    if reason != "stop":  # the worker answers up to the stop, then ends
                        self.inbox.close()
                    if reason == "dropped" and self.token:  # a resume may come meanwhile
                        handed = self.hub.handing_over[self.token] = anyio.Event()
        finally:
            self.hub.active -= 1
            # a socket that drops while closing after a stop has nothing left to hold
            if (reason == "dropped" and self.engine is not None and self.log is not None
                    and not self.log.closed):
                self._hold()
            else:
                self._close_log(reason)
            self.engine = None  # frees the session's cache, unless held for a resume
            if handed is not None:
                del self.hub.handing_over[self.token]
                handed.set()

    async def _read(self) -> str:
        """Take messages off the socket until the session ends; returns why it ended
        (``stop``, ``dropped``, or ``disconnect``: the client closed the socket, or the
        server did for breaking the rules)."""
        try:
            while True:
                message = await self._receive()
                if message is None:
                    await self._error(f"no session started within {self.hub.start_deadline:g} "
                                      "s of opening the socket", None)
                    await self.websocket.close(code=1008, reason="no start")
                    return "disconnect"
                if message["type"] == "websocket.disconnect":
                    return _disconnect_reason(message.get("code"))
                if not self.rate.allow(time.monotonic()):
                    self.dropped += 1
                    if self.dropped > MAX_DROPPED:
                        await self.websocket.close(code=1008, reason="message rate limit")
                        return "disconnect"
                    await self._error("too many messages: at most "
                                      f"{self.rate.rate:g} per second", None)
                    # read a flood no faster than the rate: answering every message of
                    # a client that never stops would take the server from the others
                    await anyio.sleep(1 / self.rate.rate)
                    continue
                parsed = None
                try:
                    parsed = parse_client_message(message.get("text") or message.get("bytes")
                                                  or "")
                    if await self._take(parsed):
                        return "stop"
                except ProtocolError as e:
                    await self._refuse(str(e), e.ref)
                except (EngineError, ModelChoiceError) as e:
                    await self._refuse(str(e), getattr(parsed, "type", None))
        except WebSocketDisconnect as e:
            return _disconnect_reason(e.code)

    async def _receive(self) -> dict[str, Any] | None:
        """The next frame; None once the start deadline has passed with no session (an
        idle socket must not hold one of the server's session slots)."""
        if self.engine is not None:
            return await self.websocket.receive()
        with anyio.move_on_after(self.opened + self.hub.start_deadline - time.monotonic()):
            return await self.websocket.receive()
        return None

    async def _send(self, data: dict[str, Any]) -> None:
        """Send ``data``, unless the server has closed the socket (for breaking the rules,
        while the worker was still answering)."""
        async with self.sending:  # the reader and the worker both answer
            if self.websocket.application_state == WebSocketState.CONNECTED:
                await self.websocket.send_json(data)

    async def _error(self, message: str, ref: str | None, **fields: Any) -> None:
        if self.log is not None:
            self.log.write("error", message=message, ref=ref, **fields)
        await self._send({**error_message(message, ref), **fields})

    async def _refuse(self, message: str, ref: str | None) -> None:
        """Answer a refused message in its turn: after the answers to every message
        before it, once the session's worker has them."""
        if self.engine is None:
            await self._error(message, ref)
        else:
            await self._queue(Refused(message, ref), ref)

    async def _queue(self, item: Item, ref: str | None) -> None:
        try:
            superseded = self.inbox.put(item)
        except InboxFull as e:
            await self._error(f"{e}; message dropped (send less, or wait for the answers)",
                              ref)
            return
        if superseded is not None and self.log is not None:
            self.log.write("superseded", beat=superseded.beat)

    def _hold(self) -> None:
        """Keep the session for its page to resume; a disconnect ends it after the
        grace period."""
        assert self.engine is not None and self.log is not None
        self.log.write("dropped", beat=self.engine.last_beat or 0.0)

        def expire(held: HeldSession) -> None:
            held.log.write("stopped", reason="disconnect", beat=held.engine.last_beat or 0.0)
            held.log.close()

        self.hub.resumable.hold(self.token, HeldSession(self.engine, self.log,
                                                        self.model_name), expire)

    def _close_log(self, reason: str) -> None:
        if self.log is not None and not self.log.closed:
            beat = self.engine.last_beat if self.engine is not None else None
            self.log.write("stopped", reason=reason, beat=beat or 0.0)
            self.log.close()

    async def _take(self, message: Start | Resume | NoteOn | NoteOff | Tick | Stop) -> bool:
        """Act on a message as it comes, or queue it for the worker; True when the
        session is over (a stop is queued behind what came before it)."""
        if isinstance(message, Start):
            await self._start(message)
            return False
        if isinstance(message, Resume):
            await self._resume(message)
            return False
        if (self.engine is None or self.log is None) and not isinstance(message, Stop):
            raise ProtocolError(f"send start before {message.type}", message.type)
        if isinstance(message, Tick):
            check_tick(self.clock, message.beat)
            assert self.account is not None
            self.tick_arrived = time.monotonic()
            self.account.moved(message.beat - (self.clock or 0.0), self.tick_arrived)
            self.clock = message.beat
            self.ticked.set()
        await self._queue(message, message.type)
        return isinstance(message, Stop)

    # ------------------------------------------------------------------ the worker
    async def _work(self) -> None:
        """Act on the session's messages in order until the inbox closes or a stop."""
        try:
            while (item := await self.inbox.get()) is not None:
                if isinstance(item, Stop):
                    await self._stop()
                    return
                try:
                    await self._act(item)
                except EngineError as e:
                    await self._error(str(e), getattr(item, "type", None))
        except WebSocketDisconnect:  # the reader sees the disconnect too, and ends
            return
        finally:
            self.warming.cancel()

    async def _keep_warm(self) -> None:
        """After each tick that arrives, warm the model shortly before the next one is
        due, one frame later at the session's tempo, if it has been idle meanwhile
        (``cojam.live.warmth``); until the worker ends."""
        warmer = self.hub.warmer
        if warmer is None:
            return
        with self.warming:
            while True:
                await self.ticked.wait()
                self.ticked = anyio.Event()
                engine = self.engine
                if engine is None:
                    continue
                frame = 60 / engine.settings.tempo / engine.spec.frames_per_beat
                await warmer.before(engine.model, self.tick_arrived + frame)

    async def _act(self, item: Item) -> None:
        assert self.engine is not None and self.log is not None
        if isinstance(item, NoteOn):
            self.engine.note_on(item.pitch, item.beat)
            self.log.write("note_on", pitch=item.pitch, beat=item.beat)
        elif isinstance(item, NoteOff):
            self.engine.note_off(item.pitch, item.beat)
            self.log.write("note_off", pitch=item.pitch, beat=item.beat)
        elif isinstance(item, Feedback):
            self.log.write("feedback", value=item.value, beat=item.beat)
        elif isinstance(item, Tick):
            await self._tick(item.beat)
        elif isinstance(item, Superseded):
            await self._send({**error_message(
                f"tick at beat {item.beat} was superseded by a later tick before the model "
                f"reached it (the session is behind)", "tick"),
                "beat": item.beat, "superseded": True})
        else:
            await self._error(item.message, item.ref)

    async def _stop(self) -> None:
        session = self.log.id if self.log is not None else None
        self._close_log("stop")
        midi = self.hub.midi_url(session) if session else None
        await self._send(stopped_message(session, midi))
        await self.websocket.close(code=1000)

    # ------------------------------------------------------------------ sessions
    async def _start(self, message: Start) -> None:
        if self.engine is not None:
            raise ProtocolError("the session has already started; open a new socket for a "
                                "new session", "start")
        name, model = choose(self.hub.models, message.model)
        seed = message.seed if message.seed is not None else secrets.randbits(53)
        settings = message.settings(seed)
        engine = JamSession(model, settings)  # raises EngineError for unfit settings
        session_id = new_session_id()
        self.log = SessionLog(self.hub.sessions_dir, session_id,
                              {"model": name, "settings": asdict(settings)})
        self.hub.created.add(session_id)
        self.engine, self.model_name, self.token = engine, name, new_token()
        self.account = Account(settings.tempo / 60)
        await self._send(ready_message(session_id, list(self.hub.models), name, settings,
                                       self.token, self.hub.resumable.grace))

    async def _resume(self, message: Resume) -> None:
        if self.engine is not None:
            raise ProtocolError("the session has already started; resume on a new socket",
                                "resume")
        held = self.hub.resumable.take(message.token)
        handing_over = self.hub.handing_over.get(message.token)
        if held is None and handing_over is not None:  # its old socket ends its tick first
            await handing_over.wait()
            held = self.hub.resumable.take(message.token)
        if held is None:
            raise ProtocolError("no session to resume with this token (it was stopped, or "
                                "its grace period ran out)", "resume")
        self.engine, self.log, self.model_name = held.engine, held.log, held.model
        self.account = Account(held.engine.settings.tempo / 60)
        self.token = message.token
        self.log.write("resumed", beat=held.engine.last_beat or 0.0)
        if message.beat is not None:
            await self._catch_up(message.beat)
        beat = self.clock = held.engine.last_beat
        await self._send(ready_message(self.log.id, list(self.hub.models), held.model,
                                       held.engine.settings, self.token,
                                       self.hub.resumable.grace, resumed=True, beat=beat))

    async def _catch_up(self, beat: float) -> None:
        """Tick through the time the socket was away, so the page's next tick is not a
        jump; what was committed meanwhile heard silence. At most what the grace period
        allows at the session's tempo (and a tick's jump), so a client cannot make the
        server tick for hours."""
        assert self.engine is not None
        settings = self.engine.settings
        away = self.hub.resumable.grace * settings.tempo / 60 + MAX_TICK_ADVANCE_BEATS
        clock = self.engine.last_beat or 0.0
        if beat - clock > away:
            raise ProtocolError(f"resume.beat {beat} is more than {away:g} beats after the "
                                f"session's last tick ({clock}); the grace period is shorter",
                                "resume")
        if beat > clock:
            await self._advance_to(beat)

    # ------------------------------------------------------------------ the model
    async def _tick(self, beat: float) -> None:
        assert self.log is not None
        plan = await self._advance_to(beat)
        if plan is None:
            return
        milliseconds = plan.report.seconds * 1000
        self.log.write("plan", beat=beat, ms=round(milliseconds, 3), chords=[
            [c.symbol, c.onset, c.duration, c.committed] for c in plan.chords])
        await self._send(plan_message(beat, plan.chords, milliseconds))
        if not self.inbox.tick_waiting():  # else the next tick plans on first
            await self._extend()

    async def _advance_to(self, beat: float) -> Plan | None:
        """Tick the engine to ``beat``, in ticks of at most the longest jump when the
        clock is further behind (after a resume, or ticks that were superseded), logging
        the chords it commits; the plan of the last tick. None when the socket went away
        meanwhile: the session stops at the end of the tick in progress (it may be held
        for a resume, which catches up)."""
        assert self.engine is not None and self.log is not None
        with anyio.CancelScope(shield=True):  # a tick is never left half done
            while not self.inbox.closed:
                clock = min(beat, (self.engine.last_beat or 0.0) + MAX_TICK_ADVANCE_BEATS)
                plan = await self._run_tick(clock)
                for symbol, onset in plan.new_commits:
                    self.log.write("commit", symbol=symbol, onset=onset)
                if clock == beat:
                    return plan
        return None

    async def _extend(self) -> None:
        """Plan on past the commit horizon once the plan is sent (``JamSession.extending``),
        in the time before the next tick; never left half done."""
        assert self.engine is not None
        with anyio.CancelScope(shield=True):
            await self._walk(self.engine.extending())

    async def _run_tick(self, beat: float) -> Plan:
        """One engine tick (``_walk``)."""
        assert self.engine is not None
        return await self._walk(self.engine.ticking(beat))

    async def _walk(self, steps: Generator) -> Any:
        """Run a walk of the engine's (``ticking``, ``extending``) to its end: with
        batching in shared passes (``cojam.live.batching``), else slice by slice, each
        slice in its fair turn and running its own model calls; what it returns."""
        assert self.engine is not None and self.account is not None
        engine, account, batcher = self.engine, self.account, self.hub.batcher
        if batcher is not None:
            return await batcher.walk(account, engine.model, steps)
        while True:
            result = await self.hub.share.run(account, partial(advance, steps, None,
                                                               engine.model))
            if result is not None:
                return result
