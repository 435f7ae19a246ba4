"""``cojam rl``: the real entry point as a subprocess, killed with SIGKILL and run again,
ends with the same weights as an uninterrupted run; errors name what is wrong."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from rl_helpers import write_recipe
from safetensors.torch import load_file

from cojam.cli.main import main
from cojam.rl.config import load_rl_section
from cojam.rl.ppo import train_rl

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}


def command(runs: dict[str, Path], cache: Path, recipe: Path, out: Path, *extra: str
            ) -> list[str]:
    return [sys.executable, "-m", "cojam.cli.main", "rl", "--data", str(cache),
            "--mle", str(runs["online"]), "--teacher", str(runs["teacher"]),
            "--melody-agent", str(runs["melody"]), "--recipe", str(recipe),
            "--out", str(out), "--quiet", *extra,
            *[arg for run in runs["rewards"] for arg in ("--reward", str(run))]]


def test_cli_errors_name_the_problem(tmp_path: Path, rl_cache: Path,
                                     rl_runs: dict[str, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(tmp_path / "tiny.json")
    args = command(rl_runs, rl_cache, recipe, tmp_path / "x")[3:]
    assert main([*args, "--section", "ppo"]) == 1
    assert "unknown RL section 'ppo'" in capsys.readouterr().err
    assert main([*args, "--mle", str(rl_runs["melody"])]) == 1
    assert "not 'online'" in capsys.readouterr().err


def test_sigkill_then_rerun_resumes_to_the_same_weights(
        tmp_path: Path, rl_cache: Path, rl_runs: dict[str, Path],
        kill_then_rerun) -> None:
    recipe = write_recipe(tmp_path / "tiny.json", steps=12, checkpoint_every=2,
                          ensemble_weight=1.0)
    reference = tmp_path / "reference"
    train_rl(load_rl_section(recipe, "gapt"), rl_cache, rl_runs["online"], rl_runs["teacher"],
             rl_runs["melody"], rl_runs["rewards"], reference, progress=False,
             log=lambda _: None)

    run = tmp_path / "killed"
    args = command(rl_runs, rl_cache, recipe, run, "--section", "gapt")
    rerun, resumed = kill_then_rerun(args, run)
    assert 0 < resumed < 12
    summary = json.loads(rerun.stdout[rerun.stdout.index("{"):])
    assert summary["steps"] == 12 and summary["section"] == "gapt"
    assert json.loads((run / "config.json").read_text())["rl"]["adversarial_weight"] == 1.0
    final, expected = load_file(run / "model.safetensors"), load_file(
        reference / "model.safetensors")
    assert final.keys() == expected.keys()
    assert all(torch_equal(final[k], expected[k]) for k in final)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
    assert steps == list(range(1, 13))  # no duplicated or missing lines
    reference_rows = (reference / "metrics.jsonl").read_text().splitlines()
    killed_rows = (run / "metrics.jsonl").read_text().splitlines()
    for a, b in zip(reference_rows, killed_rows, strict=True):
        a, b = json.loads(a), json.loads(b)
        for key in ("reward/sequence", "reward/harmony", "reward/rhythm", "disc/accuracy",
                    "losses/policy"):
            assert a[key] == b[key], key


def torch_equal(a, b) -> bool:  # noqa: ANN001
    return bool((a == b).all())
