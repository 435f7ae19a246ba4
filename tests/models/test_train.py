"""The trainer end to end on tiny models: metrics, seeding, early stopping, exact resume
after SIGKILL, and the CLI entry points."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from model_helpers import write_recipe
from safetensors.torch import load_file

from cojam.cli.main import main
from cojam.models.checkpoint import load_model
from cojam.models.train import TrainConfig, lr_at, train


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", ["online", "teacher", "melody"])
def test_training_writes_a_loadable_run_with_namespaced_metrics(
    tmp_path: Path, tiny_cache: Path, tiny_recipe: Path, kind: str
) -> None:
    summary = train(kind, tiny_cache, tmp_path, tiny_recipe, max_steps=20, progress=False,
                    log=lambda _: None)
    assert summary["steps"] == 20 and summary["best_step"] in (10, 20)
    assert set(os.listdir(tmp_path)) == {"config.json", "model.safetensors", "metrics.jsonl",
                                         "summary.json"}
    rows = metrics(tmp_path)
    valid = [r for r in rows if "loss/valid" in r]
    assert [r["step"] for r in valid] == [10, 20]
    streams = ["chord"] if kind == "teacher" else ["chord", "melody"]
    for stream in streams:
        assert f"loss/valid_{stream}" in valid[0] and f"accuracy/valid_{stream}" in valid[0]
        assert f"loss/train_{stream}" in rows[0]
    assert {"loss/train", "optim/lr", "optim/grad_norm"} <= set(rows[0])
    first = [r["loss/train"] for r in rows if "loss/train" in r]
    assert first[-1] < first[0]  # it learns
    model = load_model(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["kind"] == kind
    assert model.config.max_frames == 32


def test_same_seed_same_losses_other_seed_other_losses(tmp_path: Path, tiny_cache: Path) -> None:
    losses = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        recipe = write_recipe(tmp_path / f"{name}.json", {"seed": seed, "log_every": 1})
        train("online", tiny_cache, tmp_path / name, recipe, max_steps=5, progress=False,
              log=lambda _: None)
        losses[name] = [r["loss/train"] for r in metrics(tmp_path / name) if "loss/train" in r]
    assert losses["a"] == losses["b"]
    assert losses["a"] != losses["c"]
    recipe = write_recipe(tmp_path / "d.json", {"seed": 0, "log_every": 1})
    train("online", tiny_cache, tmp_path / "d", recipe, max_steps=5, progress=False,
          log=lambda _: None, seed=1)  # the --seed override
    assert [r["loss/train"] for r in metrics(tmp_path / "d") if "loss/train" in r] == losses["c"]
    assert json.loads((tmp_path / "d" / "config.json").read_text())["train"]["seed"] == 1


def test_chord_shift_is_for_the_accompanist_only(tmp_path: Path, tiny_cache: Path) -> None:
    from cojam.configs import RecipeError

    recipe = write_recipe(tmp_path / "r.json", {"chord_shift_prob": 0.5})
    with pytest.raises(RecipeError, match="chord_shift_prob"):
        train("melody", tiny_cache, tmp_path / "m", recipe, max_steps=1, progress=False,
              log=lambda _: None)
    summary = train("online", tiny_cache, tmp_path / "o", recipe, max_steps=2, progress=False,
                    log=lambda _: None)
    assert summary["steps"] == 2


def test_early_stopping(tmp_path: Path, tiny_cache: Path) -> None:
    recipe = write_recipe(tmp_path / "r.json", {"lr": 0.0, "warmup_steps": 1, "eval_every": 2,
                                                "patience": 2, "max_steps": 100})
    summary = train("teacher", tiny_cache, tmp_path / "run", recipe, progress=False,
                    log=lambda _: None)
    assert summary["stopped_early"] and summary["steps"] == 6 and summary["best_step"] == 2


def test_schedule_warms_up_then_decays() -> None:
    config = TrainConfig(lr=1.0, warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert lr_at(0, config) == pytest.approx(0.1) and lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(60, config) == pytest.approx(0.55) and lr_at(110, config) == pytest.approx(0.1)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cojam.cli.main", *args]


def test_sigkill_then_rerun_resumes_to_the_same_weights(tmp_path: Path, tiny_cache: Path,
                                                         kill_then_rerun) -> None:
    recipe = write_recipe(tmp_path / "r.json", {"max_steps": 150, "eval_every": 50,
                                                "checkpoint_every": 5, "log_every": 5})
    reference = tmp_path / "reference"
    train("online", tiny_cache, reference, recipe, progress=False, log=lambda _: None)

    run = tmp_path / "killed"
    command = cli("train", "online", "--data", str(tiny_cache), "--recipe", str(recipe),
                  "--out", str(run), "--quiet")
    rerun, resumed = kill_then_rerun(command, run)
    assert 0 < resumed < 150
    final = load_file(run / "model.safetensors")
    expected = load_file(reference / "model.safetensors")
    assert final.keys() == expected.keys()
    assert all((final[k] == expected[k]).all() for k in final)
    steps = [r["step"] for r in metrics(run) if "loss/train" in r]
    assert steps == [r["step"] for r in metrics(reference) if "loss/train" in r]  # no duplicates


def test_cli_train_then_generate(tmp_path: Path, tiny_cache: Path, tiny_recipe: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "teacher", "--data", str(tiny_cache), "--recipe", str(tiny_recipe),
                 "--out", str(run), "--max-steps", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{"):])["steps"] == 3
    out = tmp_path / "generated"
    assert main(["generate", "--model", str(run), "--data", str(tiny_cache), "--split", "test",
                 "--limit", "2", "--out", str(out), "--temperature", "0.8", "--top-k", "5",
                 "--top-p", "0.9"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "generation.json", "synthetic-0.json", "synthetic-0.mid", "synthetic-1.json",
        "synthetic-1.mid"]
    tokens = json.loads((out / "synthetic-0.json").read_text())
    assert len(tokens["melody"]) == len(tokens["chords"]) == 32
    assert main(["generate", "--model", str(run), "--data", str(tmp_path / "nothing"),
                 "--out", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_an_empty_validation_split_is_named_not_a_key_error(tmp_path: Path,
                                                            tiny_cache: Path) -> None:
    """Issue 16: `cojam data build --source bach --limit 20` leaves valid.jsonl empty,
    and training crashed with KeyError: 'chord'."""
    import shutil

    from cojam.data.cache import CacheError

    cache = tmp_path / "cache"
    shutil.copytree(tiny_cache, cache)
    (cache / "valid.jsonl").write_text("")
    with pytest.raises(CacheError, match="the valid split is empty"):
        train("online", cache, tmp_path / "run", max_steps=1, progress=False,
              log=lambda _: None)
    assert main(["train", "online", "--data", str(cache), "--out", str(tmp_path / "cli"),
                 "--max-steps", "1"]) == 1
