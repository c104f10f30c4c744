"""Decoding with a Bergamot student: greedy search, beam search (n-best), sampling.

All three restrict each sentence to its lexical shortlist, as the native engine does: the
shortlists of a batch are merged into one id set, so a step is one small matmul, and a row's
scores outside its own list are -inf, which makes every result identical to decoding the
sentence alone. A softmax over a sentence's allowed ids is the shortlisted output layer's.

* :func:`greedy`: the native engine's search (``beam-size: 1``), exactly.
* :func:`beam_search`: Marian's: each step keeps the ``beam`` best expansions of a sentence's
  live hypotheses; a hypothesis that ends (EOS, or the length limit) leaves the beam and the
  beam shrinks by one, until it is empty; finished hypotheses are ranked by their summed
  log-probability divided by length^``normalize`` (the length includes EOS; the models' own
  config says ``normalize: 1.0``).
* :func:`sample`: ancestral sampling with temperature, top-k, top-p (nucleus) and epsilon
  truncation; every (sentence, sample) has its own seeded generator, so the draws do not
  depend on batching.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .bergamot_model import EOS_ID, BergamotTransformer


@dataclass
class Decoded:
    """A decoded hypothesis: ids (no EOS), summed log-probability, and the ranking score."""

    ids: List[int]
    logprob: Optional[float]
    score: Optional[float]


class _Vocabulary:
    """The merged shortlist of a batch, as the output layer's rows and a block mask."""

    def __init__(self, net: BergamotTransformer, shortlists: Sequence[np.ndarray], device):
        union = np.unique(np.concatenate(list(shortlists)))
        allowed = np.zeros((len(shortlists), len(union)), dtype=bool)
        for i, ids in enumerate(shortlists):
            allowed[i] = np.isin(union, ids, assume_unique=True)
        self.ids = torch.from_numpy(union).to(device)
        self.weight = net.emb[self.ids].contiguous()
        self.bias = net.out_b[self.ids].contiguous()
        self.blocked = torch.from_numpy(~allowed).to(device)
        self.eos = int(np.searchsorted(union, EOS_ID))  # shortlists always hold EOS (id 0)

    def logits(self, hidden: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.weight, self.bias).masked_fill_(self.blocked[sentences],
                                                                     float("-inf"))


def greedy(net: BergamotTransformer, src_ids: torch.Tensor, src_mask: torch.Tensor,
           shortlists: Sequence[np.ndarray], max_lengths: Sequence[int]) -> List[List[int]]:
    """Greedy search; outputs exclude EOS. A sentence at its length limit ends there."""
    device = src_ids.device
    vocab = _Vocabulary(net, shortlists, device)
    limits = torch.as_tensor(list(max_lengths), device=device)
    state = net.start(net.encode(src_ids, src_mask), src_mask)
    alive = torch.arange(src_ids.shape[0], device=device)
    outputs: List[List[int]] = [[] for _ in range(src_ids.shape[0])]
    prev: Optional[torch.Tensor] = None
    while alive.numel():
        best = vocab.ids[vocab.logits(net.step(state, prev), alive).argmax(dim=-1)]
        done = (best == EOS_ID) | (state.step >= limits[alive])
        for row, token in zip(alive.tolist(), best.tolist()):
            if token != EOS_ID:
                outputs[row].append(token)
        if bool(done.any()):
            keep = (~done).nonzero().squeeze(1)
            alive, best = alive[keep], best[keep]
            state = state.select(keep)
        prev = best
    return outputs


def beam_search(net: BergamotTransformer, src_ids: torch.Tensor, src_mask: torch.Tensor,
                shortlists: Sequence[np.ndarray], max_lengths: Sequence[int], beam: int,
                n_best: int, normalize: float = 1.0) -> List[List[Decoded]]:
    """Marian's beam search (see the module docstring); the ``n_best`` best finished
    hypotheses of each sentence, best first (ties: the one found first)."""
    device = src_ids.device
    b = src_ids.shape[0]
    vocab = _Vocabulary(net, shortlists, device)
    state = net.start(net.encode(src_ids, src_mask), src_mask)
    # live hypotheses: parallel lists, one row of the decoder state each
    sentence = list(range(b))
    tokens: List[List[int]] = [[] for _ in range(b)]
    scores = torch.zeros(b, device=device, dtype=torch.float64)
    capacity = [beam] * b
    finished: List[List[Tuple[float, int, Decoded]]] = [[] for _ in range(b)]
    order = 0
    prev: Optional[torch.Tensor] = None
    while sentence:
        rows = torch.as_tensor(sentence, device=device)
        logp = torch.log_softmax(vocab.logits(net.step(state, prev), rows).double(), dim=-1)
        total = scores.unsqueeze(1) + logp  # [live, V]
        keep_rows: List[int] = []
        next_tokens: List[int] = []
        next_scores: List[float] = []
        next_sentence: List[int] = []
        next_seq: List[List[int]] = []
        for s in dict.fromkeys(sentence):  # each sentence still decoding, in order
            mine = [r for r, x in enumerate(sentence) if x == s]
            flat = total[mine].reshape(-1)
            k = min(capacity[s], int(torch.isfinite(flat).sum()))
            top_scores, top_index = flat.topk(k)
            for value, index in zip(top_scores.tolist(), top_index.tolist()):
                r, v = mine[index // total.shape[1]], index % total.shape[1]
                token = int(vocab.ids[v])
                length = len(tokens[r]) + 1
                if token == EOS_ID or length >= max_lengths[s]:
                    ids = tokens[r] if token == EOS_ID else tokens[r] + [token]
                    rank = value / (length ** normalize) if normalize else value
                    finished[s].append((rank, order, Decoded(ids, value, rank)))
                    order += 1
                    capacity[s] -= 1
                else:
                    keep_rows.append(r)
                    next_tokens.append(token)
                    next_scores.append(value)
                    next_sentence.append(s)
                    next_seq.append(tokens[r] + [token])
        if not keep_rows:
            break
        state = state.select(torch.as_tensor(keep_rows, device=device))
        prev = torch.as_tensor(next_tokens, device=device)
        scores = torch.as_tensor(next_scores, device=device, dtype=torch.float64)
        sentence, tokens = next_sentence, next_seq
    return [[c for _, _, c in sorted(f, key=lambda x: (-x[0], x[1]))[:n_best]] for f in finished]


def sample_generator(seed: int, sentence: int, draw: int) -> torch.Generator:
    """The generator of one (sentence, draw): independent of batching and call order."""
    key = f"{seed}/{sentence}/{draw}".encode()
    generator = torch.Generator()
    generator.manual_seed(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1)
    return generator


def truncate(logp: torch.Tensor, top_k: int = 0, top_p: float = 1.0,
             epsilon: float = 0.0) -> torch.Tensor:
    """Log-probabilities [n, V] with what top-k / top-p / epsilon sampling cuts set to -inf
    (the most probable token always stays)."""
    out = logp.clone()
    probs = logp.exp()
    if epsilon > 0:
        out[probs < epsilon] = float("-inf")
    if top_k and top_k < logp.shape[-1]:
        kth = probs.topk(top_k, dim=-1).values[:, -1:]
        out[probs < kth] = float("-inf")
    if top_p < 1.0:
        sorted_p, index = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(-1) - sorted_p  # mass of the tokens ranked above
        cut = torch.zeros_like(out, dtype=torch.bool).scatter_(1, index, before >= top_p)
        out[cut] = float("-inf")
    best = logp.argmax(dim=-1, keepdim=True)
    return out.scatter(1, best, logp.gather(1, best))


def sample(net: BergamotTransformer, src_ids: torch.Tensor, src_mask: torch.Tensor,
           shortlists: Sequence[np.ndarray], max_lengths: Sequence[int], n: int,
           sentence_numbers: Sequence[int], seed: int = 0, temperature: float = 1.0,
           top_k: int = 0, top_p: float = 1.0, epsilon: float = 0.0) -> List[List[Decoded]]:
    """``n`` samples per sentence (see the module docstring), in draw order; a sample's
    ``logprob`` is the model's (before temperature and truncation)."""
    device = src_ids.device
    b = src_ids.shape[0]
    vocab = _Vocabulary(net, shortlists, device)
    enc = net.encode(src_ids, src_mask)
    rows = torch.arange(b, device=device).repeat_interleave(n)
    state = net.start(enc[rows], src_mask[rows])
    sentence = rows.tolist()
    draws = [d for _ in range(b) for d in range(n)]
    generators = [sample_generator(seed, int(sentence_numbers[s]), d) for s, d in zip(sentence, draws)]
    tokens: List[List[int]] = [[] for _ in sentence]
    logprob = [0.0] * len(sentence)
    out: List[List[Optional[Decoded]]] = [[None] * n for _ in range(b)]
    live = list(range(len(sentence)))
    prev: Optional[torch.Tensor] = None
    while live:
        sentences = torch.as_tensor([sentence[i] for i in live], device=device)
        logits = vocab.logits(net.step(state, prev), sentences).double()
        logp = torch.log_softmax(logits, dim=-1)  # the model's, for the candidate's logprob
        shaped = torch.log_softmax(logits / temperature, dim=-1) if temperature != 1 else logp
        probs = truncate(shaped, top_k, top_p, epsilon).softmax(dim=-1)
        cdf = probs.cumsum(dim=-1)
        uniform = torch.cat([torch.rand(1, generator=generators[i], dtype=torch.float64)
                             for i in live]).to(device)
        picks = torch.searchsorted(cdf, uniform.unsqueeze(1) * cdf[:, -1:]).squeeze(1)
        picks = picks.clamp(max=cdf.shape[1] - 1)
        keep: List[int] = []
        next_live: List[int] = []
        chosen = vocab.ids[picks].tolist()
        for row, (i, token, v) in enumerate(zip(live, chosen, picks.tolist())):
            logprob[i] += float(logp[row, v])
            s = sentence[i]
            if token == EOS_ID or len(tokens[i]) + 1 >= max_lengths[s]:
                ids = tokens[i] if token == EOS_ID else tokens[i] + [token]
                out[s][draws[i]] = Decoded(ids, logprob[i], logprob[i])
            else:
                tokens[i].append(token)
                keep.append(row)
                next_live.append(i)
        if not next_live:
            break
        keep_t = torch.as_tensor(keep, device=device)
        state = state.select(keep_t)
        prev = torch.as_tensor([chosen[r] for r in keep], device=device)
        live = next_live
    return [[c for c in per if c is not None] for per in out]


def length_limit(source_length: int, factor: float) -> int:
    """At most ceil(factor x source length incl. </s>) tokens before </s> (the native engine's)."""
    return max(1, math.ceil(factor * source_length))
