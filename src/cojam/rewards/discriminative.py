"""Discriminative reward: is this (melody, chords) pair real or constructed?

One ``PooledEncoder`` reads the joint sequence (per frame, the sum of the melody and the
chord embedding: the two ids never collide, and a sum keeps the sequence T long where
interleaving would double it) and a linear head gives the logit of "real". Training is
binary cross-entropy, real pairs against the negatives of ``negatives.py`` (one per real
pair, of a kind drawn at random). The reward is log P(real) = log sigmoid(logit): it keeps
ranking pairs the model is sure are fake (a probability would flatten to 0 there) and is
bounded above by 0, so a policy cannot push it without limit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cojam.data.tokens import TokenSpec
from cojam.rewards.encoder import PooledEncoder, RewardConfig


class DiscriminativeReward(nn.Module):
    """A joint encoder and a real/fake head; ``forward`` is the reward."""

    def __init__(self, spec: TokenSpec, config: RewardConfig):
        super().__init__()
        self.spec = spec
        self.config = config
        self.encoder = PooledEncoder(spec, config)
        self.head = nn.Linear(config.d_model, 1)

    def logits(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
               ) -> torch.Tensor:
        """(B, T) rows and mask -> (B,) logit of "real"."""
        return self.head(self.encoder([melody, chords], mask)).squeeze(-1)

    def forward(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
                ) -> torch.Tensor:
        """(B, T) rows and mask -> (B,) log P(real)."""
        return F.logsigmoid(self.logits(melody, chords, mask))

    def loss(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
             real: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Binary cross-entropy against ``real`` (B,) bool; (loss, metrics to log)."""
        logits = self.logits(melody, chords, mask)
        loss = F.binary_cross_entropy_with_logits(logits, real.float())
        accuracy = ((logits > 0) == real).float().mean().item()
        return loss, {"accuracy/train": accuracy}
