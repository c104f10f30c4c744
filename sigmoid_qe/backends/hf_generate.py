"""Candidates from a Hugging Face model: ``generate()`` with the options of :class:`Decoding`.

The inputs are exactly what scoring feeds the model (the seq2seq source with its prompt
template and language codes; the causal LM's prompt, left-padded), so a candidate is scored
in the context it was generated in. Multilingual seq2seq models are forced to start with the
target-language code, as their model cards say. A causal LM's continuation ends at its first
line break (a translation is one line). Sampling is seeded once per batch from ``seed`` and
the batch's first sentence, so a rerun with the same batch size draws the same candidates.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch

from ..decoding import Candidate, Decoding
from .frozen import length_sorted_batches

#: Room for the output: at most this many tokens per source token (plus a few).
MAX_LENGTH_FACTOR = 2.5


def generation_kwargs(decoding: Decoding) -> dict:
    """``generate()`` arguments of a :class:`Decoding`."""
    kwargs = dict(num_return_sequences=decoding.n, output_scores=True, output_logits=True,
                  return_dict_in_generate=True)
    if decoding.strategy == "sample":
        kwargs.update(do_sample=True, num_beams=1, temperature=decoding.temperature,
                      top_k=decoding.top_k or None, top_p=decoding.top_p,
                      epsilon_cutoff=decoding.epsilon)
    else:
        kwargs.update(do_sample=False, num_beams=decoding.beam)
        if decoding.beam > 1:
            kwargs.update(length_penalty=decoding.length_penalty, early_stopping=True)
    return kwargs


def _forced_bos(backend) -> Optional[int]:
    """The target-language code multilingual seq2seq models must start with (NLLB, M2M100,
    mBART-50), else None."""
    tokenizer = backend.tokenizer
    code = getattr(tokenizer, "tgt_lang", None)
    if not code or backend.model.config.is_encoder_decoder is False:
        return None
    if hasattr(tokenizer, "get_lang_id"):
        return int(tokenizer.get_lang_id(code))
    token = tokenizer.convert_tokens_to_ids(code)
    return None if token == tokenizer.unk_token_id else int(token)


def generate(backend, contexts: Sequence[List[int]], decoding: Decoding, batch_size: int,
             indices: Optional[Sequence[int]] = None, causal: bool = False) -> List[List[Candidate]]:
    """``decoding.n`` candidates per context (token ids of a source or prompt); ``indices``
    are the contexts' positions in the whole input (default 0, 1, ...), which seed sampling."""
    positions = list(indices) if indices is not None else list(range(len(contexts)))
    model, tokenizer, device = backend.model, backend.tokenizer, backend.device
    pad = backend.pad_token_id
    rows_per_sentence = decoding.n if decoding.strategy == "sample" else decoding.beam
    per_batch = max(1, batch_size // rows_per_sentence)
    forced = None if causal else _forced_bos(backend)
    results: List[List[Candidate]] = [[] for _ in contexts]
    kwargs = generation_kwargs(decoding)
    for rows in length_sorted_batches([len(c) for c in contexts], per_batch):
        width = max(len(contexts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            seq = torch.tensor(contexts[i], dtype=torch.long)
            if causal:  # left padding: the continuation follows the prompt directly
                ids[r, width - len(seq):], mask[r, width - len(seq):] = seq, 1
            else:
                ids[r, :len(seq)], mask[r, :len(seq)] = seq, 1
        room = math.ceil(MAX_LENGTH_FACTOR * width) + 4
        if backend.max_length:
            room = max(1, min(room, backend.max_length - (width if causal else 0)))
        if decoding.strategy == "sample":
            torch.manual_seed(decoding.seed * 1_000_003 + positions[min(rows)])
        extra = {"forced_bos_token_id": forced} if forced is not None else {}
        with torch.inference_mode():
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=room, pad_token_id=pad, **extra, **kwargs)
        new = out.sequences[:, width:] if causal else out.sequences
        logprobs = _logprobs(out, new, decoding, pad, tokenizer.eos_token_id)
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        for r, i in enumerate(rows):
            found = []
            for k in range(decoding.n):
                j = r * decoding.n + k
                text = texts[j].split("\n", 1)[0].strip() if causal else texts[j].strip()
                score = (float(out.sequences_scores[j]) if getattr(out, "sequences_scores", None)
                         is not None else logprobs[j])
                found.append(Candidate(text, logprobs[j], score))
            results[i] = found
    return results


def _logprobs(out, new: torch.Tensor, decoding: Decoding, pad: int,
              eos: Optional[int]) -> List[Optional[float]]:
    """The model's log-probability of each output (raw logits: before temperature and
    truncation), for greedy and sampled outputs; None for beam outputs (whose per-step
    logits belong to reordered beams)."""
    if decoding.beam > 1 or not getattr(out, "logits", None):
        return [None] * new.shape[0]
    steps = torch.stack(out.logits, dim=1).float().log_softmax(-1)  # [rows, steps, V]
    chosen = new[:, -steps.shape[1]:]
    logp = steps.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
    alive = torch.ones_like(chosen, dtype=torch.bool)
    if eos is not None:  # tokens after the first EOS are padding
        ended = (chosen == eos).long().cumsum(1)
        alive = (ended == 0) | ((ended == 1) & (chosen == eos))
    return [float(v) for v in (logp * alive).sum(1)]
