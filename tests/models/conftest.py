"""Fixtures for model tests: a tiny synthetic song cache, a tiny recipe, their spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_helpers import write_cache, write_recipe

from cojam.data.tokens import TokenSpec

# Tiny models gain nothing from threads, and OpenMP workers spinning on a busy machine can
# make them a hundred times slower.
torch.set_num_threads(1)

@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recipe(tmp_path_factory.mktemp("recipe") / "tiny.json")


@pytest.fixture(scope="session")
def tiny_spec(tiny_cache: Path) -> TokenSpec:
    return TokenSpec.load(tiny_cache / "vocab.json")
