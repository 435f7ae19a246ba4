"""The experiment recipes that docs/results/ reproduce runs from still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cojam.configs import RecipeError, load_recipe
from cojam.rl.config import load_rl_section

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "docs" / "results").glob("*/experiments.json"))


def test_there_are_experiment_recipes() -> None:
    assert EXPERIMENTS


@pytest.mark.parametrize("recipe", EXPERIMENTS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_rl_variant_of_an_experiment_recipe_loads(recipe: Path) -> None:
    _, data = load_recipe(recipe)
    variants = [name for name in data if name != "description"]
    assert variants
    for name in variants:
        load_rl_section(recipe, name)


def test_a_variant_is_named_after_its_section_and_a_typo_is_refused(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"x1-gapt": {"steps": 3, "frame_credit": "expected"}}))
    assert load_rl_section(recipe, "x1-gapt").frame_credit == "expected"
    recipe.write_text(json.dumps({"x1-gap": {"steps": 3}}))
    with pytest.raises(RecipeError, match="unknown section 'x1-gap'"):
        load_recipe(recipe)
    recipe.write_text(json.dumps({"x1-gapt": {"frame_credit": "exact"}}))
    with pytest.raises(RecipeError, match="frame_credit"):
        load_rl_section(recipe, "x1-gapt")
