"""Where is the error? Token scores -> word scores -> error spans, as XCOMET reports them.

* **Words** are the whitespace-delimited units of the hypothesis (:func:`word_spans`), or the
  tokens of a tokenisation a data set prescribes (:func:`align_words`). A word's score is the
  minimum of the scores of the subword tokens that overlap it (``word_aggregate``; the token
  spans partition the text, see :mod:`sigmoid_qe.offsets`).
* **Error spans** are the maximal runs of consecutive words scoring below the ``minor``
  threshold, merged across the whitespace between them; a run whose lowest word is below the
  ``major`` threshold is a major error, else a minor one. ``confidence`` says how far below
  the threshold the run's lowest word is, on the method's scale (1 = the lowest possible
  score). When the end-of-sentence token scores below ``minor``, a zero-length span at
  ``len(mt)`` marks an omission at the end, as WMT's task-2 scorer allows.

Spans follow XCOMET's conventions: ``{"text", "start", "end", "severity", "confidence"}``,
character offsets into ``mt``, end exclusive, ``mt[start:end] == text``. Thresholds are in the
oriented score scale of the method (higher = better); they are calibrated without human labels
on synthetic errors (:mod:`sigmoid_qe.challenge.span_calibration`) and stored in the head's config.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import OptionError, SigmoidQEWarning
from .methods import METHOD_TABLE

Span = Tuple[int, int]
_WORD = re.compile(r"\S+")
SEVERITIES = ("minor", "major")
WORD_AGGREGATES = ("min", "mean")
#: (minor, major) thresholds used when a head carries no calibration for a method (a warning
#: says so): ``Method.span_thresholds``.
DEFAULT_THRESHOLDS = {name: method.span_thresholds for name, method in METHOD_TABLE.items()}


@dataclass(frozen=True)
class ErrorSpan:
    """One predicted error (XCOMET's keys)."""

    text: str
    start: int
    end: int
    severity: str
    confidence: float

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SpanThresholds:
    """A word is an error below ``minor``; a span is major when its lowest word is below
    ``major`` (``major <= minor``). ``floor`` is the lowest score the method can give (0 for
    probabilities), for the confidence."""

    minor: float
    major: float
    word_aggregate: str = "min"
    floor: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.minor) and math.isfinite(self.major)):
            raise OptionError("span thresholds must be finite numbers")
        if self.major > self.minor:
            raise OptionError(f"the major threshold ({self.major}) must not be above the minor "
                              f"one ({self.minor})")
        if self.word_aggregate not in WORD_AGGREGATES:
            raise OptionError(f"word aggregate must be one of {', '.join(WORD_AGGREGATES)}")

    def to_dict(self) -> Dict[str, object]:
        return {"minor": self.minor, "major": self.major, "word_aggregate": self.word_aggregate}

    @classmethod
    def from_dict(cls, data: Dict[str, object], floor: float = 0.0) -> SpanThresholds:
        return cls(float(data["minor"]), float(data["major"]),
                   str(data.get("word_aggregate", "min")), floor)


def word_spans(text: str) -> List[Span]:
    """Character spans of the whitespace-delimited words of ``text``."""
    return [m.span() for m in _WORD.finditer(text)]


def align_words(text: str, words: Sequence[str]) -> List[Span]:
    """Character spans in ``text`` of a given tokenisation's words (e.g. a data set's Moses
    tokenised MT), found left to right; a word that cannot be found (the tokeniser escaped or
    changed it) gets the characters up to the next word that is found."""
    spans: List[Optional[Span]] = []
    cursor = 0
    lost = False  # after a word that was not found, the next one may skip its characters
    for word in words:
        start = text.find(word, cursor)
        if start < 0 or (text[cursor:start].strip() and not lost):
            spans.append(None)
            lost = True
            continue
        spans.append((start, start + len(word)))
        cursor = start + len(word)
        lost = False
    out: List[Span] = []
    for k, span in enumerate(spans):
        if span is not None:
            out.append(span)
            continue
        begin = out[-1][1] if out else 0
        following = next((s for s in spans[k + 1:] if s is not None), None)
        end = following[0] if following else len(text)
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        out.append((begin, end))
    return out


def word_scores(words: Sequence[Span], token_spans: Sequence[Span], values: Sequence[float],
                aggregate: str = "min") -> List[float]:
    """Score of each word: ``aggregate`` of the scores of the tokens that overlap it (NaN for
    a word no token covers, e.g. past a truncation)."""
    out: List[float] = []
    for start, end in words:
        if start < end:
            found = [v for (a, b), v in zip(token_spans, values) if a < end and b > start]
        else:  # an empty word (a tokenisation quirk): the token at its position
            found = [v for (a, b), v in zip(token_spans, values) if a <= start < b][:1]
        if not found:
            out.append(float("nan"))
        elif aggregate == "min":
            out.append(min(found))
        else:
            out.append(math.fsum(found) / len(found))
    return out


def error_spans(text: str, words: Sequence[Span], values: Sequence[float],
                eos_value: Optional[float], thresholds: SpanThresholds) -> List[ErrorSpan]:
    """The error spans of one hypothesis from its word scores (see the module docstring)."""
    spans: List[ErrorSpan] = []
    run: List[int] = []

    def close() -> None:
        if run:
            lowest = min(values[k] for k in run)
            start, end = words[run[0]][0], words[run[-1]][1]
            spans.append(ErrorSpan(text[start:end], start, end,
                                   "major" if lowest < thresholds.major else "minor",
                                   _confidence(lowest, thresholds)))
            run.clear()

    for k, value in enumerate(values):
        if not math.isnan(value) and value < thresholds.minor:
            run.append(k)
        else:
            close()
    close()
    if eos_value is not None and eos_value < thresholds.minor:
        spans.append(ErrorSpan("", len(text), len(text),
                               "major" if eos_value < thresholds.major else "minor",
                               _confidence(eos_value, thresholds)))
    return spans


def _confidence(value: float, thresholds: SpanThresholds) -> float:
    width = thresholds.minor - thresholds.floor
    if width <= 0:
        return 1.0
    return round(min(1.0, max(0.0, (thresholds.minor - value) / width)), 4)


def word_tags(text: str, words: Sequence[Span], token_spans: Sequence[Span],
              values: Sequence[float], is_eos: Sequence[bool], thresholds: SpanThresholds) -> List[str]:
    """OK/BAD per word (WMT word-level QE): BAD when the word scores below ``minor``."""
    content = [(span, value) for span, value, eos in zip(token_spans, values, is_eos) if not eos]
    per_word = word_scores(words, [s for s, _ in content], [v for _, v in content],
                           thresholds.word_aggregate)
    return ["BAD" if not math.isnan(v) and v < thresholds.minor else "OK" for v in per_word]


def segment_errors(text: str, token_spans: Sequence[Span], values: Sequence[float],
                   is_eos: Sequence[bool], thresholds: SpanThresholds,
                   words: Optional[Sequence[Span]] = None) -> List[ErrorSpan]:
    """Error spans of one hypothesis from its scored tokens (oriented token ``values``, the EOS
    flagged in ``is_eos``): words, their scores, their runs."""
    content = [(span, value) for span, value, eos in zip(token_spans, values, is_eos) if not eos]
    eos = [value for value, flag in zip(values, is_eos) if flag]
    words = word_spans(text) if words is None else words
    per_word = word_scores(words, [s for s, _ in content], [v for _, v in content],
                           thresholds.word_aggregate)
    return error_spans(text, words, per_word, eos[0] if eos else None, thresholds)


def resolve_thresholds(method: str, override=None, calibrated: Optional[Dict[str, object]] = None,
                       floor: float = 0.0, warned: Optional[set] = None) -> SpanThresholds:
    """The error-span thresholds for ``method``: ``override`` (a :class:`SpanThresholds`, a
    number: the minor threshold with major = ``floor``, or a (minor, major) pair), else the
    head's ``calibrated`` ones, else the method's default, with one warning per method (the
    methods warned about are kept in ``warned``)."""
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
    if calibrated:
        return SpanThresholds.from_dict(calibrated, floor)
    warned = set() if warned is None else warned
    if method not in warned:
        warned.add(method)
        warnings.warn(SigmoidQEWarning(
            f"no calibrated span thresholds for {method} with this head: using the default "
            f"{DEFAULT_THRESHOLDS[method]} (calibrate with: sigmoid-qe-calibrate --head DIR "
            f"--mqm SPANS.tsv, or --dev PAIRS.tsv without human spans)"), stacklevel=4)
    minor, major = DEFAULT_THRESHOLDS[method]
    return SpanThresholds(minor, major, "min", floor)
