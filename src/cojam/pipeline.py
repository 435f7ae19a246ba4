"""The whole path in one command: corpus -> cache -> pre-trained models -> reward models ->
RL with and without the adversarial term -> evaluation -> report (-> bundled model).

Every stage is one ``cojam`` command, run as a subprocess with its output in
``OUT/logs/STAGE.log``; a stage is done when the file it ends by writing exists, so a
rerun of the same pipeline command skips finished stages, and each stage's own command
resumes from its last checkpoint. Independent stages run side by side (``jobs``; each
trains on one torch thread, see the cpu-small recipe). ``OUT/pipeline.json`` records each
stage's command and seconds; ``OUT/pipeline.md`` and ``OUT/stage_times.png`` are the
human-readable report, beside the evaluation's own ``OUT/eval/report.md``.

Layout of ``OUT``::

    cache/                     the song cache (or --data)
    essen/                     melody-only folk tunes (RL rollouts, evaluation)
    mle/s0 ... mle/sN          online accompanist (MLE), one per seed
    teacher/  melody/          offline teacher, melody agent
    rewards/KIND[-rhythm]-sS   reward models
    rl/rl-coherence-sS, rl/gapt-sS   post-trained policies, from mle/sS
    eval/                      results.json, report.md, plots
    eval-essen/                the same systems on the folk tunes' test part (song style)
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

REWARD_KINDS = ("contrastive", "discriminative")
RL_SECTIONS = ("rl-coherence", "gapt")


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: a ``cojam`` command and the file that marks it done."""

    name: str
    args: tuple[str, ...]
    """arguments after ``cojam``"""
    done_file: str
    """relative to the pipeline's directory"""
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineConfig:
    recipe: str = "cpu-small"
    seeds: tuple[int, ...] = (0, 1, 2)
    """seeds of the MLE accompanist and of each RL section (RL seed s starts from MLE s)"""
    reward_seeds: tuple[int, ...] = (0, 1)
    """seeds of each reward model kind"""
    data: Path | None = None
    """an existing cache; None builds the Bach cache from music21's corpus"""
    jobs: int = 2
    """stages run side by side"""
    eval_samples: int = 3
    melodies: Path | None = None
    """an existing melody-only cache for RL rollouts and the second evaluation; None
    builds music21's folk collection (``--source essen``)"""
    essen_songs: int = 100
    """test tunes of the melody-only cache in its evaluation"""


def plan(out: Path, config: PipelineConfig) -> list[Stage]:
    """The stages in a valid order (each after those it needs)."""
    out = Path(out)
    recipe = ("--recipe", config.recipe)
    stages = []
    if config.data is None:
        cache = out / "cache"
        stages.append(Stage("cache", ("data", "build", "--source", "bach", "--out", str(cache),
                                      "--quiet"), "cache/vocab.json"))
        needs_cache: tuple[str, ...] = ("cache",)
    else:
        cache, needs_cache = Path(config.data), ()
    data = ("--data", str(cache))
    if config.melodies is None:
        essen = out / "essen"
        stages.append(Stage("essen", ("data", "build", "--source", "essen", "--out",
                                      str(essen), "--quiet"), "essen/stats.json"))
        needs_essen: tuple[str, ...] = ("essen",)
    else:
        essen, needs_essen = Path(config.melodies), ()

    def train(name: str, what: str, run: str, *more: str) -> Stage:
        return Stage(name, ("train", what, *data, *recipe, "--out", str(out / run), *more,
                            "--quiet"), f"{run}/summary.json", needs_cache)

    for seed in config.seeds:
        stages.append(train(f"mle-s{seed}", "online", f"mle/s{seed}", "--seed", str(seed)))
    stages.append(train("teacher", "teacher", "teacher"))
    stages.append(train("melody", "melody", "melody"))
    rewards = []
    for kind in REWARD_KINDS:
        for rhythm in (False, True):
            for seed in config.reward_seeds:
                name = f"{kind}{'-rhythm' if rhythm else ''}-s{seed}"
                rewards.append(name)
                stages.append(train(f"reward-{name}", "reward", f"rewards/{name}", "--kind", kind,
                                    *(("--rhythm",) if rhythm else ()), "--seed", str(seed)))
    reward_args = [a for name in rewards for a in ("--reward", str(out / "rewards" / name))]
    for section in RL_SECTIONS:
        for seed in config.seeds:
            run = f"rl/{section}-s{seed}"
            stages.append(Stage(
                f"{section}-s{seed}",
                ("rl", *data, *recipe, "--section", section, "--seed", str(seed),
                 "--mle", str(out / "mle" / f"s{seed}"), "--teacher", str(out / "teacher"),
                 "--melody-agent", str(out / "melody"), *reward_args, "--melodies", str(essen),
                 "--out", str(out / run), "--quiet"),
                f"{run}/summary.json",
                (*needs_cache, *needs_essen, f"mle-s{seed}", "teacher", "melody",
                 *(f"reward-{name}" for name in rewards))))

    def pooled(prefix: str) -> str:
        return ",".join(str(out / f"{prefix}s{seed}") for seed in config.seeds)

    first = config.reward_seeds[0]
    systems = ("--model", f"mle={pooled('mle/')}",
               "--model", f"rl_coherence={pooled('rl/rl-coherence-')}",
               "--model", f"gapt={pooled('rl/gapt-')}")
    stages.append(Stage(
        "eval-essen",
        ("eval", "--data", str(essen), "--vocab", str(cache), "--split", "test",
         "--out", str(out / "eval-essen"), *systems, "--samples", str(config.eval_samples),
         "--limit-songs", str(config.essen_songs), "--no-adaptation", "--threads", "1",
         "--style", "song", "--quiet"),
        "eval-essen/results.json",
        tuple(s.name for s in stages if s.name.startswith(("rl-", "gapt"))) + needs_essen))
    stages.append(Stage(
        "eval",
        ("eval", *data, "--split", "test", "--out", str(out / "eval"), *systems,
         "--model", f"teacher={out / 'teacher'}",
         "--reward", str(out / "rewards" / f"contrastive-s{first}"),
         "--reward", str(out / "rewards" / f"discriminative-s{first}"),
         "--melody-agent", str(out / "melody"), "--samples", str(config.eval_samples),
         "--threads", "1", "--quiet"),
        "eval/results.json",
        tuple(s.name for s in stages if s.name not in ("cache", "essen", "eval-essen"))
        + needs_cache))
    return stages


def command_line(stage: Stage) -> str:
    return "cojam " + shlex.join(stage.args)


def describe_plan(out: Path, config: PipelineConfig) -> str:
    """The plan as ``--dry-run`` prints it: one line per stage, its command, and ``done``
    before those a rerun would skip."""
    return "\n".join(f"{'done ' if (Path(out) / stage.done_file).exists() else '     '}"
                     f"{stage.name}: {command_line(stage)}" for stage in plan(out, config))


def run_stage(stage: Stage, out: Path) -> None:
    """Run one stage's command as a subprocess; raise with the log's tail if it fails."""
    log_path = out / "logs" / f"{stage.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        log.write(f"$ {command_line(stage)}\n")
        log.flush()
        done = subprocess.run([sys.executable, "-m", "cojam.cli.main", *stage.args],
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-5:])
        raise RuntimeError(f"stage {stage.name} failed (exit {done.returncode}); "
                           f"log {log_path}:\n{tail}")


class PipelineError(RuntimeError):
    pass


def run_pipeline(
    out: Path,
    config: PipelineConfig,
    runner: Callable[[Stage, Path], None] = run_stage,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every unfinished stage (``jobs`` at a time, each once all it needs is done);
    returns the record also written to ``OUT/pipeline.json``. A failed stage stops new
    launches, lets running ones finish, and raises ``PipelineError``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stages = plan(out, config)
    record_path = out / "pipeline.json"
    record = _start_record(record_path, stages, config)

    # what earlier runs finished
    done = {s.name for s in stages if (out / s.done_file).exists()}
    for stage in stages:
        entry = record["stages"].setdefault(stage.name, {})
        entry["command"] = command_line(stage)
        if stage.name in done:
            entry.setdefault("status", "done")
    pending = [s for s in stages if s.name not in done]
    ran_stages = bool(pending)
    if done:
        log(f"{len(done)} of {len(stages)} stages already done; {len(pending)} to run")

    # the rest, side by side
    bar = tqdm(total=len(stages), initial=len(done), desc="pipeline", unit="stage",
               disable=not progress)
    wall = time.perf_counter()
    failures = _run_stages(pending, done, out, config.jobs, runner, record, record_path, bar,
                           log)
    bar.close()

    # record and report
    if ran_stages or not record.get("last_wall_seconds"):  # a run of no stage keeps it
        record["last_wall_seconds"] = round(time.perf_counter() - wall, 1)
    _save_record(record_path, record)
    if failures or pending:
        raise PipelineError("; ".join(failures) or f"stages left unrun: "
                            f"{', '.join(s.name for s in pending)}")
    write_pipeline_report(out, record)
    return record


def _start_record(record_path: Path, stages: Sequence[Stage],
                  config: PipelineConfig) -> dict[str, Any]:
    """The record of earlier runs (stage times, statuses) with the stages of this plan
    only (an earlier plan's stage, e.g. another seed, is dropped), and this run's config."""
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    record.setdefault("stages", {})
    planned = {s.name for s in stages}
    record["stages"] = {k: v for k, v in record["stages"].items() if k in planned}
    record.update(recipe=config.recipe, seeds=list(config.seeds),
                  reward_seeds=list(config.reward_seeds), jobs=config.jobs)
    return record


def _save_record(record_path: Path, record: dict[str, Any]) -> None:
    record["total_seconds"] = round(sum(s.get("seconds", 0.0)
                                        for s in record["stages"].values()), 1)
    record_path.write_text(json.dumps(record, indent=1) + "\n")


def _run_stages(
    pending: list[Stage],
    done: set[str],
    out: Path,
    jobs: int,
    runner: Callable[[Stage, Path], None],
    record: dict[str, Any],
    record_path: Path,
    bar: tqdm,
    log: Callable[[str], None],
) -> list[str]:
    """Launch each pending stage once all it needs is ``done`` (taking it off ``pending``),
    ``jobs`` at a time, and record each outcome as it comes (saving the record). A failure
    stops new launches and lets running stages finish. Returns the failures."""
    failures: list[str] = []
    running: dict[Future, tuple[Stage, float]] = {}
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        while pending or running:
            ready = [s for s in pending if set(s.needs) <= done]
            while ready and len(running) < jobs and not failures:
                stage = ready.pop(0)
                pending.remove(stage)
                log(f"start {stage.name}: {command_line(stage)}")
                record["stages"][stage.name]["status"] = "running"
                running[pool.submit(runner, stage, out)] = (stage, time.perf_counter())
            if not running:
                break  # a failure stopped launches, or nothing left can run
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stage, started = running.pop(future)
                entry = record["stages"][stage.name]
                entry["seconds"] = round(entry.get("seconds", 0.0)
                                         + time.perf_counter() - started, 1)
                error = future.exception()
                if error is None and not (out / stage.done_file).exists():
                    error = RuntimeError(f"stage {stage.name} ended without writing "
                                         f"{stage.done_file}")
                if error is None:
                    done.add(stage.name)
                    entry["status"] = "done"
                    bar.update(1)
                    log(f"done {stage.name} in {entry['seconds']:.0f}s")
                else:
                    entry["status"] = "failed"
                    failures.append(str(error))
                    log(str(error))
                _save_record(record_path, record)
    return failures


def best_seed(out: Path, section: str, seeds: Sequence[int], last: int = 10) -> int:
    """The seed whose policy ended its training with the highest mean total reward over
    its last ``last`` policy steps: chosen on training signal, never on the test split."""
    def score(seed: int) -> float:
        lines = (out / "rl" / f"{section}-s{seed}" / "metrics.jsonl").read_text().splitlines()
        values = [json.loads(line).get("reward/total") for line in lines]
        values = [v for v in values if v is not None][-last:]
        return sum(values) / max(len(values), 1)

    return max(seeds, key=score)


def check_bundle_worthy(results: dict[str, Any], policy: str = "gapt",
                       reference: str = "mle") -> None:
    """Refuse (ValueError, saying why) to bundle a policy whose evaluation does not beat
    the MLE model's note-in-chord: post-training that made the accompanist harmonise worse
    is not shipped, whatever its rewards say."""
    systems = results.get("systems", {})
    missing = [name for name in (policy, reference) if "harmony" not in systems.get(name, {})]
    if missing:
        raise ValueError(f"cannot bundle: the evaluation has no harmony for "
                         f"{', '.join(missing)}")
    ours, theirs = systems[policy]["harmony"], systems[reference]["harmony"]
    if ours <= theirs:
        raise ValueError(f"not bundling {policy}: its note-in-chord {ours:.3f} does not beat "
                         f"the {reference} model's {theirs:.3f} on the test split; a musician "
                         "would hear post-training make the accompanist worse")


def essen_evaluation(out: Path) -> dict[str, Any]:
    """The folk tunes' evaluation for the manifest ({} when the pipeline has none)."""
    path = out / "eval-essen" / "results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text())
    return {"evaluation_essen": results["systems"], "intervals_essen": results["intervals"],
            "evaluation_essen_meta": {k: results["meta"].get(k) for k in
                                      ("split", "songs", "windows", "date")}}


def bundle_best(out: Path, config: PipelineConfig, command: str,
                bundle_dir: Path | None = None) -> Path:
    """Write the best ``gapt`` policy of a finished pipeline into the package bundle."""
    from cojam.models.bundled import write_bundle
    from cojam.models.checkpoint import load_model, read_config
    from cojam.provenance import git_commit

    results = json.loads((out / "eval" / "results.json").read_text())
    check_bundle_worthy(results)
    record = json.loads((out / "pipeline.json").read_text())
    seed = best_seed(out, "gapt", config.seeds)
    run = out / "rl" / f"gapt-s{seed}"
    cache = Path(config.data) if config.data else out / "cache"
    stats = json.loads((cache / "stats.json").read_text()) if (cache / "stats.json").exists() \
        else {}
    manifest = {
        "stage": "gapt", "recipe": config.recipe, "seed": seed,
        "selection": f"highest mean training reward over the last 10 policy steps among "
                     f"gapt seeds {list(config.seeds)}",
        "git_commit": read_config(run).get("git_commit") or git_commit(),  # what trained it
        "trained_on": "Bach chorales from music21's corpus" if config.data is None
                      else str(config.data),
        "cache": {k: stats[k] for k in ("songs", "splits") if k in stats},
        "parameters": sum(p.numel() for p in load_model(run).parameters()),
        "commands": [command, record["stages"][f"gapt-s{seed}"]["command"]],
        "stage_seconds": {k: v.get("seconds") for k, v in record["stages"].items()},
        "evaluation": results["systems"],
        "intervals": results["intervals"],
        **essen_evaluation(out),
        "evaluation_meta": {k: results["meta"].get(k) for k in
                            ("split", "songs", "windows", "date", "intervals")},
    }
    return write_bundle(run, manifest, bundle_dir)


def write_pipeline_report(out: Path, record: dict[str, Any]) -> Path:
    """``pipeline.md`` (stage times, headline numbers, pointers) and ``stage_times.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = record["stages"]
    names = list(stages)
    seconds = [stages[n].get("seconds", 0.0) for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(names) + 1))
    ax.barh(names[::-1], [s / 60 for s in seconds[::-1]], color="#4a7ab7")
    ax.set_xlabel("minutes (stage's own run time)")
    ax.set_title(f"pipeline stages, recipe {record['recipe']}")
    fig.tight_layout()
    fig.savefig(out / "stage_times.png", dpi=110)
    plt.close(fig)

    lines = [f"# Pipeline `{record['recipe']}`", "",
             f"Seeds {record['seeds']} (MLE and each RL section), reward-model seeds "
             f"{record['reward_seeds']}, {record['jobs']} stages side by side. Sum of stage "
             f"times {record['total_seconds'] / 60:.1f} min; wall time of the last "
             f"invocation {record.get('last_wall_seconds', 0) / 60:.1f} min.", "",
             "| stage | minutes | command |", "| --- | ---: | --- |"]
    for name, s in zip(names, seconds, strict=True):
        lines.append(f"| {name} | {s / 60:.1f} | `{stages[name].get('command', '')}` |")
    results_path = out / "eval" / "results.json"
    if results_path.exists():
        results = json.loads(results_path.read_text())
        lines += ["", "## Headline (test split; 95% intervals)", "",
                  "| system | harmony | Vendi | chord entropy |", "| --- | --- | --- | --- |"]
        for name, values in results.get("systems", {}).items():
            cells = []
            for metric in ("harmony", "vendi", "chord_entropy"):
                value = values.get(metric)
                low, high = results["intervals"].get(name, {}).get(metric, [None, None])
                cells.append("–" if value is None else f"{value:.3f}" + (
                    f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Full report: [eval/report.md](eval/report.md)."]
    lines += ["", "![stage times](stage_times.png)", ""]
    path = out / "pipeline.md"
    path.write_text("\n".join(lines))
    return path
