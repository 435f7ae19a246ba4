"""Session logs: flushed per event, readable after a crash, exported to MIDI by the CLI."""

from __future__ import annotations

import json

import mido
import pytest

from cojam.cli.main import main
from cojam.live.session_log import (
    SessionLog,
    SessionLogError,
    default_sessions_dir,
    list_sessions,
    read_session,
    session_song,
)

SESSION = "20250101-120000-abcdef"


def write_log(directory, session_id=SESSION):
    log = SessionLog(directory, session_id, {"model": "tiny", "settings": {
        "tempo": 90.0, "beats_per_bar": 3}})
    log.write("commit", symbol="N", onset=0.0)
    log.write("note_on", pitch=60, beat=2.0)
    log.write("commit", symbol="C", onset=2.0)
    log.write("note_off", pitch=60, beat=3.0)
    log.write("note_on", pitch=64, beat=3.0)
    log.write("commit", symbol="Am", onset=4.0)
    log.write("plan", beat=5.0, ms=1.0, chords=[["Am", 4.0, 2.0, True]])
    log.write("commit", symbol="F", onset=6.0)  # committed, but the jam stopped first
    log.write("stopped", reason="stop", beat=5.0)
    log.close()
    return log.path


def test_every_event_is_on_disk_before_close(tmp_path):
    log = SessionLog(tmp_path, SESSION, {"model": "tiny", "settings": {}})
    log.write("note_on", pitch=60, beat=1.0)
    lines = log.path.read_text().splitlines()  # not closed: flushed per line
    assert [json.loads(line)["type"] for line in lines] == ["session", "note_on"]
    log.close()
    with pytest.raises(FileExistsError):
        SessionLog(tmp_path, SESSION, {})


def test_a_torn_last_line_is_skipped_and_a_torn_middle_is_an_error(tmp_path):
    path = write_log(tmp_path)
    text = path.read_text()
    path.write_text(text + '{"type": "note_on", "pit')
    assert len(read_session(path)) == len(text.splitlines())
    lines = text.splitlines()
    path.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(SessionLogError, match=":2: not a JSON line"):
        read_session(path)


def test_session_song_cuts_where_the_clock_stopped(tmp_path):
    song, tempo = session_song(read_session(write_log(tmp_path)))
    assert tempo == 90.0 and song.time_signature == (3, 4)
    assert [(n.onset, n.duration, n.pitch) for n in song.notes] == [(2.0, 1.0, 60),
                                                                   (3.0, 2.0, 64)]
    assert [(c.onset, c.duration, c.chord.symbol) for c in song.chords] == [(2.0, 2.0, "C"),
                                                                          (4.0, 1.0, "Am")]


def test_cli_list_and_export(tmp_path, capsys):
    write_log(tmp_path)
    assert main(["sessions", "list", "--dir", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["id"] == SESSION and summary["notes"] == 2 and summary["chords"] == 3
    out = tmp_path / "jam.mid"
    assert main(["sessions", "export", SESSION, "--dir", str(tmp_path), "--out", str(out)]) == 0
    midi = mido.MidiFile(out)
    assert [t.name for t in midi.tracks[1:]] == ["melody", "chords"]
    assert main(["sessions", "export", "20250101-120000-000000", "--dir", str(tmp_path)]) == 1
    assert "no session" in capsys.readouterr().err


def test_sessions_dir_is_per_user(monkeypatch, tmp_path):
    monkeypatch.setenv("COJAM_HOME", str(tmp_path))
    assert default_sessions_dir() == tmp_path / "sessions"
    monkeypatch.delenv("COJAM_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_sessions_dir() == tmp_path / "data" / "cojam" / "sessions"
    assert list_sessions(tmp_path / "nothing-here") == []


def test_a_session_stopped_before_any_tick_exports_empty(tmp_path):
    """Issue 16: start then stop before a tick made `sessions export` fail with
    ValueError: zip() argument 2 is longer than argument 1."""
    log = SessionLog(tmp_path, SESSION, {"model": "tiny", "settings": {"tempo": 90.0}})
    log.write("stopped", reason="stop", beat=0.0)
    log.close()
    song, tempo = session_song(read_session(log.path))
    assert song.notes == () and song.chords == () and tempo == 90.0
    out = tmp_path / "empty.mid"
    assert main(["sessions", "export", SESSION, "--dir", str(tmp_path), "--out", str(out)]) == 0
    assert [t.name for t in mido.MidiFile(out).tracks[1:]] == ["melody", "chords"]


@pytest.mark.parametrize("line,expected", [
    (b'{"type": "note_on", "pitch": 60, "beat": 1.0, "t": 0.1, "x": "\xff"}',
     "not UTF-8 text"),
    (b"[1, 2]", "a list, not an event object"),
])
def test_sessions_list_skips_and_names_a_corrupt_log(tmp_path, capsys, line, expected):
    """Issue 16: one log with a non-UTF-8 byte (UnicodeDecodeError) or a JSON-array line
    (AttributeError) crashed `sessions list` for the whole folder."""
    good = write_log(tmp_path)
    bad = write_log(tmp_path, "20250101-120001-abcdef")
    lines = bad.read_bytes().splitlines()
    bad.write_bytes(b"\n".join([lines[0], line, *lines[1:]]) + b"\n")
    assert main(["sessions", "list", "--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert [json.loads(row)["id"] for row in captured.out.splitlines()] == [good.stem]
    assert f"skipped {bad.stem}: {bad}:2: {expected}" in captured.err
    with pytest.raises(SessionLogError, match=f"{bad.name}:2: {expected}"):
        read_session(bad)


def test_a_malformed_event_is_a_session_log_error(tmp_path):
    path = write_log(tmp_path)
    path.write_text(path.read_text().replace('"pitch":60', '"pitch":"sixty"', 1))
    with pytest.raises(SessionLogError, match="a malformed event"):
        session_song(read_session(path))
