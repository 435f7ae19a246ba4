"""Count-based chord baselines the neural models must beat (unigram and bigram), and the
quality table that compares them with trained runs.

Both predict each frame's chord token from chord tokens alone (no melody): the unigram
from nothing, the bigram from the previous frame's chord token (BOS at the start of a
window). Probabilities cover the chord stream only. Counts are taken over the training
windows in all the transpositions the neural models see in training (-6..+5), so the
baselines are as key-independent as those models. The unigram is add-one smoothed; the
bigram is interpolated with the unigram, its weight chosen on the validation windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cojam.data.batches import (
    TRANSPOSITIONS,
    FrameExample,
    eval_batches,
    song_examples,
    transposition_table,
)
from cojam.data.cache import load_songs, load_spec
from cojam.data.tokens import BOS, TokenSpec
from cojam.models.checkpoint import kind_of, load_model
from cojam.models.likelihood import evaluate

BIGRAM_WEIGHTS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


@dataclass
class ChordNgram:
    """Chord-token probabilities: ``unigram`` (C,) and ``bigram`` (C + 1, C) rows indexed by
    the previous chord token (last row: BOS), mixed as ``weight * bigram + (1 - weight) *
    unigram``. C is the number of chord-stream tokens."""

    spec: TokenSpec
    unigram: np.ndarray
    bigram: np.ndarray
    weight: float  # 0 makes it the unigram model

    def _rows(self, previous: np.ndarray) -> np.ndarray:
        index = np.where(previous == BOS, len(self.bigram) - 1, previous - self.spec.chord_silence)
        return self.weight * self.bigram[index] + (1 - self.weight) * self.unigram[None, :]

    def score(self, examples: Sequence[FrameExample]) -> dict[str, float]:
        """NLL (nats per chord token) and accuracy over the examples' chord frames."""
        nll, correct, count = 0.0, 0, 0
        for example in examples:
            chords = np.asarray(example.chords)
            previous = np.concatenate([[BOS], chords[:-1]])
            probs = self._rows(previous)  # (T, C)
            target = chords - self.spec.chord_silence
            nll -= np.log(probs[np.arange(len(chords)), target]).sum()
            correct += int((probs.argmax(axis=1) == target).sum())
            count += len(chords)
        return {"nll": float(nll) / max(count, 1), "accuracy": correct / max(count, 1),
                "tokens": count}


def fit_chord_ngrams(train: Sequence[FrameExample], valid: Sequence[FrameExample],
                     spec: TokenSpec) -> dict[str, ChordNgram]:
    """{"unigram", "bigram"} fitted on ``train``; the bigram's weight tuned on ``valid``."""
    size = spec.vocab_size - spec.chord_silence  # chord-stream tokens
    unigram = np.ones(size)
    bigram = np.zeros((size + 1, size))
    tables = [transposition_table(spec, shift) for shift in TRANSPOSITIONS]
    for example, table in ((e, t) for e in train for t in tables):
        chords = table[np.asarray(example.chords)] - spec.chord_silence
        np.add.at(unigram, chords, 1)
        previous = np.concatenate([[size], chords[:-1]])
        np.add.at(bigram, (previous, chords), 1)
    unigram /= unigram.sum()
    totals = bigram.sum(axis=1, keepdims=True)
    bigram = np.divide(bigram, totals, out=np.tile(unigram, (size + 1, 1)), where=totals > 0)
    models = {"unigram": ChordNgram(spec, unigram, bigram, 0.0)}
    best = min(BIGRAM_WEIGHTS,
               key=lambda w: ChordNgram(spec, unigram, bigram, w).score(valid)["nll"])
    models["bigram"] = ChordNgram(spec, unigram, bigram, best)
    return models


def quality_report(data_dir: Path, runs: dict[str, Path], split: str = "test",
                   batch_size: int = 32) -> dict[str, Any]:
    """The quality table: chord NLL and accuracy of the unigram and bigram baselines and of
    each trained run (``{"online": RUN, "teacher": RUN, ...}``) on ``split``, all on the
    same windows (the shortest ``max_frames`` of the runs); online models also report
    their melody NLL and accuracy. ``plays`` names each run's own stream: for the melody
    agent the chord columns are its prediction of the partner (having heard melody_t)."""
    models = {name: load_model(path) for name, path in runs.items()}
    frames = min((m.config.max_frames for m in models.values()), default=256)
    spec = load_spec(data_dir)
    for name, model in models.items():
        if model.spec != spec:
            raise ValueError(f"run {runs[name]} was trained on another vocabulary than "
                             f"{data_dir}")
    windows = {s: song_examples(load_songs(data_dir, s), spec, frames)
               for s in ("train", "valid", split)}
    rows: dict[str, dict[str, Any]] = {}
    for name, ngram in fit_chord_ngrams(windows["train"], windows["valid"], spec).items():
        score = ngram.score(windows[split])
        rows[name] = {"chord_nll": score["nll"], "chord_accuracy": score["accuracy"]}
    for name, model in models.items():
        scores = evaluate(model, eval_batches(windows[split], batch_size))
        plays = "melody" if kind_of(model) == "melody" else "chord"
        rows[name] = {"plays": plays, "chord_nll": scores["chord"]["nll"],
                      "chord_accuracy": scores["chord"]["accuracy"]}
        if "melody" in scores:
            rows[name].update(melody_nll=scores["melody"]["nll"],
                              melody_accuracy=scores["melody"]["accuracy"])
        rows[name]["run"] = str(runs[name])
    return {"split": split, "frames_per_window": frames, "windows": len(windows[split]),
            "chord_tokens": sum(len(e.chords) for e in windows[split]), "models": rows}
