"""Corrupt and hostile corpus files: each is skipped and named, valid songs beside it are
kept, and no build crashes, hangs or leaves half a cache (regression tests of issue 16)."""

import json
import zipfile
from pathlib import Path

import mido
import pytest

from cojam.data import abc, hooktheory, musicxml
from cojam.data.cache import build_cache, load_stats
from cojam.data.sources import Skipped

ABC_OK = 'X:1\nT:ok\nM:4/4\nL:1/4\nK:C\n"C"CDEF|"G"GABc|"F"cBAG|"C"FEDC|]\n'


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text or bytes}`` under ``folder``; returns ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def _build(tmp_path: Path, source: str, files: dict[str, str | bytes], **options):
    folder = tmp_path / "corpus"
    folder.mkdir()
    _write(folder, files)
    out = tmp_path / "cache"
    report = build_cache(source, out, folder, progress=False, **options)
    reasons = {Path(s.path.split("#")[0]).name.split(":")[-1]: s.reason for s in report.skipped}
    return report, reasons, out


def _assert_complete(out: Path, songs: int) -> None:
    stats = load_stats(out)
    assert sum(stats["songs"].values()) == songs
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "stats.json", "test.jsonl", "train.jsonl", "valid.jsonl", "vocab.json"]


# ------------------------------------------------------------------------------ ABC

def test_abc_huge_duration_is_skipped_naming_song_and_length(tmp_path):
    report, reasons, out = _build(tmp_path, "abc", {
        "ok.abc": ABC_OK, "huge.abc": ABC_OK.split('"C"CDEF')[0] + '"C"C999999999|\n'})
    assert reasons == {"huge": "1e+09 beats long, over the limit of 10000 beats per song"}
    assert report.skipped[0].path == "abc:huge#1"
    _assert_complete(out, 1)


def test_abc_long_x_line_is_split_fast_and_skipped(tmp_path):
    line = "X:a" + " " * 60_000 + "b\n"
    (number, _), = abc.split_tunes(line + ABC_OK[4:])
    assert number == "a" + " " * 60_000 + "b"
    report, reasons, out = _build(tmp_path, "abc", {"ok.abc": ABC_OK,
                                                    "x.abc": line + ABC_OK[4:]})
    assert reasons == {"x.abc": "its X: field is 60,002 characters long, not a tune number "
                                "(at most 40)"}
    _assert_complete(out, 1)


@pytest.mark.parametrize("name,text", [
    ("ties.abc", ABC_OK.replace('"C"CDEF', '"C"' + "C-" * 3000 + "C")),
    ("repeated.abc", "".join(ABC_OK.replace("X:1", f"X:{i}") for i in range(1, 4001))),
])
def test_abc_that_reads_too_long_is_skipped_by_the_time_budget(tmp_path, name, text):
    report, reasons, out = _build(tmp_path, "abc", {"ok.abc": ABC_OK, name: text},
                                  seconds_per_input=1.0)
    assert reasons == {name: "reading took over 1 s, the time budget per input; skipped"}
    _assert_complete(out, 1)


def test_an_input_over_the_size_budget_is_skipped_unread(tmp_path):
    big = ABC_OK + "%" + "x" * abc.BUDGET.bytes + "\n"
    report, reasons, out = _build(tmp_path, "abc", {"ok.abc": ABC_OK, "big.abc": big})
    assert reasons["big.abc"].endswith("bytes, over the 4,000,000-byte budget per input; "
                                       "skipped unread")
    _assert_complete(out, 1)


# ------------------------------------------------------------------------- MusicXML

def _lead_sheet(measures: int = 4, duration: int = 1) -> str:
    bar = ('<measure><harmony><root><root-step>C</root-step></root><kind>major</kind>'
           f'</harmony><note><pitch><step>C</step><octave>5</octave></pitch>'
           f'<duration>{duration}</duration></note>'
           '<note><pitch><step>E</step><octave>5</octave></pitch><duration>3</duration>'
           '</note></measure>')
    return ('<?xml version="1.0"?><score-partwise><part-list><score-part id="P1">'
            '<part-name>Lead</part-name></score-part></part-list><part id="P1">'
            '<measure><attributes><divisions>1</divisions><time><beats>4</beats>'
            '<beat-type>4</beat-type></time></attributes><harmony><root><root-step>G'
            '</root-step></root><kind>major</kind></harmony><note><pitch><step>G</step>'
            '<octave>4</octave></pitch><duration>4</duration></note></measure>'
            + bar * measures + "</part></score-partwise>")


def test_musicxml_huge_duration_is_skipped(tmp_path):
    report, reasons, out = _build(tmp_path, "musicxml", {
        "ok.musicxml": _lead_sheet(), "huge.musicxml": _lead_sheet(duration=999999999)})
    assert reasons["huge"].endswith("beats long, over the limit of 10000 beats per song")
    _assert_complete(out, 1)


def test_musicxml_with_too_many_measures_is_skipped_before_music21(tmp_path):
    path = tmp_path / "long.musicxml"
    path.write_text(_lead_sheet(measures=20_000))
    assert list(musicxml.read(path)) == [Skipped(str(path), (
        "20001 measures in the first part, over the limit of 2500 (a song is at most a few "
        "hundred)"))]


def test_an_mxl_inflating_past_the_budget_is_skipped(tmp_path):
    path = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfiles><rootfile '
                         'full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", _lead_sheet() + " " * musicxml.BUDGET.bytes)
    assert path.stat().st_size < 100_000
    (skipped,) = musicxml.read(path)
    assert skipped.reason.startswith("the .mxl archive inflates to 20,00")
    assert skipped.reason.endswith("bytes, over the 20,000,000-byte budget per input")


# ----------------------------------------------------------------------------- MIDI

def _midi_file(path: Path, ticks_per_beat: int = 480, far: int = 0) -> bytes:
    """A melody track and a chord track; ``far`` ticks of silence before the last chord."""
    file = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meter = mido.MetaMessage("time_signature", numerator=4, denominator=4)
    melody = mido.MidiTrack([mido.MetaMessage("track_name", name="melody"), meter])
    chords = mido.MidiTrack([mido.MetaMessage("track_name", name="chords")])
    for beat in range(8):
        melody.append(mido.Message("note_on", note=60 + beat, velocity=80, time=0))
        melody.append(mido.Message("note_off", note=60 + beat, time=ticks_per_beat))
    for pitches, time in (((48, 52, 55), 0), ((43, 47, 50), far)):
        for i, pitch in enumerate(pitches):
            chords.append(mido.Message("note_on", note=pitch, velocity=80,
                                       time=time if i == 0 else 0))
        for i, pitch in enumerate(pitches):
            chords.append(mido.Message("note_off", note=pitch, time=4 * ticks_per_beat
                                       if i == 0 else 0))
    file.tracks.extend([melody, chords])
    file.save(path)
    return path.read_bytes()


@pytest.mark.parametrize("patch,expected", [
    (b"\xff\x58\x04\x00\x02", "time signature 0/4 is not a meter"),
    (b"\xff\x58\x04\x04\xff", "time signature 4/578960446186 is not a meter"),
])
def test_midi_meters_that_are_not_meters_are_skipped(tmp_path, patch, expected):
    valid = _midi_file(tmp_path / "x.mid")
    assert valid.count(b"\xff\x58\x04\x04\x02") == 1
    report, reasons, out = _build(tmp_path, "midi", {
        "ok.mid": valid, "meter.mid": valid.replace(b"\xff\x58\x04\x04\x02", patch)})
    assert reasons["meter"].startswith(expected)
    _assert_complete(out, 1)


def test_midi_huge_delta_at_one_tick_per_beat_is_skipped(tmp_path):
    report, reasons, out = _build(tmp_path, "midi", {
        "ok.mid": _midi_file(tmp_path / "a.mid"),
        "far.mid": _midi_file(tmp_path / "b.mid", ticks_per_beat=1, far=0x0FFFFFFF)})
    assert reasons["far"] == "2.68435e+08 beats long, over the limit of 10000 beats per song"
    _assert_complete(out, 1)


# ----------------------------------------------------------------------- Hooktheory

def _record(onset: object = 0, offset: object = 4, **top) -> dict:
    return {"hooktheory": {"id": "x", "artist": "a", "song": "s"}, **top, "annotations": {
        "meters": [{"beat": 0, "beats_per_bar": 4, "beat_unit": 4}],
        "melody": [{"onset": onset, "offset": offset, "pitch_class": 0, "octave": 0},
                   {"onset": 4, "offset": 8, "pitch_class": 2, "octave": 0}],
        "harmony": [{"onset": 0, "offset": 8, "root_pitch_class": 0,
                     "root_position_intervals": [4, 3], "inversion": 0}]}}


BAD_RECORDS = {
    "meta": ({**_record(), "hooktheory": "x"}, "field 'hooktheory' is 'x', not a dict"),
    "inf": (_record(offset=float("inf")), "field 'annotations.melody[0].offset' is inf, "
                                          "not a time within 10000 beats"),
    "big": (_record(offset=1e308), "field 'annotations.melody[0].offset' is 1e+308, not "
                                   "a time within 10000 beats"),
    "nan": (_record(onset=float("nan")), "field 'annotations.melody[0].onset' is nan, not "
                                         "a time within 10000 beats"),
    "list": ([1, 2], "field 'annotations' is missing"),
    "key": ({**_record(), "annotations": {**_record()["annotations"], "keys": [
        {"tonic_pitch_class": 0, "scale_degree_intervals": [2, "x"]}]}}, None),
}


def test_one_bad_hooktheory_record_skips_that_record_only(tmp_path):
    records = {"good": _record(), **{name: r for name, (r, _) in BAD_RECORDS.items()}}
    text = json.dumps(records).replace('"onset": 0, "offset": 4, "pitch_class": 0',
                                       '"onset": 0, "offset": 4, "pitch_class": 0, '
                                       '"unused": ' + "9" * 5000, 1)
    path = tmp_path / "Hooktheory.json"
    path.write_text(text)
    results = {item.song_id.split("#")[1] if not isinstance(item, Skipped)
               else item.path.split("#")[1]: item for item in hooktheory.read(path)}
    assert not isinstance(results["good"], Skipped) and not isinstance(results["key"], Skipped)
    assert results["key"].key is None
    for name, (_, reason) in BAD_RECORDS.items():
        if reason is not None:
            assert results[name].reason == f"record {name}: {reason}"


def test_a_long_integer_in_a_used_field_skips_the_record(tmp_path):
    text = json.dumps({"good": _record(), "long": _record(onset=7)})
    path = tmp_path / "Hooktheory.json"
    path.write_text(text.replace('"onset": 7', '"onset": ' + "9" * 5000))
    good, long = hooktheory.read(path)
    assert not isinstance(good, Skipped)
    assert long.reason == ("record long: field 'annotations.melody[0].onset' is <an integer of "
                           "5000 digits>, not a number")
