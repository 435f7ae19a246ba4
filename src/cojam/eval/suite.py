"""The evaluation suite: every system on every test piece, written to ``results.json``.

Read top to bottom: settings, systems (baselines, then models), pieces, the main pass
(``samples`` sampling passes per system, pass p seeded with ``seed + p``), the adaptation
test (``adaptation_samples`` passes: its curves already average every song and shift, and
it is the costly part), self-play, reward-hacking flags, files. ``results.json`` holds::

    {"meta": {...how it was made...},
     "systems":   {NAME: {metric: value}},       # the headline numbers
     "intervals": {NAME: {metric: [low, high]}}, # 95%, see stats.py
     "adaptation": {NAME: {case: summary}},      # see adaptation.py
     "selfplay": {"systems": ..., "intervals": ..., "melody": ...} or null,
     "reward_hacking": [flag, ...],
     "rhythm_gaming": [flag, ...],
     "chord_counts": {NAME: {symbol: count}}}

and ``sequences.json`` the attacked chord symbols of every output (the report's chord
plots are drawn from it). Values that are not finite (a recovery that never came) are
written as null.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from cojam.data.cache import load_spec
from cojam.data.tokens import TokenSpec
from cojam.eval import adaptation
from cojam.eval.learned_rewards import (
    check_reward_vocabulary,
    flag_reward_hacking,
    flag_rhythm_gaming,
    reward_name,
    reward_scores,
)
from cojam.eval.model_systems import (
    Sampling,
    load_accompanist,
    model_system,
    parse_model_arg,
    pooled_system,
)
from cojam.eval.pieces import Piece, System, check_outputs, load_pieces
from cojam.eval.reference_systems import baseline_systems
from cojam.eval.report import write_report
from cojam.eval.selfplay import melody_facts, selfplay_pieces
from cojam.eval.system_scores import SystemScores, score_outputs
from cojam.models.checkpoint import kind_of, load_model
from cojam.provenance import git_commit
from cojam.rewards.ensemble import RewardFn, load_reward

DEFAULT_MAX_FRAMES = 256  # the training window of DESIGN.md, when no model sets one


@dataclass(frozen=True)
class EvalConfig:
    """Everything that decides the numbers, recorded in ``meta``."""

    split: str = "test"
    samples: int = 3
    adaptation_samples: int = 1
    seed: int = 0
    limit_songs: int | None = None
    vocab: Path | None = None
    """a cache whose token vocabulary to use instead of the data's (a melody-only cache
    evaluated with the accompanist's vocabulary)"""
    degenerate: bool = True
    adaptation: bool = True
    selfplay_bars: int = 16
    selfplay_seed_bars: int = 2
    sampling: Sampling = field(default_factory=Sampling)
    device: str = "cpu"


def json_ready(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def models_from_args(texts: Sequence[str]) -> dict[str, Path | tuple[Path, ...]]:
    """``run_evaluation``'s ``models`` from ``--model [NAME=]RUN[,RUN...]`` texts (see
    ``parse_model_arg``); two of one name are refused, since one would silently replace
    the other."""
    models = dict(parse_model_arg(text) for text in texts)
    if len(models) != len(texts):
        raise ValueError("two --model options have the same name; use NAME=RUN")
    return models


def _unique_name(name: str, taken: Mapping[str, Any]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _run_passes(
    name: str, system: System, pieces: Sequence[Piece], samples: int, seed: int, bar: tqdm
) -> list[list[np.ndarray]]:
    passes = []
    for p in range(samples):
        outputs = system(pieces, seed + p)
        check_outputs(name, pieces, outputs)
        passes.append(outputs)
        bar.update(1)
    return passes


def _rewards_of(
    rewards: Mapping[str, RewardFn],
    pieces: Sequence[Sequence[Piece]],
    passes: Sequence[Sequence[np.ndarray]],
    batch_size: int,
) -> dict[str, list[np.ndarray]]:
    return {name: [reward_scores(fn, pass_pieces, rows, batch_size)
                   for pass_pieces, rows in zip(pieces, passes, strict=True)]
            for name, fn in rewards.items()}


def _store(section: dict, name: str, scores: SystemScores) -> None:
    section["systems"][name] = dict(scores.values)
    section["intervals"][name] = {k: list(v) for k, v in scores.intervals.items()}


def run_evaluation(
    data_dir: Path,
    out_dir: Path,
    models: Mapping[str, Path | Sequence[Path]] | None = None,
    rewards: Sequence[Path] = (),
    melody_agent: Path | None = None,
    config: EvalConfig | None = None,
    progress: bool = True,
    report: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Evaluate baselines and ``models`` (name -> run dir, or several run dirs: seeds of one
    recipe pooled, see ``pooled_system``; self-play uses the first) on ``config.split`` of the
    cache in ``data_dir``; write ``results.json`` and ``sequences.json`` (and with
    ``report`` the figures and ``report.md``) to ``out_dir``; return the results."""
    config = config or EvalConfig()
    started_all = time.perf_counter()
    if config.samples < 1 or config.adaptation_samples < 1:
        raise ValueError(f"sample counts must be at least 1, got {config.samples} and "
                         f"{config.adaptation_samples}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec: TokenSpec = load_spec(config.vocab or data_dir)

    # systems, melody agent and rewards: all loaded (and checked) before any work
    lineup = _load_systems(models or {}, spec, config, log)
    agent = None if melody_agent is None else _load_melody_agent(melody_agent, spec, config)
    reward_fns = _load_rewards(rewards, spec, config)

    # pieces
    pieces = _load_test_pieces(data_dir, spec, config, lineup)
    songs = list(dict.fromkeys(p.song_id for p in pieces))
    log(f"evaluating {len(lineup.systems)} systems on {len(pieces)} windows of {len(songs)} "
        f"{config.split} songs, {config.samples} samples each")

    # main pass, adaptation test, self-play
    results: dict[str, Any] = {"systems": {}, "intervals": {}, "adaptation": {},
                               "selfplay": None, "chord_counts": {}}
    timings: dict[str, float] = {}
    sequences = _main_pass(lineup.systems, pieces, spec, reward_fns, config, progress, results,
                           timings)
    adaptation_meta = _adaptation_pass(lineup.systems, pieces, spec, config, progress, results,
                                       timings)
    selfplay_meta: dict[str, Any] = {"melody_agent": None if melody_agent is None
                                     else str(melody_agent)}
    if agent is not None and lineup.online_models:
        selfplay_meta.update(bars=config.selfplay_bars, seed_bars=config.selfplay_seed_bars)
        results["selfplay"] = _run_selfplay(lineup.online_models, agent, pieces, reward_fns,
                                            config, spec)

    # flags: systems that game a reward or the rhythm metrics
    _flag_gaming(results, lineup.info)

    # files
    results["meta"] = {
        "data": str(data_dir), "split": config.split, "songs": len(songs),
        "windows": len(pieces), "max_frames": lineup.max_frames, "config": asdict(config),
        "git_commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "systems": lineup.info, "rewards": {name: str(run) for name, run in
                                            zip(reward_fns, rewards, strict=True)},
        "adaptation": adaptation_meta, "selfplay": selfplay_meta,
        "seconds_per_system": timings, "seconds": time.perf_counter() - started_all,
        "intervals": "per-output metrics: percentile bootstrap over songs (2000 resamples); "
                     "set metrics (entropy, distinct, Vendi): percentile bootstrap over "
                     "sampling passes",
    }
    results = json_ready(results)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out_dir / "sequences.json").write_text(json.dumps(
        {"song_ids": [p.song_id for p in pieces], "systems": sequences}) + "\n")
    if report:
        write_report(out_dir)
    return results


@dataclass
class Lineup:
    """The systems of one evaluation: baselines first, then the models."""

    systems: dict[str, System]
    info: dict[str, dict[str, Any]]
    """name -> what it is (``type`` baseline or model, and a model's facts)"""
    online_models: dict[str, Any]
    """the online accompanists by system name (the first run of a pool): self-play"""
    max_frames: int
    """the shortest context of any model: the pieces' window"""


def _load_systems(
    models: Mapping[str, Path | Sequence[Path]],
    spec: TokenSpec,
    config: EvalConfig,
    log: Callable[[str], None],
) -> Lineup:
    systems: dict[str, System] = dict(baseline_systems(spec, config.degenerate))
    lineup = Lineup(systems, {name: {"type": "baseline"} for name in systems}, {},
                    DEFAULT_MAX_FRAMES)
    for name, runs in models.items():
        if name in systems:
            raise ValueError(f"system name {name!r} is taken; name the run NAME=RUN")
        runs = [runs] if isinstance(runs, str | Path) else list(runs)
        loaded = [load_accompanist(run_dir, spec, config.device) for run_dir in runs]
        model, facts = loaded[0]
        systems[name] = pooled_system([model_system(m, config.sampling) for m, _ in loaded])
        lineup.info[name] = {"type": "model", **facts}
        if len(runs) > 1:
            lineup.info[name]["runs"] = [str(r) for r in runs]
            if config.samples % len(runs):
                log(f"{name}: {config.samples} samples do not split evenly over "
                    f"{len(runs)} runs")
        lineup.max_frames = min([lineup.max_frames, *(m.config.max_frames for m, _ in loaded)])
        if facts["kind"] == "online":
            lineup.online_models[name] = model
    return lineup


def _load_melody_agent(run_dir: Path, spec: TokenSpec, config: EvalConfig) -> Any:
    agent = load_model(run_dir, config.device)
    if kind_of(agent) != "melody" or agent.spec != spec:
        raise ValueError(f"{run_dir} is not a melody agent for this cache's "
                         f"vocabulary (kind {kind_of(agent)!r})")
    return agent


def _load_rewards(
    rewards: Sequence[Path], spec: TokenSpec, config: EvalConfig
) -> dict[str, RewardFn]:
    reward_fns: dict[str, RewardFn] = {}
    for run_dir in rewards:
        check_reward_vocabulary(run_dir, spec)
        reward_fns[_unique_name(reward_name(run_dir), reward_fns)] = load_reward(
            run_dir, config.device)
    return reward_fns


def _load_test_pieces(
    data_dir: Path, spec: TokenSpec, config: EvalConfig, lineup: Lineup
) -> list[Piece]:
    """The windows of ``config.split``; without any chord (a melody-only cache) there is no
    reference to play, so the ``ground_truth`` system leaves the lineup."""
    pieces = load_pieces(data_dir, config.split, spec, lineup.max_frames, config.limit_songs)
    if not pieces:
        raise ValueError(f"{data_dir}: split {config.split!r} has no songs")
    if not any((p.chords != spec.chord_silence).any() for p in pieces):
        lineup.systems.pop("ground_truth", None)
        lineup.info.pop("ground_truth", None)
    return pieces


def _main_pass(
    systems: Mapping[str, System],
    pieces: Sequence[Piece],
    spec: TokenSpec,
    reward_fns: Mapping[str, RewardFn],
    config: EvalConfig,
    progress: bool,
    results: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    """``config.samples`` passes of every system, scored into ``results``; their seconds
    (generation only, not scoring) into ``timings``; returns the chord sequences."""
    sequences: dict[str, Any] = {}
    bar = tqdm(total=len(systems) * config.samples, desc="main", unit="pass",
               disable=not progress)
    for name, system in systems.items():
        started = time.perf_counter()
        passes = _run_passes(name, system, pieces, config.samples, config.seed, bar)
        timings[name] = time.perf_counter() - started
        piece_lists = [pieces] * len(passes)
        scores = score_outputs(piece_lists, passes, spec,
                               _rewards_of(reward_fns, piece_lists, passes,
                                           config.sampling.batch_size),
                               config.seed)
        _store(results, name, scores)
        results["chord_counts"][name] = scores.chord_counts
        sequences[name] = scores.sequences
    bar.close()
    return sequences


def _adaptation_pass(
    systems: Mapping[str, System],
    pieces: Sequence[Piece],
    spec: TokenSpec,
    config: EvalConfig,
    progress: bool,
    results: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    """The adaptation test (when ``config.adaptation``): every system's summary into
    ``results["adaptation"]`` and its headline columns into the main table (null when the
    test did not run); returns what the test was, for ``meta``."""
    meta: dict[str, Any] = {"enabled": config.adaptation}
    if config.adaptation:
        cases, skipped = adaptation.adaptation_cases(pieces, spec, config.seed)
        meta.update(shifts=list(adaptation.SHIFTS), cases=len(cases),
                    samples=config.adaptation_samples, before_beats=adaptation.BEFORE_BEATS,
                    after_beats=adaptation.AFTER_BEATS, after_window=adaptation.AFTER_WINDOW,
                    skipped=len(skipped), skipped_examples=skipped[:10])
        case_pieces = [case.piece for case in cases]
        bar = tqdm(total=len(systems) * config.adaptation_samples, desc="adaptation",
                   unit="pass", disable=not progress or not cases)
        for name, system in systems.items():
            if not cases:
                break
            started = time.perf_counter()
            passes = _run_passes(name, system, case_pieces, config.adaptation_samples,
                                 config.seed, bar)
            timings[name] += time.perf_counter() - started
            summary = adaptation.summarise_adaptation(cases, passes, spec, config.seed)
            results["adaptation"][name] = summary
            _add_adaptation_headline(results, name, summary)
        bar.close()
    for name in systems:  # the key every consumer reads, null when the test did not run
        results["systems"][name].setdefault("adaptation_beats", None)
        results["intervals"][name].setdefault("adaptation_beats", [None, None])
    return meta


def _flag_gaming(results: dict[str, Any], info: Mapping[str, Mapping[str, Any]]) -> None:
    """``reward_hacking`` and ``rhythm_gaming`` flags of the trained models; the teacher
    hears the future and is trained on no reward: not a candidate."""
    trained = [name for name, facts in info.items()
               if facts["type"] == "model" and facts.get("kind") != "teacher"]
    results["reward_hacking"] = flag_reward_hacking(results["systems"], results["intervals"],
                                                    candidates=trained)
    results["rhythm_gaming"] = flag_rhythm_gaming(results["systems"], trained)


def _add_adaptation_headline(results: dict, name: str, summary: dict) -> None:
    """The pooled random-bar case and the protocol, as columns of the main table."""
    values, intervals = results["systems"][name], results["intervals"][name]
    for column, case in (("adaptation_beats", adaptation.POOLED),
                         ("adaptation_beats_tritone16", adaptation.PROTOCOL)):
        if case in summary:
            values[column] = summary[case]["recovery_beats"]
            intervals[column] = summary[case]["recovery_interval"]
    if adaptation.POOLED in summary:
        values["adaptation_harmony_before"] = summary[adaptation.POOLED]["harmony_before"]
        values["adaptation_harmony_after"] = summary[adaptation.POOLED]["harmony_after"]


def _run_selfplay(
    online_models: Mapping[str, Any],
    agent: Any,
    pieces: Sequence[Piece],
    reward_fns: Mapping[str, RewardFn],
    config: EvalConfig,
    spec: TokenSpec,
) -> dict[str, Any]:
    """Self-play sessions of every online model with the melody agent, scored like the
    main pass, plus what the agent played."""
    seeds = [p for p in pieces if p.start_frame == 0]
    section: dict[str, Any] = {"systems": {}, "intervals": {}, "melody": {}}
    sampling = config.sampling
    for name, model in online_models.items():
        sessions = [selfplay_pieces(model, agent, seeds, config.selfplay_seed_bars,
                                    config.selfplay_bars, config.seed + p, sampling.temperature,
                                    sampling.top_k, sampling.top_p, sampling.batch_size)
                    for p in range(config.samples)]
        passes = [[s.chords for s in pass_sessions] for pass_sessions in sessions]
        scores = score_outputs(sessions, passes, spec,
                               _rewards_of(reward_fns, sessions, passes, sampling.batch_size),
                               config.seed)
        _store(section, name, scores)
        section["melody"][name] = melody_facts([s for ss in sessions for s in ss], spec)
    return section
