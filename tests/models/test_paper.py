"""The paper recipe (d_model 512, 8 layers, 8 heads, 512 tokens) builds and trains as is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_helpers import write_cache

from cojam.data.tokens import TokenSpec
from cojam.models.checkpoint import build_model, load_model
from cojam.models.generate import generate_accompaniment
from cojam.models.train import load_run_section, train


@pytest.mark.parametrize("kind", ["online", "teacher"])  # the melody agent is the online model
def test_paper_models_build_and_run(tiny_spec: TokenSpec, kind: str) -> None:
    section = load_run_section("paper", kind)
    model = build_model(kind, tiny_spec, section.model).eval()
    blocks = sum(p.numel() for n, p in model.named_parameters() if "blocks" in n)
    expected = 8 * 12 * 512**2 if kind != "teacher" else (8 * 12 + 8 * 16) * 512**2
    assert blocks == pytest.approx(expected, rel=0.01)  # 25M online, 59M teacher
    assert section.model.max_frames == 256 and section.train.batch_size == 64
    if kind == "online":
        melody = torch.full((1, 3), tiny_spec.melody_silence)
        assert generate_accompaniment(model, melody).shape == (1, 3)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["online", "teacher"])
def test_paper_recipe_trains_one_step_unchanged(tmp_path: Path, kind: str) -> None:
    # 64 songs of 64 bars: full 256-frame windows, a full batch of 64
    cache = write_cache(tmp_path / "cache", {"train": 64, "valid": 2, "test": 1}, bars=64)
    summary = train(kind, cache, tmp_path / "run", "paper", max_steps=1, progress=False,
                    log=lambda _: None)
    assert summary["steps"] == 1
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["batch_size"] == 64 and config["model"]["d_model"] == 512
    assert load_model(tmp_path / "run").config.n_heads == 8
