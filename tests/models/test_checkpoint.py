"""Run directories: safetensors + JSON only, loadable from the two files alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from cojam.data.tokens import TokenSpec
from cojam.models.checkpoint import (
    build_model,
    load_model,
    load_training_state,
    save_run,
    save_training_state,
)
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.teacher import TeacherConfig, TeacherModel

SMALL = OnlineConfig(d_model=32, n_layers=1, n_heads=2, max_frames=8)


@pytest.mark.parametrize("kind", ["online", "melody", "teacher"])
def test_a_run_loads_from_config_and_weights_alone(tmp_path: Path, tiny_spec: TokenSpec,
                                                   kind: str) -> None:
    if kind == "teacher":
        config = TeacherConfig(d_model=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2)
    else:
        config = OnlineConfig(role="melody" if kind == "melody" else "accompanist",
                              d_model=32, n_layers=1, n_heads=2)
    model = build_model(kind, tiny_spec, config)
    save_run(tmp_path / "run", model, {"note": "anything JSON"})
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tmp_path / "run" / name, alone / name)
    loaded = load_model(alone)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.spec == tiny_spec and not loaded.training
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    assert not list(alone.glob("*.pt")) and not list(alone.glob("*.pkl"))
    assert (alone / "model.safetensors").read_bytes()[8:9] == b"{"  # a safetensors header


def test_role_must_match_kind(tiny_spec: TokenSpec) -> None:
    with pytest.raises(ValueError, match="role"):
        build_model("melody", tiny_spec, SMALL)


def test_missing_files_are_clear_errors(tmp_path: Path, tiny_spec: TokenSpec) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path)
    model = OnlineModel(tiny_spec, SMALL)
    save_run(tmp_path, model)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_model(tmp_path)


def test_training_state_round_trip(tmp_path: Path, tiny_spec: TokenSpec) -> None:
    torch.manual_seed(0)
    model = TeacherModel(tiny_spec, TeacherConfig(d_model=32, n_encoder_layers=1,
                                                  n_decoder_layers=1, n_heads=2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    melody = torch.full((2, 4), tiny_spec.melody_silence)
    chords = torch.full((2, 4), tiny_spec.chord_silence)
    model.frame_logits(melody, chords).sum().backward()
    optimizer.step()
    save_training_state(tmp_path / "state.safetensors", model, optimizer, {"step": 1, "x": 0.5})

    torch.manual_seed(1)
    fresh = TeacherModel(tiny_spec, model.config)
    fresh_optimizer = torch.optim.AdamW(fresh.parameters(), lr=1e-3, betas=(0.9, 0.95))
    scalars = load_training_state(tmp_path / "state.safetensors", fresh, fresh_optimizer)
    assert scalars == {"step": 1, "x": 0.5}
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
        old, new = optimizer.state[a], fresh_optimizer.state[b]
        assert torch.equal(old["exp_avg"], new["exp_avg"]) and torch.equal(old["step"], new["step"])
    assert fresh_optimizer.param_groups[0]["betas"] == (0.9, 0.95)
