"""A session whose socket drops is held for a grace period and resumed by its token, with
every committed chord intact and the whole session in one log; a stopped or expired
session cannot be resumed."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cojam.live.server import create_app
from cojam.live.session_log import read_session

START = {"v": 1, "type": "start", "lookahead": 4, "commit": 2, "count_in": 2, "listen": 0,
         "seed": 11, "temperature": 1.5}
WS = "ws://localhost/ws"  # a Host the server serves
NOTES = {2.0: 60, 3.0: 64, 4.0: 67, 5.0: 65, 6.0: 62, 7.0: 60, 8.0: 64, 9.0: 67}


@pytest.fixture
def app(model, tmp_path):
    return create_app({"tiny": model}, tmp_path / "sessions")


def jam(socket, beats: list[float]) -> dict[float, str]:
    """Tick through ``beats`` (playing NOTES as the clock reaches them); the committed
    chords seen, onset -> symbol."""
    committed: dict[float, str] = {}
    for beat in beats:
        if beat in NOTES:
            socket.send_json({"v": 1, "type": "note_on", "pitch": NOTES[beat], "beat": beat})
        socket.send_json({"v": 1, "type": "tick", "beat": beat})
        plan = socket.receive_json()
        assert plan["type"] == "plan" and plan["beat"] == beat, plan
        for chord in plan["chords"]:
            if chord["committed"]:
                assert committed.setdefault(chord["onset"], chord["symbol"]) == chord["symbol"]
    return committed


def beats(start: float, stop: float) -> list[float]:
    return [start + 0.25 * i for i in range(int((stop - start) * 4))]


def test_a_dropped_socket_resumes_with_every_commitment_intact(app, tmp_path):
    with TestClient(app) as client:
        with client.websocket_connect(WS) as socket:  # the reference: never dropped
            socket.send_json({**START})
            assert socket.receive_json()["type"] == "ready"
            reference = jam(socket, beats(0, 12))
            socket.send_json({"v": 1, "type": "stop"})
            assert socket.receive_json()["type"] == "stopped"
        with client.websocket_connect(WS) as socket:
            socket.send_json({**START})
            ready = socket.receive_json()
            assert ready["resumed"] is False and ready["grace_s"] > 0 and ready["resume"]
            assert ready["settings"]["listen"] == 0
            before = jam(socket, beats(0, 6))
            socket.close(code=1006)  # the socket drops (not closed on purpose: 1000)
        assert len(app.state.hub.resumable) == 1
        with client.websocket_connect(WS) as socket:
            socket.send_json({"v": 1, "type": "resume", "token": ready["resume"]})
            again = socket.receive_json()
            assert again["type"] == "ready" and again["resumed"] is True, again
            assert again["session"] == ready["session"] and again["beat"] == 5.75
            assert again["settings"] == ready["settings"]
            after = jam(socket, beats(6, 12))
            socket.send_json({"v": 1, "type": "stop"})
            assert socket.receive_json()["log"] == ready["session"]
    for onset, symbol in before.items():
        assert after.get(onset, symbol) == symbol  # nothing committed changed...
    assert {**before, **after} == reference  # ...nor was lost: as if it never dropped
    events = read_session(tmp_path / "sessions" / f"{ready['session']}.jsonl")
    kinds = [e["type"] for e in events]
    assert kinds.count("dropped") == 1 and kinds.count("resumed") == 1
    assert kinds.count("stopped") == 1 and kinds[-1] == "stopped"
    assert events[-1]["reason"] == "stop"
    assert sum(k == "plan" for k in kinds) == len(beats(0, 12))


def test_a_stopped_session_and_a_wrong_token_cannot_be_resumed(app):
    with TestClient(app) as client:
        with client.websocket_connect(WS) as socket:
            socket.send_json({**START})
            token = socket.receive_json()["resume"]
            socket.send_json({"v": 1, "type": "stop"})
            assert socket.receive_json()["type"] == "stopped"
        with client.websocket_connect(WS) as socket:
            for bad in (token, "not-a-token"):
                socket.send_json({"v": 1, "type": "resume", "token": bad})
                error = socket.receive_json()
                assert error["type"] == "error" and error["ref"] == "resume"
                assert "no session to resume" in error["message"]
            socket.send_json({**START})  # the socket goes on and can start afresh
            assert socket.receive_json()["type"] == "ready"
            socket.send_json({**START, "type": "resume", "token": token})
            assert "already started" in socket.receive_json()["message"]


def test_a_held_session_ends_when_its_grace_period_runs_out(app, tmp_path):
    app.state.hub.resumable.grace = 0.05
    with TestClient(app) as client:
        with client.websocket_connect(WS) as socket:
            socket.send_json({**START})
            ready = socket.receive_json()
            jam(socket, beats(0, 3))
            socket.close(code=1006)
        path = tmp_path / "sessions" / f"{ready['session']}.jsonl"
        deadline = time.monotonic() + 30
        while read_session(path)[-1]["type"] != "stopped" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert read_session(path)[-1] == {**read_session(path)[-1], "reason": "disconnect",
                                          "beat": 2.75}
        assert len(app.state.hub.resumable) == 0
        with client.websocket_connect(WS) as socket:
            socket.send_json({"v": 1, "type": "resume", "token": ready["resume"]})
            assert socket.receive_json()["ref"] == "resume"


def test_a_refused_tick_is_answered_with_its_ref(app):
    """The page frees a tick's slot on an error whose ref is tick."""
    with TestClient(app) as client, client.websocket_connect(WS) as socket:
        socket.send_json({**START})
        socket.receive_json()
        socket.send_json({"v": 1, "type": "tick", "beat": 40.0})
        error = socket.receive_json()
        assert error["type"] == "error" and error["ref"] == "tick"
        with pytest.raises(WebSocketDisconnect):
            socket.send_json({"v": 1, "type": "stop"})
            socket.receive_json()
            socket.receive_json()


def test_a_resume_ticks_through_the_time_away(app, tmp_path):
    with TestClient(app) as client:
        with client.websocket_connect(WS) as socket:
            socket.send_json({**START})
            ready = socket.receive_json()
            jam(socket, beats(0, 4))
            socket.close(code=1006)
        with client.websocket_connect(WS) as socket:
            socket.send_json({"v": 1, "type": "resume", "token": ready["resume"], "beat": 40.0})
            again = socket.receive_json()
            assert again["resumed"] is True and again["beat"] == 40.0
            jam(socket, [40.25])  # no jump: the page's clock goes on from where it is
            socket.send_json({"v": 1, "type": "stop"})
            socket.receive_json()
    plans = [e for e in read_session(tmp_path / "sessions" / f"{ready['session']}.jsonl")
             if e["type"] == "plan"]
    # the tick at 40.25 was answered with chords committed through its commit horizon
    # (whether a new chord starts there or an old one is held depends on sampling)
    assert plans[-1]["beat"] == 40.25
    assert max(onset + length for _, onset, length, committed in plans[-1]["chords"]
               if committed) >= 42.25


def test_a_socket_closed_on_purpose_ends_its_session(app, tmp_path):
    with TestClient(app) as client, client.websocket_connect(WS) as socket:
        socket.send_json({**START})
        ready = socket.receive_json()
        jam(socket, beats(0, 1))
        socket.close(code=1000)
    events = read_session(tmp_path / "sessions" / f"{ready['session']}.jsonl")
    assert events[-1]["type"] == "stopped" and events[-1]["reason"] == "disconnect"
    assert len(app.state.hub.resumable) == 0


def test_a_socket_that_drops_after_its_stop_is_not_held(app, tmp_path):
    with TestClient(app) as client, client.websocket_connect(WS) as socket:
        socket.send_json({**START})
        ready = socket.receive_json()
        socket.send_json({"v": 1, "type": "stop"})
        socket.close(code=1006)  # gone before the server's own close
    events = read_session(tmp_path / "sessions" / f"{ready['session']}.jsonl")
    assert [e["type"] for e in events].count("stopped") == 1
    assert events[-1]["reason"] == "stop" and len(app.state.hub.resumable) == 0


def test_a_resume_that_comes_while_the_dropped_socket_still_ticks_waits_for_it(app):
    """A page reconnects within half a second; its old socket may still be finishing a
    tick then, and the session is held only once that tick is done."""
    with TestClient(app) as client, client.websocket_connect(WS) as old:
        old.send_json({**START})
        ready = old.receive_json()
        for beat in (16.0, 32.0):  # long ticks: computed in slices, still going
            old.send_json({"v": 1, "type": "tick", "beat": beat})
        old.close(code=1006)  # dropped, without waiting for the server to be done with it
        with client.websocket_connect(WS) as socket:
            socket.send_json({"v": 1, "type": "resume", "token": ready["resume"]})
            again = socket.receive_json()
            assert again["type"] == "ready" and again["resumed"] is True, again
            assert again["beat"] in (None, 16.0, 32.0)  # ticks the old socket finished
            socket.send_json({"v": 1, "type": "stop"})
            assert socket.receive_json()["log"] == ready["session"]
