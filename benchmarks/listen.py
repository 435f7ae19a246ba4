"""What a musician hears: the chords an accompanist plays under two melodies.

Prints JSON: for a C-major scale (up and down, a note a beat, twice) and for a minor
folk tune (the first test tune in A or D minor of a melody-only cache, or a written-out
D-minor phrase without one), each of several seeded samples gives the chords it attacks
with their beats, plus note-in-chord, the share of attacks on a beat, changes per bar
and the share of chords whose notes all lie in the melody's key.

    .venv/bin/python benchmarks/listen.py [--model RUN] [--melodies CACHE] [--samples 3]
        [--temperature 1.0] [--style song]

``--temperature`` samples the chords as the page does at that setting (the evaluation
samples at 1); ``--style`` is the style the model plays in (``song``, the page's default,
or ``corpus``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cojam.data.cache import load_songs
from cojam.data.tokens import FRAMES_PER_BEAT, song_to_frames
from cojam.eval.key_finding import Key
from cojam.eval.metrics import chords_in_key
from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.generate import generate_accompaniment
from cojam.models.online import SONG, STYLES
from cojam.music.song import Note, Song
from cojam.rewards.frames import chord_runs, frame_view
from cojam.rewards.rules import note_in_chord

C_MAJOR = Key(0, "major").scale
D_MINOR = Key(2, "minor").scale  # natural minor plus the leading tone C#
# A D-minor folk-like phrase (pitch, beats): 8 bars of 4/4
D_MINOR_TUNE = [(62, 1), (65, 1), (69, 1), (67, 1), (65, 2), (64, 2), (62, 1), (64, 1),
                (65, 1), (67, 1), (69, 4), (70, 1), (69, 1), (67, 1), (65, 1), (64, 2),
                (61, 2), (62, 1), (65, 1), (64, 1), (62, 1), (61, 2), (62, 2)]


def song_of(notes: list[tuple[int, float]], song_id: str) -> Song:
    onset, out = 0.0, []
    for pitch, beats in notes:
        out.append(Note(onset, beats, pitch))
        onset += beats
    return Song(song_id, "listen", tuple(out), ())


def minor_tune(melodies: Path | None) -> tuple[Song, frozenset[int]]:
    """A minor test tune of the melody-only cache (its key's scale), or the written one."""
    if melodies is not None:
        for song in load_songs(melodies, "test"):
            key = (song.key or "").lower()
            if key in ("a minor", "d minor", "a", "d") and "minor" in key:
                return song, Key(9 if key.startswith("a") else 2, "minor").scale
    return song_of(D_MINOR_TUNE, "d-minor-phrase"), D_MINOR


def listen(model, song: Song, scale: frozenset[int], samples: int, temperature: float,
           style: str) -> dict:
    spec = model.spec
    melody, _ = song_to_frames(song, spec)
    melody = melody[: model.config.max_frames]
    rows = []
    for seed in range(samples):
        generator = torch.Generator().manual_seed(seed)
        chords = generate_accompaniment(model, torch.from_numpy(melody)[None], temperature,
                                        generator=generator, style=style)[0].numpy()
        view = frame_view(melody, chords, spec)
        runs = chord_runs(view)
        symbols = [(start / FRAMES_PER_BEAT, spec.chords[index]) for start, _, index in runs]
        bars = len(melody) / (song.beats_per_bar * FRAMES_PER_BEAT)
        rows.append({
            "seed": seed,
            "chords": " ".join(f"{beat:g}:{s}" for beat, s in symbols),
            "note_in_chord": round(note_in_chord(view), 3),
            "on_beat": round(float(np.mean([start % FRAMES_PER_BEAT == 0
                                            for start, _, _ in runs])) if runs else 1.0, 3),
            "changes_per_bar": round(len(runs) / bars, 2),
            "in_key": round(chords_in_key(view, scale), 3),
        })
    return {"melody": song.song_id, "samples": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="accompanist run (default: the bundle)")
    parser.add_argument("--melodies", type=Path, help="melody-only cache for the minor tune")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature of the chords")
    parser.add_argument("--style", choices=STYLES, default=SONG,
                        help="the style the model plays in (default song, as the page)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model or bundled_model_dir()).eval()
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    c_major = song_of([(p, 1) for p in scale + scale[::-1]] * 2, "c-major-scale")
    tune, minor_scale = minor_tune(args.melodies)
    settings = (args.samples, args.temperature, args.style)
    print(json.dumps({"model": str(args.model or "bundled"), "temperature": args.temperature,
                      "style": args.style,
                      "c_major_scale": listen(model, c_major, C_MAJOR, *settings),
                      "minor_tune": listen(model, tune, minor_scale, *settings)},
                     indent=1))


if __name__ == "__main__":
    main()
