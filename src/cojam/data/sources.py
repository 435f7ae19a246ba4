"""What every corpus reader shares: the ``Skipped`` record and input discovery.

A reader module (``cojam.data.<format>``) defines:

- ``SOURCE``: its name on the command line (``abc``, ``midi``, ...);
- ``find_inputs(root: Path | None) -> list[Path]``: the files (or song folders) to read
  under ``root`` (a single file is returned as itself);
- ``read(path: Path) -> Iterator[Song | Skipped]``: the songs in one input. Content it
  cannot use is yielded as ``Skipped`` naming the file (and the tune inside it) and the
  reason; reading goes on with the rest;
- ``BUDGET``: an ``InputBudget``, the most one input may take to read (bytes on disk,
  seconds); an input over it is skipped and named (``cojam.data.budget``).

A melody-only reader (``essen``) also sets ``MELODY_ONLY = True`` and defines
``split_of_file(name) -> str``, the split of every song of a file; the cache then builds
it with ``cojam.data.melody_cache``. With ``LIMIT_PER_INPUT = True`` its ``read`` takes
``limit`` and ``--limit N`` reads the first N songs of every input, not N inputs.

Every song is checked at this boundary before it enters a cache (``song_problem``):
finite times, at most ``MAX_SONG_BEATS`` beats, a meter that is one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cojam.music.song import Song

MAX_SONG_BEATS = 10_000  # 40,000 frames; over an hour at 120 BPM
MAX_METER_NUMERATOR = 64
METER_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Skipped:
    """An input (or one song inside it) that was not used, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class SourceError(ValueError):
    """A whole input that cannot be read (missing, wrong format, empty)."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def find_by_suffix(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """``root`` itself if it is a file, else every file below it with one of ``suffixes``
    (case-insensitive), sorted so that builds are deterministic."""
    root = Path(root)
    if not root.exists():
        raise SourceError(root, "no such file or directory")
    if root.is_file():
        return [root]
    wanted = tuple(s.lower() for s in suffixes)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(wanted))


def song_problem(song: Song) -> str | None:
    """Why a song's timing or meter is unusable, naming the value at fault; or None.

    Readers pass on what a file says, and a file can say anything: a NaN onset, a
    duration of 1e12 beats (whose frames would not fit in memory), a meter of 0/4."""
    for kind, items in (("note", song.notes), ("chord", song.chords)):
        for item in items:
            if not (math.isfinite(item.onset) and math.isfinite(item.duration)):
                return (f"a {kind} has onset {item.onset!r} and duration {item.duration!r} "
                        "beats: not a finite time")
    if song.length_beats > MAX_SONG_BEATS:
        return (f"{song.length_beats:.6g} beats long, over the limit of {MAX_SONG_BEATS} beats "
                "per song")
    numerator, denominator = song.time_signature
    if not (isinstance(numerator, int) and 1 <= numerator <= MAX_METER_NUMERATOR
            and denominator in METER_DENOMINATORS):
        return (f"time signature {str(numerator)[:12]}/{str(denominator)[:12]} is not a meter "
                f"(numerator 1-{MAX_METER_NUMERATOR}, denominator one of "
                f"{'/'.join(map(str, METER_DENOMINATORS))})")
    return None
