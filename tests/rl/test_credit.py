"""Credit assignment on hand-made rollouts: each term lands on the token that caused it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from rl_helpers import TINY_PPO

from cojam.data.tokens import PAD, TokenSpec
from cojam.rewards.frames import frame_view
from cojam.rl import credit
from cojam.rl.losses import gae
from cojam.rl.rollout import exact_kl

NOTHING = dict(note_in_chord_weight=0.0, off_beat_penalty=0.0, change_penalty=0.0,
               kl_coef=0.0, distill_coef=0.0)


def rollout(spec: TokenSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row 0, two beats: E (4 frames) then F (2) then D (2) over C attacked on frame 0 and
    G attacked off the beat on frame 5; row 1: three frames then padding, no chord on
    frame 1."""
    e, f, d = (spec.melody_on(p) for p in (64, 65, 62))
    c, g = spec.chord_on("C"), spec.chord_on("G")
    melody = torch.tensor([[e, e + 1, e + 1, e + 1, f, f + 1, d, d + 1],
                           [e, e + 1, e + 1, PAD, PAD, PAD, PAD, PAD]])
    chords = torch.tensor([[c, c + 1, c + 1, c + 1, c + 1, g, g + 1, g + 1],
                           [c, spec.chord_silence, c, PAD, PAD, PAD, PAD, PAD]])
    mask = torch.tensor([[True] * 8, [True] * 3 + [False] * 5])
    return melody, chords, mask


def test_note_in_chord_is_paid_to_each_frames_own_chord(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "note_in_chord_weight": 2.0})
    terms = credit.frame_terms(*rollout(rl_spec), rl_spec, config)
    assert set(terms) == {"note_in_chord"}
    # E in C (frames 0-3), F not in C (4), F not in G (5), D in G (6, 7)
    assert terms["note_in_chord"][0].tolist() == [2, 2, 2, 2, 0, 0, 2, 2]
    # no chord under E on frame 1 counts as outside; padding earns nothing
    assert terms["note_in_chord"][1].tolist() == [2, 0, 2, 0, 0, 0, 0, 0]


def test_a_clash_is_paid_to_the_chord_that_rubs(rl_spec: TokenSpec) -> None:
    """F rubs against C's E and G's F# is not in G: F over C clashes, F over G does not;
    E over C and D over G hold no semitone neighbour."""
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "clash_penalty": 0.5})
    terms = credit.frame_terms(*rollout(rl_spec), rl_spec, config)
    assert set(terms) == {"clashes"}
    assert terms["clashes"][0].tolist() == [0, 0, 0, 0, -0.5, 0, 0, 0]
    melody, chords, mask = rollout(rl_spec)
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config)
    c, g = rl_spec.chord_on("C"), rl_spec.chord_on("G")
    assert values[0, 4, c].item() == pytest.approx(-0.5)  # frame 4's span: F alone
    assert values[0, 4, g].item() == 0.0
    assert values[0, 0, g].item() == 0.0  # E E E E under G: no rub (F# is not in G)


def test_silence_under_the_melody_is_paid_to_the_silent_frame(rl_spec: TokenSpec) -> None:
    """Row 1 holds no chord under the E of frame 1: that frame pays; in its place any
    chord would cost nothing, and silence in place of a chord would pay per melody frame
    of the chord's span."""
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "silence_penalty": 0.8})
    melody, chords, mask = rollout(rl_spec)
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config)
    assert set(terms) == {"silence"}
    assert terms["silence"][0].abs().sum().item() == 0.0
    assert terms["silence"][1].tolist() == pytest.approx([0, -0.8, 0, 0, 0, 0, 0, 0])
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config)
    silence, c = rl_spec.chord_silence, rl_spec.chord_on("C")
    assert values[1, 1, silence].item() == pytest.approx(-0.8)
    assert values[1, 1, c].item() == 0.0
    assert values[0, 0, silence].item() == pytest.approx(-0.8 * 4)  # C's span: E E E E


def test_a_chord_outside_the_melodys_key_is_paid_per_melody_frame(rl_spec: TokenSpec) -> None:
    """A C-major scale (C D E F G A B C, a frame each) over C then Eb: the key heard from
    the whole window is C major, so Eb's Eb and Bb pay on each of its frames; in C's
    place D (its F#) would pay for C's four frames, G nothing."""
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "key_penalty": 0.3})
    melody = torch.tensor([[rl_spec.melody_on(p) for p in (60, 62, 64, 65, 67, 69, 71, 72)]])
    c, e_flat = rl_spec.chord_on("C"), rl_spec.chord_on("Eb")
    chords = torch.tensor([[c, c + 1, c + 1, c + 1, e_flat, e_flat + 1, e_flat + 1,
                            e_flat + 1]])
    mask = torch.ones_like(melody, dtype=torch.bool)
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config)
    assert set(terms) == {"out_of_key"}
    assert terms["out_of_key"][0].tolist() == pytest.approx([0, 0, 0, 0, -0.3, -0.3, -0.3, -0.3])
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config)
    assert values[0, 0, rl_spec.chord_on("D")].item() == pytest.approx(-0.3 * 4)
    assert values[0, 0, rl_spec.chord_on("G")].item() == 0.0
    assert values[0, 4, e_flat].item() == pytest.approx(-0.3 * 4)
    assert values[0, 4, rl_spec.chord_silence].item() == 0.0  # silence holds no note


def test_the_song_key_penalty_is_paid_on_the_song_rows_only(rl_spec: TokenSpec) -> None:
    """The scale over C then Eb twice: row 1 is a song-style row and pays key_penalty
    plus song_key_penalty, row 0 key_penalty alone."""
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "key_penalty": 0.1,
                                              "song_key_penalty": 0.4, "song_style": True})
    melody = torch.tensor([[rl_spec.melody_on(p) for p in (60, 62, 64, 65, 67, 69, 71, 72)]] * 2)
    c, e_flat = rl_spec.chord_on("C"), rl_spec.chord_on("Eb")
    chords = torch.tensor([[c, c + 1, c + 1, c + 1, e_flat, e_flat + 1, e_flat + 1,
                            e_flat + 1]] * 2)
    mask = torch.ones_like(melody, dtype=torch.bool)
    song = torch.tensor([False, True])
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config, song_rows=song)
    assert terms["out_of_key"][:, 4].tolist() == pytest.approx([-0.1, -0.5])
    assert terms["out_of_key"][:, :4].abs().sum().item() == 0.0
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config, song_rows=song)
    assert values[:, 0, rl_spec.chord_on("D")].tolist() == pytest.approx([-0.4, -2.0])
    # without the song rows (or the style) only key_penalty is paid
    plain = credit.frame_terms(melody, chords, mask, rl_spec, config)["out_of_key"]
    assert plain[:, 4].tolist() == pytest.approx([-0.1, -0.1])
    with pytest.raises(ValueError, match="song_key_penalty"):
        dataclasses.replace(config, song_style=False)


def test_the_rhythm_guard_charges_the_attack_that_broke_it(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "off_beat_penalty": 1.0,
                                              "change_penalty": 0.25})
    terms = credit.frame_terms(*rollout(rl_spec), rl_spec, config)
    assert terms["off_beat"][0].tolist() == [0, 0, 0, 0, 0, -1, 0, 0]  # G on frame 5
    assert terms["off_beat"][1].tolist() == [0, 0, -1, 0, 0, 0, 0, 0]  # C again on frame 2
    assert terms["changes"][0].tolist() == [-0.25, 0, 0, 0, 0, -0.25, 0, 0]
    assert terms["changes"][1].tolist() == [-0.25, 0, -0.25, 0, 0, 0, 0, 0]


def test_kl_and_distillation_are_per_token(rl_spec: TokenSpec) -> None:
    mask = torch.tensor([[True, True, True], [True, True, False]])
    log_probs = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, -9.0]])
    mle = torch.tensor([[-1.5, -1.0, -0.5], [-2.0, -1.0, 0.0]])
    teacher = torch.tensor([[-0.5, -3.0, -0.5], [-1.0, -0.5, 0.0]])
    config = dataclasses.replace(TINY_PPO, kl_coef=0.1, distill_coef=0.01)
    terms = credit.token_terms(mask, log_probs, mle, teacher, config)
    assert torch.allclose(terms["kl"], -0.1 * (log_probs - mle) * mask)
    assert torch.allclose(terms["distill"], 0.01 * (teacher - log_probs) * mask)
    assert terms["kl"][1, 2] == 0 and terms["distill"][1, 2] == 0  # padding
    assert set(credit.token_terms(mask, log_probs, mle, None, config)) == {"kl"}


def test_a_frame_local_reward_stays_on_its_token_and_sequence_rewards_travel_back(
) -> None:
    config = dataclasses.replace(TINY_PPO, gamma=1.0, gae_lambda=0.5)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    local = torch.tensor([[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]])
    sequence = torch.tensor([8.0, -4.0])
    values = torch.zeros(2, 4, 2)
    values[..., credit.LOCAL] = 0.5
    attacks = torch.ones(2, 4, dtype=torch.bool)  # every token starts a chord
    advantage, targets = credit.advantages(local, attacks, sequence, values, mask, config)
    # local part: the token's own reward minus its baseline, nothing from later chords
    # sequence part: lambda-discounted back from the last token (zero critic)
    expected = torch.tensor([[-0.5 + 1.0, 0.5 + 2.0, -0.5 + 4.0, -0.5 + 8.0],
                             [1.5 - 2.0, -0.5 - 4.0, 0.0, 0.0]])
    assert torch.allclose(advantage, expected)
    assert torch.allclose(targets[..., credit.LOCAL], local * mask)
    assert torch.allclose(targets[..., credit.SEQUENCE],
                          gae(credit.on_last_token(sequence, mask), values[..., 1], mask,
                              1.0, 0.5))
    assert (targets[1, 2:] == 0).all()


def test_a_perfect_critic_leaves_no_sequence_advantage() -> None:
    config = dataclasses.replace(TINY_PPO, gamma=1.0, gae_lambda=0.95)
    mask = torch.ones(1, 5, dtype=torch.bool)
    values = torch.zeros(1, 5, 2)
    values[..., credit.SEQUENCE] = 3.0  # predicts the window reward everywhere
    advantage, _ = credit.advantages(torch.zeros(1, 5), mask, torch.tensor([3.0]), values,
                                     mask, config)
    assert torch.allclose(advantage, torch.zeros(1, 5))


def test_a_frame_pays_its_chords_attack_or_beat_but_not_the_chord_before(
        rl_spec: TokenSpec) -> None:
    melody, chords, mask = rollout(rl_spec)
    attacks = credit.span_starts(chords, rl_spec)
    # C attacked on frame 0, a beat line at frame 4, G attacked on frame 5
    assert attacks[0].tolist() == [True, False, False, False, True, True, False, False]
    assert attacks[1, :3].tolist() == [True, True, True]  # a silence starts a span too
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "note_in_chord_weight": 1.0})
    local = credit.frame_terms(melody, chords, mask, rl_spec, config)["note_in_chord"]
    returns = credit.span_returns(local, attacks, mask)
    # C sounds on frames 0-4 (in, in, in, in | out), G on 5-7 (out, in, in): the beat
    # line at frame 4 stops frame 4's miss from reaching the attack on frame 0
    local[0, 4] = -5.0
    returns = credit.span_returns(local, attacks, mask)
    assert returns[0].tolist() == [4, 3, 2, 1, -5, 2, 2, 1]
    assert returns[1].tolist() == [1, 0, 1, 0, 0, 0, 0, 0]


def test_on_last_token_puts_each_window_reward_at_its_end() -> None:
    mask = torch.tensor([[True, True, True], [True, False, False]])
    assert credit.on_last_token(torch.tensor([1.0, 2.0]), mask).tolist() == [
        [0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]


def test_exact_kl_over_the_allowed_tokens() -> None:
    allowed = torch.tensor([True, True, False])
    p = torch.tensor([0.25, 0.75, 0.0])
    q = torch.tensor([0.5, 0.5, 0.0])
    log_p = torch.where(allowed, p.log(), float("-inf"))
    log_q = torch.where(allowed, q.log(), float("-inf"))
    expected = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert exact_kl(log_p, log_q).item() == pytest.approx(expected)
    assert exact_kl(log_p, log_p).item() == 0.0


def test_a_candidate_is_scored_on_the_melody_of_the_played_span(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "note_in_chord_weight": 1.0,
                                              "off_beat_penalty": 1.0, "change_penalty": 0.25})
    melody, chords, mask = rollout(rl_spec)
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config)
    c, g, am = (rl_spec.chord_on(s) for s in ("C", "G", "Am"))
    # frame 0 opens beat 0, whose span runs to frame 4: E E E E
    assert values[0, 0, c].item() == pytest.approx(4 - 0.25)  # E is in C
    assert values[0, 0, am].item() == pytest.approx(4 - 0.25)  # and in Am
    assert values[0, 0, g].item() == pytest.approx(0 - 0.25)  # not in G
    assert values[0, 0, c + 1].item() == pytest.approx(4)  # a hold of C: no attack cost
    # frame 5 is off the beat; its span (G's) runs to the row's end: F D D
    assert values[0, 5, g].item() == pytest.approx(2 - 0.25 - 1.0)
    assert values[0, 5, rl_spec.chord_silence].item() == 0.0
    assert values[0, 5, rl_spec.melody_on(64)].item() == 0.0  # not a chord token
    assert values[1, 3:].abs().sum().item() == 0.0  # padding


def test_the_played_candidate_earns_its_sampled_span_return(rl_spec: TokenSpec) -> None:
    """Both credit modes value the chord that was played alike: the expected mode only
    adds the chords that were not."""
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "note_in_chord_weight": 1.0,
                                              "off_beat_penalty": 2.0, "change_penalty": 0.5,
                                              "rhythm_weight": 0.3, "clash_penalty": 0.7,
                                              "silence_penalty": 0.6, "key_penalty": 0.4})
    melody, chords, mask = rollout(rl_spec)
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config, 0.9)
    assert all(term.any() for term in terms.values())  # every term pays somewhere here
    local = sum(terms.values())
    sampled = credit.span_returns(local, credit.span_starts(chords, rl_spec), mask)
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config, 0.9)
    played = values.gather(2, torch.where(mask, chords, 0)[..., None])[..., 0] * mask
    assert torch.allclose(played, sampled)


def test_expected_advantages_are_centred_under_the_policy_on_their_rows_only() -> None:
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3, 4, 5, generator=generator)
    log_p = torch.randn(3, 4, 5, generator=generator).log_softmax(-1)
    log_p[..., 4] = float("-inf")  # a token the mask forbids
    log_p = log_p.log_softmax(-1)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True] * 4])
    rows = torch.tensor([True, True, False])
    advantages = credit.expected_advantages(values, log_p, rows, mask)
    p = log_p.exp()
    assert torch.allclose((p * advantages).sum(-1), torch.zeros(3, 4), atol=1e-6)
    assert advantages[2].abs().sum() == 0 and advantages[1, 2:].abs().sum() == 0
    spread = (p * advantages**2).sum(-1)[mask & rows[:, None]].mean()
    assert spread.item() == pytest.approx(1.0, rel=1e-5)


def test_the_expected_loss_moves_mass_to_the_better_candidates() -> None:
    logits = torch.zeros(1, 1, 3, requires_grad=True)
    advantages = torch.tensor([[[1.0, 0.0, -1.0]]])
    credit.expected_loss(logits.log_softmax(-1), advantages,
                         torch.tensor([[True]])).backward()
    grad = logits.grad[0, 0]
    assert grad[0] < 0 < grad[2]  # a descent step raises candidate 0, lowers candidate 2


def test_attacks_are_counted_as_the_frame_view_counts_them(rl_spec: TokenSpec) -> None:
    melody, chords, mask = rollout(rl_spec)
    chords[0, 3] = rl_spec.chord_hold("G")  # a hold that continues nothing: an attack
    for row in range(2):
        real = mask[row]
        view = frame_view(melody[row][real].numpy(), chords[row][real].numpy(), rl_spec)
        counted = credit.attack_tokens(chords, mask, rl_spec)[row][real]
        assert counted.bool().tolist() == view.chord_onset.tolist()
    # frame 4 holds C after G: dangling too; row 1 re-attacks C after silence: a change
    assert credit.change_rates(chords, mask, rl_spec).tolist() == pytest.approx(
        [4 / 2, 2 / 0.75])


def test_the_harmonic_rhythm_term_pays_attacks_toward_the_datas_rate(
        rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "rhythm_weight": 0.5})
    melody, chords, mask = rollout(rl_spec)  # row 0: 2 attacks in 2 beats
    assert credit.frame_terms(melody, chords, mask, rl_spec, config) == {}  # no data rate
    slow = credit.frame_terms(melody, chords, mask, rl_spec, config, 1.5)["harmonic_rhythm"]
    assert slow[0].tolist() == [0.5, 0, 0, 0, 0, 0.5, 0, 0]  # -2 * 0.5 * (1 - 1.5)
    fast = credit.frame_terms(melody, chords, mask, rl_spec, config, 0.5)["harmonic_rhythm"]
    assert fast[0].tolist() == [-0.5, 0, 0, 0, 0, -0.5, 0, 0]
    windows = [chords[0].numpy(), chords[0, 1:4].numpy()]  # C then G; a dangling hold
    assert credit.data_change_rate(windows, rl_spec) == pytest.approx(3 / 2.75)


def test_song_style_rows_are_steered_to_their_own_rate(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "rhythm_weight": 0.5,
                                              "song_style": True, "song_change_rate": 0.25})
    melody, chords, mask = rollout(rl_spec)
    melody, chords, mask = (torch.cat([x, x[:1]]) for x in (melody, chords, mask))
    song = torch.tensor([False, False, True])  # rows 0 and 2 alike but for their style
    rates = credit.row_change_targets(song, 1.5, config)
    assert rates.tolist() == [1.5, 1.5, 0.25]
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config, rates)["harmonic_rhythm"]
    assert terms[0].tolist() == [0.5, 0, 0, 0, 0, 0.5, 0, 0]  # slower than the data: earns
    assert terms[2].tolist() == [-0.75, 0, 0, 0, 0, -0.75, 0, 0]  # -2 * 0.5 * (1 - 0.25)
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config, rates)
    g = rl_spec.chord_on("G")
    assert values[2, 0, g].item() - values[0, 0, g].item() == pytest.approx(-1.25)
    # without the song rate, or without the style, every row keeps the data's
    assert credit.row_change_targets(None, 1.5, config) == 1.5
    assert credit.row_change_targets(song, None, config) is None
    with pytest.raises(ValueError, match="song_change_rate"):
        dataclasses.replace(config, song_style=False)


def test_re_attacking_the_sounding_chord_is_no_change_of_harmony(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "rhythm_weight": 0.5})
    melody, chords, mask = rollout(rl_spec)
    c, g = rl_spec.chord_on("C"), rl_spec.chord_on("G")
    chords[0, 4] = c  # C struck again on beat 1: no change of harmony
    assert credit.harmony_changes(chords, mask, rl_spec)[0].tolist() == [1, 0, 0, 0, 0, 1, 0, 0]
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config, 1.5)
    assert terms["harmonic_rhythm"][0].tolist() == [0.5, 0, 0, 0, 0, 0.5, 0, 0]
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config, 1.5)
    assert values[0, 4, c].item() == values[0, 4, c + 1].item()  # strike again = hold
    assert values[0, 4, g].item() == pytest.approx(0.5)  # a change earns its share


def test_a_restrike_costs_what_the_sampled_credit_charges(rl_spec: TokenSpec) -> None:
    config = dataclasses.replace(TINY_PPO, **{**NOTHING, "restrike_penalty": 0.7,
                                              "note_in_chord_weight": 1.0})
    melody, chords, mask = rollout(rl_spec)
    c, g = rl_spec.chord_on("C"), rl_spec.chord_on("G")
    chords[0, 4] = c  # C struck again on beat 1
    terms = credit.frame_terms(melody, chords, mask, rl_spec, config)
    assert terms["restrike"][0].tolist() == pytest.approx([0, 0, 0, 0, -0.7, 0, 0, 0])
    assert terms["restrike"][1].abs().sum() == 0  # C after silence is a change
    values = credit.candidate_rewards(melody, chords, mask, rl_spec, config)
    assert values[0, 4, c].item() == pytest.approx(values[0, 4, c + 1].item() - 0.7)
    assert values[0, 4, g].item() == pytest.approx(0.0)  # F over G: no cost, no gain
    local = sum(terms.values())
    sampled = credit.span_returns(local, credit.span_starts(chords, rl_spec), mask)
    played = values.gather(2, torch.where(mask, chords, 0)[..., None])[..., 0] * mask
    assert torch.allclose(played, sampled)


def test_the_data_chord_marginal_counts_frames_and_silence(rl_spec: TokenSpec) -> None:
    c, g = rl_spec.chord_on("C"), rl_spec.chord_on("G")
    rows = [np.array([c, c + 1, c + 1, g]), np.array([rl_spec.chord_silence, g + 1 - 1])]
    marginal = credit.data_chord_marginal(rows, rl_spec, smoothing=0.0)
    silence = len(rl_spec.chords)
    index = {s: i for i, s in enumerate(rl_spec.chords)}
    assert marginal.sum().item() == pytest.approx(1.0)
    assert marginal[index["C"]].item() == pytest.approx(3 / 6)
    assert marginal[index["G"]].item() == pytest.approx(2 / 6)
    assert marginal[silence].item() == pytest.approx(1 / 6)
    smoothed = credit.data_chord_marginal(rows, rl_spec, smoothing=0.5)
    assert (smoothed > 0).all()  # chords the data never sounds keep a small share


def test_the_marginal_term_pays_the_chords_the_policy_neglects(rl_spec: TokenSpec) -> None:
    """Policy puts 90% on C's attack, 10% on G's; the data sounds C and G equally: G's
    tokens earn log(0.5/0.1), C's log(0.5/0.9), other tokens nothing."""
    config = dataclasses.replace(TINY_PPO, frame_credit="expected", marginal_weight=2.0,
                                 marginal_clip=10.0)
    c, g = rl_spec.chord_on("C"), rl_spec.chord_on("G")
    index = {s: i for i, s in enumerate(rl_spec.chords)}
    data = torch.zeros(len(rl_spec.chords) + 1)
    data[index["C"]] = data[index["G"]] = 0.5
    data = data.clamp(min=1e-9)
    p = torch.zeros(2, 3, rl_spec.vocab_size)
    p[..., c], p[..., g] = 0.9, 0.1
    mask = torch.tensor([[True] * 3, [True, False, False]])
    rows = torch.tensor([True, True])
    log_p = p.clamp(min=1e-30).log()
    rewards = credit.marginal_rewards(log_p, rows, mask, data, rl_spec, config)
    assert rewards[g].item() == pytest.approx(2.0 * np.log(0.5 / 0.1), rel=1e-4)
    assert rewards[g + 1].item() == pytest.approx(rewards[g].item())  # G's hold alike
    assert rewards[c].item() == pytest.approx(2.0 * np.log(0.5 / 0.9), rel=1e-4)
    assert rewards[rl_spec.melody_on(64)].item() == 0.0
    clipped = credit.marginal_rewards(log_p, rows, mask, data, rl_spec,
                                      dataclasses.replace(config, marginal_clip=1.0))
    assert clipped.abs().max().item() == pytest.approx(2.0)  # weight x the clip
    assert clipped[c].item() == pytest.approx(2.0 * np.log(0.5 / 0.9))  # inside the clip


def test_the_marginal_term_needs_expected_credit() -> None:
    with pytest.raises(ValueError, match="marginal_weight"):
        dataclasses.replace(TINY_PPO, frame_credit="sampled", marginal_weight=1.0)
