"""Draft and verify: one model call checks a block of guessed tokens, so a single sequence
advances several tokens per call with exactly the distribution of one token per call.

The caller drafts a block (tokens it knows, and guesses); ``verify`` runs the model once
over the sequence's unread tokens and the block, then walks the block in order: a known
token is kept; at a guess, ``choose`` decides the token from that position's logits (with
``cojam.models.sampling.keep_or_sample`` the guess is kept with its probability under the
model, so the result is a sample of the model's own distribution). The walk stops after
the first guess the model replaced, since everything after it was drafted on a token that
is no longer there; the cache forgets it. ``verifying`` is the same walk with the model
call handed to the caller, for a scheduler that batches several sequences' calls.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

import torch

from cojam.models.online import OnlineModel
from cojam.models.row_cache import Forward, serve_alone
from cojam.models.transformer import KVCache

Choose = Callable[[torch.Tensor, int, int], int]
"""(logits (V,) predicting a position, the position, the guess there) -> the token"""


def verify(
    model: OnlineModel,
    cache: KVCache,
    tokens: list[int],
    block: Sequence[int],
    guessed: Sequence[bool],
    choose: Choose,
) -> tuple[int, int]:
    """Extend ``tokens`` (in place; the cache holds ``tokens[:cache.length]`` and at least
    the last token is unread) by ``block`` up to its first rejected guess, which becomes
    the model's choice. Returns (tokens chosen, tokens run through the model). Afterwards
    the cache holds every token but the last."""
    return serve_alone(verifying(cache, tokens, block, guessed, choose), model)


def verifying(
    cache: KVCache,
    tokens: list[int],
    block: Sequence[int],
    guessed: Sequence[bool],
    choose: Choose,
) -> Generator[Forward, torch.Tensor, tuple[int, int]]:
    """``verify`` as a generator that yields its one model call as a ``Forward`` request
    and is sent the logits, so a scheduler may serve it together with other sequences'
    calls (``cojam.models.row_cache.forward_together``)."""
    start = len(tokens)
    unread = tokens[cache.length :]
    feed = unread + list(block)
    logits = yield Forward(cache, feed)  # (n, V): row i predicts the token after feed[i]
    chosen = 0
    for index, (token, is_guess) in enumerate(zip(block, guessed, strict=True)):
        if not is_guess:
            tokens.append(token)
            continue
        choice = choose(logits[len(unread) - 1 + index], len(tokens), token)
        tokens.append(choice)
        chosen += 1
        if choice != token:
            cache.truncate(start + index)  # the rejected guess and what was drafted after
            return chosen, len(feed)
    cache.truncate(len(tokens) - 1)
    return chosen, len(feed)
