"""Where is the error? A word-level error model fitted on human error spans.

Thresholding one token statistic (the head's sigmoid, the softmax, the entropy) finds obvious
synthetic errors but not what expert annotators mark: real MT errors are dense, subtle and
often a wrong sense. This model reads every signal the scorer has for a word at once and gives
a calibrated probability that the word is inside a human error span:

* the word's tokens: min and mean of the head's sigmoid, the softmax probability and
  BoostedProb (in logs), and of the softmax entropy; how many subword tokens it has;
* its neighbours' sigmoid (errors come in runs) and its relative position;
* whether it was copied from the source verbatim and whether it holds a digit;
* the sentence: mean log softmax and log sigmoid over its tokens, its length in words;
* with ``reverse`` features, the opposite model's support for the source given the
  translation (mean and minimum over the source's tokens).

The model is a logistic regression on standardised features (plain numbers, stored in the
head's ``config.json`` under ``span_model``: no pickle). Spans are the maximal runs of words
whose probability reaches ``minor``; a run whose highest probability reaches ``major`` is a
major error; ``confidence`` is that highest probability. A sentence gate keeps false alarms
off clean sentences: no span at all unless some word reaches ``gate`` (>= ``minor``), so a
sentence is flagged on strong evidence and then every likely word in it is marked. The
thresholds are fitted on human spans and severities; fitting lives in
:mod:`sigmoid_qe.challenge.span_fitting`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .directions import reverse_side_warnings
from .errors import OptionError
from .spans import ErrorSpan, word_spans

Span = Tuple[int, int]
#: Token statistics the model reads (the fields of ``TokenScore`` it needs).
STATS = ("sigmoid", "softmax", "entropy", "boosted")
_LOG_FLOOR = 1e-6
_WORDLIKE = re.compile(r"\w", re.UNICODE)
_STRIP = re.compile(r"^\W+|\W+$", re.UNICODE)

#: Per-word features from the forward direction, in the order of the model's coefficients.
FORWARD_FEATURES = (
    "log_sigmoid_min", "log_sigmoid_mean", "log_softmax_min", "log_softmax_mean",
    "log_boosted_min", "log_boosted_mean", "entropy_max", "entropy_mean",
    "subwords", "prev_log_sigmoid", "next_log_sigmoid", "position",
    "copied", "digit", "sent_log_softmax", "sent_log_sigmoid", "sent_words",
)
#: Sentence features from the reverse direction (the source scored given the translation).
REVERSE_FEATURES = ("rev_log_sigmoid_mean", "rev_log_softmax_mean", "rev_log_sigmoid_min")
FEATURES = FORWARD_FEATURES + REVERSE_FEATURES


def _log(values: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(values, dtype=np.float64), _LOG_FLOOR, 1.0))


def _norm(word: str) -> str:
    return _STRIP.sub("", word).casefold()


@dataclass(frozen=True)
class TokenArrays:
    """One direction's scored tokens: character offsets, EOS flags and the statistics."""

    offsets: Sequence[Span]
    is_eos: Sequence[bool]
    stats: Mapping[str, Sequence[float]]

    @classmethod
    def from_tokens(cls, tokens, eos_id: int) -> TokenArrays:
        """From ``SegmentScore.tokens`` (each with every statistic of :data:`STATS`)."""
        return cls([(t.start, t.end) for t in tokens], [t.token_id == eos_id for t in tokens],
                   {s: [getattr(t, s) for t in tokens] for s in STATS})

    @classmethod
    def from_stats(cls, offsets: Sequence[Span], stats, eos_id: int) -> TokenArrays:
        """From scoring's per-segment ``TokenStats`` (with every statistic of :data:`STATS`)."""
        return cls(list(offsets), [t == eos_id for t in stats.token_ids],
                   {s: getattr(stats, s) for s in STATS})


def word_features(mt: str, source: str, forward: TokenArrays,
                  reverse: Optional[TokenArrays] = None) -> Tuple[List[Span], np.ndarray]:
    """The whitespace words of ``mt`` and their feature matrix [words, FEATURES] (the
    reverse columns are NaN without ``reverse``)."""
    words = word_spans(mt)
    content = [k for k, eos in enumerate(forward.is_eos) if not eos]
    offsets = [forward.offsets[k] for k in content]
    stats = {s: np.asarray([forward.stats[s][k] for k in content], dtype=np.float64) for s in STATS}
    logs = {s: _log(stats[s]) for s in ("sigmoid", "softmax", "boosted")}
    out = np.full((len(words), len(FEATURES)), np.nan)
    if not words:
        return words, out
    source_words = {_norm(w) for w in source.split()}
    sent = [float(np.mean(logs["softmax"])) if content else 0.0,
            float(np.mean(logs["sigmoid"])) if content else 0.0, math.log(len(words))]
    per_word_sig = np.zeros(len(words))
    for k, (start, end) in enumerate(words):
        found = [j for j, (a, b) in enumerate(offsets) if a < end and b > start]
        word = mt[start:end]
        row = out[k]
        if found:
            ls, lp, lb = logs["sigmoid"][found], logs["softmax"][found], logs["boosted"][found]
            ent = stats["entropy"][found]
            row[:8] = [ls.min(), ls.mean(), lp.min(), lp.mean(), lb.min(), lb.mean(),
                       ent.max(), ent.mean()]
        else:  # a word past a truncation: as sure as the model can be (no evidence)
            row[:8] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        per_word_sig[k] = row[0]
        row[8] = math.log1p(len(found))
        row[11] = k / max(1, len(words) - 1)
        norm = _norm(word)
        row[12] = float(bool(norm) and bool(_WORDLIKE.search(norm)) and norm in source_words)
        row[13] = float(any(c.isdigit() for c in word))
        row[14:17] = sent
    out[:, 9] = np.concatenate([[0.0], per_word_sig[:-1]])
    out[:, 10] = np.concatenate([per_word_sig[1:], [0.0]])
    if reverse is not None:
        rc = [k for k, eos in enumerate(reverse.is_eos) if not eos] or list(range(len(reverse.is_eos)))
        rs = _log([reverse.stats["sigmoid"][k] for k in rc])
        rp = _log([reverse.stats["softmax"][k] for k in rc])
        out[:, 17:20] = [float(rs.mean()), float(rp.mean()), float(rs.min())] if rc else 0.0
    return words, out


@dataclass
class SpanModel:
    """A fitted word-level error model: ``P(error) = sigmoid(((x - mean) / scale) . coef +
    intercept)`` over the named ``features``; spans from the ``minor`` / ``major``
    thresholds on that probability; ``gate``: no span in a sentence whose highest word
    probability is below it (0 = no gate)."""

    features: Tuple[str, ...]
    mean: Tuple[float, ...]
    scale: Tuple[float, ...]
    coef: Tuple[float, ...]
    intercept: float
    minor: float = 0.5
    major: float = 0.5
    gate: float = 0.0
    #: with spans, also mark the source words the translation leaves out (the reverse model
    #: reading the source given the translation: ``source_errors``), where one is available
    omissions: bool = False
    fitted_on: Dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.features = tuple(self.features)
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise OptionError(f"span model: unknown feature(s) {', '.join(unknown)}")
        sizes = {len(self.features), len(self.mean), len(self.scale), len(self.coef)}
        if len(sizes) != 1:
            raise OptionError("span model: features, mean, scale and coef differ in length")
        numbers = [*self.mean, *self.scale, *self.coef, self.intercept, self.minor, self.major,
                   self.gate]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   for v in numbers):
            raise OptionError("span model: every number must be finite")
        if any(v <= 0 for v in self.scale):
            raise OptionError("span model: scales must be positive")
        if not (0.0 <= self.minor <= 1.0 and self.minor <= self.major <= 1.0
                and self.gate <= 1.0):
            raise OptionError(f"span model: thresholds must satisfy 0 <= minor ({self.minor}) "
                              f"<= major ({self.major}) <= 1 and gate ({self.gate}) <= 1")

    @property
    def needs_reverse(self) -> bool:
        """Whether the model reads the reverse direction (the opposite model must score)."""
        return any(f in REVERSE_FEATURES for f in self.features)

    def columns(self) -> List[int]:
        return [FEATURES.index(f) for f in self.features]

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """P(error) of each row of a [words, FEATURES] matrix."""
        if len(matrix) == 0:
            return np.zeros(0)
        x = (matrix[:, self.columns()] - np.asarray(self.mean)) / np.asarray(self.scale)
        z = x @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def spans(self, mt: str, words: Sequence[Span], probs: Sequence[float]) -> List[ErrorSpan]:
        """Runs of words with P(error) >= ``minor`` (major when the run reaches ``major``)."""
        return spans_from_probabilities(mt, words, probs, self.minor, self.major, self.gate)

    def segment_errors(self, mt: str, source: str, forward: TokenArrays,
                       reverse: Optional[TokenArrays] = None) -> List[ErrorSpan]:
        """The error spans of one translation from its scored tokens."""
        if self.needs_reverse and reverse is None:
            raise OptionError("this span model reads the reverse direction: score it too")
        words, matrix = word_features(mt, source, forward, reverse)
        return self.spans(mt, words, self.probabilities(matrix))

    def to_dict(self) -> Dict[str, object]:
        return {"features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept,
                "minor": self.minor, "major": self.major, "gate": self.gate,
                "omissions": self.omissions, "fitted_on": dict(self.fitted_on)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SpanModel:
        try:
            return cls(tuple(data["features"]), tuple(float(v) for v in data["mean"]),
                       tuple(float(v) for v in data["scale"]), tuple(float(v) for v in data["coef"]),
                       float(data["intercept"]), float(data.get("minor", 0.5)),
                       float(data.get("major", 0.5)), float(data.get("gate", 0.0)),
                       _flag(data.get("omissions", False)), dict(data.get("fitted_on", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise OptionError(f"span model: malformed ({exc})") from None


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"span model: omissions must be true or false, got {value!r}")
    return value


def probability_runs(probs: Sequence[float], minor: float,
                     gate: float = 0.0) -> List[Tuple[int, int, float]]:
    """(first word, last word, highest probability) of each maximal run of consecutive words
    with probability >= ``minor``; none when no word of the sentence reaches ``gate``."""
    out: List[Tuple[int, int, float]] = []
    if len(probs) == 0 or max(probs) < gate:
        return out
    first = None
    for k, p in enumerate(list(probs) + [-math.inf]):  # the sentinel closes the last run
        if p >= minor and first is None:
            first = k
        elif p < minor and first is not None:
            out.append((first, k - 1, float(max(probs[first:k]))))
            first = None
    return out


def spans_from_probabilities(mt: str, words: Sequence[Span], probs: Sequence[float],
                             minor: float, major: float, gate: float = 0.0) -> List[ErrorSpan]:
    """The :func:`probability_runs` as spans: severity from the run's highest probability,
    confidence = that probability."""
    out: List[ErrorSpan] = []
    for first, last, top in probability_runs(probs, minor, gate):
        start, end = words[first][0], words[last][1]
        out.append(ErrorSpan(mt[start:end], start, end, "major" if top >= major else "minor",
                             round(top, 4)))
    return out


def reverse_arrays(qe, sources: Sequence[str], hypotheses: Sequence[str], batch_size: int,
                   progress, include_eos: bool) -> List[TokenArrays]:
    """The reverse direction's token arrays (the opposite model scoring each source given its
    translation), for a span model that reads them."""
    with reverse_side_warnings():
        result = qe.reverse.score(hypotheses, sources, method="sigmoid", aggregate="mean",
                                  extra_stats=["softmax"], batch_size=batch_size,
                                  progress=progress, include_eos=include_eos,
                                  check_direction=False, direction="forward")
    eos_id = qe.reverse.backend.eos_token_id
    return [TokenArrays([(t.start, t.end) for t in seg.tokens],
                        [t.token_id == eos_id for t in seg.tokens],
                        {s: [getattr(t, s) for t in seg.tokens] for s in ("sigmoid", "softmax")})
            for seg in result.segments]


def source_errors(qe, sources: Sequence[str], hypotheses: Sequence[str], span_threshold,
                  batch_size: int, progress, include_eos: bool) -> List[List[ErrorSpan]]:
    """Omissions: the source words the reverse model finds unsupported by the translation
    (its own spans, reading the source given the translation), per segment."""
    with reverse_side_warnings():
        result = qe.reverse.score(hypotheses, sources, spans=True, span_threshold=span_threshold,
                                  batch_size=batch_size, progress=progress,
                                  include_eos=include_eos, check_direction=False,
                                  direction="forward", omissions=False)
    return [seg.errors for seg in result.segments]
