"""Note-in-chord by bar of the tune: where an accompanist gains or loses against the
baselines (a causal one cannot know the key in the first bar; ``one_chord`` is given it).

Prints JSON: for each system, the mean per-beat note-in-chord (``per_beat_harmony``) of
every song's bar 0, 1, ... up to ``--bars - 1``, the later bars pooled in the last entry,
over ``--samples`` sampling passes (the baselines are deterministic).

    .venv/bin/python benchmarks/harmony_by_bar.py --data runs/p5/essen --vocab runs/p5/cache \
        --model gapt=runs/p5/rl/gapt-s0 [--limit-songs 100] [--samples 2] [--bars 9]
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
from cojam.models.online import SONG, STYLES
from cojam.rewards.frames import frame_view


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
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = load_spec(args.vocab or args.data)
    pieces = load_pieces(args.data, args.split, spec, 256, args.limit_songs)
    baselines = baseline_systems(spec)
    systems = {name: baselines[name] for name in ("one_chord", "tonic_causal", "rule_causal")}
    for entry in args.model:
        name, run = entry.split("=", 1)
        systems[name] = model_system(load_accompanist(Path(run), spec)[0],
                                     Sampling(style=args.style))
    result = {"data": str(args.data), "split": args.split, "songs": args.limit_songs,
              "style": args.style,
              "samples": args.samples, "systems": {}}
    for name, system in systems.items():
        groups: list[list[float]] = [[] for _ in range(args.bars)]
        for seed in range(args.samples):
            for group, values in zip(groups, by_bar(pieces, system(pieces, seed), spec,
                                                    args.bars), strict=True):
                group.extend(values)
        result["systems"][name] = [round(float(np.mean(g)), 3) if g else None
                                   for g in groups]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
