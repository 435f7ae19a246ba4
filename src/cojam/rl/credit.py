"""Credit assignment: which chord token each reward term is paid to, and how far back
its credit travels. Designed per term, because the terms have different causes.

**Frame-local terms** are caused by the chord sounding at one frame. That chord was
chosen by its attack and kept by every hold since, so a frame's reward is paid to that
frame's chord token and travels back through the holds to the attack or to the start of
the beat, whichever is later, and no further (``span_returns``): the token on a beat
decides what sounds for that beat (attack or hold), and is credited with what the whole
beat earns; nothing reaches across a chord change or a beat line. (Credit through whole
chord spans taught the policy to hold chords for bars: a longer span sums more reward.)

- ``note_in_chord_weight`` per melody-sounding frame whose pitch class is in the chord
  sounding there (a frame without a chord counts as outside);
- ``-off_beat_penalty`` per chord attack that does not fall on a beat;
- ``-clash_penalty`` per melody-sounding frame whose chord holds a pitch class a semitone
  from the melody's (a rub note-in-chord does not see: it pays four-note chords that hold
  more melody notes whatever they rub against);
- ``-silence_penalty`` per melody-sounding frame without a chord (silence never rubs, and
  the vocabulary term pays it up to the data's share of silent frames, so a clash
  penalty alone taught the policy to fall silent under the melody);
- ``-key_penalty`` per melody-sounding frame whose chord holds a pitch class outside
  the key of the window's whole melody (C#m7 under a tune in D minor sounds wrong even
  on the beats where it holds the melody's E; the reward reads the key from the whole
  window, as the teacher does, and the causal policy must hear it), and
  ``song_key_penalty`` more on the song-style rows (``key_weights``);
- ``-change_penalty`` per chord attack (every change of harmony costs a little, so
  following every melody note does not pay);
- the harmonic rhythm: ``rhythm_weight`` w of a window's ``-w * beats * (r - r_data)^2``,
  r its changes of harmony per beat and r_data the training data's, paid to each change
  as its share ``-2 w (r - r_data)``: changes earn in a window that changes chord less
  often than the data, and cost in one that changes more (a fixed change penalty can
  only push one way; note-in-chord alone, heard causally, pays for holding chords).
  With ``song_change_rate`` the song-style rows are steered to a rate of their own
  (``row_change_targets``): a folk tune's chords change less often than a chorale's.
  Re-attacking the chord that sounds is no change: counted as one, the policy learned
  to re-strike one chord on every beat;
- ``-restrike_penalty`` per re-attack of the chord that is sounding;
- ``-kl_coef * (log pi - log pi_MLE)`` and ``distill_coef * (log pi_teacher - log pi)``
  per chord token: sampled estimates of each token's own KL terms.

Their advantage is that return minus a baseline that the value head's first column
predicts from the state before the token (what the policy usually earns there).

That is one sample of what the token is worth. On rows whose melody is fixed (a data or
melody-only melody, not the melody agent's answer) the rule terms of *every* chord the
policy could have played are known without playing it: the melody that sounds over the
token's span is there. With ``frame_credit = "expected"`` they are scored for every
candidate (``candidate_rewards``: the candidate sounds over the played span) and the
policy follows the exact gradient of their expectation under it
(``expected_advantages``, ``expected_loss``), which has no sampling noise; the sampled
span return then carries only the KL and distillation terms on those rows.

Expected credit also carries the chord-vocabulary term (``marginal_weight``), the
adversarial term in closed form on what a discriminator of single chords can see: the
optimal discriminator between the data's chord marginal p_data (share of frames sounding
each chord, silence included) and the policy's q is D = p_data / (p_data + q), and its
generator reward ``log D/(1 - D) = log p_data(c) - log q(c)`` pays every token that
sounds c (``marginal_rewards``). q is the policy's expected marginal over the batch, so
the term's gradient is that of ``-KL(q || p_data)``: it pulls mass off the chords the
policy plays more often than the data (the collapse onto a few safe chords that
note-in-chord rewards) and onto those it neglects. Chords the data never sounds get the
smoothed count's low share, so the term cannot pay for inventing chords.

**Sequence terms** judge a whole window (the learned reward ensemble, the window rules,
the discriminator); they are paid on the last chord and spread back by GAE with
``gamma`` and ``gae_lambda`` < 1 against the value head's second column, so a chord is
credited mostly with what its critic cannot already predict.

Why not one return for everything: with every term summed into one sequence reward
(gamma = lambda = 1), each chord of a 128-frame rollout gets the same advantage R - V and
its own effect on R is about 1/T of it; the gradient is then mostly noise, and per-token
KL terms summed as reward-to-go carry a trend along the window that drowns the sequence
signal. The comparison is in ``docs/results/rl-credit/``.
"""

from __future__ import annotations

import numpy as np
import torch

from cojam.data.tokens import FRAMES_PER_BEAT, TokenSpec
from cojam.eval.key_finding import outside_key
from cojam.rewards.frames import (
    FrameView,
    chord_pc_table,
    frame_view,
    frames_clashing,
    frames_in_chord,
    frames_out_of_key,
    frames_unaccompanied,
)
from cojam.rl.config import PPOConfig
from cojam.rl.losses import gae, masked_mean

LOCAL, SEQUENCE = 0, 1  # the value head's columns


def attacks_off_beat(view: FrameView) -> np.ndarray:
    """(T,) bool: a chord is attacked on a frame that is not the start of a beat."""
    return view.chord_onset & (np.arange(view.num_frames) % FRAMES_PER_BEAT != 0)


def change_rates(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec) -> torch.Tensor:
    """(B,) changes of harmony per beat of each row's real frames (``harmony_changes``)."""
    beats = mask.sum(1).clamp(min=1) / FRAMES_PER_BEAT
    return harmony_changes(chords, mask, spec).sum(1) / beats


def data_change_rate(chords: list[np.ndarray], spec: TokenSpec) -> float:
    """Changes of harmony per beat over token rows of data chords (the training windows):
    the harmonic rhythm the rhythm term steers toward."""
    attacks = sum(harmony_changes(torch.as_tensor(c)[None],
                                  torch.ones(1, len(c), dtype=torch.bool), spec).sum().item()
                  for c in chords)
    beats = sum(len(c) for c in chords) / FRAMES_PER_BEAT
    return attacks / max(beats, 1.0)


def rhythm_shares(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec,
                  config: PPOConfig, data_rate: float | torch.Tensor | None) -> torch.Tensor:
    """(B,) what each change of harmony in a row earns under the harmonic-rhythm term:
    ``-2 * rhythm_weight * (row's changes per beat - data_rate)``; 0 without the term.
    ``data_rate`` is one rate for every row or a (B,) rate of each row's own
    (``row_change_targets``)."""
    if not config.rhythm_weight or data_rate is None:
        return torch.zeros(len(chords), device=chords.device)
    return -2.0 * config.rhythm_weight * (change_rates(chords, mask, spec) - data_rate)


def row_change_targets(song_rows: torch.Tensor | None, data_rate: float | None,
                       config: PPOConfig) -> float | torch.Tensor | None:
    """The harmonic rhythm each row is steered toward: the data's ``data_rate``, or (B,)
    with ``song_change_rate`` on the ``song_rows`` (B,) bool, the song-style rows."""
    if data_rate is None or config.song_change_rate is None or song_rows is None:
        return data_rate
    return torch.where(song_rows, torch.tensor(config.song_change_rate),
                       torch.tensor(data_rate)).float().to(song_rows.device)


def key_weights(config: PPOConfig, n_rows: int, song_rows: torch.Tensor | None = None
                ) -> torch.Tensor:
    """(B,) each row's cost per melody frame under a chord outside the key:
    ``key_penalty``, plus ``song_key_penalty`` on the ``song_rows``."""
    weights = torch.full((n_rows,), float(config.key_penalty))
    if song_rows is not None and config.song_key_penalty:
        weights = weights + config.song_key_penalty * song_rows.float().cpu()
    return weights


# each frame-local rule term's (T,) flags of the frames (or attacks) it pays for
FRAME_FLAGS = {"note_in_chord": frames_in_chord, "clashes": frames_clashing,
               "silence": frames_unaccompanied, "out_of_key": frames_out_of_key,
               "off_beat": attacks_off_beat,
               "changes": lambda view: view.chord_onset}


def frame_terms(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
                spec: TokenSpec, config: PPOConfig,
                data_rate: float | torch.Tensor | None = None,
                song_rows: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """{term: (B, T) weighted reward of each chord token} for the rule terms that are
    frame-local; terms with weight 0 are left out (the rhythm term also without
    ``data_rate``, the data's attacks per beat). ``song_rows`` (B,) bool: the song-style
    rows (``song_key_penalty``). Padding gets 0."""
    B, T = melody.shape
    key = key_weights(config, B, song_rows).numpy()
    weights = {"note_in_chord": config.note_in_chord_weight,
               "clashes": -config.clash_penalty, "silence": -config.silence_penalty,
               "out_of_key": -key,
               "off_beat": -config.off_beat_penalty, "changes": -config.change_penalty}
    weights = {name: np.broadcast_to(w, (B,)) for name, w in weights.items() if np.any(w)}
    terms = {name: np.zeros((B, T), dtype=np.float32) for name in weights}
    for i, (m, c, real) in enumerate(zip(melody.cpu().numpy(), chords.cpu().numpy(),
                                         mask.cpu().numpy(), strict=True)):
        frames = np.flatnonzero(real)
        view = frame_view(m[frames], c[frames], spec)
        for name, weight in weights.items():
            terms[name][i, frames] = weight[i] * FRAME_FLAGS[name](view)
    result = {name: torch.from_numpy(value) for name, value in terms.items()}
    if config.restrike_penalty:  # attacks that bring no change of harmony
        result["restrike"] = -config.restrike_penalty * (
            attack_tokens(chords, mask, spec) - harmony_changes(chords, mask, spec)).cpu()
    if config.rhythm_weight and data_rate is not None:
        result["harmonic_rhythm"] = (rhythm_shares(chords, mask, spec, config, data_rate)[:, None]
                                     * harmony_changes(chords, mask, spec))
    return result


def sounding_chords(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec
                    ) -> torch.Tensor:
    """(B, T) long: index into ``spec.chords`` of the chord sounding at each frame, -1 for
    chord silence and padding."""
    return torch.where((chords > spec.chord_silence) & mask,
                       (chords - spec.chord_silence - 1) // 2, -1)


def previous_sounding(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec
                      ) -> torch.Tensor:
    """(B, T) long: the chord sounding on the frame before each (-1 before the first)."""
    sounding = sounding_chords(chords, mask, spec)
    return torch.cat([torch.full_like(sounding[:, :1], -1), sounding[:, :-1]], dim=1)


def harmony_changes(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec
                    ) -> torch.Tensor:
    """(B, T) float: 1 where an attack brings a chord other than the one sounding before
    (re-attacking the sounding chord changes no harmony)."""
    changed = sounding_chords(chords, mask, spec) != previous_sounding(chords, mask, spec)
    return attack_tokens(chords, mask, spec) * changed


def attack_tokens(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec
                  ) -> torch.Tensor:
    """(B, T) float: 1 where a chord is attacked (as ``frame_view`` counts onsets)."""
    offset = chords - spec.chord_silence - 1
    sounding = (chords > spec.chord_silence) & mask
    previous = torch.cat([torch.full_like(chords[:, :1], -1), chords[:, :-1]], dim=1)
    dangling = (offset % 2 == 1) & (previous != chords - 1) & (previous != chords)
    return (sounding & ((offset % 2 == 0) | dangling)).float()


def token_terms(mask: torch.Tensor, log_probs: torch.Tensor, mle_log_probs: torch.Tensor,
                teacher_log_probs: torch.Tensor | None, config: PPOConfig
                ) -> dict[str, torch.Tensor]:
    """{``kl``, ``distill``: (B, T) weighted per-token reward}: the sampled KL to the MLE
    model and the distillation term of each chord token (``distill`` only with a teacher
    and a weight)."""
    real = mask.float()
    terms = {"kl": -config.kl_coef * (log_probs - mle_log_probs) * real}
    if teacher_log_probs is not None and config.distill_coef:
        terms["distill"] = config.distill_coef * (teacher_log_probs - log_probs) * real
    return terms


def span_returns(local: torch.Tensor, attacks: torch.Tensor, mask: torch.Tensor
                 ) -> torch.Tensor:
    """(B, T) local rewards -> (B, T) each token's sum of them up to the next start of a
    span (or the row's end). ``attacks`` (B, T) bool marks the frames that start one
    (``span_starts``: a chord attack, a silence, a beat line)."""
    real = mask.to(local.dtype)
    returns = torch.zeros_like(local)
    running = torch.zeros(local.shape[0], dtype=local.dtype, device=local.device)
    for t in reversed(range(local.shape[1])):
        if t + 1 < local.shape[1]:
            running = running * (~attacks[:, t + 1]).to(local.dtype) * real[:, t + 1]
        running = (local[:, t] + running) * real[:, t]
        returns[:, t] = running
    return returns


def span_starts(chords: torch.Tensor, spec: TokenSpec) -> torch.Tensor:
    """(B, T) bool: the token starts a span of credit: it is not a hold (a chord attack,
    a silence or padding), or it is the first frame of a beat."""
    offset = chords - spec.chord_silence - 1
    hold = (chords > spec.chord_silence) & (offset % 2 == 1)
    beat = torch.arange(chords.shape[1], device=chords.device) % FRAMES_PER_BEAT == 0
    return ~hold | beat


def on_last_token(sequence: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) window rewards -> (B, T) with each on its row's last real token."""
    rewards = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    last = mask.long().sum(1) - 1  # (B,)
    rewards[torch.arange(len(last), device=mask.device), last] = sequence.to(rewards)
    return rewards


def advantages(
    local: torch.Tensor,  # (B, T) frame-local reward of each token
    attacks: torch.Tensor,  # (B, T) bool, from span_starts
    sequence: torch.Tensor,  # (B,) sequence-level reward of each window
    values: torch.Tensor,  # (B, T, 2) value head: local baseline, sequence value
    mask: torch.Tensor,  # (B, T) bool real tokens
    config: PPOConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """((B, T) advantage of each token, (B, T, 2) the value head's targets). The local
    advantage is the token's span return minus its baseline; the sequence advantage is
    GAE over the window reward; their sum is what the policy follows."""
    real = mask.to(local.dtype)
    local = span_returns(local, attacks, mask)
    local_advantage = (local - values[..., LOCAL]) * real
    sequence_advantage = gae(on_last_token(sequence, mask), values[..., SEQUENCE], mask,
                             config.gamma, config.gae_lambda)
    targets = torch.stack([local * real, (sequence_advantage + values[..., SEQUENCE]) * real],
                          dim=-1)
    return local_advantage + sequence_advantage, targets


def span_ends(starts: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) long: for each token, the first later position that starts a span (``starts``
    from ``span_starts``) or is padding; T where none does."""
    B, T = starts.shape
    position = torch.arange(T, device=starts.device).expand(B, T)
    opens = torch.where(starts | ~mask, position, T)  # (B, T)
    later = torch.cat([opens[:, 1:], torch.full((B, 1), T, device=starts.device)], dim=1)
    return later.flip(1).cummin(1).values.flip(1)


def chord_classes(chords: torch.Tensor, mask: torch.Tensor, spec: TokenSpec
                  ) -> torch.Tensor:
    """(B, T) long: the class of each real frame for the chord marginal: the index of the
    chord sounding (``sounding_chords``), ``len(spec.chords)`` for chord silence, -1 for
    padding."""
    sounding = sounding_chords(chords, mask, spec)
    return torch.where(mask & (sounding < 0), len(spec.chords), sounding)


def data_chord_marginal(chords: list[np.ndarray], spec: TokenSpec, smoothing: float = 0.5
                        ) -> torch.Tensor:
    """(C + 1,) the share of frames sounding each chord of ``spec.chords`` (then silence)
    over token rows of data chords, counts smoothed by ``smoothing`` each."""
    counts = torch.full((len(spec.chords) + 1,), smoothing, dtype=torch.float64)
    for row in chords:
        row = torch.as_tensor(row)[None]
        classes = chord_classes(row, torch.ones_like(row, dtype=torch.bool), spec)
        counts += torch.bincount(classes.flatten(), minlength=len(counts)).double()
    return (counts / counts.sum()).float()


def token_classes(spec: TokenSpec) -> torch.Tensor:
    """(V,) long: the marginal's class of each token's chord (attack and hold of chord i:
    i; chord silence: C), -1 for tokens that are not chord tokens."""
    tokens = torch.arange(spec.vocab_size)[None]
    return chord_classes(tokens, tokens >= spec.chord_silence, spec)[0]


def marginal_rewards(log_p: torch.Tensor, rows: torch.Tensor, mask: torch.Tensor,
                     data_marginal: torch.Tensor, spec: TokenSpec, config: PPOConfig
                     ) -> torch.Tensor:
    """(V,) what the chord-vocabulary term pays each token: ``marginal_weight * (log
    p_data(c) - log q(c))`` clipped to +-``marginal_clip``, c the token's chord class, q
    the policy's (``log_p``, masked log-probs) expected share of the real frames of
    ``rows`` sounding c; 0 for tokens that are not chord tokens."""
    classes = token_classes(spec).to(log_p.device)
    chord_tokens = classes >= 0
    used = (mask & rows[:, None]).to(log_p.dtype)  # (B, T)
    p_tokens = (log_p.exp() * used[..., None]).sum((0, 1))[chord_tokens]  # (V_chord,)
    q = torch.zeros(len(data_marginal), device=log_p.device, dtype=log_p.dtype)
    q.index_add_(0, classes[chord_tokens], p_tokens)
    q = q / q.sum().clamp(min=1e-12)
    ratio = (data_marginal.to(q).log() - q.clamp(min=1e-12).log()).clamp(
        -config.marginal_clip, config.marginal_clip)
    rewards = torch.zeros(spec.vocab_size, device=log_p.device, dtype=log_p.dtype)
    rewards[chord_tokens] = config.marginal_weight * ratio[classes[chord_tokens]]
    return rewards


def candidate_rewards(melody: torch.Tensor, chords: torch.Tensor, mask: torch.Tensor,
                      spec: TokenSpec, config: PPOConfig,
                      data_rate: float | torch.Tensor | None = None,
                      song_rows: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, V) what the frame-local rule terms would pay token v in place of the chord
    token played at t, the rest of the rollout as played: v's chord sounds from t to the
    end of the played span (``span_ends``), earning ``note_in_chord_weight`` per
    melody-sounding frame whose pitch class it holds and paying ``clash_penalty`` per one
    it holds a pitch class a semitone from and its row's ``key_weights`` per one if it
    holds a pitch class outside the row's key, and silence paying ``silence_penalty`` per
    melody-sounding frame; a chord attack costs
    ``change_penalty``, and ``off_beat_penalty`` more off a beat, and earns its row's
    ``rhythm_shares`` (with ``data_rate``) unless it re-attacks the chord sounding before,
    which costs ``restrike_penalty`` instead; a hold and silence cost no attack. Tokens that
    are not chords get 0 (the policy's mask gives them no mass)."""
    B, T = melody.shape
    device = melody.device
    sounding = spec.is_melody(melody) & (melody != spec.melody_silence) & mask
    pitch = spec.min_pitch + (melody - 3).clamp(min=0) // 2
    pcs = torch.nn.functional.one_hot(pitch % 12, 12).float() * sounding[..., None]
    cumulative = torch.cat([torch.zeros(B, 1, 12, device=device), pcs.cumsum(1)], dim=1)
    ends = span_ends(span_starts(chords, spec), mask)  # (B, T)
    heard = cumulative.gather(1, ends[..., None].expand(B, T, 12)) - cumulative[:, :T]
    table = torch.zeros(spec.vocab_size, 12, device=device)  # pitch classes of each token
    pc_rows = torch.from_numpy(chord_pc_table(spec.chords)[:-1]).float().to(device)
    attacks = spec.chord_silence + 1 + 2 * torch.arange(len(spec.chords), device=device)
    table[attacks], table[attacks + 1] = pc_rows, pc_rows
    values = config.note_in_chord_weight * heard @ table.T  # (B, T, V)
    if config.clash_penalty:  # token v rubs against melody pitch class p
        rubs = (table.roll(1, dims=1) + table.roll(-1, dims=1)).clamp(max=1.0)
        values = values - config.clash_penalty * heard @ rubs.T
    if config.silence_penalty:
        values[..., spec.chord_silence] -= config.silence_penalty * heard.sum(-1)
    key = key_weights(config, B, song_rows).to(device)
    if key.any():  # token v holds a pitch class outside its row's key
        outside = np.stack([outside_key(row) for row in pcs.sum(1).cpu().numpy()])
        out_of_key = (torch.from_numpy(outside).float().to(device) @ table.T).clamp(max=1.0)
        values = values - (key[:, None, None] * heard.sum(-1)[..., None]
                           * out_of_key[:, None])
    off_beat = (torch.arange(T, device=device) % FRAMES_PER_BEAT != 0).float()  # (T,)
    values[..., attacks] -= (config.change_penalty
                             + config.off_beat_penalty * off_beat[None, :, None])
    shares = rhythm_shares(chords, mask, spec, config, data_rate)  # (B,)
    before = previous_sounding(chords, mask, spec)  # (B, T)
    again = torch.where(before >= 0, spec.chord_silence + 1 + 2 * before,
                        spec.chord_silence)[..., None]  # silence: never an attack anyway
    if shares.any():  # every attack but the re-attack of the chord sounding before
        changes = torch.zeros_like(values)
        changes[..., attacks] = 1.0
        changes.scatter_(2, again, 0.0)
        values = values + shares[:, None, None] * changes
    if config.restrike_penalty:
        restrike = torch.zeros_like(values).scatter_(2, again, 1.0)
        restrike[..., spec.chord_silence] = 0.0
        values = values - config.restrike_penalty * restrike
    return values * mask[..., None]


def expected_advantages(values: torch.Tensor, log_p: torch.Tensor, rows: torch.Tensor,
                        mask: torch.Tensor) -> torch.Tensor:
    """(B, T, V) candidate rewards -> each candidate's advantage over the expectation under
    the policy that played (``log_p``, masked log-probs), scaled to unit policy-weighted
    spread over the real tokens of ``rows`` (B,) bool, like normalised sampled advantages;
    0 on other rows and padding."""
    p = log_p.exp()
    used = mask & rows[:, None]  # (B, T)
    centred = values - (p * values).sum(-1, keepdim=True)
    spread = masked_mean((p * centred**2).sum(-1), used).sqrt()
    return centred / (spread + 1e-8) * used[..., None]


def expected_loss(log_p: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor
                  ) -> torch.Tensor:
    """Minus the expected advantage under the current policy (``log_p``, masked log-probs)
    per real token of the rows that have expected advantages: its gradient is the exact
    policy gradient of the frame-local terms at each visited state."""
    used = mask & (advantages != 0).any(-1)
    return -masked_mean((log_p.exp() * advantages).sum(-1), used)
