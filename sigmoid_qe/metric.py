"""``SigmoidQE``: the scorer behind sacrebleu's ``Metric`` interface.

sacrebleu users write ``metric.corpus_score(hypotheses, references)`` and print
``score.format(signature=str(metric.get_signature()))``. A QE metric takes sources where
sacrebleu takes references, and otherwise behaves the same, so evaluation scripts need no
special case.
"""
from __future__ import annotations

from typing import Optional, Sequence

from sacrebleu.metrics.base import Score

from .aggregation import check_method
from .model import HeadSpec, QEModel, load_model


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


class QESignature:
    """A signature string in sacrebleu's ``key:value|...|version:x`` form."""

    def __init__(self, text: str):
        self.text = text

    def format(self, short: bool = False) -> str:  # noqa: ARG002 - sacrebleu's API has `short`
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


class SigmoidQE:
    """Reference-free sentence and corpus scores with a Sigmoid Head.

    ``SigmoidQE(model="bergamot-pt-en")`` or ``SigmoidQE(model=loaded_qe_model)``.
    """

    def __init__(self, model="bergamot-en-pt", head: HeadSpec = None, method: str = "sigmoid",
                 aggregate: str = "mean", lp: Optional[str] = None, device: Optional[str] = None,
                 batch_size: int = 32, include_eos: bool = True, progress: bool = False):
        check_method(method, aggregate)
        self.model = model if isinstance(model, QEModel) else load_model(
            model, head=head, lp=lp, device=device, batch_size=batch_size, include_eos=include_eos)
        self.method, self.aggregate = method, aggregate
        self.include_eos = include_eos
        self.progress = progress
        self.name = f"SigmoidQE-{method}"

    def corpus_score(self, hypotheses: Sequence[str], sources: Sequence[str]) -> QEScore:
        """System score = mean of the sentence scores."""
        result = self.model.score(sources, hypotheses, method=self.method, aggregate=self.aggregate,
                                  progress=self.progress, include_eos=self.include_eos)
        return QEScore(self.name, result.system_score, result.scores)

    def sentence_score(self, hypothesis: str, source: str) -> QEScore:
        result = self.model.score([source], [hypothesis], method=self.method,
                                  aggregate=self.aggregate, progress=False,
                                  include_eos=self.include_eos)
        return QEScore(self.name, result.scores[0], result.scores)

    def get_signature(self) -> QESignature:
        return QESignature(self.model.signature(self.method, self.aggregate, self.include_eos))
