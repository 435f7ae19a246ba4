"""The adaptation test on tiny cases: perturbation, case selection, recovery summaries."""

import numpy as np
import pytest
from eval_helpers import handmade_songs

from cojam.data.tokens import song_to_frames
from cojam.eval import adaptation
from cojam.eval.adaptation import (
    AFTER_BEATS,
    BEFORE_BEATS,
    PROTOCOL,
    adaptation_cases,
    summarise_adaptation,
    transpose_from,
)
from cojam.eval.pieces import Piece
from cojam.eval.reference_systems import ground_truth, harmonise
from cojam.rewards.frames import frame_view


def pieces_of(spec, bars=8):
    out = []
    for song in handmade_songs():
        melody, chords = song_to_frames(song, spec)
        out.append(Piece(song.song_id, melody[: bars * 16], chords[: bars * 16], 4.0))
    return out


def test_transpose_from_moves_the_rest_and_restarts_holds(spec):
    piece = pieces_of(spec)[0]
    moved = transpose_from(piece, 6, 16, spec)
    assert (moved.melody[:16] == piece.melody[:16]).all()
    view, before = frame_view(moved.melody, moved.chords, spec), frame_view(
        piece.melody, piece.chords, spec)
    assert ((view.pitch[16:] - before.pitch[16:]) == 6).all()
    assert not view.invalid_hold.any()  # the chord held across the bar line is re-attacked
    assert view.chord_onset[16]
    assert transpose_from(piece, 30, 16, spec) is None  # leaves the 48-84 range


def test_cases_cover_every_shift_and_the_protocol(spec):
    pieces = pieces_of(spec)
    cases, skipped = adaptation_cases(pieces, spec, seed=0)
    names = {c.name for c in cases}
    assert names == {*(f"k={k:+d}" for k in adaptation.SHIFTS), PROTOCOL} and not skipped
    for case in cases:
        assert case.change_beat % 4 == 0  # a bar line
        length = case.piece.num_frames // spec.frames_per_beat
        assert case.change_beat >= BEFORE_BEATS and length == case.change_beat + AFTER_BEATS
        if case.name != PROTOCOL:
            assert 32 / 3 <= case.change_beat <= 64 / 3  # middle third of 32 beats
    assert all(c.change_beat == 16 and c.shift == 6 for c in cases if c.name == PROTOCOL)
    short, skipped = adaptation_cases(pieces_of(spec, bars=5), spec)
    assert not any(c.name == PROTOCOL for c in short) and skipped  # 20 beats: too short


def test_ground_truth_adapts_at_once_and_a_stubborn_system_never(spec):
    pieces = pieces_of(spec)
    cases, _ = adaptation_cases(pieces, spec, seed=0, shifts=(6, -1))
    truth = summarise_adaptation(cases, [ground_truth([c.piece for c in cases], 0)], spec)
    assert truth[adaptation.POOLED]["recovery_beats"] == 0.0
    assert truth[PROTOCOL]["harmony_after"] > 0.7
    # plays the chords of the unperturbed song: it never hears the key change
    by_id = {p.song_id: p for p in pieces}
    stubborn = [by_id[c.piece.song_id].chords[: c.piece.num_frames] for c in cases]
    summary = summarise_adaptation(cases, [stubborn, stubborn], spec)
    for name in ("k=+6", "k=-1", adaptation.POOLED, PROTOCOL):
        assert summary[name]["recovery_beats"] is None  # never recovers
        assert summary[name]["harmony_after"] < 0.5 * summary[name]["harmony_before"]
    assert len(summary[PROTOCOL]["curve"]) == BEFORE_BEATS + AFTER_BEATS
    assert summary["k=+6"]["songs"] == len(pieces)


def test_an_adapting_harmoniser_recovers_within_the_window(spec):
    cases, _ = adaptation_cases(pieces_of(spec), spec, seed=1, shifts=(6,))
    outputs = [harmonise(c.piece.melody, spec) for c in cases]
    summary = summarise_adaptation(cases, [outputs], spec)
    beats = summary[adaptation.POOLED]["recovery_beats"]
    assert beats is not None and 0 < beats < AFTER_BEATS
    low, high = summary[adaptation.POOLED]["recovery_interval"]
    assert low <= beats and (high is None or high >= beats)
    assert np.isfinite(summary[adaptation.POOLED]["harmony_before"])


@pytest.mark.parametrize("shift", [1, -6])
def test_transposed_melody_stays_valid(spec, shift):
    piece = pieces_of(spec)[1]
    moved = transpose_from(piece, shift, 40, spec)
    frame_view(moved.melody, moved.chords, spec)  # raises on tokens of the wrong stream
