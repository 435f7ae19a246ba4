"""A live call alone computes exactly what the model's own forward does: the same
numbers, bit for bit, so the plans of a session alone do not depend on which path ran."""

from __future__ import annotations

import copy

import torch

from cojam.models.row_cache import Forward, forward_alone


def test_forward_alone_is_the_model_s_forward_bit_for_bit(model):
    generator = torch.Generator().manual_seed(0)
    for prefix, n in [(0, 1), (0, 9), (1, 1), (5, 24), (40, 3), (100, 1)]:
        tokens = torch.randint(3, model.spec.vocab_size, (prefix + n,), generator=generator)
        reference, lean = model.new_cache(1), model.new_cache(1)
        with torch.inference_mode():
            if prefix:
                model(tokens[None, :prefix], reference)
                forward_alone(model, Forward(lean, tokens[:prefix].tolist()))
            expected = model(tokens[None, prefix:], reference)[0]
        got = forward_alone(model, Forward(lean, tokens[prefix:].tolist()))
        assert torch.equal(got, expected)
        assert lean.length == reference.length == prefix + n
        for k, k_lean in zip(reference.keys + reference.values, lean.keys + lean.values,
                             strict=True):
            assert torch.equal(k[:, :, : prefix + n], k_lean[:, :, : prefix + n])


def test_forward_alone_follows_weights_that_change(model):
    """The stacked query/key/value weights the lean path keeps are rebuilt when a
    projection's weights change in place (a training step, a load)."""
    model = copy.deepcopy(model)  # the fixture is shared: change a copy
    tokens = torch.randint(3, model.spec.vocab_size, (6,),
                           generator=torch.Generator().manual_seed(1))
    forward_alone(model, Forward(model.new_cache(1), tokens.tolist()))  # builds the stack
    with torch.no_grad():
        model.stack.blocks[0].self_attention.key_value.weight.mul_(1.5)
        model.stack.blocks[-1].self_attention.query.weight.add_(0.1)
    with torch.inference_mode():
        expected = model(tokens[None], model.new_cache(1))[0]
    got = forward_alone(model, Forward(model.new_cache(1), tokens.tolist()))
    assert torch.equal(got, expected)
