"""Keeping the model warm between ticks: a call on a scratch cache only after a while
without model work, at most once per while, and nothing a session plays changes."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
from live_helpers import jams_over_sockets

from cojam.live import warmth
from cojam.live.fair_share import FairShare
from cojam.live.server import create_app


def test_the_model_is_warmed_only_after_it_was_idle(model):
    share = FairShare(workers=2)
    warmer = warmth.Warmer(share)

    async def main() -> None:
        now = time.monotonic()
        await warmer.before(model, now)  # never used: idle
        assert warmer.calls == 1
        await warmer.before(model, now)  # warmed just now
        assert warmer.calls == 1
        warmer.last = float("-inf")
        share.idle_since = time.monotonic()  # a slice just ended
        await warmer.before(model, time.monotonic())
        assert warmer.calls == 1
        share.idle_since = float("-inf")
        share.running = 1  # a slice runs
        await warmer.before(model, time.monotonic())
        assert warmer.calls == 1
        share.running = 0
        await warmer.before(model, time.monotonic())
        assert warmer.calls == 2

    anyio.run(main)
    scratch = warmer.scratch[id(model)]
    assert scratch.length == 1  # one token, on a cache of its own


def test_the_warming_call_waits_until_shortly_before_the_tick_is_due(model):
    warmer = warmth.Warmer(FairShare(workers=1))
    due = time.monotonic() + 0.05
    anyio.run(warmer.before, model, due)
    assert time.monotonic() >= due - warmth.WARM_AHEAD_SECONDS
    assert warmer.calls == 1


def _jam_in_real_time(model, sessions_dir: Path, keep_warm: bool) -> tuple[list, int]:
    """Two sockets ticking every frame at 120 BPM (a tick every 125 ms), as a page does."""
    app = create_app({"tiny": model}, sessions_dir, keep_warm=keep_warm)
    starts = [{"lookahead": 4, "commit": 2, "count_in": 2, "listen": 0, "seed": index,
               "tempo": 120} for index in range(2)]
    plans = jams_over_sockets(app, starts, 16, frame_seconds=0.125)
    warmer = app.state.hub.warmer
    return plans, warmer.calls if warmer is not None else 0


def test_warming_between_real_time_ticks_changes_no_plan(model, tmp_path):
    warm, calls = _jam_in_real_time(model, tmp_path / "warm", keep_warm=True)
    cold, none = _jam_in_real_time(model, tmp_path / "cold", keep_warm=False)
    assert all(len(p) == 16 for p in warm)
    assert warm == cold
    assert calls > 0 and none == 0
