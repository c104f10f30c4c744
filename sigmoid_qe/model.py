"""``load_model`` and ``QEModel``: a frozen LM + a Sigmoid Head, loaded once, scoring many files.

Inputs are checked the way a careful user expects: a string where a list of segments belongs
is a ``TypeError`` (it would be scored character by character), any iterable is accepted
(generators too), options that cannot work raise :class:`~sigmoid_qe.errors.OptionError`, and
files that look like another language pair than the model's get a warning.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import generation
from .backends import Backend
from .comet_api import predict as comet_predict
from .default_model import resolve_model_name
from .directions import (
    OPPOSITE_DEFAULT,
    checked_direction,
    score_directions,
    swapped_lp,
)
from .distributed import DistContext
from .errors import InputError, InputWarning, ModelLoadError, OptionError, SigmoidQEWarning
from .head import SigmoidHead
from .languages import direction_warning
from .loading import HeadSpec, LoadOptions, attach_head, load_backend_and_head
from .methods import (
    METHOD_TABLE,
    STATISTICS,
    aggregate_scores,
    check_method,
    combine_weight,
    orient,
)
from .offsets import without_format
from .parallel import scored_chunks
from .results import QEResult, SegmentScore, TokenScore
from .scoring import TokenStats, length_sorted_batches, score_tokens
from .signature import QESignature
from .span_model import STATS as SPAN_MODEL_STATS
from .span_model import SpanModel, TokenArrays
from .span_model import reverse_arrays as span_model_reverse
from .span_model import source_errors as span_source_errors
from .spans import SpanThresholds, resolve_thresholds, segment_errors

if TYPE_CHECKING:
    from .decoding import Candidate, Decoding

#: ``softmax_over``: the backend's decoding shortlist where it has one, or the full vocabulary.
SOFTMAX_NORMALISERS = ("shortlist", "full")


def segments(texts: Iterable[str], what: str) -> List[str]:
    """A list of segments from any iterable of strings; a lone string is a mistake."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list (or any iterable) of segments, not a single "
                        f"{type(texts).__name__}: wrap it as [{what[:-1]}]")
    out = list(texts)
    for k, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"{what}[{k}] is {type(text).__name__}, not str")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no tokenizer can take it
            raise InputError(f"{what}[{k}]: lone surrogate U+{ord(text[exc.start]):04X} at "
                             f"character {exc.start} (not valid Unicode text)") from None
    return out


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(f"batch size must be a positive integer, got {batch_size!r}")
    return batch_size


def check_softmax_over(softmax_over: str) -> str:
    if softmax_over not in SOFTMAX_NORMALISERS:
        raise OptionError(f"softmax_over must be one of {', '.join(SOFTMAX_NORMALISERS)}, "
                          f"not {softmax_over!r}")
    return softmax_over


class QEModel:
    """A reusable scorer: load once with :func:`load_model`, call :meth:`score` many times."""

    def __init__(self, backend: Backend, head: SigmoidHead, batch_size: int = 32,
                 include_eos: bool = True, reverse: Optional[QEModel] = None,
                 reverse_options: Optional[dict] = None, direction: Optional[str] = None,
                 softmax_over: str = "shortlist"):
        """``head`` is attached to ``backend`` already (:func:`load_model`, or
        :func:`~sigmoid_qe.loading.attach_head` for a head directory)."""
        if not isinstance(head, SigmoidHead):
            raise TypeError(f"QEModel takes an attached head (a SigmoidHead), not {head!r}: "
                            "load_model(name, head=PATH), or loading.attach_head(backend, PATH)")
        self.backend = backend
        self.head = head
        self.head.eval()
        self.head.requires_grad_(False)
        self.batch_size = check_batch_size(batch_size)
        self.include_eos = include_eos
        self._fingerprint: Optional[str] = None
        self._warned_spans: set = set()
        #: The opposite direction's model (loaded on first use; see :mod:`.directions`).
        self._reverse = reverse
        self._reverse_options = dict(reverse_options or {})
        self.set_direction(direction)
        #: What the softmax is normalised over: the model's decoding shortlist where it has
        #: one (Bergamot), else the full vocabulary; "full" always uses the full vocabulary.
        self.softmax_over = check_softmax_over(softmax_over)

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def default_method(self) -> str:
        """The method the head was selected for (sigmoid when it says none)."""
        return self.head.config.method or "sigmoid"

    @property
    def default_aggregate(self) -> str:
        return self.head.config.aggregate or "mean"

    @property
    def default_direction(self) -> str:
        """The direction asked for at load time, else the one the head was selected for,
        else forward."""
        return self._direction or self.head.config.direction or "forward"

    def set_direction(self, direction: Optional[str]) -> None:
        """Score in ``direction`` from now on (None: the head's again)."""
        self._direction = None if direction is None else checked_direction(direction)

    def has_reverse(self) -> bool:
        """Whether a reverse model is there or can be had (see :func:`load_reverse`)."""
        if self._reverse is not None or self._reverse_options.get("reverse_model"):
            return True
        return self.name in OPPOSITE_DEFAULT or self.backend.reversed() is not None

    @property
    def reverse(self) -> QEModel:
        """The model that scores the source given the translation (loaded on first use)."""
        if self._reverse is None:
            self._reverse = load_reverse(self, **self._reverse_options)
        return self._reverse

    @property
    def combine_weight(self) -> float:
        """The ``combined`` method's a for this head."""
        return combine_weight(self.head.config.combine_weight)

    def scoring(self, method: Optional[str] = None,
                aggregate: Optional[str] = None) -> Tuple[str, str]:
        """The (method, aggregate) a score uses. Unset, both are the head's choice; the head's
        aggregation was chosen for its own method, so another method without an explicit
        aggregate uses ``mean`` (e.g. ``--method entropy`` with a head that sums logs)."""
        chosen = method or self.default_method
        if aggregate is None:
            aggregate = self.default_aggregate if chosen == self.default_method else "mean"
        return chosen, aggregate

    def head_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self.head.fingerprint()
        return self._fingerprint

    def signature(self, method: Optional[str] = None, aggregate: Optional[str] = None,
                  include_eos: Optional[bool] = None,
                  direction: Optional[str] = None) -> QESignature:
        """sacrebleu-style reproducibility signature, version last (``prec`` when the model
        does not run in fp32; ``rev``, the opposite model and its head, when it scores)."""
        precision = self.backend.precision()
        method, aggregate = self.scoring(method, aggregate)
        direction = direction or self.default_direction
        reverse = None
        if direction != "forward":
            reverse = f"{self.reverse.name}+{self.reverse.head_fingerprint()}"
        return QESignature(model=self.backend.name, head=self.head_fingerprint(),
                           method=method, agg=aggregate,
                           eos=self.include_eos if include_eos is None else include_eos,
                           dir=direction, rev=reverse,
                           norm=self.normaliser(method),
                           # the combined method's weight is config, not the matrix: say it
                           weight=self.combine_weight if method == "combined" else None,
                           prec=None if precision == "fp32" else precision)

    def normaliser(self, method: str) -> Optional[str]:
        """``shortlist`` when ``method`` reads a softmax normalised over the model's
        shortlist, else None (the full vocabulary, or no softmax at all)."""
        if self.softmax_over != "shortlist" or not METHOD_TABLE[method].needs_softmax:
            return None
        return "shortlist" if self.backend.shortlist is not None else None

    def span_thresholds(self, method: str, override=None) -> SpanThresholds:
        """The error-span thresholds for ``method``: ``override`` (a number: the minor
        threshold, major = the method's floor; or (minor, major)), else the head's calibration,
        else the method's default (with a warning)."""
        return resolve_thresholds(method, override, self.head.config.span_thresholds.get(method),
                                  self.score_floor(method), self._warned_spans)

    def span_model(self) -> Optional[SpanModel]:
        """The head's word-level error model (what ``spans=True`` uses by default), or None
        (then spans threshold the method's token scores; a warning says why)."""
        return head_span_model(self)

    def footprint(self) -> Tuple[int, int]:
        """(bytes on disk, parameters) of model + head, for WMT submission headers."""
        disk, params = self.backend.footprint()
        size = {"float16": 2, "bfloat16": 2}.get(self.head.config.dtype, 4)
        return disk + self.head.weight.numel() * size, params + self.head.weight.numel()

    def score_floor(self, method: str) -> float:
        """The lowest token score ``method`` can give (confidence and threshold range)."""
        return -math.log(self.backend.vocab_size) if method == "entropy" else 0.0

    def score(self, sources: Iterable[str], hypotheses: Iterable[str],
              method: Optional[str] = None, aggregate: Optional[str] = None,
              batch_size: Optional[int] = None, progress: Optional[bool] = None,
              include_eos: Optional[bool] = None, extra_stats: Sequence[str] = (),
              spans: bool = False, span_threshold=None, check_direction: bool = True,
              direction: Optional[str] = None, omissions: Optional[bool] = None) -> QEResult:
        """Score hypotheses against their sources (no reference needed).

        ``method``/``aggregate`` default to what the head was selected for (else sigmoid,
        mean); ``batch_size`` and ``include_eos`` to this model's. ``progress`` None shows a
        bar only on a terminal. ``extra_stats`` adds token statistics to the per-token details
        without changing the sentence score (e.g. ``("softmax",)`` next to the sigmoid).
        ``spans=True`` adds each segment's error spans (``SegmentScore.errors``), with the
        head's calibrated thresholds unless ``span_threshold`` overrides them.
        ``check_direction`` warns when the texts look like another language pair.
        ``direction`` (default: the head's) is ``forward``, ``reverse`` (the opposite model
        scores the source given the translation) or ``both`` (:mod:`.directions`); the
        reverse side's token scores and spans are ``source_tokens`` / ``source_errors``.
        ``omissions`` (with ``spans``; default: the head's span model's choice) also marks
        the source words the translation leaves out (``source_errors``, the reverse model).
        """
        direction = checked_direction(direction or self.default_direction)
        sources, hypotheses = segments(sources, "sources"), segments(hypotheses, "hypotheses")
        if direction != "forward":
            return score_directions(
                self, sources, hypotheses, direction, method=method, aggregate=aggregate,
                batch_size=batch_size, progress=progress, include_eos=include_eos,
                extra_stats=extra_stats, spans=spans, span_threshold=span_threshold,
                check_direction=check_direction, omissions=False)
        method, aggregate = self.scoring(method, aggregate)
        entry = check_method(method, aggregate)
        if len(sources) != len(hypotheses):
            raise InputError(f"{len(sources)} sources but {len(hypotheses)} translations")
        batch_size = check_batch_size(batch_size if batch_size is not None else self.batch_size)
        eos = self.include_eos if include_eos is None else include_eos
        _check_statistics(extra_stats)
        if check_direction:
            mismatch = direction_warning(self.backend.lp, sources, hypotheses)
            if mismatch:
                warnings.warn(SigmoidQEWarning(mismatch), stacklevel=2)
        pairs = self.backend.encode(sources, hypotheses, include_eos=eos)
        _warn_empty(sources, hypotheses)
        result = _forward_segments(self, sources, hypotheses, pairs, method, aggregate, entry,
                                   extra_stats, spans, span_threshold, omissions, batch_size,
                                   progress, eos)
        return QEResult(result, method, aggregate,
                        str(self.signature(method, aggregate, eos, "forward")))

    def predict(self, samples, batch_size: Optional[int] = None, gpus: Optional[int] = None,
                progress_bar: bool = True, **score_options):
        """COMET's call: ``[{"src": ..., "mt": ...}]`` in, ``.scores``, ``.system_score`` and,
        with ``spans=True``, ``.metadata.error_spans`` out; the same numbers as :meth:`score`
        (:mod:`.comet_api`)."""
        return comet_predict(self, samples, batch_size, gpus, progress_bar, **score_options)

    def batch_plan(self, sources: Sequence[str], hypotheses: Sequence[str],
                   batch_size: Optional[int] = None,
                   include_eos: Optional[bool] = None, side: str = "forward") -> List[List[int]]:
        """The length-sorted batches (row indices) :meth:`score` would build for these
        pairs: what data-parallel scoring shares out whole (:mod:`sigmoid_qe.parallel`).
        ``side="reverse"``: those of the opposite model's pass (:meth:`reverse_segments`)."""
        if side == "reverse":
            return self.reverse.batch_plan(hypotheses, sources, batch_size, include_eos)
        eos = self.include_eos if include_eos is None else include_eos
        with warnings.catch_warnings():  # what encoding warns about, score() says once
            warnings.simplefilter("ignore")
            pairs = self.backend.encode(segments(sources, "sources"),
                                        segments(hypotheses, "hypotheses"), include_eos=eos)
        return length_sorted_batches([p.cost for p in pairs],
                                     check_batch_size(batch_size or self.batch_size))

    def generation_plan(self, sources: Sequence[str], decoding: Decoding,
                        batch_size: Optional[int] = None) -> Optional[List[List[int]]]:
        """The batches :meth:`generate` builds (:func:`.generation.generation_plan`)."""
        return generation.generation_plan(self.backend, segments(sources, "sources"), decoding,
                                          check_batch_size(batch_size or self.batch_size))

    def iter_score(self, pairs: Iterable[Tuple[str, str]], method: Optional[str] = None,
                   aggregate: Optional[str] = None, chunk_size: int = 1000,
                   progress: Optional[bool] = None, total: Optional[int] = None,
                   **score_options) -> Iterator[SegmentScore]:
        """Score (source, hypothesis) pairs as they come, yielding segment results in input
        order: ``chunk_size`` pairs at a time are read, scored (in length-sorted batches) and
        released, so memory does not grow with the input. Warnings name the pair's position
        in the whole input; the direction check runs on the first chunk. ``total`` (when
        known) sizes the progress bar. Other options are those of :meth:`score`."""
        if chunk_size < 1:
            raise OptionError(f"chunk_size must be at least 1, got {chunk_size}")
        for _, segments in scored_chunks(self, _checked_pairs(pairs), chunk_size, DistContext(), 0, progress,
                                         total, method=method, aggregate=aggregate,
                                         **score_options):
            yield from segments

    def generate(self, sources: Iterable[str], decoding: Union[str, Decoding, None] = None,
                 n: Optional[int] = None, batch_size: Optional[int] = None, first_index: int = 0,
                 indices: Optional[Sequence[int]] = None, **options) -> List[List[Candidate]]:
        """Candidates (text, model log-probability, search score) per source, for backends
        that can decode (Bergamot, Hugging Face). ``decoding`` is a :class:`Decoding` or a
        strategy name (greedy, beam, sample) with its options as keywords (``beam_size``,
        ``temperature``, ``top_k``, ``top_p``, ``epsilon``, ``seed``, ``length_penalty``).
        Sampling seeds follow ``indices`` (one per source), else ``first_index``, ``first_index
        + 1``, ... (:mod:`sigmoid_qe.generation`)."""
        return generation.generate(self, segments(sources, "sources"), decoding, n,
                                   check_batch_size(batch_size or self.batch_size), first_index,
                                   indices, **options)

    def translate(self, sources: Iterable[str], batch_size: Optional[int] = None,
                  n: Optional[int] = None, decoding: Union[str, Decoding, None] = None,
                  **options) -> Union[List[str], List[List[str]]]:
        """Translations: one string per source (greedy) when neither ``n`` nor ``decoding``
        is given, else a list of ``n`` candidates per source (see :meth:`generate`)."""
        found = self.generate(sources, decoding, n, batch_size, **options)
        return generation.texts(found, n is None and decoding is None)


def _forward_segments(model, sources, hypotheses, pairs, method, aggregate, entry, extra_stats,
                      spans, span_threshold, omissions, batch_size, progress,
                      eos) -> List[SegmentScore]:
    """The forward pass of :meth:`QEModel.score` after its checks: token statistics, sentence
    scores and, with ``spans``, the span model's (or the thresholds') spans and omissions."""
    span_model = model.span_model() if spans and span_threshold is None else None
    thresholds = (model.span_thresholds(method, span_threshold)
                  if spans and span_model is None else None)
    shown = list(dict.fromkeys([entry.statistic, *extra_stats]))
    wanted = list(dict.fromkeys(shown + list(SPAN_MODEL_STATS if span_model else ())))
    reverse = (span_model_reverse(model, sources, hypotheses, batch_size, progress, eos)
               if span_model is not None and span_model.needs_reverse else None)
    omitted = (_omitted(model, span_model, omissions, sources, hypotheses, span_threshold,
                        batch_size, progress, eos) if spans else None)
    token_stats = score_tokens(model.backend, model.head, pairs, wanted, batch_size, progress,
                               softmax_over=model.softmax_over)
    result: List[SegmentScore] = []
    for src, hyp, pair, stats in zip(sources, hypotheses, pairs, token_stats):
        if stats.token_ids:
            value = _sentence_score(method, aggregate, stats)
        else:  # not even an EOS to fall back on: a defined, worst score (never NaN)
            warnings.warn(InputWarning("no token to score: given the lowest token score",
                                       "translation", pair.index), stacklevel=2)
            value = aggregate_scores([model.score_floor(method)], aggregate)
        segment = SegmentScore(src, hyp, value, _token_scores(pair, stats, shown),
                               pair.truncated)
        if spans:
            segment.errors = _errors(model.backend.eos_token_id, pair, stats, segment,
                                     span_model or thresholds, method,
                                     reverse[len(result)] if reverse is not None else None)
        if omitted is not None:
            segment.source_errors = omitted[len(result)]
        result.append(segment)
    return result


def _omitted(model, span_model, asked, sources, hypotheses, span_threshold, batch_size,
             progress, eos):
    """``source_errors`` for forward spans when asked (or the span model says so)."""
    wanted = asked if asked is not None else bool(span_model and span_model.omissions)
    if not wanted or (asked is None and not model.has_reverse()):
        return None
    return span_source_errors(model, sources, hypotheses, span_threshold, batch_size,
                              progress, eos)


def _warn_empty(sources: Sequence[str], hypotheses: Sequence[str]) -> None:
    """A warning naming each empty source or translation (scored, but on nothing)."""
    for pos, source in enumerate(sources):
        if not without_format(source).strip():
            warnings.warn(InputWarning("empty source: the translation is scored against "
                                       "nothing", "source", pos), stacklevel=3)
    for pos, hypothesis in enumerate(hypotheses):
        if not without_format(hypothesis).strip():
            warnings.warn(InputWarning("empty translation: scored on its end-of-sentence "
                                       "token only", "translation", pos), stacklevel=3)


def _check_statistics(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in STATISTICS]
    if unknown:
        raise OptionError(f"unknown token statistic(s) {', '.join(unknown)}")


def _token_scores(pair, stats: TokenStats, shown: Sequence[str]) -> List[TokenScore]:
    """The per-token details of one segment: the statistics in ``shown``."""
    return [TokenScore(token=tok, token_id=tid, start=s, end=e,
                       **{name: getattr(stats, name)[k] for name in shown})
            for k, (tok, tid, (s, e)) in enumerate(zip(pair.tokens, stats.token_ids, pair.offsets))]


def _errors(eos_id: int, pair, stats: TokenStats, segment: SegmentScore,
            spotter: Union[SpanModel, SpanThresholds], method: str, reverse=None) -> list:
    """One segment's error spans: from the head's span model, or by thresholding the method's
    token scores."""
    if isinstance(spotter, SpanModel):
        return spotter.segment_errors(segment.hypothesis, segment.source,
                                      TokenArrays.from_stats(pair.offsets, stats, eos_id), reverse)
    values = orient(method, getattr(stats, METHOD_TABLE[method].statistic))
    return segment_errors(segment.hypothesis, pair.offsets, values,
                          [t == eos_id for t in stats.token_ids], spotter)


def head_span_model(model: QEModel) -> Optional[SpanModel]:
    """``model``'s head's word-level error model, or None (then spans threshold the method's
    token scores; a warning, once, says why when the span model needs a reverse model that
    is not there)."""
    data = model.head.config.span_model
    if data is None:
        return None
    span_model = SpanModel.from_dict(data)
    if span_model.needs_reverse and not model.has_reverse():
        if "span-model" not in model._warned_spans:
            model._warned_spans.add("span-model")
            warnings.warn(SigmoidQEWarning(
                "the head's span model reads the reverse direction, which this model "
                "lacks (give --reverse-model): spans threshold the token scores instead"),
                stacklevel=4)
        return None
    return span_model


def _checked_pairs(items: Iterable) -> Iterator[Tuple[str, str]]:
    for k, pair in enumerate(items):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise TypeError(f"pair {k} is not (source, hypothesis): {pair!r:.80}")
        yield pair


def _sentence_score(method: str, aggregate: str, stats: TokenStats) -> float:
    values = orient(method, getattr(stats, METHOD_TABLE[method].statistic))
    return aggregate_scores(values, aggregate)


def load_model(name_or_dir: str, head: HeadSpec = None, lp: Optional[str] = None,
               device: Optional[str] = None, options: Optional[LoadOptions] = None,
               **keywords) -> QEModel:
    """Load a model (Hugging Face name/dir, ``bergamot-en-pt``/``bergamot-pt-en``, or a Marian
    binary-model dir) and its head, ready to score.

    ``head`` is a head directory, a state-dict file, ``"untrained"`` or a
    :class:`SigmoidHead`; a head trained for another model is refused unless
    ``allow_other_model``. ``options`` (a :class:`~sigmoid_qe.loading.LoadOptions`) says the
    rest; its fields may also be given as keywords (``load_model(name, batch_size=8,
    direction="both")``), which fill in ``options``.
    """
    options = LoadOptions.given(options, **keywords)
    check_batch_size(options.batch_size)
    if options.direction is not None:
        checked_direction(options.direction)
    backend, head = load_backend_and_head(
        name_or_dir, head, lp=lp, device=device, precision=options.precision,
        prompt_template=options.prompt_template, trust_remote_code=options.trust_remote_code,
        revision=options.revision, head_key=options.head_key,
        allow_other_model=options.allow_other_model, prompt_style=options.prompt_style)
    return QEModel(backend, head, batch_size=options.batch_size,
                   include_eos=options.include_eos,
                   reverse_options=options.reverse_options(device), direction=options.direction,
                   softmax_over=options.softmax_over)


def load_reverse(model: QEModel, reverse_model: Optional[str] = None, reverse_head: HeadSpec = None,
                 **options) -> QEModel:
    """The reverse QEModel of ``model``: ``reverse_model`` (+ ``reverse_head``) when given, else
    the offline default's other student, else the same multilingual model swapped
    (:meth:`.backends.base.Backend.reversed`)."""
    name = reverse_model or OPPOSITE_DEFAULT.get(model.name)
    if name is not None:
        try:
            return load_model(name, head=reverse_head, lp=swapped_lp(model.backend.lp),
                              **options)
        except ModelLoadError as exc:
            if reverse_model is None:
                raise
            raise ModelLoadError(f"--reverse-model {exc}") from None
    backend = model.backend.reversed()
    if backend is None:
        raise OptionError(f"{model.name} translates one direction only: give the opposite "
                          f"model with --reverse-model (and its head with --reverse-head) to "
                          f"score the source given the translation")
    head = model.head if reverse_head is None else attach_head(backend, reverse_head)
    return QEModel(backend, head, batch_size=model.batch_size, include_eos=model.include_eos,
                   softmax_over=model.softmax_over)


def score(sources: Iterable[str], hypotheses: Iterable[str],
          model: Union[str, QEModel, None] = None, head: HeadSpec = None,
          method: Optional[str] = None, aggregate: Optional[str] = None,
          batch_size: Optional[int] = None, device: Optional[str] = None, lp: Optional[str] = None,
          progress: Optional[bool] = None, include_eos: Optional[bool] = None,
          spans: bool = False) -> QEResult:
    """One-call scoring: ``score(srcs, hyps, model="Helsinki-NLP/opus-mt-en-de")``.

    With ``model=None`` the offline Bergamot default for the pair is used (en-pt or pt-en,
    from ``lp`` or guessed from the texts). Pass a :class:`QEModel` to avoid reloading; its
    batch size and EOS choice are kept unless given here.
    """
    sources, hypotheses = segments(sources, "sources"), segments(hypotheses, "hypotheses")
    if batch_size is not None:
        check_batch_size(batch_size)
    if not isinstance(model, QEModel):
        name, lp, _ = resolve_model_name(model, sources, hypotheses, lp)
        model = load_model(name, head=head, lp=lp, device=device, batch_size=batch_size or 32,
                           include_eos=True if include_eos is None else include_eos)
    return model.score(sources, hypotheses, method=method, aggregate=aggregate,
                       batch_size=batch_size, progress=progress, include_eos=include_eos,
                       spans=spans)
