"""Data benchmark: songs/s building the Bach cache (cold and from the parse cache) and
tokens/s for encoding songs to frames and decoding them back. Prints JSON.

    python benchmarks/data_bench.py [--limit N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from cojam.data.cache import build_cache, load_songs, load_spec
from cojam.data.tokens import frames_to_song, song_to_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="chorales to read (default all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats for token passes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bach"
        started = time.perf_counter()
        report = build_cache("bach", out, limit=args.limit, progress=False)
        cold = time.perf_counter() - started
        warm_times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            build_cache("bach", out, limit=args.limit, progress=False)
            warm_times.append(time.perf_counter() - started)
        songs = [s for split in ("train", "valid", "test") for s in load_songs(out, split)]
        spec = load_spec(out)
    encode_times, decode_times = [], []
    frames = None
    for _ in range(args.repeats):
        started = time.perf_counter()
        encoded = [song_to_frames(s, spec) for s in songs]
        encode_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for melody, chords in encoded:
            frames_to_song(melody, chords, spec)
        decode_times.append(time.perf_counter() - started)
        frames = sum(len(m) for m, _ in encoded)
    tokens = 2 * frames  # one melody and one chord token per frame
    print(json.dumps({
        "inputs": report.inputs,
        "songs": sum(report.songs.values()),
        "skipped": len(report.skipped),
        "build_cold_s": round(cold, 2),
        "build_cold_songs_per_s": round(report.inputs / cold, 1),
        "build_cached_s_median": round(statistics.median(warm_times), 3),
        "build_cached_songs_per_s": round(report.inputs / statistics.median(warm_times), 1),
        "cached_speedup": round(cold / statistics.median(warm_times), 1),
        "tokens": tokens,
        "encode_tokens_per_s_median": round(tokens / statistics.median(encode_times)),
        "decode_tokens_per_s_median": round(tokens / statistics.median(decode_times)),
        "repeats": args.repeats,
    }, indent=1))


if __name__ == "__main__":
    main()
