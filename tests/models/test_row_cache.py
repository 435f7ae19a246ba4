"""Rows at different positions stepped together give the logits of stepping each alone."""

from __future__ import annotations

import pytest
import torch

from cojam.data.tokens import TokenSpec
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.row_cache import new_row_cache, step_rows

SPEC = TokenSpec(chords=("C", "F", "G", "Am"), min_pitch=60, max_pitch=72)


def test_stepping_rows_together_matches_stepping_them_one_by_one() -> None:
    torch.manual_seed(0)
    model = OnlineModel(SPEC, OnlineConfig(d_model=16, n_layers=2, n_heads=2, mlp_ratio=2,
                                           max_frames=16)).eval()
    g = torch.Generator().manual_seed(1)
    steps = [[5, 1, 0], [2, 7, 3], [4, 4, 1]]  # new tokens per row at each of three calls
    rows = [torch.randint(3, SPEC.vocab_size, (sum(n),), generator=g) for n in steps]
    alone = []
    for row, counts in zip(rows, steps, strict=True):  # each row alone, standard cache
        cache, logits, start = model.new_cache(1), [], 0
        for n in counts:
            if n:
                logits.append(model(row[None, start : start + n], cache)[0])
            start += n
        alone.append(torch.cat(logits))
    cache, together, starts = new_row_cache(model, 3), [[] for _ in rows], [0, 0, 0]
    with torch.no_grad():
        for call in range(3):
            counts = torch.tensor([n[call] for n in steps])
            width = int(counts.max())
            tokens = torch.zeros(3, width, dtype=torch.long)
            for b, row in enumerate(rows):
                tokens[b, : counts[b]] = row[starts[b] : starts[b] + counts[b]]
                starts[b] += int(counts[b])
            logits = step_rows(model, cache, tokens, counts)  # (3, width, V)
            for b in range(3):
                together[b].append(logits[b, : counts[b]])
    assert cache.lengths.tolist() == [sum(n) for n in steps]
    for b in range(3):
        assert torch.allclose(torch.cat(together[b]), alone[b], atol=1e-5)
    cache.truncate(0, 3)  # row 0 re-plans from position 3 while the others wait
    with torch.no_grad():
        logits = step_rows(model, cache, torch.stack([rows[0][3:6]] * 3),
                           torch.tensor([3, 0, 0]))
    assert torch.allclose(logits[0], alone[0][3:6], atol=1e-5)
    assert cache.lengths.tolist() == [6, 12, 9]


def test_a_full_row_cache_is_an_error() -> None:
    model = OnlineModel(SPEC, OnlineConfig(d_model=16, n_layers=1, n_heads=2,
                                           max_frames=2)).eval()
    cache = new_row_cache(model, 2)  # 5 tokens a row
    with pytest.raises(ValueError, match="full"):
        step_rows(model, cache, torch.zeros(2, 6, dtype=torch.long), torch.tensor([6, 1]))
