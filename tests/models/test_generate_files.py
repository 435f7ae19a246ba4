"""``cojam generate`` inputs and outputs: melody files, file names, the melody agent."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mido
import pytest

from cojam.data.cache import load_songs
from cojam.data.melody_file import read_melody
from cojam.data.token_files import load_tokens
from cojam.models.generate_files import generate_files
from cojam.models.train import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_cache: Path,
         tiny_recipe: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    for kind in ("online", "melody"):
        train(kind, tiny_cache, root / kind, tiny_recipe, max_steps=2, progress=False,
              log=lambda _: None)
    return {kind: root / kind for kind in ("online", "melody")}


def melody_midi(path: Path) -> Path:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for pitch in (60, 64, 67, 72):
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    midi.tracks.append(track)
    midi.save(path)
    return path


def test_a_melody_file_gets_chords(tmp_path: Path, runs: dict[str, Path]) -> None:
    song = read_melody(melody_midi(tmp_path / "tune.mid"))
    assert [n.pitch for n in song.notes] == [60, 64, 67, 72] and not song.chords
    written = generate_files(runs["online"], [song], tmp_path / "out", 1.0, 0, 1.0, seed=0)
    assert [p.name for p in written] == ["tune.mid"]
    result = load_tokens(tmp_path / "out" / "tune.json", strict=True)
    assert [n.pitch for n in result.notes] == [60, 64, 67, 72]
    assert len(mido.MidiFile(written[0]).tracks) == 3  # tempo/meter, melody, chords


def test_song_ids_differing_after_a_dot_get_their_own_files(
    tmp_path: Path, tiny_cache: Path, runs: dict[str, Path]
) -> None:
    songs = load_songs(tiny_cache, "test")[:2]
    songs = [dataclasses.replace(s, song_id=f"bach:bwv1.{i}") for i, s in enumerate(songs)]
    written = generate_files(runs["online"], songs, tmp_path, 1.0, 0, 1.0, seed=0)
    assert sorted(p.name for p in written) == ["bach_bwv1.0.mid", "bach_bwv1.1.mid"]
    assert json.loads((tmp_path / "bach_bwv1.1.json").read_text())["song_id"] == "bach:bwv1.1"


def test_the_melody_agent_plays_over_the_songs_chords(
    tmp_path: Path, tiny_cache: Path, runs: dict[str, Path]
) -> None:
    song = load_songs(tiny_cache, "test")[0]
    generate_files(runs["melody"], [song], tmp_path, 1.0, 0, 1.0, seed=0)
    result = load_tokens(tmp_path / f"{song.song_id}.json", strict=True)
    assert result.chords == song.chords
    with pytest.raises(ValueError, match="chords"):
        generate_files(runs["melody"], [dataclasses.replace(song, chords=())], tmp_path,
                       1.0, 0, 1.0, seed=0)
