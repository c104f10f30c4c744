"""Character offsets of subword tokens in the text they came from, and spelling repairs.

Every scored token of a hypothesis gets a character span ``(start, end)`` such that the spans
of its content tokens, in order, *partition* the text: they are contiguous, never overlap, and
every character belongs to exactly one of them (:func:`partition`). ``text[start:end]`` is
then what the token stands for, ``<unk>`` tokens included (they cover the characters the
tokenizer could not spell), and whitespace belongs to the token after it, as SentencePiece's
``▁`` says. EOS gets the empty span at the end. Error spans are built on this.

Where the offsets come from:

* SentencePiece (Marian, Bergamot): its own byte offsets into the input, which track its
  normalisation (NFKC compatibility forms, NFD accents, zero-width characters) exactly;
* fast Hugging Face tokenizers: their offset mapping;
* slow tokenizers: :func:`align_pieces`, a greedy search of each piece's text.

:class:`Respeller` repairs what a tokenizer's own normalisation misses: a character the model
cannot spell (it would become ``<unk>``) is replaced, for the model only, by an equivalent the
model knows, found by Unicode normalisation (NFKC; NFKD without combining marks) or a small
table of typographic equivalents (curly quotes, dashes, ellipsis, non-breaking spaces). The
offsets still point into the user's text.

Invisible format characters (Unicode category Cf: zero-width space and joiners, bidi marks,
overrides and isolates, word joiner, BOM, soft hyphen, ...) are dropped for the model, in the
hypothesis and the source alike: a tokenizer either splits a word at them (``da\u200bta`` ->
``▁da ▁ta``) or reads them as ``<unk>``, and either sinks a correct translation although the
reader sees nothing. The token of the character before (or after) covers them in the offsets.
"""
from __future__ import annotations

import unicodedata
from typing import Callable, Dict, List, Optional, Sequence, Tuple

Span = Tuple[int, int]

#: Word-boundary markers that tokenizers put in piece strings but not in the text.
_MARKERS = ("\u2581", "\u0120", "\u010a")  # SentencePiece '▁', GPT-2 'Ġ' (space), 'Ċ' (newline)

#: Typographic characters and their plain equivalents (what a model's vocabulary usually has).
TYPOGRAPHIC = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00ad": "", "\u2044": "/", "\u2215": "/",
    "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ",
}


def is_format(ch: str) -> bool:
    """Whether ``ch`` is an invisible format character (category Cf), dropped for the model."""
    return unicodedata.category(ch) == "Cf"


def without_format(text: str) -> str:
    """``text`` without its format characters (see the module docstring): what a model reads
    of a source (which needs no offsets)."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if not is_format(ch))


def piece_surface(piece: str) -> str:
    """The text a piece stands for, without word-boundary markers or '##' continuation."""
    surface = piece
    for marker in _MARKERS:
        surface = surface.replace(marker, " ")
    if surface.startswith("##"):
        surface = surface[2:]
    return surface.strip()


def align_pieces(text: str, pieces: Sequence[str]) -> List[Span]:
    """Greedy left-to-right alignment of ``pieces`` to ``text`` (for slow tokenizers).

    Each piece is searched from the end of the previous one; a piece that cannot be found
    (byte fallback, normalised characters, <unk>) gets an empty span at the cursor, which
    :func:`partition` then widens over the characters nobody claimed.
    """
    spans: List[Span] = []
    cursor = 0
    lost = False  # the previous piece was not found: the next one may skip its characters
    for piece in pieces:
        surface = piece_surface(piece)
        if not surface:
            spans.append((cursor, cursor))
            lost = lost or piece not in ("", "\u2581")
            continue
        start = text.find(surface, cursor)
        # Do not jump ahead over text for a piece that merely occurs later in the text.
        if start < 0 or (text[cursor:start].strip() and not lost):
            spans.append((cursor, cursor))
            lost = True
            continue
        end = start + len(surface)
        spans.append((start, end))
        cursor = end
        lost = False
    return spans


def partition(text: str, spans: Sequence[Span]) -> List[Span]:
    """Spans that partition ``text``, in token order, from raw token spans.

    Each token starts where its raw span starts (made monotone) and ends where the next one
    starts; whitespace between two tokens goes to the one after it (as SentencePiece's "▁"
    does), the first token also takes what comes before it and the last what comes after. A
    token :func:`align_pieces` could not place sits at the end of the previous one, so it takes
    the characters nobody claimed. No spans for an empty list.
    """
    if not spans:
        return []
    length = len(text)
    starts: List[int] = []
    floor = 0
    for k, (start, _) in enumerate(spans):
        start = min(max(start, floor), length)
        if k:
            before = min(max(spans[k - 1][1], starts[-1]), start)
            if text[before:start].isspace():
                start = before
        starts.append(start)
        floor = start
    starts[0] = 0
    return list(zip(starts, starts[1:] + [length]))


def byte_to_char(text: str) -> List[int]:
    """``index[b]`` = the character that byte ``b`` of ``text.encode()`` belongs to
    (``index[len(bytes)]`` = ``len(text)``)."""
    index: List[int] = []
    for k, ch in enumerate(text):
        index.extend([k] * len(ch.encode("utf-8")))
    index.append(len(text))
    return index


class Respeller:
    """Replaces characters a model cannot spell by equivalents it can (see the module
    docstring); ``known(text)`` says whether the model spells ``text`` without ``<unk>``."""

    def __init__(self, known: Callable[[str], bool]):
        self.known = known
        self._cache: Dict[str, Optional[str]] = {}

    def _replacement(self, ch: str) -> Optional[str]:
        if ch in self._cache:
            return self._cache[ch]
        found: Optional[str] = None
        if not (ch.isspace() or self.known(ch)):
            if ch in TYPOGRAPHIC:  # an explicit equivalent (possibly a space, or nothing)
                found = TYPOGRAPHIC[ch] if TYPOGRAPHIC[ch] in ("", " ") or self.known(
                    TYPOGRAPHIC[ch]) else None
            else:  # a normalisation, if it leaves a visible character the model can write
                for form in (unicodedata.normalize("NFKC", ch),
                             "".join(c for c in unicodedata.normalize("NFKD", ch)
                                     if not unicodedata.combining(c))):
                    # '½' -> '1⁄2' -> '1/2': the typographic table applies inside a form too
                    candidate = "".join(TYPOGRAPHIC.get(c, c) for c in form)
                    if candidate != ch and candidate.strip() == candidate and candidate \
                            and self.known(candidate):
                        found = candidate
                        break
        self._cache[ch] = found
        return found

    def respell(self, text: str) -> Tuple[str, List[int]]:
        """(text for the model, ``origin[i]`` = the user's character behind model char i,
        with ``origin[len]`` = ``len(text)``). Format characters are dropped; otherwise a
        text the model spells as it is stays as it is: a character unknown on its own may be
        known inside a word (word-level and merge-only vocabularies)."""
        if text.isascii() or (self.known(text) and text == without_format(text)):
            return text, list(range(len(text) + 1))
        out: List[str] = []
        origin: List[int] = []
        for k, ch in enumerate(text):
            new = "" if is_format(ch) else self._replacement(ch)
            new = ch if new is None else new
            out.append(new)
            origin.extend([k] * len(new))
        origin.append(len(text))
        return "".join(out), origin


def map_spans(spans: Sequence[Span], origin: Sequence[int]) -> List[Span]:
    """Spans over a respelled text -> spans over the user's text."""
    return [(origin[start], origin[end - 1] + 1 if end > start else origin[start])
            for start, end in spans]
