"""Windows, batches addressed by step, and token-space transposition."""

import numpy as np

from cojam.data.batches import (
    TrainBatches,
    eval_batches,
    song_examples,
    transposition_table,
)
from cojam.data.tokens import PAD, TokenSpec, chord_vocabulary, frames_to_song, song_to_frames
from cojam.music.chords import parse_chord
from cojam.music.song import ChordSpan, Note, Song

SPEC = TokenSpec(chords=chord_vocabulary([parse_chord(s) for s in ("C", "Am7", "G7/B")]))


def song(song_id: str, beats: int, pitch: int = 60) -> Song:
    notes = tuple(Note(onset=b, duration=1, pitch=pitch + b % 5) for b in range(beats))
    chords = tuple(
        ChordSpan(b, 2, parse_chord(["C", "Am7", "G7/B"][b // 2 % 3])) for b in range(0, beats, 2)
    )
    return Song(song_id, "test", notes=notes, chords=chords)


def test_song_examples_cut_long_songs_on_bars():
    examples = song_examples([song("a", 100), song("b", 8)], SPEC, max_frames=64)
    lengths = [(e.song_id, e.start_frame, len(e.melody)) for e in examples]
    assert lengths == [
        ("a", 0, 64),
        ("a", 64, 64),
        ("a", 128, 64),
        ("a", 192, 64),
        ("a", 256, 64),
        ("a", 320, 64),
        ("a", 384, 16),
        ("b", 0, 32),
    ]


def test_transposition_table_moves_melody_and_chords():
    up = transposition_table(SPEC, 2)
    original = song("a", 8)
    melody, chords = song_to_frames(original, SPEC)
    moved = frames_to_song(up[melody], up[chords], SPEC)
    expected = original.transpose(2)
    assert moved.notes == expected.notes and moved.chords == expected.chords
    assert transposition_table(SPEC, 1)[SPEC.melody_on(SPEC.max_pitch)] == -1


def test_batches_are_a_pure_function_of_seed_and_step():
    examples = song_examples([song(f"s{i}", 16 + i) for i in range(10)], SPEC, max_frames=32)
    first = TrainBatches(examples, SPEC, batch_size=4, seed=7)
    again = TrainBatches(examples, SPEC, batch_size=4, seed=7)
    for step in (0, 3, 11):
        a, b = first.batch(step), again.batch(step)
        assert (a.melody == b.melody).all() and (a.chords == b.chords).all()
    other = TrainBatches(examples, SPEC, batch_size=4, seed=8).batch(0)
    assert not np.array_equal(other.melody, first.batch(0).melody)


def test_an_epoch_visits_every_example_once():
    examples = song_examples([song(f"s{i}", 8) for i in range(8)], SPEC)
    batches = TrainBatches(examples, SPEC, batch_size=2, seed=0, augment=False)
    seen = [sid for step in range(4) for sid in batches.batch(step).song_ids]
    assert sorted(seen) == sorted(e.song_id for e in examples)


def test_augmented_batches_stay_valid_and_padded():
    examples = song_examples([song("a", 8), song("b", 5, pitch=100)], SPEC)
    batch = TrainBatches(examples, SPEC, batch_size=2, seed=1).batch(0)
    for row in range(2):
        length = batch.mask[row].sum()
        assert (batch.melody[row, length:] == PAD).all()
        frames_to_song(batch.melody[row, :length], batch.chords[row, :length], SPEC)
    high = [r for r in range(2) if batch.song_ids[r] == "b"][0]
    assert batch.melody[high].max() <= SPEC.melody_hold(SPEC.max_pitch)


def test_eval_batches_keep_order_without_augmentation():
    examples = song_examples([song(f"s{i}", 8) for i in range(5)], SPEC)
    batches = list(eval_batches(examples, 2))
    assert [b.song_ids for b in batches] == [("s0", "s1"), ("s2", "s3"), ("s4",)]
    assert (batches[0].melody[0] == examples[0].melody).all()


def test_the_first_window_starts_at_the_first_sounding_frame():
    late = Song("p", "test", notes=(Note(onset=3, duration=1, pitch=64),),
                chords=(ChordSpan(3, 1, parse_chord("C")),))
    (first,) = song_examples([late], SPEC, max_frames=64)
    assert first.start_frame == 3 * SPEC.frames_per_beat
    assert first.melody[0] == SPEC.melody_on(64) and first.chords[0] == SPEC.chord_on("C")


def test_a_pickup_off_the_beat_starts_its_window_on_the_beat_line():
    """An eighth-note pickup before beat 3: the window starts on beat 2's line (silence,
    then the pickup), so its frame 0 is a beat and beat 3 is frame 4."""
    pickup = Song("p", "test", notes=(Note(onset=2.5, duration=0.5, pitch=62),
                                      Note(onset=3, duration=1, pitch=64)),
                  chords=(ChordSpan(3, 1, parse_chord("C")),))
    (first,) = song_examples([pickup], SPEC, max_frames=64)
    assert first.start_frame == 2 * SPEC.frames_per_beat
    assert first.melody[0] == SPEC.melody_silence
    assert first.melody[SPEC.frames_per_beat // 2] == SPEC.melody_on(62)
    assert first.chords[SPEC.frames_per_beat] == SPEC.chord_on("C")


def test_shifted_histories_keep_the_targets_and_move_only_a_prefix():
    examples = song_examples([song(f"s{i}", 16) for i in range(8)], SPEC, max_frames=64)
    plain = TrainBatches(examples, SPEC, batch_size=8, seed=3, augment=False).batch(0)
    assert plain.chord_inputs is None
    shifting = TrainBatches(examples, SPEC, batch_size=8, seed=3, augment=False,
                            chord_shift_prob=1.0)
    batch = shifting.batch(0)
    assert (batch.chords == plain.chords).all() and (batch.melody == plain.melody).all()
    assert (shifting.batch(0).chord_inputs == batch.chord_inputs).all()  # seeded by step
    for heard, true in zip(batch.chord_inputs, batch.chords, strict=True):
        differs = np.flatnonzero(heard != true)
        assert len(differs) > 0 and differs[0] == 0  # every row moved, from its first frame
        assert (heard[differs[-1] + 1 :] == true[differs[-1] + 1 :]).all()
        assert SPEC.is_chord(heard).all()  # still chord tokens
        cut = differs[-1] + 1
        if cut < len(true) and true[cut] != PAD:  # the true chords resume with an attack
            assert SPEC.chord_token_info(int(true[cut]))[0] == "on"
    for heard, true, target in zip(batch.chord_inputs, batch.chords, batch.chord_targets,
                                   strict=True):
        for t in range(1, len(true)):
            kind, symbol = SPEC.chord_token_info(int(true[t])) if true[t] != PAD else ("", "")
            sounding = SPEC.chord_token_info(int(heard[t - 1]))[1] if heard[t - 1] != PAD else None
            if kind == "hold" and symbol != sounding:  # a hold sampling could never play
                assert target[t] == PAD
            else:  # attacks (in the true key) and playable holds are still learned
                assert target[t] == true[t]


def test_shifted_histories_are_what_an_online_model_hears():
    import torch

    from cojam.models.likelihood import stream_logits
    from cojam.models.online import OnlineConfig, OnlineModel

    torch.manual_seed(0)
    model = OnlineModel(SPEC, OnlineConfig(d_model=16, n_layers=1, n_heads=2, max_frames=64))
    model.eval()
    examples = song_examples([song("s", 16)], SPEC, max_frames=64)
    plain = TrainBatches(examples, SPEC, batch_size=1, seed=0, augment=False).batch(0)
    shifted = TrainBatches(examples, SPEC, batch_size=1, seed=0, augment=False,
                           chord_shift_prob=1.0).batch(0)
    a, b = stream_logits(model, plain)["chord"], stream_logits(model, shifted)["chord"]
    assert torch.equal(b[1], torch.as_tensor(shifted.chord_targets))  # scored on these
    assert torch.equal(a[1], torch.as_tensor(plain.chords))
    assert not torch.allclose(a[0], b[0])  # different inputs
