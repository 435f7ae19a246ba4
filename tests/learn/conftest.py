"""Fixtures for learning-from-sessions tests: tiny models, one thread."""

from __future__ import annotations

import pytest
from learn_helpers import tiny

from cojam.models.online import OnlineModel


@pytest.fixture(scope="session")
def accompanist() -> OnlineModel:
    return tiny("accompanist", seed=0)


@pytest.fixture(scope="session")
def melody_agent() -> OnlineModel:
    return tiny("melody", seed=1)


@pytest.fixture(autouse=True)
def _one_thread_here(one_thread):
    """Every learning test runs on one torch thread."""
