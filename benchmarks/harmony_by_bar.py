"""Note-in-chord by bar of the tune: where an accompanist gains or loses against the
baselines (a causal one cannot know the key in the first bar; ``one_chord`` is given it).

Prints JSON: for each system, the mean per-beat note-in-chord (``per_beat_harmony``) of
every song's bar 0, 1, ... up to ``--bars - 1``, the later bars pooled in the last entry,
over ``--samples`` sampling passes (the baselines are deterministic); and under
``from_bar``, the evaluation's note-in-chord (frames of melody, averaged per song) of
the tune from bar 0, 1 and 2 on, with its 95% bootstrap interval over songs: how much of
a gap to ``one_chord`` lies in the opening bars.

    .venv/bin/python benchmarks/harmony_by_bar.py --data runs/p5/essen --vocab runs/p5/cache \
        --model gapt=runs/p5/rl/gapt-s0 [--limit-songs 100] [--samples 2] [--bars 9] \
        [--temperature 1.0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cojam.data.cache import load_spec
from cojam.eval.metrics import per_beat_harmony
from cojam.eval.model_systems import Sampling, load_accompanist, model_system
from cojam.eval.pieces import Piece, load_pieces
from cojam.eval.reference_systems import baseline_systems
from cojam.eval.stats import bootstrap_interval
from cojam.models.online import SONG, STYLES
from cojam.rewards.frames import frame_view
from cojam.rewards.rules import note_in_chord

FROM_BARS = (0, 1, 2)


def by_bar(pieces: list[Piece], outputs: list[np.ndarray], spec, bars: int
           ) -> list[list[float]]:
    """Per-beat note-in-chord values grouped by bar (the last group pools the rest)."""
    groups: list[list[float]] = [[] for _ in range(bars)]
    for piece, chords in zip(pieces, outputs, strict=True):
        curve = per_beat_harmony(frame_view(piece.melody, chords, spec))
        per_bar = max(1, round(piece.beats_per_bar))
        for beat, value in enumerate(curve):
            if not np.isnan(value):
                groups[min(beat // per_bar, bars - 1)].append(float(value))
    return groups


def from_bar(pieces: list[Piece], outputs: list[np.ndarray], spec) -> np.ndarray:
    """(songs, len(FROM_BARS)): each song's note-in-chord from bar k on (NaN where the
    melody is silent from there)."""
    rows = []
    for piece, chords in zip(pieces, outputs, strict=True):
        frames_per_bar = int(round(piece.beats_per_bar * spec.frames_per_beat))
        row = []
        for bar in FROM_BARS:
            start = bar * frames_per_bar
            view = frame_view(piece.melody[start:], chords[start:], spec)
            row.append(note_in_chord(view) if (view.pitch >= 0).any() else np.nan)
        rows.append(row)
    return np.asarray(rows, dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="cache of the melodies")
    parser.add_argument("--vocab", type=Path, help="cache whose vocabulary the models use "
                        "(default: --data)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=RUN",
                        help="an accompanist run (repeatable)")
    parser.add_argument("--limit-songs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--bars", type=int, default=9)
    parser.add_argument("--style", choices=STYLES, default=SONG,
                        help="the style the models play in (default song: folk tunes)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="the models' sampling temperature (default 1, as evaluated)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = load_spec(args.vocab or args.data)
    pieces = load_pieces(args.data, args.split, spec, 256, args.limit_songs)
    baselines = baseline_systems(spec)
    systems = {name: baselines[name] for name in ("one_chord", "tonic_causal", "rule_causal")}
    for entry in args.model:
        name, run = entry.split("=", 1)
        systems[name] = model_system(load_accompanist(Path(run), spec)[0],
                                     Sampling(temperature=args.temperature, style=args.style))
    result = {"data": str(args.data), "split": args.split, "songs": args.limit_songs,
              "style": args.style,
              "samples": args.samples, "temperature": args.temperature, "systems": {},
              "from_bar": {}}
    for name, system in systems.items():
        groups: list[list[float]] = [[] for _ in range(args.bars)]
        per_song = np.zeros((len(pieces), len(FROM_BARS)))
        for seed in range(args.samples):
            outputs = system(pieces, seed)
            for group, values in zip(groups, by_bar(pieces, outputs, spec, args.bars),
                                     strict=True):
                group.extend(values)
            per_song += from_bar(pieces, outputs, spec) / args.samples
        result["systems"][name] = [round(float(np.mean(g)), 3) if g else None
                                   for g in groups]
        result["from_bar"][name] = {}
        for column, bar in enumerate(FROM_BARS):
            values = per_song[:, column]
            mean, low, high = bootstrap_interval(values[~np.isnan(values)])
            result["from_bar"][name][str(bar)] = [round(mean, 3), round(low, 3),
                                                  round(high, 3)]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
