"""The live session engine: one musician, one online accompanist, one KV cache.

The client owns the clock. On every ``tick(beat)`` the session

1. fixes the melody of every frame the clock has passed (``MelodyInput``);
2. keeps the part of its last plan that is still a valid sample: the model's sequence
   ``[BOS, c1, m1, c2, m2, ...]`` holds real melody up to the present and the melody the
   model *expected* beyond it. When the real melody of a newly passed frame differs from
   the expected one, everything from that frame on is dropped (``KVCache.truncate``);
   when it matches, the old continuation was sampled from exactly the same prefix and is
   kept as it is;
3. continues the sequence to the last chord before ``tick + commit`` that the model
   chooses (the others are determined: held off the harmonic rhythm's grid, or no chord
   while it listens): committed chords and real melody are fed as given, every other
   token is sampled (chords *and* the expected melody, which is what lets it place
   chords ahead of the present). Tokens are chosen several per model call, by drafting
   and verifying (``cojam.live.decoder``), exactly as if one at a time;
4. commits every chord frame before ``tick + commit``: from then on that frame's chord is
   fed as given and never changes, whatever the musician plays next; and answers with
   the plan;
5. plans on towards ``tick + lookahead`` *after* answering (``extending``: the server
   runs it while it waits for the next tick; a tick whose extension has not run yet
   runs it first): first to the commit horizon, then on with at most ``replan_budget``
   model calls, so that work stays bounded when the musician surprises the model. The
   plan's far end shows what the last plan had there (or holds its last chord) until the
   fresh part catches up. Only what the answer needs is on the tick's path: a surprise
   costs the calls up to the commit horizon, not the whole re-plan. The tokens are the
   same as planning on before answering would give (nothing is drawn in between), so
   the commitments are too.

Why this is cheap: a tick feeds only the new real frames and samples only the dropped
part of the plan, on top of the cached keys/values of the unchanged prefix; the whole
history is never recomputed per tick (``reuse_cache=False`` does exactly that, with no
budget, for the benchmark's baseline). A tick asks for its model calls rather than making
them (``ticking`` yields each as a request), so a server can serve the calls of many
sessions in one pass (``cojam.live.batching``); the session's plans do not change.

No leakage: a chord frame is sampled only while the sequence ends at the melody of the
frame before it, so the chord of frame t never depends on the melody of frame t.

Count-in: the first ``count_in`` beats are committed as no chord (``N``) from the start.
The model's sequence begins where the count-in ends, as a song begins: fed bars of forced
silence, a model expects more silence. Notes played during the count-in (a pickup) are
logged but not given to the model.

Listen first: until the model has heard a note (after the count-in) every chord frame is
given as no chord, planned and committed, so no chord is ever chosen before any melody
was heard; the model keeps playing ``N`` for ``listen`` beats after that first note.

Harmonic rhythm: off the grid the musician chose (``cojam.live.harmonic_rhythm``) a chord
frame can only continue the chord before it; the decoder feeds that token without
choosing it.

Long sessions: the model reads at most ``max_frames`` frames. When the plan would run past
that, the sequence moves to a bar line about ``max_frames / 2`` frames before the plan's
end, holding only real melody and committed chords from there; this happens once every
~``max_frames / 2`` frames. That sequence is prepared after earlier answers
(``cojam.live.next_window``), so the tick that moves feeds only its last few frames; when
none is ready (a jump of the clock, no cache reuse) it is prefilled in one pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import torch

from cojam.data.tokens import BOS
from cojam.live.decoder import DRAFT_TOKENS, Decoder
from cojam.live.harmonic_rhythm import DEFAULT_RHYTHM, grid_frames, may_change
from cojam.live.melody_input import MelodyInput, MelodyInputError
from cojam.live.next_window import NextWindow
from cojam.live.plan import PlannedChord, chord_spans, chord_symbol, starts_span, stitch
from cojam.models.online import SONG, OnlineModel, style_token
from cojam.models.row_cache import Forward, forward_alone, serve_alone

MAX_TICK_ADVANCE_BEATS = 16  # one tick may move the clock at most this far
MAX_NOTE_LEAD_BEATS = 16  # a note may be stamped at most this far ahead of the clock
REPLAN_BUDGET = 3  # model calls per tick beyond what the commit horizon needs


def advance(steps: Generator[Forward | None, torch.Tensor | None, Plan],
            answer: torch.Tensor | None, model: OnlineModel | None = None
            ) -> Forward | Plan | None:
    """Resume a tick (``JamSession.ticking``), sending it ``answer`` (the logits of the
    model call it last asked for, else None), until it asks for a model call (returned;
    with ``model`` given, served here alone instead), pauses between slices (None) or
    ends (its ``Plan``)."""
    while True:
        try:
            request = steps.send(answer)
        except StopIteration as done:
            return done.value
        if request is None or model is None:
            return request
        answer = forward_alone(model, request)


class EngineError(ValueError):
    """A request the session cannot follow (a clock going backwards, a pitch out of range);
    the session is unchanged and goes on."""


def check_tick(previous: float | None, beat: float) -> None:
    """Raise ``EngineError`` unless a clock at ``previous`` (None: no tick yet) may tick to
    ``beat``: never backwards, never more than ``MAX_TICK_ADVANCE_BEATS`` at once."""
    clock = 0.0 if previous is None else previous
    if beat < clock:
        raise EngineError(f"tick at beat {beat} is before the previous tick ({clock}); "
                          f"the clock only moves forward")
    if beat - clock > MAX_TICK_ADVANCE_BEATS:
        raise EngineError(f"tick at beat {beat} jumps more than {MAX_TICK_ADVANCE_BEATS} "
                          f"beats past the previous tick ({clock})")


@dataclass(frozen=True)
class JamSettings:
    """What a musician chooses for a session (the protocol's ``start`` message)."""

    tempo: float = 120.0
    """beats per minute; the engine counts beats, the tempo is kept for the log and MIDI"""
    beats_per_bar: int = 4
    """quarter-note beats per bar; the model window is rebuilt on bar lines"""
    lookahead: int = 8
    """beats planned ahead of the clock on every tick"""
    commit: int = 2
    """beats ahead of the clock whose chords are fixed (at most ``lookahead``)"""
    count_in: int = 8
    """silent beats at the start, in which the model plays no chord"""
    listen: int = 8
    """beats of melody the model hears before it plays: no chord until ``listen`` beats
    after the first note it heard (ReaLJam listens 8 beats)"""
    harmonic_rhythm: str = DEFAULT_RHYTHM
    """where a chord may change: ``free``, ``beat``, ``half-bar`` or ``bar``
    (``cojam.live.harmonic_rhythm``)"""
    temperature: float = 1.0
    """sampling temperature of the chords and of the melody the model expects (0: greedy).
    Not greedy melody by default: a greedy expected melody gets stuck (under no chord it
    expects rests, and under rests it plans no chord), so the model leaves far more frames
    without a chord than with a sampled one."""
    seed: int = 0
    """seed of the session's random generator: same seed and events, same plans"""
    style: str = SONG
    """the style the model plays in (``cojam.models.online``): ``song`` (what a musician
    plays) or ``corpus`` (its training corpus's); a model without it plays its corpus's"""


@dataclass(frozen=True)
class TickReport:
    """What one tick cost, for the benchmark and the plan message."""

    sampled: int
    """tokens sampled (chords and expected melody)"""
    forwards: int
    """model calls"""
    fed: int
    """tokens run through the model (new real frames, given tokens and samples)"""
    replanned_from: int | None
    """frame from which the previous plan was dropped (None: kept or rebuilt)"""
    stale_frames: int
    """frames at the end of the plan shown from an earlier plan (the budget ran out)"""
    prefilled: bool
    """the sequence was rebuilt and prefilled (first tick, a window move with no prepared
    window, or no reuse)"""
    seconds: float
    moved: bool
    """the window moved to a later bar line (prefilled, or taken over from the window
    prepared after earlier answers)"""


@dataclass(frozen=True)
class Plan:
    """The answer to a tick: chords from the tick to ``tick + lookahead``."""

    beat: float
    chords: list[PlannedChord]
    new_commits: list[tuple[str, float]]
    """(symbol, onset beat) of the spans whose onset became committed at this tick"""
    report: TickReport


class JamSession:
    """One jam: the frame history, the model's sequence and its cache, the random state."""

    def __init__(self, model: OnlineModel, settings: JamSettings, reuse_cache: bool = True,
                 replan_budget: int | None = REPLAN_BUDGET, draft_tokens: int = DRAFT_TOKENS):
        if model.config.role != "accompanist":
            raise EngineError(f"the live engine needs an accompanist, not a "
                              f"{model.config.role!r} model")
        spec = model.spec
        self.model, self.spec, self.settings = model, spec, settings
        self.reuse_cache = reuse_cache
        self.replan_budget = replan_budget if reuse_cache else None
        per_beat = spec.frames_per_beat
        self.bar_frames = round(settings.beats_per_bar * per_beat)
        self.max_frames = model.config.max_frames
        lookahead_frames = settings.lookahead * per_beat
        if settings.listen < 0:
            raise EngineError(f"listen must be at least 0 beats, got {settings.listen}")
        if settings.commit > settings.lookahead:
            raise EngineError(f"commit ({settings.commit} beats) must not exceed lookahead "
                              f"({settings.lookahead} beats)")
        if lookahead_frames + self.bar_frames + per_beat > self.max_frames // 2:
            raise EngineError(
                f"lookahead {settings.lookahead} beats plus one bar is too long for a model "
                f"that reads {self.max_frames} frames; at most "
                f"{(self.max_frames // 2 - self.bar_frames) // per_beat - 1} beats"
            )
        self.melody = MelodyInput(spec)
        self.real: list[int] = []  # final melody token of each frame
        count_in_frames = settings.count_in * per_beat
        self.chords: list[int] = [spec.chord_silence] * count_in_frames  # committed
        self.span_onsets: list[int] = [0] * count_in_frames  # onset frame of each one's span
        # The model's sequence starts where the count-in ends, as a song starts: fed even
        # one bar of forced silence, a model expects more silence (measured: it then plays
        # N over most of a Bach melody, against a third of it without).
        self.first_frame = count_in_frames
        self.window_start = self.first_frame  # absolute frame of the sequence's first frame
        self.shown: list[int] = []  # chord tokens of the last plan, from frame shown_from
        self.shown_from = 0
        try:
            grid = grid_frames(settings.harmonic_rhythm, settings.beats_per_bar, per_beat)
        except ValueError as e:
            raise EngineError(str(e)) from None
        self.grid = grid
        self.listen_end: int | None = None  # first frame after the listening; None: no
        # note heard yet
        self.decoder = Decoder(
            model, torch.Generator().manual_seed(settings.seed), settings.temperature,
            settings.temperature, draft_tokens if reuse_cache else 1,
            None if grid == 1 else lambda position: may_change(self._frame(position), grid),
            lambda position: self.listen_end is not None
            and self._frame(position) >= self.listen_end, self._style_token(model, settings))
        self.last_beat: float | None = None
        self._reported_commits = 0
        # the last tick's planning beyond the commit horizon, not yet run (``extending``)
        self._extension: Generator[Forward, torch.Tensor, None] | None = None
        # the window the sequence moves to next, prepared after answers (reuse only)
        self._next = NextWindow(model.new_cache(1), self.decoder.start) if reuse_cache else None

    @staticmethod
    def _style_token(model: OnlineModel, settings: JamSettings) -> int:
        try:
            return style_token(model, settings.style)
        except ValueError as e:
            raise EngineError(str(e)) from None

    @property
    def tokens(self) -> list[int]:
        """The model's sequence from ``window_start``: ``[start, c, m, c, m, ...]``."""
        return self.decoder.tokens

    # ------------------------------------------------------------------ events
    def _check_note_beat(self, beat: float) -> None:
        clock = self.last_beat or 0.0
        if beat > clock + MAX_NOTE_LEAD_BEATS:
            raise EngineError(f"note at beat {beat} is more than {MAX_NOTE_LEAD_BEATS} beats "
                              f"ahead of the clock (last tick {clock})")

    def note_on(self, pitch: int, beat: float) -> None:
        self._check_note_beat(beat)
        try:
            self.melody.note_on(pitch, beat)
        except MelodyInputError as e:
            raise EngineError(str(e)) from None

    def note_off(self, pitch: int, beat: float) -> None:
        self._check_note_beat(beat)
        try:
            self.melody.note_off(pitch, beat)
        except MelodyInputError as e:
            raise EngineError(str(e)) from None

    def tick(self, beat: float) -> Plan:
        """Advance the clock to ``beat`` and return the plan up to ``beat + lookahead``
        (its far end planned on by ``extend``, or by the next tick)."""
        return serve_alone(self.ticking(beat), self.model)

    def extend(self) -> None:
        """Plan on beyond the last tick's commit horizon (``extending``), each call alone."""
        serve_alone(self.extending(), self.model)

    @property
    def extension_pending(self) -> bool:
        """Whether the last tick left planning for after its answer."""
        return self._extension is not None

    @torch.inference_mode()
    def extending(self) -> Generator[Forward, torch.Tensor, bool]:
        """The planning the last tick left for after its answer (towards its lookahead,
        at most ``replan_budget`` model calls), as a generator of model calls like
        ``ticking``; nothing when none is left. It returns True (so that ``advance``
        tells its end from a pause). It must run to its end before the session is
        touched again (the next tick runs it first if nobody did); the next plan shows
        what it planned."""
        extension, self._extension = self._extension, None
        if extension is not None:
            yield from extension
            self._show(self.shown_from, self.shown_from + len(self.shown))
        return True

    @torch.inference_mode()
    def ticking(self, beat: float) -> Generator[Forward | None, torch.Tensor | None, Plan]:
        """``tick`` as a generator, so that a server can schedule its work: it yields
        ``None`` after each step of the clock (a slice of bounded work: other sessions may
        run between slices, ``cojam.live.fair_share``) and a ``Forward`` request for each
        model call, to be answered by sending that call's logits (alone, or batched with
        other sessions' calls: ``cojam.live.batching``); it returns the plan. ``advance``
        drives it. The session must not be touched until the tick is done.

        A tick that moves the clock more than ``commit`` beats is taken in steps of
        ``commit`` beats, each committing chords but planning no further than that, so
        every frame's chord is still chosen before its melody is fed. ``report.seconds``
        counts the tick's own work and the model calls it waited for, not the waits
        between slices."""
        resumed = time.perf_counter()
        clock = 0.0 if self.last_beat is None else self.last_beat
        check_tick(self.last_beat, beat)
        decoder = self.decoder
        decoder.chosen = decoder.calls = decoder.fed = 0
        yield from self.extending()  # the last tick's, if the server had no time for it
        replanned_from, prefilled, moved, seconds = None, False, False, 0.0
        while beat - clock > self.settings.commit:
            clock += self.settings.commit
            _, _, dropped, rebuilt, shifted = yield from self._advance(
                clock, self.settings.commit, 0)
            replanned_from = dropped if replanned_from is None else replanned_from
            prefilled, moved = prefilled or rebuilt, moved or shifted
            seconds += time.perf_counter() - resumed
            yield None
            resumed = time.perf_counter()
        now, end, dropped, rebuilt, shifted = yield from self._advance(
            beat, self.settings.lookahead, self.replan_budget, defer=True)
        self.last_beat = beat
        fresh_end = self._show(now, end)
        chords = chord_spans(self.spec, self.shown, now, self.span_onsets[now],
                             len(self.chords))
        report = TickReport(
            decoder.chosen,
            decoder.calls,
            decoder.fed,
            dropped if replanned_from is None else replanned_from,
            end - fresh_end,
            prefilled or rebuilt,
            seconds + time.perf_counter() - resumed,
            moved or shifted,
        )
        return Plan(beat, chords, self._new_commits(), report)

    def _show(self, now: int, end: int) -> int:
        """The plan shown from frame ``now`` to ``end``: the sequence's chords as far as
        it goes, then the last plan shown (``stitch``); returns where the fresh part
        ends."""
        fresh_end = min(end, max(self.window_start + len(self.tokens) // 2, len(self.chords)))
        fresh = [self._chord_at(f) for f in range(now, fresh_end)]
        older = self.shown[now - self.shown_from :] if now >= self.shown_from else []
        self.shown = stitch(self.spec, fresh, older, end - now, now, self.grid)
        self.shown_from = now
        return fresh_end

    def _advance(self, beat: float, horizon: int, budget: int | None, defer: bool = False
                 ) -> Generator[Forward, torch.Tensor, tuple[int, int, int | None, bool, bool]]:
        """Move the clock to ``beat``, plan to the commit horizon, commit, and plan on
        towards ``horizon`` beats ahead (at most ``budget`` model calls; with ``defer``,
        left for ``extending``, with the next window's preparation after it). Returns
        (present frame, plan end frame, frame the old plan was dropped from, whether the
        sequence was rebuilt, whether the window moved)."""
        per_beat = self.spec.frames_per_beat
        now = math.floor(beat * per_beat)
        end = math.ceil((beat + horizon) * per_beat)
        commit_to = math.ceil((beat + self.settings.commit) * per_beat)
        first_new = len(self.real)
        self.real.extend(self.melody.finalize(now))
        if self.listen_end is None:
            self._listen_from(first_new)
        dropped = None
        rebuild = not self.reuse_cache or len(self.tokens) == 1
        moved = 1 + 2 * (end - self.window_start) > self.decoder.cache.max_len
        if moved:
            self.window_start = self._shifted_window_start(end)
            rebuild = rebuild or not self._take_over_next_window()
        if rebuild:
            self._rebuild()
        elif not moved:
            dropped = self._drop_mispredicted(first_new)
        yield from self.decoder.filling(self._answer_length(commit_to), self._given)
        self._commit(commit_to)
        extension = self._planning_on(self._chord_position(commit_to - 1) + 1,
                                      1 + 2 * (end - self.window_start), budget)
        if defer:
            self._extension = self._after_answer(extension)
        else:
            yield from extension
        return now, end, dropped, rebuild, moved

    def _planning_on(self, horizon_length: int, length: int, budget: int | None
                     ) -> Generator[Forward, torch.Tensor, None]:
        """The sequence on to the commit horizon's last chord (``horizon_length``; the
        melody expected under the determined chords there, which the answer did not
        need), then on to ``length`` with at most ``budget`` model calls."""
        yield from self.decoder.filling(horizon_length, self._given)
        yield from self.decoder.filling(length, self._given, budget)

    def _after_answer(self, extension: Generator[Forward, torch.Tensor, None]
                      ) -> Generator[Forward, torch.Tensor, None]:
        """The planning past the commit horizon, then the next window's preparation."""
        yield from extension
        if self._next is None:
            return
        start = self._next_window_start()
        if self._next.start != start:
            self._next.reset(start)
        final = min(len(self.real), len(self.chords))
        yield from self._next.feeding(self.chords, self.real, final, self.bar_frames)

    # ---------------------------------------------------------------- sequence
    def _chord_at(self, frame: int) -> int:
        """The chord token of a frame: the committed one, else the sequence's."""
        if frame < len(self.chords):
            return self.chords[frame]
        return self.tokens[self._chord_position(frame)]

    def _frame(self, position: int) -> int:
        """The absolute frame of a sequence position."""
        return self.window_start + (position - 1) // 2

    def _chord_position(self, frame: int) -> int:
        return 1 + 2 * (frame - self.window_start)

    def _melody_position(self, frame: int) -> int:
        return 2 + 2 * (frame - self.window_start)

    def _shifted_window_start(self, end: int) -> int:
        """A bar line about half a model window before ``end``, never after the present
        nor inside the count-in."""
        return self._bar_line(min(len(self.real), end - self.max_frames // 2))

    def _bar_line(self, frame: int) -> int:
        """The last bar line at or before ``frame``, never inside the count-in."""
        return max(frame - frame % self.bar_frames, self.first_frame)

    def _next_window_start(self) -> int:
        """Where the window moves next when the clock comes frame by frame: the start
        ``_shifted_window_start`` gives the first plan end past the window."""
        end = self.window_start + self.max_frames + 1
        return self._bar_line(end - self.max_frames // 2)

    def _take_over_next_window(self) -> bool:
        """Continue from the prepared window if it starts at ``window_start`` (feeding
        only the frames that became final since it was last fed); False if none does."""
        ready = self._next
        if ready is None or ready.start != self.window_start or ready.end == ready.start:
            return False
        known = min(len(self.real), len(self.chords))
        tokens = ready.tokens + [token for frame in range(ready.end, known)
                                 for token in (self.chords[frame], self.real[frame])]
        ready.cache = self.decoder.take_over(tokens, ready.cache)
        ready.reset(None)
        return True

    def _rebuild(self) -> None:
        """The sequence of real melody and committed chords from ``window_start``."""
        known = min(len(self.real), len(self.chords))
        tokens = [self.decoder.start]
        for frame in range(self.window_start, known):
            tokens += [self.chords[frame], self.real[frame]]
        self.decoder.reset(tokens)

    def _drop_mispredicted(self, first_new: int) -> int | None:
        """Drop the plan from the first newly real frame whose expected melody was wrong."""
        for frame in range(max(first_new, self.window_start), len(self.real)):
            position = self._melody_position(frame)
            if position >= len(self.tokens):
                return None
            if self.tokens[position] != self.real[frame]:
                self.decoder.truncate(position)
                return frame
        return None

    def _given(self, position: int) -> int | None:
        """The known token at a sequence position: a committed chord, no chord while the
        model listens, a real melody frame."""
        frame = self._frame(position)
        if position % 2 == 0:
            return self.real[frame] if frame < len(self.real) else None
        if frame < len(self.chords):
            return self.chords[frame]
        if self.listen_end is None or frame < self.listen_end:
            return self.spec.chord_silence
        return None

    def _listen_from(self, first_new: int) -> None:
        """Once the first note is heard: listen ``listen`` beats from it (at least its own
        frame, whose chord could not hear it), and drop the plan's forced silence after."""
        for frame in range(max(first_new, self.first_frame), len(self.real)):
            kind, _ = self.spec.melody_token_info(self.real[frame])
            if kind != "silence":
                self.listen_end = frame + max(1, self.settings.listen * self.spec.frames_per_beat)
                break
        if self.listen_end is None:
            return
        position = self._chord_position(max(self.listen_end, len(self.chords)))
        if position < len(self.tokens):
            self.decoder.truncate(position)

    # ------------------------------------------------------------------ commits
    def _answer_length(self, commit_to: int) -> int:
        """The sequence the commitments up to ``commit_to`` need: up to the last chord
        before it that the model chooses. The chords after that one are determined (off
        the harmonic rhythm's grid, or while listening), so the expected melody under
        them is left to the planning after the answer, which samples it in the same
        order from the same random state: the tokens are the same as filling on."""
        for frame in range(commit_to - 1, len(self.chords) - 1, -1):
            if self._chooses(frame):
                return self._chord_position(frame) + 1
        return len(self.tokens)

    def _chooses(self, frame: int) -> bool:
        """Whether the model chooses the chord of a frame not committed yet: nothing is
        given there (``_given``: no chord while it listens), and it is on the harmonic
        rhythm's grid."""
        return (self._given(self._chord_position(frame)) is None
                and may_change(frame, self.grid))

    def _determined_chord(self, frame: int) -> int:
        """The chord of a frame the model does not choose (``_chooses``), as the decoder
        would feed it: the given one (no chord while listening), else what sounds
        continued (after the window's first frame, BOS: nothing sounds)."""
        given = self._given(self._chord_position(frame))
        if given is not None:
            return given
        previous = self.chords[frame - 1] if frame > self.window_start else BOS
        return self.decoder.tables["chord"].continuing[previous]

    def _commit(self, commit_to: int) -> None:
        for frame in range(len(self.chords), commit_to):
            position = self._chord_position(frame)
            if position < len(self.tokens):
                token = self.tokens[position]
            else:  # past the last chord chosen before the answer (``_answer_length``)
                token = self._determined_chord(frame)
            previous = self.chords[frame - 1] if frame > 0 else None
            onset = frame if starts_span(self.spec, token, previous) else self.span_onsets[-1]
            self.chords.append(token)
            self.span_onsets.append(onset)

    def _new_commits(self) -> list[tuple[str, float]]:
        step = 1 / self.spec.frames_per_beat
        commits = [
            (chord_symbol(self.spec, self.chords[frame]), frame * step)
            for frame in range(self._reported_commits, len(self.chords))
            if self.span_onsets[frame] == frame
        ]
        self._reported_commits = len(self.chords)
        return commits
