"""Recipes: both shipped recipes parse; mistakes name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cojam.configs import RecipeError, load_recipe, recipe_names, recipe_path
from cojam.models.train import OnlineSection, TeacherSection, TrainConfig, load_run_section


@pytest.mark.parametrize("recipe", ["cpu-small", "paper"])
def test_shipped_recipes_parse_for_every_model(recipe: str) -> None:
    assert recipe in recipe_names()
    for kind in ("online", "teacher", "melody"):
        section = load_run_section(recipe, kind)
        assert isinstance(section, TeacherSection if kind == "teacher" else OnlineSection)
        assert isinstance(section.train, TrainConfig)
    assert load_run_section(recipe, "melody").model.role == "melody"
    assert load_run_section(recipe, "online").model.role == "accompanist"


def test_paper_recipe_has_the_paper_sizes() -> None:
    model = load_run_section("paper", "online").model
    assert (model.d_model, model.n_layers, model.n_heads, model.max_len - 1) == (512, 8, 8, 512)


def test_the_root_configs_folder_is_the_package_folder() -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    assert (root / "cpu-small.json").resolve() == recipe_path("cpu-small").resolve()


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(data))
    return path


def base() -> dict:
    return json.loads(recipe_path("cpu-small").read_text())


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    data = base()
    data["online"]["train"]["learning_rate"] = 0.1
    path = write(tmp_path, data)
    with pytest.raises(RecipeError, match=r"recipe\.json.*online\.train.*'learning_rate'"):
        load_run_section(path, "online")


def test_mistyped_field_names_file_and_field(tmp_path: Path) -> None:
    data = base()
    data["teacher"]["model"]["n_heads"] = "4"
    with pytest.raises(RecipeError, match=r"recipe\.json: teacher\.model\.n_heads"):
        load_run_section(write(tmp_path, data), "teacher")
    data = base()
    data["online"]["train"]["augment"] = 1  # an int is not a bool
    with pytest.raises(RecipeError, match="online.train.augment"):
        load_run_section(write(tmp_path, data), "online")


def test_bad_values_and_sections_are_errors(tmp_path: Path) -> None:
    data = base()
    data["online"]["model"]["n_heads"] = 5  # 128 does not split into 5 heads
    with pytest.raises(RecipeError, match="online.model.*heads"):
        load_run_section(write(tmp_path, data), "online")
    data = base()
    data["onlin"] = data.pop("online")
    with pytest.raises(RecipeError, match="unknown section 'onlin'"):
        load_recipe(write(tmp_path, data))
    data = base()
    data["melody"]["model"]["role"] = "accompanist"  # the section name sets the role
    with pytest.raises(RecipeError, match="melody.model.role"):
        load_run_section(write(tmp_path, data), "melody")
    with pytest.raises(RecipeError, match="unknown recipe"):
        recipe_path("no-such-recipe")
