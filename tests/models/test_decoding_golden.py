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
        if any(isinstance(x, float) for x in flat(value)):  # log-probs: the last bits of a
            # float differ between CPUs (kernels picked by instruction set), tokens do not
            assert flat(value) == pytest.approx(flat(golden[key]), abs=1e-5), key
        else:
            assert value == golden[key], key


def flat(value: object) -> list:
    """A nested list's leaves in order."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in flat(item)]
    return [value]
