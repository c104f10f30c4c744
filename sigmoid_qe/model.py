"""``load_model`` and ``QEModel``: a frozen LM + a Sigmoid Head, loaded once, scoring many files.

Inputs are checked the way a careful user expects: a string where a list of segments belongs
is a ``TypeError`` (it would be scored character by character), any iterable is accepted
(generators too), options that cannot work raise :class:`~sigmoid_qe.errors.OptionError`, and
files that look like another language pair than the model's get a warning.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .backends import Backend
from .default_model import resolve_model_name
from .directions import (
    OPPOSITE_DEFAULT,
    checked_direction,
    combine,
    reverse_side_warnings,
    swapped_lp,
)
from .errors import InputError, InputWarning, ModelLoadError, OptionError, SigmoidQEWarning
from .languages import direction_warning
from .loading import HeadSpec, attach_head, load_backend_and_head
from .methods import (
    METHOD_TABLE,
    STATISTICS,
    aggregate_scores,
    check_method,
    combine_weight,
    orient,
)
from .offsets import without_format
from .results import QEResult, SegmentScore, TokenScore
from .scoring import TokenStats, score_tokens
from .signature import QESignature
from .span_model import STATS as SPAN_MODEL_STATS
from .span_model import SpanModel, TokenArrays
from .span_model import reverse_arrays as span_model_reverse
from .span_model import source_errors as span_source_errors
from .spans import DEFAULT_THRESHOLDS, SpanThresholds, segment_errors

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


class QEModel:
    """A reusable scorer: load once with :func:`load_model`, call :meth:`score` many times."""

    def __init__(self, backend: Backend, head: HeadSpec = None, batch_size: int = 32,
                 include_eos: bool = True, head_key: Optional[str] = None,
                 allow_other_model: bool = False, prompt_style: Optional[str] = None,
                 reverse: Optional[QEModel] = None, reverse_options: Optional[dict] = None,
                 direction: Optional[str] = None, softmax_over: str = "shortlist"):
        self.backend = backend
        self.head = attach_head(backend, head, head_key, allow_other_model, prompt_style)
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
        if softmax_over not in SOFTMAX_NORMALISERS:
            raise OptionError(f"softmax_over must be one of {', '.join(SOFTMAX_NORMALISERS)}, "
                              f"not {softmax_over!r}")
        #: What the softmax is normalised over: the model's decoding shortlist where it has
        #: one (Bergamot), else the full vocabulary; "full" always uses the full vocabulary.
        self.softmax_over = softmax_over

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
        floor = self.score_floor(method)
        ceiling = 1.0 if METHOD_TABLE[method].is_probability else 0.0
        if override is not None:
            if isinstance(override, SpanThresholds):
                return override
            number = (int, float)
            if isinstance(override, number) and not isinstance(override, bool):
                minor, major = override, floor
            elif (isinstance(override, (tuple, list)) and len(override) == 2
                  and all(isinstance(v, number) and not isinstance(v, bool) for v in override)):
                minor, major = override
            else:
                raise OptionError(f"span_threshold must be a number (minor) or a (minor, major) "
                                  f"pair of numbers, got {override!r}")
            for value in (minor, major):
                if not floor <= value <= ceiling:
                    raise OptionError(f"span threshold {value} is outside the {method} score "
                                      f"range [{floor:g}, {ceiling:g}]")
            return SpanThresholds(float(minor), float(major), "min", floor)
        calibrated = self.head.config.span_thresholds.get(method)
        if calibrated:
            return SpanThresholds.from_dict(calibrated, floor)
        if method not in self._warned_spans:
            self._warned_spans.add(method)
            warnings.warn(SigmoidQEWarning(
                f"no calibrated span thresholds for {method} with this head: using the default "
                f"{DEFAULT_THRESHOLDS[method]} (calibrate with: sigmoid-qe-calibrate --head DIR "
                f"--mqm SPANS.tsv, or --dev PAIRS.tsv without human spans)"),
                stacklevel=3)
        minor, major = DEFAULT_THRESHOLDS[method]
        return SpanThresholds(minor, major, "min", floor)

    def span_model(self) -> Optional[SpanModel]:
        """The head's word-level error model (what ``spans=True`` uses by default), or None
        (then spans threshold the method's token scores; a warning says why)."""
        data = self.head.config.span_model
        if data is None:
            return None
        model = SpanModel.from_dict(data)
        if model.needs_reverse and not self.has_reverse():
            if "span-model" not in self._warned_spans:
                self._warned_spans.add("span-model")
                warnings.warn(SigmoidQEWarning(
                    "the head's span model reads the reverse direction, which this model "
                    "lacks (give --reverse-model): spans threshold the token scores instead"),
                    stacklevel=3)
            return None
        return model

    def footprint(self) -> Tuple[int, int]:
        """(bytes on disk, parameters) of model + head, for WMT submission headers."""
        disk, params = self.backend.footprint()
        size = {"float16": 2, "bfloat16": 2}.get(self.head.config.dtype, 4)
        return disk + self.head.weight.numel() * size, params + self.head.weight.numel()

    def score_floor(self, method: str) -> float:
        """The lowest token score ``method`` can give (confidence and threshold range)."""
        import math
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
        if direction != "forward":
            return self._score_directions(
                sources, hypotheses, direction, method=method, aggregate=aggregate,
                batch_size=batch_size, progress=progress, include_eos=include_eos,
                extra_stats=extra_stats, spans=spans, span_threshold=span_threshold,
                check_direction=check_direction, omissions=False)
        method, aggregate = self.scoring(method, aggregate)
        entry = check_method(method, aggregate)
        sources, hypotheses = segments(sources, "sources"), segments(hypotheses, "hypotheses")
        if len(sources) != len(hypotheses):
            raise InputError(f"{len(sources)} sources but {len(hypotheses)} translations")
        batch_size = check_batch_size(batch_size if batch_size is not None else self.batch_size)
        eos = self.include_eos if include_eos is None else include_eos
        unknown = [s for s in extra_stats if s not in STATISTICS]
        if unknown:
            raise OptionError(f"unknown token statistic(s) {', '.join(unknown)}")
        if check_direction:
            mismatch = direction_warning(self.backend.lp, sources, hypotheses)
            if mismatch:
                warnings.warn(SigmoidQEWarning(mismatch), stacklevel=2)
        pairs = self.backend.encode(sources, hypotheses, include_eos=eos)
        _warn_empty(sources, hypotheses)
        span_model = self.span_model() if spans and span_threshold is None else None
        thresholds = (self.span_thresholds(method, span_threshold)
                      if spans and span_model is None else None)
        shown = list(dict.fromkeys([entry.statistic, *extra_stats]))
        wanted = list(dict.fromkeys(shown + list(SPAN_MODEL_STATS if span_model else ())))
        reverse = (span_model_reverse(self, sources, hypotheses, batch_size, progress, eos)
                   if span_model is not None and span_model.needs_reverse else None)
        omitted = (self._omissions(span_model, omissions, sources, hypotheses, span_threshold,
                                   batch_size, progress, eos) if spans else None)
        token_stats = score_tokens(self.backend, self.head, pairs, wanted, batch_size, progress,
                                   softmax_over=self.softmax_over)
        result: List[SegmentScore] = []
        eos_id = self.backend.eos_token_id
        for src, hyp, pair, stats in zip(sources, hypotheses, pairs, token_stats):
            tokens = [TokenScore(token=tok, token_id=tid, start=s, end=e,
                                 **{name: getattr(stats, name)[k] for name in shown})
                      for k, (tok, tid, (s, e)) in
                      enumerate(zip(pair.tokens, stats.token_ids, pair.offsets))]
            if stats.token_ids:
                value = _sentence_score(method, aggregate, stats)
            else:  # not even an EOS to fall back on: a defined, worst score (never NaN)
                warnings.warn(InputWarning("no token to score: given the lowest token score",
                                           "translation", pair.index), stacklevel=2)
                value = aggregate_scores([self.score_floor(method)], aggregate)
            segment = SegmentScore(src, hyp, value, tokens, pair.truncated)
            if span_model is not None:
                segment.errors = span_model.segment_errors(
                    hyp, src, TokenArrays.from_stats(pair.offsets, stats, eos_id),
                    reverse[len(result)] if reverse is not None else None)
            elif thresholds is not None:
                values = orient(method, getattr(stats, entry.statistic))
                segment.errors = segment_errors(hyp, pair.offsets, values,
                                                [t == eos_id for t in stats.token_ids], thresholds)
            if omitted is not None:
                segment.source_errors = omitted[len(result)]
            result.append(segment)
        return QEResult(result, method, aggregate,
                        str(self.signature(method, aggregate, eos, "forward")))

    def _omissions(self, span_model, asked, sources, hypotheses, span_threshold, batch_size,
                   progress, eos):
        """``source_errors`` for forward spans when asked (or the span model says so)."""
        wanted = asked if asked is not None else bool(span_model and span_model.omissions)
        if not wanted or (asked is None and not self.has_reverse()):
            return None
        return span_source_errors(self, sources, hypotheses, span_threshold, batch_size,
                                  progress, eos)

    def predict(self, samples, batch_size: Optional[int] = None, gpus: Optional[int] = None,
                progress_bar: bool = True, **score_options):
        """COMET's call: ``[{"src": ..., "mt": ...}]`` in, ``.scores``, ``.system_score`` and,
        with ``spans=True``, ``.metadata.error_spans`` out; the same numbers as :meth:`score`
        (:mod:`.comet_api`)."""
        from .comet_api import predict
        return predict(self, samples, batch_size, gpus, progress_bar, **score_options)

    def _score_directions(self, sources, hypotheses, direction: str, method=None,
                          aggregate=None, span_threshold=None, check_direction=True,
                          **options) -> QEResult:
        """``reverse`` / ``both``: the opposite model scores each source given its
        translation (with the same method and aggregation); ``both`` adds the forward score."""
        method, aggregate = self.scoring(method, aggregate)
        sources, hypotheses = segments(sources, "sources"), segments(hypotheses, "hypotheses")
        forward = None
        if direction == "both":
            forward = self.score(sources, hypotheses, method, aggregate, direction="forward",
                                 span_threshold=span_threshold,
                                 check_direction=check_direction, **options).segments
        backward = self.reverse_segments(sources, hypotheses, method, aggregate,
                                         span_threshold=span_threshold,
                                         check_direction=check_direction and forward is None,
                                         **options)
        eos = self.include_eos if options.get("include_eos") is None else options["include_eos"]
        return QEResult(self.joined_directions(sources, hypotheses, forward, backward, aggregate),
                        method, aggregate, str(self.signature(method, aggregate, eos, direction)))

    def reverse_segments(self, sources: Sequence[str], hypotheses: Sequence[str], method=None,
                         aggregate=None, span_threshold=None, check_direction: bool = False,
                         **options) -> List[SegmentScore]:
        """The reverse side alone: the opposite model's scores of each source given its
        translation (its warnings worded as the user's sides); ``check_direction`` warns
        when the texts look like another pair. Data-parallel scoring shards this pass with
        its own batch plan (:meth:`batch_plan` with ``side="reverse"``)."""
        method, aggregate = self.scoring(method, aggregate)
        if check_direction:
            mismatch = direction_warning(self.backend.lp, sources, hypotheses)
            if mismatch:
                warnings.warn(SigmoidQEWarning(mismatch), stacklevel=3)
        with reverse_side_warnings():
            return self.reverse.score(hypotheses, sources, method, aggregate,
                                      direction="forward", check_direction=False,
                                      span_threshold=span_threshold, **options).segments

    @staticmethod
    def joined_directions(sources: Sequence[str], hypotheses: Sequence[str],
                          forward: Optional[List[SegmentScore]], backward: List[SegmentScore],
                          aggregate: str) -> List[SegmentScore]:
        """One segment per pair from the forward segments (None: ``reverse`` only) and the
        reverse ones: the ``both`` score (:func:`.directions.combine`), the source side's
        tokens and spans."""
        out: List[SegmentScore] = []
        for k, rev in enumerate(backward):
            if forward is None:
                seg = SegmentScore(sources[k], hypotheses[k], rev.score, [], rev.truncated)
            else:
                seg = forward[k]
                seg.score = combine(seg.score, rev.score, aggregate)
                seg.truncated = seg.truncated or rev.truncated
            seg.source_tokens = rev.tokens
            seg.source_errors = rev.errors
            out.append(seg)
        return out

    def batch_plan(self, sources: Sequence[str], hypotheses: Sequence[str],
                   batch_size: Optional[int] = None,
                   include_eos: Optional[bool] = None, side: str = "forward") -> List[List[int]]:
        """The length-sorted batches (row indices) :meth:`score` would build for these
        pairs: what data-parallel scoring shares out whole (:mod:`sigmoid_qe.parallel`).
        ``side="reverse"``: those of the opposite model's pass (:meth:`reverse_segments`)."""
        from .scoring import length_sorted_batches  # the batching rule scoring uses
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
        """The length-sorted batches (source indices) :meth:`generate` builds for
        ``sources``, for data-parallel generation to share out whole (as :meth:`batch_plan`
        does for scoring); None where the backend does not say how it batches."""
        from .scoring import length_sorted_batches
        lengths = getattr(self.backend, "generation_lengths", None)
        if lengths is None:
            return None
        with warnings.catch_warnings():  # what encoding warns about, generate() says once
            warnings.simplefilter("ignore")
            sizes = lengths(segments(sources, "sources"))
        rows = decoding.n if decoding.strategy == "sample" else decoding.beam
        return length_sorted_batches(sizes, max(1, check_batch_size(
            batch_size or self.batch_size) // rows))

    def iter_score(self, pairs: Iterable[Tuple[str, str]], method: Optional[str] = None,
                   aggregate: Optional[str] = None, chunk_size: int = 1000,
                   progress: Optional[bool] = None, total: Optional[int] = None,
                   **score_options) -> Iterator[SegmentScore]:
        """Score (source, hypothesis) pairs as they come, yielding segment results in input
        order: ``chunk_size`` pairs at a time are read, scored (in length-sorted batches) and
        released, so memory does not grow with the input. Warnings name the pair's position
        in the whole input; the direction check runs on the first chunk. ``total`` (when
        known) sizes the progress bar. Other options are those of :meth:`score`."""
        from .distributed import DistContext
        from .parallel import scored_chunks
        if chunk_size < 1:
            raise OptionError(f"chunk_size must be at least 1, got {chunk_size}")

        def checked(items):
            for k, pair in enumerate(items):
                if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
                    raise TypeError(f"pair {k} is not (source, hypothesis): {pair!r:.80}")
                yield pair
        pairs = checked(pairs)
        for _, segments in scored_chunks(self, pairs, chunk_size, DistContext(), 0, progress,
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

        Sampling seeds follow each source's position in the whole input: ``indices`` (one per
        source, e.g. a rank's share ``r, r + w, ...`` of a sharded run), else ``first_index``,
        ``first_index + 1``, ...; so a share is generated in batches with the draws it would
        get in one run."""
        import dataclasses

        from .decoding import Decoding
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise OptionError(f"n (candidates per source) must be an integer >= 1, got {n!r}")
        if not isinstance(decoding, Decoding):
            strategy = decoding or ("beam" if (n or 1) > 1 else "greedy")
            decoding = Decoding(strategy, n or 1, **options)
        elif options:
            raise OptionError("give the decoding options in the Decoding, or a strategy name "
                              "with keywords")
        elif n is not None and n != decoding.n:
            if decoding.n != 1:
                raise OptionError(f"n={n} but the Decoding asks for {decoding.n} candidates")
            decoding = dataclasses.replace(decoding, n=n)  # Decoding("beam") with n=8
        if not self.backend.can_generate():
            raise NotImplementedError(f"{self.backend.name}: this backend cannot translate")
        sources = segments(sources, "sources")
        if indices is None:
            indices = range(first_index, first_index + len(sources))
        elif len(indices) != len(sources):
            raise OptionError(f"{len(indices)} indices for {len(sources)} sources")
        return self.backend.generate(sources, decoding,
                                     batch_size=check_batch_size(batch_size or self.batch_size),
                                     indices=list(indices))

    def translate(self, sources: Iterable[str], batch_size: Optional[int] = None,
                  n: Optional[int] = None, decoding: Union[str, Decoding, None] = None,
                  **options) -> Union[List[str], List[List[str]]]:
        """Translations: one string per source (greedy) when neither ``n`` nor ``decoding``
        is given, else a list of ``n`` candidates per source (see :meth:`generate`)."""
        found = self.generate(sources, decoding, n, batch_size, **options)
        if n is None and decoding is None:
            return [c[0].text for c in found]
        return [[c.text for c in per] for per in found]


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


def _sentence_score(method: str, aggregate: str, stats: TokenStats) -> float:
    values = orient(method, getattr(stats, METHOD_TABLE[method].statistic))
    return aggregate_scores(values, aggregate)


def load_model(name_or_dir: str, head: HeadSpec = None, lp: Optional[str] = None,
               device: Optional[str] = None, precision: str = "fp32", batch_size: int = 32,
               prompt_template: Optional[str] = None, include_eos: bool = True,
               trust_remote_code: bool = False, revision: Optional[str] = None,
               head_key: Optional[str] = None, allow_other_model: bool = False,
               prompt_style: Optional[str] = None, reverse_model: Optional[str] = None,
               reverse_head: HeadSpec = None, direction: Optional[str] = None,
               softmax_over: str = "shortlist") -> QEModel:
    """Load a model (Hugging Face name/dir, ``bergamot-en-pt``/``bergamot-pt-en``, or a Marian
    binary-model dir) and its head, ready to score.

    ``head`` is a head directory, a state-dict file (``head_key`` names its tensor),
    ``"untrained"`` or a :class:`SigmoidHead`; a head trained for another model is refused
    unless ``allow_other_model``. ``prompt_style`` names the input format of causal LMs
    (:mod:`sigmoid_qe.prompts`; default: the head's, else ``default``). ``trust_remote_code``
    stays off unless asked: a model repository's code runs with the user's rights.
    ``direction`` (forward, reverse, both; default: the head's) is what :meth:`QEModel.score`
    uses unless told otherwise; ``reverse_model`` / ``reverse_head`` name the opposite
    direction's model and head (default: see :func:`.directions.load_reverse`).
    ``softmax_over`` "shortlist" (default) normalises softmax statistics over the model's
    lexical shortlist plus the hypothesis tokens where it has one (Bergamot), as it decodes;
    "full" over the whole vocabulary.
    """
    check_batch_size(batch_size)
    if direction is not None:
        checked_direction(direction)
    backend, head = load_backend_and_head(
        name_or_dir, head, lp=lp, device=device, precision=precision,
        prompt_template=prompt_template, trust_remote_code=trust_remote_code, revision=revision,
        head_key=head_key, allow_other_model=allow_other_model, prompt_style=prompt_style)
    reverse_options = {"device": device, "precision": precision, "batch_size": batch_size,
                       "include_eos": include_eos, "trust_remote_code": trust_remote_code,
                       "softmax_over": softmax_over}
    if reverse_model is not None or reverse_head is not None:
        reverse_options.update(reverse_model=reverse_model, reverse_head=reverse_head)
    return QEModel(backend, head=head, batch_size=batch_size, include_eos=include_eos,
                   allow_other_model=allow_other_model, prompt_style=prompt_style,
                   reverse_options=reverse_options, direction=direction,
                   softmax_over=softmax_over)


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
    return QEModel(backend, head=reverse_head if reverse_head is not None else model.head,
                   batch_size=model.batch_size, include_eos=model.include_eos,
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
