"""Backends: the models a Sigmoid Head can sit on. ``load_backend`` picks the right one."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..errors import ModelLoadError
from .base import Backend, EncodedPair, ForwardOutput

__all__ = ["Backend", "EncodedPair", "ForwardOutput", "load_backend"]


def load_backend(name_or_dir: str, lp: Optional[str] = None, device: Optional[str] = None,
                 precision: str = "fp32", prompt_template: Optional[str] = None,
                 trust_remote_code: bool = False, revision: Optional[str] = None) -> Backend:
    """A Bergamot/Marian binary model, or a Hugging Face seq2seq or causal LM."""
    from .hf_common import resolve_device, resolve_dtype
    dev = resolve_device(device)
    try:
        from . import bergamot
    except ImportError:  # the Bergamot backend is optional at import time
        bergamot = None
    if bergamot is not None and bergamot.is_bergamot_spec(name_or_dir):
        backend = bergamot.load_bergamot(name_or_dir, device=dev, dtype=resolve_dtype(precision, dev))
        if lp is not None and backend.lp is not None and lp != backend.lp:
            raise ModelLoadError(f"{name_or_dir} translates {backend.lp}, not {lp}")
        return backend
    path = Path(name_or_dir)
    if (path.exists() and not path.is_dir()) or (name_or_dir.startswith((".", "/")) and not path.exists()):
        raise ModelLoadError(f"{name_or_dir}: no such model directory")
    if path.is_dir() and not (path / "config.json").is_file():
        raise ModelLoadError(f"{name_or_dir}: not a model directory (no config.json, no Marian .bin)")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM
    try:
        config = AutoConfig.from_pretrained(name_or_dir, trust_remote_code=trust_remote_code,
                                            revision=revision)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ModelLoadError(f"{name_or_dir}: cannot load as a Hugging Face model ({first})") from None
    from .hf_common import load_hf
    dtype = resolve_dtype(precision, dev)
    if getattr(config, "is_encoder_decoder", False):
        from .hf_seq2seq import HFSeq2SeqBackend
        tokenizer, model = load_hf(name_or_dir, AutoModelForSeq2SeqLM, trust_remote_code, revision, dtype)
        return HFSeq2SeqBackend(name_or_dir, model, tokenizer, dev, lp=lp, prompt_template=prompt_template)
    from .hf_causal import HFCausalBackend
    tokenizer, model = load_hf(name_or_dir, AutoModelForCausalLM, trust_remote_code, revision, dtype)
    return HFCausalBackend(name_or_dir, model, tokenizer, dev, lp=lp, prompt_template=prompt_template)
