"""A simulated musician: the melody agent jams through protocol v1 with a hidden taste.

So that learning from sessions works, and is tested, without people, a melody agent plays
the musician's part over a real websocket against the real jam server, and its sessions
are logged by the server exactly as a person's are. It plays beat by beat, as fast as the
server answers (faster than real time; the server serves such a clock after the real-time
sessions, and the client keeps within the protocol's message rate):

1. ``tick`` at beat b, and wait for its ``plan``: with ``commit`` >= 1 the chords of beat
   b to b + 1 are committed, so the musician knows what will sound under its next notes;
2. the agent plays the four frames of that beat, hearing each frame's committed chord
   after it chose its note, as the melody agent always does; while a chord it likes
   sounds it leans towards that chord's tones (``Preference.follow_bias``: it follows the
   AI), otherwise it plays as the agent would;
3. its note events (and a mark, sometimes) are sent before the tick that passes them.

Its hidden preference (``Preference``, drawn per musician by ``draw_preference``): a set
of chord qualities it likes. A chord it does not like, and a note of its own that clashes
with the chord under it (a semitone from a chord tone), annoy it; annoyance fades each
beat, and past its patience the musician stops the jam. It marks a liked chord's onset
good, and a clash bad, now and then, stamping the mark with the beat of what it marks
(no reaction time: learn from its logs with ``cojam learn --mark-delay 0``). None of
this is in the log but its effects: what it played, when it stopped, its marks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from websockets.sync.client import connect

from cojam.data.tokens import FRAMES_PER_BEAT, TokenError
from cojam.live.protocol import MESSAGE_BURST, MESSAGES_PER_SECOND, RateLimit
from cojam.live.server import create_app, serving_in_background
from cojam.models.decoding import hear, listen, start_voice
from cojam.models.online import OnlineModel
from cojam.models.sampling import allowed_mask, sample_tokens
from cojam.music.chords import QUALITY_NAMES, Chord, parse_chord

# how likely a musician of the population is to like each chord quality: plain triads
# mostly, colours sometimes, tense chords rarely
LIKING = {"maj": 0.85, "min": 0.75, "sus2": 0.3, "sus4": 0.3, "7": 0.35, "maj7": 0.25,
          "m7": 0.35, "6": 0.3, "m6": 0.2, "dim": 0.1, "aug": 0.05, "m7b5": 0.1,
          "dim7": 0.1}
assert set(LIKING) == set(QUALITY_NAMES)
MUSICIANS = "musicians.jsonl"


@dataclass(frozen=True)
class Preference:
    """A simulated musician's hidden taste."""

    liked: frozenset[str]
    """chord qualities it likes (``maj``, ``min``, ``7``...)"""
    follow_bias: float = 3.0
    """added to the logits of the liked chord's tones when it starts a note"""
    patience: float = 4.0
    """annoyance it stops past: a disliked chord onset adds 1, a clash 1, and annoyance
    fades by ``fade`` each beat"""
    fade: float = 0.6
    """the share of annoyance left after a beat"""
    mark_rate: float = 0.5
    """chance of marking a liked chord's onset good, or a clash bad"""


def draw_preference(seed: int) -> Preference:
    """One musician of the population: each quality liked with its ``LIKING`` chance."""
    rng = np.random.default_rng(seed)
    return Preference(frozenset(q for q in QUALITY_NAMES if rng.random() < LIKING[q]))


@dataclass(frozen=True)
class JamRequest:
    """One simulated session: who plays, against which model, how long."""

    seed: int
    """seeds the musician's preference (unless given), its notes and the server's sampling"""
    model: str = "default"
    """the accompanist the server plays (a name of ``ready.models``)"""
    beats: int = 32
    """beats the musician plays after the count-in, unless it stops sooner"""
    preference: Preference | None = None
    settings: dict[str, Any] = field(default_factory=lambda: {
        "tempo": 120, "beats_per_bar": 4, "lookahead": 4, "commit": 1, "count_in": 4,
        "listen": 4, "harmonic_rhythm": "beat", "temperature": 1.0})
    """the start message's settings (``commit`` must be at least 1)"""


class _Paced:
    """A socket that never sends faster than the server's rate limit allows."""

    def __init__(self, socket: Any):
        self.socket = socket
        self.bucket = RateLimit(MESSAGES_PER_SECOND * 0.9, MESSAGE_BURST * 0.9)

    def send(self, message: dict[str, Any]) -> None:
        while not self.bucket.allow(time.monotonic()):
            time.sleep(0.005)
        self.socket.send(_json(message))

    def receive(self) -> dict[str, Any]:
        return json.loads(self.socket.recv(timeout=60))


def _json(message: dict[str, Any]) -> str:
    return json.dumps({"v": 1, **message}, separators=(",", ":"))


def _chords_of_beat(plan: dict[str, Any], beat: int) -> list[tuple[Chord | None, bool]]:
    """(chord or None for ``N``, starts here) for each frame of beat ``beat`` to ``beat + 1``."""
    out = []
    for frame in range(beat * FRAMES_PER_BEAT, (beat + 1) * FRAMES_PER_BEAT):
        at = frame / FRAMES_PER_BEAT
        sounding = [c for c in plan["chords"] if c["onset"] <= at < c["onset"] + c["duration"]]
        if not sounding or not sounding[0]["committed"]:
            raise RuntimeError(f"plan at beat {plan['beat']} commits no chord at beat {at}")
        chord = sounding[0]
        out.append((parse_chord(chord["symbol"]), abs(chord["onset"] - at) < 1e-9))
    return out


@torch.no_grad()
def play_session(port: int, agent: OnlineModel, request: JamRequest,
                 temperature: float = 1.0) -> dict[str, Any]:
    """Jam one session with the server on ``port``; returns what the musician knows about
    it (the session id, why it ended, its preference), the log being the server's."""
    preference = request.preference or draw_preference(request.seed)
    spec = agent.spec
    rng = np.random.default_rng(request.seed + 7919)
    generator = torch.Generator().manual_seed(request.seed)
    count_in = request.settings["count_in"]
    total = count_in + request.beats
    voice = start_voice(agent, 1, request.beats * FRAMES_PER_BEAT)
    with connect(f"ws://127.0.0.1:{port}/ws", max_size=None, open_timeout=30) as socket:
        paced = _Paced(socket)
        paced.send({"type": "start", **request.settings, "model": request.model,
                    "seed": request.seed})
        ready = paced.receive()
        if ready.get("type") != "ready":
            raise RuntimeError(f"the server refused the session: {ready}")
        sounding: int | None = None  # the pitch held
        annoyance, reason = 0.0, "finished"
        for beat in range(total):
            paced.send({"type": "tick", "beat": float(beat)})
            plan = paced.receive()
            if plan.get("type") != "plan":
                raise RuntimeError(f"tick {beat} answered by {plan}")
            if beat < count_in:
                continue
            annoyance *= preference.fade
            mark = None
            for index, (chord, onset) in enumerate(_chords_of_beat(plan, beat)):
                at = beat + index / FRAMES_PER_BEAT
                liked = chord is not None and chord.quality in preference.liked
                if onset and chord is not None:
                    if liked and rng.random() < preference.mark_rate:
                        mark = mark or ("good", at)
                    annoyance += 0.0 if liked else 1.0
                listen(voice)
                logits = voice.logits.clone()  # (1, V)
                if liked:
                    for pc in chord.pitch_classes:
                        pitches = range(spec.min_pitch + (pc - spec.min_pitch) % 12,
                                        spec.max_pitch + 1, 12)
                        logits[0, [spec.melody_on(p) for p in pitches]] += preference.follow_bias
                allowed = allowed_mask(spec, "melody", voice.previous)
                token = sample_tokens(logits, allowed, temperature, 0, 1.0, generator)
                kind, pitch = spec.melody_token_info(int(token))
                if kind != "hold" and sounding is not None:
                    paced.send({"type": "note_off", "pitch": sounding, "beat": at})
                    sounding = None
                if kind == "on":
                    paced.send({"type": "note_on", "pitch": pitch, "beat": at})
                    sounding = pitch
                    if chord is not None and clashes(pitch, chord):
                        annoyance += 1.0
                        if rng.random() < preference.mark_rate:
                            mark = ("bad", at)
                hear(voice, token, torch.tensor([_chord_token(spec, chord, onset)]))
            if mark is not None:
                paced.send({"type": "feedback", "value": mark[0], "beat": mark[1]})
            if annoyance > preference.patience:
                reason = "annoyed"
                break
        paced.send({"type": "tick", "beat": float(beat + 1)})
        paced.receive()
        if sounding is not None:
            paced.send({"type": "note_off", "pitch": sounding, "beat": float(beat + 1)})
        paced.send({"type": "stop"})
        while paced.receive().get("type") != "stopped":
            pass
    return {"session": ready["session"], "reason": reason, "beats": beat + 1,
            "liked": sorted(preference.liked), "seed": request.seed, "model": request.model}


def clashes(pitch: int, chord: Chord) -> bool:
    """A note out of the chord a semitone from one of its tones (F over C major; D, a
    tone from C and E, only passes)."""
    pcs = chord.pitch_classes
    pc = pitch % 12
    return pc not in pcs and ((pc + 1) % 12 in pcs or (pc - 1) % 12 in pcs)


def _chord_token(spec: Any, chord: Chord | None, onset: bool) -> int:
    """The agent's token for the chord it heard (silence for one outside its vocabulary)."""
    if chord is None:
        return spec.chord_silence
    try:
        return spec.chord_on(chord) if onset else spec.chord_hold(chord)
    except TokenError:
        return spec.chord_silence


def simulate_sessions(models: dict[str, OnlineModel], agent: OnlineModel,
                      sessions_dir: Path, requests: list[JamRequest],
                      log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Serve ``models`` on a loopback port, logging to ``sessions_dir``, and play each
    request in turn; what each musician knows of its session is appended to
    ``sessions_dir/musicians.jsonl`` (not a session log: readers of logs skip it)."""
    sessions_dir = Path(sessions_dir)
    sessions_dir.mkdir(parents=True, exist_ok=True)
    results = []
    with serving_in_background(create_app(models, sessions_dir)) as port, \
            (sessions_dir / MUSICIANS).open("a") as index:
        for number, request in enumerate(requests, start=1):
            results.append(play_session(port, agent, request))
            index.write(json.dumps(results[-1]) + "\n")
            index.flush()
            if number % 20 == 0 or number == len(requests):
                log(f"simulated {number}/{len(requests)} sessions")
    return results
