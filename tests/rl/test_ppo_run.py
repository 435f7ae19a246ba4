"""PPO end to end on tiny models: a rule reward rises, and every metric is logged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rl_helpers import TINY_PPO

from cojam.data.batches import FrameBatch
from cojam.data.tokens import BOS
from cojam.models.checkpoint import load_model, read_config
from cojam.models.online import SONG, OnlineModel, style_token
from cojam.rl.ppo import StepBatch, anchored_rows, melody_only_rows, train_rl

NO_TERMS = dict(invalid_hold_penalty=0.0, excess_silence_penalty=0.0,
                repeated_chord_penalty=0.0, long_chord_penalty=0.0, early_end_penalty=0.0,
                kl_coef=0.0, distill_coef=0.0, entropy_coef=0.0, partner_fraction=0.0)
LEARNING = dataclasses.replace(TINY_PPO, steps=30, batch_size=16, minibatch_size=8, epochs=4,
                               lr=3e-3, value_lr=1e-2, checkpoint_every=100, **NO_TERMS)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def learn(tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path], key: str,
          **reward: float) -> tuple[float, float]:
    """Mean of ``key`` over the first and the last five of 30 policy steps of a tiny policy
    trained on ``reward`` alone (the seeded untrained model of the fixtures)."""
    train_rl(dataclasses.replace(LEARNING, **reward), rl_cache, rl_runs["online"], None, None,
             [], tmp_path, progress=False, log=lambda _: None)
    values = [r[key] for r in rows(tmp_path)]
    return sum(values[:5]) / 5, sum(values[-5:]) / 5


def test_note_in_chord_rises_when_it_is_the_reward(tmp_path: Path, rl_cache: Path,
                                                   rl_runs: dict[str, Path]) -> None:
    # frame-local and context-dependent: each frame pays the chord sounding there
    first, last = learn(tmp_path, rl_cache, rl_runs, "charts/note_in_chord",
                        note_in_chord_weight=1.0)
    assert last > first + 0.2, (first, last)  # measured 0.32 -> 0.81
    entropy = [r["charts/entropy"] for r in rows(tmp_path)]
    assert entropy[-1] < entropy[0]


def test_expected_credit_learns_note_in_chord_in_fewer_steps(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path]) -> None:
    # every candidate chord scored against the fixed melody: the exact gradient of the
    # frame-local term, no sampling noise (sampled credit: 0.26 -> 0.51 after 6 steps)
    first, last = learn(tmp_path, rl_cache, rl_runs, "charts/note_in_chord", steps=12,
                        note_in_chord_weight=1.0, frame_credit="expected")
    assert last > first + 0.3, (first, last)  # measured 0.26 -> 0.78 by step 6


def test_attacks_move_onto_the_beat_when_off_beat_attacks_cost(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path]) -> None:
    # frame-local and context-free: the penalty is paid by the attack that broke it
    first, last = learn(tmp_path, rl_cache, rl_runs, "charts/on_beat", off_beat_penalty=1.0)
    assert first < 0.4 and last > 0.8, (first, last)  # measured 0.25 -> 1.0


def test_a_sequence_reward_on_the_last_chord_is_learned(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path]) -> None:
    # a window rule paid once per rollout, carried back by GAE and the critic
    first, last = learn(tmp_path, rl_cache, rl_runs, "reward/sequence",
                        excess_silence_penalty=10.0, silence_allowed=0.0)
    assert first < -0.1 and last > first + 0.1, (first, last)  # measured -0.24 -> -0.004


def test_gapt_run_logs_every_term_and_writes_a_loadable_run(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path]) -> None:
    config = dataclasses.replace(TINY_PPO, steps=3, adversarial_weight=1.0,
                                 note_in_chord_weight=1.0, ensemble_weight=1.0)
    summary = train_rl(config, rl_cache, rl_runs["online"], rl_runs["teacher"],
                       rl_runs["melody"], rl_runs["rewards"], tmp_path,
                       run_info={"section": "gapt"}, progress=False, log=lambda _: None)
    assert summary["steps"] == 3 and summary["section"] == "gapt"
    assert summary["disc_updates"] >= 1
    assert set(summary["ensemble_scale"]) == {"contrastive/contrastive",
                                              "discriminative-rhythm/discriminative-rhythm"}
    logged = rows(tmp_path)
    assert [r["step"] for r in logged] == [1, 2, 3]
    assert logged[0]["reward/harmony"] == pytest.approx(0.0, abs=1e-5)  # the scale's batch
    for key in ("reward/harmony", "reward/rhythm", "reward/adversarial", "reward/rules",
                "reward/kl", "reward/distill",
                "reward/note_in_chord", "charts/note_in_chord", "charts/on_beat", "kl/mle",
                "kl/teacher", "disc/accuracy",
                "disc/updated", "losses/policy", "losses/value", "charts/entropy",
                "charts/clip_fraction", "charts/frames_per_second"):
        assert key in logged[0], key
    assert not (tmp_path / "state.safetensors").exists()
    model = load_model(tmp_path)
    assert model.config.role == "accompanist"
    config_json = read_config(tmp_path)
    assert config_json["kind"] == "online" and config_json["rl"]["adversarial_weight"] == 1.0
    again = train_rl(config, rl_cache, rl_runs["online"], rl_runs["teacher"], rl_runs["melody"],
                     rl_runs["rewards"], tmp_path, progress=False, log=lambda _: None)
    assert again == summary  # a finished run is reported, not retrained


def test_a_weighted_term_without_its_model_is_an_error(tmp_path: Path, rl_cache: Path,
                                                       rl_runs: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="teacher"):
        train_rl(TINY_PPO, rl_cache, rl_runs["online"], None, rl_runs["melody"], [],
                 tmp_path / "a", progress=False, log=lambda _: None)
    with pytest.raises(ValueError, match="melody agent"):
        train_rl(TINY_PPO, rl_cache, rl_runs["online"], rl_runs["teacher"], None, [],
                 tmp_path / "b", progress=False, log=lambda _: None)
    with pytest.raises(ValueError, match="reward run"):
        train_rl(dataclasses.replace(TINY_PPO, ensemble_weight=1.0), rl_cache,
                 rl_runs["online"], rl_runs["teacher"], rl_runs["melody"], [], tmp_path / "c",
                 progress=False, log=lambda _: None)
    with pytest.raises(ValueError, match="not 'online'"):
        train_rl(TINY_PPO, rl_cache, rl_runs["teacher"], rl_runs["teacher"],
                 rl_runs["melody"], [], tmp_path / "d", progress=False, log=lambda _: None)


def test_the_kl_loss_runs_and_the_critic_fits(tmp_path: Path, rl_cache: Path,
                                              rl_runs: dict[str, Path]) -> None:
    config = dataclasses.replace(TINY_PPO, steps=2, kl_loss_coef=0.1, note_in_chord_weight=1.0)
    summary = train_rl(config, rl_cache, rl_runs["online"], rl_runs["teacher"],
                       rl_runs["melody"], [], tmp_path, progress=False, log=lambda _: None)
    assert summary["steps"] == 2
    logged = rows(tmp_path)
    assert all(r["losses/value"] > 0.0 for r in logged)
    assert all(np.isfinite(r["losses/policy"]) for r in logged)


@pytest.mark.parametrize("style_bias", [False, True])
def test_the_song_style_is_learned_on_the_melody_only_rows(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path], style_bias: bool) -> None:
    """With ``song_style`` the policy gains the song start token, the melody-only rows train
    it (its embedding leaves BOS's), and the run saves and loads with it; with
    ``style_bias`` also the styles' vectors, the song's moved apart from the corpus's (that
    run also pays the song rows' own key penalty and harmonic rhythm)."""
    song_terms = dict(song_key_penalty=0.5, song_change_rate=0.3, rhythm_weight=1.0) \
        if style_bias else {}
    config = dataclasses.replace(TINY_PPO, steps=2, melody_fraction=0.25, song_style=True,
                                 note_in_chord_weight=1.0, frame_credit="expected",
                                 marginal_weight=0.1, lr=1e-2, style_bias=style_bias,
                                 **song_terms)
    summary = train_rl(config, rl_cache, rl_runs["online"], rl_runs["teacher"],
                       rl_runs["melody"], [], tmp_path, progress=False, log=lambda _: None,
                       melody_data=rl_cache)  # any cache's melodies serve as songs
    assert summary["steps"] == 2
    model = load_model(tmp_path)
    assert isinstance(model, OnlineModel) and model.config.styles == (SONG,)
    embed = model.embed.weight
    assert not torch.allclose(embed[style_token(model, SONG)], embed[BOS])
    start = load_model(rl_runs["online"]).embed.weight[BOS]
    assert not torch.allclose(embed[style_token(model, SONG)], start)
    assert model.config.style_bias == style_bias
    if style_bias:
        assert model.style_bias is not None
        vectors = model.style_bias.weight
        assert vectors.abs().max() > 1e-3 and not torch.allclose(vectors[1], vectors[0])


def test_the_kl_anchor_can_leave_the_melody_only_rows_free():
    """Rows: 2 data, 2 melody-only, 2 partner; with ``kl_loss_melody_rows`` False the
    exact KL loss anchors all but the melody-only rows."""
    rows = FrameBatch(np.zeros((6, 4), dtype=np.int64), np.zeros((6, 4), dtype=np.int64),
                      np.ones((6, 4), dtype=bool), tuple("abcdef"))
    batch = StepBatch(rows, n_real=2, n_data=4)
    assert anchored_rows(batch, TINY_PPO).tolist() == [True] * 6
    free = dataclasses.replace(TINY_PPO, kl_loss_melody_rows=False)
    assert anchored_rows(batch, free).tolist() == [True, True, False, False, True, True]
    assert melody_only_rows(6, 2, 4).tolist() == [False, False, True, True, False, False]
