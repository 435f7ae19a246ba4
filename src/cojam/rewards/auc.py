"""Held-out AUC of a reward: how often a real pair outscores a constructed negative.

For each negative kind the AUC is P(score(real) > score(negative)) (ties count half),
over every real window of a split against ``per_kind`` negatives of that kind per window
(drawn with a fixed seed, so every model is measured on the same negatives). 1.0 ranks
every real pair above every negative, 0.5 is chance. ``write_auc`` stores
``auc.json`` in a reward run directory; ``auc_table`` prints runs side by side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cojam.data.batches import FrameExample
from cojam.data.tokens import TokenSpec
from cojam.rewards.ensemble import RewardFn, score_examples
from cojam.rewards.negatives import KINDS, NegativeSampler

PER_KIND = 8
SEED = 0


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve of scores, positives against negatives, by ranks
    (Mann-Whitney U); tied scores share their mean rank."""
    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if len(positive) == 0 or len(negative) == 0:
        raise ValueError("AUC needs at least one positive and one negative score")
    scores = np.concatenate([positive, negative])
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    unique, inverse = np.unique(scores, return_inverse=True)
    ranks = (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]  # mean rank per tie
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(negative)))


def negative_examples(examples: Sequence[FrameExample], spec: TokenSpec, kind: str,
                      per_kind: int = PER_KIND, seed: int = SEED) -> list[FrameExample]:
    """``per_kind`` negatives of ``kind`` for each example, a pure function of ``seed``."""
    sampler = NegativeSampler(spec, (kind,))
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    return [sampler.negative(kind, i, examples, rng)
            for i in range(len(examples)) for _ in range(per_kind)]


def negative_auc(reward: RewardFn, examples: Sequence[FrameExample], spec: TokenSpec,
                 kinds: Sequence[str], per_kind: int = PER_KIND, seed: int = SEED
                 ) -> dict[str, float]:
    """{kind: AUC of real pairs against that kind of negative}."""
    real = score_examples(reward, examples)
    return {kind: roc_auc(real, score_examples(
        reward, negative_examples(examples, spec, kind, per_kind, seed))) for kind in kinds}


def read_auc(run_dir: Path) -> dict:
    """A reward run's ``auc.json``: model, seed, split, pairs and {kind: AUC}."""
    path = Path(run_dir) / "auc.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: train the run to its end first")
    return json.loads(path.read_text())


def auc_table(rows: Sequence[dict]) -> str:
    """A Markdown table of ``auc.json`` contents: one row each, one column per kind."""
    lines = ["| model | seed | " + " | ".join(KINDS) + " |", "|" + " --- |" * (len(KINDS) + 2)]
    for row in rows:
        cells = [f"{row['auc'][k]:.3f}" if k in row["auc"] else "—" for k in KINDS]
        lines.append(f"| {row['model']} | {row['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
