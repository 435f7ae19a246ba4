"""Trained models as systems: ``generate_rows`` over batches of pieces.

Pieces are sorted by length and batched, each batch padded (``PAD``) to its longest
piece; the online model is causal, so padding after a piece's end cannot change its
chords, and the teacher masks padding in its encoder. Outputs are cut back to each
piece's length and returned in the caller's order. One ``torch.Generator`` seeded with
the pass's seed drives all sampling, so a pass is repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cojam.data.tokens import TokenSpec
from cojam.eval.pieces import Piece, System
from cojam.models.checkpoint import Model, kind_of, load_model, read_config
from cojam.models.generate import generate_rows
from cojam.models.online import CORPUS
from cojam.models.sampling import SamplingConfig


@dataclass(frozen=True)
class Sampling:
    """How model systems sample (the same for every model of a run of the suite)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    batch_size: int = 32
    style: str = CORPUS
    """the style online accompanists play in (``cojam.models.online``)"""


def batched_generation(
    model: Model, pieces: Sequence[Piece], seed: int, sampling: Sampling
) -> list[np.ndarray]:
    """One chord row per piece from ``model`` (online accompanist or teacher)."""
    generator = torch.Generator(device=model.head.weight.device).manual_seed(seed)
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].num_frames)
    batches = [order[start : start + sampling.batch_size]
               for start in range(0, len(order), sampling.batch_size)]
    settings = SamplingConfig(sampling.temperature, sampling.top_k, sampling.top_p)
    return generate_rows(model, [p.melody for p in pieces], batches, settings, generator,
                         sampling.style)


def model_system(model: Model, sampling: Sampling) -> System:
    def accompany(pieces: Sequence[Piece], seed: int) -> list[np.ndarray]:
        return batched_generation(model, pieces, seed, sampling)

    return accompany


def pooled_system(systems: Sequence[System]) -> System:
    """Several runs of one recipe (seeds) as one system: the pass seeded ``s`` is played by
    run ``s mod n``, so ``n`` consecutive passes hear every run once and the intervals over
    passes cover the spread between training seeds as well as sampling."""

    def accompany(pieces: Sequence[Piece], seed: int) -> list[np.ndarray]:
        return systems[seed % len(systems)](pieces, seed)

    return accompany


def load_accompanist(
    run_dir: Path, spec: TokenSpec, device: str = "cpu"
) -> tuple[Model, dict[str, Any]]:
    """(model, facts for the report) of a run that plays chords; the model must share the
    data's token spec, since pieces are tokenised with it."""
    model = load_model(run_dir, device)
    kind = kind_of(model)
    if kind == "melody":
        raise ValueError(f"{run_dir} is a melody agent; pass it with --melody-agent, not --model")
    if model.spec != spec:
        raise ValueError(f"{run_dir}: the model's token vocabulary differs from the data's "
                         "vocab.json (trained on another cache?)")
    config = read_config(run_dir)
    facts = {"run": str(run_dir), "kind": kind, "recipe": config.get("recipe", "unknown"),
             "git_commit": config.get("git_commit") or "unknown",
             "max_frames": model.config.max_frames,
             "parameters": sum(p.numel() for p in model.parameters())}
    return model, facts


def parse_model_arg(text: str) -> tuple[str, Path | tuple[Path, ...]]:
    """``NAME=RUN``, ``NAME=RUN,RUN,...`` (seeds of one recipe, pooled) or ``RUN`` (named
    after the run directory)."""
    name, sep, run = text.partition("=")
    if sep and name and "/" not in name:
        runs = tuple(Path(r) for r in run.split(",") if r)
        if not runs:
            raise ValueError(f"--model {text}: no run directory after '='")
        return (name, runs[0]) if len(runs) == 1 else (name, runs)
    path = Path(text)
    return path.resolve().name, path
