"""``SigmoidQE``: the scorer as a sacrebleu ``Metric``.

sacrebleu users write ``metric.corpus_score(hypotheses, references)`` and print
``score.format(signature=str(metric.get_signature()))``. A QE metric takes sources where
sacrebleu takes references (one "reference" stream: the sources) and otherwise behaves the
same. Being a real ``Metric`` subclass, it works with sacrebleu's own machinery:
``corpus_score(..., n_bootstrap=1000)`` for a confidence interval and
``sacrebleu.significance.PairedTest`` for paired bootstrap resampling and approximate
randomization between systems (what ``sigmoid-qe-compare`` runs).

Segment statistics are ``[score, 1]``, so any resample's corpus score is the mean of its
sentence scores; all segments of a corpus are scored in one batched model call.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from sacrebleu.metrics.base import Metric, Score

from .errors import InputError
from .methods import check_method
from .model import HeadSpec, QEModel, check_batch_size, load_model, segments
from .signature import QESignature


def _one_stream(sources, what: str) -> List[str]:
    """The sources as a list of strings, from a list of strings or from sacrebleu's list of
    reference streams holding one stream (``[sources]``); several streams are refused (a QE
    metric has one source per segment)."""
    if isinstance(sources, (list, tuple)) and sources and all(
            isinstance(s, (list, tuple)) for s in sources):
        if len(sources) != 1:
            raise TypeError(f"{what}: {len(sources)} reference streams given; a QE metric takes "
                            "one stream, the sources ([sources])")
        sources = sources[0]
    return segments(sources, what)


class QEScore(Score):
    """A sacrebleu ``Score`` whose value is a QE system or sentence score."""

    def __init__(self, name: str, score: float, segment_scores: Optional[Sequence[float]] = None):
        super().__init__(name, score)
        self.segment_scores = list(segment_scores or [])

    def format(self, width: int = 4, score_only: bool = False, signature: str = "",
               is_json: bool = False) -> str:
        """sacrebleu's format, with four decimals by default (scores live in [0, 1])."""
        return super().format(width=width, score_only=score_only, signature=signature,
                              is_json=is_json)


class SigmoidQE(Metric):
    """Reference-free sentence and corpus scores with a Sigmoid Head.

    ``SigmoidQE(model="bergamot-pt-en")``, ``SigmoidQE(model=loaded_qe_model)``, or
    ``SigmoidQE()``: the offline default, its language pair guessed from the first texts
    scored (as :func:`sigmoid_qe.score` does) unless ``lp`` is given.
    """

    _SIGNATURE_TYPE = QESignature

    def __init__(self, model=None, head: HeadSpec = None, method: Optional[str] = None,
                 aggregate: Optional[str] = None, lp: Optional[str] = None,
                 device: Optional[str] = None, batch_size: int = 32,
                 include_eos: Optional[bool] = None, progress: bool = False):
        super().__init__()
        check_batch_size(batch_size)
        # None: a loaded model keeps its own setting; a model loaded here scores EOS
        self._loader = dict(head=head, lp=lp, device=device, batch_size=batch_size,
                            include_eos=True if include_eos is None else include_eos)
        self.model: Optional[QEModel] = model if isinstance(model, QEModel) else None
        self._model_name = None if isinstance(model, QEModel) else model
        if self.model is None and (model is not None or lp is not None):
            self._load(model, lp)
        self._method, self._aggregate = method, aggregate
        if method is not None or aggregate is not None:
            check_method(method or "sigmoid", aggregate or "mean")
        self.include_eos = include_eos
        self.progress = progress
        self.num_refs = 1

    # -- the model, loaded on first use when the pair has to be guessed ----------------------
    def _load(self, name: Optional[str], lp: Optional[str], sources: Sequence[str] = (),
              hypotheses: Sequence[str] = ()) -> QEModel:
        from .default_model import resolve_model_name
        name, lp, _ = resolve_model_name(name, sources, hypotheses, lp)
        self.model = load_model(name, **{**self._loader, "lp": lp})
        return self.model

    @property
    def method(self) -> str:
        return self._method or (self.model.default_method if self.model else "sigmoid")

    @property
    def aggregate(self) -> str:
        if self.model is None:
            return self._aggregate or "mean"
        return self.model.scoring(self._method, self._aggregate)[1]

    @property
    def name(self) -> str:
        return f"SigmoidQE-{self.method}"

    # -- sacrebleu's Metric hooks -------------------------------------------------------------
    def _extract_corpus_statistics(self, hypotheses: Sequence[str],
                                   references: Optional[Sequence[Sequence[str]]]) -> List[List[float]]:
        """[score, 1] per segment, every segment scored in one batched call."""
        if not references:
            raise ValueError("SigmoidQE needs the sources (passed where sacrebleu takes "
                             "references)")
        from .parallel import score_sharded
        sources = segments(references[0], "sources")
        hypotheses = segments(hypotheses, "hypotheses")
        model = self.model or self._load(self._model_name, self._loader["lp"], sources, hypotheses)
        result = score_sharded(model, sources, hypotheses, everyone=True, method=self._method,
                               aggregate=self._aggregate, progress=self.progress,
                               include_eos=self.include_eos)
        return [[value, 1.0] for value in result.scores]

    def _aggregate_and_compute(self, stats: List[List[float]]) -> QEScore:
        import numpy as np
        array = np.asarray(stats, dtype=np.float64).reshape(-1, 2)
        score = self._compute_score_from_stats(array.sum(0))
        score.segment_scores = array[:, 0].tolist()
        return score

    def _compute_score_from_stats(self, stats: Sequence[float]) -> QEScore:
        total, count = float(stats[0]), float(stats[1])
        return QEScore(self.name, total / count if count else float("nan"))

    def _preprocess_segment(self, sent: str) -> str:
        return sent

    def _extract_reference_info(self, refs: Sequence[str]) -> Dict[str, Any]:
        return {"source": refs[0] if refs else ""}

    def _compute_segment_statistics(self, hypothesis: str, ref_kwargs: Dict) -> List[float]:
        return self._extract_corpus_statistics([hypothesis], [[ref_kwargs["source"]]])[0]

    # -- the sacrebleu-style entry points, with sources for references -----------------------
    def corpus_score(self, hypotheses: Sequence[str], sources: Sequence,
                     n_bootstrap: int = 1) -> QEScore:
        """System score = mean of the sentence scores (``n_bootstrap`` > 1: with a 95% CI).

        ``sources`` is the list of sources, or sacrebleu's form, a list of reference streams
        (``[sources]``: one stream, which holds the sources)."""
        hypotheses = segments(hypotheses, "hypotheses")
        sources = _one_stream(sources, "sources")
        if not hypotheses:
            raise InputError("no segments to score (hypotheses and sources are empty)")
        return super().corpus_score(hypotheses, [sources], n_bootstrap)

    def sentence_score(self, hypothesis: str, source) -> QEScore:
        """One sentence's score; ``source`` is a string or sacrebleu's ``[source]``."""
        if isinstance(source, (list, tuple)) and len(source) == 1:
            source = source[0]
        if not isinstance(hypothesis, str) or not isinstance(source, str):
            raise TypeError("sentence_score takes one hypothesis and one source string (or "
                            "[source], sacrebleu's form)")
        return self._aggregate_and_compute(self._extract_corpus_statistics([hypothesis], [[source]]))

    def get_signature(self) -> QESignature:
        if self.model is None:
            raise ValueError("the model is picked from the texts: score something first")
        signature = self.model.signature(self.method, self.aggregate, self.include_eos)
        if self.n_bootstrap:
            signature.update("bs", self.n_bootstrap)
            signature.update("seed", self.seed)
        return signature
