"""The Essen reader and the melody-only cache: tunes written here, a few shipped tunes, the
split by file, and tokenising the cache with a chord cache's spec."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cojam.data import essen
from cojam.data.batches import TrainBatches, song_examples
from cojam.data.cache import SPLITS, build_cache, load_songs, load_spec, load_stats
from cojam.data.melody_cache import assign_file_splits
from cojam.data.sources import Skipped
from cojam.data.tokens import PAD, TokenSpec, chord_vocabulary, song_to_frames
from cojam.music.chords import parse_chord
from cojam.music.song import Note, Song

TUNES = """\
X:1
T: Zwei Takte
N: Z0001
M: 3/4
L: 1/8
K: F
C2 | F2_A2A2 | =B2 b2 _e2- | e2 c4 |]

X:2
T: Ohne Takt
M: none
L: 1/4
K: G
GABc | d4 |]

X:3
T: Kaputt
M: 2/4
L: 1/8
K: G
G2 c/0 d | e4 |]

X:4
T: Endlos
M: 2/4
L: 1/8
K: C
c4096 |]
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("essen") / "tunes.abc"
    path.write_text(TUNES)
    return path, list(essen.read(path))


def test_a_tune_written_here_is_read_exactly(written: tuple[Path, list]) -> None:
    song = written[1][0]
    assert isinstance(song, Song)
    assert song.song_id == "essen:tunes/1" and song.source == "essen"
    assert song.title == "Zwei Takte" and song.meta["essen_id"] == "Z0001"
    assert song.time_signature == (3, 4) and song.key == "F major"
    assert song.chords == ()
    # The one-beat pickup is padded to a full bar. An accidental holds to the bar's end
    # in its octave (the second A is A flat; the b after a B natural is B flat, from the
    # key) and over a tie into the next bar (E flat, not the key's E).
    assert song.notes == (
        Note(2, 1, 60), Note(3, 1, 65), Note(4, 1, 68), Note(5, 1, 68),
        Note(6, 1, 71), Note(7, 1, 82), Note(8, 2, 75), Note(10, 2, 72),
    )


def test_unusable_tunes_are_skipped_naming_file_tune_and_reason(
    written: tuple[Path, list],
) -> None:
    path, results = written
    skipped = results[1:]
    assert all(isinstance(s, Skipped) for s in skipped)
    assert [s.path for s in skipped] == [f"{path}#X:{n}" for n in (2, 3, 4)]
    assert "M: 'none' is not a time signature" in skipped[0].reason
    assert "music21 could not parse tune X:3" in skipped[1].reason
    assert "lasts 2048 beats" in skipped[2].reason


def test_limit_reads_the_first_tunes_of_a_file(written: tuple[Path, list]) -> None:
    assert [getattr(s, "song_id", None) for s in essen.read(written[0], limit=1)] == [
        "essen:tunes/1"]


def test_a_shipped_tune_is_read_exactly() -> None:
    path = next(p for p in essen.find_inputs(None) if p.name == "altdeu10.abc")
    results = list(essen.read(path, limit=3))
    assert len(results) == 3
    song = results[0]
    assert song.song_id == "essen:altdeu10/1" and song.title == "Das Hildebrandslied"
    assert song.time_signature == (4, 2) and song.key == "G major"
    # "G2 | _B2B2c2c2 | d4d4": a half-note pickup in 4/2, padded to the bar; the flat on
    # the first B holds for the second.
    assert song.notes[:7] == (
        Note(6, 2, 67), Note(8, 2, 70), Note(10, 2, 70), Note(12, 2, 72), Note(14, 2, 72),
        Note(16, 4, 74), Note(20, 4, 74),
    )
    assert "M: 'none'" in results[1].reason  # the collection's free-meter tunes


def test_the_file_table_names_shipped_files_and_holds_a_tenth_in_test() -> None:
    tunes = {p.name: len(re.findall(r"(?m)^X:", p.read_text(encoding="utf-8")))
             for p in essen.find_inputs(None)}
    assert set(essen.FILE_SPLITS) == set(tunes)  # every shipped file has its split written
    test_files = [name for name in tunes if essen.split_of_file(name) == "test"]
    assert len(test_files) >= 2
    assert 0.08 < sum(tunes[name] for name in test_files) / sum(tunes.values()) < 0.12


def _song(song_id: str, file: str, shift: int = 0) -> Song:
    pitches = (60, 62, 64, 60, 67) if song_id.endswith("copy") else (60, 61 + len(song_id) % 5)
    notes = tuple(Note(i, 1, p + shift) for i, p in enumerate(pitches))
    return Song(song_id, "essen", notes=notes, chords=(), meta={"file": file})


def test_a_copy_across_files_stays_only_in_the_stricter_split() -> None:
    where = {"a.abc": "train", "b.abc": "test", "c.abc": "valid"}
    songs = [_song("a/copy", "a.abc"), _song("a/2", "a.abc"), _song("b/copy", "b.abc", 5),
             _song("c/copy", "c.abc", 2), _song("c/other", "c.abc")]
    splits, copies = assign_file_splits(songs, where.__getitem__)
    assert {n: [s.song_id for s in m] for n, m in splits.items()} == {
        "train": ["a/2"], "valid": ["c/other"], "test": ["b/copy"]}
    assert sorted(s.path for s in copies) == ["a/copy", "c/copy"]
    assert all("opens like b/copy in test" in s.reason for s in copies)


@pytest.fixture(scope="module")
def essen_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first two tunes of every file, built as a user builds it."""
    out = tmp_path_factory.mktemp("essen-cache")
    command = [sys.executable, "-m", "cojam.cli.main", "data", "build", "--source", "essen",
               "--out", str(out), "--limit", "2", "--quiet"]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "melody only" in built.stdout and "files per split: train " in built.stdout
    return out


def test_the_cache_splits_by_file(essen_cache: Path) -> None:
    stats = load_stats(essen_cache)
    assert stats["melody_only"] is True and stats["source"] == "essen"
    files = stats["files"]
    assert len(files["test"]) >= 2
    listed = [name for names in files.values() for name in names]
    assert len(listed) == len(set(listed)) > 25  # files with a usable tune among their first 2
    assert not set(files["test"]) & (set(files["train"]) | set(files["valid"]))
    for split in SPLITS:
        songs = load_songs(essen_cache, split)
        assert songs and stats["songs"][split] == len(songs)
        assert {s.meta["file"] for s in songs} <= set(files[split])
        assert all(s.chords == () and s.song_id.startswith("essen:") for s in songs)
        assert all(len([t for t in songs if t.meta["file"] == s.meta["file"]]) <= 2
                   for s in songs)  # --limit 2: the first two tunes of every file
    assert load_spec(essen_cache).chords == ()


def test_the_cache_tokenises_with_a_chord_cache_spec(essen_cache: Path) -> None:
    bach_like = TokenSpec(chords=chord_vocabulary([parse_chord(c) for c in ("C", "G7", "Am")]))
    songs = load_songs(essen_cache, "train")
    examples = song_examples(songs, bach_like, 128)
    assert len(examples) >= len(songs)
    by_id = {s.song_id: s for s in songs}
    for example in examples:
        assert (example.chords == bach_like.chord_silence).all()
        melody, _ = song_to_frames(by_id[example.song_id], bach_like)
        start = example.start_frame
        assert (example.melody == melody[start : start + len(example.melody)]).all()
        assert bach_like.is_melody(example.melody).all()
    batch = TrainBatches(examples, bach_like, batch_size=8, seed=0, chord_shift_prob=0.5).batch(3)
    assert np.isin(batch.chords[batch.mask], [bach_like.chord_silence]).all()
    assert (batch.chords[~batch.mask] == PAD).all() and (batch.melody[~batch.mask] == PAD).all()
    assert bach_like.is_melody(batch.melody[batch.mask]).all()


@pytest.mark.slow
def test_the_whole_collection_builds(tmp_path: Path) -> None:
    report = build_cache("essen", tmp_path, progress=False)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert report.inputs == 31 and stats["melody_only"]
    total = sum(report.songs.values())
    assert total > 7000 and 0.08 < report.songs["test"] / total < 0.12
