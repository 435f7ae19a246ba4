"""The model's token sequence and its KV cache: given tokens are fed, the rest is chosen,
several at a time by drafting and verifying.

Choosing one token per model call is what makes re-planning slow on a CPU: a call on a
small model costs about the same for one token as for twenty (the time goes to per-op
overhead, not arithmetic). So the decoder *drafts* a block of guesses, runs the model
once over the whole block, and keeps the guesses the model agrees with, in order, up to
the first it does not; there it takes the model's own choice, and drafts again.

The result is exactly what choosing one token at a time would give, in distribution: the
model call and the walk along the block are ``cojam.models.speculative.verifying``, each
token is chosen by ``cojam.models.sampling.keep_or_sample`` (a greedy position keeps a
guess only when it is the argmax; a sampled one keeps guess g with probability p(g) and
otherwise samples from p with g left out). This module decides what to guess and what
is known.

A chord's guess is the plan that was just dropped (``truncate`` keeps it): after a
surprise most of the old chord plan usually still holds. Elsewhere, and for the melody
(whose old expectation the surprise has just proved wrong), the guess is that whatever
sounds goes on sounding (a hold, or silence), which is what most frames of music do.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import torch

from cojam.data.tokens import BOS, TokenSpec
from cojam.models.online import OnlineModel
from cojam.models.row_cache import Forward
from cojam.models.sampling import allowed_mask, keep_or_sample
from cojam.models.speculative import verifying
from cojam.models.transformer import KVCache

DRAFT_TOKENS = 24  # guesses verified per model call (1: one token per call)


@dataclass(frozen=True)
class StreamTable:
    """What may follow each token in one stream of a vocabulary, looked up rather than
    recomputed: a pass walks many sessions, each drafting and choosing many tokens, and
    re-deriving a token's kind or its mask per token was a large part of the walk."""

    masks: list[torch.Tensor]
    """previous token -> (1, V) bool: the tokens that may follow it (``allowed_mask``)"""
    opens: frozenset[int]
    """tokens that may follow anything: silence and onsets"""
    holds: dict[int, int]
    """previous token -> the one hold that may follow it (when it sounds)"""
    continuing: dict[int, int]
    """previous token (or BOS) -> what goes on sounding after it (a hold, or silence)"""
    sounding: list[torch.Tensor]
    """previous token -> its mask without silence (where a chord must sound)"""


def stream_table(spec: TokenSpec, stream: str) -> StreamTable:
    """The table of ``stream`` (``chord`` or ``melody``) in ``spec``: built once per
    vocabulary and shared, read-only, by every session."""
    key = (spec, stream)
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = _build_table(spec, stream)
    return table


_TABLES: dict[tuple[TokenSpec, str], StreamTable] = {}


def _build_table(spec: TokenSpec, stream: str) -> StreamTable:
    allowed = allowed_mask(spec, stream, torch.arange(spec.vocab_size))  # (V, V)
    after_nothing = allowed_mask(spec, stream, torch.tensor([BOS]))[0]  # (V,)
    extra = (allowed & ~after_nothing).nonzero().tolist()  # [(previous, its hold)]
    info = spec.chord_token_info if stream == "chord" else spec.melody_token_info
    hold = spec.chord_hold if stream == "chord" else spec.melody_hold
    silence = spec.chord_silence if stream == "chord" else spec.melody_silence
    in_stream = spec.is_chord if stream == "chord" else spec.is_melody
    continuing = {BOS: silence}
    for token in range(spec.vocab_size):
        if in_stream(token):
            kind, what = info(token)
            continuing[token] = silence if kind == "silence" else hold(what)
    sounding = allowed.clone()
    sounding[:, silence] = False
    return StreamTable(masks=list(allowed.split(1)), sounding=list(sounding.split(1)),
                       opens=frozenset(after_nothing.nonzero()[:, 0].tolist()),
                       holds=dict(extra), continuing=continuing)


class Decoder:
    """A sequence in the online layout ``[start, c, m, c, m, ...]`` and its cache (``start``
    is BOS or a style's start token, ``cojam.models.online``).

    Invariant: ``cache`` holds the keys/values of ``tokens[:cache.length]`` and at least
    the last token is unfed, so the next call yields the logits that choose what follows.
    """

    def __init__(self, model: OnlineModel, generator: torch.Generator,
                 chord_temperature: float, melody_temperature: float,
                 draft_tokens: int = DRAFT_TOKENS,
                 may_change: Callable[[int], bool] | None = None,
                 must_sound: Callable[[int], bool] | None = None, start: int = BOS):
        self.model, self.spec = model, model.spec
        self.start = start  # the sequence's first token: its style (BOS or a style's)
        self.tables = {"melody": stream_table(self.spec, "melody"),
                       "chord": stream_table(self.spec, "chord")}
        # may_change(position) False: the chord there can only continue what sounds (the
        # harmonic rhythm's grid); None: a chord may change anywhere
        self.may_change = may_change
        # must_sound(position) True: the model may not choose chord silence there (it has
        # listened and joins in; after forced silence a model expects more of it)
        self.must_sound = must_sound
        self.generator = generator
        self.temperatures = {"chord": chord_temperature, "melody": melody_temperature}
        self.draft_tokens = draft_tokens
        self.tokens: list[int] = [start]
        self.cache = model.new_cache(1)
        self.dropped: dict[int, int] = {}  # position -> token of a plan that was dropped
        self.chosen = self.calls = self.fed = 0  # counters, reset by the caller

    # ------------------------------------------------------------ the sequence
    def reset(self, tokens: list[int]) -> None:
        """Start over from ``tokens`` (fed on the next call)."""
        self.tokens = list(tokens)
        self.cache.truncate(0)
        self.dropped = {}

    def take_over(self, tokens: list[int], cache: KVCache) -> KVCache:
        """Start over from ``tokens``, whose first ``cache.length`` tokens ``cache``
        already holds (the rest are fed on the next call); returns the old cache."""
        old, self.cache = self.cache, cache
        self.tokens = list(tokens)
        self.cache.truncate(min(self.cache.length, len(tokens) - 1))
        self.dropped = {}
        return old

    def truncate(self, length: int) -> None:
        """Forget ``tokens[length:]``, keeping them as guesses for the next fill."""
        self.dropped = dict(enumerate(self.tokens[length:], start=length))
        del self.tokens[length:]
        self.cache.truncate(min(self.cache.length, length - 1))

    @staticmethod
    def stream(position: int) -> str:
        return "chord" if position % 2 == 1 else "melody"

    def _previous(self, position: int, block: list[int]) -> int:
        """The token before ``position`` in its stream, looking into a draft ``block``
        that starts at ``len(tokens)``; BOS at the start."""
        before = position - 2
        if before < 1:
            return BOS
        if before < len(self.tokens):
            return self.tokens[before]
        return block[before - len(self.tokens)]

    # ------------------------------------------------------------------ filling
    def filling(self, length: int, given: Callable[[int], int | None],
                budget: int | None = None) -> Generator[Forward, torch.Tensor, None]:
        """Continue the sequence to ``length`` tokens, or until ``budget`` model calls:
        ``given(position)`` is the known token there (a committed chord, real melody) or
        None for one to choose. A generator: each model call is yielded as a ``Forward``
        request and answered by sending its logits, so the caller decides whether the
        call runs alone or batched with other sessions' calls."""
        calls = 0
        while len(self.tokens) < length:
            known = self._known(len(self.tokens), given, [])
            if known is not None:
                self.tokens.append(known)
                continue
            if budget is not None and calls >= budget:
                return
            block, guessed = self._draft(length, given)
            yield from self._verifying(block, guessed)
            calls += 1

    def _known(self, position: int, given: Callable[[int], int | None], block: list[int]
               ) -> int | None:
        """The token at ``position`` when nothing is left to choose: a given one, or the
        continuation of the sounding chord off the harmonic rhythm's grid (the one token
        the grid's mask leaves there, so it is fed without a model call)."""
        known = given(position)
        if known is not None or self.stream(position) != "chord":
            return known
        if self.may_change is None or self.may_change(position):
            return None
        return self._continuing("chord", self._previous(position, block))

    def _continuing(self, stream: str, previous: int) -> int:
        """The guess that what sounds goes on: hold(x) after on(x)/hold(x), else silence."""
        return self.tables[stream].continuing[previous]

    def _valid(self, stream: str, token: int, previous: int) -> bool:
        """Whether ``token`` may follow ``previous`` (a hold only continues its own on)."""
        table = self.tables[stream]
        return token in table.opens or table.holds.get(previous) == token

    def _draft(self, length: int, given: Callable[[int], int | None]
               ) -> tuple[list[int], list[bool]]:
        """Tokens from ``len(tokens)`` on: known ones, and up to ``draft_tokens``
        guesses (at least one, at the first position)."""
        block: list[int] = []
        guessed: list[bool] = []
        guesses = 0
        for position in range(len(self.tokens), length):
            known = self._known(position, given, block)
            if known is not None:
                block.append(known)
                guessed.append(False)
                continue
            if guesses >= max(self.draft_tokens, 1):
                break
            stream = self.stream(position)
            previous = self._previous(position, block)
            guess = self.dropped.get(position) if stream == "chord" else None
            if guess is None or not self._valid(stream, guess, previous):
                guess = self._continuing(stream, previous)
            block.append(guess)
            guessed.append(True)
            guesses += 1
        return block, guessed

    def _verifying(self, block: list[int], guessed: list[bool]
                   ) -> Generator[Forward, torch.Tensor, None]:
        """One model call over the unfed tokens and ``block``; keep the block up to the
        first guess the model rejects, and the model's own choice there."""
        chosen, fed = yield from verifying(self.cache, self.tokens, block, guessed,
                                           self._choose)
        self.calls += 1
        self.fed += fed
        self.chosen += chosen

    def _choose(self, row: torch.Tensor, position: int, guess: int) -> int:
        """The token at ``position`` from its logits ``row`` (V,): ``guess`` if the model
        keeps it (see the module docstring), else the model's own choice."""
        stream = self.stream(position)
        previous = self.tokens[position - 2] if position >= 3 else BOS
        table = self.tables[stream]
        mask = table.masks[previous]
        if stream == "chord" and self.must_sound is not None and self.must_sound(position):
            mask = table.sounding[previous]
        return keep_or_sample(row, mask[0], guess, self.temperatures[stream], self.generator)
