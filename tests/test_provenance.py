"""``cojam.provenance``: the commit recorded in run directories and results."""

import re
import subprocess
from pathlib import Path

import pytest

from cojam.provenance import git_commit

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (CHECKOUT / ".git").exists(), reason="tests run outside a git checkout")
def test_the_commit_of_a_checkout_is_its_head() -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=CHECKOUT, check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    assert git_commit(CHECKOUT) == head


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) is None


def test_without_git_there_is_no_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable on the path
    assert git_commit(CHECKOUT) is None
