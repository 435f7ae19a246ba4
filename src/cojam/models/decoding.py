"""The decoding loop: online models play their streams frame by frame, as they would live.

At frame t the model draws its own token (a chord, for the accompanist) having heard the
other stream up to frame t-1 only. Then the other stream's token of frame t is heard:
given (a song's melody, a seed), or played by a ``Partner`` model (the melody agent
standing in for the musician), which drew it having heard the model's tokens up to t-1
only. Generation, RL rollouts, self-play and evaluation all play through ``play_frames``;
they differ only in what they pass.

Each model is a ``Voice``: its stream in its role's order (``[BOS, c1, m1, ...]`` for the
accompanist, ``[BOS, m1, c1, ...]`` for the melody agent) and its own KV cache, so a frame
costs one forward pass of two new tokens per model. Without a cache (``use_cache=False``)
the whole stream is recomputed every frame: the same tokens, for tests and benchmarks.

Every token is drawn by ``cojam.models.sampling`` (validity masks, temperature, top-k,
top-p) from one ``torch.Generator``, the model's token before the partner's, each as one
draw over the batch, so the same seed plays the same tokens.

Streams longer than the model's window (``max_frames``) slide: when a stream is full it
restarts as ``[BOS]`` + its last half window of frames, re-read into a fresh cache, as
training windows start mid-song with BOS too.

Every tensor of a ``Voice`` is indexed by row first and a row's state depends on its own
tokens only, so rows need not stay in lockstep: with ``cojam.models.row_cache`` (a length
per row) rows at different positions, like live sessions, step together in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cojam.data.tokens import BOS
from cojam.models.online import OnlineModel
from cojam.models.sampling import (
    SamplingConfig,
    allowed_mask,
    masked_log_softmax,
    sample_tokens,
)
from cojam.models.transformer import KVCache

SAMPLE = SamplingConfig()  # temperature 1, no top-k or top-p


def check_eval(model: torch.nn.Module) -> None:
    if model.training:
        raise ValueError("decoding needs model.eval() (dropout would change the samples)")


@dataclass
class Voice:
    """One online model's side of the loop: what it has heard and what it plays next."""

    model: OnlineModel
    cache: KVCache | None
    """keys/values of every token but the last ``unread``; None: recompute the stream at
    every step"""
    tokens: torch.Tensor  # (B, L) its stream so far, in its role's order
    unread: int
    """trailing tokens of ``tokens`` the model has not read yet"""
    previous: torch.Tensor  # (B,) the last token of its own stream (BOS at the start)
    hidden: torch.Tensor | None = None  # (B, C) the state that chooses its next token
    logits: torch.Tensor | None = None  # (B, V) its next own token's logits


def start_voice(model: OnlineModel, batch_size: int, num_frames: int,
                use_cache: bool = True, start: torch.Tensor | int = BOS) -> Voice:
    """A voice that has heard nothing yet, for ``num_frames``: its stream is ``[start]``
    (BOS, or a style's start token; (B,) one per row). Its own stream's previous token is
    BOS all the same: nothing sounds yet."""
    check_eval(model)
    device = model.head.weight.device
    tokens = torch.empty((batch_size, 1), dtype=torch.long, device=device)  # (B, 1)
    tokens[:, 0] = torch.as_tensor(start, device=device)
    length = min(model.config.max_len, 1 + 2 * num_frames)
    cache = model.new_cache(batch_size, length) if use_cache else None
    previous = torch.full((batch_size,), BOS, dtype=torch.long, device=device)
    return Voice(model, cache, tokens, 1, previous)


def _slide(voice: Voice) -> None:
    """Restart a full stream as its start token + its last half window, all unread."""
    config = voice.model.config
    keep = 2 * (config.max_frames // 2)
    voice.tokens = torch.cat([voice.tokens[:, :1], voice.tokens[:, -keep:]], dim=1)
    voice.unread = voice.tokens.shape[1]
    if voice.cache is not None:
        voice.cache = voice.model.new_cache(voice.tokens.shape[0], config.max_len)


def listen(voice: Voice) -> None:
    """Read the voice's unread tokens; sets ``hidden`` and ``logits`` for its next token."""
    if voice.tokens.shape[1] >= voice.model.config.max_len:
        _slide(voice)
    if voice.cache is None:
        hidden = voice.model.hidden(voice.tokens)  # (B, L, C)
    else:
        hidden = voice.model.hidden(voice.tokens[:, -voice.unread :], voice.cache)
    voice.hidden = hidden[:, -1]  # (B, C)
    voice.logits = voice.model.head(voice.hidden)  # (B, V)
    voice.unread = 0


def hear(voice: Voice, own: torch.Tensor, other: torch.Tensor) -> None:
    """Append one frame: the voice's own token (B,) and then the other stream's (B,)."""
    voice.tokens = torch.cat([voice.tokens, torch.stack([own, other], dim=1)], dim=1)
    voice.unread += 2
    voice.previous = own


def draw(voice: Voice, sampling: SamplingConfig, generator: torch.Generator | None
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(token (B,), allowed (B, V)): the voice's next own token, drawn among the valid
    ones from the logits ``listen`` left."""
    if voice.logits is None:
        raise ValueError("a voice draws only after it has listened")
    allowed = allowed_mask(voice.model.spec, voice.model.own_stream, voice.previous)
    token = sample_tokens(voice.logits, allowed, sampling.temperature, sampling.top_k,
                          sampling.top_p, generator)
    return token, allowed


@dataclass(frozen=True)
class Partner:
    """A second online model that plays the other stream (the melody agent)."""

    model: OnlineModel
    from_frame: int = 0
    """it draws from this frame on (before it, only the given tokens are heard); a draw
    covers the whole batch, so the random stream does not depend on ``takes``"""
    takes: torch.Tensor | None = None
    """(B, T) bool: where its token replaces the given one (None: everywhere it draws)"""


@dataclass(frozen=True)
class Played:
    """What a loop played: the model's stream and the other stream as heard."""

    own: torch.Tensor  # (B, T) the model's tokens
    heard: torch.Tensor  # (B, T) the other stream: given, or the partner's
    log_probs: torch.Tensor | None = None  # (B, T) masked log-prob of each own token
    hidden: torch.Tensor | None = None  # (B, T, C) the state that chose each own token


@torch.no_grad()
def play_frames(
    model: OnlineModel,
    given: torch.Tensor,  # (B, T) the other stream's tokens (where no partner plays)
    sampling: SamplingConfig = SAMPLE,
    generator: torch.Generator | None = None,
    partner: Partner | None = None,
    use_cache: bool = True,
    record: bool = False,
    start: torch.Tensor | int = BOS,
) -> Played:
    """``model`` plays its stream against ``given`` (and ``partner``), frame by frame;
    with ``record``, also each own token's log-prob and the hidden state that chose it.
    ``start`` opens the model's stream (its style, ``cojam.models.online``; the partner's
    opens with BOS)."""
    given = torch.as_tensor(given, dtype=torch.long).to(model.head.weight.device)
    B, T = given.shape
    voices = [start_voice(model, B, T, use_cache, start)]
    if partner is not None:
        voices.append(start_voice(partner.model, B, T, use_cache))
    takes = None if partner is None or partner.takes is None else partner.takes.to(given.device)
    own, heard = torch.empty_like(given), given.clone()
    log_probs = torch.zeros(B, T, device=given.device) if record else None
    hidden = torch.zeros(B, T, model.config.d_model, device=given.device) if record else None
    for t in range(T):
        for voice in voices:
            listen(voice)
        token, allowed = draw(voices[0], sampling, generator)
        other = given[:, t]
        if partner is not None and t >= partner.from_frame:
            played, _ = draw(voices[1], sampling, generator)
            other = played if takes is None else torch.where(takes[:, t], played, other)
        own[:, t], heard[:, t] = token, other
        if log_probs is not None and hidden is not None:
            log_p = masked_log_softmax(voices[0].logits, allowed)  # (B, V)
            log_probs[:, t] = log_p.gather(1, token[:, None])[:, 0]
            hidden[:, t] = voices[0].hidden
        hear(voices[0], token, other)
        if partner is not None:
            hear(voices[1], other, token)
    return Played(own, heard, log_probs, hidden)
