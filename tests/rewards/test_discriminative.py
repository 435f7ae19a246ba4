"""A tiny discriminative model learns the triads; its reward is a log-probability."""

import json

import torch

from cojam.rewards.runs import load_reward_model


def test_tiny_discriminative_model_tells_real_from_every_negative(trained_runs):
    run = trained_runs["discriminative"]
    auc = json.loads((run / "auc.json").read_text())["auc"]
    assert auc["other_song"] > 0.9 and auc["transposed"] > 0.9
    assert auc["shifted"] > 0.7  # a shift by whole beats can land on a repeated note


def test_reward_is_a_log_probability_and_padding_does_not_change_it(trained_runs):
    model = load_reward_model(trained_runs["discriminative"])
    spec = model.spec
    melody = torch.tensor([[spec.melody_on(60)] + [spec.melody_hold(60)] * 3])  # (1, 4)
    chords = torch.tensor([[spec.chord_on("C")] + [spec.chord_hold("C")] * 3])
    mask = torch.ones(1, 4, dtype=torch.bool)
    with torch.no_grad():
        score = model(melody, chords, mask)
        padded = model(torch.nn.functional.pad(melody, (0, 3)),
                       torch.nn.functional.pad(chords, (0, 3)),
                       torch.nn.functional.pad(mask, (0, 3)))
    assert score.shape == (1,) and score.item() <= 0.0
    assert torch.allclose(score, padded, atol=1e-5)
