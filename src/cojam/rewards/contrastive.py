"""Contrastive reward: does this chord row belong with this melody?

A melody encoder and a chord encoder (``PooledEncoder`` each) map their rows into one
embedding space; training pulls each song's melody and chords together and pushes apart
the other pairs of the batch with a symmetric InfoNCE loss (as CLIP does, with a learned
temperature). The reward of a pair is the cosine similarity of its two embeddings, in
[-1, 1].

It is blind to timing by construction: melody and chords meet only as two pooled
vectors, and rotary positions are relative, so chords moved in time (the ``shifted``
negatives) keep almost the same embedding. It rewards the right key and chord material;
the discriminative model, which reads both streams frame by frame, rewards the right
moment.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cojam.data.tokens import TokenSpec
from cojam.rewards.encoder import PooledEncoder, RewardConfig

MAX_SCALE = 100.0  # CLIP's cap on the inverse temperature, against a runaway scale


def info_nce(melody: torch.Tensor, chords: torch.Tensor, log_scale: torch.Tensor,
             exclude: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE of unit embeddings ``melody``, ``chords`` (B, E) where row i of
    each is a true pair. ``exclude`` (B, B) True marks off-diagonal pairs that are not
    negatives (windows of the same song). Returns (loss, (B, B) logits)."""
    scale = log_scale.exp().clamp(max=MAX_SCALE)
    logits = scale * melody @ chords.T  # (B, B): melody i against chords j
    if exclude is not None:
        off_diagonal = exclude & ~torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(off_diagonal, float("-inf"))
    targets = torch.arange(len(logits), device=logits.device)
    loss = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    return loss, logits


class ContrastiveReward(nn.Module):
    """Two encoders and projections into a shared space; ``forward`` is the reward."""

    def __init__(self, spec: TokenSpec, config: RewardConfig):
        super().__init__()
        self.spec = spec
        self.config = config
        self.melody_encoder = PooledEncoder(spec, config)
        self.chord_encoder = PooledEncoder(spec, config)
        self.melody_projection = nn.Linear(config.d_model, config.embed_dim, bias=False)
        self.chord_projection = nn.Linear(config.d_model, config.embed_dim, bias=False)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / config.temperature)))

    def embed(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) rows -> unit melody and chord embeddings, (B, E) each."""
        m = self.melody_projection(self.melody_encoder([melody], mask))
        c = self.chord_projection(self.chord_encoder([chords], mask))
        return F.normalize(m, dim=-1), F.normalize(c, dim=-1)

    def forward(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor
                ) -> torch.Tensor:
        """(B, T) rows and mask -> (B,) cosine similarity of each pair."""
        m, c = self.embed(melody, chords, mask)
        return (m * c).sum(-1)

    def loss(self, melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
             same_song: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """InfoNCE over a batch of real pairs; (loss, metrics to log)."""
        m, c = self.embed(melody, chords, mask)
        loss, logits = info_nce(m, c, self.log_scale, same_song)
        targets = torch.arange(len(logits), device=logits.device)
        accuracy = (logits.argmax(1) == targets).float().mean().item()
        return loss, {"accuracy/train": accuracy,
                      "contrastive/temperature": 1 / self.log_scale.exp().item()}
