"""Styles: an extra start token per style, grown from BOS's embedding, saved and loaded
with the model, and chosen by generation (a model without the style plays its corpus's)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cojam.data.tokens import BOS, TokenSpec
from cojam.models.checkpoint import load_model, save_run
from cojam.models.decoding import play_frames
from cojam.models.generate import generate_accompaniment
from cojam.models.online import (
    CORPUS,
    SONG,
    OnlineConfig,
    OnlineModel,
    stream_layout,
    style_token,
    with_style,
)


def accompanist(spec: TokenSpec) -> OnlineModel:
    torch.manual_seed(1)
    return OnlineModel(spec, OnlineConfig(d_model=32, n_layers=2, n_heads=2,
                                          max_frames=12)).eval()


def melody_rows(spec: TokenSpec, batch: int = 3, length: int = 10) -> torch.Tensor:
    pitches = torch.randint(60, 72, (batch, length), generator=torch.Generator().manual_seed(3))
    return 3 + 2 * (pitches - spec.min_pitch)


def test_a_new_style_starts_as_the_corpus_style_and_gets_its_own_token(
        tiny_spec: TokenSpec) -> None:
    model = accompanist(tiny_spec)
    grown = with_style(model, SONG)
    assert grown.config.styles == (SONG,) and not grown.training
    song = style_token(grown, SONG)
    assert song == tiny_spec.vocab_size  # after the vocabulary: the head never predicts it
    assert style_token(grown, CORPUS) == BOS
    assert style_token(model, SONG) == BOS  # without the style: the corpus's
    with pytest.raises(ValueError, match="unknown style"):
        style_token(grown, "jazz")
    melody = melody_rows(tiny_spec)
    chords = torch.full_like(melody, tiny_spec.chord_silence)
    tokens = stream_layout(melody, chords, "accompanist")[:, :-1]
    before = model(tokens)
    assert torch.allclose(grown(tokens), before, atol=1e-6)
    assert grown(tokens).shape[-1] == tiny_spec.vocab_size
    as_song = stream_layout(melody, chords, "accompanist", song)[:, :-1]
    assert torch.allclose(grown(as_song), before, atol=1e-6)  # a copy of BOS's row
    assert with_style(grown, SONG) is grown


def test_generation_plays_the_style_asked_for(tiny_spec: TokenSpec, tmp_path: Path) -> None:
    grown = with_style(accompanist(tiny_spec), SONG)
    with torch.no_grad():  # the song style learned something of its own
        grown.embed.weight[style_token(grown, SONG)] = torch.randn(
            32, generator=torch.Generator().manual_seed(0))
    melody = melody_rows(tiny_spec, batch=8)

    def log_probs(model: OnlineModel, style: str) -> torch.Tensor:
        played = play_frames(model, melody, generator=torch.Generator().manual_seed(5),
                             record=True, start=style_token(model, style))
        assert played.log_probs is not None
        return played.log_probs

    def chords(model: OnlineModel, style: str) -> torch.Tensor:
        generator = torch.Generator().manual_seed(5)
        return generate_accompaniment(model, melody, generator=generator, style=style)

    assert not torch.allclose(log_probs(grown, SONG), log_probs(grown, CORPUS))
    save_run(tmp_path / "run", grown)
    loaded = load_model(tmp_path / "run")
    assert isinstance(loaded, OnlineModel) and loaded.config.styles == (SONG,)
    for style in (SONG, CORPUS):
        assert torch.equal(log_probs(loaded, style), log_probs(grown, style))
        assert torch.equal(chords(loaded, style), chords(grown, style))
