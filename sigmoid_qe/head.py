"""The Sigmoid Head: a second unembedding matrix scored with a per-token sigmoid.

A softmax spreads probability over every valid continuation, so a good translation whose
token had plausible alternatives looks unsure. The head gives each vocabulary entry its own
independent yes/no score sigma(h . w_y), trained (see the training issue) to say whether a
token is acceptable rather than how it shares mass with the others.

The head follows the Hugging Face pattern: a config object, a module, and
``save_pretrained`` / ``from_pretrained`` over a directory holding ``head.safetensors`` and
``config.json``. Weights are only ever read with safetensors (or ``torch.load`` with
``weights_only=True`` for released ``.bin`` heads), never with pickle.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import nn

from .errors import ModelLoadError

HEAD_WEIGHTS = "head.safetensors"
HEAD_CONFIG = "config.json"
_WEIGHT_KEY = "weight"

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class SigmoidHeadConfig:
    """What a head needs to be matched to its base model and reproduced."""

    vocab_size: int
    hidden_size: int
    base_model: Optional[str] = None
    base_revision: Optional[str] = None
    dtype: str = "float32"
    #: Free-form record of how the head was made (data, steps, losses, options, version).
    training: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SigmoidHeadConfig":
        known = {k: data[k] for k in ("vocab_size", "hidden_size", "base_model", "base_revision",
                                      "dtype", "training") if k in data}
        if "vocab_size" not in known or "hidden_size" not in known:
            raise ModelLoadError("head config.json lacks vocab_size/hidden_size")
        return cls(**known)


class SigmoidHead(nn.Module):
    """Weight matrix [vocab, hidden], no bias; score(h, y) = sigma(h . w_y)."""

    def __init__(self, config: SigmoidHeadConfig):
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.zeros(config.vocab_size, config.hidden_size,
                                               dtype=_DTYPES.get(config.dtype, torch.float32)))
        #: True for a head that is only the copy of the output embedding.
        self.untrained = False

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_output_embedding(cls, embedding: torch.Tensor, base_model: Optional[str] = None,
                              base_revision: Optional[str] = None) -> "SigmoidHead":
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
                        base_model: Optional[str] = None) -> "SigmoidHead":
        """Import a head matrix saved by other code (e.g. the heads released with the paper).

        Reads a ``.safetensors`` file, or a PyTorch file with ``weights_only=True`` (no
        arbitrary unpickling). Keys tried by default: ``confidence_head.weight``, ``weight``.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"{path}: no such head file")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file
                state = load_file(str(path))
            else:
                state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
            raise ModelLoadError(f"{path}: cannot read head weights ({exc.__class__.__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        if isinstance(state, torch.Tensor):
            state = {"weight": state}
        keys = [key] if key else ["confidence_head.weight", "weight"]
        for candidate in keys:
            if candidate in state:
                matrix = state[candidate]
                break
        else:
            raise ModelLoadError(f"{path}: none of the keys {keys} found; keys present: "
                                 f"{sorted(state)[:10]}")
        if matrix.dim() != 2:
            raise ModelLoadError(f"{path}: head matrix must be 2-D, got shape {tuple(matrix.shape)}")
        head = cls.from_output_embedding(matrix, base_model=base_model)
        head.untrained = False
        return head

    @classmethod
    def from_pretrained(cls, directory: Union[str, os.PathLike]) -> "SigmoidHead":
        """Load a head directory written by :meth:`save_pretrained`."""
        directory = Path(directory)
        weights, config_file = directory / HEAD_WEIGHTS, directory / HEAD_CONFIG
        if not directory.is_dir() or not weights.is_file() or not config_file.is_file():
            raise ModelLoadError(f"{directory}: not a head directory (needs {HEAD_WEIGHTS} and "
                                 f"{HEAD_CONFIG})")
        try:
            config = SigmoidHeadConfig.from_dict(json.loads(config_file.read_text("utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"{config_file}: invalid JSON ({exc})") from None
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError) as exc:
            raise ModelLoadError(f"{weights}: cannot read safetensors ({exc})") from None
        if _WEIGHT_KEY not in state:
            raise ModelLoadError(f"{weights}: no tensor named '{_WEIGHT_KEY}'")
        matrix = state[_WEIGHT_KEY]
        if tuple(matrix.shape) != (config.vocab_size, config.hidden_size):
            raise ModelLoadError(f"{weights}: shape {tuple(matrix.shape)} disagrees with "
                                 f"config.json ({config.vocab_size}, {config.hidden_size})")
        # Compute in float32 whatever the storage dtype (fp16 heads are shipped to save space).
        config_compute = SigmoidHeadConfig(**{**asdict(config), "dtype": "float32"})
        head = cls(config_compute)
        head.config.dtype = config.dtype
        with torch.no_grad():
            head.weight.copy_(matrix.to(torch.float32))
        head.source_path = str(directory)
        return head

    def save_pretrained(self, directory: Union[str, os.PathLike], dtype: Optional[str] = None) -> None:
        """Write ``head.safetensors`` + ``config.json`` atomically (temp files, then rename)."""
        from safetensors.torch import save_file
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        dtype = dtype or "float32"
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}")
        matrix = self.weight.detach().to("cpu", _DTYPES[dtype]).contiguous()
        config = SigmoidHeadConfig(**{**asdict(self.config), "dtype": dtype})
        tmp_weights = directory / (HEAD_WEIGHTS + ".tmp")
        tmp_config = directory / (HEAD_CONFIG + ".tmp")
        save_file({_WEIGHT_KEY: matrix}, str(tmp_weights), metadata={"format": "pt"})
        tmp_config.write_text(config.to_json() + "\n", encoding="utf-8")
        os.chmod(tmp_weights, 0o644)  # safetensors writes 0600; heads are shared files
        os.replace(tmp_weights, directory / HEAD_WEIGHTS)
        os.replace(tmp_config, directory / HEAD_CONFIG)

    # -- checks and scoring -------------------------------------------------------------
    def check_compatible(self, vocab_size: int, hidden_size: int, model_name: str = "model") -> None:
        """Refuse a head that was made for a model of another shape."""
        if (self.config.vocab_size, self.config.hidden_size) != (vocab_size, hidden_size):
            where = getattr(self, "source_path", None) or "head"
            raise ModelLoadError(
                f"{where}: head size (vocab {self.config.vocab_size}, hidden "
                f"{self.config.hidden_size}) does not match {model_name} (vocab {vocab_size}, "
                f"hidden {hidden_size})")

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
