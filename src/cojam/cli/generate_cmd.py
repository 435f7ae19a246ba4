"""``cojam generate``: accompaniments (or melodies, for the melody agent) from a trained run
(``cojam.models.generate_files``: one ``<song>.json`` token file and ``<song>.mid`` per
song, and ``generation.json`` with the settings used)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="play a trained model over melodies (or chords) and write token and MIDI files",
        description=(
            "Generate with a trained run: the online accompanist or the offline teacher plays "
            "chords to each melody, the melody agent plays a melody over each song's chords. "
            "Writes <song>.json token files, <song>.mid files and generation.json to OUT."
        ),
    )
    parser.add_argument("--model", type=Path,
                        help="run directory (default: the bundled accompanist)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--melody", type=Path,
                        help="a melody file (.mid/.midi or MusicXML .xml/.mxl/.musicxml)")
    source.add_argument("--data", type=Path, help="song cache directory")
    parser.add_argument("--split", default="test", help="cache split with --data (default test)")
    parser.add_argument("--limit", type=int, help="at most N songs from the split")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--temperature", type=float, default=1.0, help="0 is greedy (default 1)")
    parser.add_argument("--top-k", type=int, default=0, help="keep the k likeliest (0: all)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus mass (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=16, help="songs per batch")
    parser.add_argument("--tempo", type=float, default=100.0, help="MIDI tempo in BPM")
    parser.add_argument("--style", choices=("song", "corpus"), default="song",
                        help="song (default): play as to a song's melody (folk, pop, what you "
                             "play); corpus: as to the chord corpus the model was trained on "
                             "(Bach chorales). A model without the song style plays every "
                             "melody in its corpus's")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here so that `cojam --help` does not pay for torch
    from cojam.data.cache import CacheError
    from cojam.models.generate_files import GenerationRequest, run_generation
    from cojam.models.sampling import SamplingConfig

    request = GenerationRequest(
        out=args.out, model=args.model, melody=args.melody, data=args.data, split=args.split,
        limit=args.limit, sampling=SamplingConfig(args.temperature, args.top_k, args.top_p),
        seed=args.seed, batch_size=args.batch_size, tempo=args.tempo,
        style=args.style)
    try:
        written = run_generation(request)
    except (CacheError, ValueError, FileNotFoundError) as e:
        print(f"cojam generate: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} songs to {args.out}")
    return 0
