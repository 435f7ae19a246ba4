"""Rollouts: valid chords, no peeking at the present melody, log-probs that match the
batched forward pass, and melody-agent rollouts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from rl_helpers import TINY_PPO

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.checkpoint import load_model
from cojam.models.online import SONG, style_token, with_style
from cojam.rewards.frames import frame_view
from cojam.rl import credit
from cojam.rl.players import RLModels
from cojam.rl.ppo import expected_credit
from cojam.rl.rollout import chord_log_probs, play, playable, teacher_log_probs


def melodies(spec: TokenSpec, B: int = 4, T: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    pitches = torch.randint(60, 72, (B, T), generator=generator)
    melody = torch.tensor([[spec.melody_on(int(p)) for p in row] for row in pitches])
    mask = torch.ones(B, T, dtype=torch.bool)
    melody[1, 16:], mask[1, 16:] = PAD, False  # a shorter row
    return melody, mask


def test_chords_are_valid_and_padding_is_kept(rl_runs: dict[str, Path], rl_spec: TokenSpec
                                             ) -> None:
    policy = load_model(rl_runs["online"])
    melody, mask = melodies(rl_spec)
    rollout = play(policy, melody, mask, generator=torch.Generator().manual_seed(1))
    assert (rollout.chords[~mask] == PAD).all() and (rollout.log_probs[~mask] == 0).all()
    for m, c, real in zip(melody, rollout.chords, mask, strict=True):
        view = frame_view(m[real].numpy(), c[real].numpy(), rl_spec)  # raises if invalid
        assert not view.invalid_hold.any()
    assert rollout.hidden.shape == (4, 24, policy.config.d_model)


def test_the_chord_of_frame_t_never_hears_the_melody_of_frame_t(
        rl_runs: dict[str, Path], rl_spec: TokenSpec) -> None:
    policy = load_model(rl_runs["online"])
    melody, mask = melodies(rl_spec)
    changed = melody.clone()
    changed[:, 10] = rl_spec.melody_silence
    first = play(policy, melody, mask, generator=torch.Generator().manual_seed(3))
    second = play(policy, changed, mask, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first.chords[:, :11], second.chords[:, :11])
    assert torch.allclose(first.log_probs[:, :11], second.log_probs[:, :11])


def test_sampled_log_probs_match_the_batched_forward_pass(
        rl_runs: dict[str, Path], rl_spec: TokenSpec) -> None:
    policy = load_model(rl_runs["online"])
    melody, mask = melodies(rl_spec)
    rollout = play(policy, melody, mask, generator=torch.Generator().manual_seed(2))
    scores = chord_log_probs(policy, rollout.melody, rollout.chords, mask)
    assert torch.allclose(scores.log_probs[mask], rollout.log_probs[mask], atol=1e-4)
    assert torch.allclose(scores.hidden[mask], rollout.hidden[mask], atol=1e-4)
    assert (scores.entropy[mask] > 0).all()
    teacher = teacher_log_probs(load_model(rl_runs["teacher"]), rollout.melody,
                                rollout.chords, mask)
    assert teacher.shape == mask.shape and torch.isfinite(teacher).all()


def test_with_the_melody_agent_the_agent_plays_after_the_seed(
        rl_runs: dict[str, Path], rl_spec: TokenSpec) -> None:
    policy, agent = load_model(rl_runs["online"]), load_model(rl_runs["melody"])
    melody, mask = melodies(rl_spec)
    rollout = play(policy, melody, mask, agent, seed_frames=8,
                   generator=torch.Generator().manual_seed(4))
    assert torch.equal(rollout.melody[:, :8], melody[:, :8])
    assert not torch.equal(rollout.melody[:, 8:][mask[:, 8:]], melody[:, 8:][mask[:, 8:]])
    assert (rollout.melody[~mask] == PAD).all()
    assert rl_spec.is_melody(rollout.melody[mask]).all()
    scores = chord_log_probs(policy, rollout.melody, rollout.chords, mask)
    assert torch.allclose(scores.log_probs[mask], rollout.log_probs[mask], atol=1e-4)


def test_song_rows_are_scored_as_they_were_played(rl_runs: dict[str, Path],
                                                  rl_spec: TokenSpec) -> None:
    """Rows played in the song style keep their start token: the update's forward pass
    reads it (log-probs match), and reading BOS instead would score other chords."""
    policy = with_style(load_model(rl_runs["online"]), SONG)
    with torch.no_grad():  # a song style that has learned something of its own
        policy.embed.weight[style_token(policy, SONG)] = torch.randn(
            policy.config.d_model, generator=torch.Generator().manual_seed(0))
    melody, mask = melodies(rl_spec)
    start = torch.tensor([BOS, BOS, style_token(policy, SONG), style_token(policy, SONG)])
    rollout = play(policy, melody, mask, generator=torch.Generator().manual_seed(2),
                   start=start)
    assert torch.equal(rollout.start, start)
    scores = chord_log_probs(policy, rollout.melody, rollout.chords, mask, rollout.start)
    assert torch.allclose(scores.log_probs[mask], rollout.log_probs[mask], atol=1e-4)
    as_corpus = chord_log_probs(policy, rollout.melody, rollout.chords, mask)
    song = mask.clone()
    song[:2] = False
    assert torch.allclose(as_corpus.log_probs[:2][mask[:2]], rollout.log_probs[:2][mask[:2]],
                          atol=1e-4)
    assert not torch.allclose(as_corpus.log_probs[song], rollout.log_probs[song], atol=1e-3)
    both = rollout.cat(rollout)
    assert torch.equal(both.start, torch.cat([start, start]))


def test_the_vocabulary_term_pays_only_the_corpus_style_rows(
        rl_runs: dict[str, Path], rl_spec: TokenSpec) -> None:
    """Expected credit on rows 0-1 (corpus style) and 2-3 (song): the chord-vocabulary
    term, which compares with the corpus's chords, moves only the corpus rows' credit (the
    song rows' changes only by the normalisation all rows share)."""
    policy = with_style(load_model(rl_runs["online"]), SONG)
    models = RLModels(policy, torch.nn.Linear(1, 2), policy, None, None, None, None)
    melody, mask = melodies(rl_spec)
    song = style_token(policy, SONG)
    rollout = play(policy, melody, mask, generator=torch.Generator().manual_seed(2),
                   start=torch.tensor([BOS, BOS, song, song]))
    config = dataclasses.replace(TINY_PPO, frame_credit="expected", note_in_chord_weight=1.0)
    base = expected_credit(models, rollout, 4, config)
    assert base is not None and base[2:].abs().sum() > 0
    marginal = credit.data_chord_marginal([c[m].numpy() for c, m in zip(
        playable(rollout.chords, mask, rl_spec), mask, strict=True)][:1], rl_spec)
    with_term = expected_credit(models, rollout, 4,
                                dataclasses.replace(config, marginal_weight=0.5), None,
                                marginal)
    assert with_term is not None
    ratio = (with_term[2:] * base[2:]).sum() / (base[2:] ** 2).sum()
    assert torch.allclose(with_term[2:], ratio * base[2:], atol=1e-5)
    assert not torch.allclose(with_term[:2], ratio * base[:2], atol=1e-3)
