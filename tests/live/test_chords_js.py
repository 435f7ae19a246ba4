"""The page's chord table (static/js/chords.js) against the Python one: every symbol the
vocabulary can send, with every bass, parses in the page to the same root, pitch classes
and bass; "N" is no chord. Runs the page's module in Node; skipped without it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cojam.music.chords import all_chords

NODE = shutil.which("node")
CHORDS_JS = (Path(__file__).resolve().parents[2] / "src" / "cojam" / "live" / "static" / "js"
             / "chords.js")
SCRIPT = """
import { parseChord } from "%s";
const symbols = JSON.parse(process.argv[1]);
const parsed = {};
for (const symbol of symbols) {
  const chord = parseChord(symbol);
  parsed[symbol] = chord === null ? null : {
    root: chord.root, bass: chord.bass,
    pcs: [...new Set([...chord.intervals.map((i) => (chord.root + i) %% 12), chord.bass])]
      .sort((a, b) => a - b),
  };
}
console.log(JSON.stringify(parsed));
"""


@pytest.mark.skipif(NODE is None, reason="no node on PATH")
def test_the_page_reads_every_chord_as_python_does():
    chords = all_chords(with_bass=True)
    symbols = [chord.symbol for chord in chords] + ["N"]
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT % CHORDS_JS.as_uri(), json.dumps(symbols)],
        capture_output=True, text=True, check=True, timeout=120)
    parsed = json.loads(result.stdout)
    assert parsed.pop("N") is None
    assert len(parsed) == len(chords) == 12 * 13 * 12
    for chord in chords:
        page = parsed[chord.symbol]
        expected = {"root": chord.root, "bass": chord.root if chord.bass is None else chord.bass,
                    "pcs": sorted(chord.pitch_classes)}
        assert page == expected, chord.symbol
