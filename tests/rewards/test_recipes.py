"""Both shipped recipes carry a ``reward`` section that parses."""

import pytest

from cojam.configs import load_section
from cojam.rewards.encoder import RewardConfig
from cojam.rewards.train import RewardSection


@pytest.mark.parametrize("recipe", ["cpu-small", "paper"])
def test_shipped_recipes_have_a_reward_section(recipe: str) -> None:
    section = load_section(recipe, "reward", RewardSection)
    assert isinstance(section.model, RewardConfig) and section.train.max_steps > 0


def test_paper_reward_models_keep_the_paper_width_and_depth_with_8_heads() -> None:
    model = load_section("paper", "reward", RewardSection).model
    assert (model.d_model, model.n_layers, model.n_heads) == (512, 6, 8)  # 512 / 6 heads: no
