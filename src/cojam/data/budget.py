"""What one corpus input may cost to read: bytes on disk and seconds of parsing.

A corrupt or hostile file can make a parser run for minutes (music21 merges ties in
quadratic time; a tune repeated thousands of times is thousands of parses) or inflate a
small archive to hundreds of megabytes. Each reader declares an ``InputBudget``; the cache
checks the size before reading and stops a read that runs over its seconds, then skips
the input, naming it and the budget, and the build goes on.

The time limit is a ``SIGALRM`` timer, so it holds where a build runs in the main thread
(``cojam data build``, tests); in another thread ``time_limit`` raises ``BudgetError``
rather than read without one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class InputBudget:
    """The most one input (a file, or a song folder) may take to read."""

    seconds: float
    """wall-clock seconds for the reader to yield all of the input's songs"""
    bytes: int
    """bytes on disk (a folder: the files directly inside it)"""


class BudgetError(RuntimeError):
    """A time limit that cannot be enforced here."""


class OverTime(BaseException):  # noqa: N818 - not an Exception: readers catch those
    """Raised inside a read that ran over its seconds. A ``BaseException``, so that a
    reader's ``except Exception`` around a third-party parser does not swallow it."""


def input_bytes(path: Path) -> int:
    """Size on disk of a file, or of the files directly inside a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def size_problem(path: Path, budget: InputBudget) -> str | None:
    """Why ``path`` is too big to read, or None."""
    size = input_bytes(path)
    if size > budget.bytes:
        return (f"{size:,} bytes, over the {budget.bytes:,}-byte budget per input; "
                "skipped unread")
    return None


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``OverTime`` in the body once ``seconds`` have passed."""
    if threading.current_thread() is not threading.main_thread():
        raise BudgetError("a time budget per input needs the main thread (it uses SIGALRM)")

    def expire(signum: int, frame: Any) -> None:
        raise OverTime(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
