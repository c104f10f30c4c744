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
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set, Tuple, Union

import torch

from ..devices import PRECISION_NAMES
from ..errors import InputWarning, OptionError, SigmoidQEWarning

#: ``--precision`` names -> dtypes.
PRECISIONS = dict(zip(PRECISION_NAMES, (torch.float32, torch.bfloat16, torch.float16,
                                        torch.float32)))


def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """The device to run on: None/"auto" -> CUDA when available, else CPU.

    Every backend and the training's process setup use this one decision; a CUDA device
    that is not there, or a name torch does not know, is an :class:`OptionError`.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise OptionError(f"unknown device {device!r} (use cpu, cuda, cuda:N or auto)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"device {device}: no CUDA device is available")
    if resolved.type not in ("cpu", "cuda"):
        raise OptionError(f"device {device}: only cpu and cuda are supported")
    return resolved


def resolve_dtype(precision: str, device: torch.device) -> Tuple[torch.dtype, bool]:
    """(dtype, whether the requested precision was replaced).

    Half precision is used on CUDA only: on CPU half-precision matmuls are slow and less
    exact, so the model stays float32 there (the caller tells the user once).
    """
    if precision not in PRECISIONS:
        raise OptionError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "int8":  # float32 activations; the backend quantises its weights
        if torch.device(device).type == "cuda":
            raise OptionError("precision int8 runs on CPU (the Bergamot models' int8 GEMMs); "
                              "on CUDA use bf16 or fp16")
        return torch.float32, False
    if torch.device(device).type != "cuda" and precision != "fp32":
        return torch.float32, True
    return PRECISIONS[precision], False


def warn_precision_ignored(precision: str, device: torch.device) -> None:
    warnings.warn(SigmoidQEWarning(f"precision {precision} is only used on CUDA; running on "
                                   f"{device} in fp32"), stacklevel=3)


def warn_truncated(side: str, index: int, limit: int) -> None:
    """One warning per truncated input, naming side and line (the CLI adds the file)."""
    warnings.warn(InputWarning(f"longer than the model's limit of {limit} tokens; truncated",
                               side, index), stacklevel=3)


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
    #: The dtype the model computes in; None: that of ``self.model`` (Hugging Face backends).
    dtype: Optional[torch.dtype] = None
    #: Weights quantised to int8 (the signature says so).
    int8: bool = False
    #: The vocabulary shortlist a ``shortlist`` softmax is normalised over (Bergamot's lexical
    #: shortlist); None: the model has none, the softmax is over the full vocabulary.
    shortlist: Optional[object] = None
    #: The input format of the model's prompt (:mod:`sigmoid_qe.prompts`; causal LMs); None:
    #: the model takes no prompt.
    prompt_style: Optional[str] = None

    def can_generate(self) -> bool:
        """Whether :meth:`generate` translates; a scoring-only backend says False."""
        return False

    def generate(self, sources: Sequence[str], decoding, batch_size: int = 32,
                 indices: Optional[Sequence[int]] = None):
        """``decoding.n`` candidates per source (only where :meth:`can_generate`)."""
        raise NotImplementedError(f"{self.name}: this backend cannot translate")

    def set_prompt_style(self, style: str) -> None:
        """Use a named input format (:mod:`sigmoid_qe.prompts`); only causal LMs have one."""
        raise OptionError(f"{self.name}: prompt styles are for causal LMs, not this model "
                          f"(style {style!r})")

    def reversed(self) -> Optional[Backend]:
        """The same model pointed the other way (sharing its weights), for the ``reverse``
        direction; None when it translates one direction only (then the opposite model is
        loaded by name)."""
        return None

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

    @property
    def eos_token_id(self) -> Optional[int]:
        """The end-of-sentence id (scored after the hypothesis unless left out)."""
        return None

    @property
    def unk_token_id(self) -> Optional[int]:
        """The id the tokenizer gives to what it cannot spell, or None."""
        return None

    def special_token_ids(self) -> Set[int]:
        """Ids that are not text (pad, EOS, BOS, unknown, language codes): never drawn as
        negatives in training."""
        return set()

    @abc.abstractmethod
    def target_token_ids(self, text: str) -> List[int]:
        """The ids ``text`` would have as a hypothesis (no special tokens): what copying it
        into the translation would write (training's source-copy negatives)."""

    def precision(self) -> str:
        """fp32, bf16, fp16 or int8: what the scores are computed in (the signature says so
        when it is not fp32)."""
        if self.int8:
            return "int8"
        dtype = self.dtype
        if dtype is None and hasattr(self, "model"):
            dtype = getattr(self.model, "dtype", None)
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")

    def footprint(self) -> Tuple[int, int]:
        """(bytes on disk, parameters) of the model, for WMT submission headers."""
        modules = [m for m in vars(self).values() if isinstance(m, torch.nn.Module)]
        params = sum(p.numel() for m in modules for p in m.parameters())
        return sum(p.numel() * p.element_size() for m in modules for p in m.parameters()), params

    @abc.abstractmethod
    def output_embedding(self) -> torch.Tensor:
        """The output-embedding matrix [vocab, hidden] (no bias), used to initialise heads."""

    @abc.abstractmethod
    def encode(
        self, sources: Sequence[str], hypotheses: Sequence[str], include_eos: bool = True
    ) -> List[EncodedPair]:
        """Tokenise pairs; truncate over-long inputs with a warning that names the line.

        Every pair gets at least one scored position: a hypothesis with no token (an empty
        line with ``include_eos=False``) is scored on its EOS.
        """

    @abc.abstractmethod
    def forward(self, batch: Sequence[EncodedPair]) -> ForwardOutput:
        """Teacher-forced pass over one batch, under ``torch.no_grad`` (the LM is frozen)."""

    @abc.abstractmethod
    def output_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The LM's own logits [n, vocab] (float32) for hidden states [n, hidden]."""

    def softmax_support(self, pair: EncodedPair) -> Optional[torch.Tensor]:
        """The sorted token ids a pair's softmax is normalised over when the model itself
        decodes from a restricted vocabulary (Marian's lexical shortlist), always including
        the pair's own targets; None = the full vocabulary (the default)."""
        return None

    def support_logits(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits [n, len(ids)] (float32) of the token ids ``ids`` only."""
        return self.output_logits(hidden)[:, ids]

    def to(self, device: torch.device, dtype: Optional[torch.dtype] = None) -> Backend:
        """Move the model; subclasses override and call this to record the device."""
        self.device = torch.device(device)
        return self


def copied_unknowns(ids: Sequence[int], spans: Sequence[Tuple[int, int]], text: str, source: str,
                    unk_id: Optional[int]) -> List[bool]:
    """True where a hypothesis token is ``<unk>`` and its characters occur in the source too.

    Such a token is a symbol the model cannot spell copied as it stands (the Bergamot students'
    vocabularies have no ``<``, ``±``, ``≥`` or ``α``: "p < 0.05" in a biomedical abstract).
    The model gives ``<unk>`` a probability near 0, so scored it would rank every correct
    translation with such a symbol below any without; it is evidence of nothing, and is left
    unscored, and so is a bare word-start piece (a space) just before it, which only spells
    the gap in front of the symbol. An ``<unk>`` the source does not explain (a script the
    model never writes) stays scored (see :mod:`sigmoid_qe.scoring`)."""
    out = []
    for token, (start, end) in zip(ids, spans):
        surface = text[start:end].strip()
        out.append(unk_id is not None and token == unk_id and bool(surface) and surface in source)
    for k in range(len(out) - 1):
        start, end = spans[k]
        if out[k + 1] and not out[k] and not text[start:end].strip():
            out[k] = True
    return out


def warn_copied_unknowns(count: int, index: int) -> None:
    """One warning per call for the copied <unk> symbols left unscored (see above)."""
    warnings.warn(InputWarning(
        f"{count} token(s) spelling symbols the model cannot write, copied from the source, "
        f"are not scored "
        f"(first here)", "translation", index), stacklevel=4)


def warn_nothing_scored(index: int) -> None:
    """A translation whose every token is a copied symbol (see :func:`copied_unknowns`) is
    scored on its end-of-sentence token only, as an empty one is: say so for that line."""
    warnings.warn(InputWarning(
        "every token is a symbol copied from the source that the model cannot spell: scored "
        "on its end-of-sentence token only", "translation", index), stacklevel=4)


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
