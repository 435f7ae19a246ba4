"""Every decoding path plays exactly the tokens it played before the paths shared one
decoding loop (same seeds, same tiny models): generation, rollouts, self-play, evaluation
and the live engine (``decoding_cases.py`` writes the stored outputs)."""

from __future__ import annotations

import json

import pytest
import torch
from decoding_cases import CASES, GOLDEN


@pytest.fixture(scope="module")
def golden() -> dict[str, list]:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("path", sorted(CASES))
def test_the_same_tokens_as_before_for_the_same_seed(path: str, golden: dict) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outputs = CASES[path]()
    finally:
        torch.set_num_threads(threads)
    assert outputs, path
    for key, value in outputs.items():
        assert value == golden[key], key
