"""The block stack and its KV cache: incremental decoding equals full recomputation, the
online stream never leaks the future, the teacher's encoder does see it."""

from __future__ import annotations

import pytest
import torch

from cojam.data.tokens import PAD, TokenSpec
from cojam.models.online import OnlineConfig, OnlineModel, stream_layout
from cojam.models.teacher import TeacherConfig, TeacherModel


def online(spec: TokenSpec, role: str = "accompanist") -> OnlineModel:
    torch.manual_seed(0)
    config = OnlineConfig(role=role, d_model=32, n_layers=2, n_heads=2, max_frames=16)
    return OnlineModel(spec, config).eval()


def teacher(spec: TokenSpec) -> TeacherModel:
    torch.manual_seed(0)
    config = TeacherConfig(d_model=32, n_encoder_layers=2, n_decoder_layers=2, n_heads=2,
                           max_frames=16)
    return TeacherModel(spec, config).eval()


def random_frames(spec: TokenSpec, batch: int, frames: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    melody = torch.randint(spec.melody_silence, spec.chord_silence, (batch, frames), generator=g)
    chords = torch.randint(spec.chord_silence, spec.vocab_size, (batch, frames), generator=g)
    return melody, chords


def test_cached_decoding_equals_full_forward(tiny_spec: TokenSpec) -> None:
    model = online(tiny_spec)
    melody, chords = random_frames(tiny_spec, 3, 10)
    tokens = stream_layout(melody, chords, "accompanist")  # (3, 21)
    full = model(tokens)
    cache = model.new_cache(3)
    pieces = [model(tokens[:, a:b], cache) for a, b in ((0, 1), (1, 7), (7, 8), (8, 21))]
    assert cache.length == 21
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)


def test_truncate_replans_from_a_prefix_and_copy_is_independent(tiny_spec: TokenSpec) -> None:
    model = online(tiny_spec)
    melody, chords = random_frames(tiny_spec, 2, 8)
    tokens = stream_layout(melody, chords, "accompanist")
    other = stream_layout(*random_frames(tiny_spec, 2, 8, seed=1), "accompanist")
    cache = model.new_cache(2)
    model(tokens[:, :9], cache)
    snapshot = cache.copy()
    model(other[:, 9:], cache)  # a wrong continuation ...
    cache.truncate(9)  # ... forgotten
    replanned = model(tokens[:, 9:], cache)
    torch.testing.assert_close(replanned, model(tokens)[:, 9:], atol=1e-5, rtol=1e-5)
    assert snapshot.length == 9
    torch.testing.assert_close(model(tokens[:, 9:], snapshot), replanned, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        cache.truncate(cache.length + 1)


def test_cache_overflow_is_an_error(tiny_spec: TokenSpec) -> None:
    model = online(tiny_spec)
    cache = model.new_cache(1, max_len=4)
    with pytest.raises(ValueError, match="full"):
        model(torch.ones(1, 5, dtype=torch.long), cache)


@pytest.mark.parametrize("role", ["accompanist", "melody"])
def test_own_token_of_frame_t_never_sees_partner_frame_t(tiny_spec: TokenSpec, role: str) -> None:
    model = online(tiny_spec, role)
    melody, chords = random_frames(tiny_spec, 1, 8)
    t = 4
    if role == "accompanist":  # change the melody from frame t on
        altered = melody.clone()
        altered[:, t:] = tiny_spec.melody_silence
        own_before, _ = model.frame_logits(melody, chords)
        own_after, partner_after = model.frame_logits(altered, chords)
        _, partner_before = model.frame_logits(melody, chords)
    else:  # the melody agent: change the chords from frame t on
        altered = chords.clone()
        altered[:, t:] = tiny_spec.chord_silence
        partner_before, own_before = model.frame_logits(melody, chords)
        partner_after, own_after = model.frame_logits(melody, altered)
    torch.testing.assert_close(own_after[:, : t + 1], own_before[:, : t + 1])
    assert not torch.allclose(own_after[:, t + 1 :], own_before[:, t + 1 :])
    # the partner prediction of frame t has heard the own token of frame t, not later ones
    torch.testing.assert_close(partner_after[:, :t], partner_before[:, :t])


def test_teacher_sees_the_future_melody_but_not_future_chords(tiny_spec: TokenSpec) -> None:
    model = teacher(tiny_spec)
    melody, chords = random_frames(tiny_spec, 1, 8)
    base = model.frame_logits(melody, chords)
    later_melody = melody.clone()
    later_melody[:, 6:] = tiny_spec.melody_silence
    assert not torch.allclose(model.frame_logits(later_melody, chords)[:, 0], base[:, 0])
    later_chords = chords.clone()
    later_chords[:, 6:] = tiny_spec.chord_silence
    torch.testing.assert_close(model.frame_logits(melody, later_chords)[:, :7], base[:, :7])


def test_teacher_ignores_padding(tiny_spec: TokenSpec) -> None:
    model = teacher(tiny_spec)
    melody, chords = random_frames(tiny_spec, 1, 6)
    padded_melody = torch.cat([melody, torch.full((1, 4), PAD)], dim=1)
    padded_chords = torch.cat([chords, torch.full((1, 4), PAD)], dim=1)
    torch.testing.assert_close(model.frame_logits(padded_melody, padded_chords)[:, :6],
                               model.frame_logits(melody, chords), atol=1e-5, rtol=1e-5)


def test_teacher_cached_decoding_equals_full_forward(tiny_spec: TokenSpec) -> None:
    model = teacher(tiny_spec)
    melody, chords = random_frames(tiny_spec, 2, 8)
    full = model.frame_logits(melody, chords)
    decoder_in = torch.cat([torch.ones(2, 1, dtype=torch.long), chords[:, :-1]], dim=1)
    cache = model.new_cache(2)
    pieces = [model(melody, decoder_in[:, a:b], cache) for a, b in ((0, 3), (3, 4), (4, 8))]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)


def test_the_rotary_table_gives_the_angles_computed_afresh():
    from cojam.models.transformer import BlockConfig, Stack, rotary

    stack = Stack(BlockConfig(16, 2), n_layers=1, causal=True)
    for start, length in ((0, 5), (700, 3), (1500, 600)):  # the last one regrows the table
        cos, sin = stack.rope(start, length, torch.device("cpu"))
        fresh = rotary(torch.arange(start, start + length), 8, 10000.0)
        assert torch.equal(cos, fresh[0]) and torch.equal(sin, fresh[1])
    assert "_rope_table" not in stack.state_dict()
