"""Chord n-gram baselines on hand-made windows, and the quality table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cojam.data.batches import FrameExample
from cojam.data.tokens import TokenSpec
from cojam.models.count_baselines import fit_chord_ngrams, quality_report
from cojam.models.train import train


def window(spec: TokenSpec, symbols: list[str]) -> FrameExample:
    """One frame per symbol: an onset when it changes, else a hold."""
    chords = [spec.chord_on(s) if i == 0 or symbols[i - 1] != s else spec.chord_hold(s)
              for i, s in enumerate(symbols)]
    melody = np.full(len(chords), spec.melody_silence)
    return FrameExample("hand-made", melody, np.array(chords))


def test_bigram_learns_holds_and_beats_the_unigram(tiny_spec: TokenSpec) -> None:
    examples = [window(tiny_spec, ["C", "C", "C", "C", "F", "F", "F", "F"] * 4)] * 3
    models = fit_chord_ngrams(examples, examples, tiny_spec)
    unigram, bigram = models["unigram"].score(examples), models["bigram"].score(examples)
    assert bigram["nll"] < unigram["nll"]
    assert bigram["accuracy"] > 0.7 > unigram["accuracy"]
    assert unigram["tokens"] == bigram["tokens"] == 96
    rows = models["bigram"]._rows(np.array([1, tiny_spec.chord_on("C")]))
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    hold = tiny_spec.chord_hold("C") - tiny_spec.chord_silence
    assert rows[1].argmax() == hold


def test_counts_cover_every_transposition(tiny_spec: TokenSpec) -> None:
    examples = [window(tiny_spec, ["C", "C", "G", "G"])]
    models = fit_chord_ngrams(examples, examples, tiny_spec)
    moved = [window(tiny_spec, ["D", "D", "A", "A"])]  # never seen in C, but as a shift
    assert models["bigram"].score(moved)["nll"] == pytest.approx(
        models["bigram"].score(examples)["nll"], rel=1e-6)


def test_quality_report_has_every_row(tmp_path: Path, tiny_cache: Path,
                                      tiny_recipe: Path) -> None:
    for kind in ("online", "teacher"):
        train(kind, tiny_cache, tmp_path / kind, tiny_recipe, max_steps=2, progress=False,
              log=lambda _: None)
    report = quality_report(tiny_cache, {"online": tmp_path / "online",
                                         "teacher": tmp_path / "teacher"})
    rows = report["models"]
    assert set(rows) == {"unigram", "bigram", "online", "teacher"}
    assert report["split"] == "test" and report["chord_tokens"] == 6 * 32
    assert "melody_nll" in rows["online"] and "melody_nll" not in rows["teacher"]
    assert rows["online"]["plays"] == rows["teacher"]["plays"] == "chord"
    assert all(0 <= row["chord_accuracy"] <= 1 and row["chord_nll"] > 0 for row in rows.values())
