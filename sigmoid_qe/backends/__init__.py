"""Backends: the models a Sigmoid Head can sit on.

Resolution and loading are two steps, as COMET's ``download_model`` / ``load_from_checkpoint``:
:func:`resolve_model` decides from the name alone what a model is (a built-in Bergamot name, a
Marian binary-model folder, or a Hugging Face name or folder, read once), and
:func:`load_backend` loads what was resolved.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ModelLoadError, OptionError, first_line
from . import bergamot
from .base import (
    Backend,
    EncodedPair,
    ForwardOutput,
    resolve_device,
    resolve_dtype,
    warn_precision_ignored,
)

__all__ = ["Backend", "EncodedPair", "ForwardOutput", "ModelSpec", "load_backend", "resolve_model"]


@dataclass
class ModelSpec:
    """What a model name stands for: ``kind`` is "bergamot" or "hf"."""

    name: str
    kind: str
    bergamot_files: Optional[bergamot.BergamotFiles] = None
    hf_config: object = None
    local_files_only: bool = False


def resolve_model(name_or_dir: str, trust_remote_code: bool = False,
                  revision: Optional[str] = None) -> ModelSpec:
    """Decide what ``name_or_dir`` is, reading no weights; one-line errors for what is none."""
    name = str(name_or_dir)
    files = bergamot.find_model_files(name)
    if files is not None:
        return ModelSpec(name, "bergamot", bergamot_files=files)
    path = Path(name)
    if name.startswith("bergamot-") and not path.exists():
        raise ModelLoadError(f"{name}: no such built-in model (built-in: "
                             f"{', '.join(bergamot.BUILTIN_MODELS)})")
    if (path.exists() and not path.is_dir()) or (name.startswith((".", "/", "~")) and not path.exists()):
        raise ModelLoadError(f"{name}: no such model directory")
    if path.is_dir() and not (path / "config.json").is_file():
        raise ModelLoadError(f"{name}: not a model directory (no config.json, no Marian .bin)")
    from transformers import AutoConfig

    from .hf import hub_offline
    local_only = not path.is_dir() and hub_offline()
    try:
        config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code,
                                            revision=revision, local_files_only=local_only)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = (" (the model hub cannot be reached, and the model is not in the local cache)"
                 if local_only else f" ({first_line(exc)})")
        raise ModelLoadError(f"{name}: cannot load as a Hugging Face model{where}") from None
    if getattr(config, "model_type", None) is None:
        raise ModelLoadError(f"{name}: cannot load as a Hugging Face model (config.json has no "
                             "model_type)")
    return ModelSpec(name, "hf", hf_config=config, local_files_only=local_only)


def load_backend(name_or_dir: str, lp: Optional[str] = None, device: Optional[str] = None,
                 precision: str = "fp32", prompt_template: Optional[str] = None,
                 trust_remote_code: bool = False, revision: Optional[str] = None) -> Backend:
    """A Bergamot/Marian binary model, or a Hugging Face seq2seq or causal LM."""
    dev = resolve_device(device)
    dtype, replaced = resolve_dtype(precision, dev)
    if replaced:
        warn_precision_ignored(precision, dev)
    spec = resolve_model(name_or_dir, trust_remote_code, revision)
    if spec.kind == "bergamot":
        if prompt_template is not None:
            raise ModelLoadError(f"{spec.name}: Bergamot models take no prompt "
                                 "(--prompt-template is for causal LMs and seq2seq models)")
        backend = bergamot.load_bergamot(spec.bergamot_files, device=dev, dtype=dtype,
                                         int8=precision == "int8")
        if lp is not None and backend.lp is not None:
            from ..languages import normalise_lp
            if normalise_lp(lp) != backend.lp:
                raise ModelLoadError(f"{spec.name} translates {backend.lp}, not {lp}")
        return backend
    if precision == "int8":
        raise OptionError(f"{spec.name}: precision int8 is implemented for the Bergamot models "
                          "(whose weights are stored in int8); use fp32, or bf16 on CUDA")
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    from .hf import load_hf
    if getattr(spec.hf_config, "is_encoder_decoder", False):
        from .hf_seq2seq import HFSeq2SeqBackend
        tokenizer, model = load_hf(spec.name, AutoModelForSeq2SeqLM, trust_remote_code, revision,
                                   dtype, spec.local_files_only)
        return HFSeq2SeqBackend(spec.name, model, tokenizer, dev, lp=lp,
                                prompt_template=prompt_template)
    from .hf_causal import HFCausalBackend
    tokenizer, model = load_hf(spec.name, AutoModelForCausalLM, trust_remote_code, revision,
                               dtype, spec.local_files_only)
    return HFCausalBackend(spec.name, model, tokenizer, dev, lp=lp, prompt_template=prompt_template)
