"""Reward model inputs: hold repair and the rhythm reduction, on hand-made rows."""

import torch

from cojam.data.tokens import PAD, TokenSpec, chord_vocabulary
from cojam.music.chords import parse_chord
from cojam.rewards.inputs import (
    CHORD_HOLD,
    CHORD_ON,
    CHORD_SILENCE,
    MELODY_HOLD,
    MELODY_ON,
    MELODY_SILENCE,
    repair_holds,
    rhythm_reduce,
)

SPEC = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in ("C", "G7")]))
C_ON, C_HOLD = SPEC.chord_on("C"), SPEC.chord_hold("C")
G_ON, G_HOLD = SPEC.chord_on("G7"), SPEC.chord_hold("G7")
M_ON, M_HOLD = SPEC.melody_on(60), SPEC.melody_hold(60)
N = SPEC.chord_silence


def test_dangling_holds_become_onsets_and_valid_holds_stay():
    chords = torch.tensor([[C_HOLD, C_HOLD, G_HOLD, G_HOLD, N, G_HOLD, PAD]])
    repaired = repair_holds(chords, SPEC)
    assert repaired.tolist() == [[C_ON, C_HOLD, G_ON, G_HOLD, N, G_ON, PAD]]
    melody = torch.tensor([[M_HOLD, M_HOLD, SPEC.melody_hold(62), SPEC.melody_silence, M_ON,
                            M_HOLD]])
    assert repair_holds(melody, SPEC).tolist() == [[M_ON, M_HOLD, SPEC.melody_on(62),
                                                    SPEC.melody_silence, M_ON, M_HOLD]]


def test_rhythm_reduction_keeps_only_silence_onset_hold():
    melody = torch.tensor([[M_ON, M_HOLD, SPEC.melody_silence, SPEC.melody_on(72), PAD]])
    chords = torch.tensor([[C_ON, C_HOLD, N, G_ON, PAD]])
    assert rhythm_reduce(melody, SPEC).tolist() == [[MELODY_ON, MELODY_HOLD, MELODY_SILENCE,
                                                     MELODY_ON, PAD]]
    assert rhythm_reduce(chords, SPEC).tolist() == [[CHORD_ON, CHORD_HOLD, CHORD_SILENCE,
                                                     CHORD_ON, PAD]]
    # Every token of the vocabulary lands in exactly one class; transposition is invisible.
    every = torch.arange(SPEC.vocab_size)
    classes = rhythm_reduce(every, SPEC)
    assert ((classes >= 1) & (classes <= 6)).sum() == SPEC.vocab_size - 2  # PAD, BOS -> 0
    assert rhythm_reduce(torch.tensor([SPEC.chord_on("D")]), SPEC).item() == CHORD_ON
