"""Judge accompanists by the sessions simulated musicians played with them.

``cojam simulate-jams --model base=RUN --model learned=RUN`` lets each fresh musician (a
seed: a hidden taste and its own notes) play once with every model; here every model's
sessions are read back from the logs alone (``musicians.jsonl`` only says which session
was whose) and scored per session: the implicit reward of ``cojam.learn.signals``, the
beats played, whether the musician quit annoyed, note-in-chord (frames where a note and a
chord sound together, the note's pitch class in the chord) and the Vendi score of sets of
25 sessions' chord sequences. Each model is compared with ``baseline`` musician by
musician: the mean paired difference of the implicit reward, with a 95% bootstrap
interval over musicians. The realised discounted return of the chords (per played frame) is what a
learner's value estimates are held against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cojam.data.tokens import FRAMES_PER_BEAT
from cojam.eval.metrics import ngram_similarity, vendi_score
from cojam.eval.stats import bootstrap_interval
from cojam.learn.offline import discounted_returns, learned_values_vs_returns
from cojam.learn.signals import SignalWeights, chord_at, frame_rewards, session_summary
from cojam.learn.simulated_musician import MUSICIANS
from cojam.live.session_log import read_session, session_end, session_song
from cojam.music.song import Song

RESAMPLES = 1000
VENDI_SET = 25  # sessions per set whose Vendi is compared


def note_in_chord(song: Song) -> float:
    """The share of frames with both a note and a chord sounding whose note is in the
    chord (the newest note, when notes overlap); NaN when there is none."""
    hits = total = 0
    for frame in range(int(song.length_beats * FRAMES_PER_BEAT)):
        at = (frame + 0.5) / FRAMES_PER_BEAT
        notes = [n for n in song.notes if n.onset <= at < n.onset + n.duration]
        span = chord_at(song.chords, at)
        if notes and span is not None:
            total += 1
            hits += max(notes, key=lambda n: n.onset).pitch % 12 in span.chord.pitch_classes
    return hits / total if total else float("nan")


def realised_returns(events: list[dict[str, Any]], gamma: float,
                     weights: SignalWeights) -> np.ndarray:
    """The discounted return-to-go of each frame from the first chord on."""
    song, _ = session_song(events)
    frames = int(session_end(events) * FRAMES_PER_BEAT) + 1
    reward = torch.from_numpy(frame_rewards(events, frames, weights))[None]
    returns = discounted_returns(reward, torch.zeros_like(reward, dtype=torch.bool),
                                 gamma)[0].numpy()
    first = int(song.chords[0].onset * FRAMES_PER_BEAT) if song.chords else frames
    return returns[first:]


def score_session(events: list[dict[str, Any]], weights: SignalWeights, gamma: float
                  ) -> dict[str, Any]:
    song, _ = session_song(events)
    returns = realised_returns(events, gamma, weights)
    return {**session_summary(events, weights), "note_in_chord": note_in_chord(song),
            "chords": [span.chord.symbol for span in song.chords],
            "return_per_frame": float(returns.mean()) if len(returns) else float("nan")}


def _interval(values: np.ndarray) -> list[float]:
    values = values[~np.isnan(values)]
    return [round(v, 4) for v in bootstrap_interval(values, resamples=RESAMPLES)]


def _vendi_interval(sequences: list[list[str]]) -> list[float]:
    """Vendi of sets of ``VENDI_SET`` sessions drawn without replacement: the mean and the
    2.5 and 97.5 percentiles over draws (a resample with replacement repeats sessions,
    which reads as less variety, so the usual bootstrap is biased low for Vendi)."""
    similarity = ngram_similarity(sequences)
    size = min(VENDI_SET, len(sequences))
    rng = np.random.default_rng(0)
    draws = [vendi_score(similarity[np.ix_(rows, rows)]) for rows in
             (rng.choice(len(sequences), size, replace=False) for _ in range(200))]
    low, high = np.quantile(draws, [0.025, 0.975])
    return [round(float(np.mean(draws)), 3), round(float(low), 3), round(float(high), 3)]


def musicians(sessions_dir: Path) -> list[dict[str, Any]]:
    """What each simulated musician knew of its session (``musicians.jsonl``)."""
    text = (Path(sessions_dir) / MUSICIANS).read_text()
    return [json.loads(line) for line in text.splitlines()]


def evaluate_sessions(sessions_dir: Path, baseline: str, gamma: float = 0.95,
                      weights: SignalWeights | None = None) -> dict[str, Any]:
    """Per model: means with 95% bootstrap intervals over musicians; per model other than
    ``baseline``: the paired difference of the implicit reward."""
    weights = weights or SignalWeights()
    sessions_dir = Path(sessions_dir)
    played = musicians(sessions_dir)
    scores: dict[str, dict[int, dict[str, Any]]] = {}
    for entry in played:
        events = read_session(sessions_dir / f"{entry['session']}.jsonl")
        scores.setdefault(entry["model"], {})[entry["seed"]] = {
            **score_session(events, weights, gamma), "annoyed": entry["reason"] == "annoyed"}
    if baseline not in scores:
        raise ValueError(f"{sessions_dir}: no sessions of the baseline {baseline!r}; models: "
                         f"{sorted(scores)}")
    results: dict[str, Any] = {"baseline": baseline, "gamma": gamma, "models": {}}
    for model, by_seed in scores.items():
        rows = list(by_seed.values())

        def column(name: str, rows: list = rows) -> np.ndarray:
            return np.array([float(row[name]) for row in rows])

        summary = {name: _interval(column(name)) for name in (
            "reward", "beats", "note_in_chord", "followed", "annoyed", "good", "bad",
            "replanned", "return_per_frame")}
        summary["vendi"] = _vendi_interval([row["chords"] for row in rows])
        summary["musicians"] = len(rows)
        if model != baseline:
            shared = sorted(set(by_seed) & set(scores[baseline]))
            difference = np.array([by_seed[s]["reward"] - scores[baseline][s]["reward"]
                                   for s in shared])
            summary["reward_minus_baseline"] = _interval(difference)
            summary["paired_musicians"] = len(shared)
        results["models"][model] = summary
    return results


def evaluate_jams(sessions_dir: Path, baseline: str, learned: dict[str, Path],
                  out: Path | None = None) -> dict[str, Any]:
    """``evaluate_sessions`` of a folder of simulated sessions, with each ``learned`` model's
    value estimates beside the returns its sessions realised (``cojam learn`` runs), and
    the code's commit; also written to ``out/results.json`` when ``out`` is given."""
    from cojam.provenance import git_commit

    results = evaluate_sessions(sessions_dir, baseline)
    for name, run in learned.items():
        played = {m["session"] for m in musicians(sessions_dir) if m["model"] == name}
        results["models"][name].update(learned_values_vs_returns(run, sessions_dir, played))
    results["git_commit"] = git_commit()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results
