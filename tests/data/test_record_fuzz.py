"""Fuzzing corpus records: a Hooktheory record or a POP909 chord file of any shape gives a
song or a named skip, never an exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cojam.data import hooktheory
from cojam.data.pop909 import read_chord_file
from cojam.data.sources import Skipped, song_problem
from cojam.music.song import Song

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NUMBERS = (st.integers(-10, 20) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([1e308, -0.0, 10**40]))
ANY = st.recursive(st.none() | st.booleans() | NUMBERS | st.text(max_size=5),
                   lambda inner: st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
TIME = NUMBERS | ANY
NOTE = st.fixed_dictionaries({"onset": TIME, "offset": TIME, "pitch_class": NUMBERS,
                              "octave": NUMBERS})
CHORD = st.fixed_dictionaries({"onset": TIME, "offset": TIME, "root_pitch_class": NUMBERS,
                               "root_position_intervals": st.lists(NUMBERS, max_size=4) | ANY,
                               "inversion": NUMBERS | st.none()})
METER = st.fixed_dictionaries({"beat": TIME, "beats_per_bar": NUMBERS, "beat_unit": NUMBERS})
RECORD = st.fixed_dictionaries({"annotations": st.fixed_dictionaries({
    "meters": st.lists(METER, max_size=2), "melody": st.lists(NOTE, max_size=3),
    "harmony": st.lists(CHORD, max_size=3),
    "keys": st.lists(ANY, max_size=1)})}, optional={"hooktheory": ANY, "tags": ANY})


@FUZZ
@given(st.dictionaries(st.text(min_size=1, max_size=6), RECORD | ANY, min_size=1, max_size=4))
def test_any_hooktheory_record_is_a_song_or_a_skip_of_that_record(records):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Hooktheory.json"
        path.write_text(json.dumps(records))
        results = list(hooktheory.read(path))
    assert len(results) == len(records)
    for item in results:
        assert isinstance(item, (Song, Skipped))
        if isinstance(item, Song):
            assert song_problem(item) is None or "time signature" in song_problem(item)


LINE = st.tuples(st.sampled_from(["0.5", "2", "inf", "-inf", "nan", "1e12", "-1", "x", "",
                                  "9" * 400]),
                 st.sampled_from(["1.0", "3", "inf", "nan", "1e300", "y"]),
                 st.sampled_from(["C:maj", "N", "A:min7/b3", "C:5", "Q:zz", ""]))


@FUZZ
@given(st.lists(LINE, max_size=5))
def test_any_pop909_chord_file_is_spans_or_a_reason(lines):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chord_midi.txt"
        path.write_text("".join("\t".join(fields) + "\n" for fields in lines))
        result = read_chord_file(path, lambda second: second * 2)
    assert isinstance(result, (list, str))
