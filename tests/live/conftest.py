"""Fixtures for live tests: tiny randomly initialised accompanists (never mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_helpers import tiny_model

from cojam.models.checkpoint import save_run
from cojam.models.online import OnlineModel


@pytest.fixture(scope="session")
def model() -> OnlineModel:
    return tiny_model()


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, model: OnlineModel) -> Path:
    path = tmp_path_factory.mktemp("runs") / "tiny"
    save_run(path, model)
    return path


@pytest.fixture(autouse=True)
def _one_thread_here(one_thread):
    """Every live test runs on one torch thread, as the server does."""


