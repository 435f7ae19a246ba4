"""The one transformer block every cojam model is built from, and its key/value cache.

A ``Block`` is pre-norm::

    x = x + self_attention(norm(x))            # causal (decoders) or bidirectional (encoder)
    x = x + cross_attention(norm(x), memory)   # only in the teacher's decoder
    x = x + mlp(norm(x))

with dropout on each residual branch (not on attention weights: that would force
PyTorch's slow unfused attention on CPU, about twice the step time). The online accompanist and
the melody agent are stacks of causal blocks; the offline teacher is a stack of
bidirectional blocks (encoder) under a stack of causal blocks with cross-attention
(decoder). There is no second block implementation.

Positions are rotary (RoPE), applied to queries and keys inside attention, never added to
the embeddings. Why rotary: attention then depends only on relative offsets, so a
``KVCache`` can append at any position and be truncated to re-plan from a prefix, there is
no position table to outgrow, and in the teacher's cross-attention decoder step t and
melody frame t share position t, so "the melody note under this chord" is offset 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BlockConfig:
    """Sizes shared by all blocks of one stack."""

    d_model: int
    n_heads: int
    mlp_ratio: int = 4
    dropout: float = 0.1
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"d_model {self.d_model} must split into {self.n_heads} heads of even size"
            )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


class KVCache:
    """Preallocated keys and values of every self-attention layer, for incremental decoding.

    ``keys[l]`` and ``values[l]`` are (B, n_heads, max_len, head_dim); positions
    ``0 .. length-1`` are filled. A forward pass with the cache appends its tokens at
    positions ``length ..`` and then advances ``length``. ``cross`` holds the teacher
    decoder's per-layer (keys, values) of the encoded melody, computed once.
    """

    def __init__(
        self, n_layers: int, batch_size: int, n_heads: int, max_len: int, head_dim: int,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
    ):
        shape = (batch_size, n_heads, max_len, head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.cross: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.length = 0
        self.style: torch.Tensor | None = None  # (B, C): an online model's style vectors

    @property
    def max_len(self) -> int:
        return self.keys[0].shape[2]

    @property
    def batch_size(self) -> int:
        return self.keys[0].shape[0]

    def truncate(self, length: int) -> None:
        """Forget positions >= ``length`` (re-plan from a prefix)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot truncate a cache of length {self.length} to {length}")
        self.length = length

    def copy(self) -> KVCache:
        new = KVCache.__new__(KVCache)
        new.keys = [k.clone() for k in self.keys]
        new.values = [v.clone() for v in self.values]
        new.cross = list(self.cross)  # read-only once computed, so shared
        new.length = self.length
        new.style = self.style  # read-only once set, so shared
        return new


def rotary(positions: torch.Tensor, head_dim: int, base: float) -> tuple[torch.Tensor, ...]:
    """(cos, sin), each (T, head_dim), for integer ``positions`` (T,)."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=positions.device) / head_dim)
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, head_dim/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, head_dim)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, T, D) queries or keys by their positions' angles."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Multi-head attention with rotary positions: self-attention (optionally causal, with a
    cache) or cross-attention from queries to precomputed memory keys/values."""

    def __init__(self, config: BlockConfig, causal: bool):
        super().__init__()
        self.config = config
        self.causal = causal
        self.query = nn.Linear(config.d_model, config.d_model, bias=False)
        self.key_value = nn.Linear(config.d_model, 2 * config.d_model, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.config.n_heads, self.config.head_dim).transpose(1, 2)

    def keys_values(self, x: torch.Tensor, rope: tuple[torch.Tensor, ...]
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotated keys and values (B, H, S, D) of a source sequence (B, S, C)."""
        k, v = self.key_value(x).split(self.config.d_model, dim=-1)
        return apply_rotary(self._heads(k), *rope), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, C)
        rope: tuple[torch.Tensor, ...],  # query positions' (cos, sin)
        keys_values: tuple[torch.Tensor, torch.Tensor] | None = None,  # cross: memory (k, v)
        key_mask: torch.Tensor | None = None,  # (B, S) True = may be attended
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        B, T, C = x.shape
        q = apply_rotary(self._heads(self.query(x)), *rope)  # (B, H, T, D)
        mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, S)
        causal = False
        if keys_values is not None:
            k, v = keys_values  # cross-attention: every memory position is visible
        else:
            k, v = self.keys_values(x, rope)
            start = 0
            if cache is not None:
                start = cache.length
                if start + T > cache.max_len:
                    raise ValueError(f"KV cache full: {start} + {T} > max_len {cache.max_len}")
                cache.keys[layer][:, :, start : start + T] = k
                cache.values[layer][:, :, start : start + T] = v
                k = cache.keys[layer][:, :, : start + T]
                v = cache.values[layer][:, :, : start + T]
            if self.causal and T > 1:
                if start == 0 and mask is None:
                    causal = True
                else:  # query i sits at position start + i and sees keys 0 .. start + i
                    visible = torch.ones(T, start + T, dtype=torch.bool, device=x.device)
                    visible = visible.tril(diagonal=start)
                    mask = visible if mask is None else mask & visible
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        # y: (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.dropout(self.out(y))


class MLP(nn.Module):
    def __init__(self, config: BlockConfig):
        super().__init__()
        self.up = nn.Linear(config.d_model, config.mlp_ratio * config.d_model)
        self.down = nn.Linear(config.mlp_ratio * config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention, MLP."""

    def __init__(self, config: BlockConfig, causal: bool, cross: bool = False):
        super().__init__()
        self.norm_self = nn.LayerNorm(config.d_model)
        self.self_attention = Attention(config, causal=causal)
        self.norm_cross = nn.LayerNorm(config.d_model) if cross else None
        self.cross_attention = Attention(config, causal=False) if cross else None
        self.norm_mlp = nn.LayerNorm(config.d_model)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, C)
        rope: tuple[torch.Tensor, ...],
        key_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        memory_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.self_attention(self.norm_self(x), rope, key_mask=key_mask, cache=cache,
                                    layer=layer)
        if self.cross_attention is not None:
            if self.norm_cross is None or memory_kv is None:
                raise ValueError("a block with cross-attention needs the encoder's memory")
            x = x + self.cross_attention(self.norm_cross(x), rope, keys_values=memory_kv,
                                         key_mask=memory_mask)
        return x + self.mlp(self.norm_mlp(x))


class Stack(nn.Module):
    """``n_layers`` blocks and a final norm over embeddings (B, T, C) -> (B, T, C).

    ``causal`` stacks may use a ``KVCache``; ``cross`` stacks attend to a ``memory``
    (B, S, C) whose position s is rotary position s.
    """

    def __init__(self, config: BlockConfig, n_layers: int, causal: bool, cross: bool = False):
        super().__init__()
        self.config = config
        self.n_layers = n_layers
        self.causal = causal
        self.blocks = nn.ModuleList(Block(config, causal, cross) for _ in range(n_layers))
        self.norm = nn.LayerNorm(config.d_model)
        self._rope_table: tuple[torch.Tensor, torch.Tensor] | None = None

    def rope(self, start: int, length: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        """(cos, sin) of positions ``start .. start+length-1``, sliced from a table computed
        once per device (and regrown when a longer sequence comes): live decoding calls
        the stack once per token, and rebuilding the angles each call was a fifth of
        its cost at cpu-small size. Not a buffer, so checkpoints do not carry it."""
        table = self._rope_table
        end = start + length
        if table is None or table[0].shape[0] < end or table[0].device != device:
            size = max(end, 1024, 0 if table is None else 2 * table[0].shape[0])
            table = rotary(torch.arange(size, device=device), self.config.head_dim,
                           self.config.rope_base)
            self._rope_table = table
        return table[0][start:end], table[1][start:end]

    def new_cache(self, batch_size: int, max_len: int, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> KVCache:
        if not self.causal:
            raise ValueError("a bidirectional stack cannot decode incrementally")
        return KVCache(self.n_layers, batch_size, self.config.n_heads, max_len,
                       self.config.head_dim, device, dtype)

    def memory_keys_values(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each cross-attention layer's rotated (keys, values) of ``memory`` (B, S, C)."""
        rope = self.rope(0, memory.shape[1], memory.device)
        return [block.cross_attention.keys_values(memory, rope) for block in self.blocks]

    def forward(
        self,
        x: torch.Tensor,  # (B, T, C)
        key_mask: torch.Tensor | None = None,  # (B, T) padding mask, bidirectional stacks
        cache: KVCache | None = None,
        memory: torch.Tensor | None = None,  # (B, S, C)
        memory_mask: torch.Tensor | None = None,  # (B, S)
    ) -> torch.Tensor:
        start = 0 if cache is None else cache.length
        rope = self.rope(start, x.shape[1], x.device)
        memory_kv: list = [None] * self.n_layers
        if memory is not None or (cache is not None and cache.cross):
            if cache is not None and cache.cross:
                memory_kv = cache.cross
            else:
                assert memory is not None
                memory_kv = self.memory_keys_values(memory)
                if cache is not None:
                    cache.cross = memory_kv
        for layer, block in enumerate(self.blocks):
            x = block(x, rope, key_mask, cache, layer, memory_kv[layer], memory_mask)
        if cache is not None:
            cache.length += x.shape[1]
        return self.norm(x)


def init_weights(module: nn.Module, n_layers: int) -> None:
    """GPT-2 initialisation: N(0, 0.02), residual output projections scaled by depth."""
    for name, param in module.named_parameters():
        if param.dim() >= 2:
            std = 0.02
            if name.endswith("out.weight") or name.endswith("down.weight"):
                std = 0.02 / math.sqrt(2 * n_layers)
            nn.init.normal_(param, mean=0.0, std=std)
        elif name.endswith("bias"):
            nn.init.zeros_(param)
