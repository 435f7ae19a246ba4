"""Melody evaluation: set figures on hand-made melodies, and the whole evaluation (and its
command) on tiny untrained models."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cojam.cli.main import main
from cojam.data.tokens import TokenSpec
from cojam.eval.melody_eval import (
    evaluate_systems,
    melody_vendi,
    note_in_chord,
    pitch_class_entropy,
)
from cojam.models.checkpoint import build_model, save_run
from cojam.models.online import OnlineConfig
from cojam.music.song import Note, Song
from cojam.rewards.melody_rules import HOLD, Melody

TINY = OnlineConfig(d_model=16, n_layers=1, n_heads=2, mlp_ratio=2, dropout=0.0, max_frames=32)


def test_pitch_class_entropy_and_vendi_on_hand_made_sets():
    scale = Melody.from_events([60, 62, 64, 65, 67, 69, 71, 72])
    same = [scale] * 4
    assert pitch_class_entropy(same, 0) == pytest.approx(2.75)  # C twice, 6 others once
    assert pitch_class_entropy([Melody.from_events([60, 62, 64, 65, 67, 69, 71])], 0) \
        == pytest.approx(np.log2(7))
    assert pitch_class_entropy([Melody.from_events([60, HOLD, 72])], 0) == 0.0
    assert melody_vendi(same, 0) == pytest.approx(1.0)
    transposed = Melody.from_events([p + 5 for p in [60, 62, 64, 65, 67, 69, 71, 72]])
    assert melody_vendi([scale, transposed], 0) == pytest.approx(1.0)  # intervals, not keys
    leaps = Melody.from_events([60, 67, 55, 72, 48])
    assert melody_vendi([scale, leaps], 0) == pytest.approx(2.0)


def test_note_in_chord_counts_the_agents_sounding_frames():
    spec = TokenSpec(chords=("C", "G"), min_pitch=48, max_pitch=84)
    melody = np.array([spec.melody_on(67), spec.melody_on(60), spec.melody_hold(60),
                       spec.melody_silence, spec.melody_on(62)])
    chords = np.array([spec.chord_on("G"), spec.chord_on("C"), spec.chord_hold("C"),
                       spec.chord_hold("C"), spec.chord_hold("C")])
    assert note_in_chord(melody, chords, spec, start=1) == pytest.approx(2 / 3)  # D not in C
    assert note_in_chord(melody, chords, spec, start=0) == pytest.approx(3 / 4)
    rests = np.full(5, spec.melody_silence)
    assert np.isnan(note_in_chord(rests, chords, spec, start=0))


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("melody-eval")
    spec = TokenSpec(chords=("C", "G"), min_pitch=48, max_pitch=84)
    rng = np.random.default_rng(0)
    songs = [Song(f"tune-{i}", "test", tuple(Note(float(b), 1.0, int(rng.choice([60, 62, 64, 67])))
                                             for b in range(8)), (), key="C major")
             for i in range(6)]
    cache = root / "cache"
    cache.mkdir()
    (cache / "test.jsonl").write_text("".join(json.dumps(s.to_dict()) + "\n" for s in songs))
    spec.save(cache / "vocab.json")
    runs = {"cache": cache}
    for index, (kind, role) in enumerate((("melody", "melody"), ("online", "accompanist"))):
        torch.manual_seed(index)
        runs[kind] = root / kind
        save_run(runs[kind], build_model(kind, spec, dataclasses.replace(TINY, role=role)))
    return runs


def test_evaluate_systems_pools_runs_with_intervals(tiny_setup: dict[str, Path]):
    runs = tiny_setup
    results = evaluate_systems({"mle": [runs["melody"]] * 2}, runs["melody"], runs["online"],
                               runs["cache"], "test", seed_frames=4, episode_frames=16)
    assert results["prompts"] == 6
    figures = results["systems"]["mle"]["figures"]
    value, low, high = figures["kl_to_prior"]
    assert value == pytest.approx(0.0, abs=1e-6)  # the prior against itself
    assert figures["prior_log_likelihood"][0] < 0
    for key in ("notes_in_key", "note_in_chord", "pitch_class_entropy", "melody_vendi"):
        value, low, high = figures[key]
        assert low <= value <= high


def test_eval_melody_command_writes_its_tables(tiny_setup: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture):
    runs = tiny_setup
    code = main(["eval-melody", "--system", f"mle={runs['melody']}", "--prior",
                 str(runs["melody"]), "--accompanist", str(runs["online"]), "--data",
                 str(runs["cache"]), "--limit", "3", "--seed-frames", "4",
                 "--episode-frames", "16", "--out", str(tmp_path / "out")])
    assert code == 0
    assert "| notes_in_key |" in (tmp_path / "out" / "results.md").read_text()
    assert json.loads((tmp_path / "out" / "results.json").read_text())["prompts"] == 3
    assert main(["eval-melody", "--system", "nameless", "--prior", "x", "--accompanist", "y",
                 "--data", "z", "--out", str(tmp_path)]) == 1
    assert "is not NAME=RUN" in capsys.readouterr().err
