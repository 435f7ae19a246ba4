"""Reward assembly: each term lands on the right tokens with the right weight and sign."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from rl_helpers import TINY_PPO

from cojam.data.tokens import PAD, TokenSpec
from cojam.rewards.ensemble import Ensemble, Member
from cojam.rl.rewards import (
    member_scores,
    policy_scale,
    rule_terms,
    sequence_rewards,
)

NO_RULES = dict(invalid_hold_penalty=0.0, excess_silence_penalty=0.0,
                repeated_chord_penalty=0.0, long_chord_penalty=0.0, early_end_penalty=0.0)


def constant(value: float):
    def score(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.full((len(melody),), value)

    return score


def rows(spec: TokenSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row 0: a C note under a held C chord (4 frames); row 1: the same, 3 frames long
    (then padding), the chord silent in its third frame."""
    note, chord = spec.melody_on(60), spec.chord_on("C")
    melody = torch.tensor([[note, note + 1, note + 1, note + 1],
                           [note, note + 1, note + 1, PAD]])
    chords = torch.tensor([[chord, chord + 1, chord + 1, chord + 1],
                           [chord, chord + 1, spec.chord_silence, PAD]])
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    return melody, chords, mask


def test_sequence_rewards_split_weight_and_sum(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, ensemble_weight=2.0,
                                 adversarial_weight=0.5, **{**NO_RULES,
                                                            "excess_silence_penalty": 10.0})
    ensemble = Ensemble([Member("contrastive/a", constant(3.0), mean=1.0, std=2.0),
                         Member("discriminative-rhythm/b", constant(-1.0), weight=0.5)])
    melody, chords, mask = rows(rl_spec)
    adversarial = torch.tensor([0.2, 1.0])
    members = member_scores(ensemble, melody, chords, mask)
    assert torch.allclose(members["contrastive/a"], torch.full((2,), (3.0 - 1.0) / 2.0))
    assert torch.allclose(members["discriminative-rhythm/b"], torch.full((2,), 0.5 * -1.0))
    scale = {"contrastive/a": [0.5, 2.0], "discriminative-rhythm/b": [-1.0, 0.25]}
    total, parts = sequence_rewards(melody, chords, mask, rl_spec, config, members, scale,
                                    adversarial)
    assert torch.allclose(parts["harmony"], torch.full((2,), 2.0 * (1.0 - 0.5) / 2.0))
    assert torch.allclose(parts["rhythm"], torch.full((2,), 2.0 * (-0.5 + 1.0) / 0.25))
    assert torch.allclose(parts["rule/excess_silence"], torch.tensor([0.0, 1 / 3 - 0.04]))
    assert torch.allclose(parts["rules"], torch.tensor([0.0, -10 * (1 / 3 - 0.04)]))
    assert torch.allclose(parts["adversarial"], 0.5 * adversarial)
    assert torch.allclose(total, parts["harmony"] + parts["rhythm"] + parts["rules"]
                          + parts["adversarial"])


def test_unweighted_terms_are_left_out(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **NO_RULES)
    assert rule_terms(config) == {}
    melody, chords, mask = rows(rl_spec)
    total, parts = sequence_rewards(melody, chords, mask, rl_spec, config, None)
    assert set(parts) == {"rules"} and (total == 0).all()


@pytest.mark.parametrize("name, sign", [("excess_silence", -1),
                                        ("repeated_chords", -1), ("long_chords", -1),
                                        ("early_end", -1), ("invalid_holds", -1)])
def test_penalties_count_against_bonuses_for(name: str, sign: int) -> None:
    weight, _ = rule_terms(TINY_PPO)[name]
    assert weight * sign > 0


def test_policy_scale_is_mean_and_spread_of_the_batch() -> None:
    scale = policy_scale({"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([2.0, 2.0])})
    assert scale == {"a": [2.0, 1.0], "b": [2.0, 1e-6]}
