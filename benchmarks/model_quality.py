"""Quality table: chord NLL and accuracy on the test split for the unigram and bigram
baselines, the online accompanist and the offline teacher (and the online model's melody
NLL, its anticipation). Prints JSON; ``--out`` also writes it.

    python benchmarks/model_quality.py --data CACHE --online RUN --teacher RUN [--melody RUN]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from cojam.models.count_baselines import quality_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="song cache")
    parser.add_argument("--online", type=Path, help="online accompanist run")
    parser.add_argument("--teacher", type=Path, help="offline teacher run")
    parser.add_argument("--melody", type=Path, help="melody agent run")
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {name: path for name in ("online", "teacher", "melody")
            if (path := getattr(args, name)) is not None}
    report = quality_report(args.data, runs, args.split)
    rows = report["models"]
    checks = {}
    if "online" in rows:
        checks["online_beats_bigram"] = rows["online"]["chord_nll"] < rows["bigram"]["chord_nll"]
    if "online" in rows and "teacher" in rows:
        checks["teacher_beats_online"] = rows["teacher"]["chord_nll"] < rows["online"]["chord_nll"]
    report["checks"] = checks
    for run in runs.values():  # training time and steps of each run
        summary = run / "summary.json"
        if summary.exists():
            data = json.loads(summary.read_text())
            name = next(k for k, v in runs.items() if v == run)
            rows[name].update(train_seconds=data["seconds"], train_steps=data["steps"],
                              parameters=data["parameters"])
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
