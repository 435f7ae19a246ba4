"""The ``feedback`` message: a musician's good/bad mark is validated, logged, unanswered."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cojam.live.protocol import Feedback, ProtocolError, parse_client_message
from cojam.live.server import create_app
from cojam.live.session_log import read_session

START = {"v": 1, "type": "start", "lookahead": 2, "commit": 1, "count_in": 1, "seed": 5}


def test_feedback_is_validated():
    message = parse_client_message('{"v":1,"type":"feedback","value":"good","beat":3.5}')
    assert message == Feedback(v=1, type="feedback", value="good", beat=3.5)
    for bad in ('{"v":1,"type":"feedback","value":"meh","beat":3.5}',
                '{"v":1,"type":"feedback","value":"bad","beat":-1}',
                '{"v":1,"type":"feedback","value":"bad"}'):
        with pytest.raises(ProtocolError, match="feedback"):
            parse_client_message(bad)


def test_feedback_is_logged_in_order_and_needs_a_session(model, tmp_path):
    app = create_app({"tiny": model}, tmp_path, host_names=("testserver",))
    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        socket.send_json({"v": 1, "type": "feedback", "value": "good", "beat": 0.0})
        assert "send start before feedback" in socket.receive_json()["message"]
        socket.send_json(START)
        session = socket.receive_json()["session"]
        socket.send_json({"v": 1, "type": "tick", "beat": 1.0})
        socket.send_json({"v": 1, "type": "feedback", "value": "bad", "beat": 1.1})
        socket.send_json({"v": 1, "type": "tick", "beat": 1.25})
        assert [socket.receive_json()["type"] for _ in range(2)] == ["plan", "plan"]
        socket.send_json({"v": 1, "type": "stop"})
        assert socket.receive_json()["type"] == "stopped"
    events = read_session(tmp_path / f"{session}.jsonl")
    kinds = [e["type"] for e in events if e["type"] in ("plan", "feedback")]
    assert kinds == ["plan", "feedback", "plan"]
    assert [(e["value"], e["beat"]) for e in events if e["type"] == "feedback"] == [("bad", 1.1)]
