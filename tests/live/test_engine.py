"""The session engine: commitments hold, plans cover the lookahead, seeds reproduce, the
chord of a frame never hears that frame's melody, and the cache is reused."""

from __future__ import annotations

import pytest
import torch
from live_helpers import melody, note_events, play, settings, tiny_model

from cojam.data.tokens import BOS
from cojam.live.engine import REPLAN_BUDGET, EngineError, JamSession, advance
from cojam.models.online import SONG, OnlineModel, style_token, with_style


def spans(plan) -> list[tuple]:
    return [(c.symbol, c.onset, c.duration, c.committed) for c in plan.chords]


def test_committed_chords_never_change(model):
    session = JamSession(model, settings(lookahead=4, commit=2))
    plans = play(session, melody(1, 20, start=2), until=20)
    promised: dict[float, str] = {}  # onset -> symbol shown as committed
    for plan in plans:
        shown = {c.onset: c for c in plan.chords}
        first = plan.chords[0]
        for onset, symbol in promised.items():
            covers = first.onset <= onset < plan.beat + 4
            if covers and onset >= first.onset:
                assert onset in shown, f"tick {plan.beat}: committed onset {onset} vanished"
                assert shown[onset].symbol == symbol and shown[onset].committed
        for chord in plan.chords:
            if chord.committed:
                assert promised.setdefault(chord.onset, chord.symbol) == chord.symbol
    assert sum(symbol != "N" for symbol in promised.values()) > 10


def test_commit_boundary_is_tick_plus_commit(model):
    session = JamSession(model, settings(lookahead=4, commit=2, count_in=0))
    for plan in play(session, melody(2, 12), until=12, step=0.5):
        for chord in plan.chords:
            assert chord.committed == (chord.onset < plan.beat + 2)


def test_plans_cover_the_lookahead(model):
    session = JamSession(model, settings(lookahead=5, commit=3))
    for plan in play(session, melody(3, 12), until=12, step=0.3):
        chords = plan.chords
        assert chords[0].onset <= plan.beat < chords[0].onset + chords[0].duration
        for before, after in zip(chords, chords[1:], strict=False):
            assert before.onset + before.duration == pytest.approx(after.onset)
            assert before.symbol != after.symbol or after.symbol != "N"
        last = chords[-1]
        assert last.onset + last.duration >= plan.beat + 5
        assert last.onset + last.duration < plan.beat + 5 + 0.25


def test_count_in_is_silent_and_committed(model):
    session = JamSession(model, settings(count_in=4, lookahead=6))
    first = session.tick(0.0)
    assert first.chords[0].symbol == "N" and first.chords[0].committed
    assert first.chords[0].onset == 0.0 and first.chords[0].duration >= 4.0
    assert first.new_commits[0] == ("N", 0.0)
    plans = [first, *play(session, melody(4, 8), until=8, step=0.5)[1:]]
    for plan in plans:
        for chord in plan.chords:
            if chord.onset < 4.0:
                assert chord.symbol == "N"


def test_the_model_starts_listening_when_the_count_in_ends(model):
    """Its sequence begins where the count-in ends (as a song begins), so what is played
    during the count-in changes nothing."""
    chords = []
    for notes in ([], [(67, 1.0, 2.0), (65, 2.5, 3.9)]):
        session = JamSession(model, settings(count_in=4, lookahead=2))
        play(session, [*notes, (64, 4.0, 5.0)], until=7, step=0.5)
        assert session.window_start == 16
        chords.append(session.chords)
    assert chords[0] == chords[1]


def test_same_seed_same_plans_other_seed_other_plans(model):
    notes = melody(5, 8, start=2)
    runs = {}
    for name, seed in (("first", 3), ("again", 3), ("other", 4)):
        session = JamSession(model, settings(seed=seed))
        runs[name] = [spans(p) for p in play(session, notes, until=8, step=0.5)]
    first, again, other = runs["first"], runs["again"], runs["other"]
    assert first == again
    assert first != other


@pytest.mark.parametrize("step", [0.25, 8.0], ids=["every-frame", "jumps"])
def test_no_leakage_chord_ignores_same_frame_melody(model, step):
    """Two sessions differ only in the melody from frame t on: every chord up to and
    including frame t is the same, including chords sampled inside a jumping tick."""
    for frame in (9, 22, 31):
        beat = frame / 4
        shared = [n for n in melody(6, beat, start=2) if n[2] <= beat]
        committed = []
        for pitch in (62, 71):
            session = JamSession(model, settings(lookahead=2, commit=1, count_in=2, seed=9))
            play(session, [*shared, (pitch, beat, beat + 2)], until=beat + step, step=step)
            committed.append(session.chords[: frame + 1])
        assert len(committed[0]) == frame + 1
        assert committed[0] == committed[1], f"chord at frame {frame} heard its melody"


def test_reuse_gives_the_same_greedy_plans_as_recomputing():
    """Temperature 0: cached re-planning and recomputing everything agree token for token,
    across window rebuilds (max_frames 48 with 2-beat bars)."""
    small = tiny_model(max_frames=48)
    notes = melody(7, 30, start=1)
    options = settings(temperature=0.0, lookahead=2, commit=1, beats_per_bar=2, count_in=1)
    cached = play(JamSession(small, options, replan_budget=None), notes, until=30, step=0.5)
    recomputed = play(JamSession(small, options, reuse_cache=False), notes, until=30,
                      step=0.5)
    assert [spans(p) for p in cached] == [spans(p) for p in recomputed]
    moves = [p.report for p in cached if p.report.moved]
    assert len(moves) >= 2  # the window moved, and the cached session took over the
    assert not any(r.prefilled for r in moves)  # window it had prepared each time


def test_an_answer_chooses_only_the_chords_the_harmonic_rhythm_leaves_open(model):
    """One chord per bar, ticked every frame with a two-beat commit horizon: a tick
    commits one new frame, and only when that frame is a bar line is there a chord to
    choose; every other answer needs no model call (the melody expected under the held
    chord is sampled after the answer). Free rhythm: answers do call the model."""
    notes = melody(4, 20, start=2)
    calls = {}
    for rhythm in ("bar", "free"):
        options = settings(harmonic_rhythm=rhythm, lookahead=4, commit=2)
        plans = play(JamSession(model, options), notes, until=20, extend=True)
        calls[rhythm] = [(frame, plan.report.forwards) for frame, plan in enumerate(plans)]
    assert all(forwards == 0 for frame, forwards in calls["bar"][1:] if (frame + 7) % 16)
    assert sum(forwards for _, forwards in calls["free"][1:]) > 20


def test_a_small_budget_bounds_a_tick_and_changes_no_commitment(model):
    """With one model call a tick past the commit horizon (two guesses each), a surprise
    leaves the far end of the plan to an older plan for a few ticks; what is committed is
    what a full re-plan commits (greedy), and every plan still covers the lookahead."""
    notes = melody(10, 12, start=1)
    options = settings(temperature=0.0, lookahead=4, commit=1, count_in=1)
    budgeted = JamSession(model, options, replan_budget=1, draft_tokens=2)
    plans = play(budgeted, notes, until=12)
    full = JamSession(model, options, replan_budget=None)
    play(full, notes, until=12)
    assert budgeted.chords == full.chords
    assert any(p.report.stale_frames > 0 for p in plans)
    for plan in plans[1:]:
        # at most one call per frame up to the commit horizon, then the budget
        assert plan.report.forwards <= 4 * 1 + 1 + 1
        end = plan.chords[-1].onset + plan.chords[-1].duration
        assert end >= plan.beat + 4


def test_a_tick_answers_at_its_commit_horizon_and_plans_on_after(model):
    """A tick's answer waits only for the calls up to its commit horizon; the rest of the
    plan is made after it (``extend``, as the server does between ticks), or by the next
    tick when nobody did: the same tokens and commitments either way, and every answer
    still covers the lookahead."""
    notes = melody(12, 12, start=1)
    options = settings(lookahead=4, commit=1, count_in=1)
    eager, lazy = JamSession(model, options), JamSession(model, options)
    after, pending = [], []
    events = note_events(notes)
    for frame in range(48):
        beat = frame / 4
        while events and events[0][0] <= beat:
            at, is_on, pitch = events.pop(0)
            for session in (eager, lazy):
                (session.note_on if is_on else session.note_off)(pitch, at)
        plan = eager.tick(beat)
        lazy.tick(beat)
        pending.append(eager.extension_pending)
        eager.extend()
        after.append(eager.decoder.calls - plan.report.forwards)
        assert not eager.extension_pending
        end = plan.chords[-1].onset + plan.chords[-1].duration
        assert end >= beat + 4
    lazy.extend()
    assert eager.chords == lazy.chords
    assert eager.tokens == lazy.tokens
    assert all(pending[1:])
    assert sum(after) > 0  # calls the answers did not wait for
    assert max(after) <= REPLAN_BUDGET


def test_drafting_chooses_several_tokens_per_model_call(model):
    """Verifying drafts keeps the distribution (same commitments as one token per call,
    greedy) with fewer model calls."""
    notes = melody(11, 12, start=1)
    options = settings(temperature=0.0, lookahead=4, commit=1, count_in=1)
    calls = {}
    chords = {}
    for draft in (1, 24):
        session = JamSession(model, options, replan_budget=None, draft_tokens=draft)
        calls[draft] = sum(p.report.forwards for p in play(session, notes, until=12))
        chords[draft] = session.chords
    assert chords[1] == chords[24]
    assert calls[24] < 0.75 * calls[1]  # an untrained model; a trained one: ~8x fewer


def test_a_tick_feeds_only_new_frames_and_the_replanned_part(model):
    """A tick runs only the new frames and the re-planned part through the model, however
    long the session; also when the window moves (every ~64 frames for a 128-frame
    model): the moved window was fed after earlier answers (``next_window``), so the
    move feeds at most the frames since. Recomputing runs the whole history every time."""
    lookahead_frames = 4 * 4
    notes = melody(8, 36, start=2)
    plans = play(JamSession(model, settings(lookahead=4, commit=1)), notes, until=36,
                 step=0.5)
    moves = [p for p in plans[1:] if p.report.moved]
    assert 1 <= len(moves) <= 3
    bar_frames = 16  # the window is fed a bar or more at a time
    for plan in plans[1:]:  # new frames, re-planned part and drafts only
        assert not plan.report.prefilled
        since_fed = 2 * bar_frames if plan.report.moved else 0
        assert plan.report.fed <= 3 * 2 * (lookahead_frames + 2) + since_fed
    recompute = JamSession(model, settings(lookahead=4, commit=1), reuse_cache=False)
    late = play(recompute, notes, until=24, step=4.0)[-1]
    assert late.report.prefilled and late.report.fed > 2 * 24 * 4


def silence_expecting_model() -> OnlineModel:
    """A tiny model whose every position gives the same logits, with melody silence the
    likeliest melody token: greedy, it always expects the musician to rest."""
    model = tiny_model()
    with torch.no_grad():
        direction = torch.randn(model.config.d_model)
        model.stack.norm.weight.zero_()
        model.stack.norm.bias.copy_(direction)
        model.head.weight[model.spec.melody_silence] = 10 * direction
    return model


def test_plan_is_kept_while_the_melody_is_as_expected_and_replanned_when_not():
    session = JamSession(silence_expecting_model(), settings(temperature=0.0, count_in=0))
    plans = play(session, [], until=3.75)
    assert all(p.report.replanned_from is None for p in plans[1:])
    # a tick plans its newest frame after it answers (``extending``): one stale frame
    caught_up = next(i for i, p in enumerate(plans) if p.report.stale_frames <= 1)
    assert all(p.report.sampled <= 2 for p in plans[caught_up + 1 :])
    session.note_on(64, 4.1)  # frame 16, not expected
    assert session.tick(4.0).report.replanned_from is None  # frame 16 is not final yet
    assert session.tick(4.25).report.replanned_from == 16


def test_long_session_rebuilds_on_bar_lines():
    small = tiny_model(max_frames=48)
    session = JamSession(small, settings(lookahead=2, commit=1, beats_per_bar=2))
    play(session, melody(9, 30), until=30, step=1.0)
    assert session.window_start > 0 and session.window_start % 8 == 0
    assert len(session.tokens) <= small.config.max_len


def test_bad_requests_raise_and_leave_the_session_usable(model):
    session = JamSession(model, settings())
    session.tick(4.0)
    with pytest.raises(EngineError, match="before the previous tick"):
        session.tick(3.0)
    with pytest.raises(EngineError, match="jumps more than"):
        session.tick(100.0)
    with pytest.raises(EngineError, match="outside the model's range"):
        session.note_on(10, 4.0)
    with pytest.raises(EngineError, match="ahead of the clock"):
        session.note_on(60, 40.0)
    session.note_on(60, 4.1)
    assert session.tick(4.5).beat == 4.5


def test_settings_the_model_cannot_follow(model):
    with pytest.raises(EngineError, match="too long"):
        JamSession(tiny_model(max_frames=32), settings(lookahead=8))
    with pytest.raises(EngineError, match="must not exceed"):
        JamSession(model, settings(lookahead=2, commit=3))


def test_listens_before_it_plays(model):
    """No chord before the first note has been heard, nor for `listen` beats after it;
    then it plays."""
    session = JamSession(model, settings(count_in=2, listen=4, lookahead=6, commit=2,
                                         temperature=2.0))
    plans = play(session, melody(5, 24, start=5.0), until=24)
    first_note, listening_ends = 5.0, 9.0
    for plan in plans:
        for chord in plan.chords:
            if chord.onset < listening_ends:
                assert chord.symbol == "N", (plan.beat, chord)
        if plan.beat < first_note:  # nothing heard yet: the whole plan is silent
            assert {c.symbol for c in plan.chords} == {"N"}
    committed = {c.onset: c.symbol for plan in plans for c in plan.chords if c.committed}
    assert any(symbol != "N" for onset, symbol in committed.items() if onset >= listening_ends)


def test_once_it_has_listened_it_joins_even_a_model_that_likes_silence():
    """After the listening beats a chord must sound from the first grid frame: a model
    fed forced silence expects more of it (measured on a trained accompanist: N for a
    whole C-major scale under the default half-bar grid)."""
    quiet = tiny_model()
    silence = torch.zeros(quiet.spec.vocab_size)
    silence[quiet.spec.chord_silence] = 50.0  # silence all but certain
    quiet.head.register_forward_hook(lambda module, inputs, logits: logits + silence)
    session = JamSession(quiet, settings(count_in=2, listen=4, harmonic_rhythm="half-bar",
                                         lookahead=6, commit=2))
    plans = play(session, melody(5, 24, start=5.0), until=24)
    committed = {c.onset: c.symbol for plan in plans for c in plan.chords if c.committed}
    # first note at 5, listening to 9, the half-bar grid next allows a change at 10
    assert all(symbol == "N" for onset, symbol in committed.items() if onset < 10)
    assert committed[10.0] != "N"
    assert all(symbol != "N" for onset, symbol in committed.items() if onset >= 10)


def test_a_silent_musician_gets_no_chord(model):
    session = JamSession(model, settings(count_in=2, listen=0, temperature=2.0))
    for plan in play(session, [], until=12):
        assert {c.symbol for c in plan.chords} == {"N"}


@pytest.mark.parametrize(("rhythm", "grid_beats"), [("beat", 1.0), ("half-bar", 2.0),
                                                     ("bar", 4.0)])
def test_chords_change_only_on_the_harmonic_rhythm_grid(model, rhythm, grid_beats):
    session = JamSession(model, settings(count_in=2, harmonic_rhythm=rhythm, lookahead=6,
                                         commit=2, temperature=2.0))
    plans = play(session, melody(6, 24, start=2.0), until=24)
    changes = 0
    for plan in plans:
        for chord in plan.chords:
            assert chord.onset % grid_beats == 0, (rhythm, plan.beat, chord)
            changes += chord.committed and chord.symbol != "N"
    assert changes > 0


def test_free_rhythm_changes_off_the_beat_at_high_temperature(model):
    """The grid test above could pass with a model that never leaves the beat: at
    temperature 2 the untrained model does, unless the grid forbids it."""
    session = JamSession(model, settings(count_in=2, temperature=2.0, lookahead=6, commit=2))
    plans = play(session, melody(6, 24, start=2.0), until=24)
    assert any(chord.onset % 1 for plan in plans for chord in plan.chords)


def test_unknown_harmonic_rhythm_is_refused(model):
    with pytest.raises(EngineError, match="harmonic rhythm"):
        JamSession(model, settings(harmonic_rhythm="waltz"))


def test_a_tick_in_slices_is_the_same_tick(model):
    """``ticking`` pauses once per ``commit`` beats of a long jump before it plans, and
    plans exactly as ``tick`` does (the server runs other sessions between the slices)."""
    whole, sliced = (JamSession(model, settings(commit=2, seed=5)) for _ in range(2))
    for session in (whole, sliced):
        session.note_on(62, 2.5)
    for beat, pauses in ((1.0, 0), (13.0, 5), (13.25, 0), (29.0, 7)):
        expected = whole.tick(beat)
        steps, slices = sliced.ticking(beat), 0
        while (plan := advance(steps, None, model)) is None:
            slices += 1
        assert slices == pauses
        assert spans(plan) == spans(expected) and plan.new_commits == expected.new_commits


def test_a_session_plays_in_its_style(model):
    """The sequence opens with the style's start token (song by default) and keeps it when
    the window is rebuilt; a model without the style, and the corpus style, open with BOS."""
    styled = with_style(model, SONG)
    with torch.no_grad():  # a song style that has learned something of its own
        styled.embed.weight[style_token(styled, SONG)] = torch.randn(
            styled.config.d_model, generator=torch.Generator().manual_seed(0))
    notes = melody(5, 40, start=1)
    options = settings(temperature=0.0, beats_per_bar=2)
    song = JamSession(styled, options)
    assert song.tokens[0] == style_token(styled, SONG)
    played = play(song, notes, until=40)
    assert any(p.report.moved for p in played) and song.tokens[0] == style_token(styled, SONG)
    corpus = JamSession(styled, settings(temperature=0.0, beats_per_bar=2, style="corpus"))
    assert corpus.tokens[0] == BOS
    assert [spans(p) for p in play(corpus, notes, until=40)] != [spans(p) for p in played]
    assert JamSession(model, options).tokens[0] == BOS
