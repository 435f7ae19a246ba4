"""Per-stream loss, NLL and accuracy of any model on frame batches.

Every model is scored the same way: teacher-forced logits for each frame's chord (and,
for online models, each frame's melody) against the true tokens, padding ignored. NLL is
in nats per token; accuracy is argmax over the whole vocabulary == the true token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cojam.data.batches import FrameBatch
from cojam.data.tokens import PAD
from cojam.models.online import OnlineModel
from cojam.models.teacher import TeacherModel


def stream_logits(model: OnlineModel | TeacherModel, batch: FrameBatch
                  ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{stream: ((B, T, V) logits, (B, T) targets)}: ``chord`` always, ``melody`` for
    online models. An online model hears ``batch.chord_inputs`` when the batch has them
    (shifted histories, see ``cojam.data.batches``) and is scored on ``batch.chord_targets``
    when it has them."""
    device = model.head.weight.device
    melody = torch.as_tensor(batch.melody, device=device)
    chords = torch.as_tensor(batch.chords, device=device)
    if isinstance(model, TeacherModel):
        return {"chord": (model.frame_logits(melody, chords), chords)}
    heard = chords if batch.chord_inputs is None else torch.as_tensor(batch.chord_inputs,
                                                                      device=device)
    chord_logits, melody_logits = model.frame_logits(melody, heard)
    if batch.chord_targets is not None:
        chords = torch.as_tensor(batch.chord_targets, device=device)
    return {"chord": (chord_logits, chords), "melody": (melody_logits, melody)}


def stream_losses(model: OnlineModel | TeacherModel, batch: FrameBatch) -> dict[str, torch.Tensor]:
    """{stream: mean cross-entropy over real frames} (differentiable)."""
    return {
        stream: F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)
        for stream, (logits, targets) in stream_logits(model, batch).items()
    }


@dataclass
class StreamScore:
    """Summed NLL, correct predictions and token count of one stream."""

    nll_sum: float = 0.0
    correct: int = 0
    count: int = 0

    def add(self, log_probs: torch.Tensor, targets: torch.Tensor) -> None:
        """Add (N, V) log-probabilities against (N,) targets; PAD targets are skipped."""
        real = targets != PAD
        log_probs, targets = log_probs[real], targets[real]
        self.nll_sum -= log_probs.gather(1, targets[:, None]).sum().item()
        self.correct += (log_probs.argmax(dim=1) == targets).sum().item()
        self.count += len(targets)

    def to_dict(self) -> dict[str, float]:
        return {"nll": self.nll_sum / max(self.count, 1),
                "accuracy": self.correct / max(self.count, 1), "tokens": self.count}


@torch.no_grad()
def evaluate(model: OnlineModel | TeacherModel, batches: Iterable[FrameBatch]
             ) -> dict[str, dict[str, float]]:
    """{stream: {nll, accuracy, tokens}} over all batches, in eval mode (mode restored)."""
    was_training = model.training
    model.eval()
    scores: dict[str, StreamScore] = {}
    for batch in batches:
        for stream, (logits, targets) in stream_logits(model, batch).items():
            log_probs = logits.float().log_softmax(dim=-1)
            scores.setdefault(stream, StreamScore()).add(log_probs.flatten(0, 1),
                                                         targets.flatten())
    model.train(was_training)
    return {stream: score.to_dict() for stream, score in scores.items()}
