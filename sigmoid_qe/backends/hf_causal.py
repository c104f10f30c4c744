"""Hugging Face decoder-only LMs used as translators: a prompt, then the hypothesis.

The input format is a named prompt style (:mod:`sigmoid_qe.prompts`). ``default``: the
tokenizer's chat template when it has one, otherwise a plain template (``--prompt-template``
replaces the instruction); prompt and hypothesis are tokenised separately, so hypothesis tokens
never merge with the prompt's last token, and exactly the hypothesis tokens (plus EOS) are
scored. ``sigmoid-head-paper``: the released heads' format, with the hypothesis after one space
and no EOS scored.
"""
from __future__ import annotations

from typing import List, Sequence

import torch

from ..prompts import DEFAULT_PROMPT, PAPER_PROMPT
from .base import EncodedPair, ForwardOutput, pad_right, warn_truncated
from .hf import HFBackend


class HFCausalBackend(HFBackend):
    """Teacher-forced scoring with an ``AutoModelForCausalLM``."""

    def build_prompt(self, source: str) -> List[int]:
        """Token ids of the prompt that precedes the hypothesis."""
        fields = self.prompt_fields(source)
        if self.prompt_style == "sigmoid-head-paper":
            instruction = (self.prompt_template or PAPER_PROMPT).format(**fields)
            return self._chat(instruction)
        if self.prompt_template is not None:
            return list(self.tokenizer(self.prompt_template.format(**fields))["input_ids"])
        if getattr(self.tokenizer, "chat_template", None):
            return self._chat(DEFAULT_PROMPT.format(**fields).rstrip())
        return list(self.tokenizer(DEFAULT_PROMPT.format(**fields))["input_ids"])

    def _chat(self, instruction: str) -> List[int]:
        """The user turn through the chat template, with the generation prompt."""
        ids = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return list(ids)

    def generation_context(self, source: str) -> List[int]:
        prompt = self.build_prompt(source)
        if not prompt:
            bos = self.tokenizer.bos_token_id
            prompt = [bos if bos is not None else self.tokenizer.eos_token_id]
        return prompt

    def target_token_ids(self, text: str) -> List[int]:
        return self._tokenize_hypothesis(text, as_target=False, add_special_tokens=False)[0]

    def encode(self, sources: Sequence[str], hypotheses: Sequence[str],
               include_eos: bool = True) -> List[EncodedPair]:
        limit = self.max_length
        eos = self.tokenizer.eos_token_id
        pairs = []
        paper = self.prompt_style == "sigmoid-head-paper"
        for index, (source, hypothesis) in enumerate(zip(sources, hypotheses)):
            context = self.build_prompt(source)
            if not context:  # the first hypothesis token needs something to be predicted from
                context = [self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else eos]
            if paper:  # one space before the hypothesis; its offsets still point into it
                targets, offsets, spelled = self._tokenize_hypothesis(
                    " " + hypothesis, as_target=False, add_special_tokens=False)
                spelled = spelled.without_first_character()
                offsets = [(max(0, a - 1), max(0, b - 1)) for a, b in offsets] if offsets else offsets
            else:
                targets, offsets, spelled = self._tokenize_hypothesis(
                    hypothesis, as_target=False, add_special_tokens=False)
            score_eos = (include_eos and not paper) or not targets  # empty line: score its EOS
            if score_eos and eos is not None:
                targets.append(eos)
                if offsets is not None:
                    offsets.append((len(hypothesis), len(hypothesis)))
            truncated = False
            if limit and len(context) + len(targets) > limit:
                truncated = True
                if len(context) >= limit // 2:
                    keep = max(1, limit // 2)
                    context = context[-keep:]
                    warn_truncated("source", index, limit)
                room = limit - len(context)
                if len(targets) > room:
                    targets = targets[:room]
                    offsets = offsets[:room] if offsets is not None else None
                    warn_truncated("translation", index, limit)
            scored = self._scored_positions(targets, score_eos)
            tokens, spans = self._token_offsets(spelled, targets, scored, offsets)
            pairs.append(EncodedPair(index, context, targets, scored, tokens, spans, truncated))
        return pairs

    def forward(self, batch: Sequence[EncodedPair]) -> ForwardOutput:
        sequences = [p.context_ids + p.target_ids[:-1] for p in batch]
        input_ids, attention = pad_right(sequences, self.pad_token_id)
        width = max(len(p.target_ids) for p in batch)
        dev = self.device
        with torch.no_grad():
            hidden_all = self._run_until_output_layer(input_ids=input_ids.to(dev),
                                                      attention_mask=attention.to(dev))
        hidden = hidden_all.new_zeros((len(batch), width, hidden_all.shape[-1]))
        targets = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, pair in enumerate(batch):
            n, start = len(pair.target_ids), len(pair.context_ids) - 1
            hidden[row, :n] = hidden_all[row, start:start + n]
            targets[row, :n] = torch.as_tensor(pair.target_ids)
            mask[row, :n] = torch.as_tensor(pair.scored)
        return ForwardOutput(hidden=hidden, target_ids=targets.to(dev), scored_mask=mask.to(dev))
