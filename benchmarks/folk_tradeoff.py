"""Folk harmony against kept variety: every whole-pipeline RL run side by side.

Reads pairs of evaluation reports (the Bach test split's and the folk test part's
``report.md``, as ``cojam eval`` writes them) and, for each run, takes gapt's and
rl_coherence's note-in-chord and Vendi and the MLE model's Vendi from the Bach report,
and both systems' note-in-chord and ``one_chord``'s from the folk report. Prints JSON
(one entry per run, with the share of rl_coherence's lost Vendi that gapt recovers)
and, with ``--plot``, draws folk note-in-chord against that share, with the issue's two
lines (``one_chord``'s folk note-in-chord, two thirds recovered) and the fair causal
baseline's (``tonic_causal``).

    .venv/bin/python benchmarks/folk_tradeoff.py --runs-under docs/results/rl-credit \
        --run p24=BACH_REPORT,FOLK_REPORT [--plot tradeoff.png]

``--runs-under`` adds every folder below it holding ``eval-report.md`` and
``eval-essen-report.md`` whose gapt pools three seeds, sampled at temperature 1 (named
after the folder; runs with the same numbers, a reproduction, share one point).
Filled points meet the issue's Bach harmony line for gapt (within 0.01 of
rl_coherence's note-in-chord or above), hollow ones miss it.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from cojam.eval.report import QUALITY_COLUMNS

METRIC_OF_LABEL = {label: key for key, label in QUALITY_COLUMNS}


def report_rows(path: Path) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """The "Harmony and diversity" table of a report (system -> metric, named as in
    ``results.json``, -> first number; columns the report writer no longer has are left
    out) and the number of runs each model system pools (from the Systems table)."""
    text = path.read_text()
    if "sampling temperature 1.0" not in text:
        raise ValueError(f"{path} was not sampled at temperature 1")
    seeds = {name: cell.count("<br>") + 1 for name, cell in
             re.findall(r"^\| `([\w-]+)` \| online \| ([^|]*) \|", text, re.M)}
    section = text.split("## Harmony and diversity", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        values = {}
        for label, cell in zip(header[1:], cells[1:], strict=True):
            number = re.match(r"-?[\d.]+", cell)
            if number and label in METRIC_OF_LABEL:
                values[METRIC_OF_LABEL[label]] = float(number.group())
        rows[cells[0].strip("`")] = values
    return rows, seeds


def run_entry(bach: Path, folk: Path) -> dict[str, float | int]:
    """What the plot needs of one run (a KeyError names a system the reports lack)."""
    b, seeds = report_rows(bach)
    f, _ = report_rows(folk)
    lost = b["mle"]["vendi"] - b["rl_coherence"]["vendi"]
    kept = b["gapt"]["vendi"] - b["rl_coherence"]["vendi"]
    return {
        "seeds": seeds.get("gapt", 0),
        "gapt_bach_nic": b["gapt"]["harmony"],
        "rl_coherence_bach_nic": b["rl_coherence"]["harmony"],
        "gapt_vendi": b["gapt"]["vendi"], "rl_coherence_vendi": b["rl_coherence"]["vendi"],
        "mle_vendi": b["mle"]["vendi"],
        "vendi_recovered": round(kept / lost, 3) if lost > 0 else None,
        "gapt_folk_nic": f["gapt"]["harmony"],
        "rl_coherence_folk_nic": f["rl_coherence"]["harmony"],
        "one_chord_folk_nic": f["one_chord"]["harmony"],
        "tonic_causal_folk_nic": f.get("tonic_causal", {}).get("harmony"),
    }


def plot(runs: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    names = [n for n, r in runs.items() if r["vendi_recovered"] is not None]
    xs = [runs[n]["vendi_recovered"] for n in names]
    ys = [runs[n]["gapt_folk_nic"] for n in names]
    level = [runs[n]["gapt_bach_nic"] >= runs[n]["rl_coherence_bach_nic"] - 0.01 for n in names]
    for kept, style in ((True, {"color": "tab:blue", "label": "gapt, Bach harmony within "
                                                          "0.01 of rl_coherence"}),
                        (False, {"facecolors": "none", "edgecolors": "tab:blue",
                                 "label": "gapt, Bach harmony further below"})):
        points = [(x, y) for x, y, ok in zip(xs, ys, level, strict=True) if ok == kept]
        ax.scatter([x for x, _ in points], [y for _, y in points], **style)
    for name, x, y in zip(names, xs, ys, strict=True):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
    line = max(r["one_chord_folk_nic"] for r in runs.values())
    ax.axhline(line, color="tab:red", linestyle="--",
               label=f"one_chord on folk ({line:.3f}; given the whole tune's key)")
    fair = [r["tonic_causal_folk_nic"] for r in runs.values() if r["tonic_causal_folk_nic"]]
    if fair:
        ax.axhline(fair[-1], color="grey", linestyle="--",
                   label=f"tonic_causal on folk ({fair[-1]:.3f}; the key heard so far)")
    ax.axvline(2 / 3, color="tab:green", linestyle=":", label="2/3 of the lost Vendi recovered")
    ax.set_xlabel("share of rl_coherence's lost Bach Vendi that gapt recovers")
    ax.set_ylabel("gapt note-in-chord, folk test part")
    ax.set_title("Folk harmony against kept variety, whole-pipeline runs")
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(0.995, 0.08))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], metavar="NAME=BACH,FOLK",
                        help="a run's Bach and folk report.md (repeatable)")
    parser.add_argument("--runs-under", type=Path, help="add every three-seed run folder below")
    parser.add_argument("--plot", type=Path, help="write the scatter plot here (PNG)")
    args = parser.parse_args()
    pairs: dict[str, tuple[Path, Path]] = {}
    if args.runs_under:
        for bach in sorted(args.runs_under.rglob("eval-report.md")):
            folk = bach.with_name("eval-essen-report.md")
            if folk.exists():
                pairs[bach.parent.name] = (bach, folk)
    for entry in args.run:
        name, paths = entry.split("=", 1)
        bach, folk = paths.split(",")
        pairs[name] = (Path(bach), Path(folk))
    runs: dict[str, dict] = {}
    for name, (bach, folk) in pairs.items():
        try:
            entry = run_entry(bach, folk)
        except (KeyError, ValueError):  # no gapt, rl_coherence or MLE model; not at T = 1
            continue
        same = [other for other, seen in runs.items() if seen == entry]
        if same:
            runs[f"{same[0]}={name}"] = runs.pop(same[0])
        elif entry["seeds"] == 3:
            runs[name] = entry
    print(json.dumps(runs, indent=1))
    if args.plot:
        plot(runs, args.plot)


if __name__ == "__main__":
    main()
