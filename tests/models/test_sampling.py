"""Validity masks and the sampler."""

from __future__ import annotations

import pytest
import torch

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.sampling import allowed_mask, sample_tokens


def allowed(spec: TokenSpec, stream: str, previous: int) -> set[int]:
    mask = allowed_mask(spec, stream, torch.tensor([previous]))
    return set(torch.nonzero(mask[0]).flatten().tolist())


def test_chord_positions_allow_chord_onsets_and_silence_only(tiny_spec: TokenSpec) -> None:
    ids = allowed(tiny_spec, "chord", BOS)
    onsets = {tiny_spec.chord_on(c) for c in tiny_spec.chords}
    assert ids == onsets | {tiny_spec.chord_silence}
    assert allowed(tiny_spec, "chord", PAD) == ids
    assert allowed(tiny_spec, "chord", tiny_spec.chord_silence) == ids


def test_a_hold_only_continues_the_sounding_chord(tiny_spec: TokenSpec) -> None:
    base = allowed(tiny_spec, "chord", BOS)
    am = tiny_spec.chords[5]
    hold = {tiny_spec.chord_hold(am)}
    assert allowed(tiny_spec, "chord", tiny_spec.chord_on(am)) == base | hold
    assert allowed(tiny_spec, "chord", tiny_spec.chord_hold(am)) == base | hold


def test_melody_positions_allow_melody_tokens_only(tiny_spec: TokenSpec) -> None:
    ids = allowed(tiny_spec, "melody", BOS)
    assert all(tiny_spec.is_melody(i) for i in ids)
    assert tiny_spec.melody_silence in ids
    assert not any(tiny_spec.melody_token_info(i)[0] == "hold" for i in ids)
    after = allowed(tiny_spec, "melody", tiny_spec.melody_on(60))
    assert after - ids == {tiny_spec.melody_hold(60)}
    assert allowed(tiny_spec, "melody", tiny_spec.melody_hold(60)) == after


def test_mask_rows_are_independent(tiny_spec: TokenSpec) -> None:
    previous = torch.tensor([BOS, tiny_spec.chord_on(tiny_spec.chords[0]), tiny_spec.chord_silence])
    mask = allowed_mask(tiny_spec, "chord", previous)
    assert mask.shape == (3, tiny_spec.vocab_size)
    assert mask[1].sum() == mask[0].sum() + 1 and torch.equal(mask[0], mask[2])


def test_sampler_respects_the_mask_greedy_top_k_and_top_p() -> None:
    logits = torch.tensor([[0.0, 5.0, 4.0, 3.0, 1.0]]).repeat(200, 1)
    mask = torch.tensor([[True, False, True, True, True]]).repeat(200, 1)
    g = torch.Generator().manual_seed(0)
    samples = sample_tokens(logits, mask, generator=g)
    assert (samples != 1).all() and len(set(samples.tolist())) > 1
    assert (sample_tokens(logits, mask, temperature=0) == 2).all()
    assert (sample_tokens(logits, mask, top_k=1, generator=g) == 2).all()
    assert set(sample_tokens(logits, mask, top_k=2, generator=g).tolist()) == {2, 3}
    assert (sample_tokens(logits, mask, top_p=0.01, generator=g) == 2).all()
    first = sample_tokens(logits, mask, generator=torch.Generator().manual_seed(7))
    again = sample_tokens(logits, mask, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    with pytest.raises(ValueError):
        sample_tokens(logits, mask, top_p=0.0)
