"""Challenge sets for QE: one meaning-changing error put into a human translation.

A QE score is worth something when it prefers a correct translation to the same translation
with one error in it. This module makes such pairs for any language pair, from nothing but
parallel text: each perturbation changes exactly one thing and returns ``None`` when it cannot
apply (no number to change, no source to copy from, ...), so a benchmark never counts a
"perturbed" copy that is identical to the original.

Kinds (:data:`KINDS`):

* ``deletion``: one content word removed;
* ``number``: one number changed (a digit of "2016", or "two" -> "seven");
* ``negation``: a negation removed if there is one, else added;
* ``swap``: two different content words exchange places;
* ``replacement``: a content word replaced by a random word of a vocabulary the caller gives
  (e.g. :func:`build_vocabulary` over the corpus);
* ``untranslated``: a span of words replaced by the source words at the same relative position
  (the span left untranslated).

Everything is deterministic: the random choices of one call depend only on the seed, the kind
and the texts, never on call order, so a challenge set can be rebuilt exactly.

Each perturbation also says *where* it changed the text: ``spans``, character spans of the
perturbed text (``text[start:end]``) that hold the error, found by a word-level diff of the two
texts; a removed word (a deletion, a removed negation) leaves a zero-length span where it was,
as an omission. These are the synthetic error spans that error-span thresholds are
calibrated on.

>>> p = Perturber("pt", source_lang="en", seed=0)
>>> p.perturb("O gato comeu dois peixes.", "number").text
'O gato comeu ... peixes.'  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .wordlists import (
    LanguageProfile,
    delete_span,
    get_profile,
    match_case,
    register_language,
    words,
)

__all__ = [
    "KINDS",
    "LanguageProfile",
    "Perturbation",
    "Perturber",
    "build_vocabulary",
    "challenge_set",
    "get_profile",
    "perturb",
    "register_language",
]

KINDS = ("deletion", "number", "negation", "swap", "replacement", "untranslated")

#: A number written in digits ("4", "2016", "3.5", "1,200").
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
#: Any word or number token (for untranslated spans, which copy both).
SPAN_TOKEN_RE = re.compile(r"\w+(?:['’\-.,]\w+)*")


Span = Tuple[int, int]
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Perturbation:
    """A perturbed translation: the new ``text``, its ``kind``, a readable ``detail`` and the
    character ``spans`` of ``text`` that carry the error (zero-length: something removed)."""

    text: str
    kind: str
    detail: str = ""
    spans: Tuple[Span, ...] = ()


def changed_spans(original: str, perturbed: str) -> Tuple[Span, ...]:
    """Where ``perturbed`` differs from ``original``: character spans of ``perturbed``, from a
    diff of their whitespace-separated tokens (a token changed in part counts whole)."""
    a = list(_TOKEN.finditer(original))
    b = list(_TOKEN.finditer(perturbed))
    matcher = SequenceMatcher(None, [m.group() for m in a], [m.group() for m in b], autojunk=False)
    spans: List[Span] = []
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            spans.append((b[j1].start(), b[j2 - 1].end()))
        elif tag == "delete":
            at = b[j1].start() if j1 < len(b) else len(perturbed)
            spans.append((at, at))
    return tuple(spans)


def build_vocabulary(texts: Iterable[str], lang: str, min_count: int = 1) -> List[str]:
    """Lower-cased content words of ``texts`` seen at least ``min_count`` times, sorted (so the
    same corpus always gives the same vocabulary, whatever its order)."""
    profile = get_profile(lang)
    counts: Counter = Counter()
    for text in texts:
        counts.update(m.group().lower() for m in words(text) if profile.is_content(m.group()))
    return sorted(w for w, c in counts.items() if c >= min_count)


class Perturber:
    """Makes single-error copies of translations in language ``lang``.

    ``source_lang`` is needed only to tidy the case of copied source spans; ``vocabulary``
    only for ``replacement``. ``span_fraction``/``max_span`` size untranslated spans (a fifth
    of the words, 1 to 4 words by default).
    """

    def __init__(self, lang: str, source_lang: Optional[str] = None,
                 vocabulary: Iterable[str] = (), seed: int = 0,
                 profile: Optional[LanguageProfile] = None, source_profile: Optional[LanguageProfile] = None,
                 span_fraction: float = 0.2, max_span: int = 4):
        self.profile = profile or get_profile(lang)
        self.source_profile = source_profile or (get_profile(source_lang) if source_lang else None)
        self.vocabulary = sorted({w.lower() for w in vocabulary if self.profile.is_content(w)})
        self.seed = seed
        self.span_fraction = span_fraction
        self.max_span = max_span

    # -- public ---------------------------------------------------------------------------------
    def perturb(self, text: str, kind: str, source: Optional[str] = None) -> Optional[Perturbation]:
        """``text`` with one error of ``kind``, or None when that kind does not apply."""
        if kind not in KINDS:
            raise ValueError(f"unknown perturbation {kind!r}; choose one of {', '.join(KINDS)}")
        rng = self._rng(kind, text, source)
        rules = {"deletion": self._deletion, "number": self._number, "negation": self._negation,
                 "swap": self._swap, "replacement": self._replacement,
                 "untranslated": self._untranslated}
        result = rules[kind](text, rng, source)
        if result is None:
            return None
        new, detail = result[0], result[1]
        if new == text or not new.strip():
            return None
        spans = result[2] if len(result) > 2 else changed_spans(text, new)
        return Perturbation(new, kind, detail, spans)

    def perturb_all(self, text: str, source: Optional[str] = None,
                    kinds: Sequence[str] = KINDS) -> Dict[str, Perturbation]:
        """Every applicable kind for ``text``: {kind: perturbation}."""
        out = {}
        for kind in kinds:
            result = self.perturb(text, kind, source)
            if result is not None:
                out[kind] = result
        return out

    # -- internals ------------------------------------------------------------------------------
    def _rng(self, kind: str, text: str, source: Optional[str]) -> random.Random:
        """A generator seeded by (seed, kind, texts): independent of call order and of Python's
        per-process string hashing."""
        key = "\x00".join([str(self.seed), kind, text, source or ""]).encode("utf-8")
        return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))

    def _content(self, text: str) -> List[re.Match]:
        return [m for m in words(text) if self.profile.is_content(m.group())]

    def _deletion(self, text, rng, source):
        if len(words(text)) < 2:
            return None
        candidates = self._content(text)
        if not candidates:
            return None
        m = rng.choice(candidates)
        return delete_span(text, m.start(), m.end()), f"deleted {m.group()!r}"

    def _number(self, text, rng, source):
        digits = list(NUMBER_RE.finditer(text))
        named = [m for m in words(text) if m.group().lower() in self.profile.number_words]
        candidates = [(m, True) for m in digits] + [(m, False) for m in named]
        if not candidates:
            return None
        m, is_digits = candidates[rng.randrange(len(candidates))]
        old = m.group()
        if is_digits:
            positions = [i for i, ch in enumerate(old) if ch.isdigit()]
            pos = rng.choice(positions)
            leading = pos == positions[0] and len(positions) > 1
            choices = [d for d in ("123456789" if leading else "0123456789") if d != old[pos]]
            new = old[:pos] + rng.choice(choices) + old[pos + 1:]
        else:
            new = match_case(old, rng.choice(self.profile.number_words[old.lower()]))
        return text[:m.start()] + new + text[m.end():], f"{old!r} -> {new!r}"

    def _negation(self, text, rng, source):
        if self.profile.negation is None:
            return None
        return self.profile.negation(text, rng)

    def _swap(self, text, rng, source):
        all_words = words(text)
        candidates = [m for m in self._content(text) if m.start() != all_words[0].start()]
        pairs = [(a, b) for i, a in enumerate(candidates) for b in candidates[i + 1:]
                 if a.group().lower() != b.group().lower()]
        if not pairs:
            return None
        a, b = rng.choice(pairs)
        new = (text[:a.start()] + b.group() + text[a.end():b.start()] + a.group()
               + text[b.end():])
        moved = a.start() + len(b.group()) + (b.start() - a.end())  # where a's word lands
        spans = ((a.start(), a.start() + len(b.group())), (moved, moved + len(a.group())))
        return new, f"swapped {a.group()!r} and {b.group()!r}", spans

    def _replacement(self, text, rng, source):
        candidates = self._content(text)
        if not candidates or not self.vocabulary:
            return None
        m = rng.choice(candidates)
        old = m.group()
        for _ in range(20):  # the vocabulary may hold the word itself; a few tries are enough
            word = rng.choice(self.vocabulary)
            if word != old.lower():
                new = match_case(old, word)
                return text[:m.start()] + new + text[m.end():], f"{old!r} -> {new!r}"
        return None

    def _untranslated(self, text, rng, source):
        if not source or not source.strip():
            return None
        target = list(SPAN_TOKEN_RE.finditer(text))
        src = list(SPAN_TOKEN_RE.finditer(source))
        n, m = len(target), len(src)
        if n < 2 or m < 1:
            return None
        length = min(max(1, round(n * self.span_fraction)), self.max_span, n - 1)
        target_words = {t.group().lower() for t in target}
        starts = list(range(n - length + 1))
        rng.shuffle(starts)
        for i in starts:
            src_len = min(max(1, round(length * m / n)), m)
            j = min(round(i * m / n), m - src_len)
            copied = source[src[j].start():src[j + src_len - 1].end()]
            replaced = text[target[i].start():target[i + length - 1].end()]
            foreign = [s.group() for s in src[j:j + src_len] if s.group().lower() not in target_words]
            if copied.lower() == replaced.lower() or not any(c.isalpha() for w in foreign for c in w):
                continue  # the "untranslated" span would be a shared name or number
            copied = self._fit_case(copied, at_start=(i == 0), from_start=(j == 0))
            new = text[:target[i].start()] + copied + text[target[i + length - 1].end():]
            return new, f"{replaced!r} -> {copied!r} (from the source)"
        return None

    def _fit_case(self, span: str, at_start: bool, from_start: bool) -> str:
        """Capitalise a span that now starts the sentence; lower-case a source function word
        that was capitalised only because it started the source sentence."""
        if at_start:
            return span[:1].upper() + span[1:]
        first = span.split(" ")[0]
        if (from_start and self.source_profile is not None and first[:1].isupper()
                and first.lower() in self.source_profile.stopwords):
            return span[:1].lower() + span[1:]
        return span


def perturb(text: str, kind: str, lang: str, source: Optional[str] = None,
            vocabulary: Iterable[str] = (), seed: int = 0,
            source_lang: Optional[str] = None) -> Optional[Perturbation]:
    """One-off :meth:`Perturber.perturb` (build a :class:`Perturber` to perturb many texts)."""
    return Perturber(lang, source_lang=source_lang, vocabulary=vocabulary, seed=seed).perturb(
        text, kind, source)


def challenge_set(sources: Sequence[str], translations: Sequence[str], lang: str,
                  source_lang: Optional[str] = None, vocabulary: Optional[Iterable[str]] = None,
                  seed: int = 0, kinds: Sequence[str] = KINDS) -> List[Dict[str, object]]:
    """Every applicable single-error copy of every translation, as records
    ``{"index", "kind", "source", "original", "perturbed", "detail", "spans"}`` (translation
    order, then kind order). The replacement vocabulary defaults to the content words that
    occur at least twice in ``translations``."""
    if len(sources) != len(translations):
        raise ValueError(f"{len(sources)} sources but {len(translations)} translations")
    if vocabulary is None:
        vocabulary = build_vocabulary(translations, lang, min_count=2)
    perturber = Perturber(lang, source_lang=source_lang, vocabulary=vocabulary, seed=seed)
    records: List[Dict[str, object]] = []
    for index, (source, translation) in enumerate(zip(sources, translations)):
        for kind, p in perturber.perturb_all(translation, source, kinds).items():
            records.append({"index": index, "kind": kind, "source": source,
                            "original": translation, "perturbed": p.text, "detail": p.detail,
                            "spans": [list(span) for span in p.spans]})
    return records
