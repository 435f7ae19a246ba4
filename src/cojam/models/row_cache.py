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

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cojam.models.online import OnlineModel
from cojam.models.transformer import Attention, apply_rotary


@dataclass
class RowCache:
    """Keys and values of every layer, (B, H, max_len, D) each; row b holds positions
    ``0 .. lengths[b] - 1``."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    lengths: torch.Tensor  # (B,) long

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
    x = model.dropout(model.embed(tokens))  # (B, T, C)
    for layer, block in enumerate(model.stack.blocks):
        x = x + _attend(block.self_attention, block.norm_self(x), rope, cache.keys[layer],
                        cache.values[layer], write, visible)
        x = x + block.mlp(block.norm_mlp(x))
    cache.lengths += counts
    return model.head(model.stack.norm(x))  # (B, T, V)
