"""The ``reward`` recipe section: the shipped ones build, and mistakes name the field."""

import json
from pathlib import Path

import pytest

from cojam.configs import RecipeError, load_section
from cojam.models.transformer import BlockConfig
from cojam.rewards.train import RewardSection
from cojam.rl.config import RL_SECTIONS, load_rl_section


@pytest.mark.parametrize("recipe", ["cpu-small", "paper"])
def test_every_shipped_reward_model_and_discriminator_splits_into_its_heads(recipe: str) -> None:
    # the heads are checked only when a model is built, after its data has loaded: a recipe
    # with 6 heads of a 512-wide model would fail minutes into a pipeline
    models = [load_section(recipe, "reward", RewardSection).model]
    models += [load_rl_section(recipe, name).discriminator for name in RL_SECTIONS]
    for model in models:
        BlockConfig(model.d_model, model.n_heads, model.mlp_ratio, model.dropout)


@pytest.mark.parametrize("section, message", [
    ({"model": {"kind": "generative"}, "train": {}},
     r"reward\.model\.kind: 'generative' is not one of"),
    ({"model": {}, "train": {"lr_max": 0.1}}, r"reward\.train: unknown field 'lr_max'"),
    ({"model": {"rhythm": "yes"}, "train": {}}, r"reward\.model\.rhythm: expected bool"),
    ({"train": {}}, "reward: missing field 'model'"),
])
def test_reward_section_mistakes_name_the_field(tmp_path: Path, section: dict,
                                                message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"reward": section}))
    with pytest.raises(RecipeError, match=rf"r\.json: {message}"):
        load_section(path, "reward", RewardSection)
