"""sigmoid-qe as an OpusFilter filter: ``pip install -e '.[opusfilter]'`` in a clone, then in a
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
import math
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

try:
    from opusfilter import CLEAN_HIGH, ConfigurationError, FilterABC
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("sigmoid_qe.opusfilter needs OpusFilter: pip install opusfilter (from a "
                      "clone: pip install -e '.[opusfilter]')") from exc

from .errors import InputWarning
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


def _check_parameters(threshold, lp, model, head, batch_size, chunk_size, direction, device,
                      keep_off_target) -> None:
    """Everything that can be checked without data, at construction: OpusFilter opens its
    output files before the first pair is scored, so a mistake found then leaves them empty."""

    def refuse(text: str):
        raise ConfigurationError(f"SigmoidQEFilter: {text}")
    if threshold is not None and (isinstance(threshold, bool)
                                  or not isinstance(threshold, (int, float))):
        refuse(f"threshold must be a number, got {threshold!r}")
    if threshold is not None and not math.isfinite(threshold):
        refuse(f"threshold must be a finite number, got {threshold!r}")
    for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            refuse(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(keep_off_target, bool):
        refuse(f"keep_off_target must be true or false, got {keep_off_target!r}")
    for name, value in (("lp", lp), ("model", model), ("head", head), ("device", device),
                        ("direction", direction)):
        if value is not None and not isinstance(value, str):
            refuse(f"{name} must be a string, got {value!r}")
    _check_names(lp, model, head, direction, device, refuse)


def _check_names(lp, model, head, direction, device, refuse) -> None:
    """The named things exist: a direction, a default model for the pair, a device, a head."""
    from pathlib import Path

    from .errors import SigmoidQEError
    try:
        if direction is not None:
            from .directions import checked_direction
            checked_direction(direction)
        if lp is not None and model is None:  # the offline default must cover it
            from .default_model import choose_default_model
            choose_default_model([], [], lp)
        if device not in (None, "auto"):
            from .backends.base import resolve_device
            resolve_device(device)
    except SigmoidQEError as exc:
        refuse(str(exc))
    if head not in (None, "untrained") and not Path(head).exists():
        refuse(f"head {head}: no such head directory or state-dict file")


class SigmoidQEFilter(FilterABC):
    """Reference-free QE of each (source, target) pair with a Sigmoid Head."""

    score_direction = CLEAN_HIGH

    def __init__(self, threshold: Optional[float] = None, lp: Optional[str] = None,
                 model: Optional[str] = None, head: Optional[str] = None,
                 method: Optional[str] = None, aggregate: Optional[str] = None,
                 batch_size: int = 32, direction: Optional[str] = None, device: str = "auto",
                 chunk_size: int = 1000, keep_off_target: bool = False, **kwargs):
        super().__init__(**kwargs)
        _check_parameters(threshold, lp, model, head, batch_size, chunk_size, direction, device,
                          keep_off_target)
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
        self.keep_off_target = keep_off_target
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
        for chunk in self._chunks(pairs, deciding=False):
            yield from self._score_chunk(chunk)

    def _chunks(self, pairs, deciding: bool = True) -> Iterator[list]:
        """``chunk_size`` pairs at a time, one pass over the data (its off-target count logged
        at the end; ``deciding``: a filter step, which rejects them, not a score step)."""
        pairs = iter(pairs)
        self._new_pass()
        while True:
            chunk = list(itertools.islice(pairs, self.chunk_size))
            if not chunk:
                self._log_off_target(deciding)
                return
            yield chunk

    def _log_off_target(self, deciding: bool) -> None:
        """One log warning per pass over the data, counting the off-target targets so far,
        saying what becomes of them: a score step writes their scores and rejects nothing."""
        if self._off_target is not None and self._off_target.count:
            if not deciding:
                outcome = "; their scores are the model's (a filter step would reject them)"
            elif self.keep_off_target:
                outcome = "; kept or dropped by score"
            else:
                outcome = "; rejected"
            logger.warning("SigmoidQEFilter: %s", self._off_target.message(outcome))

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
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = model.score(sources, targets, method=self.method, aggregate=self.aggregate,
                                 progress=False, check_direction=False, direction=self.direction)
        for warning in caught:  # to OpusFilter's log, one line each, no Python source line
            message = warning.message
            if isinstance(message, InputWarning):
                text = (f"pair {self._pairs + message.index + 1} ({message.side}): "
                        f"{message.message}")
            else:
                text = str(message)
            logger.warning("SigmoidQEFilter: %s", " ".join(text.split()))
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
        for _, keep in self._decided(pairs):
            yield keep

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
