"""Scoring simulated sessions per model, paired by musician."""

from __future__ import annotations

import json
import math

import pytest

from cojam.cli.main import main
from cojam.learn.evaluation import evaluate_sessions, note_in_chord
from cojam.learn.simulated_musician import JamRequest, Preference, simulate_sessions
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song


def test_note_in_chord_counts_frames_where_both_sound():
    song = Song("s", "test", notes=(Note(0.0, 1.0, 60), Note(1.0, 1.0, 61), Note(3.0, 1.0, 67)),
                chords=(ChordSpan(0.0, 2.0, parse_chord("C")),))
    assert note_in_chord(song) == pytest.approx(0.5)  # beat 3's G sounds over no chord
    assert math.isnan(note_in_chord(Song("e", "test", notes=(), chords=())))


def test_models_are_compared_musician_by_musician(accompanist, melody_agent, tmp_path):
    patient = Preference(frozenset({"maj"}), patience=1e9)
    simulate_sessions({"a": accompanist, "b": accompanist}, melody_agent, tmp_path,
                      [JamRequest(seed=s, model=m, beats=6, preference=patient)
                       for s in range(3) for m in ("a", "b")], log=lambda _: None)
    results = evaluate_sessions(tmp_path, "a")
    a, b = results["models"]["a"], results["models"]["b"]
    assert a["musicians"] == b["musicians"] == 3 and b["paired_musicians"] == 3
    # the same model, seed and musician play the same session: no difference
    assert b["reward_minus_baseline"] == [0.0, 0.0, 0.0]
    assert a["reward"] == b["reward"] and len(a["vendi"]) == 3
    assert "reward_minus_baseline" not in a
    assert main(["evaluate-jams", "--sessions", str(tmp_path), "--baseline", "c"]) == 1
    out = tmp_path / "report"
    assert main(["evaluate-jams", "--sessions", str(tmp_path), "--baseline", "a",
                 "--out", str(out)]) == 0
    written = json.loads((out / "results.json").read_text())
    assert written["models"]["b"]["reward_minus_baseline"] == [0.0, 0.0, 0.0]
    assert main(["evaluate-jams", "--sessions", str(tmp_path), "--learned", "oops"]) == 1
