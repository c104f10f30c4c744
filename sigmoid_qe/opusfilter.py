"""sigmoid-qe as an OpusFilter filter: ``pip install 'sigmoid-qe[opusfilter]'``, then in a
configuration::

    steps:
      - type: filter
        parameters:
          inputs: [corpus.en, corpus.pt]
          outputs: [clean.en, clean.pt]
          filters:
            - SigmoidQEFilter: {lp: en-pt, threshold: 0.6}
              module: sigmoid_qe.opusfilter

Parameters: ``threshold`` (keep pairs scoring at least this; none: keep every pair that is
not off-target, e.g. for ``type: score``), ``lp``, ``model``, ``head``, ``method``,
``aggregate``, ``direction``, ``batch_size``, ``device``, ``chunk_size`` (pairs scored at a
time) and ``keep_off_target``. The score is sigmoid-qe-filter's default (the mean sigmoid token
score, in both directions where the model has its opposite) unless ``method``/``aggregate``/
``direction`` say otherwise; higher is cleaner (CLEAN_HIGH).

Pairs whose target is clearly not in the model's target language (wrong language, or the
source copied untranslated; :func:`sigmoid_qe.languages.detect`) are rejected whatever their
score unless ``keep_off_target: true``. The score written by ``type: score`` stays the model's.

OpusFilter's own ``filter()`` scores one pair at a time; this filter scores in chunks of
``chunk_size`` pairs, in ``score``, ``decisions``, ``filter`` and ``filterfalse``.
"""
from __future__ import annotations

import collections
import itertools
import logging
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

try:
    from opusfilter import CLEAN_HIGH, ConfigurationError, FilterABC
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("sigmoid_qe.opusfilter needs OpusFilter: pip install "
                      "'sigmoid-qe[opusfilter]'") from exc

from .filtering import Watch, accept, apply_default_direction, filter_pairs, filter_scoring
from .off_target import OffTarget, target_language

__all__ = ["PairScore", "SigmoidQEFilter"]

logger = logging.getLogger(__name__)


class PairScore(float):
    """The model's score of a pair (a plain number in OpusFilter's score files), carrying the
    target's detected language and whether it is off-target, which :meth:`accept` reads."""

    lang: Optional[str] = None
    off_target: bool = False

    def __new__(cls, value: float, lang: Optional[str] = None, off_target: bool = False):
        score = super().__new__(cls, value)
        score.lang, score.off_target = lang, off_target
        return score


class SigmoidQEFilter(FilterABC):
    """Reference-free QE of each (source, target) pair with a Sigmoid Head."""

    score_direction = CLEAN_HIGH

    def __init__(self, threshold: Optional[float] = None, lp: Optional[str] = None,
                 model: Optional[str] = None, head: Optional[str] = None,
                 method: Optional[str] = None, aggregate: Optional[str] = None,
                 batch_size: int = 32, direction: Optional[str] = None, device: str = "auto",
                 chunk_size: int = 1000, keep_off_target: bool = False, **kwargs):
        super().__init__(**kwargs)
        if threshold is not None and not isinstance(threshold, (int, float)):
            raise ConfigurationError(f"SigmoidQEFilter: threshold must be a number, got {threshold!r}")
        for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
            if not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"SigmoidQEFilter: {name} must be a positive integer, "
                                         f"got {value!r}")
        method, aggregate = filter_scoring(method, aggregate)
        from .errors import SigmoidQEError
        from .methods import check_method
        try:
            check_method(method or "sigmoid", aggregate or "mean")
        except SigmoidQEError as exc:
            raise ConfigurationError(f"SigmoidQEFilter: {exc}") from None
        self.threshold = threshold
        self.lp, self.model_name, self.head = lp, model, head
        self.method, self.aggregate, self.direction = method, aggregate, direction
        self.batch_size, self.device, self.chunk_size = batch_size, device, chunk_size
        self.keep_off_target = bool(keep_off_target)
        self._model = None
        self._off_target: Optional[OffTarget] = None
        self._pairs = 0

    # -- the model -----------------------------------------------------------------------------
    def _load(self, sources: Sequence[str], targets: Sequence[str]):
        """The model, loaded on the first chunk (the offline default's pair may be guessed
        from it when ``lp`` is not given)."""
        if self._model is None:
            from .default_model import resolve_model_name
            from .errors import SigmoidQEError
            from .model import load_model
            try:
                name, lp, _ = resolve_model_name(self.model_name, sources, targets, self.lp)
                self._model = load_model(name, head=self.head, lp=lp, device=self.device,
                                         batch_size=self.batch_size, direction=self.direction)
            except SigmoidQEError as exc:
                raise ConfigurationError(f"SigmoidQEFilter: {exc}") from None
            if self.direction is None:  # sigmoid-qe-filter's default
                apply_default_direction(
                    self._model, lambda message: logger.info("SigmoidQEFilter: %s", message))
            self._off_target = OffTarget(target_language(self._model.backend.lp))
        return self._model

    # -- FilterABC -----------------------------------------------------------------------------
    def score(self, pairs: Iterable[Sequence[str]]) -> Iterator[PairScore]:
        """One :class:`PairScore` per pair, scored ``chunk_size`` pairs at a time."""
        for chunk in self._chunks(pairs):
            yield from self._score_chunk(chunk)

    def _chunks(self, pairs) -> Iterator[list]:
        """``chunk_size`` pairs at a time, one pass over the data (its off-target count logged
        at the end)."""
        pairs = iter(pairs)
        self._new_pass()
        while True:
            chunk = list(itertools.islice(pairs, self.chunk_size))
            if not chunk:
                self._log_off_target()
                return
            yield chunk

    def _log_off_target(self) -> None:
        """One log warning per pass over the data, counting the off-target targets so far."""
        if self._off_target is not None and self._off_target.count:
            text = self._off_target.message("; kept or dropped by score" if self.keep_off_target
                                            else "; rejected")
            logger.warning("SigmoidQEFilter: %s", text)

    def _new_pass(self) -> None:
        self._pairs = 0
        if self._off_target is not None:
            self._off_target = OffTarget(self._off_target.expected)

    @staticmethod
    def _check_pairs(chunk: List[Sequence[str]]) -> None:
        for pair in chunk:
            if len(pair) != 2:
                raise ConfigurationError(f"SigmoidQEFilter scores (source, target) pairs; got "
                                         f"{len(pair)} segments")

    def _score_chunk(self, chunk: List[Sequence[str]]) -> List[PairScore]:
        self._check_pairs(chunk)
        sources, targets = [p[0] for p in chunk], [p[1] for p in chunk]
        model = self._load(sources, targets)
        result = model.score(sources, targets, method=self.method, aggregate=self.aggregate,
                             progress=False, check_direction=False, direction=self.direction)
        out = []
        for target, value in zip(targets, result.scores):
            self._pairs += 1
            lang, off = self._off_target.check(f"pair {self._pairs}", target)
            out.append(PairScore(value, lang, off))
        return out

    def accept(self, score: float) -> bool:
        """At or above the threshold, and not off-target (unless ``keep_off_target``)."""
        return accept(score, self.threshold, getattr(score, "off_target", False),
                      self.keep_off_target)

    def decisions(self, pairs) -> Iterator[bool]:
        for score in self.score(pairs):
            yield self.accept(score)

    def filter(self, pairs) -> Iterator[Tuple[str, ...]]:
        """The accepted pairs, scored in chunks (FilterABC's default goes one at a time)."""
        for pair, keep in self._decided(pairs):
            if keep:
                yield pair

    def filterfalse(self, pairs) -> Iterator[Tuple[str, ...]]:
        for pair, keep in self._decided(pairs):
            if not keep:
                yield pair

    def _decided(self, pairs) -> Iterator[Tuple[Sequence[str], bool]]:
        """(pair, kept) for every pair, through :func:`sigmoid_qe.filtering.filter_pairs`
        (the model loads on the first chunk)."""
        given: collections.deque = collections.deque()

        def checked(chunks):
            for chunk in chunks:
                self._check_pairs(chunk)
                given.extend(chunk)
                yield from ((pair[0], pair[1]) for pair in chunk)

        chunks = self._chunks(pairs)
        first = next(chunks, None)
        if first is None:
            return
        self._check_pairs(first)
        model = self._load([p[0] for p in first], [p[1] for p in first])
        watch = Watch(model.backend.lp)
        watch.off_target = self._off_target
        for decision in filter_pairs(model, checked(itertools.chain([first], chunks)),
                                     self.threshold, keep_off_target=self.keep_off_target,
                                     chunk_size=self.chunk_size, watch=watch,
                                     method=self.method, aggregate=self.aggregate,
                                     direction=self.direction):
            yield given.popleft(), decision.keep

    @property
    def accept_threshold(self):
        return None

    @property
    def reject_threshold(self):
        return None
