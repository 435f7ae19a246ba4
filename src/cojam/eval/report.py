"""``report.md`` from an evaluation directory: tables, checks and figures.

Everything comes from ``results.json`` and ``sequences.json`` (written by ``cojam eval``),
so the report can be rebuilt without re-running any model. Numbers are printed as
``mean ± h``, where h is half the width of the 95% interval (``stats.py`` says how each
interval is made; bootstrap intervals may be asymmetric, ``results.json`` has both ends).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cojam.eval import plots
from cojam.eval.system_scores import OUTPUT_METRICS, SET_METRICS

POOLED, PROTOCOL = plots.POOLED, plots.PROTOCOL

QUALITY_COLUMNS = (("harmony", "harmony"), ("harmony_per_beat", "harmony/beat"),
                   ("clashes", "clashes"), ("chords_in_key", "in key"),
                   ("chord_entropy", "entropy"), ("distinct_chords", "distinct"),
                   ("vendi", "Vendi"), ("vendi_relative", "Vendi (key-free)"),
                   ("song_distinct_chords", "distinct/output"))
DIGITS = {"distinct_chords": 1, "song_distinct_chords": 1, "chord_changes_per_bar": 2,
          "invalid_holds": 1, "repeated_chords": 2, "vendi": 2, "vendi_relative": 2,
          "chord_entropy": 2}
RHYTHM_COLUMNS = (("chord_changes_per_bar", "changes/bar"), ("onsets_on_beats", "on beat"),
                  ("long_chords", "long chords"), ("repeated_chords", "repeats"),
                  ("chord_silence", "silence"), ("invalid_holds", "invalid holds"))
ADAPTATION_COLUMNS = (("adaptation_beats", "recovery beats (pooled)"),
                      ("adaptation_beats_tritone16", "recovery beats (tritone@16)"),
                      ("adaptation_harmony_before", "harmony before"),
                      ("adaptation_harmony_after", "harmony after"))


def number(value: float | None, interval: Sequence[float | None] | None = None,
           digits: int = 3) -> str:
    """``0.612 ± 0.031``; ``—`` for a missing value."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    if interval is not None and None not in interval:
        half = (interval[1] - interval[0]) / 2
        if half >= 0.5 * 10 ** -digits:  # not rounding noise of identical passes
            text += f" ± {half:.{digits}f}"
    return text


def recovery(value: float | None, interval: Sequence[float | None] | None = None) -> str:
    """Recovery beats ``[interval]``; a censored one (not back within the window) is
    ``never``."""
    if value is None:
        return "never" if interval is None else f"never [{_beats(interval[0])}, never]"
    if interval is None:
        return f"{value:g}"
    low, high = interval
    return f"{value:g} [{_beats(low)}, {_beats(high)}]"


def _beats(value: float | None) -> str:
    return "never" if value is None else f"{value:g}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def metric_table(section: Mapping[str, Any], columns: Sequence[tuple[str, str]],
                 notes: Mapping[str, str] | None = None) -> str:
    """One row per system; with ``notes`` a last column saying how to read the row."""
    rows = []
    for name, values in section["systems"].items():
        cells = [f"`{name}`"]
        for key, _ in columns:
            interval = section["intervals"][name].get(key)
            if key.startswith("adaptation_beats"):
                cells.append(recovery(values.get(key), interval) if key in values else "—")
            else:
                cells.append(number(values.get(key), interval, DIGITS.get(key, 3)))
        if notes is not None:
            cells.append(notes.get(name, ""))
        rows.append(cells)
    header = ["system", *(title for _, title in columns)] + (["reading"] if notes else [])
    return table(header, rows)


CHANCE_MARGIN = 0.05  # harmony this close to random's is chance level


def adaptation_notes(results: Mapping[str, Any]) -> dict[str, str]:
    """How to read each system's recovery: the references, offline systems that hear the
    change coming, and systems at chance level, for which recovery means nothing."""
    systems = results["systems"]
    chance = systems.get("random", {}).get("adaptation_harmony_before")
    notes = {"ground_truth": "perfect-adaptation reference",
             "one_chord": "degenerate; key from the whole melody",
             "tonic_causal": "degenerate; the tonic of the key heard so far",
             "every_frame": "degenerate; key from the whole melody"}
    for name, facts in results["meta"]["systems"].items():
        before = systems[name].get("adaptation_harmony_before")
        at_chance = None not in (before, chance) and before <= chance + CHANCE_MARGIN
        if facts.get("kind") == "teacher":
            notes[name] = "offline: hears the change before it comes"
        elif name not in notes and name != "random" and at_chance:
            notes[name] = "at chance level before the change: recovery means nothing"
    if chance is not None:
        notes["random"] = "chance level"
    return notes


# ------------------------------------------------------------------ sanity checks

def _lowest(systems: Mapping[str, Mapping[str, Any]], name: str, key: str) -> bool:
    return all(systems[name][key] <= v[key] for v in systems.values()
               if v.get(key) is not None)


def _highest(systems: Mapping[str, Mapping[str, Any]], name: str, key: str) -> bool:
    return all(systems[name][key] >= v[key] for v in systems.values()
               if v.get(key) is not None)


def sanity_checks(
    systems: Mapping[str, Mapping[str, Any]], models: Sequence[str] = ()
) -> list[tuple[bool, str]]:
    """What a musician expects of the ranking; each (passed, statement with numbers).
    ``models`` are the trained systems, each expected to harmonise better than random."""
    present = set(systems)

    def h(name: str) -> str:
        return f"{name} {systems[name]['harmony']:.3f}"

    def better(a: str, b: str, text: str, strict: bool = True) -> tuple[bool, str]:
        x, y = systems[a]["harmony"], systems[b]["harmony"]
        return (x > y if strict else x >= y), f"{text} ({h(a)}, {h(b)})"

    lines = []
    if {"ground_truth", "random"} <= present:
        lines.append(better("ground_truth", "random", "ground truth harmonises better than "
                            "random chords"))
    baselines = [n for n in ("ground_truth", "random", "rule_causal", "rule_based", "one_chord",
                             "every_frame") if n in present]
    if "random" in present:
        lines.append((_lowest({n: systems[n] for n in baselines}, "random", "harmony"),
                      "random chords have the lowest harmony of the baselines "
                      f"({', '.join(h(n) for n in baselines)})"))
    if {"rule_based", "random"} <= present:
        lines.append(better("rule_based", "random", "the rule-based harmoniser beats random "
                            "chords on harmony"))
    for name in models:
        if "random" in present:
            lines.append(better(name, "random", f"the trained system `{name}` beats random "
                                "chords on harmony"))
        for fair in ("rule_causal", "tonic_causal", "one_chord"):
            if fair in present and name != "teacher":
                lines.append(better(name, fair, f"the trained system `{name}` beats "
                                    f"`{fair}` on harmony"))
    if {"teacher", "mle"} <= present:
        lines.append(better("teacher", "mle", "the teacher (sees the future) harmonises at "
                            "least as well as the online MLE model", strict=False))
    if "one_chord" in present:
        for key in ("chord_entropy", "vendi_relative", "song_distinct_chords"):
            others = {n: v for n, v in systems.items() if n != "tonic_causal"}  # also one chord
            lines.append((_lowest(others, "one_chord", key),
                          f"one chord forever is lowest on {key} "
                          f"({systems['one_chord'][key]:.3f})"))
    if "every_frame" in present:
        lines.append((_highest(systems, "every_frame", "chord_changes_per_bar"),
                      "a chord every frame has the most changes per bar "
                      f"({systems['every_frame']['chord_changes_per_bar']:.1f})"))
        lines.append((_lowest(systems, "every_frame", "onsets_on_beats"),
                      "a chord every frame has the fewest attacks on beats "
                      f"({systems['every_frame']['onsets_on_beats']:.2f})"))
    return lines


def ranking(systems: Mapping[str, Mapping[str, Any]], key: str) -> str:
    ranked = sorted((v[key], n) for n, v in systems.items() if v.get(key) is not None)
    return " > ".join(f"`{n}` {v:.3f}" for v, n in reversed(ranked))


# ------------------------------------------------------------------ sections

def header(results: Mapping[str, Any]) -> list[str]:
    meta = results["meta"]
    config = meta["config"]
    sampling = config["sampling"]
    lines = [
        "# cojam evaluation report", "",
        f"- data: `{meta['data']}`, split `{meta['split']}`: {meta['songs']} songs in "
        f"{meta['windows']} windows of at most {meta['max_frames']} frames",
        f"- samples per piece: {config['samples']} (pass p seeded with seed + p), seed "
        f"{config['seed']}; sampling temperature {sampling['temperature']}, top-k "
        f"{sampling['top_k']}, top-p {sampling['top_p']}; accompanists play in the "
        f"`{sampling.get('style', 'corpus')}` style (a model without it: its corpus's)",
        f"- code: git commit `{meta['git_commit'] or 'unknown (not a git checkout)'}`; "
        f"made {meta['date']}",
        f"- intervals: {meta['intervals']}", "",
        "## Systems", "",
    ]
    rows = []
    for name, info in meta["systems"].items():
        if info["type"] == "baseline":
            rows.append([f"`{name}`", "baseline", "—", "—", "—"])
        else:
            runs = info.get("runs") or [info["run"]]  # several: seeds pooled, pass p by run p mod n
            rows.append([f"`{name}`", info["kind"], "<br>".join(f"`{r}`" for r in runs),
                         f"`{info['recipe']}`", f"`{info['git_commit'] or 'unknown'}`"])
    lines += [table(["system", "kind", "run", "recipe", "trained at commit"], rows), ""]
    missing = [name for name in ("mle", "teacher") if name not in meta["systems"]]
    if missing:
        lines += [f"Not in this report: {', '.join(f'`{n}`' for n in missing)} (pass "
                  "`--model mle=RUN` for the online MLE model, `--model teacher=RUN` for the "
                  "offline teacher).", ""]
    rewards = meta.get("rewards") or {}
    lines.append("Reward models: " + (", ".join(f"`{n}` (`{r}`)" for n, r in rewards.items())
                                      if rewards else "none were given."))
    lines.append("")
    return lines


def reward_section(results: Mapping[str, Any]) -> list[str]:
    systems = results["systems"]
    keys = sorted({k for v in systems.values() for k in v if k.startswith("reward/")})
    lines = ["## Learned rewards and reward hacking", ""]
    if not keys:
        return [*lines, "No reward models were given, so reward hacking cannot be judged.", ""]
    lines += [metric_table(results, [(k, k) for k in keys]), ""]
    flags = results.get("reward_hacking") or []
    if "mle" not in systems:
        lines.append("No system is named `mle`, the reference for reward hacking; no flags.")
    elif not flags:
        lines.append("No trained system raises a learned reward over `mle` while harmony or "
                     "a Vendi score falls below both `mle`'s and the data's (each change "
                     "judged beyond its 95% interval).")
    for flag in flags:
        rose = ", ".join(f"{k} {a:.3f} → {b:.3f}" for k, (a, b) in flag["rewards_rose"].items())
        fell = ", ".join(f"{k} {a:.3f} → {b:.3f}" for k, (a, b) in flag["quality_fell"].items())
        lines.append(f"- **possible reward hacking: `{flag['system']}`** — reward rose over "
                     f"`mle` ({rose}) while quality fell below both `mle`'s and the "
                     f"data's ({fell}; the lower of the two first).")
    return [*lines, "", *rhythm_lines(results)]


def rhythm_lines(results: Mapping[str, Any]) -> list[str]:
    """The rhythm guard's verdict: a harmony reward is gamed by changing chord under every
    melody note, which shows as attacks off the beat and too many changes per bar."""
    if "rhythm_gaming" not in results:
        return []
    flags = results["rhythm_gaming"]
    if not flags:
        return ["No trained system breaks the rhythm guard (chord attacks on a beat at least "
                "90% of the time, chord changes per bar within 30% of the data's).", ""]
    lines = []
    for flag in flags:
        broke = ", ".join(f"{k} {b:.2f} (guard: {a:.2f})"
                          for k, (a, b) in flag["rhythm_broke"].items())
        lines.append(f"- **rhythm gamed: `{flag['system']}`** — {broke}.")
    return [*lines, ""]


def adaptation_section(results: Mapping[str, Any]) -> list[str]:
    meta = results["meta"]["adaptation"]
    if not meta.get("enabled") or not results.get("adaptation"):
        return ["## Adaptation", "", "Not run.", ""]
    lines = [
        "## Adaptation", "",
        f"The melody (and, for `ground_truth`, its chords: the perfect-adaptation reference) "
        f"is transposed by k semitones from a seeded bar line in the middle third of each "
        f"song's first window, for k in {meta['shifts']}, and by a tritone from beat 16 (the "
        f"published protocol). {meta['cases']} cases, {meta.get('samples', 1)} sample(s) "
        f"each; {meta['skipped']} skipped "
        f"(too short or out of the pitch range). Recovery = beats after the change until a "
        f"2-beat running mean of the song-averaged per-beat harmony is back to 90% of its "
        f"mean over the {meta['before_beats']} beats before; `never` = not within "
        f"{meta['after_beats']} beats; [95% bootstrap over songs]. A system that is equally "
        f"poor before and after recovers at once, so read recovery beside the harmony "
        f"before and after (the {meta['after_window']} beats after the change).", "",
        metric_table(results, ADAPTATION_COLUMNS, adaptation_notes(results)), "",
    ]
    shifts = [f"k={k:+d}" for k in meta["shifts"]]
    rows = []
    for name, summary in results["adaptation"].items():
        rows.append([f"`{name}`", *(recovery(summary[s]["recovery_beats"])
                                    if s in summary else "—" for s in shifts)])
    lines += ["Recovery beats per shift:", "", table(["system", *shifts], rows), ""]
    return lines


def selfplay_section(results: Mapping[str, Any]) -> list[str]:
    section = results.get("selfplay")
    meta = results["meta"]["selfplay"]
    lines = ["## Self-play", ""]
    if not section:
        reason = ("no melody agent was given (`--melody-agent`)" if meta["melody_agent"] is None
                  else "no online accompanist was evaluated")
        return [*lines, f"Not run: {reason}.", ""]
    lines += [f"Each online accompanist jams with the melody agent `{meta['melody_agent']}` for "
              f"{meta['bars']} bars, from the first {meta['seed_bars']} bars of each test song's "
              "melody. What the agent played is shown beside the harmony (silence or one note "
              "would make harmony meaningless).", "",
              metric_table(section, QUALITY_COLUMNS + RHYTHM_COLUMNS[:2]), ""]
    rows = [[f"`{n}`", number(f["melody_silence"]), number(f["melody_distinct_pitches"], None, 1)]
            for n, f in section["melody"].items()]
    return [*lines, table(["accompanist", "melody silence", "distinct pitches/session"], rows), ""]


def definitions() -> list[str]:
    lines = ["## Definitions", ""]
    lines += [f"- `{k}`: {v}" for k, v in {**OUTPUT_METRICS, **SET_METRICS}.items()]
    lines += ["- baselines: `ground_truth` the data's chords; `random` a uniform vocabulary "
              "chord per bar; `rule_causal` I/V/IV/vi by the melody of the beat before, in a key "
              "estimated from the melody heard so far (the fair online baseline); "
              "`rule_based` the same harmoniser reading each beat's own melody (one beat of "
              "lookahead, not an online competitor); degenerate `tonic_causal` (the tonic triad of "
              "the key heard so far, held while the key stays) and `one_chord` (tonic triad "
              "forever) and `every_frame` (a primary chord re-attacked every sixteenth) show "
              "which metrics each gaming strategy fools and which catch it.", ""]
    return lines


def render(results: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    systems = results["systems"]
    lines = header(results)
    lines += ["## Harmony and diversity", "", metric_table(results, QUALITY_COLUMNS), "",
              "Chord symbols carry their key, so the symbol Vendi also counts how many keys "
              "the test songs are in (one chord forever in K keys scores about K); the "
              "key-free Vendi compares progressions by root motion and quality.", "",
              "## Rhythm and penalties", "", metric_table(results, RHYTHM_COLUMNS), ""]
    lines += ["## Sanity checks", ""]
    models = [n for n, facts in results["meta"]["systems"].items() if facts["type"] == "model"]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {text}"
              for ok, text in sanity_checks(systems, models)]
    lines += ["", f"By harmony: {ranking(systems, 'harmony')}", "",
              f"By Vendi: {ranking(systems, 'vendi')}", "",
              f"By key-free Vendi: {ranking(systems, 'vendi_relative')}", ""]
    lines += reward_section(results) + adaptation_section(results) + selfplay_section(results)
    lines += ["## Figures", ""]
    lines += [f"### {title}\n\n![{title}]({file})\n" for title, file in figures.items()]
    lines += definitions()
    return "\n".join(lines)


def write_report(eval_dir: Path) -> Path:
    """Draw the figures and write ``report.md`` into ``eval_dir``; returns its path."""
    eval_dir = Path(eval_dir)
    results_path = eval_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{eval_dir} has no results.json; run `cojam eval` first")
    results = json.loads(results_path.read_text())
    sequences_path = eval_dir / "sequences.json"
    sequences = json.loads(sequences_path.read_text()) if sequences_path.is_file() else None
    figures = plots.draw_all(results, sequences, eval_dir)
    path = eval_dir / "report.md"
    path.write_text(render(results, figures) + "\n")
    return path
