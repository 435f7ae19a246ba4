"""Protocol v1: the JSON messages of a jam websocket, their limits, and their validation.

``docs/protocol.md`` is the written spec; this module is its executable form. Every
client message is checked here before anything acts on it: size, JSON syntax, version,
type, and each field's type and range (strictly: ``"60"`` is not a pitch, ``true`` is not
a number). A bad message raises ``ProtocolError``, which the server answers with an
``error`` message while the session goes on. Unknown fields are ignored whatever they
hold (so the protocol can grow by adding fields) within the limits every message meets:
``MAX_MESSAGE_BYTES``, ``MAX_NESTING`` levels of arrays and objects, and integers of at
most ``MAX_INTEGER_DIGITS`` digits where a field reads one (a longer one is kept as a
``LongInteger`` that no field accepts: Python's ``int`` refuses over 4,300 digits).

The text is decoded once, here, with the standard ``json`` module; a known type's own
fields are then validated, and the rest dropped unseen. An error names what was wrong
and echoes at most ``MAX_ECHO_CHARS`` characters of what was sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cojam.live.engine import JamSettings
from cojam.live.harmonic_rhythm import DEFAULT_RHYTHM
from cojam.live.plan import PlannedChord

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
MAX_BEAT = 100_000.0  # ~14 hours at 120 BPM
MESSAGES_PER_SECOND = 100  # sustained rate a client may send
MESSAGE_BURST = 200  # messages a client may send at once above that rate
MAX_NESTING = 500  # levels of arrays and objects in one message
MAX_INTEGER_DIGITS = 30  # digits of an integer a field may read (a seed has 16)
MAX_ECHO_CHARS = 40  # characters of a bad value that an error message repeats
MAX_ERROR_CHARS = 300  # the longest error message sent or logged

Beat = Annotated[float, Field(ge=0, le=MAX_BEAT, allow_inf_nan=False)]
Pitch = Annotated[int, Field(ge=0, le=127)]


class ProtocolError(ValueError):
    """A client message that breaks the protocol; ``ref`` names its type when known."""

    def __init__(self, message: str, ref: str | None = None):
        super().__init__(bounded(message))
        self.ref = ref


class LongInteger:
    """An integer of more than ``MAX_INTEGER_DIGITS`` digits, as decoded: no field accepts
    it, and an unknown field holding it is dropped like any other."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with lone surrogates (valid in a JSON
    string escape, unencodable in UTF-8) written as escapes, so it can always be sent."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def excerpt(value: Any) -> str:
    """A short JSON-ish rendering of a client's value, for an error message."""
    text = json.dumps(value, default=repr) if not isinstance(value, LongInteger) else repr(value)
    return text if len(text) <= MAX_ECHO_CHARS else text[: MAX_ECHO_CHARS - 1] + "…"


def _integer(text: str) -> int | LongInteger:
    return int(text) if len(text) <= MAX_INTEGER_DIGITS + 1 else LongInteger(text)


def _nesting(value: Any) -> int:
    """Levels of arrays and objects in a decoded value (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, (dict, list)))
    return deepest


def decode_json(data: str) -> Any:
    """The JSON value of ``data``, or ``ProtocolError``: malformed, or nested deeper than
    ``MAX_NESTING``. Integers too long for ``int`` become ``LongInteger``."""
    try:
        value = json.loads(data, parse_int=_integer)
    except RecursionError:
        raise ProtocolError(f"nested more than {MAX_NESTING} levels deep") from None
    except ValueError as e:  # JSONDecodeError, and any number the decoder cannot hold
        raise ProtocolError(f"malformed JSON: {e}") from None
    # only a message with that many brackets can be that deep: most skip the walk
    if data.count("[") + data.count("{") > MAX_NESTING and _nesting(value) > MAX_NESTING:
        raise ProtocolError(f"nested more than {MAX_NESTING} levels deep")
    return value


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    v: Literal[1]


class Start(_Message):
    """Begin a session with these settings; answered by ``ready``."""

    type: Literal["start"]
    tempo: float = Field(120.0, ge=20, le=300, allow_inf_nan=False)
    beats_per_bar: int = Field(4, ge=1, le=12)
    lookahead: int = Field(8, ge=1, le=16)
    commit: int = Field(2, ge=1, le=16)
    count_in: int = Field(8, ge=0, le=64)
    listen: int = Field(8, ge=0, le=64)
    harmonic_rhythm: Literal["free", "beat", "half-bar", "bar"] = DEFAULT_RHYTHM
    model: str = Field("default", min_length=1, max_length=100)
    temperature: float = Field(1.0, ge=0, le=2, allow_inf_nan=False)
    seed: int | None = Field(None, ge=0, le=2**53)
    style: Literal["song", "corpus"] = "song"

    @model_validator(mode="after")
    def _commit_within_lookahead(self) -> Start:
        if self.commit > self.lookahead:
            raise ValueError(f"commit ({self.commit}) must not exceed lookahead "
                             f"({self.lookahead})")
        return self

    def settings(self, seed: int) -> JamSettings:
        return JamSettings(
            tempo=self.tempo, beats_per_bar=self.beats_per_bar, lookahead=self.lookahead,
            commit=self.commit, count_in=self.count_in, listen=self.listen,
            harmonic_rhythm=self.harmonic_rhythm, temperature=self.temperature, seed=seed,
            style=self.style,
        )


class NoteOn(_Message):
    type: Literal["note_on"]
    pitch: Pitch
    beat: Beat


class NoteOff(_Message):
    type: Literal["note_off"]
    pitch: Pitch
    beat: Beat


class Tick(_Message):
    """The client's clock reached ``beat``; answered by ``plan``."""

    type: Literal["tick"]
    beat: Beat


class Resume(_Message):
    """Take up a session whose socket dropped, within its grace period; answered by
    ``ready`` (with ``resumed`` true). ``token`` is the ``resume`` of its ``ready``."""

    type: Literal["resume"]
    token: str = Field(min_length=1, max_length=100)
    beat: Beat | None = None
    """the client's clock now: the session is ticked through the time it was away"""


class Feedback(_Message):
    """The musician marks the moment at ``beat`` good or bad (logged; no answer)."""

    type: Literal["feedback"]
    value: Literal["good", "bad"]
    beat: Beat


class Stop(_Message):
    """End the session; answered by ``stopped``, then the socket closes."""

    type: Literal["stop"]


ClientMessage = Start | Resume | NoteOn | NoteOff | Tick | Feedback | Stop
MESSAGE_TYPES: dict[str, type[_Message]] = {
    "start": Start, "resume": Resume, "note_on": NoteOn, "note_off": NoteOff, "tick": Tick,
    "feedback": Feedback, "stop": Stop,
}


def _describe(error: ValidationError, type_name: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    text = f"{type_name}.{where}: {first['msg']}"
    if first["type"] != "missing" and "input" in first and not isinstance(first["input"], dict):
        text += f" (got {excerpt(first['input'])})"
    return text


def parse_client_message(data: str | bytes) -> ClientMessage:
    """One websocket frame -> a validated message, or ``ProtocolError`` saying why not."""
    if isinstance(data, bytes):
        raise ProtocolError("messages are JSON text frames, not binary")
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {size} bytes is over the {MAX_MESSAGE_BYTES}-byte "
                            "limit")
    raw = decode_json(data)
    if not isinstance(raw, dict):
        raise ProtocolError("a message is a JSON object")
    type_name = raw.get("type")
    ref = type_name if isinstance(type_name, str) and type_name in MESSAGE_TYPES else None
    version = raw.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {excerpt(version)}; this server "
                            f"speaks v {PROTOCOL_VERSION}", ref)
    if ref is None:
        raise ProtocolError(f"unknown message type {excerpt(type_name)}; known: "
                            f"{', '.join(MESSAGE_TYPES)}")
    model = MESSAGE_TYPES[ref]
    known = {name: raw[name] for name in model.model_fields if name in raw}
    try:
        return model.model_validate(known)
    except ValidationError as e:
        raise ProtocolError(_describe(e, ref), ref) from None


# ---------------------------------------------------------------- server -> client

def ready_message(session: str, models: list[str], model: str, settings: JamSettings,
                  resume: str, grace_seconds: float, resumed: bool = False,
                  beat: float | None = None) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": "ready", "session": session, "models": models,
            "model": model, "settings": asdict(settings), "resume": resume,
            "grace_s": grace_seconds, "resumed": resumed, "beat": beat}


def plan_message(beat: float, chords: list[PlannedChord], compute_ms: float) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": "plan", "beat": beat,
            "chords": [c.to_dict() for c in chords], "compute_ms": round(compute_ms, 3)}


def error_message(message: str, ref: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": "error",
                             "message": bounded(message)}
    if ref is not None:
        reply["ref"] = ref
    return reply


def stopped_message(session: str | None, midi_url: str | None) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": "stopped", "log": session, "midi": midi_url}


class RateLimit:
    """A token bucket: ``rate`` messages per second on average, ``burst`` at once."""

    def __init__(self, rate: float = MESSAGES_PER_SECOND, burst: float = MESSAGE_BURST):
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.updated: float | None = None

    def allow(self, now: float) -> bool:
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
