"""One session's flood does not starve another: while a greedy client queues ticks 16
beats apart as fast as it can, an honest musician still gets a plan for every tick, and
the greedy client gets an answer for each of its ticks, in order, its stale ones
superseded (regression test of issue 16; latencies are measured in
benchmarks/live_flood.py, never asserted here)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cojam.live.server import create_app
from cojam.live.session_log import read_session

START = {"v": 1, "type": "start", "lookahead": 4, "commit": 2, "count_in": 2, "listen": 0}
WS = "ws://localhost/ws"


@pytest.fixture
def app(model, tmp_path):
    return create_app({"tiny": model}, tmp_path / "sessions")


def started(socket, seed: int) -> dict:
    socket.send_json({**START, "seed": seed})
    ready = socket.receive_json()
    assert ready["type"] == "ready", ready
    return ready


def answers_until_stopped(socket) -> list[dict]:
    socket.send_json({"v": 1, "type": "stop"})
    answers = [socket.receive_json()]
    while answers[-1]["type"] != "stopped":
        answers.append(socket.receive_json())
    return answers


def test_a_greedy_session_does_not_starve_an_honest_one(app, tmp_path):
    greedy_beats = [16.0 * (i + 1) for i in range(40)]
    with TestClient(app) as client, client.websocket_connect(WS) as greedy, \
            client.websocket_connect(WS) as honest:
        greedy_session = started(greedy, seed=1)["session"]
        started(honest, seed=2)
        for beat in greedy_beats:  # all at once, reading nothing
            greedy.send_json({"v": 1, "type": "tick", "beat": beat})
        for frame in range(48):  # the musician plays meanwhile, one tick at a time
            beat = frame / 4
            if frame % 2 == 0:
                honest.send_json({"v": 1, "type": "note_on", "pitch": 60 + frame % 12,
                                  "beat": beat})
            honest.send_json({"v": 1, "type": "tick", "beat": beat})
            answer = honest.receive_json()
            assert answer["type"] == "plan" and answer["beat"] == beat, answer
        assert answers_until_stopped(honest)[-1]["type"] == "stopped"
        answers = answers_until_stopped(greedy)

    ticks = [a for a in answers if a["type"] == "plan" or a.get("ref") == "tick"]
    assert [a["beat"] for a in ticks] == greedy_beats  # every tick answered, in order
    assert ticks[-1]["type"] == "plan"  # the newest tick is never superseded
    superseded = [a for a in ticks if a["type"] == "error"]
    assert all(a["superseded"] is True and "superseded" in a["message"] for a in superseded)
    assert answers[-1]["type"] == "stopped" and len(answers) == len(ticks) + 1
    events = read_session(tmp_path / "sessions" / f"{greedy_session}.jsonl")
    assert [e["beat"] for e in events if e["type"] == "superseded"] == [
        a["beat"] for a in superseded]
    assert [e["beat"] for e in events if e["type"] == "plan"] == [
        a["beat"] for a in ticks if a["type"] == "plan"]


def test_a_session_that_keeps_two_ticks_unanswered_is_never_superseded(app):
    """What the page does: at most two ticks unanswered, one computed and one waiting."""
    with TestClient(app) as client, client.websocket_connect(WS) as socket:
        started(socket, seed=3)
        socket.send_json({"v": 1, "type": "tick", "beat": 0.0})
        for frame in range(1, 40):
            socket.send_json({"v": 1, "type": "tick", "beat": frame / 4})
            answer = socket.receive_json()
            assert answer["type"] == "plan" and answer["beat"] == (frame - 1) / 4, answer
        assert socket.receive_json()["beat"] == 39 / 4
