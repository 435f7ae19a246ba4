"""The models a jam server offers: the bundled default and any run directories given.

Weights are loaded once and shared by every session (each session has its own cache).
The bundled model lives in the package (``cojam/bundled/default``: ``config.json`` and
``model.safetensors``) so ``cojam jam`` works offline; nothing is fetched at run time.
In the protocol, ``"default"`` names the bundled model when there is one, and otherwise
the first model offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cojam.models.bundled import BUNDLED_NAME, bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineModel

__all__ = ["BUNDLED_NAME", "ModelChoiceError", "bundled_model_dir", "choose", "load_models"]


class ModelChoiceError(ValueError):
    """No usable model, or a model name the server does not offer."""


def _is_run(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def load_models(run_dirs: Sequence[Path], bundled: Path | None = None
                ) -> dict[str, OnlineModel]:
    """Name -> model in eval mode, the bundled one (if present) first, then each run by
    its directory name. Raises ``ModelChoiceError`` when there is none or a run is not an
    online accompanist."""
    bundled = bundled_model_dir() if bundled is None else bundled
    paths: dict[str, Path] = {}
    if _is_run(bundled):
        paths[BUNDLED_NAME] = bundled
    for run in run_dirs:
        run = Path(run)
        if not _is_run(run):
            raise ModelChoiceError(f"{run} is not a run directory (it needs config.json and "
                                   f"model.safetensors, as `cojam train online` writes)")
        name, n = run.resolve().name, 2
        while name in paths:
            name, n = f"{run.resolve().name}-{n}", n + 1
        paths[name] = run
    if not paths:
        raise ModelChoiceError(
            "no model is bundled yet; train one with `cojam train online --data CACHE "
            "--out RUN` and start the jam with `cojam jam --model RUN`"
        )
    models = {}
    for name, path in paths.items():
        model = load_model(path)
        if not isinstance(model, OnlineModel) or model.config.role != "accompanist":
            raise ModelChoiceError(f"{path} holds a {type(model).__name__} "
                                   f"({getattr(model.config, 'role', 'teacher')}); the jam "
                                   f"needs an online accompanist (`cojam train online`)")
        models[name] = model.eval()
    return models


def choose(models: dict[str, OnlineModel], name: str) -> tuple[str, OnlineModel]:
    """(actual name, model) for a requested name; ``"default"`` is the first offered."""
    if name == BUNDLED_NAME and name not in models:
        name = next(iter(models))
    if name not in models:
        raise ModelChoiceError(f"no model {name!r}; this server offers: {', '.join(models)}")
    return name, models[name]
