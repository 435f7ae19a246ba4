"""Implicit signals of a session log, on a hand-made log and on one the server wrote."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cojam.learn.signals import (
    SignalWeights,
    followed_notes,
    frame_rewards,
    kept_playing,
    marks,
    replans,
    session_summary,
)
from cojam.live.server import create_app
from cojam.live.session_log import SessionLog, read_session


def hand_made_log(directory):
    log = SessionLog(directory, "20250101-120000-abcdef", {"model": "tiny", "settings": {}})
    log.write("commit", symbol="N", onset=0.0)
    log.write("note_on", pitch=60, beat=2.0)  # in C
    log.write("commit", symbol="C", onset=2.0)
    log.write("note_off", pitch=60, beat=3.0)
    log.write("note_on", pitch=61, beat=3.0)  # C#: out of C
    log.write("plan", beat=4.0, ms=1.0, chords=[["C", 2.0, 2.0, True], ["Am", 4.0, 1.0, True],
                                                ["F", 5.0, 3.0, False]])
    log.write("commit", symbol="Am", onset=4.0)
    log.write("note_off", pitch=61, beat=4.5)
    log.write("note_on", pitch=69, beat=4.5)  # A: in Am
    log.write("feedback", value="good", beat=5.0)
    log.write("plan", beat=5.0, ms=1.0, chords=[["Am", 4.0, 1.0, True], ["F", 5.0, 1.0, True],
                                                ["G", 6.0, 2.0, False]])
    log.write("commit", symbol="F", onset=5.0)  # nothing played after it: the jam ends
    log.write("stopped", reason="stop", beat=8.0)
    log.close()
    return read_session(log.path)


def test_each_signal_on_a_hand_made_log(tmp_path):
    events = hand_made_log(tmp_path)
    assert followed_notes(events) == [(2.0, True), (3.0, False), (4.5, True)]
    assert kept_playing(events, patience_beats=4.0) == [(2.0, True), (4.0, True), (5.0, False)]
    assert marks(events) == [(5.0, 1.0)]
    # the F expected over beats 5-8 holds for beat 5, G replaces it over beats 6-8
    assert replans(events) == [(5.0, pytest.approx(8 / 12))]


def test_frame_rewards_place_each_signal_on_its_frame(tmp_path):
    reward = frame_rewards(hand_made_log(tmp_path), 32, SignalWeights())
    expected = {8: 1 + 1, 12: -1, 16: 1, 18: 1 + 2, 20: -1 - 0.25 * 8 / 12}
    assert {f: pytest.approx(v) for f, v in expected.items()} == {
        int(f): float(reward[f]) for f in reward.nonzero()[0]}
    assert frame_rewards(hand_made_log(tmp_path / "b"), 10).shape == (10,)  # cut, not grown
    only_marks = SignalWeights(follow=0, kept_playing=0, replan=0, mark=1)
    assert frame_rewards(hand_made_log(tmp_path / "c"), 32, only_marks).sum() == 1.0


def test_a_session_without_notes_or_chords_has_no_signal(tmp_path):
    log = SessionLog(tmp_path, "20250101-120000-000000", {"model": "tiny", "settings": {}})
    log.write("stopped", reason="stop", beat=0.0)
    log.close()
    summary = session_summary(read_session(log.path))
    assert summary["reward"] == 0.0 and summary["notes"] == 0 and summary["good"] == 0


def test_signals_read_a_log_the_live_server_wrote(accompanist, tmp_path):
    app = create_app({"tiny": accompanist}, tmp_path, host_names=("testserver",))
    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        socket.send_json({"v": 1, "type": "start", "lookahead": 4, "commit": 1,
                          "count_in": 1, "listen": 0, "harmonic_rhythm": "beat", "seed": 3})
        session = socket.receive_json()["session"]
        for beat in range(1, 13):
            socket.send_json({"v": 1, "type": "note_on", "pitch": 60 + beat % 5, "beat": beat})
            socket.send_json({"v": 1, "type": "note_off", "pitch": 60 + beat % 5,
                              "beat": beat + 0.5})
            if beat == 6:
                socket.send_json({"v": 1, "type": "feedback", "value": "bad", "beat": 6.2})
            socket.send_json({"v": 1, "type": "tick", "beat": float(beat)})
            assert socket.receive_json()["type"] == "plan"
        socket.send_json({"v": 1, "type": "stop"})
        assert socket.receive_json()["type"] == "stopped"
    events = read_session(tmp_path / f"{session}.jsonl")
    followed = followed_notes(events)
    assert 0 < len(followed) <= 12 and all(1 <= beat < 13 for beat, _ in followed)
    assert marks(events) == [(6.2, -1.0)]
    replanned = replans(events)  # plans before the model listens have nothing uncommitted
    assert 8 <= len(replanned) <= 11 and all(0 <= changed <= 1 for _, changed in replanned)
    summary = session_summary(events)
    assert summary["notes"] == 12 and summary["bad"] == 1 and summary["beats"] == 12.5
    assert summary["reward"] == pytest.approx(frame_rewards(events, 51).sum())
