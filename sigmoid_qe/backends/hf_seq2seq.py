"""Hugging Face encoder-decoder translation models (Marian/OPUS-MT, M2M100, NLLB, mBART, T5).

The encoder reads the source; the decoder is teacher-forced with the hypothesis tokenised
as a target (``tokenizer(text_target=...)``), starting from the model's
``decoder_start_token_id``. Multilingual tokenizers get their language codes from ``--lp``,
so the forced target-language BOS is part of the targets but is not scored.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch

from ..errors import ModelLoadError, SigmoidQEError
from ..languages import model_language_candidates, split_lp
from ..offsets import without_format
from .base import EncodedPair, ForwardOutput, pad_right, scored_mask_tensor, warn_truncated
from .hf import HFBackend


class HFSeq2SeqBackend(HFBackend):
    """Teacher-forced scoring with an ``AutoModelForSeq2SeqLM``."""

    #: Multilingual tokenizers need the language pair to pick their codes.
    needs_lp_attribute = "src_lang"

    def __init__(self, name: str, model, tokenizer, device: torch.device, lp: Optional[str] = None,
                 prompt_template: Optional[str] = None):
        super().__init__(name, model, tokenizer, device, lp, prompt_template)
        config = model.config
        start = getattr(config, "decoder_start_token_id", None)
        if start is None and getattr(model, "generation_config", None) is not None:
            start = model.generation_config.decoder_start_token_id
        if start is None:
            raise ModelLoadError(f"{name}: the model config has no decoder_start_token_id")
        self.decoder_start_token_id = int(start)
        self._set_languages(lp)

    def _translates_both_ways(self) -> bool:
        """Only a multilingual tokenizer (language codes) can be pointed the other way; a
        bilingual model (Marian opus-mt-xx-yy) translates one direction."""
        return hasattr(self.tokenizer, "src_lang")

    def _set_languages(self, lp: Optional[str]) -> None:
        """Point multilingual tokenizers (NLLB, M2M100, mBART-50) at the pair's languages."""
        if not hasattr(self.tokenizer, "src_lang"):
            return
        src, tgt = split_lp(lp)
        if src is None:
            raise SigmoidQEError(f"{self.name} is multilingual: give the language pair with --lp xx-yy")
        self.tokenizer.src_lang = self._model_code(src)
        self.tokenizer.tgt_lang = self._model_code(tgt)

    def _model_code(self, code: str) -> str:
        """The tokenizer's own code for an ISO code ("pt" -> "por_Latn", "pt_XX" or "pt")."""
        unk = self.tokenizer.unk_token_id
        vocab = self.tokenizer.get_vocab()

        def known(token: str) -> bool:
            return token in vocab or self.tokenizer.convert_tokens_to_ids(token) not in (None, unk)

        for candidate in model_language_candidates(code):
            if known(candidate):
                return candidate
            if known(f"__{candidate}__"):  # M2M100 takes "pt" for the token "__pt__"
                return candidate
        raise SigmoidQEError(f"{self.name}: language code {code!r} is unknown to the tokenizer")

    def _source_ids(self, source: str) -> List[int]:
        """The encoder input: the source, through the prompt template where one is set."""
        text = (self.prompt_template.format(**self.prompt_fields(source))
                if self.prompt_template else without_format(source))
        return list(self.tokenizer(text, verbose=False)["input_ids"])

    def generation_context(self, source: str) -> List[int]:
        context = self._source_ids(source)
        return _clip(context, self.max_length) if self.max_length else context

    def target_token_ids(self, text: str) -> List[int]:
        return self._tokenize_hypothesis(text, as_target=True, add_special_tokens=False)[0]

    def encode(self, sources: Sequence[str], hypotheses: Sequence[str],
               include_eos: bool = True) -> List[EncodedPair]:
        limit = self.max_length
        pairs = []
        for index, (source, hypothesis) in enumerate(zip(sources, hypotheses)):
            context = self._source_ids(source)
            targets, offsets, spelled = self._tokenize_hypothesis(hypothesis, as_target=True)
            content = self.tokenizer(text_target=spelled.respelled, add_special_tokens=False,
                                     verbose=False)["input_ids"]
            scored = self._scored_positions(targets, include_eos, content)
            if not any(scored):  # nothing to score (an empty line without EOS): score the EOS
                scored = self._scored_positions(targets, True, content)
            truncated = False
            if limit and len(context) > limit:
                context = _clip(context, limit)
                warn_truncated("source", index, limit)
                truncated = True
            if limit and len(targets) > limit:
                targets, scored = _clip(targets, limit), _clip(scored, limit)
                offsets = _clip(offsets, limit) if offsets is not None else None
                warn_truncated("translation", index, limit)
                truncated = True
            tokens, spans = self._token_offsets(spelled, targets, scored, offsets)
            pairs.append(EncodedPair(index, context, targets, scored, tokens, spans, truncated))
        return pairs

    def forward(self, batch: Sequence[EncodedPair]) -> ForwardOutput:
        input_ids, attention = pad_right([p.context_ids for p in batch], self.pad_token_id)
        targets, target_mask = pad_right([p.target_ids for p in batch], self.pad_token_id)
        decoder_inputs = torch.full_like(targets, self.pad_token_id)
        decoder_inputs[:, 0] = self.decoder_start_token_id
        decoder_inputs[:, 1:] = targets[:, :-1]
        decoder_mask = torch.zeros_like(target_mask)
        decoder_mask[:, 0] = True
        decoder_mask[:, 1:] = target_mask[:, :-1]
        dev = self.device
        with torch.no_grad():
            hidden = self._run_until_output_layer(
                input_ids=input_ids.to(dev), attention_mask=attention.to(dev),
                decoder_input_ids=decoder_inputs.to(dev), decoder_attention_mask=decoder_mask.to(dev))
        return ForwardOutput(hidden=hidden, target_ids=targets.to(dev),
                             scored_mask=scored_mask_tensor(batch, targets.shape[1]).to(dev))


def _clip(seq, limit: int):
    """The first ``limit - 1`` items and the last one (which keeps the final EOS)."""
    return list(seq[: limit - 1]) + list(seq[-1:])
