"""A KV cache with a length per row, and one batched step of rows at different positions.

``KVCache`` keeps one length for the whole batch: every row sits at the same position,
which suits generation and rollouts (rows step in lockstep) but not live sessions, each
of which is at its own point in its own song and re-plans a different number of tokens
per tick. ``RowCache`` keeps ``lengths`` (B,), and ``step_rows`` feeds each row its own
number of new tokens (``counts``, padded to the longest) at its own positions, so several
sessions can share one model call. A row's logits are those of stepping it alone.

It runs the online model's own blocks and weights; only the attention step differs from
``Attention.forward``: rotary positions, cache writes and the causal mask are per row.
"""

from __future__ import annotations

import weakref
from collections.abc import Generator
from dataclasses import dataclass
from itertools import accumulate
from typing import TypeVar

import torch
import torch.nn.functional as F

from cojam.models.online import OnlineModel, stream_style, style_vectors
from cojam.models.transformer import Attention, KVCache, apply_rotary


@dataclass
class RowCache:
    """Keys and values of every layer, (B, H, max_len, D) each; row b holds positions
    ``0 .. lengths[b] - 1``."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    lengths: torch.Tensor  # (B,) long
    style: torch.Tensor | None = None  # (B, C): the rows' style vectors (``style_bias``)

    @property
    def max_len(self) -> int:
        return self.keys[0].shape[2]

    def truncate(self, row: int, length: int) -> None:
        """Forget row ``row``'s positions >= ``length`` (re-plan from a prefix)."""
        if not 0 <= length <= int(self.lengths[row]):
            raise ValueError(f"cannot truncate row {row} of length "
                             f"{int(self.lengths[row])} to {length}")
        self.lengths[row] = length


def new_row_cache(model: OnlineModel, batch_size: int, max_len: int | None = None
                  ) -> RowCache:
    """An empty cache for ``batch_size`` rows of up to ``max_len`` tokens each."""
    config, weight = model.config, model.head.weight
    shape = (batch_size, config.n_heads, max_len or config.max_len,
             config.d_model // config.n_heads)
    keys = [torch.zeros(shape, device=weight.device, dtype=weight.dtype)
            for _ in range(config.n_layers)]
    values = [torch.zeros_like(k) for k in keys]
    lengths = torch.zeros(batch_size, dtype=torch.long, device=weight.device)
    return RowCache(keys, values, lengths)


def _attend(attention: Attention, x: torch.Tensor, rope: tuple[torch.Tensor, ...],
            keys: torch.Tensor, values: torch.Tensor, write: tuple[torch.Tensor, ...],
            visible: torch.Tensor) -> torch.Tensor:
    """Self-attention of (B, T, C) queries over a row cache's (B, H, S, D) keys/values,
    after writing the new keys/values where ``write`` (rows, steps, positions) says."""
    B, T, C = x.shape
    q = apply_rotary(attention._heads(attention.query(x)), *rope)  # (B, H, T, D)
    k, v = attention.keys_values(x, rope)  # (B, H, T, D)
    rows, steps, positions = write
    keys[rows, :, positions] = k[rows, :, steps]
    values[rows, :, positions] = v[rows, :, steps]
    y = F.scaled_dot_product_attention(q, keys, values, attn_mask=visible)  # (B, H, T, D)
    return attention.dropout(attention.out(y.transpose(1, 2).reshape(B, T, C)))


def step_rows(model: OnlineModel, cache: RowCache, tokens: torch.Tensor,
              counts: torch.Tensor) -> torch.Tensor:
    """Feed row b its first ``counts[b]`` tokens of ``tokens`` (B, T) at positions
    ``lengths[b] ..``; returns (B, T, V) logits (those past a row's count are padding)
    and advances each row's length by its count."""
    B, T = tokens.shape
    device = tokens.device
    if bool((cache.lengths + counts > cache.max_len).any()):
        raise ValueError(f"row cache full: lengths {cache.lengths.tolist()} + counts "
                         f"{counts.tolist()} > max_len {cache.max_len}")
    positions = cache.lengths[:, None] + torch.arange(T, device=device)  # (B, T)
    cos, sin = model.stack.rope(0, int(positions.max()) + 1, device)
    rope = (cos[positions][:, None], sin[positions][:, None])  # (B, 1, T, D) each
    real = torch.arange(T, device=device)[None, :] < counts[:, None]  # (B, T)
    rows, steps = torch.nonzero(real, as_tuple=True)
    write = (rows, steps, positions[rows, steps])
    slots = torch.arange(cache.max_len, device=device)  # (S,)
    visible = (slots[None, None, :] <= positions[:, :, None])[:, None]  # (B, 1, T, S)
    x = model.embed(tokens)  # (B, T, C)
    if model.style_bias is not None:  # rows that open here read their style
        if cache.style is None:
            cache.style = torch.zeros(B, x.shape[-1], device=device, dtype=x.dtype)
        opening = cache.lengths == 0
        cache.style[opening] = style_vectors(model, tokens[opening, 0])
        x = x + cache.style[:, None]
    x = model.dropout(x)
    for layer, block in enumerate(model.stack.blocks):
        x = x + _attend(block.self_attention, block.norm_self(x), rope, cache.keys[layer],
                        cache.values[layer], write, visible)
        x = x + block.mlp(block.norm_mlp(x))
    cache.lengths += counts
    return model.head(model.stack.norm(x))  # (B, T, V)


@dataclass
class Forward:
    """A request for one model call: run ``tokens`` on ``cache`` (at positions
    ``cache.length ..``, advancing it); answered with their (len(tokens), V) logits.

    A decoder that yields these instead of calling the model lets a scheduler choose
    where the call happens: alone (``forward_alone``) or together with other sequences'
    requests, each on its own cache (``forward_together``)."""

    cache: KVCache
    tokens: list[int]


@torch.inference_mode()
def forward_alone(model: OnlineModel, request: Forward) -> torch.Tensor:
    """The request's (n, V) logits from one call of the model on its cache: the same
    numbers as ``model(tokens, cache)`` (the same kernels on the same shapes), through
    the lean path of ``forward_together``."""
    return forward_together(model, [request])[0]


Result = TypeVar("Result")


def serve_alone(steps: Generator[Forward | None, torch.Tensor | None, Result],
                model: OnlineModel) -> Result:
    """Run a decoder that asks for its model calls (yields ``Forward`` requests, and may
    yield None to pause) to its end, serving every call alone; its return value."""
    answer = None
    while True:
        try:
            request = steps.send(answer)
        except StopIteration as done:
            return done.value
        answer = None if request is None else forward_alone(model, request)


@torch.inference_mode()
def forward_together(model: OnlineModel, requests: list[Forward]) -> list[torch.Tensor]:
    """Every request's (n_i, V) logits from one pass of the model: the embeddings,
    projections, MLPs and head run once over all requests' tokens side by side (N, C);
    only attention runs per request, on that request's own cache, exactly as
    ``Attention.forward`` does. So sequences of different lengths, each with its own
    cache, share one pass without padding or copying any cache.

    It calls the kernels of the model's modules directly (``torch.nn.functional``), not
    the modules: a live call on a small model costs mostly per-operation overhead, and
    a module call adds to every operation's. The arithmetic is the modules' own.

    The logits equal ``forward_alone``'s up to float rounding: a matrix product over N
    rows may round a row differently from one over that row's n (differences ~1e-6)."""
    if len({id(r.cache) for r in requests}) != len(requests):
        raise ValueError("two requests on the same cache cannot be served together")
    for r in requests:
        if not r.tokens or r.cache.batch_size != 1:
            raise ValueError(f"a request needs tokens and a one-row cache, got "
                             f"{len(r.tokens)} tokens on a cache of {r.cache.batch_size} rows")
        if r.cache.length + len(r.tokens) > r.cache.max_len:
            raise ValueError(f"KV cache full: {r.cache.length} + {len(r.tokens)} > max_len "
                             f"{r.cache.max_len}")
    device = model.head.weight.device
    counts = [len(r.tokens) for r in requests]
    starts = [r.cache.length for r in requests]
    if len(requests) == 1:  # one request: its positions are one slice of the table
        tokens = torch.tensor([requests[0].tokens], device=device)  # (1, N)
        rope = model.stack.rope(starts[0], counts[0], device)  # (N, D) each
    else:
        tokens = torch.tensor([[t for r in requests for t in r.tokens]], device=device)
        positions = torch.tensor([s + i for s, n in zip(starts, counts, strict=True)
                                  for i in range(n)], device=device)  # (N,)
        cos, sin = model.stack.rope(0, int(positions.max()) + 1, device)
        rope = (cos[positions], sin[positions])  # (N, D) each
    # query i of a request at position p sees keys 0 .. p: rows of one lower triangle
    visible = _lower_triangle(max(r.cache.max_len for r in requests), device)
    training = model.training
    x = F.embedding(tokens, model.embed.weight, model.embed.padding_idx)  # (1, N, C)
    if model.style_bias is not None:
        firsts = [0, *accumulate(counts[:-1])]  # each request's first token in ``tokens``
        x = x + torch.cat([stream_style(model, tokens[0, i:i + 1], r.cache).expand(n, -1)
                           for r, n, i in zip(requests, counts, firsts, strict=True)])[None]
    x = _dropout(x, model.dropout.p, training)
    for layer, block in enumerate(model.stack.blocks):
        x = x + _attend_each(block.self_attention, _norm(block.norm_self, x), rope,
                             [r.cache for r in requests], counts, layer, visible, training)
        mlp = block.mlp
        hidden = F.gelu(F.linear(_norm(block.norm_mlp, x), mlp.up.weight, mlp.up.bias))
        x = x + _dropout(F.linear(hidden, mlp.down.weight, mlp.down.bias), mlp.dropout.p,
                         training)
    for r, n in zip(requests, counts, strict=True):
        r.cache.length += n
    logits = F.linear(_norm(model.stack.norm, x), model.head.weight)[0]  # (N, V)
    return list(logits.split(counts)) if len(requests) > 1 else [logits]


def _norm(norm: torch.nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout as the model's modules apply it; in evaluation (live) it is no operation
    at all, not even a call."""
    return F.dropout(x, p, training=True) if training else x


_TRIANGLES: dict[tuple[int, str], torch.Tensor] = {}


def _lower_triangle(size: int, device: torch.device) -> torch.Tensor:
    """(size, size) float, 0 on and below the diagonal and -inf above: the additive form
    of the causal mask ``Attention.forward`` builds (a boolean mask is turned into
    exactly this inside attention, two operations per call); built once per size and
    device (every pass slices its masks from it)."""
    key = (size, str(device))
    if key not in _TRIANGLES:
        _TRIANGLES[key] = torch.full((size, size), float("-inf"), device=device).triu(1)
    return _TRIANGLES[key]


_FUSED: weakref.WeakKeyDictionary[Attention, tuple[tuple[int, ...], torch.Tensor]] = (
    weakref.WeakKeyDictionary())


def _fused_projection(attention: Attention) -> torch.Tensor:
    """(3C, C): the query and key/value weights stacked, built once per set of weights
    (rebuilt when either changes: training steps and loads bump their versions)."""
    query, key_value = attention.query.weight, attention.key_value.weight
    stamp = (query.data_ptr(), query._version, key_value.data_ptr(), key_value._version)
    fused = _FUSED.get(attention)
    if fused is None or fused[0] != stamp:
        fused = _FUSED[attention] = (stamp, torch.cat([query, key_value]).detach())
    return fused[1]


def _attend_each(attention: Attention, x: torch.Tensor, rope: tuple[torch.Tensor, ...],
                 caches: list[KVCache], counts: list[int], layer: int,
                 visible: torch.Tensor, training: bool) -> torch.Tensor:
    """Self-attention of (1, N, C) queries, request by request over its own cache: the
    projections and rotations run once, the cache writes and attention per request, with
    the masks of ``Attention.forward`` (none for one query, causal from position 0, else
    the rows ``start ..`` of the lower triangle ``visible``)."""
    _, N, C = x.shape
    H, D = attention.config.n_heads, attention.config.head_dim
    # queries, keys and values in one product (each output column is the same dot
    # product as in the two projections), and queries and keys rotated in one go
    qkv = F.linear(x, _fused_projection(attention)).view(1, N, 3, H, D).permute(2, 0, 3, 1, 4)
    q, k = apply_rotary(qkv[:2], *rope)  # (1, H, N, D) each
    v = qkv[2]  # (1, H, N, D)
    if len(caches) == 1:
        rows = [(caches[0], counts[0], q, k, v)]
    else:
        rows = zip(caches, counts, q.split(counts, dim=2), k.split(counts, dim=2),
                   v.split(counts, dim=2), strict=True)
    outputs = []
    for cache, T, q_row, k_row, v_row in rows:
        start, end = cache.length, cache.length + T
        keys, values = cache.keys[layer], cache.values[layer]
        keys[:, :, start:end] = k_row
        values[:, :, start:end] = v_row
        mask = visible[start:end, :end] if T > 1 and start > 0 else None
        outputs.append(F.scaled_dot_product_attention(
            q_row, keys[:, :, :end], values[:, :, :end], attn_mask=mask,
            is_causal=T > 1 and start == 0))  # (1, H, T, D)
    y = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]  # (1, H, N, D)
    return _dropout(F.linear(y.transpose(1, 2).reshape(1, N, C), attention.out.weight),
                    attention.dropout.p, training)
