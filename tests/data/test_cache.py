"""The song cache: checks, splits by melody group, stats, loading and its errors."""

import json

import pytest

from cojam.data.cache import (
    CacheError,
    assign_splits,
    check_song,
    load_songs,
    load_spec,
    melody_fingerprint,
    song_stats,
    split_of,
)
from cojam.data.tokens import TokenSpec, chord_vocabulary
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

RANGE = TokenSpec(chords=())


def song(song_id: str, pitches=(60, 62, 64, 65, 67), shift: int = 0, chords=("C", "G7")) -> Song:
    notes = tuple(Note(onset=i, duration=1, pitch=p + shift) for i, p in enumerate(pitches))
    spans = tuple(ChordSpan(2 * i, 2, parse_chord(c)) for i, c in enumerate(chords))
    return Song(song_id, "test", notes=notes, chords=spans)


def test_check_song_names_the_problem():
    assert check_song(song("ok"), RANGE) is None
    assert check_song(song("x", pitches=()), RANGE) == "no melody notes"
    assert check_song(song("x", chords=()), RANGE) == "no chords"
    assert "beats long" in check_song(song("x", pitches=(60,), chords=("C",)), RANGE)
    assert "outside 21-108" in check_song(song("x", pitches=(60, 61, 62, 63, 120)), RANGE)


def test_the_same_tune_in_another_key_shares_a_split():
    a, b = song("a"), song("zz", shift=5)
    assert melody_fingerprint(a) == melody_fingerprint(b)
    songs = [song(f"s{i}", pitches=(60, 60 + i % 7, 61 + i // 7, 62, 64)) for i in range(60)]
    splits = assign_splits([*songs, a, b])
    where = {s.song_id: name for name, members in splits.items() for s in members}
    assert where["a"] == where["zz"]
    assert sum(len(m) for m in splits.values()) == 62


def test_split_is_deterministic_and_roughly_80_10_10():
    names = [split_of(f"song-{i}") for i in range(3000)]
    assert names == [split_of(f"song-{i}") for i in range(3000)]
    assert 0.77 < names.count("train") / 3000 < 0.83
    assert 0.08 < names.count("test") / 3000 < 0.12


def test_song_stats_counts_chords_and_ranges():
    songs = [song("a"), song("b", chords=("C/E", "C/E", "Am"))]
    spec = TokenSpec(chords=chord_vocabulary([c.chord for s in songs for c in s.chords]))
    stats = song_stats(songs, spec)
    assert list(stats["commonest_chords"].items())[0] == ("C/E", 2)
    assert stats["chord_spans"] == 5 and stats["distinct_chords"] == 4
    assert stats["inversion_fraction"] == 0.4
    assert stats["pitch_range"] == [60, 67]
    assert stats["chord_vocab_size"] == 48


def test_loading_reports_missing_and_bad_files(tmp_path):
    with pytest.raises(CacheError, match="does not exist"):
        load_songs(tmp_path, "train")
    with pytest.raises(CacheError, match="no vocab.json"):
        load_spec(tmp_path)
    with pytest.raises(CacheError, match="unknown split"):
        load_songs(tmp_path, "dev")
    (tmp_path / "train.jsonl").write_text(json.dumps(song("a").to_dict()) + "\n{}\n")
    with pytest.raises(CacheError, match="train.jsonl:2: bad song row"):
        load_songs(tmp_path, "train")


def test_a_cache_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """Issue 16: a failure while computing stats left train/valid/test.jsonl and vocab.json
    behind without stats.json. Now nothing is written until everything is computed, and
    stats.json is renamed into place last."""
    from cojam.data import cache

    def fail(*args, **kwargs):
        raise MemoryError("stats")

    monkeypatch.setattr(cache, "song_stats", fail)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.abc").write_text('X:1\nM:4/4\nL:1/4\nK:C\n"C"CDEF|"G"GABc|]\n')
    with pytest.raises(MemoryError):
        cache.build_cache("abc", tmp_path / "out", folder, progress=False)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".parsed"]
    monkeypatch.undo()
    cache.build_cache("abc", tmp_path / "out", folder, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".parsed", "stats.json", "test.jsonl", "train.jsonl", "valid.jsonl", "vocab.json"]
