"""RL recipe sections: the shipped ones parse, and mistakes are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cojam.configs import RecipeError
from cojam.rl.config import RL_SECTIONS, load_rl_section


@pytest.mark.parametrize("recipe", ["cpu-small", "paper"])
def test_shipped_recipes_have_the_three_rl_sections(recipe: str) -> None:
    sections = {name: load_rl_section(recipe, name) for name in RL_SECTIONS}
    assert sections["rl-coherence"].adversarial_weight == 0
    assert sections["gapt"].adversarial_weight > 0 and sections["gapt"].distill_coef > 0
    assert sections["gapt-no-teacher"].adversarial_weight > 0
    assert sections["gapt-no-teacher"].distill_coef == 0
    for config in sections.values():
        assert config.clip == 0.2 and config.entropy_coef == 0.01 and config.gamma == 1.0


def test_paper_sections_keep_the_published_settings() -> None:
    gapt = load_rl_section("paper", "gapt")
    assert (gapt.kl_coef, gapt.gae_lambda, gapt.batch_size, gapt.minibatch_size) == (
        0.001, 0.95, 384, 48)
    assert (gapt.disc_label_smoothing, gapt.disc_every, gapt.disc_warmup_steps,
            gapt.disc_reward_threshold, gapt.disc_lr) == (0.1, 5, 200, 1.0, 9e-5)
    assert gapt.discriminator.n_layers == 8


def test_mistakes_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"gapt": {"kl_coeff": 0.1}}))
    with pytest.raises(RecipeError, match="gapt.*'kl_coeff'"):
        load_rl_section(path, "gapt")
    path.write_text(json.dumps({"gapt": {"batch_size": 10, "minibatch_size": 4}}))
    with pytest.raises(RecipeError, match="multiple of minibatch_size"):
        load_rl_section(path, "gapt")
    with pytest.raises(ValueError, match="unknown RL section"):
        load_rl_section(path, "ppo")
