"""Candidates: beam search against exhaustive and naive searches, greedy = beam 1, seeded
sampling, truncation rules, and the Hugging Face generate() path."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sigmoid_qe.backends import bergamot_decoding as search
from sigmoid_qe.backends.bergamot_model import EOS_ID
from sigmoid_qe.decoding import Decoding
from sigmoid_qe.errors import OptionError

from tiny_models import make_tiny_bergamot_net

VOCAB = 6
SOURCES = [[3, 1, 4, 0], [2, 5, 0, 0], [5, 0, 0, 0]]  # right-padded with EOS (id 0)


@pytest.fixture(scope="module")
def net():
    return make_tiny_bergamot_net(vocab=VOCAB, seed=3)


def _batch(rows):
    """Ids and mask of right-padded sources: real tokens up to and including the first EOS."""
    src = torch.tensor(rows)
    mask = torch.zeros_like(src, dtype=torch.bool)
    for i, r in enumerate(rows):
        mask[i, : r.index(0) + 1] = True
    return src, mask


def _sequence_logprob(net, src, mask, allowed, tokens, ends_with_eos):
    """log p(tokens [+ EOS]) by one teacher-forced pass: the independent scorer."""
    target = list(tokens) + ([EOS_ID] if ends_with_eos else [])
    with torch.no_grad():
        hidden = net(src, mask, torch.tensor([target]))[0]
        logits = F.linear(hidden, net.emb, net.out_b).double()
    logits[:, ~torch.from_numpy(allowed)] = float("-inf")
    logp = torch.log_softmax(logits, dim=-1)
    return float(sum(logp[t, y] for t, y in enumerate(target)))


def _all_hypotheses(net, src, mask, allowed, limit, alpha):
    """Every hypothesis a search with this length limit can end with, ranked exhaustively."""
    words = [int(i) for i in np.nonzero(allowed)[0] if i != EOS_ID]
    found = []
    for length in range(limit + 1):
        for tokens in itertools.product(words, repeat=length):
            eos = length < limit  # at the limit a hypothesis ends without EOS
            logprob = _sequence_logprob(net, src, mask, allowed, tokens, eos)
            found.append((logprob / (length + eos) ** alpha, list(tokens)))
    return sorted(found, key=lambda x: -x[0])


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_wide_beam_is_exhaustive_search(net, alpha):
    """With a beam wider than every hypothesis there is, beam search is exact: its n best
    equal the n best of scoring every possible output (with the same length rule)."""
    limit = 3
    shortlist = np.array([0, 1, 3, 4])  # a shortlist: 3 words + EOS -> 1+3+9+27 outputs
    for allowed_ids in (np.arange(VOCAB), shortlist):
        allowed = np.zeros(VOCAB, dtype=bool)
        allowed[allowed_ids] = True
        src, mask = _batch([SOURCES[0]])
        expected = _all_hypotheses(net, src, mask, allowed, limit, alpha)
        with torch.no_grad():
            got = search.beam_search(net, src, mask, [allowed_ids], [limit], beam=len(expected),
                                     n_best=5, normalize=alpha)[0]
        assert [c.ids for c in got] == [ids for _, ids in expected[:5]]
        assert [c.score for c in got] == pytest.approx([s for s, _ in expected[:5]], abs=1e-5)


def _naive_beam(net, src, mask, allowed, limit, beam, alpha):
    """Marian's beam search written the slow way: every prefix rescored from scratch."""
    live = [([], 0.0)]
    finished = []
    capacity = beam
    while live and capacity > 0:
        expansions = []
        for tokens, _ in live:
            for y in np.nonzero(allowed)[0]:
                y = int(y)
                logprob = _sequence_logprob(net, src, mask, allowed, tokens + [y], False)
                expansions.append((logprob, tokens, y))
        expansions.sort(key=lambda x: -x[0])
        live = []
        for logprob, tokens, y in expansions[:capacity]:
            if y == EOS_ID or len(tokens) + 1 >= limit:
                ids = tokens if y == EOS_ID else tokens + [y]
                finished.append((logprob / (len(tokens) + 1) ** alpha, ids))
            else:
                live.append((tokens + [y], logprob))
        capacity -= sum(1 for _, tokens, y in expansions[:capacity]
                        if y == EOS_ID or len(tokens) + 1 >= limit)
    return [ids for _, ids in sorted(finished, key=lambda x: -x[0])]


@pytest.mark.parametrize("beam", [2, 3])
def test_narrow_beam_equals_naive_beam_search(net, beam):
    allowed = np.ones(VOCAB, dtype=bool)
    src, mask = _batch(SOURCES)
    limits = [5, 4, 6]
    with torch.no_grad():
        got = search.beam_search(net, src, mask, [np.arange(VOCAB)] * 3, limits, beam=beam,
                                 n_best=beam)
    for i in range(3):
        one_src, one_mask = _batch([SOURCES[i]])
        expected = _naive_beam(net, one_src, one_mask, allowed, limits[i], beam, 1.0)
        assert [c.ids for c in got[i]] == expected[:beam]


def test_beam_one_is_greedy_and_batching_does_not_matter(net):
    src, mask = _batch(SOURCES)
    lists = [np.arange(VOCAB), np.array([0, 2, 5]), np.arange(VOCAB)]
    with torch.no_grad():
        greedy = search.greedy(net, src, mask, lists, [6, 6, 6])
        beam = search.beam_search(net, src, mask, lists, [6, 6, 6], beam=1, n_best=1)
        alone = [search.beam_search(net, *_batch([SOURCES[i]]), [lists[i]], [6], beam=4,
                                    n_best=4)[0] for i in range(3)]
        batched = search.beam_search(net, src, mask, lists, [6, 6, 6], beam=4, n_best=4)
    assert [b[0].ids for b in beam] == greedy
    assert [[c.ids for c in x] for x in batched] == [[c.ids for c in x] for x in alone]
    assert all(set(c.ids) <= set(lists[1].tolist()) for c in batched[1])


def test_sampling_is_seeded_per_sentence_and_draw(net):
    src, mask = _batch(SOURCES)
    lists = [np.arange(VOCAB)] * 3
    with torch.no_grad():
        a = search.sample(net, src, mask, lists, [8] * 3, n=6, sentence_numbers=[0, 1, 2], seed=7,
                          temperature=4.0)
        b = search.sample(net, src, mask, lists, [8] * 3, n=6, sentence_numbers=[0, 1, 2], seed=7,
                          temperature=4.0)
        c = search.sample(net, src, mask, lists, [8] * 3, n=6, sentence_numbers=[0, 1, 2], seed=8,
                          temperature=4.0)
        third = search.sample(net, *_batch([SOURCES[2]]), lists[:1], [8], n=6,
                              sentence_numbers=[2], seed=7, temperature=4.0)[0]
        first_k1 = search.sample(net, src, mask, lists, [8] * 3, n=2, sentence_numbers=[0, 1, 2],
                                 seed=7, top_k=1)
        greedy = search.greedy(net, src, mask, lists, [8] * 3)
    ids = [[d.ids for d in x] for x in a]
    assert ids == [[d.ids for d in x] for x in b]
    assert ids != [[d.ids for d in x] for x in c]
    assert [d.ids for d in third] == ids[2]  # alone or in a batch: the same draws
    assert all(d.ids == g for x, g in zip(first_k1, greedy) for d in x)  # top-1 = greedy
    for x in a:  # a draw's log-probability is that of its tokens (+ EOS when it ended)
        for d in x:
            one = _batch([SOURCES[a.index(x)]])
            expected = _sequence_logprob(net, *one, np.ones(VOCAB, dtype=bool), d.ids,
                                         len(d.ids) < 8)
            assert d.logprob == pytest.approx(expected, abs=1e-5)


def test_truncation_rules():
    p = torch.tensor([[0.5, 0.25, 0.15, 0.1]], dtype=torch.float64)
    logp = p.log()
    kept = lambda out: torch.isfinite(out[0]).tolist()  # noqa: E731
    assert kept(search.truncate(logp, top_k=2)) == [True, True, False, False]
    # nucleus: the smallest set whose mass reaches p (0.5 + 0.25 >= 0.7)
    assert kept(search.truncate(logp, top_p=0.7)) == [True, True, False, False]
    assert kept(search.truncate(logp, top_p=0.75)) == [True, True, False, False]
    assert kept(search.truncate(logp, top_p=0.76)) == [True, True, True, False]
    assert kept(search.truncate(logp, epsilon=0.12)) == [True, True, True, False]
    assert kept(search.truncate(logp, epsilon=0.9)) == [True, False, False, False]  # best stays


def test_length_limit_matches_native_engine():
    assert search.length_limit(4, 2.5) == 10
    assert search.length_limit(1, 0.1) == 1
    assert math.ceil(2.5 * 3) == search.length_limit(3, 2.5)


def test_decoding_options_are_checked():
    with pytest.raises(OptionError, match="greedy decoding gives one"):
        Decoding("greedy", 4)
    with pytest.raises(OptionError, match="beam size 2 is smaller"):
        Decoding("beam", 4, beam_size=2)
    with pytest.raises(OptionError, match="top-p"):
        Decoding("sample", 4, top_p=0)
    with pytest.raises(OptionError, match="decoding must be one of"):
        Decoding("nucleus", 4)
    assert Decoding("beam", 4).beam == 4 and Decoding("beam", 2, beam_size=5).beam == 5


# -- through the backends ------------------------------------------------------------------------
def test_bergamot_generate_beam_one_equals_translate():
    from sigmoid_qe.backends.bergamot import load_bergamot
    backend = load_bergamot("bergamot-en-pt", device="cpu")
    sources = ["The cat sat on the mat.", "Hello world!", "We have four-month-old mice.",
               "This is a longer sentence, with a comma and a number: 42."]
    greedy = backend.translate(sources)
    assert [c[0].text for c in backend.generate(sources, Decoding("beam", 1))] == greedy
    beam = backend.generate(sources, Decoding("beam", 4), batch_size=8)
    assert all(len(c) == 4 and len({x.text for x in c}) == 4 for c in beam)
    assert all(c[0].score >= c[1].score >= c[3].score for c in beam)
    drawn = backend.generate(sources, Decoding("sample", 3, seed=5, epsilon=0.02))
    again = backend.generate(sources[2:], Decoding("sample", 3, seed=5, epsilon=0.02),
                             batch_size=1, indices=[2, 3])
    assert [[x.text for x in c] for c in drawn[2:]] == [[x.text for x in c] for c in again]


def test_hf_generate(marian_qe):
    sources = ["the cat sat on the mat", "a dog eats fish"]
    beams = marian_qe.translate(sources, n=3, decoding=Decoding("beam", 3))
    assert [len(c) for c in beams] == [3, 3]
    assert all(len(set(c)) == 3 for c in beams)
    greedy = marian_qe.translate(sources)
    assert [c[0] for c in marian_qe.translate(sources, n=1, decoding=Decoding("beam", 1))] == greedy
    one = marian_qe.translate(sources, n=4, decoding=Decoding("sample", 4, seed=3))
    two = marian_qe.translate(sources, n=4, decoding=Decoding("sample", 4, seed=3))
    assert one == two and [len(c) for c in one] == [4, 4]
