"""``cojam train reward`` end to end: a subprocess with a few steps, then the finished
run and a missing ``--kind`` through the same entry point in-process."""

import json
import subprocess
import sys

from cojam.cli.main import main


def test_train_reward_command_writes_a_finished_run(triad_cache, reward_recipe, tmp_path,
                                                    capsys):
    out = tmp_path / "rhythm-disc"
    args = ["train", "reward", "--kind", "discriminative", "--rhythm", "--seed", "1",
            "--data", str(triad_cache), "--recipe", str(reward_recipe), "--out", str(out),
            "--max-steps", "5", "--quiet"]
    done = subprocess.run([sys.executable, "-m", "cojam.cli.main", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert summary["steps"] == 5 and summary["model"] == "discriminative-rhythm"
    assert set(summary["auc"]) == {"other_song", "shifted"}  # no transposed: rhythm only
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "reward" and config["model"]["rhythm"] is True
    assert config["train"]["seed"] == 1 and config["train"]["max_steps"] == 5
    for name in ("model.safetensors", "metrics.jsonl", "calibration.json", "auc.json"):
        assert (out / name).is_file()
    assert main(args) == 0  # a finished run is reported, not retrained
    assert "already holds a finished" in capsys.readouterr().out


def test_train_reward_without_kind_is_an_error(triad_cache, tmp_path, capsys):
    assert main(["train", "reward", "--data", str(triad_cache), "--out", str(tmp_path)]) == 1
    assert "--kind" in capsys.readouterr().err
