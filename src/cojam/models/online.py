"""The online models: a decoder-only transformer over the interleaved frame stream.

Two roles share this file and differ only in the order of the two tokens of a frame:

- ``accompanist`` reads ``[BOS, c1, m1, c2, m2, ...]``: the chord of frame t is predicted
  having heard the melody up to frame t-1 only (it plays at the same moment as the
  musician). The melody of frame t is predicted having heard chords up to t, which is
  what lets the live engine plan chords beyond the present (anticipation).
- ``melody`` (the melody agent, the partner that stands in for a human in simulation and
  RL) reads ``[BOS, m1, c1, m2, c2, ...]``: melody_t is predicted having heard the chords
  up to frame t-1 only, the symmetric situation.

The loss covers both streams; the model's own stream is what it plays, the partner's is
what it expects to hear.

Styles. A stream's first token says what kind of music it is. ``BOS`` is the style of
the corpus the model was pre-trained on (``"corpus"``: Bach chorales in the recipes). An
accompanist may carry more styles (``OnlineConfig.styles``), each an extra start token,
embedded in rows after the vocabulary (the head never predicts them). RL adds ``"song"``
for melody-only material (folk songs, and what a musician plays live), its row a copy of
BOS's, so the new style starts as the corpus's and learns apart from it: the harmony a
folk tune wants no longer has to share one behaviour with Bach's variety of chords.

With ``OnlineConfig.style_bias`` each style also has a vector added to every position's
input (``style_vectors``), so the style reaches every step as directly as the token it
reads, not only through attention to the first position. A cached forward learns the
style from its first token and keeps it in the cache (``KVCache.style``), so the cached
paths (rollouts, generation, the live engine's) need no more than the stream itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch
from torch import nn

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.transformer import BlockConfig, KVCache, Stack, init_weights

ROLES = ("accompanist", "melody")
CORPUS = "corpus"  # the pre-training corpus's style: streams start with BOS
SONG = "song"  # melody-only songs (RL on folk tunes; the live page)
STYLES = (CORPUS, SONG)


@dataclass(frozen=True)
class OnlineConfig:
    """Sizes of an online model (accompanist or melody agent)."""

    role: Literal["accompanist", "melody"] = "accompanist"
    """which stream the model plays: chords (accompanist) or melody (melody agent)"""
    d_model: int = 128
    """width of the residual stream"""
    n_layers: int = 4
    """number of causal transformer blocks"""
    n_heads: int = 4
    """attention heads per block"""
    mlp_ratio: int = 4
    """MLP hidden width as a multiple of d_model"""
    dropout: float = 0.1
    """dropout on embeddings and residual branches"""
    max_frames: int = 256
    """longest window in frames; the stream is 1 + 2 * max_frames tokens"""
    styles: tuple[str, ...] = ()
    """styles beyond the corpus's, each an extra start token (see the module docstring)"""
    style_bias: bool = False
    """add each style's own vector to every position's input (see the module docstring);
    zero at first, so a model grown with it plays as before until training moves it"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        if CORPUS in self.styles or len(set(self.styles)) != len(self.styles):
            raise ValueError(f"styles must be distinct and not {CORPUS!r}: {self.styles}")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        BlockConfig(self.d_model, self.n_heads)  # checks that the heads split d_model

    @property
    def max_len(self) -> int:
        return 1 + 2 * self.max_frames


def stream_layout(melody: np.ndarray | torch.Tensor, chords: np.ndarray | torch.Tensor,
                  role: str, start: torch.Tensor | int = BOS) -> torch.LongTensor:
    """(B, T) melody and chord rows -> (B, 1 + 2T) stream in the role's order, opened by
    ``start`` (one token, or (B,) one per row: the rows' styles)."""
    melody, chords = torch.as_tensor(melody), torch.as_tensor(chords)
    first, second = (chords, melody) if role == "accompanist" else (melody, chords)
    B, T = melody.shape
    tokens = torch.empty(B, 1 + 2 * T, dtype=torch.long)
    tokens[:, 0] = torch.as_tensor(start).cpu()
    tokens[:, 1::2] = first
    tokens[:, 2::2] = second
    return tokens


class OnlineModel(nn.Module):
    """Token embedding, a causal ``Stack`` and a head to vocabulary logits."""

    def __init__(self, spec: TokenSpec, config: OnlineConfig):
        super().__init__()
        self.spec = spec
        self.config = config
        block = BlockConfig(config.d_model, config.n_heads, config.mlp_ratio, config.dropout)
        self.embed = nn.Embedding(spec.vocab_size + len(config.styles), config.d_model,
                                  padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.stack = Stack(block, config.n_layers, causal=True)
        self.head = nn.Linear(config.d_model, spec.vocab_size, bias=False)
        init_weights(self, config.n_layers)
        self.style_bias = None
        if config.style_bias:  # one row per style, BOS's first; zero: no effect at first
            self.style_bias = nn.Embedding(1 + len(config.styles), config.d_model)
            nn.init.zeros_(self.style_bias.weight)

    @property
    def own_stream(self) -> str:
        """The stream this model plays: ``chord`` or ``melody``."""
        return "chord" if self.config.role == "accompanist" else "melody"

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """(B, T) tokens -> (B, T, V) logits of each next token. With a cache, ``tokens``
        sit at positions ``cache.length ..`` and the cache advances by T."""
        return self.head(self.hidden(tokens, cache))  # (B, T, V)

    def hidden(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """(B, T) tokens -> (B, T, C) final hidden states, before the head (RL's value
        head reads them)."""
        x = self.embed(tokens)  # (B, T, C)
        if self.style_bias is not None:
            x = x + stream_style(self, tokens[:, 0], cache)[:, None]
        return self.stack(self.dropout(x), cache=cache)  # (B, T, C)

    def new_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        weight = self.head.weight
        return self.stack.new_cache(batch_size, max_len or self.config.max_len,
                                    weight.device, weight.dtype)

    def frame_logits(self, melody: torch.Tensor, chords: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits for (B, T) frame rows: ((B, T, V) predicting each frame's
        chord, (B, T, V) predicting each frame's melody)."""
        tokens = stream_layout(melody, chords, self.config.role).to(self.head.weight.device)
        logits = self(tokens[:, :-1])  # (B, 2T, V): position i predicts token i + 1
        first, second = logits[:, 0::2], logits[:, 1::2]
        return (first, second) if self.config.role == "accompanist" else (second, first)


def style_token(model: OnlineModel, style: str) -> int:
    """The token that opens ``model``'s stream in ``style``: BOS for the corpus's style and
    for a style the model does not carry (it plays every melody in its corpus's style)."""
    if style in model.config.styles:
        return model.spec.vocab_size + model.config.styles.index(style)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; styles are {STYLES}")
    return BOS


def style_vectors(model: OnlineModel, first: torch.Tensor) -> torch.Tensor:
    """(B,) start tokens -> (B, C) the styles' vectors of ``OnlineConfig.style_bias``
    (BOS: the corpus's, row 0; style i's start token: row 1 + i)."""
    assert model.style_bias is not None
    vocab = model.spec.vocab_size
    rows = torch.where(first >= vocab, first - vocab + 1, torch.zeros_like(first))
    return model.style_bias(rows)


def stream_style(model: OnlineModel, first: torch.Tensor,
                 cache: KVCache | None) -> torch.Tensor:
    """(B, C) the style vectors of streams whose first tokens are ``first`` (B,) when they
    open here (no cache, or an empty one, which then keeps them); else the cache's."""
    if cache is None or cache.length == 0:
        style = style_vectors(model, first)
        if cache is not None:
            cache.style = style
        return style
    assert cache.style is not None
    return cache.style


def with_style(model: OnlineModel, style: str, bias: bool = False) -> OnlineModel:
    """``model`` with one more style, its start token embedded as a copy of BOS (so it
    plays as before until training moves it); with ``bias``, also with the styles'
    vectors of ``OnlineConfig.style_bias`` (zero where new). The model itself if it
    has them already."""
    has_style = style in model.config.styles or style == CORPUS
    has_bias = model.config.style_bias or not bias
    if has_style and has_bias:
        return model
    styles = model.config.styles if has_style else (*model.config.styles, style)
    config = replace(model.config, styles=styles, style_bias=model.config.style_bias or bias)
    grown = OnlineModel(model.spec, config).to(model.head.weight.device)
    state = model.state_dict()
    if not has_style:
        state["embed.weight"] = torch.cat([state["embed.weight"],
                                           state["embed.weight"][BOS:BOS + 1]])
    if config.style_bias:
        vectors = state.get("style_bias.weight", grown.style_bias.weight.detach())
        if vectors.shape[0] < 1 + len(styles):  # the new style starts as the corpus's
            vectors = torch.cat([vectors, vectors[:1]])
        state["style_bias.weight"] = vectors
    grown.load_state_dict(state)
    return grown.train(model.training)
