"""One websocket, one jam: read messages in order, act on them, answer, log.

A ``Hub`` holds what sessions share (the models, the log folder, the session count); a
``Connection`` holds what one session owns (its engine and KV cache, its log, its rate
limit). Messages of one session are handled strictly in order, so every ``plan`` answers
its ``tick`` in order; the model runs in a worker thread so other sessions' sockets stay
responsive meanwhile. When the client stops, or the socket is closed for breaking the
rules, the log is closed and the session's cache is dropped; when the socket just drops,
the session is held for a grace period for its page to ``resume`` (``cojam.live.resume``).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from cojam.live.engine import MAX_TICK_ADVANCE_BEATS, EngineError, JamSession
from cojam.live.model_choice import ModelChoiceError, choose
from cojam.live.protocol import (
    MESSAGE_BURST,
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
                 start_deadline: float = START_DEADLINE_SECONDS):
        self.models = models
        self.sessions_dir = Path(sessions_dir)
        self.max_sessions = max_sessions
        self.start_deadline = start_deadline
        self.active = 0
        self.created: set[str] = set()  # session ids this server logged (for downloads)
        self.resumable = Resumable()  # sessions whose socket dropped, by resume token
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """Worker threads for model calls: one per core, more would only contend."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(os.cpu_count() or 1)
        return self._limiter

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

    async def run(self) -> None:
        """Serve the socket until the client stops or leaves."""
        await self.websocket.accept()
        if self.hub.active + len(self.hub.resumable) >= self.hub.max_sessions:
            await self._send(error_message(f"the server is full ({self.hub.max_sessions} "
                                           f"sessions); try again later"))
            await self.websocket.close(code=1013)
            return
        self.hub.active += 1
        reason = "disconnect"
        try:
            while True:
                message = await self._receive()
                if message is None:
                    await self._error(f"no session started within {self.hub.start_deadline:g} "
                                      "s of opening the socket", None)
                    await self.websocket.close(code=1008, reason="no start")
                    return
                if message["type"] == "websocket.disconnect":
                    reason = _disconnect_reason(message.get("code"))
                    return
                if not self.rate.allow(time.monotonic()):
                    self.dropped += 1
                    if self.dropped > MAX_DROPPED:
                        await self.websocket.close(code=1008, reason="message rate limit")
                        return
                    await self._error("too many messages: at most "
                                      f"{self.rate.rate:g} per second", None)
                    continue
                parsed = None
                try:
                    parsed = parse_client_message(message.get("text") or message.get("bytes")
                                                  or "")
                    if await self._handle(parsed):
                        reason = "stop"
                        await self.websocket.close(code=1000)
                        return
                except ProtocolError as e:
                    await self._error(str(e), e.ref)
                except (EngineError, ModelChoiceError) as e:
                    await self._error(str(e), getattr(parsed, "type", None))
        except WebSocketDisconnect as e:
            reason = _disconnect_reason(e.code)
        finally:
            self.hub.active -= 1
            # a socket that drops while closing after a stop has nothing left to hold
            if (reason == "dropped" and self.engine is not None and self.log is not None
                    and not self.log.closed):
                self._hold()
            else:
                self._close_log(reason)
            self.engine = None  # frees the session's cache, unless held for a resume

    async def _receive(self) -> dict[str, Any] | None:
        """The next frame; None once the start deadline has passed with no session (an
        idle socket must not hold one of the server's session slots)."""
        if self.engine is not None:
            return await self.websocket.receive()
        with anyio.move_on_after(self.opened + self.hub.start_deadline - time.monotonic()):
            return await self.websocket.receive()
        return None

    async def _send(self, data: dict[str, Any]) -> None:
        await self.websocket.send_json(data)

    async def _error(self, message: str, ref: str | None) -> None:
        if self.log is not None:
            self.log.write("error", message=message, ref=ref)
        await self._send(error_message(message, ref))

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

    async def _handle(self, message: Start | Resume | NoteOn | NoteOff | Tick | Stop
                      ) -> bool:
        """Act on one message; True when the session is over."""
        if isinstance(message, Stop):
            session = self.log.id if self.log is not None else None
            self._close_log("stop")
            midi = self.hub.midi_url(session) if session else None
            await self._send(stopped_message(session, midi))
            return True
        if isinstance(message, Start):
            await self._start(message)
            return False
        if isinstance(message, Resume):
            await self._resume(message)
            return False
        if self.engine is None or self.log is None:
            raise ProtocolError(f"send start before {message.type}", message.type)
        if isinstance(message, NoteOn):
            self.engine.note_on(message.pitch, message.beat)
            self.log.write("note_on", pitch=message.pitch, beat=message.beat)
        elif isinstance(message, NoteOff):
            self.engine.note_off(message.pitch, message.beat)
            self.log.write("note_off", pitch=message.pitch, beat=message.beat)
        else:
            await self._tick(message.beat)
        return False

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
        await self._send(ready_message(session_id, list(self.hub.models), name, settings,
                                       self.token, self.hub.resumable.grace))

    async def _resume(self, message: Resume) -> None:
        if self.engine is not None:
            raise ProtocolError("the session has already started; resume on a new socket",
                                "resume")
        held = self.hub.resumable.take(message.token)
        if held is None:
            raise ProtocolError("no session to resume with this token (it was stopped, or "
                                "its grace period ran out)", "resume")
        self.engine, self.log, self.model_name = held.engine, held.log, held.model
        self.token = message.token
        self.log.write("resumed", beat=held.engine.last_beat or 0.0)
        if message.beat is not None:
            await self._catch_up(message.beat)
        beat = held.engine.last_beat
        await self._send(ready_message(self.log.id, list(self.hub.models), held.model,
                                       held.engine.settings, self.token,
                                       self.hub.resumable.grace, resumed=True, beat=beat))

    async def _catch_up(self, beat: float) -> None:
        """Tick through the time the socket was away, so the page's next tick is not a
        jump; what was committed meanwhile heard silence. At most what the grace period
        allows at the session's tempo (and a tick's jump), so a client cannot make the
        server tick for hours."""
        assert self.engine is not None and self.log is not None
        settings = self.engine.settings
        away = self.hub.resumable.grace * settings.tempo / 60 + MAX_TICK_ADVANCE_BEATS
        clock = self.engine.last_beat or 0.0
        if beat - clock > away:
            raise ProtocolError(f"resume.beat {beat} is more than {away:g} beats after the "
                                f"session's last tick ({clock}); the grace period is shorter",
                                "resume")
        while clock < beat:
            clock = min(beat, clock + MAX_TICK_ADVANCE_BEATS)
            plan = await anyio.to_thread.run_sync(self.engine.tick, clock,
                                                  limiter=self.hub.limiter)
            for symbol, onset in plan.new_commits:
                self.log.write("commit", symbol=symbol, onset=onset)

    async def _tick(self, beat: float) -> None:
        assert self.engine is not None and self.log is not None
        plan = await anyio.to_thread.run_sync(self.engine.tick, beat,
                                              limiter=self.hub.limiter)
        milliseconds = plan.report.seconds * 1000
        for symbol, onset in plan.new_commits:
            self.log.write("commit", symbol=symbol, onset=onset)
        self.log.write("plan", beat=beat, ms=round(milliseconds, 3), chords=[
            [c.symbol, c.onset, c.duration, c.committed] for c in plan.chords])
        await self._send(plan_message(beat, plan.chords, milliseconds))
