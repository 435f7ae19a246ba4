"""Fixtures for reward model tests: a tiny song cache where the real pairing is learnable
(each beat's chord is the major triad on that beat's melody note), a tiny recipe, and
tiny reward models trained on it through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.music.chords import Chord
from cojam.music.song import ChordSpan, Note, Song

BEATS = 8
TINY_REWARD = {
    "model": {"d_model": 32, "n_layers": 1, "n_heads": 2, "mlp_ratio": 2, "dropout": 0.0,
              "max_frames": 32, "embed_dim": 32, "temperature": 0.1},
    "train": {"batch_size": 16, "lr": 0.003, "warmup_steps": 10, "max_steps": 60,
              "eval_every": 30, "checkpoint_every": 30, "log_every": 10, "seed": 0,
              "threads": 1},
}


def triad_song(index: int, rng: np.random.Generator) -> Song:
    """A note per beat; under it the major triad rooted on the note."""
    pitches = rng.integers(60, 72, BEATS)
    notes = tuple(Note(float(b), 1.0, int(p)) for b, p in enumerate(pitches))
    chords = tuple(ChordSpan(float(b), 1.0, Chord(int(p) % 12, "maj"))
                   for b, p in enumerate(pitches))
    return Song(f"triad-{index}", "synthetic", notes, chords)


def write_triad_cache(root: Path, counts: dict[str, int] | None = None) -> Path:
    counts = counts or {"train": 64, "valid": 16, "test": 16}
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    index = 0
    for split, n in counts.items():
        songs = [triad_song(index + i, rng) for i in range(n)]
        index += n
        (root / f"{split}.jsonl").write_text(
            "".join(json.dumps(s.to_dict()) + "\n" for s in songs))
    spec = TokenSpec(chords=chord_vocabulary([Chord(0, "maj")]), min_pitch=48, max_pitch=84)
    spec.save(root / "vocab.json")
    (root / "stats.json").write_text("{}\n")
    return root


@pytest.fixture(scope="session")
def triad_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_triad_cache(tmp_path_factory.mktemp("triads"))


@pytest.fixture(scope="session")
def reward_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "tiny.json"
    path.write_text(json.dumps({"description": "tiny reward models", "reward": TINY_REWARD}))
    return path


@pytest.fixture(scope="session")
def trained_runs(triad_cache: Path, reward_recipe: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{kind: run directory} of a tiny contrastive and a tiny discriminative model."""
    from cojam.rewards.train import train_reward

    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for kind in ("contrastive", "discriminative"):
        runs[kind] = root / kind
        train_reward(kind, False, triad_cache, runs[kind], reward_recipe, seed=0,
                     progress=False, log=lambda _: None)
    return runs
