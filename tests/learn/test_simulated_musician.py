"""The simulated musician jams through the real protocol and leaves people's kind of log."""

from __future__ import annotations

import json

from cojam.learn.signals import followed_notes, marks, session_summary
from cojam.learn.simulated_musician import (
    LIKING,
    MUSICIANS,
    JamRequest,
    Preference,
    draw_preference,
    simulate_sessions,
)
from cojam.live.session_log import list_sessions, read_session, session_song


def test_preferences_are_drawn_per_seed():
    assert draw_preference(3) == draw_preference(3)
    drawn = [draw_preference(seed).liked for seed in range(200)]
    share_major = sum("maj" in liked for liked in drawn) / len(drawn)
    assert abs(share_major - LIKING["maj"]) < 0.1
    assert len(set(drawn)) > 20


def test_sessions_through_the_live_server_are_logged_like_a_persons(
        accompanist, melody_agent, tmp_path):
    patient = Preference(frozenset({"maj", "min"}), patience=1e9, mark_rate=1.0)
    picky = Preference(frozenset(), patience=0.5)
    played = simulate_sessions({"tiny": accompanist}, melody_agent, tmp_path, [
        JamRequest(seed=1, model="tiny", beats=12, preference=patient),
        JamRequest(seed=2, model="tiny", beats=12, preference=picky)], log=lambda _: None)
    assert [json.loads(line) for line in (tmp_path / MUSICIANS).read_text().splitlines()
            ] == played
    assert len(list_sessions(tmp_path)) == 2  # the musicians' index is not a session
    assert played[0]["reason"] == "finished" and played[0]["beats"] == 4 + 12
    assert played[1]["reason"] == "annoyed" and played[1]["beats"] < 4 + 12
    for result in played:
        events = read_session(tmp_path / f"{result['session']}.jsonl")
        assert events[-1]["type"] == "stopped" and events[-1]["reason"] == "stop"
        assert not [e for e in events if e["type"] == "error"]
        song, _ = session_song(events)
        assert song.notes and song.chords and session_summary(events)["beats"] > 4
    events = read_session(tmp_path / f"{played[0]['session']}.jsonl")
    good = [beat for beat, value in marks(events) if value > 0]
    bad = [beat for beat, value in marks(events) if value < 0]
    assert len(good) + len(bad) > 0  # it marks every liked onset or clash it hears
    assert len(followed_notes(events)) > 0
