"""The report's figures, drawn only from the files ``cojam eval`` wrote (``results.json``,
``sequences.json``), so ``cojam report`` can redraw them at any time.

- ``harmony_vs_diversity.png`` — each system at (harmony, Vendi) with 95% bars, for the
  symbol and the key-free Vendi: the trade-off the RL stages move along; one chord
  forever sits at the bottom of the key-free panel;
- ``adaptation.png`` — mean per-beat harmony around the key change, pooled over shifts
  and for the published protocol (a tritone at beat 16);
- ``adaptation_by_shift.png`` — harmony in the beats after the change, per shift k;
- ``chord_histograms.png`` — how often each system attacks the commonest chords;
- ``chord_pca.png`` — every output as a key-independent chord embedding (the root motion
  between consecutive chords and the chord qualities, as frequencies), projected on the
  first two principal components of all outputs together (PCA by SVD).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from cojam.music.chords import QUALITY_NAMES, parse_chord  # noqa: E402

POOLED, PROTOCOL = "random_bar", "tritone_beat16"  # adaptation.py's case names


def _colours(names: Sequence[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _error_bar(value: float, interval: Sequence[float | None]) -> list[list[float]]:
    """matplotlib's [[below], [above]] from a (low, high) interval; None = no bar."""
    low, high = (value if v is None else v for v in interval)
    return [[max(value - low, 0.0)], [max(high - value, 0.0)]]


def harmony_vs_diversity(results: Mapping[str, Any], path: Path) -> None:
    """Two panels: harmony against the symbol Vendi and against the key-free Vendi."""
    systems, intervals = results["systems"], results["intervals"]
    colours = _colours(list(systems))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    for ax, key, label in ((axes[0], "vendi", "Vendi (chord symbols)"),
                           (axes[1], "vendi_relative", "Vendi (key-free: root motion, quality)")):
        for name, values in systems.items():
            x, y = values.get("harmony"), values.get(key)
            if x is None or y is None:
                continue
            ax.errorbar(x, y, xerr=_error_bar(x, intervals[name]["harmony"]),
                        yerr=_error_bar(y, intervals[name][key]),
                        fmt="o", color=colours[name], capsize=3)
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xlabel("harmony (note-in-chord ratio)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle("Harmony vs diversity (95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def adaptation_curves(results: Mapping[str, Any], path: Path) -> None:
    adaptation = results["adaptation"]
    before = results["meta"]["adaptation"]["before_beats"]
    colours = _colours(list(results["systems"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, case, title in ((axes[0], POOLED, "transposed at a mid-song bar (all k pooled)"),
                            (axes[1], PROTOCOL, "tritone at beat 16 (published protocol)")):
        for name, summary in adaptation.items():
            if case not in summary:
                continue
            curve = np.array([np.nan if v is None else v for v in summary[case]["curve"]])
            beats = np.arange(len(curve)) - before
            ax.plot(beats, curve, marker=".", color=colours.get(name), label=name)
        ax.axvline(0, color="black", linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("beats from the change")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("per-beat harmony (mean over songs and samples)")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def adaptation_by_shift(results: Mapping[str, Any], path: Path) -> None:
    adaptation = results["adaptation"]
    colours = _colours(list(results["systems"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, summary in adaptation.items():
        cases = sorted((int(k[2:]), v) for k, v in summary.items() if k.startswith("k="))
        if cases:
            ax.plot([k for k, _ in cases],
                    [np.nan if v["harmony_after"] is None else v["harmony_after"]
                     for _, v in cases], marker="o", color=colours.get(name), label=name)
    ax.set_xlabel("transposition k (semitones)")
    ax.set_ylabel("harmony in the 8 beats after the change")
    ax.set_title("Harmony after the change, per shift")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _shares(counts: Mapping[str, int], keys: Sequence[str]) -> list[float]:
    total = max(sum(counts.values()), 1)
    return [counts.get(k, 0) / total for k in keys]


def chord_histograms(results: Mapping[str, Any], path: Path, top: int = 20) -> None:
    """Two heat maps, one row per system: the share of its chord attacks on each of the
    reference's commonest chords, and on each chord quality (key-independent)."""
    counts = results["chord_counts"]
    reference = counts.get("ground_truth") or next(iter(counts.values()), {})
    symbols = [s for s, _ in Counter(reference).most_common(top)]
    names = list(counts)
    by_quality = {}
    for name in names:
        qualities: Counter = Counter()
        for symbol, n in counts[name].items():
            chord = parse_chord(symbol)
            qualities[chord.quality if chord is not None else "none"] += n
        by_quality[name] = qualities
    panels = (
        (np.array([_shares(counts[n], symbols) for n in names]), symbols,
         f"the reference's {len(symbols)} commonest chords"),
        (np.array([_shares(by_quality[n], QUALITY_NAMES) for n in names]), QUALITY_NAMES,
         "chord qualities"),
    )
    fig, axes = plt.subplots(1, 2, figsize=(15, 0.42 * len(names) + 2.2),
                             gridspec_kw={"width_ratios": [len(symbols) or 1, len(QUALITY_NAMES)]})
    for ax, (shares, labels, title) in zip(axes, panels, strict=True):
        image = ax.imshow(shares, aspect="auto", cmap="viridis", vmin=0)
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_title(f"share of chord attacks: {title}", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def chord_embedding(sequence: Sequence[str]) -> np.ndarray:
    """Key-independent features of one chord sequence: frequencies of the root motion
    between consecutive attacked chords (12 intervals x the quality arrived at) and of
    the qualities; zeros for an empty sequence."""
    chords = [parse_chord(s) for s in sequence]
    chords = [c for c in chords if c is not None]
    quality = {q: i for i, q in enumerate(QUALITY_NAMES)}
    motion = np.zeros((12, len(QUALITY_NAMES)))
    for a, b in zip(chords, chords[1:], strict=False):
        motion[(b.root - a.root) % 12, quality[b.quality]] += 1
    qualities = np.zeros(len(QUALITY_NAMES))
    for c in chords:
        qualities[quality[c.quality]] += 1
    motion /= max(motion.sum(), 1)
    qualities /= max(qualities.sum(), 1)
    return np.concatenate([motion.ravel(), qualities])


def chord_pca(sequences: Mapping[str, Any], path: Path) -> None:
    names = list(sequences["systems"])
    labels, vectors = [], []
    for name in names:
        for pass_outputs in sequences["systems"][name]:
            for seq in pass_outputs:
                labels.append(name)
                vectors.append(chord_embedding(seq))
    fig, ax = plt.subplots(figsize=(6.5, 5))
    if len(vectors) >= 2:
        x = np.array(vectors)
        x = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        points = u[:, :2] * s[:2]
        if points.shape[1] < 2:
            points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
        explained = s[:2] ** 2 / max((s**2).sum(), 1e-12)
        colours = _colours(names)
        for name in names:
            mask = np.array([lab == name for lab in labels])
            ax.scatter(points[mask, 0], points[mask, 1], s=10, alpha=0.6, color=colours[name],
                       label=name)
        ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({explained[1] if len(explained) > 1 else 0:.0%})")
        ax.legend(fontsize=7, markerscale=2)
    ax.set_title("Outputs by chord motion and quality (PCA)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_all(results: Mapping[str, Any], sequences: Mapping[str, Any] | None,
             out_dir: Path) -> dict[str, str]:
    """Every figure that the results allow; returns {title: file name}."""
    out_dir = Path(out_dir)
    figures = {}
    harmony_vs_diversity(results, out_dir / "harmony_vs_diversity.png")
    figures["Harmony vs diversity"] = "harmony_vs_diversity.png"
    if results.get("adaptation"):
        adaptation_curves(results, out_dir / "adaptation.png")
        figures["Per-beat harmony around the key change"] = "adaptation.png"
        adaptation_by_shift(results, out_dir / "adaptation_by_shift.png")
        figures["Harmony after the change, per shift"] = "adaptation_by_shift.png"
    if results.get("chord_counts"):
        chord_histograms(results, out_dir / "chord_histograms.png")
        figures["Chord histograms"] = "chord_histograms.png"
    if sequences is not None:
        chord_pca(sequences, out_dir / "chord_pca.png")
        figures["Chord embeddings of the outputs (PCA)"] = "chord_pca.png"
    return figures
