"""Generation: the KV cache gives the same tokens as recomputation, outputs are valid, and
the accompanist's chord at frame t does not depend on the melody at frame t."""

from __future__ import annotations

import pytest
import torch

from cojam.data.tokens import TokenSpec, frames_to_song
from cojam.models.generate import generate_accompaniment, generate_melody
from cojam.models.online import OnlineConfig, OnlineModel
from cojam.models.teacher import TeacherConfig, TeacherModel


def model(spec: TokenSpec, kind: str) -> OnlineModel | TeacherModel:
    torch.manual_seed(1)
    if kind == "teacher":
        return TeacherModel(spec, TeacherConfig(d_model=32, n_encoder_layers=1,
                                                n_decoder_layers=2, n_heads=2,
                                                max_frames=12)).eval()
    role = "melody" if kind == "melody" else "accompanist"
    return OnlineModel(spec, OnlineConfig(role=role, d_model=32, n_layers=2, n_heads=2,
                                          max_frames=12)).eval()


def frames(spec: TokenSpec, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    pitches = torch.randint(60, 72, (batch, length), generator=g)
    melody = 3 + 2 * (pitches - spec.min_pitch)  # note-ons
    chords = torch.tensor([spec.chord_on(spec.chords[k]) for k in
                           torch.randint(0, len(spec.chords), (batch * length,), generator=g)])
    return melody, chords.view(batch, length)


def play(m: OnlineModel | TeacherModel, given: torch.Tensor, use_cache: bool, **kw) -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    if isinstance(m, OnlineModel) and m.config.role == "melody":
        return generate_melody(m, given, generator=g, use_cache=use_cache, **kw)
    return generate_accompaniment(m, given, generator=g, use_cache=use_cache, **kw)


@pytest.mark.parametrize("kind", ["online", "teacher", "melody"])
@pytest.mark.parametrize("length", [10, 30])  # 30 frames: beyond the 12-frame window
def test_cache_gives_the_same_tokens_as_recomputation(tiny_spec: TokenSpec, kind: str,
                                                      length: int) -> None:
    m = model(tiny_spec, kind)
    melody, chords = frames(tiny_spec, 3, length)
    given = chords if kind == "melody" else melody
    cached = play(m, given, use_cache=True, temperature=1.5)
    assert torch.equal(cached, play(m, given, use_cache=False, temperature=1.5))
    assert cached.shape == (3, length)
    for row in range(3):  # strict decoding: every hold continues what sounds
        if kind == "melody":
            frames_to_song(cached[row].tolist(), chords[row].tolist(), tiny_spec)
        else:
            frames_to_song(melody[row].tolist(), cached[row].tolist(), tiny_spec)


def test_accompanist_commits_before_hearing_the_frame(tiny_spec: TokenSpec) -> None:
    m = model(tiny_spec, "online")
    melody, _ = frames(tiny_spec, 2, 10)
    changed = melody.clone()
    changed[:, 5:] = tiny_spec.melody_silence
    first, second = play(m, melody, True), play(m, changed, True)
    assert torch.equal(first[:, :6], second[:, :6])


def test_generation_needs_eval_mode_and_the_right_role(tiny_spec: TokenSpec) -> None:
    m = model(tiny_spec, "online").train()
    melody, chords = frames(tiny_spec, 1, 4)
    with pytest.raises(ValueError, match="eval"):
        generate_accompaniment(m, melody)
    with pytest.raises(ValueError, match="melody"):
        generate_melody(m.eval(), chords)
    with pytest.raises(ValueError, match="accompanist"):
        generate_accompaniment(model(tiny_spec, "melody"), melody)
