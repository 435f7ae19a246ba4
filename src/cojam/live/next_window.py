"""The model window a long session moves to next, prepared after its answers.

The model reads at most ``max_frames`` frames, so a long session moves its window to a
later bar line every ~``max_frames / 2`` frames (``cojam.live.engine``). Prefilling the
moved window in one pass cost the tick that needed it 18-20 ms on one session, and
sessions that started together all moved on the same frame. Yet the moved window's
sequence is known long before it is needed: up to the present it holds only final
frames (the real melody and the committed chords), which never change. So after each
answer the session feeds the frames that became final since into a second cache, a bar
or more at a time (``feeding``); when the window moves, the decoder takes that sequence
over and feeds only the frames that became final after the last feed.

The tokens are the same as prefilling would give: the same sequence from the same bar
line, its keys and values computed in a few passes instead of one (equal up to float
rounding).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import torch

from cojam.data.tokens import BOS
from cojam.models.row_cache import Forward
from cojam.models.transformer import KVCache


@dataclass
class NextWindow:
    """The sequence ``[first, c, m, c, m, ...]`` of final frames from frame ``start`` on,
    every token fed to ``cache`` (``first``: BOS or the session's style's start token)."""

    cache: KVCache
    first: int = BOS
    start: int | None = None
    tokens: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = [self.first]

    @property
    def end(self) -> int:
        """The first frame not in the sequence yet (``start`` when it is empty)."""
        assert self.start is not None
        return self.start + (len(self.tokens) - 1) // 2

    def reset(self, start: int | None) -> None:
        """Begin again, empty, at frame ``start`` (None: no window is being prepared)."""
        self.start = start
        self.tokens = [self.first]
        self.cache.truncate(0)

    def feeding(self, chords: list[int], real: list[int], final: int, min_frames: int
                ) -> Generator[Forward, torch.Tensor, None]:
        """Feed frames ``end .. final`` (their committed chord and real melody) in one
        model call, when there are at least ``min_frames`` of them and they fit."""
        if self.start is None or final - self.end < min_frames:
            return
        new = [token for frame in range(self.end, final)
               for token in (chords[frame], real[frame])]
        if len(self.tokens) + len(new) > self.cache.max_len:
            return
        unfed = self.tokens[self.cache.length :]  # the first token, on the first feed
        yield Forward(self.cache, unfed + new)  # its logits are not needed
        self.tokens += new
