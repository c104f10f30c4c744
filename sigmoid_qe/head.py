"""The Sigmoid Head: a second unembedding matrix scored with a per-token sigmoid.

A softmax spreads probability over every valid continuation, so a good translation whose
token had plausible alternatives looks unsure. The head gives each vocabulary entry its own
independent yes/no score sigma(h . w_y), trained (see :mod:`sigmoid_qe.training`) to say
whether a token is acceptable rather than how it shares mass with the others.

The head follows the Hugging Face pattern: a config object, a module, and
``save_pretrained`` / ``from_pretrained`` over a directory holding ``head.safetensors`` and
``config.json``. Weights are only ever read with safetensors (or ``torch.load`` with
``weights_only=True`` for released ``.bin`` heads), never with pickle; a matrix that is not
floating point, or holds a NaN or an infinity, is refused.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch
from torch import nn

from .errors import ModelLoadError, OptionError, first_line
from .methods import METHODS, check_method
from .outputs import write_files_atomically
from .span_model import SpanModel
from .spans import SpanThresholds

HEAD_WEIGHTS = "head.safetensors"
HEAD_CONFIG = "config.json"
_WEIGHT_KEY = "weight"
#: Keys tried in a state-dict file (the paper's released heads use ``weight``).
STATE_DICT_KEYS = ("confidence_head.weight", "weight")

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_CONFIG_FIELDS = ("vocab_size", "hidden_size", "base_model", "base_revision", "dtype", "method",
                  "aggregate", "direction", "prompt_style", "combine_weight", "span_thresholds",
                  "span_model", "training")


@dataclass
class SigmoidHeadConfig:
    """What a head needs to be matched to its base model, used as intended, and reproduced.

    Args:
        vocab_size: rows of the matrix (= the base model's output vocabulary).
        hidden_size: columns (= the size of the base model's last hidden state).
        base_model: name of the model the head was trained on (a head is refused on
            another model unless the caller overrides the check).
        base_revision: that model's revision (commit hash or file checksum), when known.
        dtype: storage dtype of ``head.safetensors`` (heads always compute in float32).
        method / aggregate: the sentence score the head was selected for; scoring uses them
            when the user names none.
        direction: forward, reverse or both (:mod:`sigmoid_qe.directions`): whether the
            score the head was selected for adds the opposite model scoring the source.
        prompt_style: the input format the head was trained with (causal LMs).
        combine_weight: the weight a of the head's score in the ``combined`` method
            (sigma^a * p^(1-a)), chosen on dev.
        span_thresholds: per method, the token-score thresholds for error spans (spans of
            one method, ``span_threshold``/``--span-threshold`` and heads without a span model).
        span_model: the word-level error model that ``--spans`` uses by default
            (:class:`sigmoid_qe.span_model.SpanModel` as plain numbers; fitted by
            ``sigmoid-qe-calibrate``), or None.
        training: free-form record of how the head was made (data, options, dev history).
        name_or_path: where the head was loaded from (not saved).
    """

    vocab_size: int
    hidden_size: int
    base_model: Optional[str] = None
    base_revision: Optional[str] = None
    dtype: str = "float32"
    method: Optional[str] = None
    aggregate: Optional[str] = None
    direction: Optional[str] = None
    prompt_style: Optional[str] = None
    combine_weight: Optional[float] = None
    span_thresholds: Dict[str, Dict[str, float]] = field(default_factory=dict)
    span_model: Optional[Dict[str, Any]] = None
    training: Dict[str, Any] = field(default_factory=dict)
    name_or_path: Optional[str] = field(default=None, compare=False)

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k != "name_or_path"}
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], where: str = "head config.json") -> SigmoidHeadConfig:
        if not isinstance(data, dict) or "vocab_size" not in data or "hidden_size" not in data:
            raise ModelLoadError(f"{where}: lacks vocab_size/hidden_size")
        for key in ("vocab_size", "hidden_size"):
            if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1:
                raise ModelLoadError(f"{where}: {key} must be a positive integer, got "
                                     f"{data[key]!r}")
        weight = data.get("combine_weight")
        if weight is not None and not (isinstance(weight, (int, float)) and 0 <= weight <= 1):
            raise ModelLoadError(f"{where}: combine_weight must be a number in [0, 1]")
        direction = data.get("direction")
        if direction is not None and direction not in ("forward", "reverse", "both"):
            raise ModelLoadError(f"{where}: direction must be forward, reverse or both, "
                                 f"not {direction!r}")
        if not isinstance(data.get("span_thresholds", {}), dict) \
                or not isinstance(data.get("training", {}), dict):
            raise ModelLoadError(f"{where}: span_thresholds and training must be objects")
        _check_config_values(data, where)
        if data.get("span_model") is not None:
            try:
                if not isinstance(data["span_model"], dict):
                    raise OptionError("span_model must be an object")
                SpanModel.from_dict(data["span_model"])
            except OptionError as exc:
                raise ModelLoadError(f"{where}: {exc}") from None
        return cls(**{k: data[k] for k in _CONFIG_FIELDS if k in data})


def _check_config_values(data: Dict[str, Any], where: str) -> None:
    """method/aggregate/span_thresholds as scoring will use them, each mistake one line naming
    the config file (never a traceback at first use)."""
    for key in ("base_model", "base_revision", "method", "aggregate", "prompt_style"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ModelLoadError(f"{where}: {key} must be a string, got {data[key]!r}")
    method, aggregate = data.get("method"), data.get("aggregate")
    if method is not None or aggregate is not None:
        try:
            check_method(method or "sigmoid", aggregate or "mean")
        except OptionError as exc:
            raise ModelLoadError(f"{where}: {exc}") from None
    for name, entry in data.get("span_thresholds", {}).items():
        if name not in METHODS:
            raise ModelLoadError(f"{where}: span_thresholds: unknown method {name!r}")
        if not isinstance(entry, dict):
            raise ModelLoadError(f"{where}: span_thresholds.{name} must be an object with "
                                 f"minor and major, got {entry!r}")
        values = [entry.get("minor"), entry.get("major")]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   for v in values):
            raise ModelLoadError(f"{where}: span_thresholds.{name}: minor and major must be "
                                 f"finite numbers, got {values[0]!r}, {values[1]!r}")
        try:
            SpanThresholds(float(values[0]), float(values[1]),
                           str(entry.get("word_aggregate", "min")))
        except OptionError as exc:
            raise ModelLoadError(f"{where}: span_thresholds.{name}: {exc}") from None


def _check_matrix(matrix: torch.Tensor, where: str) -> None:
    if matrix.dim() != 2:
        raise ModelLoadError(f"{where}: head matrix must be 2-D, got shape {tuple(matrix.shape)}")
    if not matrix.is_floating_point():
        raise ModelLoadError(f"{where}: head weights are {matrix.dtype}, not floating point")
    if not bool(torch.isfinite(matrix).all()):
        bad = int((~torch.isfinite(matrix)).sum())
        raise ModelLoadError(f"{where}: head weights hold {bad} NaN or infinite value(s)")


def _same_model(a: str, b: str) -> bool:
    """Model names refer to the same model: equal, or the same folder name (a model folder
    that moved keeps its name)."""
    return a == b or Path(a).name == Path(b).name


class SigmoidHead(nn.Module):
    """Weight matrix [vocab, hidden], no bias; score(h, y) = sigma(h . w_y)."""

    def __init__(self, config: SigmoidHeadConfig):
        super().__init__()
        self.config = config
        # computes in float32 whatever the storage dtype (fp16 heads are shipped to save space)
        self.weight = nn.Parameter(torch.zeros(config.vocab_size, config.hidden_size))
        #: True for a head that is only the copy of the output embedding.
        self.untrained = False

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_output_embedding(cls, embedding: torch.Tensor, base_model: Optional[str] = None,
                              base_revision: Optional[str] = None) -> SigmoidHead:
        """The paper's initialisation: a copy of the LM's output embedding (bias not copied)."""
        vocab, hidden = embedding.shape
        head = cls(SigmoidHeadConfig(vocab_size=int(vocab), hidden_size=int(hidden),
                                     base_model=base_model, base_revision=base_revision))
        with torch.no_grad():
            head.weight.copy_(embedding.detach().to(torch.float32))
        head.untrained = True
        return head

    @classmethod
    def from_state_dict(cls, path: Union[str, os.PathLike], key: Optional[str] = None,
                        base_model: Optional[str] = None) -> SigmoidHead:
        """Import a head matrix saved by other code (e.g. the heads released with the paper).

        Reads a ``.safetensors`` file, or a PyTorch file with ``weights_only=True`` (no
        arbitrary unpickling). Keys tried by default: :data:`STATE_DICT_KEYS`.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"{path}: no such head file")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file
                state = load_file(str(path))
            else:
                with warnings.catch_warnings():  # torch's own notices: the error says it
                    warnings.simplefilter("ignore")
                    state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            if "weights_only" in str(exc):  # a pickle of Python objects: never unpickled
                raise ModelLoadError(f"{path}: not readable as plain tensors (it holds Python "
                                     "objects, which are never unpickled)") from None
            raise ModelLoadError(f"{path}: cannot read head weights ({exc.__class__.__name__}: "
                                 f"{first_line(exc)})") from None
        if isinstance(state, torch.Tensor):
            state = {"weight": state}
        if not isinstance(state, dict):
            raise ModelLoadError(f"{path}: not a state dict or a tensor")
        keys = [key] if key else list(STATE_DICT_KEYS)
        for candidate in keys:
            if candidate in state and isinstance(state[candidate], torch.Tensor):
                matrix = state[candidate]
                break
        else:
            raise ModelLoadError(f"{path}: none of the keys {keys} found; keys present: "
                                 f"{sorted(map(str, state))[:10]}")
        _check_matrix(matrix, str(path))
        head = cls.from_output_embedding(matrix, base_model=base_model)
        head.untrained = False
        head.config.name_or_path = str(path)
        return head

    @classmethod
    def from_pretrained(cls, directory: Union[str, os.PathLike]) -> SigmoidHead:
        """Load a head directory written by :meth:`save_pretrained`."""
        directory = Path(directory)
        weights, config_file = directory / HEAD_WEIGHTS, directory / HEAD_CONFIG
        if not directory.is_dir() or not weights.is_file() or not config_file.is_file():
            raise ModelLoadError(f"{directory}: not a head directory (needs {HEAD_WEIGHTS} and "
                                 f"{HEAD_CONFIG})")
        try:
            data = json.loads(config_file.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"{config_file}: invalid JSON ({exc})") from None
        config = SigmoidHeadConfig.from_dict(data, str(config_file))
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError) as exc:
            raise ModelLoadError(f"{weights}: cannot read safetensors ({exc})") from None
        if _WEIGHT_KEY not in state:
            raise ModelLoadError(f"{weights}: no tensor named '{_WEIGHT_KEY}'")
        matrix = state[_WEIGHT_KEY]
        _check_matrix(matrix, str(weights))
        if tuple(matrix.shape) != (config.vocab_size, config.hidden_size):
            raise ModelLoadError(f"{weights}: shape {tuple(matrix.shape)} disagrees with "
                                 f"config.json ({config.vocab_size}, {config.hidden_size})")
        config.name_or_path = str(directory)
        head = cls(config)
        with torch.no_grad():
            head.weight.copy_(matrix.to(torch.float32))
        return head

    @classmethod
    def load(cls, spec: Union[str, os.PathLike], key: Optional[str] = None) -> SigmoidHead:
        """A head from a head directory or from a state-dict file (``key`` picks the tensor):
        the one way every command reads ``--head``."""
        path = Path(spec)
        if path.is_dir():
            return cls.from_pretrained(path)
        if path.is_file():
            return cls.from_state_dict(path, key=key)
        raise ModelLoadError(f"{spec}: not a head directory (needs {HEAD_WEIGHTS} and "
                             f"{HEAD_CONFIG}) nor a state-dict file")

    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> None:
        """Write ``head.safetensors`` + ``config.json`` together (staged, then renamed)."""
        from safetensors.torch import save
        dtype = dtype or "float32"
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}")
        matrix = self.weight.detach().to("cpu", _DTYPES[dtype]).contiguous()
        config = SigmoidHeadConfig(**{**asdict(self.config), "dtype": dtype})
        directory = Path(directory)
        write_files_atomically({
            directory / HEAD_WEIGHTS: save({_WEIGHT_KEY: matrix}, metadata={"format": "pt"}),
            directory / HEAD_CONFIG: config.to_json() + "\n"})

    # -- checks and scoring -------------------------------------------------------------
    def check_compatible(self, vocab_size: int, hidden_size: int, model_name: str = "model",
                         model_revision: Optional[str] = None, allow_other_model: bool = False) -> None:
        """Refuse a head made for a model of another shape, or (unless allowed) another model."""
        where = self.config.name_or_path or "head"
        if (self.config.vocab_size, self.config.hidden_size) != (vocab_size, hidden_size):
            raise ModelLoadError(
                f"{where}: head size (vocab {self.config.vocab_size}, hidden "
                f"{self.config.hidden_size}) does not match {model_name} (vocab {vocab_size}, "
                f"hidden {hidden_size})")
        base = self.config.base_model
        if allow_other_model or base is None:
            return
        if _same_model(base, model_name):
            known = self.config.base_revision, model_revision
            if base != model_name and all(known) and known[0] != known[1]:
                # same folder name, elsewhere, another revision: maybe another model
                raise ModelLoadError(
                    f"{where}: this head was trained for {base} (revision {known[0]}), not "
                    f"{model_name} (revision {known[1]}) (pass --allow-other-model to use it "
                    "anyway)")
            return
        if model_revision and self.config.base_revision == model_revision:
            return
        raise ModelLoadError(f"{where}: this head was trained for {base}, not {model_name} "
                             f"(pass --allow-other-model to use it anyway)")

    def token_logits(self, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """h . w_y for each row: gathers only the target rows, O(hidden) per token."""
        rows = self.weight.index_select(0, token_ids.reshape(-1)).reshape(*token_ids.shape, -1)
        return (hidden.to(rows.dtype) * rows).sum(-1)

    def token_scores(self, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """sigma(h . w_y): the Sigmoid Head's probability that token y is acceptable."""
        return torch.sigmoid(self.token_logits(hidden, token_ids))

    def full_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """h . w_v for every vocabulary entry (only when a caller really needs all of them)."""
        return hidden.to(self.weight.dtype) @ self.weight.T

    def forward(self, hidden: torch.Tensor, token_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.full_logits(hidden) if token_ids is None else self.token_logits(hidden, token_ids)

    def fingerprint(self) -> str:
        """First 8 hex digits of the sha256 of the weights (as float32 bytes): the signature's
        ``head:`` field, so that two scores with different heads never look comparable."""
        data = self.weight.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
        return hashlib.sha256(data).hexdigest()[:8]
