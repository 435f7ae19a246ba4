"""Helpers for model tests: a tiny synthetic song cache and a tiny recipe.

The songs follow simple rules (chord changes on beats, melody from chord tones) so a tiny
model learns something in a few dozen steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

PROGRESSIONS = (("C", "F", "G", "C"), ("Am", "Dm", "G/B", "C"), ("C", "Am", "F", "G"))

TINY_MODEL = {"d_model": 32, "n_layers": 2, "n_heads": 2, "mlp_ratio": 2, "dropout": 0.1,
              "max_frames": 32}
TINY_TEACHER = {"d_model": 32, "n_encoder_layers": 1, "n_decoder_layers": 1, "n_heads": 2,
                "mlp_ratio": 2, "dropout": 0.1, "max_frames": 32}
TINY_TRAIN = {"batch_size": 4, "lr": 0.003, "warmup_steps": 5, "max_steps": 30,
              "eval_every": 10, "checkpoint_every": 5, "log_every": 5, "seed": 0,
              "threads": 1}


def synthetic_song(index: int, rng: np.random.Generator, bars: int = 2) -> Song:
    progression = PROGRESSIONS[index % len(PROGRESSIONS)]
    shift = int(rng.integers(-3, 4))
    notes, chords = [], []
    for bar in range(bars):
        for beat, symbol in enumerate(progression):
            chord = parse_chord(symbol).transpose(shift)
            onset = bar * 4 + beat
            chords.append(ChordSpan(float(onset), 1.0, chord))
            tones = sorted(chord.pitch_classes)
            for half in (0.0, 0.5):
                pitch = 60 + int(rng.choice(tones))
                notes.append(Note(onset + half, 0.5, pitch))
    return Song(f"synthetic-{index}", "synthetic", tuple(notes), tuple(chords))


def write_cache(root: Path, counts: dict[str, int] | None = None, bars: int = 2) -> Path:
    """A cache of synthetic songs of ``bars`` 4/4 bars (16 frames each)."""
    counts = counts or {"train": 24, "valid": 6, "test": 6}
    rng = np.random.default_rng(0)
    songs = {split: [synthetic_song(i, rng, bars) for i in range(n)]
             for split, n in counts.items()}
    all_chords = [c.chord for split in songs.values() for s in split for c in s.chords]
    spec = TokenSpec(chords=chord_vocabulary(all_chords), min_pitch=48, max_pitch=84)
    root.mkdir(parents=True, exist_ok=True)
    for split, members in songs.items():
        (root / f"{split}.jsonl").write_text(
            "".join(json.dumps(s.to_dict()) + "\n" for s in members))
    spec.save(root / "vocab.json")
    (root / "stats.json").write_text("{}\n")
    return root


def write_recipe(path: Path, train: dict | None = None) -> Path:
    train = {**TINY_TRAIN, **(train or {})}
    recipe = {
        "description": "tiny models for tests",
        "online": {"model": TINY_MODEL, "train": train},
        "melody": {"model": TINY_MODEL, "train": train},
        "teacher": {"model": TINY_TEACHER, "train": train},
    }
    path.write_text(json.dumps(recipe))
    return path
