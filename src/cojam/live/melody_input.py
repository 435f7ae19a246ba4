"""Note events stamped in beats -> one melody token per frame, final once the clock passes.

The musician's notes arrive as note-on/note-off events while the clock runs. A frame's
melody token can only be fixed once the clock has passed the whole frame (a note may
still start inside it); ``finalize(frames)`` fixes every frame before ``frames``.

Rules (the protocol spec repeats them for client authors):
- a note-on at beat b lands in frame ``floor(b * 4)``; a note-off at beat e ends the note
  at frame ``round(e * 4)``, and a note lasts at least one frame;
- an event stamped inside a frame that is already final is moved to the first frame that
  is not (a late note is played late, never lost, and never rewrites the past);
- the model's melody is monophonic: when notes overlap, the most recent onset sounds;
  when it ends and an older note is still held, the older one sounds again (re-attacked);
- a note-on of a pitch that is already held re-attacks it; a note-off of a pitch that is
  not held is ignored (its note-on may have been refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cojam.data.tokens import TokenSpec


class MelodyInputError(ValueError):
    """An event the melody cannot take (a pitch outside the model's range)."""


@dataclass
class _HeldNote:
    pitch: int
    onset: int  # frame
    end: int | None  # frame after the last one; None while the key is down
    order: int  # arrival order, to break ties between onsets in the same frame


class MelodyInput:
    """Collects note events and turns them into final melody tokens frame by frame."""

    def __init__(self, spec: TokenSpec):
        self.spec = spec
        self.final_frames = 0  # frames < final_frames have a fixed token
        self._notes: list[_HeldNote] = []
        self._order = 0
        self._sounding: _HeldNote | None = None  # the note of the last final frame

    def _frame(self, beat: float, rounding: str) -> int:
        scaled = beat * self.spec.frames_per_beat
        frame = math.floor(scaled) if rounding == "floor" else int(round(scaled))
        return max(frame, self.final_frames)

    def _check_pitch(self, pitch: int) -> None:
        if not self.spec.min_pitch <= pitch <= self.spec.max_pitch:
            raise MelodyInputError(
                f"pitch {pitch} is outside the model's range "
                f"[{self.spec.min_pitch}, {self.spec.max_pitch}]"
            )

    def note_on(self, pitch: int, beat: float) -> None:
        self._check_pitch(pitch)
        onset = self._frame(beat, "floor")
        self._release(pitch, onset)
        self._order += 1
        self._notes.append(_HeldNote(pitch, onset, None, self._order))

    def note_off(self, pitch: int, beat: float) -> None:
        """Refused like ``note_on`` outside the range (no such note can be held)."""
        self._check_pitch(pitch)
        self._release(pitch, self._frame(beat, "round"))

    def _release(self, pitch: int, frame: int) -> None:
        for note in self._notes:
            if note.pitch == pitch and note.end is None:
                note.end = max(frame, note.onset + 1, self.final_frames)

    def finalize(self, frames: int) -> list[int]:
        """Fix the tokens of frames ``final_frames .. frames-1`` and return them."""
        tokens = []
        for frame in range(self.final_frames, frames):
            candidates = [
                n for n in self._notes if n.onset <= frame and (n.end is None or frame < n.end)
            ]
            note = max(candidates, key=lambda n: (n.onset, n.order), default=None)
            if note is None:
                tokens.append(self.spec.melody_silence)
            elif note is self._sounding and frame != note.onset:
                tokens.append(self.spec.melody_hold(note.pitch))
            else:
                tokens.append(self.spec.melody_on(note.pitch))
            self._sounding = note
        self.final_frames = max(self.final_frames, frames)
        self._notes = [n for n in self._notes if n.end is None or n.end > self.final_frames]
        return tokens
