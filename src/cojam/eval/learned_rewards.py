"""Learned reward models in the evaluation: every system scored by every reward.

A reward is any callable ``score(melody (B, T), chords (B, T), mask (B, T)) -> (B,)``
(the one signature of ``cojam.rewards``); ``--reward PATH`` loads a reward run directory
or an ensemble file with ``cojam.rewards.ensemble.load_reward`` (scores normalised so
that 0 is a typical real pair of the validation split). Scoring every system with every reward, the
references included, is what makes reward hacking visible: a policy whose reward rises
over the MLE model's while harmony or diversity falls (below both the MLE model's and
the data's) is exploiting the reward model, not playing better (``flag_reward_hacking``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from cojam.data.tokens import PAD, TokenSpec
from cojam.eval.pieces import Piece
from cojam.rewards.ensemble import RewardFn

REFERENCE = "mle"
DATA = "ground_truth"  # the data's own chords: the variety a policy should keep
QUALITY = ("harmony", "vendi", "vendi_relative")  # a fall in any of these is suspicious


def reward_name(path: Path) -> str:
    """A reward column's name: the run directory's name, or an ensemble file's stem."""
    path = Path(path).resolve()
    return path.stem if path.is_file() else path.name


def check_reward_vocabulary(path: Path, spec: TokenSpec) -> None:
    """Raise unless every reward run behind ``path`` (a run directory or an ensemble file)
    was trained on ``spec``: token ids mean nothing under another vocabulary."""
    path = Path(path)
    if path.is_file():
        runs = [path.parent / m["run"] for m in json.loads(path.read_text())["members"]]
    else:
        runs = [path]
    for run in runs:
        config = Path(run) / "config.json"
        if not config.is_file():
            raise FileNotFoundError(f"{run} is not a reward run directory (no config.json)")
        if TokenSpec.from_dict(json.loads(config.read_text())["spec"]) != spec:
            raise ValueError(f"reward run {run} was trained on another token vocabulary "
                             "than the data's vocab.json")


@torch.no_grad()
def reward_scores(
    reward: RewardFn,
    pieces: Sequence[Piece],
    outputs: Sequence[np.ndarray],
    batch_size: int = 32,
) -> np.ndarray:
    """(pieces,) reward of each (melody, output) pair, batched and padded with a mask."""
    scores = []
    for start in range(0, len(pieces), batch_size):
        batch = range(start, min(start + batch_size, len(pieces)))
        length = max(pieces[i].num_frames for i in batch)
        melody = torch.full((len(batch), length), PAD, dtype=torch.long)  # (B, T)
        chords = torch.full((len(batch), length), PAD, dtype=torch.long)  # (B, T)
        mask = torch.zeros((len(batch), length), dtype=torch.bool)  # (B, T)
        for row, i in enumerate(batch):
            n = pieces[i].num_frames
            melody[row, :n] = torch.from_numpy(pieces[i].melody)
            chords[row, :n] = torch.from_numpy(np.asarray(outputs[i]))
            mask[row, :n] = True
        scores.append(torch.as_tensor(reward(melody, chords, mask)).float().cpu().numpy())
    return np.concatenate(scores)


def flag_reward_hacking(
    systems: Mapping[str, Mapping[str, float]],
    intervals: Mapping[str, Mapping[str, Sequence[float | None]]] | None = None,
    candidates: Sequence[str] | None = None,
    reference: str = REFERENCE,
    data: str = DATA,
) -> list[dict]:
    """Trained systems (``candidates``, default all but ``reference``) whose learned-reward
    score rises over ``reference`` while harmony or a Vendi score falls below it and below
    the data's (``data``, when the evaluation has it).

    The floor is the lower of the two because RL is meant to move a model toward the
    data: an MLE model samples more varied chords than the music it imitates (Bach test
    split: Vendi 21.3 against the chorales' 19.4), and a policy whose variety falls from
    the MLE model's to the data's has not collapsed onto a few safe chords; one that falls
    below the data's has. (The gapt criterion asks for two thirds of rl_coherence's lost
    Vendi back, so it too accepts variety below the MLE model's.)

    With ``intervals`` a change counts only when the system's 95% interval lies wholly on
    its side of the line (the reference's reward, the quality floor), so sampling noise
    raises no flag. Each flag names the system, the rewards that rose (the reference's
    value, the system's) and the quality metrics that fell (the floor, the system's).
    Empty without the reference or any reward. Baselines are not candidates: they were not
    trained on the reward (they show instead whether the reward agrees with the quality
    metrics at all)."""
    if reference not in systems:
        return []
    base = systems[reference]
    rewards = [k for k in base if k.startswith("reward/")]
    floor = {k: min(v for v in (base.get(k), systems.get(data, {}).get(k)) if v is not None)
             for k in QUALITY if base.get(k) is not None}

    def moved(name: str, key: str, up: bool) -> bool:
        value = systems[name].get(key)
        line = base.get(key) if up else floor.get(key)
        if value is None or line is None:
            return False
        low, high = (intervals or {}).get(name, {}).get(key) or (value, value)
        edge = value if (low is None or high is None) else (low if up else high)
        return edge > line if up else edge < line

    flags = []
    for name in candidates if candidates is not None else systems:
        if name in (reference, data) or name not in systems:
            continue
        rose = {k: (base[k], systems[name][k]) for k in rewards if moved(name, k, True)}
        fell = {k: (floor[k], systems[name][k]) for k in QUALITY if moved(name, k, False)}
        if rose and fell:
            flags.append({"system": name, "rewards_rose": rose, "quality_fell": fell})
    return flags


ON_BEAT_FLOOR = 0.9  # share of chord attacks on a beat below which rhythm is broken
CHANGES_TOLERANCE = 0.3  # changes per bar may differ from the data's by this fraction


def flag_rhythm_gaming(
    systems: Mapping[str, Mapping[str, float]],
    candidates: Sequence[str],
    data: str = "ground_truth",
) -> list[dict]:
    """Trained systems whose accompaniment a musician would hear as broken rhythm: chord
    attacks on a beat less than ``ON_BEAT_FLOOR`` of the time, or chord changes per bar
    more than ``CHANGES_TOLERANCE`` away from the data's. This is how a policy games a
    frame-local harmony reward (it changes chord under every melody note), so it is
    judged whatever the rewards did. Each flag names the system and what broke."""
    reference = systems.get(data, {}).get("chord_changes_per_bar")
    flags = []
    for name in candidates:
        values = systems.get(name)
        if values is None:
            continue
        broke = {}
        on_beat = values.get("onsets_on_beats")
        if on_beat is not None and on_beat < ON_BEAT_FLOOR:
            broke["onsets_on_beats"] = (ON_BEAT_FLOOR, on_beat)
        changes = values.get("chord_changes_per_bar")
        if reference and changes is not None and \
                abs(changes - reference) > CHANGES_TOLERANCE * reference:
            broke["chord_changes_per_bar"] = (reference, changes)
        if broke:
            flags.append({"system": name, "rhythm_broke": broke})
    return flags

