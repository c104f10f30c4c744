"""Reranking: the selection rules (QE, MBR, QE-pruned MBR) against independent computations,
and rerank() from Python (the commands are tested in ``cli/test_rerank.py`` and
``cli/test_filter.py``)."""
from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU, CHRF

from sigmoid_qe import load_model
from sigmoid_qe.rerank import choose, expected_utilities, first_best, top_k, utility_function

from rerank_data import CANDIDATES, EN


# -- selection rules -----------------------------------------------------------------------------
def test_mbr_equals_independent_computation():
    chrf, bleu = CHRF(), BLEU(effective_order=True)
    for group in CANDIDATES:
        for name, metric in (("chrf", chrf), ("bleu", bleu)):
            expected = []
            for i, hyp in enumerate(group):
                refs = [group[j] for j in range(len(group)) if j != i]
                expected.append(sum(metric.sentence_score(hyp, [r]).score for r in refs) / len(refs))
            got = expected_utilities(group, utility_function(name))
            assert got == pytest.approx(expected)
            best = max(range(len(group)), key=lambda i: (expected[i], -i))
            assert choose(group, utility=utility_function(name)).index == best


def test_duplicates_count_and_ties_go_to_the_earlier_candidate():
    group = ["a b c", "x y z", "a b c"]
    utilities = expected_utilities(group, utility_function("chrf"))
    assert utilities[0] == utilities[2] > utilities[1]  # the duplicate is a pseudo-reference
    assert choose(group, utility=utility_function("chrf")).index == 0
    assert first_best([0.5, 0.7, 0.7]) == 1
    assert first_best([float("nan"), 0.1]) == 1
    assert top_k([0.1, 0.9, 0.5, 0.9], 2) == [1, 3]
    assert top_k([0.5, 0.5, 0.5], 2) == [0, 1]


def test_qe_pruned_mbr_looks_only_at_the_top_k():
    group = CANDIDATES[0]
    qe = [0.2, 0.9, 0.1, 0.8]
    choice = choose(group, qe, utility_function("chrf"), qe_top_k=2)
    assert set(choice.mbr) == {1, 3}
    pool = [group[1], group[3]]
    expected = expected_utilities(pool, utility_function("chrf"))
    assert choice.index == [1, 3][first_best(expected)]
    assert choose(group, qe).index == 1  # plain QE reranking


def test_rerank_from_python():
    """rerank(): QE reranking equals the best QE score per source, MBR needs no model, and a
    share of the sources at their positions (a rank of a sharded run, generated in one batch)
    gets the candidates the whole run gets."""
    from sigmoid_qe.decoding import Decoding
    from sigmoid_qe.rerank import rerank
    model = load_model("bergamot-en-pt", device="cpu")
    records = rerank(model, EN, CANDIDATES, method="softmax")
    for record, source, group in zip(records, EN, CANDIDATES):
        scores = model.score([source] * 4, group, method="softmax").scores
        assert record["translation"] == group[first_best(scores)] == group[record["chosen"]]
        # batched with other sources' candidates vs alone: float32 sums differ in the 5th digit
        assert [c["qe"] for c in record["candidates"]] == pytest.approx(scores, rel=1e-4)
    mbr = rerank(None, EN, CANDIDATES, mbr="chrf")
    assert [r["translation"] for r in mbr] == [g[choose(g, utility=utility_function("chrf")).index]
                                               for g in CANDIDATES]
    sample = Decoding("sample", 3, seed=4)
    whole = rerank(model, EN, decoding=sample)
    share = rerank(model, EN[1::2], decoding=sample, indices=[1, 3])
    texts = lambda records: [[c["text"] for c in r["candidates"]] for r in records]  # noqa: E731
    assert texts(share) == texts(whole[1::2])
    assert [r["translation"] for r in share] == [r["translation"] for r in whole[1::2]]
    with pytest.raises(ValueError, match="candidates, or a decoding"):
        rerank(model, EN)


