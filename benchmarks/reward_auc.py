"""Reward model AUC table: each run's held-out AUC (its ``auc.json``) against each kind of
negative, one Markdown row per run, with each run's training time. With ``--data`` a
baseline row is added: the note-in-chord rule reward on the same test negatives, which
shows how much of the task a one-line music rule already solves; with ``--ensemble`` too,
a row for the ensemble file's weighted sum (written with ``rewards.ensemble.write_ensemble``
or by hand).

    python benchmarks/reward_auc.py RUN_DIR [RUN_DIR ...] [--data CACHE [--ensemble FILE]]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cojam.data.cache import load_spec
from cojam.rewards.auc import auc_table, negative_auc, read_auc
from cojam.rewards.ensemble import load_reward, rule_reward
from cojam.rewards.negatives import KINDS
from cojam.rewards.rules import note_in_chord
from cojam.rewards.train import windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="reward run directories")
    parser.add_argument("--data", type=Path, help="cache: add the note-in-chord baseline")
    parser.add_argument("--ensemble", type=Path, help="ensemble file: add its row (needs --data)")
    args = parser.parse_args()
    if args.ensemble is not None and args.data is None:
        parser.error("--ensemble needs --data")
    rows = [read_auc(run) for run in args.runs]
    if args.data is not None:
        spec = load_spec(args.data)
        frames = json.loads((args.runs[0] / "config.json").read_text())["model"]["max_frames"]
        test = windows(args.data, "test", spec, frames)
        aucs = negative_auc(rule_reward(note_in_chord, spec), test, spec, KINDS)
        rows.append({"model": "rule: note_in_chord", "seed": "—", "auc": aucs})
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
