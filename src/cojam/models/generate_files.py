"""Generation to files (``cojam generate``): a trained run plays every song, and each song
is written as ``<song>.json`` (a token file: melody and chord rows with the vocabulary)
and ``<song>.mid`` (melody and voiced chords on separate tracks), with
``generation.json`` holding the settings used.

The online accompanist and the offline teacher play chords to each song's melody; the
melody agent plays a melody over each song's chords. Songs are played in batches of
``batch_size`` in the order given, all from one generator seeded with ``seed``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from cojam.data.cache import load_songs
from cojam.data.melody_file import read_melody
from cojam.data.midi_export import write_midi
from cojam.data.token_files import save_tokens
from cojam.data.tokens import TokenError, frames_to_song, song_to_frames
from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import kind_of, load_model
from cojam.models.generate import generate_rows
from cojam.models.online import SONG
from cojam.models.sampling import SamplingConfig
from cojam.music.song import Song


@dataclass(frozen=True)
class GenerationRequest:
    """What ``cojam generate`` was asked for: a run, the songs, the sampling, the output."""

    out: Path
    """folder to write"""
    model: Path | None = None
    """run directory (None: the bundled accompanist)"""
    melody: Path | None = None
    """one melody file (.mid/.midi or MusicXML), or None to read ``data``"""
    data: Path | None = None
    """song cache directory, read when ``melody`` is None"""
    split: str = "test"
    """cache split to read from ``data``"""
    limit: int | None = None
    """at most this many songs from the split"""
    sampling: SamplingConfig = SamplingConfig()
    """temperature, top-k and top-p"""
    seed: int = 0
    """seed of the one generator every batch draws from"""
    batch_size: int = 16
    """songs per batch"""
    tempo: float = 100.0
    """MIDI tempo in BPM"""
    style: str = SONG
    """the accompanist's style (``cojam.models.online``): ``song`` or ``corpus``"""


def file_stem(song_id: str) -> str:
    """A file name for a song id (a song id like ``bach:bwv1.0`` keeps its dots)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", song_id).strip("_") or "song"


def generate_files(model_dir: Path, songs: list[Song], out_dir: Path, temperature: float,
                   top_k: int, top_p: float, seed: int, batch_size: int = 16,
                   tempo: float = 100.0, style: str = SONG) -> list[Path]:
    """Generate for every song and write its token and MIDI files; returns the MIDI paths."""
    model = load_model(model_dir)
    kind, spec = kind_of(model), model.spec
    frames = []
    for song in songs:
        try:
            frames.append(song_to_frames(song, spec))
        except TokenError as e:
            raise ValueError(f"song {song.song_id}: {e}") from e
    if kind == "melody" and not all(song.chords for song in songs):
        raise ValueError("the melody agent plays over chords: give songs with chords (--data)")
    given = [chords if kind == "melody" else melody for melody, chords in frames]
    batches = [range(start, min(start + batch_size, len(songs)))
               for start in range(0, len(songs), batch_size)]
    played = generate_rows(model, given, batches, SamplingConfig(temperature, top_k, top_p),
                           torch.Generator().manual_seed(seed), style)
    written = []
    for song, (melody, chords), output in zip(songs, frames, played, strict=True):
        melody, chords = (output, chords) if kind == "melody" else (melody, output)
        stem = file_stem(song.song_id)
        save_tokens(out_dir / f"{stem}.json", spec, melody, chords, song.song_id,
                    song.time_signature)
        result = frames_to_song(melody, chords, spec, song.song_id,
                                time_signature=song.time_signature)
        written.append(write_midi(result, out_dir / f"{stem}.mid", tempo))
    return written


def run_generation(request: GenerationRequest) -> list[Path]:
    """Read the songs, generate, write every song's files and ``generation.json``;
    returns the MIDI paths."""
    model = request.model or bundled_model_dir()
    if not (model / "model.safetensors").is_file() and request.model is None:
        raise FileNotFoundError("no model is bundled in this install; pass --model RUN")
    if request.melody is not None:
        songs = [read_melody(request.melody)]
    elif request.data is not None:
        songs = load_songs(request.data, request.split)[: request.limit]
    else:
        raise ValueError("give a melody file or a song cache to play")
    request.out.mkdir(parents=True, exist_ok=True)
    sampling = request.sampling
    written = generate_files(model, songs, request.out, sampling.temperature, sampling.top_k,
                             sampling.top_p, request.seed, request.batch_size, request.tempo,
                             request.style)
    settings = {"model": str(model), "style": request.style,
                "temperature": sampling.temperature,
                "top_k": sampling.top_k, "top_p": sampling.top_p, "seed": request.seed,
                "songs": [p.stem for p in written]}
    (request.out / "generation.json").write_text(json.dumps(settings, indent=1) + "\n")
    return written
