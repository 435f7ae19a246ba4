"""Every hyperparameter of RL post-training, in one dataclass, and the recipe sections.

A recipe (``cpu-small.json``, ``paper.json``) holds three RL sections, each a
``PPOConfig`` (fields left out take the defaults below):

- ``rl-coherence`` — coherence rewards only (learned ensemble, rules, KL, distillation);
- ``gapt`` — the same plus the adversarial term (a discriminator trained alongside);
- ``gapt-no-teacher`` — GAPT without distillation from the offline teacher.

The defaults are the published settings (ReaLchords, GAPT) where there is one. The
``paper`` sections keep them (batch 384, minibatch 48, lr 5e-6, an 8-layer discriminator
updated every 5 steps for the first 200). ``cpu-small`` must finish in minutes on two
cores, so it departs from them:

- ``lr`` 3e-4 (published 5e-6): at 5e-6, 60 steps of 32 rollouts barely move the policy;
- ``epochs`` 2, ``minibatch_size`` 16, ``value_lr`` 0.01: fewer passes per batch for more
  batches in the budget; the fresh value head must catch up quickly;
- frame-local rule terms the published recipe does not have: note-in-chord per frame with
  an off-beat penalty (its guard: without it the policy changes chord under every melody
  note), a small per-attack change penalty, a harmonic-rhythm term that keeps chord
  changes per beat near the data's (without it, note-in-chord heard causally pays for
  holding chords), a cost for re-striking the chord that sounds, and an exact KL loss to
  the MLE model;
- ``frame_credit`` "expected": on data and folk melodies those terms are scored for every
  candidate chord, not sampled, which learns several times faster per step;
- gapt adds the chord-vocabulary term (``marginal_weight``, the closed-form single-chord
  discriminator): expected credit on note-in-chord narrows the chords the policy plays,
  and the learned discriminator, paid once per window, does not widen them again;
- the discriminator (the cpu-small reward model's sizes) updates every 2 steps for the
  first 30 with 2 gradient steps at lr 3e-4: a fresh discriminator needs more updates
  than 60 steps at the published schedule would give it.

What was tried and measured on the way to these settings (credit assignment, the guard
against following every melody note, the KL and distillation weights) is written up in
``docs/results/rl-credit/`` with the commands that reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cojam.configs import RL_SECTIONS, is_rl_section, load_section
from cojam.rewards.encoder import RewardConfig


def small_discriminator() -> RewardConfig:
    return RewardConfig(kind="discriminative", d_model=64, n_layers=2, n_heads=4,
                        dropout=0.0)


@dataclass(frozen=True)
class PPOConfig:
    """How the accompanist is post-trained with PPO (one recipe section)."""

    # rollouts ---------------------------------------------------------------------------
    steps: int = 1000
    """policy steps; each is one batch of rollouts and several epochs of updates on it"""
    batch_size: int = 64
    """rollouts (song windows) per policy step"""
    max_frames: int = 256
    """longest rollout in frames; training windows are cut to it on bar lines"""
    partner_fraction: float = 0.25
    """share of each batch played against the melody agent instead of a data melody"""
    melody_fraction: float = 0.0
    """share of each batch's rows whose melody comes from a melody-only cache (``cojam rl
    --melodies``, e.g. folk tunes), accompanied like data melodies; they have no data
    chords, so the discriminator neither sees nor judges them"""
    partner_seed_beats: int = 8
    """beats of real melody that open a melody-agent rollout before the agent plays"""
    augment: bool = True
    """transpose the data melodies by -6..+5 semitones"""

    # PPO --------------------------------------------------------------------------------
    epochs: int = 4
    """passes over each rollout batch"""
    minibatch_size: int = 16
    """rollouts per gradient step"""
    lr: float = 5e-6
    """policy learning rate (AdamW, constant, no weight decay)"""
    value_lr: float = 1e-3
    """value head learning rate (a fresh linear head learns much faster than the policy)"""
    clip: float = 0.2
    """PPO ratio clip"""
    entropy_coef: float = 0.01
    """entropy bonus per chord token"""
    gamma: float = 1.0
    """discount per chord token of the sequence-level rewards (frame-local terms are
    never discounted back: they pay only the token that caused them)"""
    gae_lambda: float = 0.95
    """GAE lambda of the sequence-level rewards (1.0: Monte-Carlo returns minus the value)"""
    max_grad_norm: float = 1.0
    """clip the global gradient norm of each update"""

    # rewards ----------------------------------------------------------------------------
    ensemble_weight: float = 1.0
    """weight of the learned reward ensemble (its members are z-scores on real pairs)"""
    kl_coef: float = 0.001
    """frame-local: penalty on log pi - log pi_MLE of each sampled chord"""
    distill_coef: float = 0.001
    """frame-local: reward log pi_teacher - log pi of each sampled chord (the teacher
    sees the whole melody)"""
    kl_loss_coef: float = 0.0
    """weight of the exact KL(pi || pi_MLE) over the allowed chords at every state the
    policy visited, as a loss term: a dense anchor that keeps the musical habits the
    rewards do not judge (no credit assignment through returns)"""
    kl_loss_melody_rows: bool = True
    """the exact KL loss also on the melody-only rows (``melody_fraction``); False
    anchors only the rows whose melodies are of the kind the MLE model learned from
    (data rows and the melody agent's), so that melodies of another tradition are not
    held to the MLE model's harmony of them"""
    note_in_chord_weight: float = 0.0
    """frame-local: reward per melody-sounding frame whose pitch class is in the chord
    sounding there, paid to that frame's chord token (see ``credit.py``)"""
    off_beat_penalty: float = 0.0
    """frame-local: penalty per chord attack that does not fall on a beat"""
    change_penalty: float = 0.0
    """frame-local: penalty per chord attack (a change of harmony costs a little, so
    that following every melody note does not pay)"""
    rhythm_weight: float = 0.0
    """frame-local: w of the harmonic-rhythm term ``-w * beats * (r - r_data)^2`` of each
    window (r its chord attacks per beat, r_data the training windows'), paid to each
    attack as ``-2 w (r - r_data)`` (see ``credit.py``)"""
    frame_credit: Literal["sampled", "expected"] = "sampled"
    """how the frame-local rule terms (note-in-chord, off-beat, changes) reach the policy on
    rows whose melody is fixed (data and melody-only rows): ``sampled`` pays the played
    chord its span return minus a baseline; ``expected`` scores every chord the policy
    could have played there against the melody that sounds over the span and follows the
    exact gradient of the expected score (no sampling noise; see ``credit.py``). Rows
    played with the melody agent always use ``sampled``: their melody answers the chords."""
    clash_penalty: float = 0.0
    """frame-local: penalty per melody-sounding frame whose sounding chord holds a pitch
    class a semitone from the melody's (``rewards.frames.frames_clashing``): note-in-chord
    alone pays four-note chords that hold more melody notes and rub against the rest"""
    silence_penalty: float = 0.0
    """frame-local: penalty per melody-sounding frame without a chord (silence never
    rubs, so a clash penalty without it teaches the policy to fall silent)"""
    key_penalty: float = 0.0
    """frame-local: penalty per melody-sounding frame whose sounding chord holds a pitch
    class outside the key of the window's whole melody (``rewards.frames
    .frames_out_of_key``): the reward hears the key from the whole window, as the
    teacher does, and the causal policy learns to find it from what it has heard"""
    song_key_penalty: float = 0.0
    """with ``song_style``: ``key_penalty`` added on the song-style rows only (a folk tune
    stays in its key; a chorale's chromatic chords are the data's)"""
    restrike_penalty: float = 0.0
    """frame-local: penalty per re-attack of the chord that is sounding (no change of
    harmony; the rhythm term does not pay it, so without a cost the policy may re-strike
    one chord on every beat)"""
    song_style: bool = False
    """play the melody-only rows in the ``song`` style: an extra start token the policy
    learns apart from the corpus's (``cojam.models.online``), so folk tunes' harmony and
    the corpus's variety of chords stop sharing one behaviour; the chord-vocabulary term
    then pays the corpus-style rows only"""
    style_bias: bool = False
    """with ``song_style``: grow the policy the styles' vectors added to every position's
    input (``OnlineConfig.style_bias``), not only the start token"""
    song_change_rate: float | None = None
    """with ``song_style`` and ``rhythm_weight``: the changes of harmony per beat that the
    harmonic-rhythm term steers the song-style rows toward (None: the training data's, as
    every other row). Melody-only tunes have no chords to measure; a chorale's rate (about
    0.8 a beat) is not a folk tune's"""
    marginal_weight: float = 0.0
    """frame-local, adversarial: reward per chord token of ``w * (log p_data(c) - log
    q(c))``, clipped to +-``marginal_clip``, where c is the chord (or silence) the token
    sounds, p_data the training windows' share of frames that sound c and q the policy's
    expected share over the batch: the generator reward ``log D/(1 - D)`` of the optimal
    discriminator between the two chord marginals, so the policy's chord vocabulary
    follows the data's instead of collapsing onto a few safe chords (see ``credit.py``;
    only with ``frame_credit`` "expected")"""
    marginal_clip: float = 3.0
    """bound on the log-ratio of the chord-marginal term"""
    invalid_hold_penalty: float = 10.0
    """per chord hold that continues nothing (the sampler's mask makes these impossible)"""
    excess_silence_penalty: float = 10.0
    """per unit of chord silence beyond ``silence_allowed`` of the frames"""
    silence_allowed: float = 0.04
    """fraction of frames that may be without a chord before the penalty starts"""
    repeated_chord_penalty: float = 1.0
    """per re-attack of the same chord beyond ``max_repeats`` in a row"""
    max_repeats: int = 4
    """re-attacks of one chord in a row that go unpenalised"""
    long_chord_penalty: float = 10.0
    """per unit fraction of frames held past ``max_chord_beats`` since the attack"""
    max_chord_beats: float = 8.0
    """longest chord in beats that goes unpenalised"""
    early_end_penalty: float = 10.0
    """per unit fraction of melody frames after the accompaniment's last chord"""

    # adversarial post-training ----------------------------------------------------------
    adversarial_weight: float = 0.0
    """lambda: weight of the adversarial reward -log(1 - D) (0: no discriminator)"""
    discriminator: RewardConfig = field(default_factory=small_discriminator)
    """sizes of the discriminator (the discriminative reward model's architecture)"""
    disc_lr: float = 9e-5
    """discriminator learning rate (AdamW)"""
    disc_label_smoothing: float = 0.1
    """BCE targets are 1 - s/2 for data pairs and s/2 for policy pairs"""
    disc_gradient_steps: int = 1
    """gradient steps on the step's pairs each time the discriminator is updated"""
    disc_every: int = 5
    """during warm-up, update the discriminator every this many policy steps"""
    disc_warmup_steps: int = 200
    """policy steps of the fixed update schedule; afterwards it updates only while the
    policy fools it (see ``disc_reward_threshold``)"""
    disc_reward_threshold: float = 1.0
    """after warm-up, update while the mean adversarial reward of the last steps exceeds this"""
    disc_reward_window: int = 3
    """policy steps averaged for that test"""
    disc_max_accuracy: float = 0.9
    """guard: never update while the discriminator's accuracy on the step's pairs is above"""

    # bookkeeping ------------------------------------------------------------------------
    seed: int = 0
    """seeds the value head, the discriminator, data order, augmentation and sampling"""
    checkpoint_every: int = 10
    """write the resume state (and the current weights) every N policy steps"""
    threads: int = 2
    """torch CPU threads"""

    def __post_init__(self) -> None:
        if self.discriminator.kind != "discriminative":
            raise ValueError("the discriminator has the discriminative reward model's kind")
        if not 0.0 <= self.partner_fraction <= 1.0:
            raise ValueError(f"partner_fraction {self.partner_fraction} is not in [0, 1]")
        if not 0.0 <= self.melody_fraction <= 1.0 - self.partner_fraction:
            raise ValueError(f"melody_fraction {self.melody_fraction} is not in [0, 1 - "
                             f"partner_fraction]")
        if self.frame_credit not in ("sampled", "expected"):
            raise ValueError(f"frame_credit {self.frame_credit!r} is not 'sampled' or "
                             "'expected'")
        if self.marginal_weight and self.frame_credit != "expected":
            raise ValueError("marginal_weight needs frame_credit 'expected' (the policy's "
                             "chord marginal is its expectation over candidates)")
        if self.song_change_rate is not None and not (self.song_style and self.rhythm_weight
                                                       and self.song_change_rate >= 0):
            raise ValueError(f"song_change_rate {self.song_change_rate} needs song_style, "
                             "rhythm_weight and a rate of at least 0 changes per beat")
        if self.song_key_penalty and not self.song_style:
            raise ValueError("song_key_penalty needs song_style (it is paid on the song-style "
                             "rows)")
        if self.style_bias and not self.song_style:
            raise ValueError("style_bias needs song_style (the corpus's style alone has "
                             "nothing to tell apart)")
        if self.minibatch_size > self.batch_size or self.batch_size % self.minibatch_size:
            raise ValueError(f"batch_size {self.batch_size} must be a multiple of "
                             f"minibatch_size {self.minibatch_size}")


def load_rl_section(recipe: str | Path, section: str) -> PPOConfig:
    """Section ``section`` (``rl-coherence``, ``gapt``, ``gapt-no-teacher``, or an
    experiment's variant such as ``r4-gapt``) of a recipe."""
    if not is_rl_section(section):
        raise ValueError(f"unknown RL section {section!r}; choose one of {RL_SECTIONS}")
    return load_section(recipe, section, PPOConfig)
