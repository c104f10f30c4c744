"""What the two Hugging Face backends share: safe loading, the hidden-state capture, logits.

The vector a Sigmoid Head multiplies is the *input of the LM's output layer*. Rather than
re-implement every architecture's final steps (T5 rescales before ``lm_head``, some models
add a final bias or soft-cap the logits), a forward pre-hook on the output layer captures
that input and stops the forward pass right there, so the [batch, time, vocab] projection
is never computed unless a softmax-based score asks for it.
"""
from __future__ import annotations

import copy
import os
import socket
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import torch

from ..errors import ModelLoadError, first_line
from ..languages import language_name, split_lp, swapped_lp
from ..offsets import Respeller, align_pieces, map_spans, partition, without_format
from ..prompts import check_prompt_style, check_prompt_template
from .base import Backend


@dataclass
class Hypothesis:
    """A hypothesis as the user wrote it, as the model reads it, and how the two align."""

    text: str
    respelled: str
    origin: List[int]

    def without_first_character(self) -> Hypothesis:
        """For a text that was given a leading character the user did not write."""
        return Hypothesis(self.text[1:], self.respelled[1:], [max(0, o - 1) for o in self.origin[1:]])


#: Where model names that are not local directories are looked up.
HUB_HOST = "huggingface.co"


class _Captured(Exception):
    """Raised inside the output layer's pre-hook to stop the forward pass early."""

    def __init__(self, hidden: torch.Tensor):
        super().__init__()
        self.hidden = hidden


def hub_offline() -> bool:
    """True when models must come from the local cache: ``HF_HUB_OFFLINE`` (or
    ``TRANSFORMERS_OFFLINE``) is set, or the hub cannot be reached in a few seconds (instead of
    transformers' half a minute of retries)."""
    if any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
           for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")):
        return True
    try:
        socket.create_connection((HUB_HOST, 443), timeout=3).close()
        return False
    except OSError:
        return True


def load_hf(name_or_dir: str, auto_class, trust_remote_code: bool, revision: Optional[str],
            dtype: torch.dtype, local_files_only: bool = False):
    """Tokenizer + model, with load failures turned into one-line ModelLoadErrors."""
    from transformers import AutoTokenizer
    options = dict(trust_remote_code=trust_remote_code, revision=revision,
                   local_files_only=local_files_only)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_dir, **options)
        model = auto_class.from_pretrained(name_or_dir, dtype=dtype, **options)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{name_or_dir}: cannot load as a Hugging Face model "
                             f"({first_line(exc)})") from None
    model.eval()
    model.requires_grad_(False)
    return tokenizer, model


class HFBackend(Backend):
    """What the seq2seq and causal Hugging Face backends share: the model, its tokenizer,
    the hidden-state capture, exact logits and the hypothesis' token offsets."""

    def __init__(self, name: str, model, tokenizer, device: torch.device, lp: Optional[str] = None,
                 prompt_template: Optional[str] = None):
        self.name = name
        self.model = model.to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.lp = lp
        self.revision = getattr(model.config, "_commit_hash", None)
        self._output_layer = model.get_output_embeddings()
        if self._output_layer is None:
            raise ModelLoadError(f"{name}: the model has no output embedding (lm_head)")
        self._respeller = Respeller(self._can_spell)
        special = set(tokenizer.all_special_ids)
        special.discard(tokenizer.unk_token_id)
        self._special_ids = special  # not hypothesis text: never scored
        src, tgt = split_lp(lp)
        #: The fields a prompt template may use, filled for every source.
        self.src_lang, self.tgt_lang = language_name(src), language_name(tgt)
        self.prompt_template = prompt_template
        if prompt_template is not None:
            check_prompt_template(prompt_template)
        self.prompt_style = "default"
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = getattr(model.config, "pad_token_id", None)
        if pad is None:
            pad = tokenizer.eos_token_id
        self.pad_token_id = int(pad or 0)

    def set_prompt_style(self, style: str) -> None:
        """Use a named input format (see :mod:`sigmoid_qe.prompts`)."""
        self.prompt_style = check_prompt_style(style)

    def reversed(self) -> Optional[Backend]:
        """This model with the languages swapped (a multilingual seq2seq model, or a causal
        LM whose prompt names the languages), sharing the weights; its own tokenizer state."""
        lp = swapped_lp(self.lp)
        if lp is None or not self._translates_both_ways():
            return None
        other = copy.copy(self)
        other.tokenizer = copy.deepcopy(self.tokenizer)
        other.lp = lp
        src, tgt = split_lp(lp)
        other.src_lang, other.tgt_lang = language_name(src), language_name(tgt)
        other._set_languages(lp)
        return other

    def _translates_both_ways(self) -> bool:
        """A prompt names the languages: any pair the model knows, either way."""
        return True

    def _set_languages(self, lp: Optional[str]) -> None:
        """Point the tokenizer at the pair's languages (seq2seq models with language codes)."""

    def prompt_fields(self, source: str) -> Dict[str, str]:
        return {"src_lang": self.src_lang or "the source language",
                "tgt_lang": self.tgt_lang or "the target language",
                "source": without_format(source)}  # invisible format characters dropped

    @property
    def eos_token_id(self) -> Optional[int]:
        return self.tokenizer.eos_token_id

    @property
    def unk_token_id(self) -> Optional[int]:
        return self.tokenizer.unk_token_id

    def special_token_ids(self) -> Set[int]:
        ids = {int(i) for i in self.tokenizer.all_special_ids}
        if self.tokenizer.pad_token_id is not None:
            ids.add(int(self.tokenizer.pad_token_id))
        return ids

    # -- sizes --------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return int(self._output_layer.weight.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self._output_layer.weight.shape[1])

    @property
    def max_length(self) -> Optional[int]:
        limit = getattr(self.tokenizer, "model_max_length", None)
        if limit is not None and limit < 1_000_000:
            return int(limit)
        positions = getattr(self.model.config, "max_position_embeddings", None)
        return int(positions) if positions else None

    def output_embedding(self) -> torch.Tensor:
        return self._output_layer.weight.detach()

    def output_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Exactly the model's logits: lm_head, plus Marian/BART's final bias, plus soft-capping."""
        layer = self._output_layer
        logits = layer(hidden.to(layer.weight.dtype)).float()
        bias = getattr(self.model, "final_logits_bias", None)
        if bias is not None:
            logits = logits + bias.float().reshape(-1)[: logits.shape[-1]]
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def to(self, device, dtype=None):
        self.model.to(device=device, dtype=dtype)
        return super().to(device, dtype)

    # -- generation ----------------------------------------------------------------------
    def generation_context(self, source: str) -> List[int]:
        """The token ids a candidate for ``source`` is generated from (as it is scored)."""
        raise NotImplementedError

    def can_generate(self) -> bool:
        return True

    def generate(self, sources: Sequence[str], decoding, batch_size: int = 32,
                 indices: Optional[Sequence[int]] = None):
        """``decoding.n`` candidates per source (see :mod:`.hf_generate`)."""
        from .hf_generate import generate
        contexts = [self.generation_context(s) for s in sources]
        return generate(self, contexts, decoding, batch_size, indices,
                        causal=not self.model.config.is_encoder_decoder)

    def generation_lengths(self, sources: Sequence[str]) -> List[int]:
        """The length :meth:`generate` batches each source by."""
        return [len(self.generation_context(s)) for s in sources]

    def translate(self, sources: Sequence[str], batch_size: int = 32) -> List[str]:
        """Greedy translations."""
        from ..decoding import Decoding
        return [c[0].text for c in self.generate(sources, Decoding(), batch_size)]

    # -- capture ------------------------------------------------------------------------
    def _run_until_output_layer(self, **inputs) -> torch.Tensor:
        """Run the model and return the output layer's input, skipping the vocab projection."""
        def hook(_module, args):
            raise _Captured(args[0])

        handle = self._output_layer.register_forward_pre_hook(hook)
        try:
            self.model(**inputs, use_cache=False)
        except _Captured as captured:
            return captured.hidden
        finally:
            handle.remove()
        raise RuntimeError("the model's forward never reached its output embedding layer")

    # -- tokens -------------------------------------------------------------------------
    def _scored_positions(self, ids: Sequence[int], include_eos: bool,
                          content: Optional[Sequence[int]] = None) -> List[bool]:
        """Which target positions are hypothesis tokens (scored), which are added by the
        tokenizer (language codes, BOS: not scored); EOS is scored when ``include_eos``.

        ``content`` is the hypothesis tokenised without special tokens: where it occurs
        contiguously in ``ids``, exactly those positions are the hypothesis (this also catches
        language codes that a tokenizer does not list among its special tokens). Otherwise
        the tokenizer's special-token list decides.
        """
        eos = self.tokenizer.eos_token_id
        ids = list(ids)
        if content:
            n = len(content)
            content = list(content)
            for k in range(len(ids) - n + 1):
                if ids[k:k + n] == content:
                    scored = [k <= j < k + n for j in range(len(ids))]
                    if include_eos and k + n < len(ids) and ids[k + n] == eos:
                        scored[k + n] = True
                    return scored
        return [include_eos if i == eos else i not in self._special_ids for i in ids]

    def _token_offsets(self, hypothesis: Hypothesis, ids: Sequence[int], scored: Sequence[bool],
                       offsets: Optional[Sequence[Tuple[int, int]]]
                       ) -> Tuple[List[str], List[Tuple[int, int]]]:
        """Token strings and character spans (partitioning the user's text, see
        :mod:`sigmoid_qe.offsets`) of the scored positions; EOS gets the empty end span."""
        pieces = self.tokenizer.convert_ids_to_tokens(list(ids))
        eos = self.tokenizer.eos_token_id
        content = [k for k, (i, s) in enumerate(zip(ids, scored)) if s and i != eos]
        if offsets is not None:
            raw = [(int(offsets[k][0]), int(offsets[k][1])) for k in content]
        else:
            raw = align_pieces(hypothesis.respelled, [pieces[k] for k in content])
        spans = dict(zip(content, partition(hypothesis.text,
                                            map_spans(raw, hypothesis.origin))))
        end = (len(hypothesis.text), len(hypothesis.text))
        tokens = [pieces[k] for k, s in enumerate(scored) if s]
        return tokens, [spans.get(k, end) for k, s in enumerate(scored) if s]

    def _tokenize_hypothesis(self, text: str, as_target: bool, add_special_tokens: bool = True
                             ) -> Tuple[List[int], Optional[List[Tuple[int, int]]], Hypothesis]:
        """ids, offsets into the respelled text (fast tokenizers only) and the respelling of
        one hypothesis."""
        respelled, origin = self._respeller.respell(text)
        fast = getattr(self.tokenizer, "is_fast", False)
        kwargs = {"return_offsets_mapping": True} if fast else {}
        if as_target:
            enc = self.tokenizer(text_target=respelled, add_special_tokens=add_special_tokens,
                                 verbose=False, **kwargs)
        else:
            enc = self.tokenizer(respelled, add_special_tokens=add_special_tokens, verbose=False,
                                 **kwargs)
        offsets = list(enc["offset_mapping"]) if fast else None
        return list(enc["input_ids"]), offsets, Hypothesis(text, respelled, origin)

    def _can_spell(self, text: str) -> bool:
        unk = self.tokenizer.unk_token_id
        if unk is None:
            return True
        return unk not in self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
