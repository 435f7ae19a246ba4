"""Run directories: weights in safetensors, configuration in JSON, never pickle.

A run directory holds:

- ``config.json`` — ``kind`` (online, melody or teacher), the model config, the token
  spec, and whatever the trainer adds (train config, recipe, seed, git commit);
- ``model.safetensors`` — the weights (the best on validation, for a training run);
- ``state.safetensors`` — only while training: the latest weights and optimizer tensors,
  with the trainer's scalars as JSON in the file's metadata, so a killed run resumes.

``load_model(run_dir)`` needs only the first two files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cojam.configs import from_dict
from cojam.data.tokens import TokenSpec
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.teacher import TeacherConfig, TeacherModel

KINDS = ("online", "melody", "teacher")
Model = OnlineModel | TeacherModel


def kind_of(model: Model) -> str:
    if isinstance(model, TeacherModel):
        return "teacher"
    return "online" if model.config.role == "accompanist" else "melody"


def build_model(kind: str, spec: TokenSpec, config: OnlineConfig | TeacherConfig) -> Model:
    """A freshly initialised model of ``kind``; the config's role must match the kind."""
    if kind == "teacher":
        assert isinstance(config, TeacherConfig)
        return TeacherModel(spec, config)
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {KINDS}")
    assert isinstance(config, OnlineConfig)
    role = "accompanist" if kind == "online" else "melody"
    if config.role != role:
        raise ValueError(f"a {kind!r} model needs role {role!r}, got {config.role!r}")
    return OnlineModel(spec, config)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_config(run_dir: Path, model: torch.nn.Module, extra: dict[str, Any] | None = None,
                kind: str | None = None) -> None:
    """Write ``config.json``: kind (by default that of a generative model), the model's
    ``config`` dataclass, its token ``spec`` and ``extra``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {"kind": kind or kind_of(model), "model": dataclasses.asdict(model.config),
            "spec": model.spec.to_dict(), **(extra or {})}
    _atomic_write_text(run_dir / "config.json", json.dumps(data, indent=1) + "\n")


def save_weights(run_dir: Path, model: torch.nn.Module) -> None:
    path = Path(run_dir) / "model.safetensors"
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, path)


def save_run(run_dir: Path, model: Model, extra: dict[str, Any] | None = None) -> None:
    """Write a loadable run directory: ``config.json`` and ``model.safetensors``."""
    save_config(run_dir, model, extra)
    save_weights(run_dir, model)


def read_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.json)")
    return json.loads(path.read_text())


def load_model(run_dir: Path, device: torch.device | str = "cpu") -> Model:
    """The model saved in ``run_dir`` (config.json + model.safetensors), in eval mode."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    kind = config.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{run_dir}/config.json: unknown kind {kind!r}")
    config_class = TeacherConfig if kind == "teacher" else OnlineConfig
    model_config = from_dict(config_class, config["model"], f"{run_dir}/config.json: model")
    model = build_model(kind, TokenSpec.from_dict(config["spec"]), model_config)
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{run_dir} has no model.safetensors (no checkpoint yet)")
    model.load_state_dict(load_file(weights))
    return model.to(device).eval()


# ----------------------------------------------------------------- training state

def save_training_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        scalars: dict[str, Any]) -> None:
    """Latest weights, optimizer tensors and trainer scalars in one safetensors file,
    replaced atomically (a kill leaves the previous state intact)."""
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim = optimizer.state_dict()
    for index, state in optim["state"].items():
        for name, value in state.items():
            tensors[f"optim/{index}/{name}"] = torch.as_tensor(value).cpu().contiguous()
    metadata = {"scalars": json.dumps(scalars),
                "param_groups": json.dumps(optim["param_groups"])}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)


def finished_summary(out_dir: Path, what: str, log: Callable[[str], None]
                     ) -> dict[str, Any] | None:
    """The ``summary.json`` of a run directory whose run finished (logged as a finished
    ``what``), None if it has none."""
    path = Path(out_dir) / "summary.json"
    if not path.exists():
        return None
    log(f"{out_dir} already holds a finished {what}")
    return json.loads(path.read_text())


def resume_run(out_dir: Path, trained: torch.nn.Module, optimizer: torch.optim.Optimizer,
               settings: tuple[str, Any], start: Callable[[], None], fresh: dict[str, Any],
               log: Callable[[str], None]) -> dict[str, Any]:
    """The trainer scalars of run directory ``out_dir``: restored with ``trained``'s weights
    and the optimizer from ``state.safetensors`` when a run was interrupted there (its
    ``config.json`` must hold the same ``settings``, a (key, value) pair, or it is an
    error), else ``fresh`` after ``start()`` (which writes ``config.json``).
    ``metrics.jsonl`` is cut back to the restored step."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "state.safetensors"
    scalars = dict(fresh)
    if state_path.exists():
        key, value = settings
        if read_config(out_dir).get(key) != value:
            raise ValueError(f"{out_dir} holds a run with other {key!r} settings; choose "
                             "another --out")
        scalars = load_training_state(state_path, trained, optimizer)
        log(f"resumed from step {scalars['step']}")
    else:
        start()
    with (out_dir / "metrics.jsonl").open("a") as f:  # drop lines after the resumed state
        f.truncate(scalars["metrics_bytes"])
    return scalars


def load_training_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
                        ) -> dict[str, Any]:
    """Restore what ``save_training_state`` wrote into ``model`` and ``optimizer``; returns
    the trainer scalars."""
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(path)
    device = next(model.parameters()).device
    model.load_state_dict({k[len("model/"):]: v for k, v in tensors.items()
                           if k.startswith("model/")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    groups = json.loads(metadata["param_groups"])
    for group in groups:
        group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return json.loads(metadata["scalars"])


def step_seed(seed: int, step: int, stream: int) -> int:
    """A seed for one random stream of one step of a trainer (each trainer numbers its
    streams: data, sampling, minibatch order, dropout...). A step's randomness depends on
    (seed, step) only, which is what makes a resumed run end like an uninterrupted one."""
    return (seed * 1_000_003 + step) * 8 + stream
