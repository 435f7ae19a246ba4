"""The RL reward's sequence-level terms: what judges a whole (melody, chords) window.

These are paid on the last chord of each rollout (``credit.py`` says how they travel
back, and which terms are frame-local instead):

- the learned reward ensemble, reported split into ``harmony`` (members that see pitches
  and chords) and ``rhythm`` (members that see only onsets and holds). Each member is a
  z-score on real validation pairs (its calibration), then rescaled once more by its mean
  and spread over the first batch of rollouts (``policy_scale``). Why: reward models are
  far surer about real pairs than about a policy's, so a policy's z-scores on the real
  pairs' scale run to tens of standard deviations, and the frame-local terms would
  vanish beside them; after the rescaling a member is 0 for the initial policy's
  typical rollout and 1 for one a standard deviation better, whatever the reward model's
  confidence, so the weights mean the same from one set of reward runs to the next;
- the window rule penalties of ``rewards.rules`` (invalid holds, excess silence, chords
  re-attacked too often, over-long chords, an early end), each weighted by its field;
- the adversarial term ``-log(1 - D)`` of the discriminator, weighted by lambda.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from cojam.data.tokens import FRAMES_PER_BEAT, TokenSpec
from cojam.rewards import rules
from cojam.rewards.ensemble import Ensemble
from cojam.rewards.frames import FrameView, frame_view
from cojam.rl.config import PPOConfig
from cojam.rl.credit import attacks_off_beat


def rule_terms(config: PPOConfig) -> dict[str, tuple[float, Callable[[FrameView], float]]]:
    """{name: (signed weight, rule)} of the window rules: penalties count against the
    reward. Rules with weight 0 are left out."""
    terms = {
        "invalid_holds": (-config.invalid_hold_penalty, rules.invalid_holds),
        "excess_silence": (-config.excess_silence_penalty,
                           lambda v: rules.excess_silence(v, config.silence_allowed)),
        "repeated_chords": (-config.repeated_chord_penalty,
                            lambda v: rules.repeated_chords(v, config.max_repeats)),
        "long_chords": (-config.long_chord_penalty,
                        lambda v: rules.long_chords(v, config.max_chord_beats)),
        "early_end": (-config.early_end_penalty, rules.early_end),
    }
    return {name: term for name, term in terms.items() if term[0] != 0}


def rule_scores(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
                spec: TokenSpec, config: PPOConfig) -> dict[str, torch.Tensor]:
    """{rule name: (B,) raw value} of every weighted rule, on each row's real frames."""
    terms = rule_terms(config)
    values: dict[str, list[float]] = {name: [] for name in terms}
    for m, c, real in zip(melody.cpu().numpy(), chords.cpu().numpy(), mask.cpu().numpy(),
                          strict=True):
        view = frame_view(m[real], c[real], spec)
        for name, (_, rule) in terms.items():
            values[name].append(rule(view))
    return {name: torch.tensor(np.asarray(v, dtype=np.float32)) for name, v in values.items()}


def is_rhythm_member(name: str) -> bool:
    """Ensemble members are named ``<model type>/<run>``; rhythm types end in -rhythm."""
    return name.split("/")[0].endswith("-rhythm")


def member_scores(ensemble: Ensemble, melody: torch.Tensor, chords: torch.Tensor,
                  mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """{member name: (B,) its weighted z-score on the real pairs' scale}."""
    return {m.name: m.weight * m.normalised(melody, chords, mask).cpu() for m in ensemble.members}


def policy_scale(scores: dict[str, torch.Tensor]) -> dict[str, list[float]]:
    """{member name: [mean, std]} of its scores over a batch of rollouts (std floored)."""
    return {name: [v.mean().item(), max(v.std(unbiased=False).item(), 1e-6)]
            for name, v in scores.items()}


def sequence_rewards(
    melody: torch.Tensor,  # (B, T)
    chords: torch.Tensor,  # (B, T)
    mask: torch.Tensor,  # (B, T) bool
    spec: TokenSpec,
    config: PPOConfig,
    members: dict[str, torch.Tensor] | None,  # (B,) each, from member_scores
    scale: dict[str, list[float]] | None = None,  # policy_scale of the first batch
    adversarial: torch.Tensor | None = None,  # (B,) -log(1 - D), unweighted
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """((B,) weighted total of the sequence-level terms, {name: (B,) term} for logging:
    ``harmony``, ``rhythm``, ``rules`` and ``adversarial`` already weighted, and each
    rule's raw value as ``rule/<name>``)."""
    B = melody.shape[0]
    total = torch.zeros(B)
    parts: dict[str, torch.Tensor] = {}
    if members is not None and config.ensemble_weight:
        harmony, rhythm = torch.zeros(B), torch.zeros(B)
        for name, value in members.items():
            mean, std = (0.0, 1.0) if scale is None else scale[name]
            score = config.ensemble_weight * (value - mean) / std
            if is_rhythm_member(name):
                rhythm += score
            else:
                harmony += score
        parts.update(harmony=harmony, rhythm=rhythm)
        total += harmony + rhythm
    weights = rule_terms(config)
    raw = rule_scores(melody, chords, mask, spec, config)
    parts["rules"] = sum((weights[name][0] * value for name, value in raw.items()),
                         torch.zeros(B))
    parts.update({f"rule/{name}": value for name, value in raw.items()})
    total += parts["rules"]
    if adversarial is not None and config.adversarial_weight:
        parts["adversarial"] = config.adversarial_weight * adversarial.cpu()
        total += parts["adversarial"]
    return total, parts


def window_charts(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
                  spec: TokenSpec) -> dict[str, float]:
    """Batch means of what a musician hears, logged every step whatever the rewards are:
    ``note_in_chord`` (duration-weighted), ``clashes`` (share of melody frames rubbing a
    semitone against the chord), ``on_beat`` (share of chord attacks on a beat) and
    ``changes_per_beat`` (chord attacks per beat)."""
    values: dict[str, list[float]] = {"note_in_chord": [], "clashes": [], "on_beat": [],
                                      "changes_per_beat": []}
    for m, c, real in zip(melody.cpu().numpy(), chords.cpu().numpy(), mask.cpu().numpy(),
                          strict=True):
        view = frame_view(m[real], c[real], spec)
        values["note_in_chord"].append(rules.note_in_chord(view))
        values["clashes"].append(rules.clashes(view))
        attacks = view.chord_onset.sum()
        values["on_beat"].append(1.0 - attacks_off_beat(view).sum() / attacks
                                 if attacks else 1.0)
        values["changes_per_beat"].append(
            rules.chord_changes_per_frame(view) * FRAMES_PER_BEAT)
    return {name: float(np.mean(v)) for name, v in values.items()}
