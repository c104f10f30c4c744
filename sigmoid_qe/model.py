"""``load_model`` and ``QEModel``: a frozen LM + a Sigmoid Head, loaded once, scoring many files."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Union

from .aggregation import aggregate_scores, check_method
from .backends import Backend, load_backend
from .errors import InputError, InputWarning, SigmoidQEWarning
from .head import SigmoidHead
from .results import QEResult, SegmentScore, TokenScore
from .scoring import score_tokens
from .version import __version__

HeadSpec = Union[None, str, Path, SigmoidHead]


def default_head_dir(model_name: str) -> Optional[Path]:
    """The trained head shipped with the package for ``model_name``, if there is one."""
    from importlib import resources
    try:
        candidate = resources.files("sigmoid_qe") / "heads" / model_name
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(candidate))
    return path if (path / "head.safetensors").is_file() else None


def resolve_head(spec: HeadSpec, backend: Backend) -> SigmoidHead:
    """A head for ``backend``: the given one (checked for size), the shipped default, or the
    untrained copy of the output embedding (with one warning)."""
    if isinstance(spec, SigmoidHead):
        head = spec
    elif spec is not None:
        head = SigmoidHead.from_pretrained(spec)
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
    head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name)
    return head.to(backend.device)


class QEModel:
    """A reusable scorer: load once with :func:`load_model`, call :meth:`score` many times."""

    def __init__(self, backend: Backend, head: HeadSpec = None, batch_size: int = 32,
                 include_eos: bool = True):
        self.backend = backend
        self.head = resolve_head(head, backend)
        self.head.eval()
        self.head.requires_grad_(False)
        self.batch_size = batch_size
        self.include_eos = include_eos
        self._fingerprint: Optional[str] = None

    @property
    def name(self) -> str:
        return self.backend.name

    def head_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self.head.fingerprint()
        return self._fingerprint

    def signature(self, method: str = "sigmoid", aggregate: str = "mean",
                  include_eos: Optional[bool] = None) -> str:
        """sacrebleu-style reproducibility signature, version last."""
        eos = self.include_eos if include_eos is None else include_eos
        return (f"model:{self.backend.name}|head:{self.head_fingerprint()}|method:{method}|"
                f"agg:{aggregate}|eos:{'yes' if eos else 'no'}|version:{__version__}")

    def score(self, sources: Sequence[str], hypotheses: Sequence[str], method: str = "sigmoid",
              aggregate: str = "mean", batch_size: Optional[int] = None, progress: bool = True,
              include_eos: Optional[bool] = None, extra_stats: Sequence[str] = ()) -> QEResult:
        """Score hypotheses against their sources (no reference needed).

        ``extra_stats`` adds token statistics to the per-token details without changing the
        sentence score (e.g. ``("softmax",)`` next to the sigmoid).
        """
        check_method(method, aggregate)
        sources, hypotheses = list(sources), list(hypotheses)
        if len(sources) != len(hypotheses):
            raise InputError(f"{len(sources)} sources but {len(hypotheses)} translations")
        eos = self.include_eos if include_eos is None else include_eos
        pairs = self.backend.encode(sources, hypotheses, include_eos=eos)
        for pos, pair in enumerate(pairs):
            if not hypotheses[pos].strip():
                warnings.warn(InputWarning("empty translation: scored on its end-of-sentence "
                                           "token only", "translation", pos), stacklevel=2)
            if not any(pair.scored):  # nothing to score (empty line with --no-eos): use EOS
                pairs[pos] = self.backend.encode([sources[pos]], [hypotheses[pos]], True)[0]
                pairs[pos].index = pos
        stat = "entropy" if method == "entropy" else method
        wanted = list(dict.fromkeys([stat, *extra_stats]))
        token_stats = score_tokens(self.backend, self.head, pairs, wanted,
                                   batch_size or self.batch_size, progress)
        segments: List[SegmentScore] = []
        for src, hyp, pair, stats in zip(sources, hypotheses, pairs, token_stats):
            values = getattr(stats, stat)
            if method == "entropy":
                values = [-v for v in values]
            tokens = [TokenScore(token=tok, token_id=tid, start=s, end=e,
                                 **{name: getattr(stats, name)[k] for name in wanted})
                      for k, (tok, tid, (s, e)) in enumerate(zip(pair.tokens, stats.token_ids, pair.offsets))]
            segments.append(SegmentScore(src, hyp, aggregate_scores(values, aggregate), tokens,
                                         pair.truncated))
        return QEResult(segments, method, aggregate, self.signature(method, aggregate, eos))

    def translate(self, sources: Sequence[str]) -> List[str]:
        """Greedy translations, for backends that can decode (Bergamot)."""
        translate = getattr(self.backend, "translate", None)
        if translate is None:
            raise NotImplementedError(f"{self.backend.name}: this backend cannot translate")
        return translate(list(sources))


def load_model(name_or_dir: str, head: HeadSpec = None, lp: Optional[str] = None,
               device: Optional[str] = None, precision: str = "fp32", batch_size: int = 32,
               prompt_template: Optional[str] = None, include_eos: bool = True,
               trust_remote_code: bool = False, revision: Optional[str] = None) -> QEModel:
    """Load a model (Hugging Face name/dir, ``bergamot-en-pt``/``bergamot-pt-en``, or a Marian
    binary-model dir) and its head, ready to score.

    ``trust_remote_code`` stays off unless asked: a model repository's code runs with the
    user's rights.
    """
    backend = load_backend(name_or_dir, lp=lp, device=device, precision=precision,
                           prompt_template=prompt_template, trust_remote_code=trust_remote_code,
                           revision=revision)
    return QEModel(backend, head=head, batch_size=batch_size, include_eos=include_eos)


def score(sources: Sequence[str], hypotheses: Sequence[str], model: Union[str, QEModel, None] = None,
          head: HeadSpec = None, method: str = "sigmoid", aggregate: str = "mean",
          batch_size: int = 32, device: Optional[str] = None, lp: Optional[str] = None,
          progress: bool = True, include_eos: bool = True) -> QEResult:
    """One-call scoring: ``score(srcs, hyps, model="Helsinki-NLP/opus-mt-en-de")``.

    With ``model=None`` the offline Bergamot default for the pair is used (en-pt or pt-en,
    from ``lp`` or guessed from the texts). Pass a :class:`QEModel` to avoid reloading.
    """
    if not isinstance(model, QEModel):
        if model is None:
            from .default_model import choose_default_model
            model, lp = choose_default_model(list(sources), list(hypotheses), lp)
        model = load_model(model, head=head, lp=lp, device=device, batch_size=batch_size,
                           include_eos=include_eos)
    return model.score(sources, hypotheses, method=method, aggregate=aggregate,
                       batch_size=batch_size, progress=progress, include_eos=include_eos)
