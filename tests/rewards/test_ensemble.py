"""Reward callables: normalisation by validation statistics, the weighted sum, loading,
and rule rewards behind the same signature."""

import json

import pytest
import torch

from cojam.data.batches import collate, song_examples
from cojam.data.cache import load_songs, load_spec
from cojam.rewards.ensemble import (
    Ensemble,
    Member,
    calibrate,
    load_reward,
    rule_reward,
    score_examples,
    write_ensemble,
)
from cojam.rewards.frames import frame_view
from cojam.rewards.rules import note_in_chord


def valid_examples(cache):
    return song_examples(load_songs(cache, "valid"), load_spec(cache), 32)


def test_members_are_normalised_to_their_validation_statistics(trained_runs, triad_cache):
    examples = valid_examples(triad_cache)
    for run in trained_runs.values():
        member = load_reward(run)  # one normalised member
        scores = score_examples(member, examples)
        assert abs(scores.mean()) < 1e-4 and scores.std() == pytest.approx(1.0, abs=1e-3)
        stored = json.loads((run / "calibration.json").read_text())
        assert stored["std"] > 0 and stored["pairs"] == len(examples)


def test_ensemble_is_the_weighted_sum_of_normalised_members(trained_runs, triad_cache,
                                                             tmp_path):
    path = tmp_path / "ensemble.json"
    write_ensemble(path, [trained_runs["contrastive"], trained_runs["discriminative"]],
                   [2.0, 0.5])
    ensemble = load_reward(path)
    batch = collate(valid_examples(triad_cache)[:5])
    melody, chords, mask = (torch.from_numpy(a) for a in (batch.melody, batch.chords, batch.mask))
    parts = ensemble.parts(melody, chords, mask)
    assert list(parts) == ["contrastive/contrastive", "discriminative/discriminative"]
    total = ensemble(melody, chords, mask)
    assert total.shape == (5,)
    expected = 2.0 * parts["contrastive/contrastive"] + 0.5 * parts["discriminative/discriminative"]
    assert torch.allclose(total, expected, atol=1e-5)


def test_rule_rewards_take_the_same_signature_and_ignore_padding(triad_cache):
    spec = load_spec(triad_cache)
    examples = valid_examples(triad_cache)[:3]
    examples[1] = type(examples[1])("short", examples[1].melody[:12], examples[1].chords[:12])
    reward = rule_reward(note_in_chord, spec)
    scores = score_examples(reward, examples)
    expected = [note_in_chord(frame_view(e.melody, e.chords, spec)) for e in examples]
    assert scores.tolist() == pytest.approx(expected) and scores.tolist() == [1.0, 1.0, 1.0]
    mean, std = calibrate(reward, examples)  # every note is in its chord: std 0, floored
    assert (mean, std) == (1.0, 1e-6)
    batch = collate(examples)
    member = Member("harmony", reward, mean=mean, std=std, weight=3.0)
    total = Ensemble([member])(*(torch.from_numpy(a) for a in (batch.melody, batch.chords,
                                                                batch.mask)))
    assert total.tolist() == [0.0, 0.0, 0.0]


def test_a_bad_ensemble_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_reward(tmp_path / "missing.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(ValueError, match="members"):
        load_reward(tmp_path / "empty.json")
    with pytest.raises(ValueError):
        Ensemble([])
