"""The model that ships in the package: loads, is small, says where it came from, and
plays valid chords to a melody."""

import json
import subprocess
import sys

import numpy as np
import torch

from cojam.data.tokens import TokenSpec
from cojam.models.bundled import MAX_BUNDLE_BYTES, bundled_model_dir, read_manifest
from cojam.models.checkpoint import load_model
from cojam.models.generate import generate_accompaniment
from cojam.models.online import OnlineModel


def test_the_bundle_is_an_accompanist_under_20_mb():
    bundle = bundled_model_dir()
    size = sum(p.stat().st_size for p in bundle.iterdir() if p.is_file())
    assert size < MAX_BUNDLE_BYTES
    model = load_model(bundle)
    assert isinstance(model, OnlineModel) and model.config.role == "accompanist"


def test_the_manifest_records_recipe_seed_commit_commands_and_evaluation():
    manifest = read_manifest()
    assert manifest["stage"] == "gapt" and manifest["recipe"] == "cpu-small"
    assert isinstance(manifest["seed"], int) and len(manifest["git_commit"]) == 40
    assert any("cojam pipeline" in c for c in manifest["commands"])
    assert {"mle", "rl_coherence", "gapt", "ground_truth"} <= set(manifest["evaluation"])
    for system in ("mle", "rl_coherence", "gapt"):
        assert 0.0 <= manifest["evaluation"][system]["harmony"] <= 1.0


def test_the_bundled_model_plays_valid_chords_to_a_melody():
    model = load_model(bundled_model_dir()).eval()
    spec: TokenSpec = model.spec
    scale = [60, 62, 64, 65, 67, 69, 71, 72]  # C major, a note a beat, held
    melody = []
    for pitch in scale * 2:
        melody += [spec.melody_on(pitch)] + [spec.melody_hold(pitch)] * 3
    melody = torch.tensor([melody])
    generator = torch.Generator().manual_seed(0)
    chords = generate_accompaniment(model, melody, generator=generator)[0].numpy()
    assert chords.shape == (melody.shape[1],)
    assert spec.is_chord(chords).all()
    for previous, token in zip(chords[:-1], chords[1:], strict=True):
        kind, symbol = spec.chord_token_info(int(token))
        if kind == "hold":  # a hold continues the chord that sounds
            assert spec.chord_token_info(int(previous))[1] == symbol
    assert spec.chord_token_info(int(chords[0]))[0] != "hold"
    assert len(np.unique(chords)) > 1


def test_info_json_prints_the_manifest():
    done = subprocess.run([sys.executable, "-m", "cojam.cli.main", "info", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == read_manifest()


def test_generate_uses_the_bundled_model_by_default(tmp_path):
    import mido

    path = tmp_path / "tune.mid"
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for pitch in (60, 64, 67, 72, 67, 64, 60, 62):
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    midi.tracks.append(track)
    midi.save(path)
    done = subprocess.run([sys.executable, "-m", "cojam.cli.main", "generate", "--melody",
                           str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "tune.mid").is_file()
