"""Model speed: parameter counts, training throughput (tokens/s) and online generation
latency (ms per frame, with and without the KV cache, at batch 1 and 64; and through the
whole decoding loop) for the ``cpu-small`` and ``paper`` recipes' models. Medians over
repeated runs. Prints JSON.

    python benchmarks/model_speed.py [--recipes cpu-small paper] [--data CACHE]
        [--train-batch N] [--context FRAMES] [--repeats R] [--device cpu|cuda]

Training uses the recipe's batch size unless ``--train-batch`` sets one (a paper step at
batch 64 takes minutes on a CPU); windows are full ``max_frames`` windows of random valid
tokens (the vocabulary of ``--data`` if given, else a 924-token one like the Bach cache's).
Generation latency is one frame (the model's chord, then the melody token fed back) after
a context of ``--context`` frames: with the cache, two new tokens on top of the cached
keys/values; without it, the whole context recomputed. The loop's latency (``loop``
rows) is ``generate_accompaniment`` playing ``--context`` frames with the cache, divided
by the frames: model calls, masks, sampling and the loop's own bookkeeping.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from cojam.data.batches import FrameBatch
from cojam.data.cache import load_spec
from cojam.data.tokens import BOS, TokenSpec
from cojam.models.checkpoint import build_model
from cojam.models.generate import generate_accompaniment
from cojam.models.likelihood import stream_losses
from cojam.models.online import stream_layout
from cojam.models.sampling import allowed_mask, sample_tokens
from cojam.models.train import load_run_section
from cojam.music.chords import all_chords


def median_seconds(run: Callable[[], None], repeats: int, device: str) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def random_frames(spec: TokenSpec, batch: int, frames: int, device: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    melody = torch.randint(spec.melody_silence, spec.chord_silence, (batch, frames))
    chords = spec.chord_silence + 1 + 2 * torch.randint(0, len(spec.chords), (batch, frames))
    return melody.to(device), chords.to(device)


def train_throughput(recipe: str, kind: str, spec: TokenSpec, batch_size: int | None,
                     repeats: int, device: str) -> dict:
    section = load_run_section(recipe, kind)
    model = build_model(kind, spec, section.model).to(device).train()
    batch = batch_size or section.train.batch_size
    frames = section.model.max_frames
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    melody, chords = random_frames(spec, batch, frames, device)
    data = FrameBatch(melody, chords, torch.ones_like(melody, dtype=torch.bool), ())

    def step() -> None:
        with torch.autocast("cuda", torch.bfloat16, enabled=device == "cuda"):
            loss = sum(stream_losses(model, data).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = median_seconds(step, repeats, device)
    tokens = batch * frames * 2  # melody + chord tokens (encoder + decoder for the teacher)
    return {"recipe": recipe, "model": kind, "batch": batch, "frames": frames,
            "step_seconds": round(seconds, 4), "tokens_per_second": round(tokens / seconds)}


@torch.no_grad()
def frame_latency(recipe: str, spec: TokenSpec, batch: int, context: int, use_cache: bool,
                  repeats: int, device: str) -> float:
    """Milliseconds to play one frame after ``context`` frames."""
    model = build_model("online", spec, load_run_section(recipe, "online").model)
    model = model.to(device).eval()
    melody, chords = random_frames(spec, batch, context + 1, device)
    tokens = stream_layout(melody, chords, "accompanist").to(device)  # (B, 3 + 2 context)
    prefix = tokens[:, : 1 + 2 * context]
    cache = model.new_cache(batch, 1 + 2 * (context + 1))
    model(prefix, cache)
    previous = torch.full((batch,), BOS, device=device)
    generator = torch.Generator(device=device).manual_seed(0)

    def one_frame() -> None:
        if use_cache:
            logits = model(tokens[:, 1 + 2 * context - 2 : 1 + 2 * context], cache)
            cache.truncate(1 + 2 * (context - 1))  # back to the same context every repeat
        else:
            logits = model(prefix)
        mask = allowed_mask(spec, "chord", previous)
        sample_tokens(logits[:, -1], mask, generator=generator)

    cache.truncate(1 + 2 * (context - 1))
    return 1000 * median_seconds(one_frame, repeats, device)


@torch.no_grad()
def loop_latency(recipe: str, spec: TokenSpec, batch: int, frames: int, repeats: int,
                 device: str) -> float:
    """Milliseconds per frame of the decoding loop playing ``frames`` frames."""
    model = build_model("online", spec, load_run_section(recipe, "online").model)
    model = model.to(device).eval()
    melody, _ = random_frames(spec, batch, frames, device)

    def play() -> None:
        generator = torch.Generator(device=device).manual_seed(0)
        generate_accompaniment(model, melody, generator=generator)

    return 1000 * median_seconds(play, repeats, device) / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["cpu-small", "paper"])
    parser.add_argument("--data", type=Path, help="take the vocabulary from this cache")
    parser.add_argument("--train-batch", type=int, help="override the recipes' batch size")
    parser.add_argument("--context", type=int, default=128, help="frames before the timed one")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.data is not None:
        spec = load_spec(args.data)
    else:
        spec = TokenSpec(chords=tuple(c.symbol for c in all_chords(with_bass=True))[:372])
    result: dict = {"device": args.device, "threads": args.threads,
                    "vocab_size": spec.vocab_size, "parameters": {}, "train": [],
                    "generation": [], "loop": []}
    if args.device == "cuda":
        result["gpu"] = torch.cuda.get_device_name()
    for recipe in args.recipes:
        for kind in ("online", "teacher"):
            model = build_model(kind, spec, load_run_section(recipe, kind).model)
            embeddings = model.embed.weight.numel() + model.head.weight.numel()
            total = sum(p.numel() for p in model.parameters())
            result["parameters"][f"{recipe}/{kind}"] = {
                "total": total, "without_embeddings": total - embeddings}
        if not args.skip_train:
            for kind in ("online", "teacher"):
                row = train_throughput(recipe, kind, spec, args.train_batch, args.repeats,
                                       args.device)
                result["train"].append(row)
                print(json.dumps(row), flush=True)
        for batch in args.batches:
            for use_cache in (True, False):
                ms = frame_latency(recipe, spec, batch, args.context, use_cache, args.repeats,
                                   args.device)
                row = {"recipe": recipe, "batch": batch, "context_frames": args.context,
                       "kv_cache": use_cache, "ms_per_frame": round(ms, 3)}
                result["generation"].append(row)
                print(json.dumps(row), flush=True)
            ms = loop_latency(recipe, spec, batch, args.context, args.repeats, args.device)
            row = {"recipe": recipe, "batch": batch, "loop_frames": args.context,
                   "ms_per_frame": round(ms, 3)}
            result["loop"].append(row)
            print(json.dumps(row), flush=True)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
