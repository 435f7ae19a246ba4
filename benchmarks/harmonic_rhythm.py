"""Harmonic rhythm, temperature and listening, measured: what the live engine commits under
held-out melodies for each harmonic rhythm setting and sampling temperature. Prints JSON.

    python benchmarks/harmonic_rhythm.py [--model RUN] [--tunes 12] [--beats 64] [--seeds 2]
        [--rhythms free,beat,half-bar,bar] [--temperatures 1.0] [--commit 4]

Melodies: the first ``--tunes`` tunes in 2/4, 3/4 or 4/4 of the Essen collection's test
files (``cojam.data.essen.TEST_FILES``, read with music21: the files no training step
sees, the RL rollouts' folk tunes included), each played from its start for at most
``--beats`` beats after a one-bar count-in, ticking every frame with lookahead 8, listen
8 and ``--commit`` beats committed (the page's default is 4) for every pair of
``--rhythms`` and ``--temperatures``. Per pair, over the frames after the listening (the
frames the model may play):

- ``note_in_chord``: fraction of sounding melody frames whose pitch class is in the
  committed chord (no chord counts as outside), as in the evaluation reports;
- ``clashes``: fraction of sounding melody frames whose chord holds a pitch class a
  semitone from the melody's, as in the evaluation reports;
- ``in_key``: fraction of committed chord attacks whose notes all lie in the key of the
  tune's whole melody, as the evaluation's "in key";
- ``changes_per_bar``: committed chord attacks per bar;
- ``no_chord``: fraction of frames with no chord;
- ``distinct_chords``: mean number of distinct chord symbols per tune;
- ``note_in_chord_interval``, ``in_key_interval``: 95% bootstrap intervals over tunes (each
  tune's seeds averaged first).

``scale``: a C-major scale (up and down two octaves, quarter notes) played the same way;
every committed chord attack in order, with the beat it starts on, per pair.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import music21
import numpy as np
import torch

from cojam.data import essen
from cojam.eval.metrics import chords_in_key
from cojam.eval.reference_systems import whole_melody_key
from cojam.eval.stats import bootstrap_interval
from cojam.live.engine import JamSession, JamSettings
from cojam.live.harmonic_rhythm import RHYTHMS
from cojam.live.plan import chord_symbol
from cojam.models.bundled import bundled_model_dir
from cojam.models.checkpoint import load_model
from cojam.models.online import OnlineModel
from cojam.rewards.frames import frame_view
from cojam.rewards.rules import clashes, note_in_chord

Notes = list[tuple[int, float, float]]  # (pitch, onset beat, end beat)
INTERVALS = ("note_in_chord", "in_key")  # with a 95% bootstrap interval over tunes


def folk_melodies(count: int, beats: float) -> list[tuple[str, Notes, int]]:
    """(tune id, notes cut at ``beats``, beats per bar) of the first ``count`` tunes in
    2/4, 3/4 or 4/4 of the Essen collection's test files (melodies without chords, so
    read with music21 directly; a pickup is padded to a full bar)."""
    tunes = []
    for name in (file.removesuffix(".abc") for file in essen.TEST_FILES):
        for score in music21.corpus.parse(f"essenFolksong/{name}").scores:
            signature = score.recurse().getElementsByClass("TimeSignature").first()
            if signature is None or signature.ratioString not in ("2/4", "3/4", "4/4"):
                continue
            first_bar = score.recurse().getElementsByClass("Measure").first()
            pad = float(first_bar.paddingLeft) if first_bar is not None else 0.0
            notes = [(n.pitch.midi, float(n.offset) + pad, float(n.offset + n.quarterLength) + pad)
                     for n in score.flatten().notes if n.isNote]
            notes = [(p, on, min(off, beats)) for p, on, off in notes if on < beats]
            if notes:
                tunes.append((f"{name}#{score.metadata.number}", notes, signature.numerator))
            if len(tunes) == count:
                return tunes
    return tunes


def c_major_scale() -> Notes:
    steps = [0, 2, 4, 5, 7, 9, 11]
    up = [60 + 12 * (i // 7) + steps[i % 7] for i in range(15)]
    pitches = up + up[-2::-1]
    return [(pitch, float(i), i + 0.9) for i, pitch in enumerate(pitches)]


def play(model: OnlineModel, notes: Notes, settings: JamSettings) -> JamSession:
    """Tick every frame through the notes (shifted past the count-in) and 2 beats more."""
    shift = settings.count_in
    events = sorted([(on + shift, 1, p) for p, on, _ in notes]
                    + [(off + shift, 0, p) for p, _, off in notes])
    end = max(off for _, _, off in notes) + shift + 2
    session = JamSession(model, settings)
    for frame in range(int(end * 4) + 1):
        beat = frame / 4
        while events and events[0][0] <= beat:
            at, is_on, pitch = events.pop(0)
            (session.note_on if is_on else session.note_off)(pitch, at)
        session.tick(beat)
    return session


def measure(session: JamSession) -> dict[str, float]:
    spec = session.spec
    start = session.listen_end or len(session.chords)
    frames = min(len(session.chords), len(session.real))
    chords = np.array(session.chords[start:frames])
    view = frame_view(np.array(session.real[start:frames]), chords, spec)
    bars = (frames - start) / session.bar_frames
    symbols = {chord_symbol(spec, int(token)) for token in chords} - {"N"}
    key = whole_melody_key(np.array(session.real[:frames]), spec)
    return {"note_in_chord": note_in_chord(view), "clashes": clashes(view),
            "in_key": chords_in_key(view, None if key is None else key.scale),
            "changes_per_bar": float(view.chord_onset.sum() / bars) if bars else 0.0,
            "no_chord": float((chords == spec.chord_silence).mean()),
            "distinct_chords": len(symbols)}


def attacks(session: JamSession) -> list[list]:
    spec, step = session.spec, 1 / session.spec.frames_per_beat
    return [[chord_symbol(spec, token), frame * step]
            for frame, token in enumerate(session.chords)
            if spec.chord_token_info(token)[0] == "on"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a run directory (default: the bundled model)")
    parser.add_argument("--tunes", type=int, default=12)
    parser.add_argument("--beats", type=float, default=64)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rhythms", default=",".join(RHYTHMS),
                        help="comma-separated harmonic rhythms")
    parser.add_argument("--temperatures", default="1.0",
                        help="comma-separated sampling temperatures")
    parser.add_argument("--commit", type=int, default=4,
                        help="beats committed ahead (the page's default: 4)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the server runs sessions
    model = load_model(args.model or bundled_model_dir()).eval()
    tunes = folk_melodies(args.tunes, args.beats)
    results: dict = {"model": str(args.model) if args.model else "bundled",
                     "tunes": [tune_id for tune_id, _, _ in tunes], "beats": args.beats,
                     "seeds": args.seeds, "settings": {}, "folk": {}, "scale": {}}
    base = JamSettings(count_in=4, listen=8, lookahead=8, commit=args.commit)
    results["settings"] = {k: v for k, v in base.__dict__.items()
                           if k not in ("seed", "harmonic_rhythm", "temperature")}
    for temperature in (float(t) for t in args.temperatures.split(",")):
        for rhythm in args.rhythms.split(","):
            name = rhythm if temperature == base.temperature else f"{rhythm} T={temperature}"
            setting = {**base.__dict__, "harmonic_rhythm": rhythm, "temperature": temperature}
            rows = [measure(play(model, notes, JamSettings(**{
                        **setting, "seed": seed, "beats_per_bar": per_bar,
                        "count_in": per_bar})))
                    for _, notes, per_bar in tunes for seed in range(args.seeds)]
            results["folk"][name] = {
                key: round(statistics.fmean(row[key] for row in rows), 3) for key in rows[0]}
            for key in INTERVALS:  # seeds averaged per tune, tunes resampled
                per_tune = np.array([row[key] for row in rows]).reshape(len(tunes), -1)
                _, low, high = bootstrap_interval(np.nanmean(per_tune, axis=1))
                results["folk"][name][f"{key}_interval"] = [round(low, 3), round(high, 3)]
            results["scale"][name] = attacks(play(model, c_major_scale(),
                                                  JamSettings(**setting)))
            print(json.dumps({name: results["folk"][name]}), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
