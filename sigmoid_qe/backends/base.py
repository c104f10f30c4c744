"""The one interface between a translation LM and everything that scores or trains heads.

A backend turns (source, hypothesis) pairs into, for every hypothesis token, the token id and
the vector the LM's output layer multiplies (its last hidden state). Scoring, heads, training
and the CLI only ever see this interface, so a new kind of model (Hugging Face seq2seq,
Hugging Face causal, Marian/Bergamot binaries) only has to implement it.

Flow: ``encode`` (tokenise once, on CPU, cheap) -> the scorer sorts the pairs by length and
makes batches -> ``forward`` (one batched, teacher-forced pass, no gradients) -> the scorer
gathers the scored positions and, only when a softmax-based score is asked,
calls ``output_logits`` chunk by chunk.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch


@dataclass
class EncodedPair:
    """One (source, hypothesis) pair, tokenised for a backend.

    ``target_ids`` are the decoder's teacher-forced targets, including tokens that are not
    scored (a forced language-code BOS, say); ``scored`` marks the hypothesis tokens (and the
    final EOS unless it was left out). ``tokens`` and ``offsets`` describe the scored
    positions only, in order: the token string and its (start, end) character span in the
    hypothesis; EOS gets the empty span at the end of the text.
    """

    index: int
    context_ids: List[int]
    target_ids: List[int]
    scored: List[bool]
    tokens: List[str]
    offsets: List[Tuple[int, int]]
    truncated: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def cost(self) -> int:
        """Sort key for length-bucketed batching."""
        return len(self.context_ids) + len(self.target_ids)


@dataclass
class ForwardOutput:
    """A batch's teacher-forced pass.

    hidden: [batch, time, hidden] float, the input of the output layer at each target
    position (position t predicts ``target_ids[:, t]``).
    target_ids: [batch, time] long.
    scored_mask: [batch, time] bool, True at the positions that are scored.
    """

    hidden: torch.Tensor
    target_ids: torch.Tensor
    scored_mask: torch.Tensor


class Backend(abc.ABC):
    """A frozen translation LM seen through the eyes of a Sigmoid Head."""

    #: Human-readable model name, used in signatures and head configs.
    name: str = "unknown"
    #: Model revision (commit hash, file checksum) when known.
    revision: Optional[str] = None
    #: Where computations run.
    device: torch.device = torch.device("cpu")
    #: The language pair ("en-pt") the backend was set up for, when known.
    lp: Optional[str] = None

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Rows of the output layer (= rows of a matching head)."""

    @property
    @abc.abstractmethod
    def hidden_size(self) -> int:
        """Columns of the output layer (= columns of a matching head)."""

    @property
    def max_length(self) -> Optional[int]:
        """Longest context/target the model accepts, or None when unbounded."""
        return None

    @abc.abstractmethod
    def output_embedding(self) -> torch.Tensor:
        """The output-embedding matrix [vocab, hidden] (no bias), used to initialise heads."""

    @abc.abstractmethod
    def encode(
        self, sources: Sequence[str], hypotheses: Sequence[str], include_eos: bool = True
    ) -> List[EncodedPair]:
        """Tokenise pairs; truncate over-long inputs with a warning that names the line."""

    @abc.abstractmethod
    def forward(self, batch: Sequence[EncodedPair]) -> ForwardOutput:
        """Teacher-forced pass over one batch, under ``torch.no_grad`` (the LM is frozen)."""

    @abc.abstractmethod
    def output_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The LM's own logits [n, vocab] (float32) for hidden states [n, hidden]."""

    def to(self, device: torch.device, dtype: Optional[torch.dtype] = None) -> "Backend":
        """Move the model; subclasses override and call this to record the device."""
        self.device = torch.device(device)
        return self


def pad_right(rows: Sequence[Sequence[int]], pad: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad integer rows into a [batch, time] long tensor plus a bool mask."""
    width = max((len(r) for r in rows), default=0)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        if row:
            ids[i, : len(row)] = torch.as_tensor(list(row), dtype=torch.long)
            mask[i, : len(row)] = True
    return ids, mask


def scored_mask_tensor(batch: Sequence[EncodedPair], width: int) -> torch.Tensor:
    """[batch, width] bool tensor of the scored target positions of each pair."""
    mask = torch.zeros((len(batch), width), dtype=torch.bool)
    for i, pair in enumerate(batch):
        if pair.scored:
            mask[i, : len(pair.scored)] = torch.as_tensor(pair.scored, dtype=torch.bool)
    return mask
