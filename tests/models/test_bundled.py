"""The model that ships in the package: loads, is small, says where it came from, and
plays valid chords to a melody."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
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
    assert {"mle", "rl_coherence", "gapt", "ground_truth", "rule_causal"} <= set(
        manifest["evaluation"])
    assert {"mle", "rl_coherence", "gapt", "one_chord"} <= set(manifest["evaluation_essen"])


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


def readme_table(heading: str) -> dict[str, list[str]]:
    """{first cell: the other cells} of the first table under ``heading`` in README.md."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text.split(heading, 1)[1]
    rows = {}
    for line in section.splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip(" `*") for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_the_readme_says_what_the_manifest_measured():
    manifest = read_manifest()
    table = readme_table("## The bundled accompanist")
    header = table.pop("system")
    for name, cells in table.items():
        evaluation = manifest["evaluation" if "folk" not in name else "evaluation_essen"]
        system = evaluation[name.replace(" (folk)", "")]
        for column, cell in zip(header, cells, strict=True):
            if cell in ("", "–"):
                continue
            key = {"note-in-chord": "harmony", "on the beat": "onsets_on_beats",
                   "changes per bar": "chord_changes_per_bar", "Vendi": "vendi"}[column]
            shown = cell.split()[0]
            decimals = len(shown.split(".")[1]) if "." in shown else 0
            assert float(shown) == pytest.approx(system[key], abs=0.5 * 10 ** -decimals + 1e-9), (
                name, key)


def test_the_bundled_policy_beats_what_the_readme_says_it_beats():
    evaluation = read_manifest()["evaluation"]
    harmony = {name: values["harmony"] for name, values in evaluation.items()}
    assert harmony["gapt"] > harmony["mle"]  # the pipeline refuses to bundle otherwise
    assert harmony["gapt"] > max(harmony["rule_causal"], harmony["tonic_causal"])
    intervals = read_manifest()["intervals"]  # and a held tonic triad, intervals apart
    assert intervals["gapt"]["harmony"][0] > intervals["one_chord"]["harmony"][1]
    assert evaluation["gapt"]["onsets_on_beats"] >= 0.9
    folk = {name: values["harmony"] for name, values in read_manifest()["evaluation_essen"].items()}
    assert folk["gapt"] > max(folk["mle"], folk["rule_causal"], folk["tonic_causal"])
