"""End to end (issue 16): a user's corpus folder mixing valid songs with the hostile files of
the issue is built into a cache the way ``cojam data build`` builds it, one source at a
time. Every build finishes, keeps every valid song, names every bad file (or record) with
its reason, and writes a complete cache."""

import json
import zipfile
from pathlib import Path

from test_hostile_corpus import ABC_OK, BAD_RECORDS, _lead_sheet, _midi_file, _record, _write
from test_musicxml import lead_sheet
from test_pop909 import song_folder

from cojam.data import abc, musicxml
from cojam.data.cache import SPLITS, build_cache, load_songs, load_stats

SECONDS = 3.0  # per input; the tie and repeat floods take far longer, valid songs far less
BUDGET = "the time budget per input"  # a loaded machine may hit it before a content check
CACHE_FILES = ["stats.json", "test.jsonl", "train.jsonl", "valid.jsonl", "vocab.json"]


def _tune(number: int, title: str, body: str = '"C"CDEF|"G"GABc|"F"cBAG|"C"FEDC|]') -> str:
    return f"X:{number}\nT:{title}\nM:4/4\nL:1/4\nK:C\n{body}\n"


def _mxl_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfiles><rootfile '
                         'full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", _lead_sheet() + " " * musicxml.BUDGET.bytes)


def _corpus(root: Path) -> dict[str, tuple[Path, int, dict[str, str]]]:
    """{source: (its folder, valid songs in it, {bad input or record: start of reason})}."""
    corpus = {}

    folder = _write(root / "abc", {
        "ok.abc": ABC_OK,
        "two.abc": _tune(1, "second", '"G"GABc|"D"dcBA|"G"GFED|"C"C4|]')
        + _tune(2, "third", '"F"FAcA|"C"GECE|"G7"DGBG|"C"C4|]'),
        "huge.abc": _tune(1, "huge", '"C"C999999999|'),
        "x.abc": "X:a" + " " * 60_000 + "b\n" + ABC_OK[4:],
        "ties.abc": ABC_OK.replace('"C"CDEF', '"C"' + "C-" * 3000 + "C"),
        "repeated.abc": "".join(ABC_OK.replace("X:1", f"X:{i}") for i in range(1, 4001)),
        "big.abc": ABC_OK + "%" + "x" * abc.BUDGET.bytes + "\n",
    })
    corpus["abc"] = (folder, 3, {
        "abc:huge#1": "1e+09 beats long, over the limit of 10000 beats per song",
        "x.abc": "its X: field is 60,002 characters long, not a tune number",
        "ties.abc": f"reading took over {SECONDS:g} s, the time budget per input",
        "repeated.abc": f"reading took over {SECONDS:g} s, the time budget per input",
        "big.abc": "bytes, over the 4,000,000-byte budget per input; skipped unread",
    })

    folder = _write(root / "musicxml", {
        "ok.musicxml": _lead_sheet(),
        "pickup.musicxml": lead_sheet(),
        "huge.musicxml": _lead_sheet(duration=999999999),
        "long.musicxml": _lead_sheet(measures=20_000),
    })
    _mxl_bomb(folder / "bomb.mxl")
    corpus["musicxml"] = (folder, 2, {
        "huge": "beats long, over the limit of 10000 beats per song",
        "long.musicxml": "20001 measures in the first part, over the limit of 2500",
        "bomb.mxl": "the .mxl archive inflates to 20,00",
    })

    folder = root / "midi"
    folder.mkdir()
    valid = _midi_file(folder / "ok.mid")
    _midi_file(folder / "slow.mid", ticks_per_beat=96)
    _write(folder, {
        "meter0.mid": valid.replace(b"\xff\x58\x04\x04\x02", b"\xff\x58\x04\x00\x02"),
        "meter255.mid": valid.replace(b"\xff\x58\x04\x04\x02", b"\xff\x58\x04\x04\xff"),
        "far.mid": _midi_file(root / "far.mid", ticks_per_beat=1, far=0x0FFFFFFF),
    })
    corpus["midi"] = (folder, 2, {
        "meter0": "time signature 0/4 is not a meter",
        "meter255": "time signature 4/578960446186 is not a meter",
        "far": "2.68435e+08 beats long, over the limit of 10000 beats per song",
    })

    records = {"good": _record(), **{name: r for name, (r, _) in BAD_RECORDS.items()}}
    folder = _write(root / "hooktheory", {"Hooktheory.json": json.dumps(records)})
    corpus["hooktheory"] = (folder, 2, {  # "good" and "key" (an unreadable key is dropped)
        f"#{name}": f"record {name}: {reason}"
        for name, (_, reason) in BAD_RECORDS.items() if reason is not None})

    folder = root / "pop909"
    song_folder(folder, "001")
    song_folder(folder, "002")
    (song_folder(folder, "003") / "chord_midi.txt").unlink()
    (song_folder(folder, "004") / "004.mid").unlink()
    for name, start, end in (("005", "0.0", "inf"), ("006", "nan", "1.0"),
                             ("007", "0.0", "1e12")):
        (song_folder(folder, name) / "chord_midi.txt").write_text(
            f"0.5\t2.0\tB:maj\n{start}\t{end}\tC:maj\n")
    corpus["pop909"] = (folder, 2, {
        "003": "no chord_midi.txt in the folder",
        "004": "no 004.mid (or single .mid file) in the folder",
        "005/chord_midi.txt": "line 2: times '0.0' 'inf' are not seconds",
        "006/chord_midi.txt": "line 2: times 'nan' '1.0' are not seconds",
        "007/chord_midi.txt": "line 2: times '0.0' '1e12' are not seconds",
    })
    return corpus


def test_a_mixed_hostile_corpus_builds_keeping_every_valid_song_and_naming_every_bad_file(
        tmp_path):
    for source, (folder, valid, bad) in _corpus(tmp_path / "corpus").items():
        out = tmp_path / "cache" / source
        report = build_cache(source, out, folder, progress=False, seconds_per_input=SECONDS)

        songs = [song for split in SPLITS for song in load_songs(out, split)]
        assert len(songs) == valid, (source, [s.song_id for s in songs], report.skipped)
        assert len({s.song_id for s in songs}) == valid
        assert sum(report.songs.values()) == valid

        skipped = [(s.path, s.reason) for s in report.skipped]
        for name, reason in bad.items():
            named = [r for path, r in skipped if path.endswith(name)
                     or Path(path.split("#")[0]).name.split(":")[-1] == name]
            assert named, (source, name, skipped)
            assert any(reason in r or BUDGET in r for r in named), (source, name, named)
        assert len(skipped) == len(bad), (source, skipped)  # nothing valid was dropped

        assert sorted(p.name for p in out.iterdir() if p.is_file()) == CACHE_FILES
        stats = load_stats(out)
        assert stats["songs"] == report.songs and stats["skipped_count"] == len(bad)
        assert [s["path"] for s in stats["skipped"]] == [path for path, _ in skipped]
        assert stats["frames"] > 0 and stats["chord_vocab_size"] > 0
        assert not list(out.glob("*.tmp"))
