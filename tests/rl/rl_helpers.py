"""Helpers for RL tests: a tiny synthetic cache, tiny untrained model runs, a tiny recipe.

The songs are two bars of 4/4 with a chord per beat and a quarter note drawn from that
chord, so note-in-chord is learnable (a chord that holds the note just heard is right
three frames in four); the models are freshly initialised (RL tests need
a policy, not a good one).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.models.checkpoint import build_model, save_config, save_run, save_weights
from cojam.models.online import OnlineConfig
from cojam.models.teacher import TeacherConfig
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song
from cojam.rewards.encoder import RewardConfig
from cojam.rewards.runs import build_reward_model
from cojam.rl.config import PPOConfig

PROGRESSIONS = (("C", "F", "G", "C"), ("Am", "Dm", "G", "C"), ("C", "Am", "F", "G"))
TINY_ONLINE = OnlineConfig(d_model=32, n_layers=2, n_heads=2, mlp_ratio=2, dropout=0.1,
                           max_frames=32)
TINY_TEACHER = TeacherConfig(d_model=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2,
                             mlp_ratio=2, dropout=0.1, max_frames=32)
TINY_DISCRIMINATOR = RewardConfig(kind="discriminative", d_model=16, n_layers=1, n_heads=2,
                                  mlp_ratio=2, dropout=0.0, max_frames=32)
TINY_PPO = PPOConfig(steps=4, batch_size=8, max_frames=32, partner_fraction=0.25,
                     partner_seed_beats=2, epochs=2, minibatch_size=4, lr=1e-3,
                     ensemble_weight=0.0, distill_coef=0.01, kl_coef=0.01,
                     discriminator=TINY_DISCRIMINATOR, disc_every=1, disc_warmup_steps=2,
                     checkpoint_every=2, threads=1)


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
            notes.append(Note(float(onset), 1.0, 60 + int(rng.choice(tones))))
    return Song(f"synthetic-{index}", "synthetic", tuple(notes), tuple(chords))


def write_cache(root: Path, counts: dict[str, int] | None = None) -> Path:
    counts = counts or {"train": 24, "valid": 6, "test": 6}
    rng = np.random.default_rng(0)
    songs = {split: [synthetic_song(i, rng) for i in range(n)] for split, n in counts.items()}
    chords = [c.chord for split in songs.values() for s in split for c in s.chords]
    spec = TokenSpec(chords=chord_vocabulary(chords), min_pitch=48, max_pitch=84)
    root.mkdir(parents=True, exist_ok=True)
    for split, members in songs.items():
        (root / f"{split}.jsonl").write_text(
            "".join(json.dumps(s.to_dict()) + "\n" for s in members))
    spec.save(root / "vocab.json")
    (root / "stats.json").write_text("{}\n")
    return root


def write_runs(root: Path, spec: TokenSpec) -> dict[str, Path]:
    """{online, teacher, melody: run directory} of freshly initialised tiny models."""
    runs = {}
    for kind, config in (("online", TINY_ONLINE), ("teacher", TINY_TEACHER),
                         ("melody", dataclasses.replace(TINY_ONLINE, role="melody"))):
        torch.manual_seed(len(runs))
        runs[kind] = root / kind
        save_run(runs[kind], build_model(kind, spec, config))
    return runs


def write_recipe(path: Path, **changes: object) -> Path:
    """A recipe whose three RL sections are ``TINY_PPO`` with ``changes``."""
    section = dataclasses.asdict(dataclasses.replace(TINY_PPO, **changes))
    recipe = {"description": "tiny RL for tests", "rl-coherence": section,
              "gapt": {**section, "adversarial_weight": 1.0},
              "gapt-no-teacher": {**section, "adversarial_weight": 1.0, "distill_coef": 0.0}}
    path.write_text(json.dumps(recipe))
    return path


def write_reward_runs(root: Path, spec: TokenSpec) -> list[Path]:
    """Untrained reward runs (a contrastive and a rhythm-only discriminative model) with a
    neutral calibration: the trainer needs their scores, not good ones."""
    runs = []
    for index, (kind, rhythm) in enumerate((("contrastive", False), ("discriminative", True))):
        torch.manual_seed(index)
        config = dataclasses.replace(TINY_DISCRIMINATOR, kind=kind, rhythm=rhythm,
                                     embed_dim=16)
        run = root / f"{kind}{'-rhythm' if rhythm else ''}"
        model = build_reward_model(spec, config)
        save_config(run, model, kind="reward")
        save_weights(run, model)
        (run / "calibration.json").write_text('{"mean": 0.0, "std": 1.0}\n')
        runs.append(run)
    return runs
