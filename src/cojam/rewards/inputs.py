"""What a learned reward model sees of a (melody, chords) pair.

Two reductions, both lookups on token ids so they run inside a model's forward pass:

- ``repair_holds``: a hold that continues nothing (a window cut mid-chord, a time-shifted
  or tiled negative, a policy's dangling hold) becomes the onset of its pitch or chord.
  Why: otherwise "starts with a hold" or "has a hold at a seam" tells real pairs from
  constructed negatives, a shortcut that says nothing about music. Invalid holds in a
  policy's output are the rule rewards' business (``rules.invalid_holds``).
- ``rhythm_reduce``: every token to one of three classes per stream (silence, onset,
  hold), pitch and chord identity removed, for the rhythm reward models:

      0 PAD | 1 melody silence | 2 melody onset | 3 melody hold
            | 4 chord silence  | 5 chord onset  | 6 chord hold
"""

from __future__ import annotations

import torch

from cojam.data.tokens import PAD, TokenSpec

RHYTHM_VOCAB = 7
MELODY_SILENCE, MELODY_ON, MELODY_HOLD = 1, 2, 3
CHORD_SILENCE, CHORD_ON, CHORD_HOLD = 4, 5, 6


def repair_holds(tokens: torch.Tensor, spec: TokenSpec) -> torch.Tensor:
    """(B, T) rows of one stream (melody or chords, PAD after the end) with every hold
    that does not continue the same pitch or chord turned into its onset."""
    is_melody = spec.is_melody(tokens) & (tokens != spec.melody_silence)
    is_chord = spec.is_chord(tokens) & (tokens != spec.chord_silence)
    base = torch.where(is_melody, 3, spec.chord_silence + 1)
    offset = tokens - base  # on = base + 2i, hold = base + 2i + 1
    sounding = is_melody | is_chord
    identity = torch.where(sounding, tokens - offset % 2, -1)  # (B, T) the onset id, or -1
    previous = torch.cat([torch.full_like(identity[:, :1], -1), identity[:, :-1]], dim=1)
    dangling = sounding & (offset % 2 == 1) & (previous != identity)
    return torch.where(dangling, tokens - 1, tokens)


def rhythm_table(spec: TokenSpec) -> torch.Tensor:
    """(vocab_size,) long: token id -> rhythm class (BOS and PAD -> PAD)."""
    table = torch.full((spec.vocab_size,), PAD, dtype=torch.long)
    table[spec.melody_silence] = MELODY_SILENCE
    table[3 : spec.chord_silence : 2] = MELODY_ON
    table[4 : spec.chord_silence : 2] = MELODY_HOLD
    table[spec.chord_silence] = CHORD_SILENCE
    table[spec.chord_silence + 1 :: 2] = CHORD_ON
    table[spec.chord_silence + 2 :: 2] = CHORD_HOLD
    return table


def rhythm_reduce(tokens: torch.Tensor, spec: TokenSpec) -> torch.Tensor:
    """Rows of melody or chord tokens (any shape) -> rhythm classes (same shape)."""
    return rhythm_table(spec).to(tokens.device)[tokens]
