"""The fields added to protocol v1 for issue 12: start.listen, start.harmonic_rhythm,
ready's resume fields, the resume message; each validated, each echoed, and a v1 client
that knows none of them still served as before."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cojam.live.server import create_app

WS = "ws://localhost/ws"  # a Host the server serves
START = {"v": 1, "type": "start", "lookahead": 2, "commit": 1, "count_in": 1, "seed": 3}


@pytest.fixture
def client(model, tmp_path):
    with TestClient(create_app({"tiny": model}, tmp_path / "sessions")) as client:
        yield client


def test_new_fields_are_echoed_and_have_defaults(client):
    with client.websocket_connect(WS) as socket:
        socket.send_json(START)  # a client that knows no new field
        ready = socket.receive_json()
        assert ready["settings"]["listen"] == 8
        assert ready["settings"]["harmonic_rhythm"] == "beat"
        assert ready["resumed"] is False and ready["beat"] is None
        assert isinstance(ready["resume"], str) and len(ready["resume"]) >= 16
        assert ready["grace_s"] > 0
        socket.send_json({"v": 1, "type": "tick", "beat": 0.0})
        assert socket.receive_json()["type"] == "plan"
    with client.websocket_connect(WS) as socket:
        socket.send_json({**START, "listen": 0, "harmonic_rhythm": "bar"})
        settings = socket.receive_json()["settings"]
        assert settings["listen"] == 0 and settings["harmonic_rhythm"] == "bar"


@pytest.mark.parametrize(("message", "expected"), [
    ({**START, "listen": -1}, "start.listen"),
    ({**START, "listen": 65}, "start.listen"),
    ({**START, "listen": 2.5}, "start.listen"),
    ({**START, "harmonic_rhythm": "waltz"}, "start.harmonic_rhythm"),
    ({**START, "harmonic_rhythm": 4}, "start.harmonic_rhythm"),
    ({"v": 1, "type": "resume"}, "resume.token"),
    ({"v": 1, "type": "resume", "token": ""}, "resume.token"),
    ({"v": 1, "type": "resume", "token": "x" * 101}, "resume.token"),
    ({"v": 1, "type": "resume", "token": "abc", "beat": -1}, "resume.beat"),
    ({"v": 1, "type": "resume", "token": "abc", "beat": "1"}, "resume.beat"),
])
def test_bad_new_fields_are_refused_and_the_socket_goes_on(client, message, expected):
    with client.websocket_connect(WS) as socket:
        socket.send_json(message)
        error = socket.receive_json()
        assert error["type"] == "error" and error["message"].startswith(expected), error
        assert error["ref"] == message["type"]
        socket.send_json(START)
        assert socket.receive_json()["type"] == "ready"
