"""Protocol v1 over the real app's websocket: every message type, every kind of bad
message (answered with an error while the session goes on), isolation and clean-up."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cojam.live import connection
from cojam.live.host_check import host_allowed
from cojam.live.protocol import MAX_MESSAGE_BYTES, MESSAGE_BURST, RateLimit
from cojam.live.server import create_app
from cojam.live.session_log import read_session

START = {"v": 1, "type": "start", "tempo": 120, "beats_per_bar": 4, "lookahead": 2,
         "commit": 1, "count_in": 1, "model": "default", "temperature": 1.0, "seed": 5}


@pytest.fixture
def app(model, tmp_path):
    return create_app({"tiny": model}, tmp_path / "sessions",
                      host_names=("localhost", "testserver"))  # the test client's name


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def started(socket, **changes) -> dict:
    socket.send_json({**START, **changes})
    reply = socket.receive_json()
    assert reply["type"] == "ready", reply
    return reply


def test_a_whole_session(client, app, tmp_path):
    with client.websocket_connect("/ws") as socket:
        ready = started(socket)
        assert ready["v"] == 1 and ready["models"] == ["tiny"] and ready["model"] == "tiny"
        assert ready["settings"]["lookahead"] == 2 and ready["settings"]["seed"] == 5
        socket.send_json({"v": 1, "type": "note_on", "pitch": 60, "beat": 1.0})
        socket.send_json({"v": 1, "type": "tick", "beat": 1.25})
        plan = socket.receive_json()
        assert plan["type"] == "plan" and plan["beat"] == 1.25
        assert plan["chords"][0]["onset"] <= 1.25
        assert set(plan["chords"][0]) == {"symbol", "onset", "duration", "committed"}
        assert plan["compute_ms"] >= 0
        socket.send_json({"v": 1, "type": "note_off", "pitch": 60, "beat": 1.5})
        for beat in (1.5, 1.75, 2.0):
            socket.send_json({"v": 1, "type": "tick", "beat": beat})
            assert socket.receive_json()["beat"] == beat
        socket.send_json({"v": 1, "type": "stop"})
        stopped = socket.receive_json()
        assert stopped["type"] == "stopped" and stopped["log"] == ready["session"]
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()
    events = read_session(tmp_path / "sessions" / f"{ready['session']}.jsonl")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "session" and kinds[-1] == "stopped" and events[-1]["reason"] == "stop"
    assert {"note_on", "note_off", "plan", "commit"} <= set(kinds)
    midi = client.get(stopped["midi"])
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")


def test_default_names_the_first_model_and_unknown_fields_are_ignored(client):
    with client.websocket_connect("/ws") as socket:
        ready = started(socket, future_field={"x": 1})
        assert ready["model"] == "tiny"
        socket.send_json({"v": 1, "type": "tick", "beat": 0.0, "client_time": 12.5})
        assert socket.receive_json()["type"] == "plan"


BAD_MESSAGES = [
    ("not json", "{'v': 1", "malformed JSON", None),
    ("not an object", "[1, 2]", "JSON object", None),
    ("unknown type", {"v": 1, "type": "dance"}, "unknown message type", None),
    ("no type", {"v": 1}, "unknown message type", None),
    ("wrong version", {"v": 2, "type": "tick", "beat": 1}, "version", "tick"),
    ("no version", {"type": "tick", "beat": 1}, "version", "tick"),
    ("missing field", {"v": 1, "type": "tick"}, "tick.beat: Field required", "tick"),
    ("pitch as text", {"v": 1, "type": "note_on", "pitch": "60", "beat": 1},
     "note_on.pitch", "note_on"),
    ("pitch fraction", {"v": 1, "type": "note_on", "pitch": 60.5, "beat": 1},
     "note_on.pitch", "note_on"),
    ("pitch too high", {"v": 1, "type": "note_on", "pitch": 128, "beat": 1},
     "note_on.pitch", "note_on"),
    ("pitch as bool", {"v": 1, "type": "note_off", "pitch": True, "beat": 1},
     "note_off.pitch", "note_off"),
    ("negative beat", {"v": 1, "type": "tick", "beat": -1}, "tick.beat", "tick"),
    ("huge beat", {"v": 1, "type": "tick", "beat": 1e9}, "tick.beat", "tick"),
    ("NaN beat", '{"v": 1, "type": "tick", "beat": NaN}', "tick.beat", "tick"),
    ("second start", START, "already started", "start"),
    ("tick backwards", {"v": 1, "type": "tick", "beat": 0.5}, "before the previous", "tick"),
    ("clock jump", {"v": 1, "type": "tick", "beat": 90.0}, "jumps more than", "tick"),
    ("note far ahead", {"v": 1, "type": "note_on", "pitch": 60, "beat": 80},
     "ahead of the clock", "note_on"),
    ("pitch outside model", {"v": 1, "type": "note_on", "pitch": 5, "beat": 2},
     "outside the model's range", "note_on"),
    ("deep nesting", "[" * 5000 + "]" * 5000, "nested more than 500 levels", None),
    ("nesting past the limit in an unknown field",
     '{"v":1,"type":"tick","beat":2,"x":' + "[" * 600 + "]" * 600 + "}",
     "nested more than 500 levels", None),
    ("long integer in a field", '{"v":1,"type":"tick","beat":' + "9" * 5000 + "}",
     "tick.beat: Input should be a valid number (got <an integer of 5000 digits>)", "tick"),
    ("lone surrogate in the model name", '{"v":1,"type":"start","model":"\\ud800"}',
     "start.model", "start"),
    ("note_off pitch 0", {"v": 1, "type": "note_off", "pitch": 0, "beat": 2},
     "outside the model's range", "note_off"),
    ("note_off pitch 20", {"v": 1, "type": "note_off", "pitch": 20, "beat": 2},
     "outside the model's range", "note_off"),
    ("note_off pitch 109", {"v": 1, "type": "note_off", "pitch": 109, "beat": 2},
     "outside the model's range", "note_off"),
    ("note_off pitch 127", {"v": 1, "type": "note_off", "pitch": 127, "beat": 2},
     "outside the model's range", "note_off"),
    ("oversized", json.dumps({"v": 1, "type": "tick", "beat": 2, "pad": "x" * MAX_MESSAGE_BYTES}),
     "over the", None),
]


@pytest.mark.parametrize("name,message,expected,ref", BAD_MESSAGES,
                         ids=[m[0] for m in BAD_MESSAGES])
def test_bad_message_gets_an_error_and_the_session_goes_on(client, name, message, expected,
                                                           ref):
    with client.websocket_connect("/ws") as socket:
        started(socket)
        socket.send_json({"v": 1, "type": "tick", "beat": 1.0})
        assert socket.receive_json()["type"] == "plan"
        if isinstance(message, str):
            socket.send_text(message)
        else:
            socket.send_json(message)
        error = socket.receive_json()
        assert error["type"] == "error" and error["v"] == 1
        assert expected in error["message"]
        assert error.get("ref") == ref
        socket.send_json({"v": 1, "type": "tick", "beat": 1.25})
        plan = socket.receive_json()
        assert plan["type"] == "plan" and plan["beat"] == 1.25


@pytest.mark.parametrize("change,expected", [
    ({"tempo": 1000}, "start.tempo"),
    ({"lookahead": 0}, "start.lookahead"),
    ({"commit": 3, "lookahead": 2}, "must not exceed"),
    ({"temperature": -0.5}, "start.temperature"),
    ({"count_in": 1.5}, "start.count_in"),
    ({"model": "missing"}, "no model 'missing'"),
    ({"lookahead": 16}, "too long for a model"),
    ({"style": "jazz"}, "start.style"),
])
def test_bad_start_is_refused_and_a_good_one_still_works(client, change, expected):
    with client.websocket_connect("/ws") as socket:
        socket.send_json({**START, **change})
        error = socket.receive_json()
        assert error["type"] == "error" and expected in error["message"]
        assert error["ref"] == "start"
        started(socket)


def test_messages_before_start_and_binary_frames(client):
    with client.websocket_connect("/ws") as socket:
        socket.send_json({"v": 1, "type": "tick", "beat": 0.0})
        error = socket.receive_json()
        assert "send start before tick" in error["message"] and error["ref"] == "tick"
        socket.send_bytes(b"\x00\x01")
        assert "text frames" in socket.receive_json()["message"]
        socket.send_json({"v": 1, "type": "stop"})
        assert socket.receive_json() == {"v": 1, "type": "stopped", "log": None, "midi": None}


def test_rate_limit_bucket_counts_exactly():
    bucket = RateLimit(rate=100, burst=200)
    assert sum(bucket.allow(0.0) for _ in range(260)) == 200  # a burst, then refusals
    assert sum(bucket.allow(0.1) for _ in range(20)) == 10  # 0.1 s refills 10 messages
    assert bucket.allow(10.0) and bucket.tokens == 199  # the bucket never exceeds its burst


def test_rate_limit_answers_floods_with_errors_and_the_session_goes_on(client, monkeypatch):
    class FloodClock(RateLimit):
        """The session's bucket on a clock of its own: the start and the flood arrive at
        0 s, the stop 10 s later, however fast this machine sends and the server reads."""

        def allow(self, now: float) -> bool:
            self.messages = getattr(self, "messages", 0) + 1
            return super().allow(0.0 if self.messages <= 501 else 10.0)

    monkeypatch.setattr(connection, "RateLimit", FloodClock)
    with client.websocket_connect("/ws") as socket:
        started(socket)  # the start takes one message of the burst
        for _ in range(500):
            socket.send_json({"v": 1, "type": "note_off", "pitch": 60, "beat": 0.0})
        socket.send_json({"v": 1, "type": "stop"})
        replies = []
        while not replies or replies[-1]["type"] != "stopped":
            replies.append(socket.receive_json())
        limited = [r for r in replies if "too many messages" in r.get("message", "")]
        assert len(limited) == 500 - (MESSAGE_BURST - 1)  # the rest of the burst passed


def test_sessions_are_isolated_and_freed(client, app, tmp_path):
    hub = app.state.hub
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws") as second:
        a, b = started(first), started(second)
        assert a["session"] != b["session"] and hub.active == 2
        plans = {"first": [], "second": []}
        for step in range(12):
            beat = 1 + step * 0.25
            first.send_json({"v": 1, "type": "note_on", "pitch": 60 + step, "beat": beat})
            for name, socket in (("first", first), ("second", second)):
                socket.send_json({"v": 1, "type": "tick", "beat": beat})
                plans[name].append(socket.receive_json())
    # the second session heard none of the first one's notes: it plays what a session
    # alone with the same seed plays
    with client.websocket_connect("/ws") as alone:
        started(alone)
        for step in range(12):
            alone.send_json({"v": 1, "type": "tick", "beat": 1 + step * 0.25})
            assert alone.receive_json()["chords"] == plans["second"][step]["chords"]
    assert plans["first"] != plans["second"]
    assert hub.active == 0
    log = read_session(tmp_path / "sessions" / f"{a['session']}.jsonl")
    assert log[-1]["type"] == "stopped" and log[-1]["reason"] == "disconnect"


def test_cross_origin_socket_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as s:
            s.receive_json()
    assert info.value.code == 1008


def test_server_full(model, tmp_path):
    with TestClient(create_app({"tiny": model}, tmp_path, max_sessions=1,
                               host_names=("testserver",))) as client:
        with client.websocket_connect("/ws") as first:
            started(first)
            with client.websocket_connect("/ws") as second:
                assert "server is full" in second.receive_json()["message"]
                with pytest.raises(WebSocketDisconnect) as info:
                    second.receive_json()
                assert info.value.code == 1013


def test_page_models_and_unknown_midi(client):
    page = client.get("/")
    assert page.status_code == 200 and "cojam" in page.text
    assert client.get("/api/models").json() == {"models": ["tiny"]}
    assert client.get("/api/sessions/20250101-120000-abcdef/midi").status_code == 404
    assert client.get("/api/sessions/..%2f..%2fetc/midi").status_code == 404


@pytest.mark.parametrize("extra", [
    '"x": ' + "9" * 5000,  # over Python's 4,300-digit int limit: was an ASGI crash
    '"x": ' + "{\"a\": " * 250 + "1" + "}" * 250,  # 250 nested objects
    '"x": "\\ud800"',  # a lone surrogate
    '"x": {"type": "stop", "v": 2, "beat": -1}',
])
def test_unknown_fields_are_ignored_whatever_they_hold(client, extra):
    """Issue 16: a long integer, deep nesting or a lone surrogate in an unknown field made
    the whole message refused (or dropped the socket without a close frame)."""
    with client.websocket_connect("/ws") as socket:
        started(socket)
        socket.send_text('{"v": 1, "type": "tick", "beat": 1.0, ' + extra + "}")
        plan = socket.receive_json()
        assert plan["type"] == "plan" and plan["beat"] == 1.0


def test_error_replies_and_logs_echo_only_an_excerpt(client, tmp_path):
    """Issue 16: an error reply (and its log line) echoed a 64,000-character value."""
    with client.websocket_connect("/ws") as socket:
        ready = started(socket)
        for value in ('"' + "v" * 64_000 + '"', '{"a": "' + "b" * 64_000 + '"}'):
            socket.send_text('{"v": ' + value + ', "type": "tick"}')
            error = socket.receive_json()
            assert error["type"] == "error" and "unsupported protocol version" in error["message"]
            assert len(error["message"]) <= 300
        socket.send_text('{"v": 1, "type": "' + "t" * 64_000 + '"}')
        assert len(socket.receive_json()["message"]) <= 300
        socket.send_json({"v": 1, "type": "start", "model": "m" * 100})
        assert len(socket.receive_json()["message"]) <= 300
    log = tmp_path / "sessions" / f"{ready['session']}.jsonl"
    assert log.stat().st_size < 4_000


def test_a_session_stopped_before_any_tick_downloads_as_midi(client):
    """Issue 16: start then stop before a tick answered the MIDI download with 500."""
    with client.websocket_connect("/ws") as socket:
        started(socket)
        socket.send_json({"v": 1, "type": "stop"})
        stopped = socket.receive_json()
    midi = client.get(stopped["midi"])
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")


@pytest.mark.parametrize("host,allowed", [
    ("localhost:8811", True), ("127.0.0.1:8811", True), ("[::1]:8811", True),
    ("192.168.1.20:8811", True), ("LOCALHOST", True), ("evil.example:8811", False),
    ("localhost.evil.example", False), ("", False), ("[::1", False),
])
def test_host_check(host, allowed):
    assert host_allowed(host, ("localhost",)) is allowed


def test_dns_rebinding_is_refused_on_http_and_websockets(model, tmp_path):
    """Issue 16: `Host: evil.example:8811` with a matching Origin was accepted, and HTTP
    routes answered any Host."""
    app = create_app({"tiny": model}, tmp_path)
    with TestClient(app, base_url="http://evil.example:8811") as client:
        response = client.get("/api/models")
        assert response.status_code == 400 and "evil.example" in response.text
        assert client.get("/").status_code == 400
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("ws://evil.example:8811/ws", headers={
                    "origin": "http://evil.example:8811"}) as socket:
                socket.receive_json()
        assert info.value.code == 1008
    with TestClient(app, base_url="http://localhost:8811") as client:
        assert client.get("/api/models").status_code == 200
        with client.websocket_connect("ws://localhost:8811/ws",
                                      headers={"origin": "http://localhost:8811"}) as s:
            started(s)


def test_an_idle_socket_is_closed_at_the_start_deadline(model, tmp_path):
    """Issue 16: sockets that never sent start held every session slot for good."""
    app = create_app({"tiny": model}, tmp_path, max_sessions=1, host_names=("testserver",),
                     start_deadline=0.5)
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as idle:
            error = idle.receive_json()
            assert error["type"] == "error" and "no session started within 0.5 s" in (
                error["message"])
            with pytest.raises(WebSocketDisconnect) as info:
                idle.receive_json()
            assert info.value.code == 1008
        with client.websocket_connect("/ws") as socket:  # the slot is free again
            started(socket)
            time.sleep(0.7)  # a started session has no deadline
            socket.send_json({"v": 1, "type": "tick", "beat": 0.0})
            assert socket.receive_json()["type"] == "plan"
