"""Sequence Tutor's music-theory rules on hand-made melodies, including the degenerate
ones that would game them."""

from __future__ import annotations

import numpy as np
import pytest

from cojam.data.tokens import TokenSpec
from cojam.music.song import Note, Song
from cojam.rewards.melody_rules import (
    HOLD,
    REST,
    Key,
    Melody,
    RuleWeights,
    autocorrelation,
    excessive_repeats,
    in_key,
    key_of_song,
    leap_outcomes,
    melody_metrics,
    motif,
    preferred_intervals,
    repeated_motif,
    rule_rewards,
    tonic_start_end,
    total_reward,
    unique_extremes,
)

C_MAJOR = Key(0, frozenset((0, 2, 4, 5, 7, 9, 11)))
C, D, E, F, G, A, B = 60, 62, 64, 65, 67, 69, 71


def melody(*events: int) -> Melody:
    return Melody.from_events(list(events))


def test_events_round_trip_and_tokens():
    m = melody(C, HOLD, REST, HOLD, E)
    assert m.pitch.tolist() == [C, C, -1, -1, E]
    assert m.onset.tolist() == [True, False, False, False, True]
    assert m.events().tolist() == [C, HOLD, REST, HOLD, E]
    spec = TokenSpec(chords=())
    tokens = np.array([spec.melody_on(C), spec.melody_hold(C), spec.melody_silence,
                       spec.melody_silence, spec.melody_on(E)])
    from_tokens = Melody.from_tokens(tokens, spec)
    assert from_tokens.pitch.tolist() == m.pitch.tolist()
    assert from_tokens.onset.tolist() == m.onset.tolist()


def test_key_of_song_takes_the_final_note_as_tonic_when_in_the_scale():
    notes = (Note(0, 1, 67), Note(1, 1, 70), Note(2, 1, 67))  # ends on G
    song = Song("s", "test", notes, (), key="Bb major")
    assert key_of_song(song) == Key(7, frozenset((10, 0, 2, 3, 5, 7, 9)))
    outside = Song("t", "test", (Note(0, 1, 61),), (), key="C major")  # C# is not in C
    assert key_of_song(outside).tonic == 0
    with pytest.raises(ValueError, match="no key"):
        key_of_song(Song("u", "test", notes, ()))


def test_in_key_flags_only_attacks_out_of_key():
    m = melody(C, HOLD, 61, HOLD, REST, 66)  # C#, F# out of C major
    assert in_key(m, C_MAJOR).tolist() == [0, 0, 1, 0, 0, 1]


def test_tonic_start_and_end():
    assert tonic_start_end(melody(C, D, E, C, HOLD), C_MAJOR).tolist() == [1, 0, 0, 0, 1]
    assert tonic_start_end(melody(D, C, REST), C_MAJOR).sum() == 0  # ends on a rest
    # with a seed of two frames, the first played note is the one at frame 2
    assert tonic_start_end(melody(D, E, C, D), C_MAJOR, start=2).tolist() == [0, 0, 1, 0]


def test_excessive_repeats_counts_like_the_original():
    back_to_back = melody(*[C] * 7)
    assert excessive_repeats(back_to_back).tolist() == [0, 0, 0, 0, 0, 1, 1]
    held = melody(*[x for _ in range(8) for x in (C, HOLD)])  # gaps: up to 6 allowed
    assert np.flatnonzero(excessive_repeats(held)).tolist() == [14]
    assert excessive_repeats(melody(C, C, C, C, D, C, C, C, C)).sum() == 0
    # one note held forever is not a repeat (the autocorrelation and motif rules see it)
    assert excessive_repeats(melody(C, *[HOLD] * 30)).sum() == 0


def test_autocorrelation():
    alternating = np.array([60, 62] * 10)
    assert autocorrelation(alternating, 1) == pytest.approx(-0.95)
    assert autocorrelation(alternating, 2) == pytest.approx(0.9)
    assert np.isnan(autocorrelation(np.full(8, 60), 1))  # constant: undefined
    assert np.isnan(autocorrelation(np.array([60, 62]), 3))  # too short


def test_autocorrelation_penalty_hits_a_periodic_melody_not_a_varied_one():
    weights = RuleWeights()
    periodic = melody(*[C, E] * 16)
    varied = melody(C, D, E, C, G, F, E, D, C, A, G, B, C, E, D, F, E, G, A, F, D, C, B, D)
    key = C_MAJOR
    assert rule_rewards(periodic, key, weights)["autocorrelation"].sum() < -40
    assert rule_rewards(varied, key, weights)["autocorrelation"].sum() > \
        rule_rewards(periodic, key, weights)["autocorrelation"].sum() / 4


def test_motif_and_repeated_motif():
    phrase = [C, HOLD, E, HOLD, G, HOLD, E, HOLD]  # three pitches in 8 frames
    m = melody(*phrase, *phrase)
    sizes = motif(m)
    assert sizes[7] == 1.0 and sizes[:7].sum() == 0
    repeated = repeated_motif(m)
    assert repeated[15] == 1.0  # the second phrase repeats the first step for step
    assert repeated[:15].sum() == 0
    # a melody with fewer than three pitches per window has no motif at all
    assert motif(melody(*[C, HOLD, D, HOLD] * 4)).sum() == 0
    four = melody(C, D, E, F, HOLD, HOLD, HOLD, HOLD)
    assert motif(four)[7] == pytest.approx(1.1)


def test_preferred_intervals():
    m = melody(C, E, REST, G, 80, F, HOLD, 75)
    scores = preferred_intervals(m, C_MAJOR)
    # C-E a major third from the tonic; E-G a minor third, which the original's table
    # (in semitones: 2, 4, 5, 7, 9, 11) does not pay; G-80 and 80-F more than an octave;
    # F-75 a minor seventh (10), not in the table either
    assert scores.tolist() == pytest.approx([0, 0.15, 0, 0, -1.0, -1.0, 0, 0])
    assert preferred_intervals(melody(D, 66), C_MAJOR)[1] == pytest.approx(0.09)
    assert preferred_intervals(melody(C, G), C_MAJOR)[1] == pytest.approx(0.1)
    assert preferred_intervals(melody(C, 71), C_MAJOR)[1] == pytest.approx(-0.3)


def test_leaps_resolved_and_doubled():
    # up a sixth, then step down past where it leapt from: resolved gradually
    gradual, leaps = leap_outcomes(melody(C, A, G, F, E, D, B - 12))
    assert leaps == 1 and gradual.tolist() == [0, 0, 0, 0, 0, 0, 1]
    doubled, _ = leap_outcomes(melody(C, A, 80))
    assert doubled.tolist() == [0, 0, -1]
    # leaping back at once is no resolution; after more than 6 frames it is
    soon, _ = leap_outcomes(melody(C, G + 2, C - 2))
    assert soon.tolist() == [0, 0, 0]
    late, _ = leap_outcomes(melody(C, A, *[HOLD] * 7, C - 3))
    assert late[-1] == 1


def test_unique_extremes_need_two_pitches():
    assert unique_extremes(melody(C, E, D, G, D)).tolist()[-1] == 2
    assert unique_extremes(melody(C, G, C, G)).tolist()[-1] == 0
    assert unique_extremes(melody(C, *[HOLD] * 15)).sum() == 0  # one note held: nothing


def test_rule_rewards_skip_the_seed_and_sum():
    m = melody(61, HOLD, C, E, G, C)
    terms = rule_rewards(m, C_MAJOR, RuleWeights(), start=2)
    assert set(terms) == {"in_key", "tonic", "excessive_repeat", "autocorrelation", "motif",
                          "repeated_motif", "intervals", "leaps", "unique_extremes"}
    assert all(values[:2].sum() == 0 for values in terms.values())  # the seed's C# is free
    assert terms["tonic"][2] == 3.0 and terms["tonic"][5] == 3.0
    assert total_reward(m, C_MAJOR, RuleWeights(), 2) == pytest.approx(sum(terms.values()))


def test_a_good_melody_outscores_the_degenerate_ones_but_not_a_fast_motif_loop():
    weights = RuleWeights()
    good = melody(C, HOLD, D, E, G, HOLD, E, D, C, HOLD, E, G, A, G, E, D,
                  C, HOLD, D, E, G, HOLD, E, D, C, HOLD, D, B - 12, C, HOLD, HOLD, HOLD)
    one_held_note = melody(C, *[HOLD] * 31)
    repeated_note = melody(*[C] * 32)
    out_of_key = melody(*[61, 63, 66, 68] * 8)
    score = {name: total_reward(m, C_MAJOR, weights).sum() for name, m in
             [("good", good), ("held", one_held_note), ("repeated", repeated_note),
              ("out_of_key", out_of_key)]}
    assert score["good"] > max(score["held"], score["repeated"]) + 50
    # The original's balance, kept: motif rewards are paid every step, so a fast loop of
    # four pitches out of key earns more from them than its -1 per note costs it. Only
    # the prior's likelihood (the KL term) keeps a tuned melody from playing it.
    terms = rule_rewards(out_of_key, C_MAJOR, weights)
    assert terms["in_key"].sum() == -32
    assert score["out_of_key"] > score["good"]


def test_melody_metrics_on_a_hand_made_melody():
    m = melody(D, C, E, G, C, 61, C, C, C, C, C, C, C)  # first two frames are the seed
    metrics = melody_metrics(m, C_MAJOR, start=2)
    assert metrics["notes"] == 11
    assert metrics["notes_in_key"] == pytest.approx(10 / 11)
    assert metrics["tonic_start"] == 0.0 and metrics["tonic_end"] == 1.0
    assert metrics["any_excessive_repeat"] == 1.0
    assert metrics["excessive_repeats"] == pytest.approx(2 / 11)  # the 6th and 7th C in a row
    assert metrics["unique_max"] == 1.0 and metrics["unique_min"] == 0.0  # one G, many Cs
    assert metrics["leaps_resolved"] == 0.0  # G down to C, never back up to G
    assert melody_metrics(melody(C, A, G, F, E, D, B - 12), C_MAJOR)["leaps_resolved"] == 1.0
    empty = melody_metrics(melody(REST, HOLD, HOLD), C_MAJOR)
    assert np.isnan(empty["notes_in_key"]) and empty["notes"] == 0
