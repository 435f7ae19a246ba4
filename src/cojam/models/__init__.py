"""The generative models and their pre-training.

- ``transformer``: the one block (pre-norm, rotary positions) and the ``KVCache``;
- ``online``: the online accompanist and the melody agent (decoder-only, interleaved);
- ``teacher``: the offline teacher (melody encoder, chord decoder);
- ``sampling``: validity masks and the sampler; ``generate``: the decoding loop;
- ``scoring``: per-stream NLL and accuracy; ``baselines``: n-gram baselines, quality table;
- ``train``: the ``fit`` loop and pre-training; ``checkpoint``: run directories.
"""
