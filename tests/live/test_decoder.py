"""Drafting and verifying chooses tokens with exactly the model's distribution."""

from __future__ import annotations

import torch

from cojam.live.decoder import Decoder


def test_keeping_a_guess_or_resampling_gives_the_model_distribution(model):
    spec = model.spec
    generator = torch.Generator().manual_seed(0)
    decoder = Decoder(model, generator, chord_temperature=0.7, melody_temperature=0.0)
    decoder.tokens = [1, spec.chord_on("C"), spec.melody_silence]  # position 3 is a chord
    row = torch.randn(spec.vocab_size, generator=torch.Generator().manual_seed(1)) * 2
    mask = decoder.tables["chord"].masks[spec.chord_on("C")][0]
    expected = (row.masked_fill(~mask, float("-inf")) / 0.7).softmax(-1)
    guess = spec.chord_hold("C")
    draws = 6000
    counts = torch.zeros(spec.vocab_size)
    for _ in range(draws):
        counts[decoder._choose(row, 3, guess)] += 1
    assert counts[~mask].sum() == 0
    assert torch.allclose(counts / draws, expected, atol=0.02)
    assert abs(counts[guess] / draws - expected[guess]) < 0.02


def test_a_greedy_position_keeps_only_the_argmax(model):
    spec = model.spec
    decoder = Decoder(model, torch.Generator(), chord_temperature=1.0, melody_temperature=0.0)
    decoder.tokens = [1, spec.chord_silence, spec.melody_on(60), spec.chord_silence]
    row = torch.full((spec.vocab_size,), -5.0)
    row[spec.melody_hold(60)] = 3.0
    assert decoder._choose(row, 4, spec.melody_hold(60)) == spec.melody_hold(60)
    assert decoder._choose(row, 4, spec.melody_silence) == spec.melody_hold(60)
