"""Recipes: JSON files in this folder, one section per model, read into dataclasses.

A recipe (``cpu-small.json``, ``paper.json``) holds a ``description`` and one object per
section (``online``, ``teacher``, ``melody``; later stages add theirs to ``SECTIONS``).
An experiment recipe may add variants of an RL section, named ``NAME-rl-coherence``,
``NAME-gapt`` or ``NAME-gapt-no-teacher`` (``cojam rl --section NAME-gapt``).
Each section is parsed by the code that uses it, with ``from_dict`` into its own
dataclass, strictly: an unknown, missing-without-default or mistyped field is an error
naming the file and the field. ``--recipe`` takes a recipe name or a path to a JSON file.
This module imports nothing else of cojam, so any layer may use it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

RECIPE_DIR = Path(__file__).resolve().parent
DEFAULT_RECIPE = "cpu-small"
RL_SECTIONS = ("rl-coherence", "gapt", "gapt-no-teacher")
SECTIONS = ("online", "teacher", "melody", "reward", *RL_SECTIONS, "kl-control")

T = TypeVar("T")


class RecipeError(ValueError):
    """A recipe that cannot be found or does not match its dataclasses."""


def is_rl_section(name: str) -> bool:
    """An RL section, or an experiment's variant of one (``NAME-gapt``)."""
    return any(name == s or name.endswith(f"-{s}") for s in RL_SECTIONS)


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.json"))


def recipe_path(recipe: str | Path) -> Path:
    """A recipe name (``cpu-small``) or a path to a JSON file -> the file."""
    path = Path(recipe)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise RecipeError(f"recipe file {path} does not exist")
        return path
    named = RECIPE_DIR / f"{recipe}.json"
    if not named.is_file():
        raise RecipeError(f"unknown recipe {recipe!r}; known: {', '.join(recipe_names())}")
    return named


def load_recipe(recipe: str | Path) -> tuple[Path, dict[str, Any]]:
    """(file, raw sections) of a recipe; unknown top-level keys are errors."""
    path = recipe_path(recipe)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RecipeError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a JSON object of sections")
    for key in data:
        if key != "description" and key not in SECTIONS and not is_rl_section(key):
            raise RecipeError(f"{path}: unknown section {key!r}; known: {', '.join(SECTIONS)}")
    return path, data


def section_data(path: Path, data: dict[str, Any], section: str) -> dict[str, Any]:
    """A section's fields, with ``"inherits": "OTHER"`` resolved: OTHER's fields, then
    this section's on top (a section that differs in one field says only that)."""
    seen = [section]
    if section not in data:
        raise RecipeError(f"{path}: no section {section!r}")
    fields = dict(data[section])
    while "inherits" in fields:
        parent = fields.pop("inherits")
        if parent in seen or parent not in data or not isinstance(data[parent], dict):
            raise RecipeError(f"{path}: {seen[-1]} inherits {parent!r}, which is "
                              + ("a cycle" if parent in seen else "not a section"))
        seen.append(parent)
        fields = {**data[parent], **fields}
    return fields


def load_section(recipe: str | Path, section: str, cls: type[T]) -> T:
    """Section ``section`` of a recipe, parsed strictly into dataclass ``cls``."""
    path, data = load_recipe(recipe)
    return from_dict(cls, section_data(path, data, section), f"{path}: {section}")


def from_dict(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from JSON data; ``where`` prefixes error messages."""
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected an object for {cls.__name__}, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecipeError(f"{where}: unknown field {unknown[0]!r} for {cls.__name__}; "
                          f"known: {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _convert(hints[name], data[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise RecipeError(f"{where}: missing field {name!r} for {cls.__name__}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise RecipeError(f"{where}: {e}") from e


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _convert(option, value, where)
            except RecipeError:
                continue
        raise RecipeError(f"{where}: {value!r} is not {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise RecipeError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]
        if not isinstance(value, list):
            raise RecipeError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            raise RecipeError(f"{where}: expected a list of {len(args)}, got {value!r}")
        return tuple(_convert(a, v, f"{where}[{i}]")
                     for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if hint is type(None):
        if value is not None:
            raise RecipeError(f"{where}: expected null, got {value!r}")
        return None
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    raise RecipeError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
