"""Model systems on tiny real (untrained) models: batching, padding, seeding, loading."""

from pathlib import Path

import pytest
from eval_helpers import handmade_songs, make_spec, tonal_song

from cojam.data.tokens import TokenSpec, song_to_frames
from cojam.eval.model_systems import (
    Sampling,
    batched_generation,
    load_accompanist,
    parse_model_arg,
)
from cojam.eval.pieces import Piece
from cojam.models.checkpoint import load_model
from cojam.rewards.frames import frame_view


def uneven_pieces(spec):
    """Pieces of 2, 5 and 8 bars, so batches need padding."""
    songs = [handmade_songs()[0], tonal_song("short", 7, bars=2), tonal_song("mid", 5, bars=5)]
    return [Piece(s.song_id, *song_to_frames(s, spec), 4.0) for s in songs]


@pytest.mark.parametrize("kind", ["online", "teacher"])
def test_padding_does_not_change_a_piece(spec, tiny_runs, kind):
    model = load_model(tiny_runs[kind])
    pieces = uneven_pieces(spec)
    greedy = Sampling(temperature=0.0, batch_size=3)
    together = batched_generation(model, pieces, 0, greedy)
    alone = [batched_generation(model, [p], 0, greedy)[0] for p in pieces]
    for piece, a, b in zip(pieces, together, alone, strict=True):
        assert len(a) == piece.num_frames and (a == b).all()
        frame_view(piece.melody, a, spec)  # only chord tokens


def test_sampling_is_seeded_and_order_is_kept(spec, tiny_runs):
    model = load_model(tiny_runs["online"])
    pieces = uneven_pieces(spec)
    sampling = Sampling(temperature=1.0, batch_size=2)
    first = batched_generation(model, pieces, 5, sampling)
    assert all((a == b).all() for a, b in
               zip(first, batched_generation(model, pieces, 5, sampling), strict=True))
    assert any((a != b).any() for a, b in
               zip(first, batched_generation(model, pieces, 6, sampling), strict=True))
    assert [len(r) for r in first] == [p.num_frames for p in pieces]
    views = [frame_view(p.melody, r, spec) for p, r in zip(pieces, first, strict=True)]
    assert not any(v.invalid_hold.any() for v in views)


def test_load_accompanist_checks_kind_and_vocabulary(spec, tiny_runs):
    model, facts = load_accompanist(tiny_runs["teacher"], spec)
    assert facts["kind"] == "teacher" and facts["recipe"] == "tiny-test"
    assert facts["max_frames"] == 128 and facts["parameters"] > 0
    with pytest.raises(ValueError, match="melody agent"):
        load_accompanist(tiny_runs["melody"], spec)
    other = TokenSpec(chords=make_spec().chords[:12], min_pitch=48, max_pitch=84)
    with pytest.raises(ValueError, match="vocabulary"):
        load_accompanist(tiny_runs["online"], other)


def test_parse_model_arg():
    assert parse_model_arg("mle=runs/online") == ("mle", Path("runs/online"))
    assert parse_model_arg("runs/online-7") == ("online-7", Path("runs/online-7"))
    assert parse_model_arg("a/b=c")[0] == "b=c"  # a path holding '=' is a path


def test_parse_model_arg_pools_seeds():
    assert parse_model_arg("gapt=r/s0,r/s1") == ("gapt", (Path("r/s0"), Path("r/s1")))
    assert parse_model_arg("gapt=r/s0,") == ("gapt", Path("r/s0"))
    with pytest.raises(ValueError, match="no run"):
        parse_model_arg("gapt=")


def test_pooled_system_plays_run_seed_mod_n():
    from cojam.eval.model_systems import pooled_system

    calls = []

    def system_of(index):
        def play(pieces, seed):
            calls.append((index, seed))
            return []
        return play

    pooled = pooled_system([system_of(0), system_of(1), system_of(2)])
    for seed in (4, 5, 6):
        pooled([], seed)
    assert sorted(index for index, _ in calls) == [0, 1, 2]
