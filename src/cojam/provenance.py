"""Where an artifact came from: the git commit of the code that made it.

Run directories (``config.json``), evaluation results (``meta``) and the bundled model's
manifest record it, so a number can be traced to the code that produced it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def git_commit(directory: Path = PACKAGE_DIR) -> str | None:
    """The commit checked out at ``directory`` (by default this package's source), or None
    when it is not in a git checkout (an installed wheel) or git cannot be run; JSON
    records write None as null, never a made-up value."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=directory, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None
