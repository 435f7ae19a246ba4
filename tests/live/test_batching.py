"""Sessions whose model calls share one pass plan exactly as they do alone: same seed,
same events, same plans, commitments and tokens (the engine alone is the reference),
each planning on after its answer (``extend``) as the server does."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest
import torch
from live_helpers import jams_over_sockets, melody, note_events, settings, tiny_model

import cojam.live.batching as batching
from cojam.live.batching import Batcher, extend_together, run_pass, tick_together
from cojam.live.engine import JamSession
from cojam.live.fair_share import Account, FairShare
from cojam.live.server import create_app
from cojam.models.row_cache import Forward, forward_alone, forward_together

# (settings, melody seed, beats between ticks, ticks, first round, model): different
# lookaheads, commits, temperatures (0 is greedy), grids, count-ins, tick steps (5 beats:
# ticks in slices; long sessions: the window is rebuilt), two models, late joiners
CASES = [
    (settings(seed=1), 1, 0.25, 30, 0, 0),
    (settings(seed=2, lookahead=8, commit=2, temperature=0.0), 2, 0.5, 30, 0, 0),
    (settings(seed=3, harmonic_rhythm="beat", count_in=4, listen=2, temperature=0.7), 3,
     0.25, 20, 8, 1),
    (settings(seed=4, commit=2), 4, 5.0, 10, 3, 0),
    (settings(seed=5, lookahead=6, commit=3, harmonic_rhythm="bar"), 5, 1.0, 30, 0, 0),
    (settings(seed=6, temperature=1.3, listen=4), 6, 0.75, 25, 4, 1),
]


@pytest.fixture(scope="module")
def models():
    return [tiny_model(), tiny_model(seed=1)]


class Script:
    """One session: its ticks and the notes that come before each."""

    def __init__(self, models, case):
        jam, seed, step, ticks, self.first, model = case
        self.session = JamSession(models[model], jam)
        self.beats = [step * k for k in range(ticks)]
        notes = melody(seed, self.beats[-1] + 1, start=1.0)
        self.events = note_events(notes)

    def before(self, beat: float) -> None:
        while self.events and self.events[0][0] <= beat:
            at, is_on, pitch = self.events.pop(0)
            (self.session.note_on if is_on else self.session.note_off)(pitch, at)


def record(plan) -> tuple:
    report = plan.report
    return ([(c.symbol, c.onset, c.duration, c.committed) for c in plan.chords],
            plan.new_commits, report.sampled, report.forwards, report.fed,
            report.replanned_from, report.stale_frames, report.prefilled)


def test_sessions_ticked_together_plan_exactly_as_alone(models, monkeypatch):
    alone = []
    for case in CASES:
        script = Script(models, case)
        plans = []
        for beat in script.beats:
            script.before(beat)
            plans.append(record(script.session.tick(beat)))
            script.session.extend()
        alone.append((plans, script.session))

    passes = []

    def counted(model, requests):
        passes.append(len(requests))
        return forward_together(model, requests)

    monkeypatch.setattr(batching, "forward_together", counted)
    scripts = [Script(models, case) for case in CASES]
    together: list[list[tuple]] = [[] for _ in CASES]
    rounds = max(s.first + len(s.beats) for s in scripts)
    for round_ in range(rounds):
        ticks, indices = [], []
        for index, script in enumerate(scripts):
            k = round_ - script.first
            if 0 <= k < len(script.beats):
                script.before(script.beats[k])
                ticks.append((script.session, script.beats[k]))
                indices.append(index)
        for index, plan in zip(indices, tick_together(ticks), strict=True):
            together[index].append(record(plan))
        extend_together([session for session, _ in ticks])

    for (plans, session), script, batched in zip(alone, scripts, together, strict=True):
        assert batched == plans
        assert script.session.chords == session.chords  # every commitment
        assert script.session.tokens == session.tokens  # the whole sequence, samples too
    assert any(plan[7] for plans, _ in alone for plan in plans[1:])  # a window rebuilt
    assert sum(passes) > len(passes) >= 50  # calls did share passes, many times
    assert max(passes) >= 4


def test_a_shared_pass_gives_each_request_its_own_logits_and_cache(models):
    """Requests of different lengths on caches at different lengths (empty, one token,
    a block): the logits of each, and what it leaves in its cache, are those of its own
    call up to float rounding."""
    model = models[0]
    generator = torch.Generator().manual_seed(0)
    vocab = model.spec.vocab_size

    def tokens(n: int) -> list[int]:
        return torch.randint(3, vocab, (n,), generator=generator).tolist()

    prefixes, feeds = [0, 9, 30, 1, 17], [7, 1, 24, 3, 1]
    caches = []
    for n in prefixes:
        cache = model.new_cache(1)
        if n:
            forward_alone(model, Forward(cache, tokens(n)))
        caches.append(cache)
    copies = [cache.copy() for cache in caches]
    requests = [tokens(n) for n in feeds]
    expected = [forward_alone(model, Forward(c, r)) for c, r in zip(caches, requests,
                                                                   strict=True)]
    served = forward_together(model, [Forward(c, r) for c, r in zip(copies, requests,
                                                                    strict=True)])
    for one, shared, cache, copy in zip(expected, served, caches, copies, strict=True):
        assert shared.shape == one.shape
        assert torch.allclose(shared, one, atol=1e-5)
        assert copy.length == cache.length
        for k, k_shared in zip(cache.keys, copy.keys, strict=True):
            assert torch.allclose(k[:, :, : cache.length], k_shared[:, :, : cache.length],
                                  atol=1e-5)
    with pytest.raises(ValueError, match="same cache"):
        forward_together(model, [Forward(caches[0], [3]), Forward(caches[0], [4])])


def test_sessions_waiting_for_a_pass_share_the_next_one(models, monkeypatch):
    """The server's scheduler: four sessions' ticks, each on its own task, wait behind a
    busy worker; they go on in shared passes (in lockstep while they all tick) and plan
    as they do alone."""
    sizes = []

    def counted(turns):
        sizes.append(len(turns))
        return run_pass(turns)

    monkeypatch.setattr(batching, "run_pass", counted)
    share = FairShare(workers=1)
    batcher = Batcher(share)
    held, entered = threading.Event(), threading.Event()
    scripts = [Script(models, case) for case in CASES[:4]]
    expected = []
    for case in CASES[:4]:
        alone = Script(models, case)
        plans = []
        for beat in alone.beats[:6]:
            alone.before(beat)
            plans.append(record(alone.session.tick(beat)))
            alone.session.extend()
        expected.append(plans)
    planned: list[list[tuple]] = [[] for _ in scripts]

    def hold() -> None:
        entered.set()
        assert held.wait(30)

    async def jam(index: int) -> None:
        script = scripts[index]
        for beat in script.beats[:6]:
            script.before(beat)
            plan = await batcher.tick(Account(2.0), script.session, beat)
            planned[index].append(record(plan))
            await batcher.extend(Account(2.0), script.session)

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(share.run, Account(2.0), hold)  # holds the only worker
            while not entered.is_set():
                await anyio.sleep(0.005)
            for index in range(len(scripts)):
                tasks.start_soon(jam, index)
            await anyio.sleep(0.05)
            held.set()

    anyio.run(main)
    assert planned == expected
    assert sizes[:3] == [4, 4, 4] and len(sizes) == batcher.passes
    assert not batcher.waiting and not batcher.serving and share.running == 0


def _jam_through_server(model, sessions_dir: Path, batching_on: bool, ticks: int
                        ) -> tuple[list[list[list]], dict]:
    app = create_app({"tiny": model}, sessions_dir, batching=batching_on)
    starts = [{"lookahead": 4, "commit": 2, "count_in": 2, "listen": 0, "seed": index,
               "temperature": [1.0, 0.0, 0.8, 1.0][index]} for index in range(4)]
    plans = jams_over_sockets(app, starts, ticks, beat_scales=[1, 2, 1, 2])
    batcher = app.state.hub.batcher
    counts = {"passes": batcher.passes, "calls": batcher.calls} if batcher else {}
    return plans, counts


def test_the_server_plans_the_same_with_and_without_batching(model, tmp_path):
    """Four sockets jamming at once: every plan is the one the server sends with each
    session's calls run alone (and the calls went through shared passes)."""
    batched, counts = _jam_through_server(model, tmp_path / "a", True, ticks=24)
    alone, _ = _jam_through_server(model, tmp_path / "b", False, ticks=24)
    assert all(len(p) == 24 for p in batched)
    assert batched == alone
    assert counts["calls"] >= counts["passes"] > 0
