"""Hand-made songs, a tiny cache and tiny real models for the evaluation tests.

The songs are simple tonal tunes (a I-IV-V-I or I-vi-IV-V progression, one chord per
bar, melody on chord tones with passing notes between them) in several keys, long
enough for the adaptation test. The models are untrained: the tests check the plumbing
(batching, padding, seeding, shapes, validity), not musical skill.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.models.checkpoint import build_model, save_run
from cojam.models.online import OnlineConfig
from cojam.models.teacher import TeacherConfig
from cojam.music.chords import Chord, all_chords, parse_chord
from cojam.music.song import ChordSpan, Note, Song

PROGRESSIONS = (("C", "F", "G", "C"), ("C", "Am", "F", "G"))
TINY_FRAMES = 128  # 32 beats: room for the tritone at beat 16 and 16 beats after it


def make_spec() -> TokenSpec:
    triads = [c for c in all_chords() if c.quality in ("maj", "min", "7")]
    return TokenSpec(chords=chord_vocabulary(triads), min_pitch=48, max_pitch=84)


def tonal_song(song_id: str, shift: int, bars: int = 8, progression: int = 0,
               seed: int = 0) -> Song:
    """One chord per 4/4 bar; each beat a chord tone, every other beat followed by a
    passing eighth (so harmony is high but not perfect for the true chords)."""
    rng = np.random.default_rng(seed)
    notes, spans = [], []
    for bar in range(bars):
        chord = parse_chord(PROGRESSIONS[progression][bar % 4]).transpose(shift)
        spans.append(ChordSpan(bar * 4.0, 4.0, chord))
        tones = sorted(chord.pitch_classes)
        for beat in range(4):
            pitch = 60 + int(rng.choice(tones))
            onset = bar * 4.0 + beat
            if beat % 2:
                notes.append(Note(onset, 0.5, pitch))
                notes.append(Note(onset + 0.5, 0.5, pitch + 2))
            else:
                notes.append(Note(onset, 1.0, pitch))
    return Song(song_id, "handmade", tuple(notes), tuple(spans), key=None)


def write_cache(root: Path, spec: TokenSpec, songs: dict[str, list[Song]]) -> Path:
    """Files in the layout `cojam data build` writes (split jsonl, vocab, stats)."""
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid", "test"):
        rows = "".join(json.dumps(s.to_dict()) + "\n" for s in songs.get(split, []))
        (root / f"{split}.jsonl").write_text(rows)
    spec.save(root / "vocab.json")
    (root / "stats.json").write_text("{}\n")
    return root


def handmade_songs() -> list[Song]:
    shifts = (0, 7, 5, 2, -3, 4)
    return [tonal_song(f"tune-{i}", s, bars=8, progression=i % 2, seed=i)
            for i, s in enumerate(shifts)]


def save_tiny(run_dir: Path, spec: TokenSpec, kind: str) -> Path:
    import torch

    torch.manual_seed(0)
    if kind == "teacher":
        config = TeacherConfig(d_model=16, n_encoder_layers=1, n_decoder_layers=1, n_heads=2,
                               mlp_ratio=2, dropout=0.0, max_frames=TINY_FRAMES)
    else:
        role = "accompanist" if kind == "online" else "melody"
        config = OnlineConfig(role=role, d_model=16, n_layers=1, n_heads=2, mlp_ratio=2,
                              dropout=0.0, max_frames=TINY_FRAMES)
    save_run(run_dir, build_model(kind, spec, config), extra={"recipe": "tiny-test"})
    return run_dir


def chord(symbol: str) -> Chord:
    parsed = parse_chord(symbol)
    assert parsed is not None
    return parsed


TINY_REWARD = {
    "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "mlp_ratio": 2, "dropout": 0.0,
              "max_frames": TINY_FRAMES, "embed_dim": 16, "temperature": 0.1},
    "train": {"batch_size": 4, "lr": 0.003, "warmup_steps": 2, "max_steps": 4,
              "eval_every": 4, "checkpoint_every": 4, "log_every": 2, "seed": 0,
              "threads": 1},
}


def train_tiny_reward(run_dir: Path, cache: Path) -> Path:
    """A contrastive reward run trained for a few steps: a real run directory (weights,
    calibration) through the rewards trainer."""
    from cojam.rewards.train import train_reward

    recipe = run_dir.parent / "tiny-reward.json"
    recipe.write_text(json.dumps({"description": "tiny reward", "reward": TINY_REWARD}))
    train_reward("contrastive", False, cache, run_dir, recipe, seed=0, progress=False,
                 log=lambda _: None)
    return run_dir
