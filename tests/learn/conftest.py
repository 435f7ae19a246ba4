"""Fixtures for learning-from-sessions tests: tiny models, one thread."""

from __future__ import annotations

import pytest
import torch
from learn_helpers import tiny

from cojam.models.online import OnlineModel


@pytest.fixture(scope="session")
def accompanist() -> OnlineModel:
    return tiny("accompanist", seed=0)


@pytest.fixture(scope="session")
def melody_agent() -> OnlineModel:
    return tiny("melody", seed=1)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
