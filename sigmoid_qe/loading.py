"""Loading a model and its head: the one assembly of backend + head, for scoring
(:func:`sigmoid_qe.model.load_model`, :class:`~sigmoid_qe.model.QEModel`) and training
(``sigmoid-qe-train``). A head is the given one, the shipped default or the untrained copy of
the output embedding, checked for its size and for the model it was trained on.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Tuple, Union

from .backends import Backend, load_backend
from .errors import ModelLoadError, SigmoidQEWarning
from .head import SigmoidHead
from .prompts import check_prompt_style, check_prompt_template

HeadSpec = Union[None, str, Path, SigmoidHead]
#: ``--head untrained``: the copy of the output embedding, for baselines and ablations.
UNTRAINED = "untrained"


def default_head_dir(model_name: str) -> Optional[Path]:
    """The trained head shipped with the package for ``model_name``, if there is one."""
    from importlib import resources
    try:
        candidate = resources.files("sigmoid_qe") / "heads" / model_name
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(candidate))
    return path if (path / "head.safetensors").is_file() else None


def resolve_head(spec: HeadSpec, backend: Backend, key: Optional[str] = None,
                 allow_other_model: bool = False) -> SigmoidHead:
    """A head for ``backend``: the given one (a head, a head directory, a state-dict file or
    ``"untrained"``), else the shipped default, else the untrained copy of the output
    embedding (with one warning). Checked for size and for the model it was trained on."""
    if isinstance(spec, SigmoidHead):
        head = spec
    elif spec is not None and str(spec) == UNTRAINED:
        head = SigmoidHead.from_output_embedding(backend.output_embedding(), backend.name,
                                                 backend.revision)
    elif spec is not None:
        head = SigmoidHead.load(spec, key=key)
    else:
        shipped = default_head_dir(backend.name)
        if shipped is not None:
            head = SigmoidHead.from_pretrained(shipped)
        else:
            warnings.warn(SigmoidQEWarning(
                f"no trained head for {backend.name}: using the untrained head (a copy of the "
                f"output embedding); train one with sigmoid-qe-train"), stacklevel=3)
            head = SigmoidHead.from_output_embedding(backend.output_embedding(), backend.name,
                                                     backend.revision)
    head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name,
                          backend.revision, allow_other_model)
    return head.to(backend.device)


def attach_head(backend: Backend, head: HeadSpec = None, head_key: Optional[str] = None,
                allow_other_model: bool = False, prompt_style: Optional[str] = None) -> SigmoidHead:
    """The checked head of ``backend`` (see :func:`resolve_head`), with the backend set to the
    input format of ``prompt_style`` (default: the head's, if it names one)."""
    head = resolve_head(head, backend, head_key, allow_other_model)
    style = prompt_style or head.config.prompt_style
    if style is not None:
        backend.set_prompt_style(style)
    return head


def load_backend_and_head(name_or_dir: str, head: HeadSpec = None, lp: Optional[str] = None,
                          device: Optional[str] = None, precision: str = "fp32",
                          prompt_template: Optional[str] = None, trust_remote_code: bool = False,
                          revision: Optional[str] = None, head_key: Optional[str] = None,
                          allow_other_model: bool = False,
                          prompt_style: Optional[str] = None) -> Tuple[Backend, SigmoidHead]:
    """The one assembly of a model and its head, for scoring (:func:`load_model`) and for
    training (``sigmoid-qe-train``). Options are checked and a head file is read before the
    model loads; the head is then checked against the model (see :func:`load_model`)."""
    if prompt_style is not None:
        check_prompt_style(prompt_style)
    if prompt_template is not None:
        check_prompt_template(prompt_template)
    if head is not None and not isinstance(head, SigmoidHead) and str(head) != UNTRAINED:
        if not Path(head).exists():
            raise ModelLoadError(f"{head}: not a head directory, a state-dict file or "
                                 f"'{UNTRAINED}'")
        head = SigmoidHead.load(head, key=head_key)
    backend = load_backend(name_or_dir, lp=lp, device=device, precision=precision,
                           prompt_template=prompt_template, trust_remote_code=trust_remote_code,
                           revision=revision)
    return backend, attach_head(backend, head, head_key, allow_other_model, prompt_style)
