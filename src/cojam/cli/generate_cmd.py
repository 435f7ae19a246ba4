"""``cojam generate``: accompaniments (or melodies, for the melody agent) from a trained run.

For each input song it writes ``<song>.json`` (a token file: melody and chord rows with
the vocabulary) and ``<song>.mid`` (melody and voiced chords on separate tracks), plus
``generation.json`` with the settings used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cojam.data import midi
from cojam.data.cache import CacheError, load_songs
from cojam.music.song import Song

if TYPE_CHECKING:
    import numpy as np
    import torch


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
    parser.set_defaults(func=run)


def read_melody(path: Path) -> Song:
    """A melody-only MIDI or MusicXML file as a Song without chords. A MIDI file with
    several note tracks needs one named like melody/lead/vocal."""
    if path.suffix.lower() in midi.SUFFIXES:
        loaded = midi.load(path)
        if isinstance(loaded, str):
            raise ValueError(f"{path}: {loaded}")
        tracks = midi.note_tracks(loaded)
        named = [t for t in tracks if any(w in t.name.lower() for w in midi.MELODY_NAMES)]
        if not named and len(tracks) != 1:
            raise ValueError(f"{path}: {len(tracks)} note tracks and none named like "
                             f"{'/'.join(midi.MELODY_NAMES)}; which one is the melody?")
        notes = midi.monophonic((named or tracks)[0].notes)
        return Song(path.stem, "midi", tuple(notes), (), midi.time_signature(loaded))
    from music21 import converter  # slow imports: only MusicXML input needs them

    from cojam.data import musicxml

    score = converter.parse(str(path))
    part = score.parts[0]
    notes = musicxml.melody_notes(part, musicxml.pickup_beats(part))
    time_signature, key = musicxml.meter_and_key(part)
    return Song(path.stem, "musicxml", tuple(notes), (), time_signature, key)


def _file_stem(song_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", song_id).strip("_") or "song"


def _pad(rows: list[np.ndarray]) -> torch.Tensor:
    import torch

    from cojam.data.tokens import PAD

    out = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row)
    return out


def generate_files(model_dir: Path, songs: list[Song], out_dir: Path, temperature: float,
                   top_k: int, top_p: float, seed: int, batch_size: int = 16,
                   tempo: float = 100.0) -> list[Path]:
    """Generate for every song and write its token and MIDI files; returns the MIDI paths."""
    import torch  # imported here so that `cojam --help` stays fast

    from cojam.data.midi_export import write_midi
    from cojam.data.token_files import save_tokens
    from cojam.data.tokens import TokenError, frames_to_song, song_to_frames
    from cojam.models.checkpoint import kind_of, load_model
    from cojam.models.generate import generate_accompaniment, generate_melody

    model = load_model(model_dir)
    kind = kind_of(model)
    spec = model.spec
    rows = []
    for song in songs:
        try:
            rows.append((song, *song_to_frames(song, spec)))
        except TokenError as e:
            raise ValueError(f"song {song.song_id}: {e}") from e
    if kind == "melody" and not all(song.chords for song in songs):
        raise ValueError("the melody agent plays over chords: give songs with chords (--data)")
    generator = torch.Generator().manual_seed(seed)
    written = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        if kind == "melody":
            output = generate_melody(model, _pad([c for _, _, c in chunk]), temperature, top_k,
                                     top_p, generator)
        else:
            output = generate_accompaniment(model, _pad([m for _, m, _ in chunk]), temperature,
                                            top_k, top_p, generator)
        for i, (song, melody, chords) in enumerate(chunk):
            played = output[i, : len(melody)].numpy()
            if kind == "melody":
                melody = played
            else:
                chords = played
            stem = _file_stem(song.song_id)
            save_tokens(out_dir / f"{stem}.json", spec, melody, chords, song.song_id,
                        song.time_signature)
            result = frames_to_song(melody, chords, spec, song.song_id,
                                    time_signature=song.time_signature)
            written.append(write_midi(result, out_dir / f"{stem}.mid", tempo))
    return written


def run(args: argparse.Namespace) -> int:
    from cojam.models.bundled import bundled_model_dir

    try:
        if args.model is None:
            args.model = bundled_model_dir()
            if not (args.model / "model.safetensors").is_file():
                raise FileNotFoundError("no model is bundled in this install; pass --model RUN")
        if args.melody is not None:
            songs = [read_melody(args.melody)]
        else:
            songs = load_songs(args.data, args.split)[: args.limit]
        args.out.mkdir(parents=True, exist_ok=True)
        written = generate_files(args.model, songs, args.out, args.temperature, args.top_k,
                                 args.top_p, args.seed, args.batch_size, args.tempo)
    except (CacheError, ValueError, FileNotFoundError) as e:
        print(f"cojam generate: {e}", file=sys.stderr)
        return 1
    settings = {"model": str(args.model), "temperature": args.temperature,
                "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed,
                "songs": [p.stem for p in written]}
    (args.out / "generation.json").write_text(json.dumps(settings, indent=1) + "\n")
    print(f"wrote {len(written)} songs to {args.out}")
    return 0
