import torch

from sigmoid_qe.dominant import boosted_prob, dominant_count

from dominant_reference import dominant_mask


def test_hand_made_distribution():
    probs = torch.tensor([[0.5, 0.4, 0.05, 0.05]])
    assert dominant_mask(probs).tolist() == [[True, True, False, False]]
    assert boosted_prob(probs, torch.tensor([2])).item() == torch.tensor(0.05).item()
    assert abs(boosted_prob(probs, torch.tensor([1])).item() - 0.90) < 1e-6
    assert abs(boosted_prob(probs, torch.tensor([0])).item() - 0.90) < 1e-6


def test_no_jump_means_no_dominant_set():
    flat = torch.full((1, 8), 1 / 8)
    assert dominant_count(flat).tolist() == [0]
    assert abs(boosted_prob(flat, torch.tensor([3])).item() - 1 / 8) < 1e-7


def test_last_jump_wins_and_small_drops_are_ignored():
    # jumps after position 1 (0.6 -> 0.2) and after 3 (0.15 -> 0.02); the last one counts
    sorted_probs = torch.tensor([[0.6, 0.2, 0.16, 0.02, 0.02]])
    assert dominant_count(sorted_probs).tolist() == [3]
    # a relative jump below the 0.005 absolute floor is no jump
    tail = torch.tensor([[0.5, 0.496, 0.003, 0.001]])
    assert dominant_count(tail).tolist() == [2]
    tiny = torch.tensor([[0.004, 0.001]])
    assert dominant_count(tiny).tolist() == [0]


def test_unsorted_rows_and_batch():
    probs = torch.tensor([[0.05, 0.4, 0.05, 0.5], [0.25, 0.25, 0.25, 0.25]])
    mask = dominant_mask(probs)
    assert mask.tolist() == [[False, True, False, True], [False] * 4]
    boosted = boosted_prob(probs, torch.tensor([1, 1]))
    assert torch.allclose(boosted, torch.tensor([0.9, 0.25]))
