"""RL recipe sections: how a section is read (inheritance, defaults, strict fields,
validation), and that each shipped ablation differs from its base only in what it
ablates."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest

from cojam.configs import RecipeError
from cojam.rl.config import RL_SECTIONS, PPOConfig, load_rl_section

DEFAULTS = PPOConfig()
# the adversarial terms: the learned discriminator and the closed-form one on chord marginals
ADVERSARIAL = {"adversarial_weight", "discriminator", "marginal_weight", "marginal_clip"} | {
    f.name for f in fields(PPOConfig) if f.name.startswith("disc_")}


def write(tmp_path: Path, sections: dict) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(sections))
    return path


def differing(a: PPOConfig, b: PPOConfig) -> set[str]:
    return {f.name for f in fields(PPOConfig) if getattr(a, f.name) != getattr(b, f.name)}


@pytest.mark.parametrize("recipe", ["cpu-small", "paper"])
def test_each_shipped_ablation_differs_only_in_what_it_ablates(recipe: str) -> None:
    coherence, gapt, no_teacher = (load_rl_section(recipe, name) for name in RL_SECTIONS)
    # gapt is rl-coherence plus the adversarial term and its discriminator
    assert coherence.adversarial_weight == 0 < gapt.adversarial_weight
    assert differing(coherence, gapt) <= ADVERSARIAL
    # gapt-no-teacher is gapt without distillation from the teacher
    assert gapt.distill_coef > 0
    assert differing(gapt, no_teacher) == {"distill_coef"}
    assert replace(gapt, distill_coef=0.0) == no_teacher


def test_a_section_inherits_and_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = write(tmp_path, {
        "rl-coherence": {"steps": 7, "lr": 0.01},
        "gapt": {"inherits": "rl-coherence", "adversarial_weight": 0.5},
        "gapt-no-teacher": {"inherits": "gapt", "lr": 0.02},
    })
    coherence, gapt, no_teacher = (load_rl_section(path, name) for name in RL_SECTIONS)
    assert (gapt.steps, gapt.lr, gapt.adversarial_weight) == (7, 0.01, 0.5)
    assert (no_teacher.steps, no_teacher.lr, no_teacher.adversarial_weight) == (7, 0.02, 0.5)
    assert coherence.adversarial_weight == DEFAULTS.adversarial_weight  # a child changes no parent
    assert differing(DEFAULTS, coherence) == {"steps", "lr"}  # the rest keeps the defaults


@pytest.mark.parametrize("sections, message", [
    ({"gapt": {"inherits": "gapt-no-teacher"},
      "gapt-no-teacher": {"inherits": "gapt"}}, "a cycle"),
    ({"gapt": {"inherits": "rl-coherence"}}, "inherits 'rl-coherence', which is not a section"),
])
def test_inheritance_mistakes_are_errors(tmp_path: Path, sections: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_rl_section(write(tmp_path, sections), "gapt")


@pytest.mark.parametrize("sections, message", [
    ({"gapt": {"kl_coeff": 0.1}}, r"r\.json: gapt: unknown field 'kl_coeff'"),
    ({"rl-coherence": {"kl_coeff": 0.1}, "gapt": {"inherits": "rl-coherence"}},
     r"r\.json: gapt: unknown field 'kl_coeff'"),  # inherited, still named
    ({"gapt": {"discriminator": {"d_modle": 64}}},
     r"gapt\.discriminator: unknown field 'd_modle'"),
    ({"gapt": {"steps": "100"}}, r"gapt\.steps: expected int"),
    ({"gapt": {"lr": True}}, r"gapt\.lr: expected float"),
    ({"gapt": {"frame_credit": "greedy"}}, r"gapt\.frame_credit: 'greedy' is not one of"),
])
def test_unknown_and_mistyped_fields_name_file_section_and_field(
        tmp_path: Path, sections: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_rl_section(write(tmp_path, sections), "gapt")


@pytest.mark.parametrize("values, message", [
    ({"batch_size": 10, "minibatch_size": 4}, "batch_size 10 must be a multiple of "
                                               "minibatch_size 4"),
    ({"partner_fraction": 1.5}, r"partner_fraction 1\.5 is not in \[0, 1\]"),
    ({"partner_fraction": 0.5, "melody_fraction": 0.6}, "melody_fraction 0.6"),
    ({"discriminator": {"kind": "contrastive"}}, "discriminator"),
    ({"style_bias": True}, "style_bias needs song_style"),
])
def test_values_that_cannot_work_are_refused_naming_the_field(
        tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=rf"r\.json: gapt: .*{message}"):
        load_rl_section(write(tmp_path, {"gapt": values}), "gapt")


def test_only_rl_sections_load_as_rl_sections(tmp_path: Path) -> None:
    path = write(tmp_path, {"gapt": {}})
    assert load_rl_section(path, "gapt") == DEFAULTS  # an empty section: the defaults
    for name in ("online", "ppo"):
        with pytest.raises(ValueError, match=f"unknown RL section '{name}'"):
            load_rl_section(path, name)
