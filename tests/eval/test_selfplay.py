"""Self-play between a tiny accompanist and a tiny melody agent."""

import pytest
import torch
from eval_helpers import handmade_songs

from cojam.data.tokens import song_to_frames
from cojam.eval.pieces import Piece
from cojam.eval.selfplay import melody_facts, self_play, selfplay_pieces
from cojam.models.checkpoint import load_model
from cojam.rewards.frames import frame_view


def seeds(spec):
    return [Piece(s.song_id, *song_to_frames(s, spec), 4.0) for s in handmade_songs()[:3]]


def test_sessions_keep_the_seed_and_play_valid_tokens(spec, tiny_runs):
    acc, agent = load_model(tiny_runs["online"]), load_model(tiny_runs["melody"])
    sessions = selfplay_pieces(acc, agent, seeds(spec), seed_bars=1, session_bars=4, seed=0,
                               batch_size=2)
    assert len(sessions) == 3
    for session, seed in zip(sessions, seeds(spec), strict=True):
        assert session.num_frames == 64  # 4 bars of 4/4
        assert (session.melody[:16] == seed.melody[:16]).all()
        frame_view(session.melody, session.chords, spec)  # each stream's own tokens
    again = selfplay_pieces(acc, agent, seeds(spec), 1, 4, seed=0, batch_size=2)
    assert all((a.melody == b.melody).all() and (a.chords == b.chords).all()
               for a, b in zip(sessions, again, strict=True))
    facts = melody_facts(sessions, spec)
    assert 0 <= facts["melody_silence"] <= 1 and facts["melody_distinct_pitches"] >= 1


def test_self_play_checks_roles_and_length(spec, tiny_runs):
    acc, agent = load_model(tiny_runs["online"]), load_model(tiny_runs["melody"])
    seed = torch.full((1, 4), spec.melody_silence)
    with pytest.raises(ValueError, match="role"):
        self_play(agent, acc, seed, 8)
    with pytest.raises(ValueError, match="exceed"):
        self_play(acc, agent, seed, 1000)
    melody, chords = self_play(acc, agent, seed, 8, temperature=0.0)
    assert melody.shape == chords.shape == (1, 8)
    assert (melody[0, :4] == spec.melody_silence).all()
