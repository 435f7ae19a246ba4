"""Session fixtures for the evaluation tests (helpers live in ``eval_helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_helpers import handmade_songs, make_spec, save_tiny, train_tiny_reward, write_cache

from cojam.data.tokens import TokenSpec


@pytest.fixture(scope="session")
def spec() -> TokenSpec:
    return make_spec()


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory, spec: TokenSpec) -> Path:
    songs = handmade_songs()
    return write_cache(tmp_path_factory.mktemp("cache"), spec,
                       {"train": songs[:3], "valid": songs[3:5], "test": songs})


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory, spec: TokenSpec) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {kind: save_tiny(root / kind, spec, kind) for kind in ("online", "teacher", "melody")}


@pytest.fixture(scope="session")
def tiny_reward(tmp_path_factory: pytest.TempPathFactory, tiny_cache: Path) -> Path:
    return train_tiny_reward(tmp_path_factory.mktemp("reward") / "contrastive", tiny_cache)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models decode one frame at a time; on a busy machine thread hand-offs cost
    more than the arithmetic, so these tests use one thread (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
