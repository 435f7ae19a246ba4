"""Live server under flood: an honest session's tick -> plan round trip, alone and while
other clients abuse the server. Prints JSON.

    python benchmarks/live_flood.py [--repeats 3] [--beats 24] [--greedy 4]

The server is ``cojam jam`` with the bundled model, run as its own process (a fresh one
for every run), and every client is a process of its own, as a page or a script on
another machine would be. The honest client plays a tune at 120 BPM with the page's
defaults, ticking every sixteenth; it sends a tick when it is due (or, when the answer to
the last one came later than that, as soon as it came), and times each tick until its
answer (a ``plan``, or an ``error`` naming the tick). Conditions:

- ``alone``: nobody else is connected;
- ``garbage``: one client sends hostile messages (malformed JSON, 60 kB junk, deep
  nesting, 4,000-digit integers, binary frames, unknown types) as fast as it can, reads
  what comes back, and reconnects whenever the server closes it;
- ``greedy``: ``--greedy`` clients each start a session and send valid ticks 16 beats
  apart, as fast as the rate limit lets them (85 a second, and a note every 10th tick),
  reading every answer.

The machine is shared and noisy, so the three conditions run interleaved (their order
rotating), ``--repeats`` times each; the summary gives each condition's median over runs
of its p50 and p99, and the ratio of a flooded median to the ``alone`` one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

TEMPO = 120.0
# Ode to Joy, in quarter notes (a half note where the phrase breathes), from beat 0
TUNE = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, (64, 1.5), (62, 0.5), (62, 2),
        64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, (62, 1.5), (60, 0.5), (60, 2)]
START = {"v": 1, "type": "start", "tempo": TEMPO, "lookahead": 8, "commit": 2,
         "count_in": 4, "listen": 4, "seed": 0}


def tune_events(first_beat: float, beats: float) -> list[tuple[float, str, int]]:
    """(beat, note_on/note_off, pitch) of the tune, repeated from ``first_beat``."""
    events, beat = [], first_beat
    while beat < beats:
        for note in TUNE:
            pitch, length = (note, 1.0) if isinstance(note, int) else note
            if beat >= beats:
                break
            events += [(beat, "note_on", pitch), (beat + 0.9 * length, "note_off", pitch)]
            beat += length
    return sorted(events)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, sessions_dir: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", "import sys; from cojam.cli.main import main; "
               "sys.exit(main(sys.argv[1:]))", "jam", "--port", str(port), "--no-browser",
               "--sessions-dir", str(sessions_dir)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://localhost:{port}/api/models", timeout=1).read()
            return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"the jam server exited: {server.stderr.read().decode()}"
                                   ) from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the jam server did not start within 60 s")


# ------------------------------------------------------------------ the honest client

def honest(port: int, beats: float, results: multiprocessing.Queue) -> None:
    """Play the tune in real time; put (round trips in seconds, counts) on ``results``."""
    round_trips, compute = [], []
    counts = {"ticks": 0, "plans": 0, "tick_errors": 0, "other_errors": 0, "late_ticks": 0,
              "closed": None}
    try:
        _play(port, beats, round_trips, compute, counts)
    except ConnectionClosed as e:  # starved until the server gave up on it
        counts["closed"] = str(e)
    results.put((round_trips, compute, counts))


def _play(port: int, beats: float, round_trips: list[float], compute: list[float],
          counts: dict) -> None:
    with connect(f"ws://localhost:{port}/ws", max_size=None, open_timeout=30) as ws:
        ws.send(json.dumps(START))
        ready = json.loads(ws.recv(timeout=30))
        assert ready["type"] == "ready", ready
        events = tune_events(START["count_in"], beats)
        started = time.perf_counter()
        seconds_per_frame = 60 / TEMPO / 4
        for frame in range(int(beats * 4)):
            beat = frame / 4
            delay = started + frame * seconds_per_frame - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                counts["late_ticks"] += 1
            while events and events[0][0] <= beat:
                at, kind, pitch = events.pop(0)
                ws.send(json.dumps({"v": 1, "type": kind, "pitch": pitch, "beat": at}))
            sent = time.perf_counter()
            ws.send(json.dumps({"v": 1, "type": "tick", "beat": beat}))
            counts["ticks"] += 1
            while True:
                answer = json.loads(ws.recv(timeout=120))
                if answer["type"] == "plan":
                    counts["plans"] += 1
                    if frame >= 4:
                        compute.append(answer["compute_ms"] / 1000)
                    break
                if answer["type"] == "error" and answer.get("ref") == "tick":
                    counts["tick_errors"] += 1
                    break
                counts["other_errors"] += 1
            if frame >= 4:  # the first ticks warm the session up
                round_trips.append(time.perf_counter() - sent)
        ws.send(json.dumps({"v": 1, "type": "stop"}))


# ------------------------------------------------------------------------ abusers

def garbage_messages() -> list[str | bytes]:
    junk = "x" * 60_000
    return [
        "{not json", '{"v": 1, "type": "tick", "beat": ' + "9" * 4000 + "}",
        json.dumps({"v": 1, "type": "tick", "junk": junk}),
        json.dumps({"v": junk, "type": "tick"}),
        "[" * 499 + "]" * 499, '{"v": 1, "type": "dance"}', b"\x00\x01binary",
        json.dumps({"v": 1, "type": "note_on", "pitch": 200, "beat": 1}),
        json.dumps({"v": 1, "type": "tick", "beat": -1}), "null", "",
    ]


async def _flood_one_socket(port: int, send_next, counts: dict) -> None:
    async with async_connect(f"ws://localhost:{port}/ws", max_size=None,
                             open_timeout=30) as ws:
        counts["connections"] += 1

        async def drain() -> None:
            async for _ in ws:
                counts["answers"] += 1

        reader = asyncio.create_task(drain())
        try:
            await send_next(ws)
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()


async def _abuse(port: int, send_next, counts: dict) -> None:
    while True:
        try:
            await _flood_one_socket(port, send_next, counts)
        except (TimeoutError, ConnectionClosed, InvalidHandshake, InvalidStatus, OSError):
            counts["refused"] += 1
            await asyncio.sleep(0.05)


def garbage(port: int) -> None:
    """Send hostile messages as fast as the socket takes them, reconnecting when closed."""
    messages = garbage_messages()
    counts = {"connections": 0, "answers": 0, "refused": 0}

    async def send_next(ws) -> None:
        i = 0
        while True:
            await ws.send(messages[i % len(messages)])
            i += 1

    asyncio.run(_abuse(port, send_next, counts))


def greedy(port: int, seed: int) -> None:
    """A valid session that ticks 16 beats further 85 times a second and plays a new
    note every 10th tick (94 messages a second, just under the rate limit), reading
    every answer."""
    counts = {"connections": 0, "answers": 0, "refused": 0}

    async def send_next(ws) -> None:
        await ws.send(json.dumps({**START, "seed": seed, "listen": 0}))
        beat, started = 0.0, time.perf_counter()
        for n in range(10**9):
            await asyncio.sleep(max(0.0, started + n / 85 - time.perf_counter()))
            if n % 10 == 0:
                await ws.send(json.dumps({"v": 1, "type": "note_on", "pitch": 60 + n % 12,
                                          "beat": beat}))
            beat += 16
            await ws.send(json.dumps({"v": 1, "type": "tick", "beat": beat}))
            if beat > 90_000:
                return

    asyncio.run(_abuse(port, send_next, counts))


# ---------------------------------------------------------------------------- runs

def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_condition(condition: str, beats: float, greedy_clients: int) -> dict:
    port = free_port()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(port, Path(folder) / "sessions")
        abusers = []
        try:
            if condition == "garbage":
                abusers = [context.Process(target=garbage, args=(port,), daemon=True)]
            elif condition == "greedy":
                abusers = [context.Process(target=greedy, args=(port, i), daemon=True)
                           for i in range(greedy_clients)]
            for process in abusers:
                process.start()
            time.sleep(2.0 if abusers else 0.5)  # let the flood reach full speed
            results = context.Queue()
            player = context.Process(target=honest, args=(port, beats, results))
            player.start()
            round_trips, compute, counts = results.get(timeout=beats * 60 / TEMPO + 600)
            player.join()
        finally:
            for process in abusers:
                process.terminate()
            for process in abusers:
                process.join()
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:  # still answering the abusers: no matter
                server.kill()
                server.wait()
    return {"condition": condition, "p50_ms": round(1000 * percentile(round_trips, 0.5), 2),
            "p99_ms": round(1000 * percentile(round_trips, 0.99), 2),
            "max_ms": round(1000 * max(round_trips), 2),
            "mean_ms": round(1000 * statistics.fmean(round_trips), 2),
            "compute_p50_ms": round(1000 * percentile(compute, 0.5), 2),
            "compute_p99_ms": round(1000 * percentile(compute, 0.99), 2),
            "load_average": os.getloadavg()[0], **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each condition")
    parser.add_argument("--beats", type=float, default=24,
                        help="length of the honest session in beats (at 120 BPM)")
    parser.add_argument("--greedy", type=int, default=4, help="greedy clients")
    parser.add_argument("--conditions", default="alone,garbage,greedy")
    args = parser.parse_args()
    conditions = args.conditions.split(",")
    runs = []
    for repeat in range(args.repeats):
        shift = repeat % len(conditions)  # rotate the order: no condition always goes first
        for condition in conditions[shift:] + conditions[:shift]:
            runs.append({"repeat": repeat, **run_condition(condition, args.beats,
                                                           args.greedy)})
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    summary = {}
    for condition in conditions:
        mine = [r for r in runs if r["condition"] == condition]
        summary[condition] = {
            "runs": len(mine),
            "median_p50_ms": statistics.median(r["p50_ms"] for r in mine),
            "median_p99_ms": statistics.median(r["p99_ms"] for r in mine),
            "plans_per_tick": round(sum(r["plans"] for r in mine)
                                    / max(1, sum(r["ticks"] for r in mine)), 3),
        }
    if "alone" in summary:
        alone = summary["alone"]
        for condition in conditions:
            summary[condition]["p99_ratio_to_alone"] = round(
                summary[condition]["median_p99_ms"] / alone["median_p99_ms"], 2)
            summary[condition]["p50_ratio_to_alone"] = round(
                summary[condition]["median_p50_ms"] / alone["median_p50_ms"], 2)
    print(json.dumps({"tempo": TEMPO, "beats": args.beats, "greedy_clients": args.greedy,
                      "cpus": os.cpu_count(), "start": START, "summary": summary,
                      "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
