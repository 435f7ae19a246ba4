"""Live engine benchmark: per-tick plan latency, with and without cache reuse, and under
concurrent sessions. Prints JSON.

    python benchmarks/live_bench.py [--model RUN | --bundled] [--beats 64] [--threads 1]
        [--cases single,concurrent,round_trip,floor] [--sessions 1,4,16,32] [--stagger]
        [--warm-ms 3] [--no-keep-warm] [--clients-in-server]

Without ``--model`` or ``--bundled`` (the model that ships with the package) it uses a
randomly initialised cpu-small accompanist: an untrained model almost never predicts the
melody, so nearly every tick re-plans its whole lookahead (the worst case); a trained
run keeps more of its plans.

Latencies are wall-clock; single-session cases also give the tick's CPU time
(``cpu_*``), which is what the wall time would be on an otherwise idle machine.

Cases:
- ``single``: one session at batch 1, ticking every frame (a sixteenth), lookahead 4 and
  8 beats (commit 2), in four modes: ``engine`` (what the server runs: the cache reused,
  tokens drafted and verified ``DRAFT_TOKENS`` at a time, at most ``REPLAN_BUDGET`` model
  calls a tick past the commit horizon), ``full-replan`` (the same without the budget:
  the whole dropped plan re-planned every tick), ``one-token`` (the cache reused, one
  token per model call, no budget) and ``recompute`` (the whole history recomputed every
  tick, one token per call: the stateless baseline);
- ``concurrent``: 1, 4, 16 and 32 sessions ticking every frame in real time at 120 BPM,
  latency from the moment the tick was due to its plan (so it counts waiting for the
  model). Each session plans past its commit horizon after its answer
  (``JamSession.extend``), as the server does; that work counts in the CPU figures, not
  in the latency. ``unbatched``: each session runs its own model calls, on a pool of worker
  threads (one per core, as the server runs them); ``batched``: all sessions' ticks of a
  frame run together, one shared model pass per round of calls
  (``cojam.live.batching.tick_together``, on one thread). All sessions start on the same
  frame (the worst case: their beats coincide), or with ``--stagger`` spread over a bar
  (batched only). ``cpu_per_frame_*``: the CPU
  time of all sessions' ticks of one frame (what the frame would take on one idle core,
  and the figure least disturbed by other jobs on the machine);
- ``round_trip``: the same session counts through the real server's websocket on this
  machine, batched (the server's default) and unbatched, each client ticking every frame
  at 120 BPM; latency is from sending a tick to receiving its plan, as the page measures
  it. The clients run in a process of their own, as pages do (``--clients-in-server``:
  on threads of the server's process, sharing its interpreter, as before).
  ``calls_per_pass``: model calls served per shared pass; ``warm_calls``: the server's
  calls that warm the model before ticks (``cojam.live.warmth``; off with
  ``--no-keep-warm``). ``--warm-ms`` does the same in the batched ``concurrent`` case:
  one call on one token that many ms before each frame is due.

- ``floor``: where a tick's time goes, frame after frame as fast as they run (not in
  real time), by CPU time: for one session, the model calls per tick and the cost of one
  model call alone by the number of tokens it feeds (the floor of a tick that must make
  several calls in a row); for 1, 4 and 16 sessions ticked together, the shared passes
  per frame, the tokens per pass, and the share of a frame's CPU spent inside the model
  passes (the rest is the sessions' walks: drafting, masks, sampling, plans).

``--cases`` picks which of the four to run (all but ``floor`` by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import torch
from websockets.sync.client import connect

import cojam.live.batching as batching
from cojam.configs import from_dict, load_recipe
from cojam.data.tokens import TokenSpec
from cojam.live.batching import extend_together, tick_together
from cojam.live.decoder import DRAFT_TOKENS
from cojam.live.engine import REPLAN_BUDGET, JamSession, JamSettings
from cojam.live.server import create_app, serving_in_background
from cojam.live.warmth import warm_call
from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.row_cache import Forward, forward_alone
from cojam.music.chords import all_chords


def cpu_small_model() -> OnlineModel:
    path, recipe = load_recipe("cpu-small")
    config = from_dict(OnlineConfig, recipe["online"]["model"], f"{path}: online.model")
    torch.manual_seed(0)
    spec = TokenSpec(chords=tuple(c.symbol for c in all_chords()))
    return OnlineModel(spec, config).eval()


def scripted_melody(beats: float, seed: int = 0) -> list[tuple[float, int, int]]:
    """(beat, pitch, is_on) events of a line of eighths and quarters, with rests."""
    generator = torch.Generator().manual_seed(seed)
    events, beat = [], 2.0
    while beat < beats:
        length = 0.5 * int(torch.randint(1, 3, (1,), generator=generator))
        if int(torch.randint(0, 5, (1,), generator=generator)):  # 1 in 5 is a rest
            pitch = 60 + int(torch.randint(0, 13, (1,), generator=generator))
            events += [(beat, pitch, 1), (beat + 0.9 * length, pitch, 0)]
        beat += length
    return sorted(events)


def hear(session: JamSession, events: list[tuple[float, int, int]], beat: float) -> None:
    """Send ``session`` the notes of ``events`` (``scripted_melody``) up to ``beat``,
    taking them off the list."""
    while events and events[0][0] <= beat:
        at, pitch, is_on = events.pop(0)
        (session.note_on if is_on else session.note_off)(pitch, at)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(1000 * pick(0.50), 3), "p99_ms": round(1000 * pick(0.99), 3),
            "mean_ms": round(1000 * statistics.fmean(ordered), 3),
            "max_ms": round(1000 * ordered[-1], 3), "ticks": len(ordered)}


MODES = {  # name -> (reuse_cache, replan_budget, draft_tokens)
    "engine": (True, REPLAN_BUDGET, DRAFT_TOKENS),
    "full-replan": (True, None, DRAFT_TOKENS),
    "one-token": (True, None, 1),
    "recompute": (False, None, 1),
}


def run_session(model: OnlineModel, settings: JamSettings, beats: float, mode: str) -> dict:
    reuse, budget, draft = MODES[mode]
    session = JamSession(model, settings, reuse_cache=reuse, replan_budget=budget,
                         draft_tokens=draft)
    events = scripted_melody(beats)
    latencies, cpu, replans, kept, rebuilds, fed, stale, calls = [], [], 0, 0, 0, [], 0, []
    moves = 0
    extension_cpu: list[float] = []
    for frame in range(int(beats * 4)):
        beat = frame / 4
        hear(session, events, beat)
        started, started_cpu = time.perf_counter(), time.thread_time()
        plan = session.tick(beat)
        latencies.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        started_cpu = time.thread_time()
        session.extend()  # after the answer, as the server does
        extension_cpu.append(time.thread_time() - started_cpu)
        replans += plan.report.replanned_from is not None
        kept += (plan.report.replanned_from is None and not plan.report.prefilled
                 and not plan.report.moved)
        rebuilds += plan.report.prefilled
        moves += plan.report.moved
        fed.append(plan.report.fed)
        calls.append(plan.report.forwards)
        stale += plan.report.stale_frames > 0
    warm = latencies[4:]  # the first ticks allocate and warm up kernels
    cpu_times = {f"cpu_{k}": v for k, v in percentiles(cpu[4:]).items() if k != "ticks"}
    extension = {f"extension_cpu_{k}": v for k, v in percentiles(extension_cpu[4:]).items()
                 if k in ("p50_ms", "p99_ms")}
    return {**percentiles(warm), **cpu_times, **extension, "replanned_ticks": replans,
            "kept_plan_ticks": kept,
            "rebuilt_ticks": rebuilds, "window_moves": moves, "ticks_with_stale_tail": stale,
            "mean_tokens_fed": round(statistics.fmean(fed), 1),
            "mean_model_calls": round(statistics.fmean(calls), 2), "max_model_calls": max(calls)}


def run_concurrent(model: OnlineModel, sessions: int, beats: float, tempo: float,
                   workers: int, batched: bool, stagger: bool = False,
                   warm_ms: float = 0.0) -> dict:
    """``sessions`` sessions ticking every frame at ``tempo``: each alone on ``workers``
    threads, or all of a frame's ticks together (batched). All start on the same frame,
    or with ``stagger`` (batched only) session i starts ``i * 16 // sessions`` frames
    later, spread over a bar, as sessions that did not press Start together are."""
    settings = JamSettings(lookahead=4, commit=2, count_in=2, listen=0, seed=1, tempo=tempo)
    jams = [JamSession(model, JamSettings(**{**settings.__dict__, "seed": i}))
            for i in range(sessions)]
    melodies = [scripted_melody(beats, seed=i) for i in range(sessions)]
    latencies: list[float] = []
    frame_cpu = [0.0] * int(beats * 4)  # CPU time of all sessions' ticks, per frame
    lock = threading.Lock()
    seconds_per_frame = 60 / tempo / 4
    start = time.perf_counter() + 0.1

    def cpu_summary() -> dict:
        cpu = sorted(frame_cpu[4:])
        return {"cpu_per_frame_p50_ms": round(1000 * cpu[len(cpu) // 2], 3),
                "cpu_per_frame_p99_ms": round(1000 * cpu[min(len(cpu) - 1,
                                                             int(0.99 * len(cpu)))], 3)}

    def tick(index: int, frame: int, due: float) -> None:
        hear(jams[index], melodies[index], frame / 4)
        began = time.thread_time()
        jams[index].tick(frame / 4)
        answered = time.perf_counter()
        jams[index].extend()  # after the answer, as the server does
        with lock:
            frame_cpu[frame] += time.thread_time() - began
            if frame >= 4:
                latencies.append(answered - due)

    if batched:
        offsets = [i * 16 // sessions if stagger else 0 for i in range(sessions)]
        frame_cpu += [0.0] * max(offsets)
        scratch = model.new_cache(1)
        for clock in range(int(beats * 4) + max(offsets)):
            due = start + clock * seconds_per_frame
            if warm_ms:
                time.sleep(max(0.0, due - warm_ms / 1000 - time.perf_counter()))
                warm_call(model, scratch)
            time.sleep(max(0.0, due - time.perf_counter()))
            ticking = [(i, clock - offsets[i]) for i in range(sessions)
                       if 0 <= clock - offsets[i] < int(beats * 4)]
            for i, frame in ticking:
                hear(jams[i], melodies[i], frame / 4)

            def finished(k: int, __: object, ticking: list = ticking, due: float = due
                         ) -> None:
                if ticking[k][1] >= 4:
                    latencies.append(time.perf_counter() - due)

            began = time.thread_time()
            tick_together([(jams[i], frame / 4) for i, frame in ticking], finished)
            extend_together([jams[i] for i, _ in ticking])  # after the answers, as the
            frame_cpu[clock] = time.thread_time() - began  # server does
        return {"sessions": sessions, "mode": "batched", "threads": 1, "tempo": tempo,
                "staggered": stagger, "warm_ms": warm_ms, **percentiles(latencies),
                **cpu_summary()}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {i: None for i in range(sessions)}  # a session's ticks run in order
        for frame in range(int(beats * 4)):
            due = start + frame * seconds_per_frame
            time.sleep(max(0.0, due - time.perf_counter()))
            for i in range(sessions):
                previous = pending[i]
                if previous is not None:
                    previous.result()
                pending[i] = pool.submit(tick, i, frame, due)
        for future in pending.values():
            future.result()
    return {"sessions": sessions, "mode": "unbatched", "threads": workers, "tempo": tempo,
            **percentiles(latencies), **cpu_summary()}


def jam_clients(port: int, sessions: int, beats: float, tempo: float) -> list[float]:
    """``sessions`` websocket clients of the server on ``port``, each on its own thread,
    ticking every frame at ``tempo``; the seconds from each tick sent to its plan
    received (from the fifth frame on)."""
    latencies: list[float] = []
    lock = threading.Lock()
    seconds_per_frame = 60 / tempo / 4

    def client(index: int) -> None:
        with connect(f"ws://localhost:{port}/ws") as ws:
            ws.send(json.dumps({"v": 1, "type": "start", "lookahead": 4, "commit": 2,
                                "count_in": 2, "listen": 0, "seed": index, "tempo": tempo}))
            json.loads(ws.recv())
            events = scripted_melody(beats, seed=index)
            start = time.perf_counter()
            for frame in range(int(beats * 4)):
                beat = frame / 4
                time.sleep(max(0.0, start + frame * seconds_per_frame - time.perf_counter()))
                while events and events[0][0] <= beat:
                    at, pitch, is_on = events.pop(0)
                    kind = "note_on" if is_on else "note_off"
                    ws.send(json.dumps({"v": 1, "type": kind, "pitch": pitch, "beat": at}))
                sent = time.perf_counter()
                ws.send(json.dumps({"v": 1, "type": "tick", "beat": beat}))
                json.loads(ws.recv())
                if frame >= 4:
                    with lock:
                        latencies.append(time.perf_counter() - sent)
            ws.send(json.dumps({"v": 1, "type": "stop"}))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def run_round_trip(model: OnlineModel, sessions: int, beats: float, tempo: float,
                   batched: bool, keep_warm: bool = True, clients_apart: bool = True
                   ) -> dict:
    """``sessions`` websocket clients of a real server (``jam_clients``), in a process
    of their own (``clients_apart``, as pages are) or on threads of the server's."""
    app = create_app({"bench": model}, Path(tempfile.mkdtemp()) / "sessions",
                     batching=batched, keep_warm=keep_warm)
    with serving_in_background(app) as port:
        if clients_apart:
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                latencies = pool.submit(jam_clients, port, sessions, beats, tempo).result()
        else:
            latencies = jam_clients(port, sessions, beats, tempo)
    batcher = app.state.hub.batcher
    shared = {"calls_per_pass": round(batcher.calls / max(1, batcher.passes), 2)} if batched \
        else {}
    warmer = app.state.hub.warmer
    return {"sessions": sessions, "mode": "batched" if batched else "unbatched",
            "tempo": tempo, "clients": "own process" if clients_apart else "server's process",
            "warm_calls": warmer.calls if warmer is not None else None,
            **percentiles(latencies), **shared}


def run_floor(model: OnlineModel, beats: float) -> dict:
    """Model calls per tick and the CPU of one call (one session), and the model passes'
    share of a frame's CPU (sessions ticked together); see the module docstring."""
    settings = JamSettings(lookahead=4, commit=2, count_in=2, listen=0)
    ticks, calls, extension_calls = [], [], []
    for seed in range(4):
        session = JamSession(model, JamSettings(**{**settings.__dict__, "seed": seed}))
        events = scripted_melody(beats, seed=seed)
        for frame in range(int(beats * 4)):
            hear(session, events, frame / 4)
            began = time.thread_time()
            plan = session.tick(frame / 4)
            answered = time.thread_time()
            session.extend()
            if frame >= 4:
                ticks.append(answered - began)
                calls.append(plan.report.forwards)
                extension_calls.append(session.decoder.calls - plan.report.forwards)
    cache = model.new_cache(1)
    forward_alone(model, Forward(cache, [model.spec.melody_silence] * 200))

    def one_call(tokens: int) -> float:
        samples = []
        for _ in range(100):
            cache.length = 200
            began = time.thread_time()
            forward_alone(model, Forward(cache, [model.spec.melody_silence] * tokens))
            samples.append(time.thread_time() - began)
        return round(1000 * statistics.median(samples), 3)

    ordered, after = sorted(calls), sorted(extension_calls)
    alone = {"tick_cpu": percentiles(ticks),
             "calls_per_tick_p50": ordered[len(ordered) // 2],
             "calls_per_tick_p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
             "calls_per_tick_max": ordered[-1],
             "calls_after_answer_p50": after[len(after) // 2],
             "calls_after_answer_max": after[-1],
             "one_call_cpu_ms_by_tokens": {n: one_call(n) for n in (1, 2, 8, 25)}}
    together = []
    served = batching.forward_together
    for sessions in (1, 4, 16):
        passes: list[tuple[int, float]] = []

        def timed(model: OnlineModel, requests: list[Forward],
                  passes: list = passes) -> list[torch.Tensor]:
            began = time.thread_time()
            logits = served(model, requests)
            passes.append((sum(len(r.tokens) for r in requests), time.thread_time() - began))
            return logits

        jams = [JamSession(model, JamSettings(**{**settings.__dict__, "seed": i}))
                for i in range(sessions)]
        melodies = [scripted_melody(beats, seed=i) for i in range(sessions)]
        frame_cpu = 0.0
        batching.forward_together = timed
        try:
            for frame in range(int(beats * 4)):
                for jam, events in zip(jams, melodies, strict=True):
                    hear(jam, events, frame / 4)
                began = time.thread_time()
                tick_together([(jam, frame / 4) for jam in jams])
                extend_together(jams)
                frame_cpu += time.thread_time() - began
        finally:
            batching.forward_together = served
        tokens = sorted(n for n, _ in passes)
        together.append({
            "sessions": sessions, "passes_per_frame": round(len(passes) / (beats * 4), 2),
            "tokens_per_pass_p50": tokens[len(tokens) // 2], "tokens_per_pass_max": tokens[-1],
            "cpu_per_frame_mean_ms": round(1000 * frame_cpu / (beats * 4), 3),
            "model_share_of_frame_cpu": round(sum(s for _, s in passes) / frame_cpu, 3)})
    return {"one_session": alone, "together": together}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a run directory (default: random cpu-small)")
    parser.add_argument("--bundled", action="store_true", help="the bundled model")
    parser.add_argument("--beats", type=float, default=64, help="session length in beats")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--concurrent-beats", type=float, default=16,
                        help="length of the concurrent runs in beats (at 120 BPM)")
    parser.add_argument("--cases", default="single,concurrent,round_trip",  # floor: opt-in
                        help="comma-separated cases to run")
    parser.add_argument("--stagger", action="store_true",
                        help="concurrent batched sessions start spread over a bar instead of "
                             "on the same frame")
    parser.add_argument("--warm-ms", type=float, default=0.0,
                        help="batched concurrent case: one model call on one token this many "
                             "ms before each frame is due (keeps the weights in cache)")
    parser.add_argument("--no-keep-warm", action="store_true",
                        help="round-trip case: the server does not warm the model before "
                             "ticks (cojam.live.warmth)")
    parser.add_argument("--clients-in-server", action="store_true",
                        help="round-trip case: the clients run on threads of the server's "
                             "process (sharing its interpreter) instead of a process of "
                             "their own")
    parser.add_argument("--sessions", default="1,4,16,32",
                        help="comma-separated session counts of the concurrent and round-trip "
                             "cases")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    torch.set_num_threads(args.threads)
    if args.bundled:
        args.model = bundled_model_dir()
    model = load_model(args.model).eval() if args.model else cpu_small_model()
    parameters = sum(p.numel() for p in model.parameters())
    results: dict = {
        "model": "bundled" if args.bundled else str(args.model) if args.model
        else "random cpu-small",
        "parameters": parameters, "torch_threads": args.threads, "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(), "beats": args.beats,
        "load_average": os.getloadavg()[0], "replan_budget": REPLAN_BUDGET,
        "draft_tokens": DRAFT_TOKENS,
        "single": [], "concurrent": [], "round_trip": [],
    }
    if "floor" in cases:
        results["floor"] = run_floor(model, args.concurrent_beats)
    for lookahead in (4, 8) if "single" in cases else ():
        for mode in MODES:
            settings = JamSettings(lookahead=lookahead, commit=2, count_in=2, listen=0, seed=0)
            case = run_session(model, settings, args.beats, mode)
            results["single"].append({"lookahead": lookahead, "commit": 2, "mode": mode,
                                      **case})
    workers = os.cpu_count() or 1
    for sessions in (int(n) for n in args.sessions.split(",")):
        for batched in (False, True):
            if "concurrent" in cases:
                if args.stagger and not batched:
                    continue
                results["concurrent"].append(run_concurrent(
                    model, sessions, args.concurrent_beats, 120.0, workers, batched,
                    args.stagger, args.warm_ms))
            if "round_trip" in cases:
                results["round_trip"].append(run_round_trip(
                    model, sessions, args.concurrent_beats, 120.0, batched,
                    not args.no_keep_warm, not args.clients_in_server))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
