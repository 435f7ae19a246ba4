"""What every corpus reader shares: the ``Skipped`` record and input discovery.

A reader module (``cojam.data.<format>``) defines:

- ``SOURCE``: its name on the command line (``abc``, ``midi``, ...);
- ``find_inputs(root: Path | None) -> list[Path]``: the files (or song folders) to read
  under ``root`` (a single file is returned as itself);
- ``read(path: Path) -> Iterator[Song | Skipped]``: the songs in one input. Content it
  cannot use is yielded as ``Skipped`` naming the file (and the tune inside it) and the
  reason; reading goes on with the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


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
