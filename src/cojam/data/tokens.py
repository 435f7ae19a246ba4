"""The frame grid and the token vocabulary shared by every model.

Time is cut into frames of a sixteenth note (``FRAMES_PER_BEAT`` = 4). Each frame holds
one melody token and one chord token, all in one id space:

    0 PAD | 1 BOS | melody: silence, on(p), hold(p) for p in [min_pitch, max_pitch]
          | chords: silence, on(c), hold(c) for c in the spec's chord list

Onset and hold are distinct, so a re-attacked note or chord is representable. Layouts:
- online: ``[BOS, c1, m1, c2, m2, ...]`` — the chord of frame t comes before the melody
  of frame t, so a model predicting c_t has heard the melody only up to t-1;
- offline: the melody row for an encoder, the chord row for a decoder.

Decoding frames back to a ``Song`` is exact for songs on the grid (onsets and durations
multiples of a sixteenth, a monophonic melody, within the pitch range).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from cojam.music.chords import QUALITY_NAMES, Chord, parse_chord
from cojam.music.song import ChordSpan, Note, Song

T = TypeVar("T")

FRAMES_PER_BEAT = 4
PAD, BOS = 0, 1


class TokenError(ValueError):
    """A song or token sequence that does not fit the token spec."""


@dataclass(frozen=True)
class TokenSpec:
    """The token vocabulary: a pitch range and an ordered chord list (canonical symbols)."""

    chords: tuple[str, ...]
    min_pitch: int = 21  # the 88 piano keys
    max_pitch: int = 108
    frames_per_beat: int = FRAMES_PER_BEAT
    _chord_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chords", tuple(self.chords))
        object.__setattr__(self, "_chord_index", {c: i for i, c in enumerate(self.chords)})
        if len(self._chord_index) != len(self.chords):
            raise TokenError("chord list has duplicates")

    # id layout ------------------------------------------------------------------
    @property
    def num_pitches(self) -> int:
        return self.max_pitch - self.min_pitch + 1

    @property
    def melody_silence(self) -> int:
        return 2

    @property
    def chord_silence(self) -> int:
        return 3 + 2 * self.num_pitches

    @property
    def vocab_size(self) -> int:
        return self.chord_silence + 1 + 2 * len(self.chords)

    def melody_on(self, pitch: int) -> int:
        if not self.min_pitch <= pitch <= self.max_pitch:
            raise TokenError(f"pitch {pitch} outside [{self.min_pitch}, {self.max_pitch}]")
        return 3 + 2 * (pitch - self.min_pitch)

    def melody_hold(self, pitch: int) -> int:
        return self.melody_on(pitch) + 1

    def chord_id(self, chord: Chord | str) -> int:
        symbol = chord if isinstance(chord, str) else chord.symbol
        try:
            return self._chord_index[symbol]
        except KeyError:
            raise TokenError(f"chord {symbol!r} is not in the token vocabulary") from None

    def chord_on(self, chord: Chord | str) -> int:
        return self.chord_silence + 1 + 2 * self.chord_id(chord)

    def chord_hold(self, chord: Chord | str) -> int:
        return self.chord_on(chord) + 1

    # id classification (vectorised over numpy arrays or tensors too) -----------
    def is_melody(self, token):  # noqa: ANN001, ANN201 - int, ndarray or tensor
        return (token >= self.melody_silence) & (token < self.chord_silence)

    def is_chord(self, token):  # noqa: ANN001, ANN201
        return (token >= self.chord_silence) & (token < self.vocab_size)

    def describe(self, token: int) -> str:
        """Human-readable text of one token: ``BOS``, ``m:on(60)``, ``c:hold(Am7)``."""
        if token == PAD:
            return "PAD"
        if token == BOS:
            return "BOS"
        if token == self.melody_silence:
            return "m:silence"
        if token == self.chord_silence:
            return "c:silence"
        if self.is_melody(token):
            offset = token - 3
            kind = "on" if offset % 2 == 0 else "hold"
            return f"m:{kind}({self.min_pitch + offset // 2})"
        if self.is_chord(token):
            offset = token - self.chord_silence - 1
            kind = "on" if offset % 2 == 0 else "hold"
            return f"c:{kind}({self.chords[offset // 2]})"
        raise TokenError(f"token id {token} outside the vocabulary (size {self.vocab_size})")

    def melody_token_info(self, token: int) -> tuple[str, int | None]:
        """(``silence``|``on``|``hold``, pitch) of a melody token."""
        if token == self.melody_silence:
            return "silence", None
        if not self.is_melody(token):
            raise TokenError(f"token {token} ({self.describe(token)}) is not a melody token")
        offset = token - 3
        return ("on" if offset % 2 == 0 else "hold"), self.min_pitch + offset // 2

    def chord_token_info(self, token: int) -> tuple[str, str | None]:
        """(``silence``|``on``|``hold``, chord symbol) of a chord token."""
        if token == self.chord_silence:
            return "silence", None
        if not self.is_chord(token):
            raise TokenError(f"token {token} ({self.describe(token)}) is not a chord token")
        offset = token - self.chord_silence - 1
        return ("on" if offset % 2 == 0 else "hold"), self.chords[offset // 2]

    # persistence ---------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "frames_per_beat": self.frames_per_beat,
            "min_pitch": self.min_pitch,
            "max_pitch": self.max_pitch,
            "chords": list(self.chords),
            "vocab_size": self.vocab_size,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TokenSpec:
        return cls(
            chords=tuple(data["chords"]),
            min_pitch=data["min_pitch"],
            max_pitch=data["max_pitch"],
            frames_per_beat=data.get("frames_per_beat", FRAMES_PER_BEAT),
        )

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> TokenSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))


def chord_vocabulary(chords: Sequence[Chord], transpositions: bool = True) -> tuple[str, ...]:
    """Sorted canonical symbols of ``chords``, closed under all 12 transpositions if asked
    (so that transposition augmentation never meets an unknown chord)."""
    found = set(chords)
    if transpositions:
        found = {c.transpose(k) for c in found for k in range(12)}
    return tuple(
        c.symbol
        for c in sorted(
            found,
            key=lambda c: (
                c.root,
                QUALITY_NAMES.index(c.quality),
                -1 if c.bass is None else c.bass,
            ),
        )
    )


# ------------------------------------------------------------------ song <-> frames


def _to_frame(beats: float, spec: TokenSpec) -> int:
    return int(round(beats * spec.frames_per_beat))


def song_to_frames(song: Song, spec: TokenSpec) -> tuple[np.ndarray, np.ndarray]:
    """A song as two int arrays (melody, chords) of one token per frame.

    Onsets and ends are rounded to the nearest frame; a note or chord shorter than a frame
    after rounding still takes one frame, so the song may end a frame after its last end
    (a last chord shorter than an eighth of a beat rounds to start where the song ends).
    A later onset cuts the sounding note or chord. Raises ``TokenError`` for a pitch out
    of range or a chord not in the vocabulary.
    """
    events = (*song.notes, *song.chords)
    num_frames = max([_to_frame(song.length_beats, spec), 1,
                      *(_to_frame(e.onset, spec) + 1 for e in events)])
    melody = np.full(num_frames, spec.melody_silence, dtype=np.int64)
    chords = np.full(num_frames, spec.chord_silence, dtype=np.int64)
    for note in song.notes:
        _write_run(melody, note.onset, note.end, spec.melody_on(note.pitch), spec)
    for span in song.chords:
        _write_run(chords, span.onset, span.end, spec.chord_on(span.chord), spec)
    return melody[:num_frames], chords[:num_frames]


def _write_run(row: np.ndarray, onset: float, end: float, on: int, spec: TokenSpec) -> None:
    """Write one note or chord into a stream's tokens: its attack ``on`` on the onset's
    frame, its hold (``on + 1``) to the end (at least one frame)."""
    start = _to_frame(onset, spec)
    row[start:max(_to_frame(end, spec), start + 1)] = on + 1
    row[start] = on


def _runs(tokens: Sequence[int], info: Callable[[int], tuple[str, T]], silence: int,
          stream: str, noun: str, strict: bool) -> list[tuple[int, int, T]]:
    """(start frame, end frame, value) of each note or chord in one stream's tokens
    (``info``: a token's kind and value). A hold that continues nothing raises
    ``TokenError`` when ``strict``, else it starts a new run."""
    runs: list[tuple[int, int, T]] = []
    current: tuple[int, T] | None = None  # (start frame, value)
    for t, token in enumerate([*list(tokens), silence]):
        kind, value = info(int(token))
        if kind == "hold" and current is not None and current[1] == value:
            continue
        if current is not None:
            runs.append((current[0], t, current[1]))
            current = None
        if kind == "hold" and strict:
            raise TokenError(f"{stream} frame {t}: hold({value}) continues no sounding {noun}")
        if kind != "silence":
            current = (t, value)
    return runs


def frames_to_melody(melody: Sequence[int], spec: TokenSpec, strict: bool = True) -> list[Note]:
    """Melody tokens back to notes. A hold that continues nothing raises ``TokenError``
    when ``strict``, else it starts a note (the rule reward counts such holds)."""
    step = 1 / spec.frames_per_beat
    return [Note(onset=start * step, duration=(end - start) * step, pitch=pitch)
            for start, end, pitch in _runs(melody, spec.melody_token_info, spec.melody_silence,
                                           "melody", "note", strict)]


def frames_to_chords(
    chords: Sequence[int], spec: TokenSpec, strict: bool = True
) -> list[ChordSpan]:
    """Chord tokens back to chord spans (see ``frames_to_melody`` for ``strict``)."""
    step = 1 / spec.frames_per_beat
    spans = []
    for start, end, symbol in _runs(chords, spec.chord_token_info, spec.chord_silence,
                                    "chord", "chord", strict):
        chord = parse_chord(symbol)
        assert chord is not None
        spans.append(ChordSpan(onset=start * step, duration=(end - start) * step, chord=chord))
    return spans


def frames_to_song(
    melody: Sequence[int],
    chords: Sequence[int],
    spec: TokenSpec,
    song_id: str = "generated",
    source: str = "tokens",
    time_signature: tuple[int, int] = (4, 4),
    strict: bool = True,
) -> Song:
    return Song(
        song_id=song_id,
        source=source,
        time_signature=time_signature,
        notes=tuple(frames_to_melody(melody, spec, strict)),
        chords=tuple(frames_to_chords(chords, spec, strict)),
    )


# ------------------------------------------------------------------------- layouts


def interleave(melody: np.ndarray, chords: np.ndarray) -> np.ndarray:
    """Online layout ``[BOS, c1, m1, c2, m2, ...]`` (length 1 + 2T)."""
    if melody.shape != chords.shape:
        raise TokenError(f"melody {melody.shape} and chords {chords.shape} differ in length")
    seq = np.empty(1 + 2 * len(melody), dtype=np.int64)
    seq[0] = BOS
    seq[1::2] = chords
    seq[2::2] = melody
    return seq


def deinterleave(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``interleave``: (melody, chords); a trailing chord without its melody
    frame is dropped."""
    if len(seq) == 0 or seq[0] != BOS:
        raise TokenError("online sequence must start with BOS")
    body = np.asarray(seq[1:])
    frames = len(body) // 2
    return body[1 : 2 * frames : 2].copy(), body[0 : 2 * frames : 2].copy()


def offline_layout(melody: np.ndarray, chords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offline layout: (encoder input = melody frames, decoder target = ``[BOS] + chords``)."""
    return melody.copy(), np.concatenate([[BOS], chords]).astype(np.int64)


def bar_windows(num_frames: int, frames_per_bar: int, max_frames: int) -> list[tuple[int, int]]:
    """Cut ``num_frames`` into consecutive windows of whole bars, each at most ``max_frames``.

    Windows start and end on bar lines and do not overlap; when one bar is longer than
    ``max_frames`` the windows are ``max_frames`` long instead.
    """
    if num_frames <= max_frames:
        return [(0, num_frames)]
    bars = max_frames // frames_per_bar if frames_per_bar > 0 else 0
    stride = bars * frames_per_bar if bars else max_frames
    return [(s, min(s + stride, num_frames)) for s in range(0, num_frames, stride)]
