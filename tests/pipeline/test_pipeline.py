"""`cojam pipeline`: the stage plan, skipping finished stages, failures, and a real run of
every stage (subprocesses, ~30 s) on tiny data with a tiny recipe, bundled at the end."""

import json
import sys
from pathlib import Path

import pytest

from cojam.pipeline import (
    PipelineConfig,
    PipelineError,
    bundle_best,
    describe_plan,
    plan,
    run_pipeline,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "rl"))
from rl_helpers import write_cache  # noqa: E402


def fake_runner(calls):
    """Pretend to run a stage: record it and write its done file."""

    def run(stage, out):
        calls.append(stage.name)
        if stage.name == "boom":
            raise RuntimeError("stage boom failed")
        path = out / stage.done_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    return run


def test_plan_orders_every_stage_after_what_it_needs(tmp_path):
    stages = plan(tmp_path, PipelineConfig(seeds=(0, 1, 2), reward_seeds=(0, 1)))
    names = [s.name for s in stages]
    assert names[:2] == ["cache", "essen"] and names[-2:] == ["eval-essen", "eval"]
    assert len([n for n in names if n.startswith("reward-")]) == 8  # 2 kinds x rhythm x 2 seeds
    assert {f"{s}-s{k}" for s in ("rl-coherence", "gapt") for k in range(3)} <= set(names)
    seen = set()
    for stage in stages:
        assert set(stage.needs) <= seen, stage.name
        seen.add(stage.name)
    gapt1 = next(s for s in stages if s.name == "gapt-s1")
    assert "--seed" in gapt1.args and str(tmp_path / "mle" / "s1") in gapt1.args
    evaluation = stages[-1].args
    assert f"gapt={tmp_path}/rl/gapt-s0,{tmp_path}/rl/gapt-s1,{tmp_path}/rl/gapt-s2" in evaluation


def test_given_data_skips_the_cache_stage(tmp_path):
    stages = plan(tmp_path / "p", PipelineConfig(data=tmp_path / "c", seeds=(0,)))
    assert "cache" not in [s.name for s in stages]
    assert all(str(tmp_path / "c") in s.args for s in stages if s.name != "essen")
    given = plan(tmp_path / "p", PipelineConfig(data=tmp_path / "c", melodies=tmp_path / "m",
                                                seeds=(0,)))
    assert "essen" not in [s.name for s in given]
    assert all(str(tmp_path / "m") in s.args for s in given if s.name.startswith("gapt"))


def test_the_dry_run_marks_finished_stages_done(tmp_path):
    config = PipelineConfig(seeds=(0, 1), reward_seeds=(0,))
    (tmp_path / "mle" / "s1").mkdir(parents=True)
    (tmp_path / "mle" / "s1" / "summary.json").write_text("{}")
    lines = {line[5:].split(":")[0]: line for line in describe_plan(tmp_path, config).splitlines()}
    assert list(lines) == [s.name for s in plan(tmp_path, config)]
    assert lines["mle-s1"].startswith("done mle-s1: cojam train online ")
    assert not any(line.startswith("done") for name, line in lines.items() if name != "mle-s1")


def test_a_rerun_skips_finished_stages_and_keeps_their_times(tmp_path):
    config = PipelineConfig(seeds=(0,), reward_seeds=(0,), jobs=2)
    first = []
    record = run_pipeline(tmp_path, config, fake_runner(first), progress=False, log=lambda _: None)
    assert sorted(first) == sorted(s.name for s in plan(tmp_path, config))
    assert all(v["status"] == "done" and "seconds" in v for v in record["stages"].values())
    assert (tmp_path / "pipeline.md").is_file() and (tmp_path / "stage_times.png").is_file()
    (tmp_path / "eval" / "results.json").unlink()
    again = []
    run_pipeline(tmp_path, config, fake_runner(again), progress=False, log=lambda _: None)
    assert again == ["eval"]


def test_a_failed_stage_stops_new_launches_and_names_itself(tmp_path, monkeypatch):
    import cojam.pipeline as pipeline

    real_plan = pipeline.plan

    def plan_with_boom(out, config):
        stages = real_plan(out, config)
        return [stages[0], pipeline.Stage("boom", (), "boom.json", ("cache",)),
                *[pipeline.Stage(s.name, s.args, s.done_file, (*s.needs, "boom"))
                  for s in stages[1:]]]

    monkeypatch.setattr(pipeline, "plan", plan_with_boom)
    calls = []
    with pytest.raises(PipelineError, match="boom"):
        run_pipeline(tmp_path, PipelineConfig(seeds=(0,), reward_seeds=(0,), jobs=1),
                     fake_runner(calls), progress=False, log=lambda _: None)
    assert calls == ["cache", "boom"]
    record = json.loads((tmp_path / "pipeline.json").read_text())
    assert record["stages"]["boom"]["status"] == "failed"


def tiny_recipe(path: Path) -> Path:
    """cpu-small shrunk to seconds: every section present, every loop a step or two."""
    recipe = json.loads((Path(__file__).parents[2] / "configs" / "cpu-small.json").read_text())
    for name in ("online", "teacher", "melody", "reward"):
        recipe[name]["model"].update(d_model=16, n_heads=2, max_frames=32)
        for key in ("n_layers", "n_encoder_layers", "n_decoder_layers"):
            if key in recipe[name]["model"]:
                recipe[name]["model"][key] = 1
        if "embed_dim" in recipe[name]["model"]:
            recipe[name]["model"]["embed_dim"] = 16
        recipe[name]["train"].update(batch_size=4, max_steps=2, warmup_steps=1, eval_every=1,
                                     checkpoint_every=1)
    for name in ("rl-coherence", "gapt", "gapt-no-teacher"):
        recipe[name].update(steps=2, batch_size=4, minibatch_size=4, max_frames=32, epochs=1)
        if "discriminator" in recipe[name]:
            recipe[name]["discriminator"].update(d_model=16, n_layers=1, n_heads=2, max_frames=32)
            recipe[name]["disc_warmup_steps"] = 1
    path.write_text(json.dumps(recipe))
    return path


def melody_only(cache: Path) -> Path:
    """The cache with every song's chords removed (a melody-only cache)."""
    for split in ("train", "valid", "test"):
        path = cache / f"{split}.jsonl"
        songs = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**song, "chords": []}) + "\n" for song in songs))
    return cache


def test_every_stage_runs_for_real_and_the_best_gapt_seed_is_bundled(tmp_path):
    cache = write_cache(tmp_path / "cache")
    melodies = melody_only(write_cache(tmp_path / "melodies"))
    config = PipelineConfig(recipe=str(tiny_recipe(tmp_path / "tiny.json")), seeds=(0, 1),
                            reward_seeds=(0,), data=cache, melodies=melodies, jobs=2,
                            eval_samples=2)
    record = run_pipeline(tmp_path / "p", config, progress=False, log=lambda _: None)
    assert all(v["status"] == "done" for v in record["stages"].values())
    results = json.loads((tmp_path / "p" / "eval" / "results.json").read_text())
    assert {"mle", "rl_coherence", "gapt", "teacher", "ground_truth"} <= set(results["systems"])
    folk = json.loads((tmp_path / "p" / "eval-essen" / "results.json").read_text())
    assert {"mle", "gapt", "one_chord", "rule_causal"} <= set(folk["systems"])
    assert "ground_truth" not in folk["systems"]  # melodies without chords
    # two RL steps on untrained models decide nothing: set the verdict both ways by hand
    results_path = tmp_path / "p" / "eval" / "results.json"
    mle = results["systems"]["mle"]["harmony"]
    results["systems"]["gapt"]["harmony"] = mle
    results_path.write_text(json.dumps(results))
    with pytest.raises(ValueError, match="does not beat the mle model"):
        bundle_best(tmp_path / "p", config, "cojam pipeline ...", tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
    results["systems"]["gapt"]["harmony"] = mle + 0.01
    results_path.write_text(json.dumps(results))
    bundle = bundle_best(tmp_path / "p", config, "cojam pipeline ...", tmp_path / "bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["stage"] == "gapt" and manifest["seed"] in (0, 1)
    assert manifest["evaluation"]["gapt"] == results["systems"]["gapt"]
    assert manifest["evaluation_essen"]["gapt"] == folk["systems"]["gapt"]


def test_a_rerun_with_fewer_seeds_drops_the_stages_it_no_longer_plans(tmp_path):
    both = PipelineConfig(seeds=(0,), reward_seeds=(0, 1), jobs=2)
    run_pipeline(tmp_path, both, fake_runner([]), progress=False, log=lambda _: None)
    (tmp_path / "eval" / "results.json").unlink()
    one = PipelineConfig(seeds=(0,), reward_seeds=(0,), jobs=2)
    record = run_pipeline(tmp_path, one, fake_runner([]), progress=False, log=lambda _: None)
    assert set(record["stages"]) == {s.name for s in plan(tmp_path, one)}
    assert "reward-contrastive-s1" not in (tmp_path / "pipeline.md").read_text()
