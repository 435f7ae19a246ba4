"""InfoNCE on hand-made embeddings, and a tiny contrastive model that learns the triads."""

import json
import math

import torch
import torch.nn.functional as F

from cojam.rewards.contrastive import info_nce


def test_info_nce_is_low_for_aligned_and_high_for_crossed_pairs():
    melody = torch.eye(4)  # (B, E) unit rows
    log_scale = torch.tensor(math.log(10.0))
    aligned, _ = info_nce(melody, melody.clone(), log_scale)
    crossed, _ = info_nce(melody, melody.roll(1, dims=0), log_scale)
    expected = math.log(1 + 3 * math.exp(-10))  # -log softmax of the diagonal
    assert abs(aligned.item() - expected) < 1e-6
    assert crossed.item() > 9.0


def test_info_nce_ignores_windows_of_the_same_song_as_negatives():
    same = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    log_scale = torch.tensor(math.log(10.0))
    confused, _ = info_nce(same, same, log_scale)  # rows 0 and 1 look alike: ~log 2 each
    exclude = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    clean, logits = info_nce(same, same, log_scale, exclude)
    assert confused.item() > 0.4 and clean.item() < 1e-3
    assert logits[0, 1] == float("-inf") and logits[0, 0] == 10.0


def test_tiny_contrastive_model_learns_real_pairs(trained_runs):
    run = trained_runs["contrastive"]
    result = json.loads((run / "auc.json").read_text())
    assert result["model"] == "contrastive" and result["split"] == "test"
    assert result["auc"]["other_song"] > 0.9
    assert set(result["auc"]) == {"other_song", "shifted", "transposed"}
    for name in ("config.json", "model.safetensors", "metrics.jsonl", "calibration.json"):
        assert (run / name).is_file()
