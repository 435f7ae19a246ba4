"""Session logs: one jsonl file per jam, written as it happens, readable after a crash.

Every line is one event, flushed as soon as it is written, so a crash loses at most the
event being written; a reader skips a torn last line. The first line describes the
session::

    {"type": "session", "v": 1, "id": ..., "created": ..., "model": ..., "settings": {...}}

then, with ``t`` = seconds since the session started:

    {"type": "note_on"|"note_off", "pitch": 60, "beat": 8.0, "t": ...}
    {"type": "plan", "beat": 9.25, "chords": [[symbol, onset, duration, committed], ...],
     "ms": 1.2, "t": ...}
    {"type": "commit", "symbol": "Am", "onset": 10.0, "t": ...}   # a span became fixed
    {"type": "feedback", "value": "good"|"bad", "beat": 17.5, "t": ...}   # a musician's mark
    {"type": "error", "message": ..., "ref": ..., "t": ...}
    {"type": "dropped"|"resumed", "beat": 12.5, "t": ...}   # the socket dropped; resumed
    {"type": "stopped", "reason": "stop"|"disconnect"|"server", "beat": 31.5, "t": ...}

``session_song`` turns a log into a ``Song`` (the notes played and the committed chords,
cut where the clock stopped), which ``write_midi`` writes as MIDI.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cojam.data.midi_export import write_midi
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

SESSION_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


class SessionLogError(ValueError):
    """A log that cannot be found or read."""


def default_sessions_dir() -> Path:
    """``$COJAM_HOME/sessions``, else ``$XDG_DATA_HOME/cojam/sessions``, else
    ``~/.local/share/cojam/sessions``: per user, outside the repository."""
    if os.environ.get("COJAM_HOME"):
        return Path(os.environ["COJAM_HOME"]) / "sessions"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "cojam" / "sessions"


def new_session_id() -> str:
    """Sortable by start time, unguessable enough to name a download."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class SessionLog:
    """An open log; ``write`` appends one event line and flushes it."""

    def __init__(self, directory: Path, session_id: str, header: dict[str, Any]):
        if not SESSION_ID.match(session_id):
            raise SessionLogError(f"bad session id {session_id!r}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.id = session_id
        self.path = directory / f"{session_id}.jsonl"
        self._file = self.path.open("x", encoding="utf-8")  # never overwrite a log
        self._started = time.monotonic()
        created = datetime.now(UTC).isoformat(timespec="seconds")
        self._line({"type": "session", "v": 1, "id": session_id, "created": created,
                    **header})

    def _line(self, event: dict[str, Any]) -> None:
        self._file.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._file.flush()

    def write(self, kind: str, **fields: Any) -> None:
        if self._file.closed:
            raise SessionLogError(f"session log {self.path} is closed")
        self._line({"type": kind, **fields, "t": round(time.monotonic() - self._started, 4)})

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


def find_session(directory: Path, session_id: str) -> Path:
    if not SESSION_ID.match(session_id):
        raise SessionLogError(f"{session_id!r} is not a session id (like 20250101-120000-a1b2c3)")
    path = Path(directory) / f"{session_id}.jsonl"
    if not path.is_file():
        raise SessionLogError(f"no session {session_id} in {directory}")
    return path


def read_session(path: Path) -> list[dict[str, Any]]:
    """The events of a log (header first). A torn last line (a crash) is skipped; a bad
    line elsewhere (not UTF-8, not JSON, not a JSON object) is an error naming the file
    and line."""
    lines = Path(path).read_bytes().splitlines()
    events = []
    for number, line in enumerate(lines, start=1):
        try:
            event = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            if number == len(lines):
                break
            what = "UTF-8 text" if isinstance(e, UnicodeDecodeError) else "a JSON line"
            raise SessionLogError(f"{path}:{number}: not {what} ({str(e)[:120]})") from None
        if not isinstance(event, dict):
            raise SessionLogError(f"{path}:{number}: a {type(event).__name__}, not an event "
                                  "object")
        events.append(event)
    if not events or events[0].get("type") != "session":
        raise SessionLogError(f"{path}: not a session log (no session header)")
    return events


def export_session_midi(directory: Path, session_id: str, out: Path | None = None
                        ) -> tuple[Path, Song, float]:
    """Write the session's melody and committed chords as MIDI at its tempo, to ``out``
    (default ``SESSION_ID.mid`` here); returns (the file, the song, the tempo)."""
    song, tempo = session_song(read_session(find_session(directory, session_id)))
    return write_midi(song, out or Path(f"{session_id}.mid"), tempo), song, tempo


def session_end(events: list[dict[str, Any]]) -> float:
    """The beat where the jam ended: the stop, else the last tick or note seen."""
    beats = [e["beat"] for e in events if e.get("type") in ("plan", "note_on", "note_off",
                                                            "stopped") and "beat" in e]
    return max(beats, default=0.0)


def session_song(events: list[dict[str, Any]]) -> tuple[Song, float]:
    """(the notes played and the committed chords as a ``Song``, tempo in BPM). A session
    stopped before any tick is an empty song. ``SessionLogError`` for an event whose
    fields are missing or of the wrong type (a log edited or damaged by hand)."""
    try:
        return _session_song(events)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise SessionLogError(f"session {str(events[0].get('id'))[:40]}: a malformed event "
                              f"({type(e).__name__}: {str(e)[:120]})") from None


def _session_song(events: list[dict[str, Any]]) -> tuple[Song, float]:
    header = events[0]
    settings = header.get("settings", {})
    end = session_end(events)
    notes: list[Note] = []
    held: dict[int, float] = {}
    commits: list[tuple[float, str]] = []
    for event in events:
        kind = event.get("type")
        if kind == "note_on":
            if event["pitch"] in held:  # a re-attack ends the sounding note
                _add_note(notes, event["pitch"], held.pop(event["pitch"]), event["beat"], end)
            held[event["pitch"]] = event["beat"]
        elif kind == "note_off" and event["pitch"] in held:
            _add_note(notes, event["pitch"], held.pop(event["pitch"]), event["beat"], end)
        elif kind == "commit":
            commits.append((event["onset"], event["symbol"]))
    for pitch, onset in held.items():
        _add_note(notes, pitch, onset, end, end)
    commits.sort()
    spans = []
    for index, (onset, symbol) in enumerate(commits):
        chord = parse_chord(symbol)
        stop = min(commits[index + 1][0], end) if index + 1 < len(commits) else end
        if chord is not None and stop > onset:
            spans.append(ChordSpan(onset, stop - onset, chord))
    beats_per_bar = settings.get("beats_per_bar", 4)
    song = Song(song_id=header["id"], source="jam", notes=tuple(notes), chords=tuple(spans),
                time_signature=(beats_per_bar, 4), meta={"model": header.get("model")})
    return song, float(settings.get("tempo", 120.0))


def _add_note(notes: list[Note], pitch: int, onset: float, off: float, end: float) -> None:
    stop = min(off, end)
    if onset < end:
        notes.append(Note(onset, max(stop - onset, 1 / 16), pitch))


def list_sessions(directory: Path) -> list[dict[str, Any]]:
    """One summary per log in ``directory``, oldest first."""
    summaries = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        if not SESSION_ID.match(path.stem):
            continue
        try:
            summaries.append(_summary(read_session(path)))
        except SessionLogError as e:
            summaries.append({"id": path.stem, "error": str(e)})
        except (KeyError, TypeError, ValueError) as e:
            summaries.append({"id": path.stem, "error": f"{path}: a malformed event "
                              f"({type(e).__name__}: {str(e)[:120]})"})
    return summaries


def _summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    header = events[0]
    return {
        "id": header["id"], "created": header.get("created"), "model": header.get("model"),
        "beats": session_end(events),
        "notes": sum(e.get("type") == "note_on" for e in events),
        "chords": sum(e.get("type") == "commit" and e.get("symbol") != "N" for e in events),
    }
