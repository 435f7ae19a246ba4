"""What one corpus input may cost to read: bytes on disk and seconds of parsing.

A corrupt or hostile file can make a parser run for minutes (music21 merges ties in
quadratic time; a tune repeated thousands of times is thousands of parses) or inflate a
small archive to hundreds of megabytes. Each reader declares an ``InputBudget``; the cache
checks the size before reading and stops a read that runs over its seconds, then skips
the input, naming it and the budget, and the build goes on.

In the main thread the time limit is a ``SIGALRM`` timer. Signals reach only the main
thread, so in any other thread (a build run from a worker thread or a notebook's
executor) a timer thread raises ``OverTime`` in the reading thread instead
(``PyThreadState_SetAsyncExc``). Either way the exception is raised between two Python
bytecodes: a read stuck inside one long C call (a regular expression, an inflate) is
stopped when that call returns, in the main thread as elsewhere.
"""

from __future__ import annotations

import ctypes
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
    """Raise ``OverTime`` in the body once ``seconds`` have passed, in any thread."""
    if threading.current_thread() is threading.main_thread():
        with _alarm(seconds):
            yield
    else:
        with _timer(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise OverTime(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Make ``thread_id`` raise ``exception`` at its next bytecode (None: clear a pending
    one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None)


@contextmanager
def _timer(seconds: float) -> Iterator[None]:
    reader = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def expire() -> None:
        with lock:  # never once the body is over: the exception would hit its caller
            if not state["done"]:
                state["fired"] = True
                _raise_in(reader, OverTime)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            if state["fired"]:  # fired as the body ended: not raised yet, or raised here
                _raise_in(reader, None)
        timer.cancel()
