"""The offline teacher: a bidirectional encoder over the whole melody and a causal decoder
over the chords that cross-attends to it.

It sees the future melody, so it is not playable live; it is the upper reference the
online model is measured against and later distilled from. Both stacks are the same
``Block`` as the online model (``causal=False`` for the encoder, ``cross=True`` for the
decoder). Decoder input is ``[BOS, c1, ..., c_{T-1}]``; step t predicts chord t and has
rotary position t, the same as melody frame t in the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cojam.data.tokens import BOS, PAD, TokenSpec
from cojam.models.transformer import BlockConfig, KVCache, Stack, init_weights


@dataclass(frozen=True)
class TeacherConfig:
    """Sizes of the offline teacher."""

    d_model: int = 128
    """width of the residual stream (encoder and decoder)"""
    n_encoder_layers: int = 3
    """bidirectional blocks over the melody"""
    n_decoder_layers: int = 3
    """causal blocks over the chords, each with cross-attention to the melody"""
    n_heads: int = 4
    """attention heads per block"""
    mlp_ratio: int = 4
    """MLP hidden width as a multiple of d_model"""
    dropout: float = 0.1
    """dropout on embeddings and residual branches"""
    max_frames: int = 256
    """longest window in frames"""

    def __post_init__(self) -> None:
        BlockConfig(self.d_model, self.n_heads)  # checks that the heads split d_model


class TeacherModel(nn.Module):
    """Melody encoder + chord decoder with one shared token embedding."""

    def __init__(self, spec: TokenSpec, config: TeacherConfig):
        super().__init__()
        self.spec = spec
        self.config = config
        block = BlockConfig(config.d_model, config.n_heads, config.mlp_ratio, config.dropout)
        self.embed = nn.Embedding(spec.vocab_size, config.d_model, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = Stack(block, config.n_encoder_layers, causal=False)
        self.decoder = Stack(block, config.n_decoder_layers, causal=True, cross=True)
        self.head = nn.Linear(config.d_model, spec.vocab_size, bias=False)
        init_weights(self, config.n_encoder_layers + config.n_decoder_layers)

    def encode(self, melody: torch.Tensor) -> torch.Tensor:
        """(B, T) melody frames (PAD after the end) -> (B, T, C) memory."""
        x = self.dropout(self.embed(melody))  # (B, T, C)
        return self.encoder(x, key_mask=melody != PAD)

    def forward(
        self,
        melody: torch.Tensor,  # (B, S) the whole melody
        chords_in: torch.Tensor,  # (B, T) [BOS, c1, ...] (or the next steps, with a cache)
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """(B, T, V) logits of the chord at each decoder step. With a cache the melody is
        encoded on the first call only and ``chords_in`` continues at ``cache.length``."""
        memory = None if cache is not None and cache.cross else self.encode(melody)
        x = self.dropout(self.embed(chords_in))  # (B, T, C)
        x = self.decoder(x, cache=cache, memory=memory, memory_mask=melody != PAD)
        return self.head(x)  # (B, T, V)

    def new_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        weight = self.head.weight
        return self.decoder.new_cache(batch_size, max_len or self.config.max_frames,
                                      weight.device, weight.dtype)

    def frame_logits(self, melody: torch.Tensor, chords: torch.Tensor) -> torch.Tensor:
        """Teacher-forced (B, T, V) logits predicting each frame's chord."""
        device = self.head.weight.device
        melody, chords = torch.as_tensor(melody).to(device), torch.as_tensor(chords).to(device)
        bos = torch.full_like(chords[:, :1], BOS)
        return self(melody, torch.cat([bos, chords[:, :-1]], dim=1))
