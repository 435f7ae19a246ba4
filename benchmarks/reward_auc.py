"""Reward model AUC table: each run's held-out AUC (its ``auc.json``) against each kind of
negative, one Markdown row per run, with each run's training time. With ``--data``
baseline rows are added, rule rewards on the same test negatives, which show how much of
the task a one-line rule already solves: note-in-chord (harmony) and minus the silence
under the melody (another song's pickup or ending puts chord silence under this melody's
notes, a cue the rhythm models can use too). With ``--ensemble`` as well, a row for the
ensemble file's weighted sum (written by ``rewards.ensemble.write_ensemble`` or by hand).

    python benchmarks/reward_auc.py RUN_DIR [RUN_DIR ...] [--data CACHE [--ensemble FILE]]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cojam.data.cache import load_spec
from cojam.rewards.auc import auc_table, negative_auc, read_auc
from cojam.rewards.ensemble import load_reward, rule_reward
from cojam.rewards.frames import FrameView
from cojam.rewards.negatives import KINDS
from cojam.rewards.rules import note_in_chord, silence_over_melody
from cojam.rewards.train import windows


def no_silence_under_melody(view: FrameView) -> float:
    return -silence_over_melody(view)


BASELINES = {"note_in_chord": note_in_chord, "-silence_over_melody": no_silence_under_melody}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="reward run directories")
    parser.add_argument("--data", type=Path, help="cache: add the rule baselines")
    parser.add_argument("--ensemble", type=Path, help="ensemble file: add its row (needs --data)")
    args = parser.parse_args()
    if args.ensemble is not None and args.data is None:
        parser.error("--ensemble needs --data")
    rows = [read_auc(run) for run in args.runs]
    if args.data is not None:
        spec = load_spec(args.data)
        frames = json.loads((args.runs[0] / "config.json").read_text())["model"]["max_frames"]
        test = windows(args.data, "test", spec, frames)
        for name, rule in BASELINES.items():
            aucs = negative_auc(rule_reward(rule, spec), test, spec, KINDS)
            rows.append({"model": f"rule: {name}", "seed": "—", "auc": aucs})
        if args.ensemble is not None:
            aucs = negative_auc(load_reward(args.ensemble), test, spec, KINDS)
            rows.append({"model": f"ensemble {args.ensemble.name}", "seed": "all", "auc": aucs})
    print(auc_table(rows))
    print()
    for run in args.runs:
        summary = json.loads((run / "summary.json").read_text())
        print(f"{run.name}: {summary['steps']} steps in {summary['seconds']}s, "
              f"{summary['parameters']:,} parameters")


if __name__ == "__main__":
    main()
