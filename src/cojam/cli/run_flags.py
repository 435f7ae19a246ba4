"""Flags every trainer command shares (recipe, overrides, device, progress)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from cojam.configs import DEFAULT_RECIPE

C = TypeVar("C")


def add_trainer_flags(parser: argparse.ArgumentParser, steps: str = "steps") -> None:
    """--recipe, --max-steps and --seed (overrides of the recipe section), --device,
    --quiet; ``steps`` names what --max-steps counts."""
    parser.add_argument("--recipe", default=DEFAULT_RECIPE,
                        help=f"recipe name or JSON path (default {DEFAULT_RECIPE})")
    parser.add_argument("--max-steps", type=int, help=f"override the section's {steps}")
    parser.add_argument("--seed", type=int, help="override the section's seed")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def overridden(config: C, args: argparse.Namespace, **more: Any) -> C:
    """``config`` with the steps and seed the flags override (and ``more`` fields), each
    only where given."""
    changes = {"steps": args.max_steps, "seed": args.seed, **more}
    return dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})


def named_runs(specs: list[str] | None, flag: str) -> dict[str, Path]:
    """``NAME=RUN`` flag values as {name: run directory}; without any, the bundled model as
    ``default``. An error names the flag and the value at fault."""
    if not specs:
        from cojam.models.bundled import bundled_model_dir

        return {"default": bundled_model_dir()}
    runs = {}
    for spec in specs:
        name, _, run = spec.partition("=")
        if not name or not run:
            raise ValueError(f"{flag} {spec!r}: expected NAME=RUN")
        runs[name] = Path(run)
    return runs
