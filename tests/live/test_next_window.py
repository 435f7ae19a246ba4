"""The window a long session moves to, prepared after its answers (``next_window``)."""

from __future__ import annotations

import torch
from live_helpers import melody, play, settings, tiny_model

from cojam.live.engine import JamSession
from cojam.live.next_window import NextWindow
from cojam.models.row_cache import serve_alone


def test_feeding_waits_for_enough_frames_and_holds_a_one_pass_prefill(model):
    """Fed in pieces, the window's cache holds what prefilling its tokens at once would."""
    spec = model.spec
    chords = [spec.chord_on("C")] + [spec.chord_hold("C")] * 11
    real = [spec.melody_on(60 + i % 5) if i % 2 == 0 else spec.melody_hold(60 + (i - 1) % 5)
            for i in range(12)]
    window = NextWindow(model.new_cache(1))
    window.reset(2)
    serve_alone(window.feeding(chords, real, final=5, min_frames=4), model)
    assert window.end == 2 and window.cache.length == 0  # 3 frames: not yet
    serve_alone(window.feeding(chords, real, final=7, min_frames=4), model)
    serve_alone(window.feeding(chords, real, final=12, min_frames=4), model)
    assert window.end == 12 and window.cache.length == len(window.tokens) == 21
    assert window.tokens[1:3] == [chords[2], real[2]]

    once = model.new_cache(1)
    with torch.inference_mode():
        model(torch.tensor([window.tokens]), once)
    for pieces, whole in zip(window.cache.keys + window.cache.values,
                             once.keys + once.values, strict=True):
        torch.testing.assert_close(pieces[:, :, :21], whole[:, :, :21], atol=1e-5, rtol=1e-5)


def test_a_clock_that_jumps_past_the_prepared_window_still_plans_as_recomputing():
    """A tick that jumps far moves the window with nothing prepared for it (or with a
    window prepared from the wrong bar line): it is prefilled, and the plans are those of
    recomputing everything (greedy)."""
    small = tiny_model(max_frames=48)
    notes = melody(5, 40, start=1)
    options = settings(temperature=0.0, lookahead=2, commit=1, beats_per_bar=2, count_in=1)
    prefilled_moves = set()
    for step in (0.5, 3.0):
        cached = play(JamSession(small, options, replan_budget=None), notes, until=40,
                      step=step, extend=True)
        recomputed = play(JamSession(small, options, reuse_cache=False), notes, until=40,
                          step=step)
        assert [p.chords for p in cached] == [p.chords for p in recomputed]
        moves = [p.report.prefilled for p in cached if p.report.moved]
        assert len(moves) >= 2
        prefilled_moves.update(moves)
    assert prefilled_moves == {True, False}  # taken over, and prefilled after a jump
