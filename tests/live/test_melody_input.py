"""Note events -> final melody frames: the rules the protocol spec promises clients."""

from __future__ import annotations

import pytest

from cojam.data.tokens import TokenSpec
from cojam.live.melody_input import MelodyInput, MelodyInputError

SPEC = TokenSpec(chords=("C",), min_pitch=48, max_pitch=84)
REST, ON, HOLD = SPEC.melody_silence, SPEC.melody_on, SPEC.melody_hold


def test_onset_floors_end_rounds_and_a_note_lasts_a_frame():
    melody = MelodyInput(SPEC)
    melody.note_on(60, 0.3)  # frame 1
    melody.note_off(60, 0.9)  # round(3.6) = 4
    melody.note_on(62, 1.2)  # frame 4
    melody.note_off(62, 1.21)  # shorter than a frame: still one
    assert melody.finalize(6) == [REST, ON(60), HOLD(60), HOLD(60), ON(62), REST]


def test_a_held_note_holds_until_released():
    melody = MelodyInput(SPEC)
    melody.note_on(60, 0.0)
    assert melody.finalize(3) == [ON(60), HOLD(60), HOLD(60)]
    melody.note_off(60, 1.0)
    assert melody.finalize(5) == [HOLD(60), REST]


def test_late_events_land_in_the_first_open_frame():
    melody = MelodyInput(SPEC)
    assert melody.finalize(4) == [REST] * 4
    melody.note_on(60, 0.5)  # frame 2 is final: played late, at frame 4
    melody.note_off(60, 0.6)
    assert melody.finalize(6) == [ON(60), REST]


def test_the_latest_onset_sounds_and_an_older_held_note_comes_back():
    melody = MelodyInput(SPEC)
    melody.note_on(60, 0.0)
    melody.note_on(64, 0.5)  # frame 2
    melody.note_off(64, 1.0)
    assert melody.finalize(6) == [ON(60), HOLD(60), ON(64), HOLD(64), ON(60), HOLD(60)]


def test_reattack_and_stray_note_off():
    melody = MelodyInput(SPEC)
    melody.note_off(70, 0.0)  # nothing held: ignored
    melody.note_on(60, 0.0)
    melody.note_on(60, 0.5)
    assert melody.finalize(4) == [ON(60), HOLD(60), ON(60), HOLD(60)]


def test_pitch_outside_the_model_range():
    with pytest.raises(MelodyInputError, match="outside the model's range"):
        MelodyInput(SPEC).note_on(40, 0.0)
