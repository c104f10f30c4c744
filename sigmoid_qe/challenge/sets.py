"""The comparisons a QE score is judged on, built from parallel text with :mod:`.perturb`.

* **Error detection**: each human translation against each of its single-error copies; a
  score is right when it puts the original strictly above the copy (a tie is a miss).
* **Alternative tolerance**: for a source with two (or more) distinct human translations A and
  B, A is perturbed into A'; a score is right when *both* A and B are strictly above A'. A
  softmax splits its mass between valid alternatives, so it tends to put B below A' when B is
  not the model's favourite: this is the case the Sigmoid Head is meant to fix.

The functions return plain tuples of (source, translation) pairs, so that every distinct pair
can be scored once and every method judged on the same items.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from .perturb import KINDS, Perturber, Span, build_vocabulary

Pair = Tuple[str, str]


@dataclass(frozen=True)
class Detection:
    """An original translation and one single-error copy of it."""

    kind: str
    original: Pair
    perturbed: Pair
    spans: Tuple[Span, ...] = ()


@dataclass(frozen=True)
class Tolerance:
    """Two valid translations A and B of one source, and A with one error (A')."""

    kind: str
    a: Pair
    b: Pair
    perturbed: Pair


def alternatives(pairs: Iterable[Pair]) -> List[Tuple[str, List[str]]]:
    """(source, its distinct translations in corpus order) for sources translated 2+ times."""
    groups: OrderedDict[str, List[str]] = OrderedDict()
    for source, translation in pairs:
        found = groups.setdefault(source, [])
        if translation not in found:
            found.append(translation)
    return [(s, t) for s, t in groups.items() if len(t) >= 2]


def detection_items(pairs: Sequence[Pair], lang: str, source_lang: str, seed: int = 0,
                    kinds: Sequence[str] = KINDS, vocabulary: Sequence[str] = ()) -> List[Detection]:
    """Every applicable single-error copy of every translation (replacement words from
    ``vocabulary``, by default the content words seen twice in the translations)."""
    vocabulary = list(vocabulary) or build_vocabulary([t for _, t in pairs], lang, min_count=2)
    perturber = Perturber(lang, source_lang=source_lang, seed=seed, vocabulary=vocabulary)
    out = []
    for source, translation in pairs:
        for kind, p in perturber.perturb_all(translation, source, kinds).items():
            out.append(Detection(kind, (source, translation), (source, p.text), p.spans))
    return out


def tolerance_items(groups: Sequence[Tuple[str, List[str]]], lang: str, source_lang: str,
                    seed: int = 0, kinds: Sequence[str] = KINDS,
                    vocabulary: Sequence[str] = ()) -> List[Tolerance]:
    """For each source with translations A, B, ...: A perturbed in every applicable way."""
    vocabulary = list(vocabulary) or build_vocabulary(
        [t for _, ts in groups for t in ts], lang, min_count=2)
    perturber = Perturber(lang, source_lang=source_lang, seed=seed, vocabulary=vocabulary)
    out = []
    for source, translations in groups:
        a, b = translations[0], translations[1]
        for kind, p in perturber.perturb_all(a, source, kinds).items():
            out.append(Tolerance(kind, (source, a), (source, b), (source, p.text)))
    return out


def scored_pairs(detection: Sequence[Detection], tolerance: Sequence[Tolerance] = ()) -> List[Pair]:
    """Every distinct pair the items compare, in first-seen order (score each once)."""
    pairs = [p for d in detection for p in (d.original, d.perturbed)]
    pairs += [p for t in tolerance for p in (t.a, t.b, t.perturbed)]
    return list(dict.fromkeys(pairs))


def detection_accuracy(score: Mapping[Pair, float], items: Sequence[Detection],
                       kinds: Sequence[str] = KINDS) -> Dict[str, float]:
    """{kind: accuracy} plus "all" (micro) and "mean" (macro over the kinds present)."""
    out: Dict[str, float] = {}
    hits_all: List[bool] = []
    for kind in kinds:
        hits = [score[d.original] > score[d.perturbed] for d in items if d.kind == kind]
        out[kind] = float(np.mean(hits)) if hits else float("nan")
        hits_all += hits
    out["all"] = float(np.mean(hits_all)) if hits_all else float("nan")
    present = [out[k] for k in kinds if not np.isnan(out[k])]
    out["mean"] = float(np.mean(present)) if present else float("nan")
    return out


def tolerance_accuracy(score: Mapping[Pair, float], items: Sequence[Tolerance],
                       kinds: Sequence[str] = KINDS) -> Dict[str, float]:
    """{kind: share with both A and B above A'} plus "a" (A > A'), "b" (B > A') and "both"."""
    out: Dict[str, float] = {}
    for kind in kinds:
        both = [score[t.a] > score[t.perturbed] and score[t.b] > score[t.perturbed]
                for t in items if t.kind == kind]
        out[kind] = float(np.mean(both)) if both else float("nan")
    a = [score[t.a] > score[t.perturbed] for t in items]
    b = [score[t.b] > score[t.perturbed] for t in items]
    for name, hits in (("a", a), ("b", b), ("both", [x and y for x, y in zip(a, b)])):
        out[name] = float(np.mean(hits)) if hits else float("nan")
    return out
