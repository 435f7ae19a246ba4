"""Does ``torch.compile`` make a live model call cheaper? One session's call as the live
engine makes it (``row_cache.forward_alone``, the lean eager path) against the same call
through ``torch.compile(model)`` (inductor, dynamic shapes), on the same cache state.
Prints JSON.

    python benchmarks/compile_bench.py [--model RUN | --bundled] [--tokens 1,2,8,17,24]
        [--repeats 200] [--threads 1]

For each number of new tokens (a live call feeds 1 to ~24: new melody, drafted chords),
the median milliseconds of one call over ``--repeats`` calls at cache lengths spread over
the window (each call's tokens are forgotten again, so every call sees the same lengths),
the largest difference of the two paths' logits, the seconds the first compiled calls
took (compiling) and the graphs compiled. Needs a C++ compiler (inductor writes C++).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch._dynamo.utils import counters

from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineModel
from cojam.models.row_cache import Forward, forward_alone
from cojam.models.transformer import KVCache

CONTEXT_TOKENS = (60, 180, 300)  # cache lengths the calls are made at


def timed_calls(call: Callable[[torch.Tensor, KVCache], torch.Tensor], model: OnlineModel,
                tokens: int, repeats: int) -> tuple[float, list[torch.Tensor]]:
    """Median ms of ``call`` feeding ``tokens`` new tokens, at each of CONTEXT_TOKENS
    in turn, and the logits of the last call at each length."""
    token = model.spec.chord_on(model.spec.chords[0])
    caches = []
    for length in CONTEXT_TOKENS:
        cache = model.new_cache(1)
        forward_alone(model, Forward(cache, [1] + [token] * (length - 1)))
        caches.append(cache)
    times, last = [], []
    with torch.inference_mode():
        for i in range(repeats):
            cache = caches[i % len(caches)]
            length = cache.length
            new = torch.full((1, tokens), token)
            began = time.perf_counter()
            logits = call(new, cache)
            times.append(time.perf_counter() - began)
            cache.truncate(length)
            if i >= repeats - len(caches):
                last.append(logits.reshape(tokens, -1))
    return 1000 * statistics.median(times), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a run directory")
    parser.add_argument("--bundled", action="store_true", help="the bundled model (default)")
    parser.add_argument("--tokens", default="1,2,8,17,24", help="new tokens per call")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model or bundled_model_dir()).eval()
    counts = [int(t) for t in args.tokens.split(",")]

    def eager(tokens: torch.Tensor, cache: KVCache) -> torch.Tensor:
        return forward_alone(model, Forward(cache, tokens[0].tolist()))

    compiled_model = torch.compile(model, dynamic=True)
    began = time.perf_counter()
    for n in sorted({1, *counts}):  # one token has a graph of its own
        timed_calls(compiled_model, model, n, len(CONTEXT_TOKENS))
    compile_seconds = time.perf_counter() - began
    rows = []
    for n in counts:
        for _ in range(2):  # alternate, so drift on a shared machine hits both
            eager_ms, eager_logits = timed_calls(eager, model, n, args.repeats)
            compiled_ms, compiled_logits = timed_calls(compiled_model, model, n, args.repeats)
        rows.append({
            "tokens": n, "eager_ms": round(eager_ms, 3), "compiled_ms": round(compiled_ms, 3),
            "compiled_over_eager": round(compiled_ms / eager_ms, 3),
            "max_logit_difference": max(float((a - b).abs().max())
                                        for a, b in zip(eager_logits, compiled_logits,
                                                        strict=True)),
        })
    print(json.dumps({
        "torch": torch.__version__, "threads": args.threads, "cpus": os.cpu_count(),
        "machine": platform.machine(), "load_average": os.getloadavg()[0],
        "compile_seconds": round(compile_seconds, 1),
        "graphs": counters["stats"]["unique_graphs"], "calls": rows,
    }, indent=1))


if __name__ == "__main__":
    main()
