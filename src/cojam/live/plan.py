"""A chord plan: frame tokens -> the chord spans a ``plan`` message carries.

A plan covers the frames from the tick's frame to the end of the lookahead. Its first
span is the one sounding at the tick, with its true onset (which may lie before the
tick); consecutive silent frames form one ``"N"`` span. A span is committed when its
onset frame is committed (those frames never change again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cojam.data.tokens import TokenSpec
from cojam.music.chords import NO_CHORD


@dataclass(frozen=True)
class PlannedChord:
    """One span of a plan, timed in beats (``symbol`` is ``"N"`` for no chord)."""

    symbol: str
    onset: float
    duration: float
    committed: bool

    def to_dict(self) -> dict:
        return asdict(self)


def chord_info(spec: TokenSpec, token: int) -> tuple[str, str | None]:
    """``spec.chord_token_info(token)``, looked up in a table built once per vocabulary
    (a plan reads every frame's token on every tick of every session; keyed by the
    vocabulary's identity, since hashing one hashes its whole chord list)."""
    entry = _INFO.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = _INFO[id(spec)] = (spec, {t: spec.chord_token_info(t)
                                          for t in range(spec.chord_silence, spec.vocab_size)})
    info = entry[1].get(token)
    return spec.chord_token_info(token) if info is None else info  # None: raises


_INFO: dict[int, tuple[TokenSpec, dict[int, tuple[str, str | None]]]] = {}


def starts_span(spec: TokenSpec, token: int, previous: int | None) -> bool:
    """Whether a frame with chord ``token`` begins a new span after ``previous``.

    An onset always does; a hold never does (it continues the chord before it); silence
    does only after a chord (a run of silence is one ``"N"`` span)."""
    if previous is None:
        return True
    if token == spec.chord_silence:
        return previous != spec.chord_silence
    kind, _ = chord_info(spec, token)
    return kind == "on"


def chord_symbol(spec: TokenSpec, token: int) -> str:
    _, symbol = chord_info(spec, token)
    return NO_CHORD if symbol is None else symbol


def chord_spans(
    spec: TokenSpec,
    chords: Sequence[int],
    first_frame: int,
    first_onset: int,
    committed_frames: int,
) -> list[PlannedChord]:
    """Spans of the chord tokens ``chords`` of frames ``first_frame ..``.

    ``first_onset`` is the onset frame of the span sounding at ``first_frame``; spans are
    committed when their onset frame is below ``committed_frames``. The last span is
    cut where ``chords`` ends.
    """
    step = 1 / spec.frames_per_beat
    starts, symbols = [first_onset], [chord_symbol(spec, chords[0])]
    for offset in range(1, len(chords)):
        if starts_span(spec, chords[offset], chords[offset - 1]):
            starts.append(first_frame + offset)
            symbols.append(chord_symbol(spec, chords[offset]))
    ends = [*starts[1:], first_frame + len(chords)]
    return [
        PlannedChord(symbol, start * step, (end - start) * step, start < committed_frames)
        for symbol, start, end in zip(symbols, starts, ends, strict=True)
    ]


def continuation(spec: TokenSpec, token: int, previous: int) -> int:
    """``token`` made valid after ``previous``: a hold that continues nothing sounding
    becomes an onset of its chord (where an older plan's tail meets a newer plan)."""
    kind, symbol = chord_info(spec, token)
    if kind != "hold":
        return token
    _, previous_symbol = chord_info(spec, previous)
    return token if previous_symbol == symbol else spec.chord_on(symbol)


def held(spec: TokenSpec, token: int) -> int:
    """The token that continues ``token`` for one more frame."""
    kind, symbol = chord_info(spec, token)
    return spec.chord_hold(symbol) if kind == "on" else token


def stitch(
    spec: TokenSpec, fresh: Sequence[int], older: Sequence[int], length: int,
    first_frame: int = 0, grid: int = 1,
) -> list[int]:
    """``length`` chord tokens of frames ``first_frame ..``: ``fresh`` ones first, then the
    rest of ``older`` (an earlier plan's tokens for the same frames), then the last chord
    held; every hold made to continue what precedes it. Where ``older`` takes over off
    the harmonic rhythm's grid (a frame not a multiple of ``grid``), the fresh chord is
    held up to the next grid frame, so the seam never changes chord off the grid."""
    tokens: list[int] = []
    for index in range(length):
        if index < len(fresh):
            token = fresh[index]
        elif tokens and (first_frame + index) % grid:
            token = held(spec, tokens[-1])
        elif index < len(older):
            token = older[index]
        else:
            token = held(spec, tokens[-1])
        tokens.append(continuation(spec, token, tokens[-1]) if tokens else token)
    return tokens
