"""The model that ships inside the package, so ``cojam jam`` and ``cojam generate`` work on
a fresh machine without training.

``cojam/bundled/default/`` holds a run directory (``config.json`` + ``model.safetensors``)
plus ``manifest.json``: which pipeline stage and recipe made it, the seed, the git commit,
the commands that reproduce it, and the evaluation systems of that run's ``results.json``.
``cojam info --json`` prints the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cojam
from cojam.models.checkpoint import load_model, read_config

BUNDLED_NAME = "default"
MANIFEST = "manifest.json"
MAX_BUNDLE_BYTES = 20 * 1024 * 1024


def bundled_model_dir() -> Path:
    return Path(cojam.__file__).resolve().parent / "bundled" / BUNDLED_NAME


def read_manifest(bundle_dir: Path | None = None) -> dict[str, Any]:
    path = (bundle_dir or bundled_model_dir()) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no bundled model manifest at {path}")
    return json.loads(path.read_text())


def describe_manifest(manifest: dict[str, Any], bundle_dir: Path | None = None) -> str:
    """What ``cojam info`` prints: where the bundle is, what made it, and its headline
    numbers on each evaluation the manifest holds."""
    lines = [f"bundled model: {bundle_dir or bundled_model_dir()}"]
    for key in ("stage", "recipe", "seed", "git_commit", "trained_on", "parameters"):
        if key in manifest:
            lines.append(f"  {key}: {manifest[key]}")
    for key, title in (("evaluation", "Bach test split"),
                       ("evaluation_essen", "folk songs' test part, melodies only")):
        if key not in manifest:
            continue
        lines.append(f"  evaluation ({title}):")
        for system, metrics in manifest[key].items():
            shown = ", ".join(f"{m} {metrics[m]:.3f}" for m in
                              ("harmony", "onsets_on_beats", "chord_changes_per_bar", "vendi")
                              if isinstance(metrics.get(m), int | float))
            lines.append(f"    {system}: {shown}")
    return "\n".join(lines)


def write_bundle(run_dir: Path, manifest: dict[str, Any], bundle_dir: Path | None = None) -> Path:
    """Copy a trained online accompanist's run into the bundle with its manifest.

    ``manifest`` must say at least ``stage``, ``recipe``, ``seed`` and ``evaluation``
    (the ``systems`` of a ``results.json``). The model is loaded once to prove the copy is
    loadable, and the bundle must stay under 20 MB.
    """
    missing = {"stage", "recipe", "seed", "evaluation"} - set(manifest)
    if missing:
        raise ValueError(f"bundle manifest lacks {', '.join(sorted(missing))}")
    kind = read_config(run_dir).get("kind")
    if kind != "online":
        raise ValueError(f"{run_dir} holds a {kind!r} model; the bundle needs an accompanist")
    bundle_dir = bundle_dir or bundled_model_dir()
    bundle_dir.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(Path(run_dir) / name, bundle_dir / name)
    (bundle_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    size = sum(p.stat().st_size for p in bundle_dir.iterdir() if p.is_file())
    if size > MAX_BUNDLE_BYTES:
        raise ValueError(f"the bundle is {size / 1e6:.1f} MB; it must stay under 20 MB")
    load_model(bundle_dir)
    return bundle_dir
