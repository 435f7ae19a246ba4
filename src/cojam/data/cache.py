"""The song cache: read a corpus once, validate, split by song, and write jsonl files.

``build_cache`` is what ``cojam data build`` runs. It reads every input of one source
with that source's reader, keeps parsed songs per input in ``DIR/.parsed`` (keyed by the
input's path, size and modification time) so that a rebuild skips parsing, and writes:

- ``train.jsonl`` / ``valid.jsonl`` / ``test.jsonl`` — one ``Song.to_dict()`` a line,
  split 80/10/10 by a hash of the song's *melody group*: songs whose melodies open with
  the same intervals (the same tune harmonised twice, or in two keys) share a split, so
  the same song never lands in two splits;
- ``vocab.json`` — the ``TokenSpec``: every chord seen, closed under transposition;
- ``stats.json`` — counts, the commonest chords, pitch range, lengths, skipped inputs.

Every input is read within its reader's ``BUDGET`` (bytes, seconds): one that is too big
or too slow is skipped and named. Every song passes ``sources.song_problem`` (finite
times, bounded length, a real meter) before it is used. The five files are computed in
full before any is written, then written to temporary names and renamed into place,
``stats.json`` last: a directory without ``stats.json`` holds no finished cache.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from cojam.data.budget import InputBudget, OverTime, size_problem, time_limit
from cojam.data.sources import Skipped, song_problem
from cojam.data.tokens import TokenSpec, chord_vocabulary, song_to_frames
from cojam.music.song import Song

SOURCES = ("bach", "abc", "musicxml", "midi", "hooktheory", "pop909", "essen")
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
PARSED_DIR = ".parsed"
PARSE_VERSION = 1  # bump when a reader's output changes, to invalidate parsed caches
MIN_BEATS = 4.0
FINGERPRINT_NOTES = 24


class CacheError(RuntimeError):
    """Nothing usable could be built, or a cache directory is incomplete."""


def reader_module(source: str) -> ModuleType:
    if source not in SOURCES:
        raise CacheError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    return importlib.import_module(f"cojam.data.{source}")


@dataclass
class BuildReport:
    """What a build did; ``stats.json`` is its ``to_dict()``."""

    source: str
    inputs: int = 0
    songs: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    parsed_from_cache: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "inputs": self.inputs,
            "songs": self.songs,
            "parsed_from_cache": self.parsed_from_cache,
            "skipped_count": len(self.skipped),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            **self.stats,
        }

    def summary(self, seconds: float) -> str:
        """What ``cojam data build`` prints: inputs read, songs per split, the vocabulary
        (or the files of a melody-only cache), the commonest chords, what was skipped."""
        lines = [f"read {self.inputs} inputs ({self.parsed_from_cache} from the parse cache) "
                 f"in {seconds:.1f}s",
                 "songs: " + ", ".join(f"{k} {v}" for k, v in self.songs.items())
                 + f" (total {sum(self.songs.values())})"]
        stats = self.stats
        if stats.get("melody_only"):
            lines.append(f"melody only, {stats['frames']} frames; files per split: " + "; ".join(
                f"{k} {', '.join(v)}" for k, v in stats["files"].items()))
        else:
            lines.append(f"frames: {stats['frames']}, chord spans: {stats['chord_spans']}, "
                         f"distinct chords: {stats['distinct_chords']}, vocabulary: "
                         f"{stats['chord_vocab_size']} chords / {stats['token_vocab_size']} "
                         "tokens")
            top = list(stats["commonest_chords"].items())[:12]
            lines.append("commonest chords: " + " ".join(f"{c}:{n}" for c, n in top))
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}:")
            lines += [f"  {skipped}" for skipped in self.skipped]
        return "\n".join(lines)


# ------------------------------------------------------------------------- reading


def _parsed_key(source: str, path: Path, limit: int | None = None) -> str:
    stat = path.stat()
    text = f"{PARSE_VERSION}|{source}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if limit is not None:  # the first ``limit`` songs of the input, not all of them
        text += f"|limit {limit}"
    return hashlib.sha1(text.encode()).hexdigest()


def _read_input(
    module: ModuleType, path: Path, budget: InputBudget, limit: int | None = None
) -> list[Song | Skipped]:
    """All songs of one input (the first ``limit``), read within ``budget``. A reader
    failure we did not foresee is reported as a skip naming the input and the error, so one
    bad file never stops a build."""
    too_big = size_problem(path, budget)
    if too_big is not None:
        return [Skipped(str(path), too_big)]
    try:
        with time_limit(budget.seconds):
            return list(module.read(path) if limit is None else module.read(path, limit))
    except OverTime:
        return [Skipped(str(path), f"reading took over {budget.seconds:g} s, the time budget "
                                   "per input; skipped")]
    except Exception as e:  # noqa: BLE001 - third-party parsers raise anything; we report it
        return [Skipped(str(path), f"unreadable ({type(e).__name__}: {str(e)[:200]})")]


def read_source(
    source: str,
    input_path: Path | None,
    out_dir: Path | None = None,
    limit: int | None = None,
    progress: bool = True,
    seconds_per_input: float | None = None,
) -> tuple[list[Song], list[Skipped], int, int]:
    """(songs, skipped, number of inputs, inputs served from the parsed cache).
    ``seconds_per_input`` replaces the reader's time budget."""
    module = reader_module(source)
    budget = getattr(module, "BUDGET", None)
    if not isinstance(budget, InputBudget):
        raise CacheError(f"reader {module.__name__} declares no BUDGET (an InputBudget: "
                         "the bytes and seconds one input may take)")
    if seconds_per_input is not None:
        budget = InputBudget(seconds_per_input, budget.bytes)
    if input_path is None and source not in ("bach", "essen"):
        raise CacheError(f"source {source!r} needs --input PATH (a file or a folder)")
    inputs = module.find_inputs(None if input_path is None else Path(input_path))
    if not inputs:
        raise CacheError(f"no {source} inputs found under {input_path}")
    # a reader with LIMIT_PER_INPUT reads the first ``limit`` songs of every input
    per_input = limit if getattr(module, "LIMIT_PER_INPUT", False) else None
    if limit is not None and per_input is None:
        inputs = inputs[:limit]
    parsed_dir = None if out_dir is None else Path(out_dir) / PARSED_DIR
    if parsed_dir is not None:
        parsed_dir.mkdir(parents=True, exist_ok=True)
    songs: list[Song] = []
    skipped: list[Skipped] = []
    from_cache = 0
    for path in tqdm(inputs, desc=f"reading {source}", unit="file", disable=not progress):
        key = _parsed_key(source, path, per_input)
        cached = None if parsed_dir is None else parsed_dir / f"{key}.json"
        if cached is not None and cached.exists():
            items = _load_parsed(cached)
            from_cache += 1
        else:
            items = _read_input(module, path, budget, per_input)
            if cached is not None:
                _save_parsed(cached, items)
        for item in items:
            (skipped if isinstance(item, Skipped) else songs).append(item)
    return songs, skipped, len(inputs), from_cache


def _save_parsed(path: Path, items: list[Song | Skipped]) -> None:
    rows = [
        {"skipped": {"path": i.path, "reason": i.reason}}
        if isinstance(i, Skipped)
        else {"song": i.to_dict()}
        for i in items
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows))
    os.replace(tmp, path)


def _load_parsed(path: Path) -> list[Song | Skipped]:
    return [
        Skipped(**row["skipped"]) if "skipped" in row else Song.from_dict(row["song"])
        for row in json.loads(path.read_text())
    ]


# ----------------------------------------------------------------- checks and splits


def check_song(song: Song, spec: TokenSpec, needs_chords: bool = True) -> str | None:
    """Why a song cannot be used, or None. ``spec`` supplies the pitch range; a melody-only
    corpus passes ``needs_chords=False``."""
    timing = song_problem(song)
    if timing is not None:
        return timing
    if not song.notes:
        return "no melody notes"
    if needs_chords and not song.chords:
        return "no chords"
    if song.length_beats < MIN_BEATS:
        return f"only {song.length_beats:g} beats long (at least {MIN_BEATS:g} needed)"
    pitches = [n.pitch for n in song.notes]
    if min(pitches) < spec.min_pitch or max(pitches) > spec.max_pitch:
        return (
            f"melody pitch range {min(pitches)}-{max(pitches)} outside "
            f"{spec.min_pitch}-{spec.max_pitch}"
        )
    return None


def melody_fingerprint(song: Song) -> str:
    """Transposition-invariant opening of the melody: its first intervals."""
    pitches = [n.pitch for n in song.notes[: FINGERPRINT_NOTES + 1]]
    return ",".join(str(b - a) for a, b in zip(pitches, pitches[1:], strict=False))


def split_of(group_key: str) -> str:
    """Deterministic split of a song group from a hash of its key."""
    u = int(hashlib.sha1(group_key.encode()).hexdigest()[:8], 16) / 0x100000000
    bound = 0.0
    for name, fraction in zip(SPLITS, SPLIT_FRACTIONS, strict=True):
        bound += fraction
        if u < bound:
            return name
    return SPLITS[-1]


def assign_splits(songs: list[Song]) -> dict[str, list[Song]]:
    """Split by melody group; a group's key is its first song id, so it is stable."""
    groups: dict[str, list[Song]] = {}
    for song in sorted(songs, key=lambda s: s.song_id):
        groups.setdefault(melody_fingerprint(song), []).append(song)
    splits: dict[str, list[Song]] = {name: [] for name in SPLITS}
    for members in groups.values():
        splits[split_of(members[0].song_id)].extend(members)
    return splits


# -------------------------------------------------------------------------- building


def build_cache(
    source: str,
    out_dir: Path,
    input_path: Path | None = None,
    limit: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    seconds_per_input: float | None = None,
) -> BuildReport:
    """Read ``source``, write the split jsonl files, vocab and stats to ``out_dir``.

    Raises ``CacheError`` when no song could be used; otherwise skipped inputs are listed
    in the report (and ``stats.json``) and the build succeeds. ``seconds_per_input``
    replaces the reader's time budget. A melody-only source (``essen``) is built by
    ``cojam.data.melody_cache`` instead.
    """
    if getattr(reader_module(source), "MELODY_ONLY", False):
        from cojam.data.melody_cache import build_melody_cache  # it builds on this module

        return build_melody_cache(source, out_dir, input_path, limit, progress,
                                  seconds_per_input)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(source=source)
    songs, skipped, report.inputs, report.parsed_from_cache = read_source(
        source, input_path, out_dir, limit, progress, seconds_per_input
    )
    report.skipped = skipped
    usable = usable_songs(songs, report)
    spec = TokenSpec(chords=chord_vocabulary([c.chord for s in usable for c in s.chords]))
    splits = assign_splits(usable)
    report.songs = {name: len(members) for name, members in splits.items()}
    report.stats = song_stats(usable, spec)
    write_all(out_dir, cache_texts(splits, spec, report))
    return report


def usable_songs(songs: list[Song], report: BuildReport, needs_chords: bool = True
                 ) -> list[Song]:
    """The songs that pass ``check_song`` (and do not repeat an earlier id); the others
    go to ``report.skipped`` with their reason. None usable is a ``CacheError``."""
    range_spec = TokenSpec(chords=())
    usable: list[Song] = []
    seen_ids: set[str] = set()
    for song in songs:
        problem = check_song(song, range_spec, needs_chords)
        if problem is None and song.song_id in seen_ids:
            problem = "duplicate song id"
        if problem is not None:
            report.skipped.append(Skipped(song.song_id, problem))
            continue
        seen_ids.add(song.song_id)
        usable.append(song)
    if not usable:
        reasons = "; ".join(str(s) for s in report.skipped[:5])
        raise CacheError(f"no usable songs from {report.source} ({len(report.skipped)} "
                         f"skipped: {reasons})")
    return usable


def cache_texts(splits: dict[str, list[Song]], spec: TokenSpec, report: BuildReport
                ) -> dict[str, str]:
    """{file name: text} of a cache: one JSON line per song per split, the vocabulary,
    the build report with its statistics."""
    texts = {f"{name}.jsonl": "".join(json.dumps(song.to_dict()) + "\n" for song in members)
             for name, members in splits.items()}
    texts["vocab.json"] = json.dumps(spec.to_dict(), indent=1) + "\n"
    texts["stats.json"] = json.dumps(report.to_dict(), indent=1) + "\n"
    return texts


def write_all(out_dir: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) so that a crash leaves no mix passing for a cache:
    all go to temporary names first, the old ``stats.json`` goes, then each is renamed
    into place, ``stats.json`` last (its presence says the cache is complete)."""
    names = sorted(files, key=lambda name: name == "stats.json")
    for name in names:
        (out_dir / f"{name}.tmp").write_text(files[name])
    (out_dir / "stats.json").unlink(missing_ok=True)
    for name in names:
        os.replace(out_dir / f"{name}.tmp", out_dir / name)


def song_stats(songs: list[Song], spec: TokenSpec, top: int = 20) -> dict[str, Any]:
    """Corpus statistics a person reads to judge a cache."""
    chord_counts = Counter(c.chord.symbol for s in songs for c in s.chords)
    quality_counts = Counter(c.chord.quality for s in songs for c in s.chords)
    pitches = [n.pitch for s in songs for n in s.notes]
    frames = sum(len(song_to_frames(s, spec)[0]) for s in songs)
    return {
        "frames": frames,
        "chord_spans": sum(chord_counts.values()),
        "distinct_chords": len(chord_counts),
        "chord_vocab_size": len(spec.chords),
        "token_vocab_size": spec.vocab_size,
        "commonest_chords": dict(chord_counts.most_common(top)),
        "chord_qualities": dict(quality_counts.most_common()),
        "inversion_fraction": round(
            sum(n for sym, n in chord_counts.items() if "/" in sym)
            / max(sum(chord_counts.values()), 1),
            4,
        ),
        "pitch_range": [min(pitches), max(pitches)],
        "mean_length_beats": round(sum(s.length_beats for s in songs) / len(songs), 2),
        "time_signatures": dict(Counter("/".join(map(str, s.time_signature)) for s in songs)),
    }


# --------------------------------------------------------------------------- loading


def load_spec(cache_dir: Path) -> TokenSpec:
    path = Path(cache_dir) / "vocab.json"
    if not path.exists():
        raise CacheError(f"{cache_dir} has no vocab.json; build it with `cojam data build`")
    return TokenSpec.load(path)


def load_songs(cache_dir: Path, split: str) -> list[Song]:
    if split not in SPLITS:
        raise CacheError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path = Path(cache_dir) / f"{split}.jsonl"
    if not path.exists():
        raise CacheError(f"{path} does not exist; build the cache with `cojam data build`")
    songs = []
    with path.open() as f:
        for number, line in enumerate(f, start=1):
            try:
                songs.append(Song.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as e:
                raise CacheError(f"{path}:{number}: bad song row ({e})") from e
    return songs


def load_stats(cache_dir: Path) -> dict[str, Any]:
    path = Path(cache_dir) / "stats.json"
    if not path.exists():
        raise CacheError(f"{cache_dir} has no stats.json; build it with `cojam data build`")
    return json.loads(path.read_text())


SUMMARY_KEYS = ("source", "melody_only", "songs", "chord_vocab_size", "token_vocab_size",
                "distinct_chords", "commonest_chords", "chord_qualities", "inversion_fraction",
                "pitch_range", "mean_length_beats", "frames", "time_signatures",
                "skipped_count")


def stats_summary(cache_dir: Path) -> dict[str, Any]:
    """The statistics ``cojam data stats`` prints: those of ``SUMMARY_KEYS`` the cache has
    (not the per-file lists, nor every skipped input)."""
    stats = load_stats(cache_dir)
    return {key: stats[key] for key in SUMMARY_KEYS if key in stats}
