"""Loading a model and its head: the one assembly of backend + head, for scoring
(:func:`sigmoid_qe.model.load_model`, :class:`~sigmoid_qe.model.QEModel`) and training
(``sigmoid-qe-train``). A head is the given one, the shipped default or the untrained copy of
the output embedding, checked for its size and for the model it was trained on.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from .backends import Backend, load_backend
from .errors import ModelLoadError, SigmoidQEWarning
from .head import SigmoidHead
from .prompts import check_prompt_style, check_prompt_template

HeadSpec = Union[None, str, Path, SigmoidHead]
#: ``--head untrained``: the copy of the output embedding, for baselines and ablations.
UNTRAINED = "untrained"


@dataclass(frozen=True)
class LoadOptions:
    """How :func:`sigmoid_qe.load_model` loads and sets up a model, beside the model, head,
    pair and device it names. Every field has a default; ``load_model(name, batch_size=8)``
    still works, the keywords filling these fields.

    Args:
        precision: ``fp32`` (default), ``fp16``, ``bf16`` or ``int8``: what the model runs in.
        batch_size: segments scored (or translated) at a time.
        include_eos: score the end-of-sentence token after the translation.
        prompt_template: a causal LM's prompt, with ``{src}`` and ``{tgt_lang}`` (see
            :mod:`sigmoid_qe.prompts`).
        prompt_style: the input format of causal LMs (default: the head's, else ``default``).
        trust_remote_code: run a model repository's own code (off: it runs with the user's
            rights).
        revision: the model repository's revision (branch, tag or commit).
        head_key: the tensor's name when the head is a state-dict file.
        allow_other_model: accept a head trained for another model.
        direction: ``forward``, ``reverse`` or ``both``; what ``QEModel.score`` uses unless told
            otherwise (default: the head's).
        reverse_model: the opposite direction's model (default: see
            :func:`sigmoid_qe.model.load_reverse`).
        reverse_head: the opposite direction's head.
        softmax_over: ``shortlist`` (default) normalises softmax statistics over the model's
            lexical shortlist plus the hypothesis tokens where it has one (Bergamot), as it
            decodes; ``full`` over the whole vocabulary.
    """

    precision: str = "fp32"
    batch_size: int = 32
    include_eos: bool = True
    prompt_template: Optional[str] = None
    prompt_style: Optional[str] = None
    trust_remote_code: bool = False
    revision: Optional[str] = None
    head_key: Optional[str] = None
    allow_other_model: bool = False
    direction: Optional[str] = None
    reverse_model: Optional[str] = None
    reverse_head: Any = None
    softmax_over: str = "shortlist"

    @classmethod
    def given(cls, options: Optional[LoadOptions] = None, **keywords) -> LoadOptions:
        """``options`` (default: the defaults) with ``keywords`` filled in; an unknown keyword
        is a TypeError, as for any function."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise TypeError(f"load_model() got an unexpected keyword argument {unknown[0]!r}")
        return dataclasses.replace(options or cls(), **keywords)

    def reverse_options(self, device: Optional[str]) -> Dict[str, Any]:
        """What the opposite direction's model is loaded with (see ``load_reverse``)."""
        options: Dict[str, Any] = {"device": device, "precision": self.precision,
                                   "batch_size": self.batch_size, "include_eos": self.include_eos,
                                   "trust_remote_code": self.trust_remote_code,
                                   "softmax_over": self.softmax_over}
        if self.reverse_model is not None or self.reverse_head is not None:
            options.update(reverse_model=self.reverse_model, reverse_head=self.reverse_head)
        return options


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
