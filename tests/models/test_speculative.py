"""Drafting and verifying with greedy choices plays exactly what one token per model call
plays, whatever the guesses, and leaves the cache one token behind the sequence."""

from __future__ import annotations

import torch

from cojam.data.tokens import BOS, TokenSpec
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.speculative import verify

SPEC = TokenSpec(chords=("C", "F", "G", "Am"), min_pitch=60, max_pitch=72)


def greedy(row: torch.Tensor, position: int, guess: int) -> int:
    return int(row.argmax())


def test_any_guesses_give_the_one_token_at_a_time_sequence() -> None:
    torch.manual_seed(0)
    model = OnlineModel(SPEC, OnlineConfig(d_model=16, n_layers=1, n_heads=2, mlp_ratio=2,
                                           max_frames=16)).eval()
    one_at_a_time, cache = [BOS], model.new_cache(1)
    while len(one_at_a_time) < 12:
        verify(model, cache, one_at_a_time, [0], [True], greedy)
    guesses = torch.randint(0, SPEC.vocab_size, (40,), generator=torch.Generator().manual_seed(1))
    drafted, cache, calls = [BOS], model.new_cache(1), 0
    while len(drafted) < 12:
        block = guesses[len(drafted) : 12].tolist()
        block[0] = one_at_a_time[len(drafted)] if calls % 2 else block[0]  # some right
        verify(model, cache, drafted, block, [True] * len(block), greedy)
        assert cache.length == len(drafted) - 1
        calls += 1
    assert drafted[:12] == one_at_a_time
    given = [BOS, one_at_a_time[1]]  # a known token in the block is kept as it is
    cache = model.new_cache(1)
    chosen, fed = verify(model, cache, given, [one_at_a_time[2], 0], [False, True], greedy)
    assert given == one_at_a_time[:4] and (chosen, fed) == (1, 4)
