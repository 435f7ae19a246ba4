"""``cojam train reward`` end to end, as a subprocess with a few steps."""

import json
import subprocess
import sys


def cojam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cojam.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_train_reward_command_writes_a_finished_run(triad_cache, reward_recipe, tmp_path):
    out = tmp_path / "rhythm-disc"
    args = ("train", "reward", "--kind", "discriminative", "--rhythm", "--seed", "1",
            "--data", str(triad_cache), "--recipe", str(reward_recipe), "--out", str(out),
            "--max-steps", "5", "--quiet")
    done = cojam(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert summary["steps"] == 5 and summary["model"] == "discriminative-rhythm"
    assert set(summary["auc"]) == {"other_song", "shifted"}  # no transposed: rhythm only
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "reward" and config["model"]["rhythm"] is True
    assert config["train"]["seed"] == 1 and config["train"]["max_steps"] == 5
    for name in ("model.safetensors", "metrics.jsonl", "calibration.json", "auc.json"):
        assert (out / name).is_file()
    again = cojam(*args)  # a finished run is reported, not retrained
    assert again.returncode == 0 and "already holds a finished" in again.stdout


def test_train_reward_without_kind_is_an_error(triad_cache, tmp_path):
    done = cojam("train", "reward", "--data", str(triad_cache), "--out", str(tmp_path / "x"))
    assert done.returncode == 1 and "--kind" in done.stderr
