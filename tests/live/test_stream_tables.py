"""The walk's lookup tables say exactly what the vocabulary's own functions say."""

from __future__ import annotations

import pytest
import torch

from cojam.data.tokens import BOS, TokenError
from cojam.live.decoder import Decoder, stream_table
from cojam.live.plan import chord_info
from cojam.models.sampling import allowed_mask


@pytest.mark.parametrize("stream", ["chord", "melody"])
def test_a_stream_table_matches_the_masks_and_the_token_kinds(model, stream):
    spec = model.spec
    table = stream_table(spec, stream)
    assert stream_table(spec, stream) is table  # built once
    every = torch.arange(spec.vocab_size)
    allowed = allowed_mask(spec, stream, every)  # (V, V)
    silence = spec.chord_silence if stream == "chord" else spec.melody_silence
    in_stream = spec.is_chord if stream == "chord" else spec.is_melody
    info = spec.chord_token_info if stream == "chord" else spec.melody_token_info
    hold = spec.chord_hold if stream == "chord" else spec.melody_hold
    for previous in [BOS, *range(spec.vocab_size)]:
        assert torch.equal(table.masks[previous], allowed[previous : previous + 1])
        sounding = allowed[previous].clone()
        sounding[silence] = False
        assert torch.equal(table.sounding[previous][0], sounding)
        valid = {t for t in range(spec.vocab_size)
                 if t in table.opens or table.holds.get(previous) == t}
        assert valid == set(allowed[previous].nonzero()[:, 0].tolist())
        if previous == BOS or in_stream(previous):
            kind, what = info(previous) if previous != BOS else ("silence", None)
            expected = silence if kind == "silence" else hold(what)
            assert table.continuing[previous] == expected


def test_the_decoder_reads_its_masks_from_the_tables(model):
    decoder = Decoder(model, torch.Generator(), 1.0, 1.0)
    spec = model.spec
    for stream in ("chord", "melody"):
        for previous in (BOS, spec.chord_silence, spec.chord_on("C"), spec.melody_on(60)):
            assert torch.equal(decoder.tables[stream].masks[previous],
                               allowed_mask(spec, stream, torch.tensor([previous])))


def test_chord_info_is_the_vocabulary_s_and_refuses_what_it_refuses(model):
    spec = model.spec
    for token in range(spec.chord_silence, spec.vocab_size):
        assert chord_info(spec, token) == spec.chord_token_info(token)
    with pytest.raises(TokenError):
        chord_info(spec, spec.melody_on(60))
