"""A melody-only cache: tunes without chords, split by corpus file.

``build_cache`` hands a source whose reader sets ``MELODY_ONLY`` (``essen``) to
``build_melody_cache``, which writes the files a chord cache has, so ``load_songs``,
``load_spec`` and ``load_stats`` read it unchanged:

- ``train.jsonl`` / ``valid.jsonl`` / ``test.jsonl`` — ``Song`` rows with no chords. Every
  tune of one input file goes to the split the reader's ``split_of_file`` names, so no
  tune of a test file is trained on. A corpus can hold the same tune in two files: a
  tune whose melody opens like one in a stricter split (test, then valid; the cache's
  ``melody_fingerprint``) is left out and listed as skipped, naming the tune it copies;
- ``vocab.json`` — a ``TokenSpec`` with no chords: the pitch range and frame grid, which
  are all that melody token ids depend on. To tokenise these songs for a model, use
  that model's cache spec (for example the Bach cache's): melody ids are the same for
  any spec with the same pitch range, and the chord rows come out as chord silence;
- ``stats.json`` — ``"melody_only": true``, the files of each split (``"files"``),
  counts, skipped tunes and the statistics of ``song_stats``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cojam.data.cache import (
    SPLITS,
    BuildReport,
    CacheError,
    cache_texts,
    melody_fingerprint,
    read_source,
    reader_module,
    song_stats,
    usable_songs,
    write_all,
)
from cojam.data.sources import Skipped
from cojam.data.tokens import TokenSpec
from cojam.music.song import Song

STRICTNESS = ("test", "valid", "train")  # a copied tune stays in the first of these


def assign_file_splits(
    songs: list[Song], split_of_file: Callable[[str], str]
) -> tuple[dict[str, list[Song]], list[Skipped]]:
    """Songs by the split of their file (``meta["file"]``), and the copies left out: a
    song whose melody fingerprint already sits in a stricter split."""
    splits: dict[str, list[Song]] = {name: [] for name in SPLITS}
    for song in sorted(songs, key=lambda s: s.song_id):
        name = split_of_file(song.meta["file"])
        if name not in SPLITS:
            raise CacheError(f"{song.meta['file']}: split {name!r} is not one of {SPLITS}")
        splits[name].append(song)
    owner: dict[str, Song] = {}  # fingerprint -> the song that keeps it
    copies: list[Skipped] = []
    for name in STRICTNESS:
        kept = []
        for song in splits[name]:
            first = owner.setdefault(melody_fingerprint(song), song)
            if first is song or split_of_file(first.meta["file"]) == name:
                kept.append(song)
            else:
                copies.append(Skipped(song.song_id, f"its melody opens like {first.song_id} "
                                                    f"in {split_of_file(first.meta['file'])}"))
        splits[name] = kept
    return splits, copies


def build_melody_cache(
    source: str,
    out_dir: Path,
    input_path: Path | None = None,
    limit: int | None = None,
    progress: bool = True,
    seconds_per_input: float | None = None,
) -> BuildReport:
    """Read a melody-only ``source`` and write the cache files to ``out_dir`` (as
    ``build_cache`` does, whose arguments these are).

    ``limit`` is what the reader makes of it (for ``essen``: the first N tunes of every
    file). Raises ``CacheError`` when no tune could be used."""
    module = reader_module(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(source=source)
    songs, report.skipped, report.inputs, report.parsed_from_cache = read_source(
        source, input_path, out_dir, limit, progress, seconds_per_input
    )
    spec = TokenSpec(chords=())
    usable = usable_songs(songs, report, needs_chords=False)
    splits, copies = assign_file_splits(usable, module.split_of_file)
    report.skipped.extend(copies)
    report.songs = {name: len(members) for name, members in splits.items()}
    kept = [song for members in splits.values() for song in members]
    files = {name: sorted({s.meta["file"] for s in usable
                           if module.split_of_file(s.meta["file"]) == name}) for name in SPLITS}
    report.stats = {"melody_only": True, "files": files, **song_stats(kept, spec)}
    write_all(out_dir, cache_texts(splits, spec, report))
    return report
