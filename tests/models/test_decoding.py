"""The decoding loop: a partner plays only where and when it is asked to, without a cache
the loop plays the same tokens (also while sliding past the window), and a recorded
log-prob is the one the model gives the token it played."""

from __future__ import annotations

import torch

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.decoding import Partner, play_frames
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.sampling import SamplingConfig, allowed_mask, masked_log_softmax

SPEC = TokenSpec(chords=("C", "F", "G", "Am"), min_pitch=60, max_pitch=72)


def model(role: str, seed: int) -> OnlineModel:
    torch.manual_seed(seed)
    config = OnlineConfig(role=role, d_model=16, n_layers=1, n_heads=2, mlp_ratio=2,
                          max_frames=8)
    return OnlineModel(SPEC, config).eval()


def melody(batch: int, length: int) -> torch.Tensor:
    pitches = torch.randint(60, 73, (batch, length), generator=torch.Generator().manual_seed(0))
    return SPEC.melody_silence + 1 + 2 * (pitches - SPEC.min_pitch)  # note-ons


def test_a_partner_plays_only_from_its_frame_and_where_it_takes() -> None:
    given = melody(3, 8)
    takes = torch.ones(3, 8, dtype=torch.bool)
    takes[1] = False
    partner = Partner(model("melody", 2), from_frame=3, takes=takes)
    played = play_frames(model("accompanist", 1), given, generator=torch.Generator()
                         .manual_seed(4), partner=partner)
    assert torch.equal(played.heard[:, :3], given[:, :3])
    assert torch.equal(played.heard[1], given[1])
    assert not torch.equal(played.heard[0, 3:], given[0, 3:])
    alone = play_frames(model("accompanist", 1), given, generator=torch.Generator()
                        .manual_seed(4), partner=Partner(model("melody", 2), from_frame=8))
    first = play_frames(model("accompanist", 1), given, generator=torch.Generator()
                        .manual_seed(4))
    assert torch.equal(alone.own, first.own)  # a partner that never draws changes nothing


def test_recomputing_plays_the_same_tokens_while_sliding_with_a_partner() -> None:
    given = torch.full((2, 20), PAD)  # 20 frames: the 8-frame window slides
    sampling = SamplingConfig(temperature=1.3, top_k=6)
    runs = [play_frames(model("accompanist", 1), given, sampling,
                        torch.Generator().manual_seed(5), Partner(model("melody", 2)),
                        use_cache=use_cache) for use_cache in (True, False)]
    assert torch.equal(runs[0].own, runs[1].own)
    assert torch.equal(runs[0].heard, runs[1].heard)


def test_recorded_log_probs_are_the_models_for_the_tokens_played() -> None:
    accompanist = model("accompanist", 1)
    given = melody(2, 6)
    played = play_frames(accompanist, given, generator=torch.Generator().manual_seed(6),
                         record=True)
    tokens = torch.stack([played.own, given], dim=2).flatten(1)  # (B, 2T): c1 m1 c2 ...
    tokens = torch.cat([torch.full((2, 1), BOS), tokens[:, :-1]], dim=1)  # [BOS, c1, ...]
    logits = accompanist(tokens)[:, 0::2]  # (B, T, V) the positions choosing chords
    previous = torch.cat([torch.full((2, 1), BOS), played.own[:, :-1]], dim=1)
    allowed = allowed_mask(SPEC, "chord", previous.flatten()).view(2, 6, -1)
    expected = masked_log_softmax(logits, allowed).gather(2, played.own[..., None])[..., 0]
    assert torch.allclose(played.log_probs, expected, atol=1e-5)
