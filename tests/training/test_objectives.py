"""The heads issue's training options: source-copy negatives, the margin ranking term, other
references as positives, and what they must never do."""
import pytest
import torch

from sigmoid_qe.training.loss import objective_sum, pair_targets
from sigmoid_qe.training.references import aligned_alternatives, extra_positives
from sigmoid_qe.training.sampler import NegativeSampler, SamplerOptions, sentence_generator

from training_helpers import single_thread, toy_pairs

V = 40


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def _sampler(n_source: int) -> NegativeSampler:
    return NegativeSampler(torch.full((V,), 1.0 / V), SamplerOptions(5, 5, n_source=n_source))


def test_source_negatives_never_the_reference_a_dominant_or_a_taken_token():
    sampler = _sampler(4)
    n = 50
    targets = torch.arange(n) % 8 + 10                      # references 10..17
    dominant = torch.tensor([[20, 21]]).expand(n, 2)        # two dominant tokens per row
    candidates = torch.arange(10, 30)                       # source tokens overlap all of them
    taken = torch.tensor([[22, 23, 0]]).expand(n, 3)
    taken_valid = torch.tensor([[True, True, False]]).expand(n, 3)  # 0 is padding, not taken
    for seed in range(20):
        ids, valid = sampler.source_negatives(targets, dominant, candidates, taken, taken_valid,
                                              sentence_generator(seed, 0, 0, 3))
        assert ids.shape == (n, 4) and valid.all()  # plenty of candidates: every slot filled
        for row, ref in zip(ids.tolist(), targets.tolist()):
            assert len(set(row)) == 4                          # distinct
            assert set(row) <= set(range(10, 30))              # only source tokens
            assert ref not in row and not {20, 21, 22, 23} & set(row)


def test_source_negatives_with_few_candidates_leave_slots_empty():
    sampler = _sampler(5)
    targets = torch.tensor([10, 11])
    dominant = torch.tensor([[12, 12], [12, 12]])
    candidates = torch.tensor([10, 11, 12, 13])  # row 0 may draw 11, 13; row 1 may draw 10, 13
    none = torch.zeros((2, 1), dtype=torch.long)
    ids, valid = sampler.source_negatives(targets, dominant, candidates, none,
                                          none.bool(), sentence_generator(0, 0, 0, 3))
    assert ids.shape == (2, 5) and valid.sum(1).tolist() == [2, 2]
    assert set(ids[0][valid[0]].tolist()) == {11, 13} and set(ids[1][valid[1]].tolist()) == {10, 13}
    empty, ok = sampler.source_negatives(targets, dominant, torch.tensor([], dtype=torch.long),
                                         none, none.bool(), None)
    assert empty.shape == (2, 5) and not ok.any()


def _grad_of_ranking_term(ref_logit: float, neg_logit: float, margin: float = 1.0):
    """d(hinge term)/d(weight rows) with the reference row 0 and the negative row 1; hidden = e0
    so that each row's first coordinate is its logit."""
    weight = torch.zeros(3, 2)
    weight[0, 0], weight[1, 0] = ref_logit, neg_logit
    grads = []
    for rank_weight in (0.0, 1.0):
        w = weight.clone().requires_grad_(True)
        total, _ = objective_sum(w, torch.tensor([[1.0, 0.0]]), torch.tensor([0]),
                                 torch.tensor([[1]]), torch.tensor([[True]]),
                                 rank_weight=rank_weight, rank_margin=margin)
        total.backward()
        grads.append(w.grad.to_dense())
    return grads[1] - grads[0]  # the ranking term's own gradient


def test_ranking_term_raises_the_reference_above_the_negative():
    grad = _grad_of_ranking_term(ref_logit=0.2, neg_logit=0.5)  # inside the margin
    # gradient descent moves against the gradient: the reference logit up, the negative down
    assert grad[0, 0] < 0 and grad[1, 0] > 0
    assert torch.allclose(grad[0, 0], torch.tensor(-1.0)) and torch.allclose(grad[1, 0], torch.tensor(1.0))
    assert torch.equal(grad[2], torch.zeros(2))  # rows the batch did not mention stay untouched
    satisfied = _grad_of_ranking_term(ref_logit=3.0, neg_logit=0.5)  # margin met: no push
    assert torch.count_nonzero(satisfied) == 0


def test_ranking_term_adds_the_hinge_to_the_bce_sum():
    weight = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    hidden = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    pos, neg = torch.tensor([0, 1, 2]), torch.tensor([[3, 4], [4, 5], [5, 3]])
    valid = torch.tensor([[True, False], [True, True], [True, True]])
    bce, count = objective_sum(weight, hidden, pos, neg, valid)
    both, count2 = objective_sum(weight, hidden, pos, neg, valid, rank_weight=0.5, rank_margin=2.0)
    logits = hidden @ weight.T
    hinge = sum(max(0.0, 2.0 - (logits[i, pos[i]] - logits[i, neg[i, j]]).item())
                for i in range(3) for j in range(2) if valid[i, j])
    assert count == count2 == 3 + 5
    assert torch.allclose(both - bce, torch.tensor(0.5 * hinge, dtype=both.dtype), atol=1e-5)


def test_human_marked_token_is_a_negative_with_the_error_weight():
    """MQM mode: at a position people marked, the translation's token is a negative with the
    error weight and no ranking term; sampled negatives and other positions are unchanged."""
    weight = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    hidden = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    pos, neg = torch.tensor([0, 1, 2]), torch.tensor([[3, 4], [4, 5], [5, 3]])
    valid = torch.tensor([[True, False], [True, True], [True, True]])
    errors = torch.tensor([False, True, False])
    labels, weights = pair_targets(torch.cat([torch.ones(3, 1, dtype=torch.bool), valid], 1), 1,
                                   errors, 10.0)
    assert labels[:, 0].tolist() == [1.0, 0.0, 1.0] and weights[:, 0].tolist() == [1.0, 10.0, 1.0]
    assert not labels[:, 1:].any() and torch.equal(weights[:, 1:], valid.float())
    total, count = objective_sum(weight, hidden, pos, neg, valid, errors=errors, error_weight=10.0,
                                 rank_weight=0.5)
    logits = hidden @ weight.T
    bce = torch.nn.functional.softplus
    expected = (bce(-logits[0, 0]) + bce(logits[0, 3])
                + 10 * bce(logits[1, 1]) + bce(logits[1, 4]) + bce(logits[1, 5])
                + bce(-logits[2, 2]) + bce(logits[2, 5]) + bce(logits[2, 3]))
    hinge = sum(max(0.0, 1.0 - (logits[i, pos[i]] - logits[i, neg[i, j]]).item())
                for i in (0, 2) for j in range(2) if valid[i, j])
    assert count == 8
    assert torch.allclose(total, expected + 0.5 * hinge, atol=1e-5)
    plain, _ = objective_sum(weight, hidden, pos, neg, valid)
    assert torch.allclose(objective_sum(weight, hidden, pos, neg, valid, errors=torch.zeros(3, dtype=torch.bool),
                                        error_weight=10.0)[0], plain)


def test_other_references_offer_their_aligned_tokens_as_positives():
    # A = 1 2 3 4, B = 1 9 3 4 5: 9 replaces 2 at position 1; B's insertion at the end has no
    # position of A to land on
    assert aligned_alternatives([1, 2, 3, 4], [1, 9, 3, 4, 5]) == [set(), {9}, set(), set()]
    extras = extra_positives(["s", "s", "other"], [[1, 2, 3, 4], [1, 9, 3, 4, 5], [1, 2]],
                             excluded={3})
    assert extras[2] is None  # a source translated once
    assert extras[0].tolist() == [[-1], [9], [-1], [-1]]
    assert 2 in extras[1][1].tolist()  # symmetric: A's token is B's alternative
    same = extra_positives(["s", "s"], [[1, 2], [1, 2]])
    assert same == [None, None]  # identical references offer nothing
    special = extra_positives(["s", "s"], [[1, 2], [1, 3]], excluded={3})
    assert special[0] is None  # specials never become positives


def test_train_cli_with_the_heads_issue_options(tiny_marian_dir, tmp_path, capsys):
    """Source negatives, ranking term, other references and <unk> skipping, end to end: the
    run trains, and the head's config records each option and what it acted on."""
    from sigmoid_qe.cli import train as train_cli
    from sigmoid_qe.head import SigmoidHead

    pairs = toy_pairs(40, seed=3)
    twice = [(s, " ".join(reversed(t.split()))) for s, t in pairs[:6]]  # a second reference
    rows = ["en\tpt\torigin"] + [f"{s}\t{t}\ttoy" for s, t in pairs + twice]
    train_path, dev_path = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dev_path.write_text("\n".join(rows[:9]) + "\n", encoding="utf-8")
    code = train_cli.main(["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(train_path),
                           "--dev", str(dev_path), "--output-dir", str(tmp_path / "head"),
                           "--max-steps", "4", "--eval-every", "4", "--batch-size", "8",
                           "--source-negatives", "3", "--rank-weight", "1", "--multi-reference",
                           "--unk-targets", "skip", "--quiet", "--device", "cpu"])
    _, err = capsys.readouterr()
    assert code == 0, err
    record = SigmoidHead.from_pretrained(tmp_path / "head").config.training
    options = record["options"]
    assert (options["n_source"], options["rank_weight"], options["multi_reference"],
            options["unk_targets"]) == (3, 1.0, True, "skip")
    assert record["pairs_with_other_references"] >= 6  # both references of each doubled source
    assert record["dev_loss"] == record["dev_loss"] and record["steps"] == 4  # finite, ran
