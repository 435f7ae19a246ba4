"""`cojam data build|stats` and `cojam export-midi` end to end, as a user runs them."""

import json
import subprocess
import sys

import mido

from cojam.data.cache import load_songs, load_spec
from cojam.data.midi_export import write_midi
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

PROGRESSIONS = [("C", "F", "G7", "C"), ("Am", "Dm", "E7", "Am"), ("G", "C/G", "D7", "G")]


def cojam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cojam.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def write_corpus(folder, count: int = 12) -> list[Song]:
    songs = []
    for i in range(count):
        chords = PROGRESSIONS[i % 3]
        root = parse_chord(chords[0]).root
        notes = tuple(
            Note(onset=b, duration=1, pitch=60 + root + (b * (i + 1)) % 7) for b in range(16)
        )
        spans = tuple(ChordSpan(4 * k, 4, parse_chord(c)) for k, c in enumerate(chords))
        song = Song(f"midi:tune{i:02d}", "midi", notes=notes, chords=spans)
        write_midi(song, folder / f"tune{i:02d}.mid")
        songs.append(song)
    return songs


def test_build_stats_and_export_round_trip(tmp_path):
    corpus = tmp_path / "corpus"
    written = {s.song_id: s for s in write_corpus(corpus)}
    (corpus / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")  # truncated header
    out = tmp_path / "cache"

    result = cojam(
        "data", "build", "--source", "midi", "--input", str(corpus), "--out", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert "skipped 1:" in result.stdout and "broken.mid" in result.stdout
    read = {s.song_id: s for split in ("train", "valid", "test") for s in load_songs(out, split)}
    assert set(read) == set(written)
    for song_id, song in written.items():  # the MIDI reader inverts the MIDI writer
        assert read[song_id].notes == song.notes
        assert [c.chord for c in read[song_id].chords] == [c.chord for c in song.chords]
    assert len(load_spec(out).chords) == 12 * 4  # maj, min, 7, maj/5 closed under transposition

    stats = json.loads(cojam("data", "stats", str(out)).stdout)
    assert sum(stats["songs"].values()) == 12 and stats["skipped_count"] == 1
    assert stats["pitch_range"][0] >= 60

    again = cojam(
        "data", "build", "--source", "midi", "--input", str(corpus), "--out", str(out), "--quiet"
    )
    assert "(13 from the parse cache)" in again.stdout

    split = next(s for s in ("train", "valid", "test") if load_songs(out, s))
    song_id = load_songs(out, split)[0].song_id
    target = tmp_path / "one.mid"
    exported = cojam(
        "export-midi", str(out / f"{split}.jsonl"), "--song", song_id, "--out", str(target)
    )
    assert exported.returncode == 0, exported.stderr
    assert len(mido.MidiFile(target).tracks) == 3


def test_build_fails_only_when_nothing_is_usable(tmp_path):
    (tmp_path / "bad.mid").write_bytes(b"not midi at all")
    result = cojam(
        "data",
        "build",
        "--source",
        "midi",
        "--input",
        str(tmp_path),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert result.returncode == 1
    assert "no usable songs" in result.stderr and "bad.mid" in result.stderr
    missing = cojam("data", "build", "--source", "abc", "--out", str(tmp_path / "o2"))
    assert missing.returncode == 1 and "needs --input" in missing.stderr
