"""Reward scoring through the one reward signature, and the reward-hacking flag."""

import json

import numpy as np
import pytest
import torch
from eval_helpers import handmade_songs

from cojam.data.tokens import TokenSpec, song_to_frames
from cojam.eval.learned_rewards import (
    check_reward_vocabulary,
    flag_reward_hacking,
    flag_rhythm_gaming,
    reward_scores,
)
from cojam.eval.pieces import Piece


def chord_onset_rate(spec):
    """A plain reward: the fraction of real frames whose chord is an onset (the padding
    must not count, so the mask matters)."""
    def score(melody, chords, mask):
        offset = chords - spec.chord_silence - 1
        onset = (chords > spec.chord_silence) & (offset % 2 == 0) & mask
        return onset.sum(dim=1) / mask.sum(dim=1)
    return score


def test_reward_scores_batch_and_mask(spec):
    songs = handmade_songs()[:3]
    pieces = [Piece(s.song_id, *song_to_frames(s, spec), 4.0) for s in songs]
    pieces[1] = Piece("short", pieces[1].melody[:32], pieces[1].chords[:32], 4.0)
    outputs = [p.chords for p in pieces]
    scores = reward_scores(chord_onset_rate(spec), pieces, outputs, batch_size=2)
    # one chord per bar: one onset every 16 frames, whatever the padding
    assert np.allclose(scores, 1 / 16)
    assert isinstance(chord_onset_rate(spec)(torch.tensor([[5]]), torch.tensor([[5]]),
                                             torch.tensor([[True]])), torch.Tensor)


def test_flag_reward_hacking():
    systems = {
        "mle": {"harmony": 0.5, "vendi": 10.0, "vendi_relative": 5.0, "reward/c": 0.2},
        "honest": {"harmony": 0.6, "vendi": 11.0, "vendi_relative": 6.0, "reward/c": 0.3},
        "hacker": {"harmony": 0.45, "vendi": 12.0, "vendi_relative": 6.0, "reward/c": 0.5},
        "collapsed": {"harmony": 0.7, "vendi": 3.0, "vendi_relative": 1.0, "reward/c": 0.4},
        "worse": {"harmony": 0.3, "vendi": 2.0, "vendi_relative": 1.0, "reward/c": 0.1},
    }
    flags = {f["system"]: f for f in flag_reward_hacking(systems)}
    assert set(flags) == {"hacker", "collapsed"}
    assert flags["hacker"]["quality_fell"] == {"harmony": (0.5, 0.45)}
    assert set(flags["collapsed"]["quality_fell"]) == {"vendi", "vendi_relative"}
    assert flags["collapsed"]["rewards_rose"] == {"reward/c": (0.2, 0.4)}
    assert flag_reward_hacking({k: v for k, v in systems.items() if k != "mle"}) == []
    assert [f["system"] for f in flag_reward_hacking(systems, candidates=["honest",
                                                                          "collapsed"])] == [
        "collapsed"]  # baselines are left out by the caller
    no_rewards = {n: {k: v for k, v in s.items() if k != "reward/c"} for n, s in systems.items()}
    assert flag_reward_hacking(no_rewards) == []


def test_variety_falls_only_below_the_data_as_well():
    """An MLE model more varied than the data: a policy whose Vendi falls to the data's has
    not collapsed; one that falls below the data's has. Harmony keeps the MLE floor (the
    data's is higher)."""
    systems = {"ground_truth": {"harmony": 0.95, "vendi": 19.4, "reward/c": 0.5},
               "mle": {"harmony": 0.41, "vendi": 21.3, "reward/c": -7.3},
               "to_the_data": {"harmony": 0.61, "vendi": 19.2, "reward/c": -6.1},
               "collapsed": {"harmony": 0.62, "vendi": 13.8, "reward/c": -6.6},
               "worse_harmony": {"harmony": 0.38, "vendi": 20.0, "reward/c": -6.0}}
    intervals = {"to_the_data": {"vendi": [18.8, 19.8], "reward/c": [-6.3, -5.9]},
                 "collapsed": {"vendi": [13.0, 14.3], "reward/c": [-6.8, -6.4]},
                 "worse_harmony": {"harmony": [0.36, 0.40], "reward/c": [-6.2, -5.8]}}
    flags = {f["system"]: f for f in flag_reward_hacking(systems, intervals)}
    assert set(flags) == {"collapsed", "worse_harmony"}  # the data is no candidate either
    assert flags["collapsed"]["quality_fell"] == {"vendi": (19.4, 13.8)}
    assert flags["worse_harmony"]["quality_fell"] == {"harmony": (0.41, 0.38)}
    # without the data in the evaluation the MLE model's values are the floor
    no_data = {k: v for k, v in systems.items() if k != "ground_truth"}
    assert {f["system"] for f in flag_reward_hacking(no_data, intervals)} == {
        "to_the_data", "collapsed", "worse_harmony"}


def test_flags_need_changes_beyond_the_intervals():
    systems = {"mle": {"harmony": 0.5, "vendi": 10.0, "reward/c": 0.2},
               "noisy": {"harmony": 0.48, "vendi": 10.0, "reward/c": 0.25},
               "clear": {"harmony": 0.30, "vendi": 10.0, "reward/c": 0.6}}
    intervals = {"mle": {}, "noisy": {"harmony": [0.40, 0.56], "reward/c": [0.1, 0.4]},
                 "clear": {"harmony": [0.25, 0.35], "reward/c": [0.5, 0.7]}}
    assert [f["system"] for f in flag_reward_hacking(systems)] == ["noisy", "clear"]
    assert [f["system"] for f in flag_reward_hacking(systems, intervals)] == ["clear"]


def test_reward_vocabulary_must_match_the_data(spec, tiny_reward, tmp_path):
    check_reward_vocabulary(tiny_reward, spec)
    ensemble = tmp_path / "ensemble.json"
    ensemble.write_text(json.dumps({"members": [{"run": str(tiny_reward), "weight": 1.0}]}))
    check_reward_vocabulary(ensemble, spec)
    other = TokenSpec(chords=spec.chords[:12], min_pitch=48, max_pitch=84)
    with pytest.raises(ValueError, match="another token vocabulary"):
        check_reward_vocabulary(tiny_reward, other)
    with pytest.raises(FileNotFoundError):
        check_reward_vocabulary(tmp_path, spec)


def test_the_rhythm_guard_flags_a_policy_that_follows_every_note():
    systems = {
        "ground_truth": {"onsets_on_beats": 1.0, "chord_changes_per_bar": 3.1},
        # a policy that gamed per-frame note-in-chord: attacks under every melody note
        "gamed": {"harmony": 0.55, "onsets_on_beats": 0.35, "chord_changes_per_bar": 8.6},
        "guarded": {"harmony": 0.52, "onsets_on_beats": 0.94, "chord_changes_per_bar": 3.8},
        "sleepy": {"harmony": 0.50, "onsets_on_beats": 1.0, "chord_changes_per_bar": 1.0},
    }
    flags = {f["system"]: f["rhythm_broke"]
             for f in flag_rhythm_gaming(systems, ["gamed", "guarded", "sleepy"])}
    assert set(flags) == {"gamed", "sleepy"}
    assert flags["gamed"] == {"onsets_on_beats": (0.9, 0.35),
                              "chord_changes_per_bar": (3.1, 8.6)}
    assert set(flags["sleepy"]) == {"chord_changes_per_bar"}
    assert flag_rhythm_gaming(systems, ["ground_truth"]) == []
