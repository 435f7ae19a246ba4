"""Helpers for learning-from-sessions tests: a tiny accompanist and a tiny melody agent
sharing one vocabulary (randomly initialised: the plumbing is under test, not the music)."""

from __future__ import annotations

import torch

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.music.chords import parse_chord

CHORDS = ("C", "Dm", "Em", "F", "G", "Am", "G7", "Bdim", "C/E", "Fmaj7", "Dm7")
SPEC = TokenSpec(min_pitch=48, max_pitch=84,
                 chords=chord_vocabulary([parse_chord(c) for c in CHORDS],
                                         transpositions=False))


def tiny(role: str = "accompanist", seed: int = 0, dropout: float = 0.1) -> OnlineModel:
    torch.manual_seed(seed)
    config = OnlineConfig(role=role, d_model=32, n_layers=2, n_heads=2, mlp_ratio=2,
                          dropout=dropout, max_frames=128)
    return OnlineModel(SPEC, config).eval()
