"""The sequence encoder of every learned reward model, and their shared config.

A ``PooledEncoder`` embeds one or more token rows of a pair (their embeddings summed per
frame: melody and chord ids are disjoint, so one table serves both), runs the project's
one transformer ``Stack`` bidirectionally over the frames, and mean-pools the frames
under the mask into one vector per row. Before embedding, dangling holds are repaired
and, for the rhythm models, tokens are reduced to silence/onset/hold (``inputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from cojam.data.tokens import PAD, TokenSpec
from cojam.models.transformer import BlockConfig, Stack, init_weights
from cojam.rewards.inputs import RHYTHM_VOCAB, repair_holds, rhythm_table

REWARD_KINDS = ("contrastive", "discriminative")


@dataclass(frozen=True)
class RewardConfig:
    """A learned reward model (the ``model`` object of a recipe's ``reward`` section)."""

    kind: Literal["contrastive", "discriminative"] = "contrastive"
    """contrastive (two encoders, cosine) or discriminative (one joint encoder, P(real))"""
    rhythm: bool = False
    """see only silence/onset/hold per stream (no pitch or chord identity)"""
    d_model: int = 128
    """width of the residual stream"""
    n_layers: int = 3
    """bidirectional transformer blocks per encoder"""
    n_heads: int = 4
    """attention heads per block"""
    mlp_ratio: int = 4
    """MLP hidden width as a multiple of d_model"""
    dropout: float = 0.1
    """dropout on attention weights and residual branches"""
    max_frames: int = 256
    """longest training window in frames (rotary positions need no table)"""
    embed_dim: int = 128
    """contrastive: size of the shared melody/chord embedding space"""
    temperature: float = 0.1
    """contrastive: initial InfoNCE temperature (learned from there)"""

    def __post_init__(self) -> None:
        if self.kind not in REWARD_KINDS:
            raise ValueError(f"reward kind must be one of {REWARD_KINDS}, got {self.kind!r}")


class PooledEncoder(nn.Module):
    """Token rows (B, T) each -> one vector (B, d_model) per row, mean over real frames."""

    def __init__(self, spec: TokenSpec, config: RewardConfig):
        super().__init__()
        self.spec = spec
        vocab = RHYTHM_VOCAB if config.rhythm else spec.vocab_size
        self.register_buffer("rhythm", rhythm_table(spec) if config.rhythm else None,
                             persistent=False)
        block = BlockConfig(config.d_model, config.n_heads, config.mlp_ratio, config.dropout)
        self.embed = nn.Embedding(vocab, config.d_model, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.stack = Stack(block, config.n_layers, causal=False)
        init_weights(self, config.n_layers)

    def inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) raw tokens of one stream -> (B, T) ids of this encoder's vocabulary."""
        tokens = repair_holds(tokens, self.spec)
        return tokens if self.rhythm is None else self.rhythm[tokens]

    def forward(self, rows: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """``rows``: (B, T) token rows read together; ``mask`` (B, T) real frames."""
        x = sum(self.embed(self.inputs(row)) for row in rows)  # (B, T, C)
        x = self.stack(self.dropout(x), key_mask=mask)  # (B, T, C)
        weights = mask.to(x.dtype)[..., None]  # (B, T, 1)
        return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (B, C)
