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


def biased(spec: TokenSpec) -> OnlineModel:
    """An accompanist with the song style and the styles' vectors, the song's moved."""
    grown = with_style(accompanist(spec), SONG, bias=True)
    assert grown.config.style_bias and grown.style_bias is not None
    with torch.no_grad():
        grown.style_bias.weight[1] = torch.randn(32, generator=torch.Generator().manual_seed(2))
    return grown


def test_style_vectors_start_at_zero_and_grow_with_the_styles(tiny_spec: TokenSpec) -> None:
    model = accompanist(tiny_spec)
    melody = melody_rows(tiny_spec)
    chords = torch.full_like(melody, tiny_spec.chord_silence)
    tokens = stream_layout(melody, chords, "accompanist")[:, :-1]
    grown = with_style(model, SONG, bias=True)
    assert grown.style_bias is not None and grown.style_bias.weight.shape == (2, 32)
    assert not grown.style_bias.weight.any()  # plays as before until training moves it
    assert torch.allclose(grown(tokens), model(tokens), atol=1e-6)
    assert with_style(grown, SONG, bias=True) is grown and with_style(grown, SONG) is grown
    # a model that has the style already gets the vectors alone; a new style copies row 0
    later = with_style(with_style(model, SONG), SONG, bias=True)
    assert later.config.styles == (SONG,) and later.style_bias is not None
    with torch.no_grad():
        later.style_bias.weight[0] = 1.0
    more = with_style(later, "jazz")
    assert more.style_bias is not None and torch.equal(more.style_bias.weight[2],
                                                       more.style_bias.weight[0])


def test_every_path_reads_the_style_from_the_first_token(tiny_spec: TokenSpec,
                                                         tmp_path: Path) -> None:
    """The full forward, the cached one token at a time, a row cache and the live
    engine's requests served together give one model's logits, per row's style."""
    from cojam.models.row_cache import Forward, forward_together, new_row_cache, step_rows

    model = biased(tiny_spec)
    melody = melody_rows(tiny_spec, batch=2, length=6)
    chords = torch.full_like(melody, tiny_spec.chord_silence)
    starts = torch.tensor([style_token(model, SONG), BOS])
    tokens = stream_layout(melody, chords, "accompanist", starts)[:, :-1]  # (2, 12)
    with torch.no_grad():
        full = model(tokens)
        as_corpus = model(stream_layout(melody, chords, "accompanist")[:, :-1])
        assert not torch.allclose(full[0], as_corpus[0], atol=1e-4)  # the vector counts
        assert torch.allclose(full[1], as_corpus[1], atol=1e-6)
        cache = model.new_cache(2)
        stepped = torch.cat([model(tokens[:, i:i + 1], cache) for i in range(12)], 1)
        assert torch.allclose(stepped, full, atol=1e-5)
        copied = cache.copy()
        copied.truncate(5)
        assert torch.allclose(model(tokens[:, 5:], copied), full[:, 5:], atol=1e-5)
        rows = new_row_cache(model, 2)
        first = step_rows(model, rows, tokens[:, :4], torch.tensor([4, 2]))
        assert torch.allclose(first[0], full[0, :4], atol=1e-5)
        assert torch.allclose(first[1, :2], full[1, :2], atol=1e-5)
        caches = [model.new_cache(1), model.new_cache(1)]
        served = forward_together(model, [Forward(c, tokens[b, :7].tolist())
                                          for b, c in enumerate(caches)])
        for b in range(2):
            assert torch.allclose(served[b], full[b, :7], atol=1e-5)
        served = forward_together(model, [Forward(c, tokens[b, 7:].tolist())
                                          for b, c in enumerate(caches)])
        for b in range(2):
            assert torch.allclose(served[b], full[b, 7:], atol=1e-5)
    save_run(tmp_path / "run", model)
    loaded = load_model(tmp_path / "run")
    assert isinstance(loaded, OnlineModel) and loaded.config.style_bias
    with torch.no_grad():
        assert torch.equal(loaded(tokens), full)
