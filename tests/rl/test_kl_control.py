"""KL-control melody tuning: the backups on a 3-state toy MDP against their closed-form
values, the huge-KL limit, and the trainer on tiny models (the prior's policy under a huge
KL weight, exact resume after kill -9, the tuned run loading as a melody agent)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from cojam.data.cache import load_songs
from cojam.models.checkpoint import load_model
from cojam.rewards.melody_rules import RuleWeights
from cojam.rl.kl_control import (
    METHODS,
    KLControlConfig,
    bellman_targets,
    load_kl_control_section,
    policy_logits,
    td_loss,
    train_kl_control,
)
from cojam.rl.players import frozen

# s0 --a0--> s1, s0 --a1--> s2; s1 and s2 end the episode whatever is played.
REWARD = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.5]])  # (S, A)
PRIOR = torch.tensor([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8]]).log()  # (S, A) log p(a|s)
NEXT = torch.tensor([[1, 2], [0, 0], [0, 0]])  # next state (unused where done)
DONE = torch.tensor([[False, False], [True, True], [True, True]])


def closed_form(method: str, c: float, gamma: float) -> torch.Tensor:
    """(S, A) the optimal values, by hand: the terminal states first, then s0."""
    values = torch.zeros(3, 2)
    for s in (1, 2):
        values[s] = REWARD[s] / c + (0.0 if method == "g" else PRIOR[s])
    for a, s_next in enumerate((1, 2)):
        if method == "q":
            future = values[s_next].max()
        elif method == "psi":
            future = values[s_next].logsumexp(0)
        else:
            future = (PRIOR[s_next] + values[s_next]).logsumexp(0)
        values[0, a] = REWARD[0, a] / c + (0.0 if method == "g" else PRIOR[0, a]) \
            + gamma * future
    return values


def learn_table(method: str, c: float, gamma: float, steps: int = 400) -> torch.Tensor:
    """Tabular values trained with the learner's targets, a Polyak target network and a
    replay of every transition; starts where the tuner starts (the prior's logits, or
    G = 0)."""
    start = torch.zeros(3, 2) if method == "g" else PRIOR + 1.0  # logits: any offset
    table = torch.nn.Parameter(start.clone())
    target = start.clone()
    optimizer = torch.optim.SGD([table], lr=1.5)  # each step halves the error to the target
    for _ in range(steps):
        next_values, next_prior = target[NEXT], PRIOR[NEXT]  # (S, A, A)
        targets = bellman_targets(method, REWARD, PRIOR, next_values, next_prior, DONE,
                                  gamma, c)
        loss = ((table - targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        target.lerp_(table.detach(), 0.1)
    return table.detach()


@pytest.mark.parametrize("method", METHODS)
def test_learner_reaches_the_closed_form_values(method: str):
    learned = learn_table(method, c=0.5, gamma=0.9)
    assert torch.allclose(learned, closed_form(method, 0.5, 0.9), atol=1e-3)


def test_psi_and_g_reach_the_same_soft_optimal_policy():
    c, gamma = 0.5, 0.9
    psi = torch.softmax(policy_logits("psi", closed_form("psi", c, gamma), PRIOR), -1)
    g = torch.softmax(policy_logits("g", closed_form("g", c, gamma), PRIOR), -1)
    assert torch.allclose(psi, g, atol=1e-6)
    # and that policy is the prior reweighted by the exponentiated soft advantage
    assert psi[1].tolist() == pytest.approx(
        torch.softmax(PRIOR[1] + REWARD[1] / c, -1).tolist())
    assert not torch.allclose(psi, PRIOR.exp(), atol=0.05)  # the rewards did move it


@pytest.mark.parametrize("method", ["psi", "g"])
def test_a_huge_kl_weight_returns_the_prior(method: str):
    learned = learn_table(method, c=1e6, gamma=0.9)
    policy = torch.softmax(policy_logits(method, learned, PRIOR), -1)
    assert torch.allclose(policy, PRIOR.exp(), atol=1e-3)


# ----------------------------------------------------------------- the trainer, tiny

TINY = KLControlConfig(steps=6, kl_weight=1.0, lr=1e-3, batch_size=4, rollout_batch=4,
                       collect_every=2, buffer_size=8, seed_frames=4, episode_frames=16,
                       checkpoint_every=2, log_every=1, threads=1)


@pytest.fixture(scope="module")
def keyed_cache(rl_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RL test cache with a key on every song (the rules need one)."""
    root = tmp_path_factory.mktemp("keyed-cache")
    for split in ("train", "valid", "test"):
        songs = [dataclasses.replace(s, key="C major") for s in load_songs(rl_cache, split)]
        (root / f"{split}.jsonl").write_text(
            "".join(json.dumps(s.to_dict()) + "\n" for s in songs))
    shutil.copy(rl_cache / "vocab.json", root / "vocab.json")
    return root


def write_recipe(path: Path, config: KLControlConfig) -> Path:
    path.write_text(json.dumps({"description": "tiny KL-control for tests",
                                "kl-control": dataclasses.asdict(config)}))
    return path


def test_recipe_section_round_trips(tmp_path: Path):
    config = dataclasses.replace(TINY, rules=RuleWeights(autocorrelation=-1.0))
    assert load_kl_control_section(write_recipe(tmp_path / "r.json", config)) == config
    assert load_kl_control_section("cpu-small").method in METHODS


def tuned_kl(run: Path, prior_run: Path, accompanist_run: Path, cache: Path) -> float:
    """Mean KL(tuned || prior) over the played frames of a batch of fresh rollouts."""
    from cojam.rl.kl_control import Replay, Tuning, collect, load_prompts

    config = dataclasses.replace(TINY, method="psi", rollout_batch=8)
    network = load_model(run)
    prior = load_model(prior_run)
    accompanist = load_model(accompanist_run)
    tuning = Tuning(network, prior, prior, accompanist, Replay(8, config.episode_frames))
    prompts = load_prompts(cache, "train", prior.spec, config.seed_frames)
    collect(tuning, prompts, config, step=99)
    melody, chords, reward = tuning.replay.melody, tuning.replay.chords, tuning.replay.reward
    with torch.no_grad():
        _, extra = td_loss(config, network, prior, prior, melody, chords, reward)
    return extra["kl/prior"]


def test_huge_kl_weight_keeps_the_tuned_agent_at_the_prior(keyed_cache: Path, rl_runs: dict,
                                                           tmp_path: Path):
    runs = {}
    for name, c in (("huge", 1e6), ("small", 0.01)):
        config = dataclasses.replace(TINY, kl_weight=c, steps=16, lr=3e-3)
        runs[name] = tmp_path / name
        train_kl_control(config, rl_runs["melody"], rl_runs["online"], keyed_cache,
                         runs[name], progress=False, log=lambda _: None)
    huge = tuned_kl(runs["huge"], rl_runs["melody"], rl_runs["online"], keyed_cache)
    small = tuned_kl(runs["small"], rl_runs["melody"], rl_runs["online"], keyed_cache)
    print(f"KL to the prior: huge weight {huge:.4f}, small {small:.4f}")
    # Adam turns the rounding noise of a zero Bellman error into steps of size lr, so
    # "huge" drifts a little; the rewards move "small" much further
    assert huge < 0.01
    assert small > 3 * huge


@pytest.mark.parametrize("method", ["psi", "g"])
def test_the_prior_is_the_fixed_point_under_a_huge_kl_weight(method: str, keyed_cache: Path,
                                                             rl_runs: dict):
    """At network = target = prior the Bellman error is zero when rewards count for
    nothing, and not when they count."""
    from cojam.rl.kl_control import Replay, Tuning, collect, load_prompts

    prior = load_model(rl_runs["melody"])
    tuning = Tuning(prior, prior, prior, load_model(rl_runs["online"]), Replay(4, 16))
    prompts = load_prompts(keyed_cache, "train", prior.spec, TINY.seed_frames)
    collect(tuning, prompts, dataclasses.replace(TINY, rollout_batch=4), step=0)
    replay = tuning.replay
    losses = {}
    for c in (1e6, 1.0):
        config = dataclasses.replace(TINY, method=method, kl_weight=c)
        with torch.no_grad():
            losses[c], _ = td_loss(config, prior, prior, prior, replay.melody, replay.chords,
                                   replay.reward)
    assert losses[1e6] < 1e-9
    assert losses[1.0] > 1e-3


def test_psi_and_g_updates_are_equal_on_the_transformer(keyed_cache: Path, rl_runs: dict):
    """Ψ = G + log p: read from one network as the tuner reads them, the two Bellman
    errors agree term by term, at any weights (here a network away from the prior)."""
    from cojam.rl.kl_control import Replay, Tuning, collect, load_prompts

    prior = load_model(rl_runs["melody"])
    network = load_model(rl_runs["melody"])
    with torch.no_grad():
        network.head.weight.add_(0.05 * torch.randn_like(network.head.weight))
    tuning = Tuning(network, prior, prior, load_model(rl_runs["online"]), Replay(4, 16))
    prompts = load_prompts(keyed_cache, "train", prior.spec, TINY.seed_frames)
    collect(tuning, prompts, dataclasses.replace(TINY, rollout_batch=4), step=0)
    replay = tuning.replay
    with torch.no_grad():
        psi, _ = td_loss(dataclasses.replace(TINY, method="psi"), network, network, prior,
                         replay.melody, replay.chords, replay.reward)
        g, _ = td_loss(dataclasses.replace(TINY, method="g"), network, network, prior,
                       replay.melody, replay.chords, replay.reward)
        q, _ = td_loss(dataclasses.replace(TINY, method="q"), network, network, prior,
                       replay.melody, replay.chords, replay.reward)
    assert psi.item() == pytest.approx(g.item(), rel=1e-5)
    assert abs(q.item() - psi.item()) > 1e-4


def test_tuned_run_loads_as_a_melody_agent(keyed_cache: Path, rl_runs: dict, tmp_path: Path,
                                           rl_spec):
    for method in METHODS:
        out = tmp_path / method
        summary = train_kl_control(dataclasses.replace(TINY, method=method), rl_runs["melody"],
                                   rl_runs["online"], keyed_cache, out, progress=False,
                                   log=lambda _: None)
        assert summary["steps"] == TINY.steps and summary["method"] == method
        agent = frozen(out, "melody", rl_spec, "cpu")  # what `--melody-agent RUN` loads
        assert agent.config.role == "melody"
        assert not (out / "state.safetensors").exists()
        lines = (out / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == list(range(1, TINY.steps + 1))


def test_cli_resumes_exactly_after_kill(keyed_cache: Path, rl_runs: dict, tmp_path: Path,
                                        kill_then_rerun):
    config = dataclasses.replace(TINY, method="g", steps=8, checkpoint_every=1)
    recipe = write_recipe(tmp_path / "recipe.json", config)
    reference = tmp_path / "reference"
    train_kl_control(config, rl_runs["melody"], rl_runs["online"], keyed_cache, reference,
                     progress=False, log=lambda _: None)

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "cojam.cli.main", "tune-melody",
               "--model", str(rl_runs["melody"]), "--accompanist", str(rl_runs["online"]),
               "--data", str(keyed_cache), "--recipe", str(recipe), "--method", "g",
               "--out", str(killed), "--quiet"]
    rerun, resumed_from = kill_then_rerun(command, killed)
    assert 0 < resumed_from < config.steps
    assert json.loads(rerun.stdout[rerun.stdout.index("{"):])["method"] == "g"
    a, b = load_model(killed).state_dict(), load_model(reference).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(1, config.steps + 1))
    reference_rows = [json.loads(line) for line in
                      (reference / "metrics.jsonl").read_text().splitlines()]
    for row, expected in zip(rows, reference_rows, strict=True):
        assert row["losses/td"] == expected["losses/td"]
