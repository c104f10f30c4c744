"""MQM mode: translations with human error spans as extra training pairs.

The paper's MQM mode (Dinh & Niehues 2026) teaches the head what people mark as wrong: in a
translation annotated with MQM error spans, every target token that overlaps a (non-neutral)
span is a *negative* with a large weight (``error_weight``, 10 by default), and every other
token keeps the usual treatment: a positive, with the sampled unigram and softmax negatives.
At an error position the sampled negatives stay too (they are still wrong at that position);
only the translation's own token changes side, from positive to weighted negative.

Files are read with :func:`sigmoid_qe.metaeval.spans.read_gold`, the reader the span
evaluation uses (BioMQM tables with ``source, target, error_spans``; TSV or JSON with
``src, mt, errors``), so ``neutral`` spans are dropped and malformed spans are refused with
the file and row in the same way. Zero-length spans (an omission marked between two
characters) mark no token: the words around a gap are not themselves wrong.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..errors import InputError
from ..files import PathLike, read_table
from ..metaeval.spans import read_gold
from .data import sha256_file

Span = Tuple[int, int, str]

#: The paper's weight of a token inside a human error span.
DEFAULT_ERROR_WEIGHT = 10.0


@dataclass
class MQMData:
    """(source, translation, error spans) rows from MQM files, in the order read.

    Offers ``sources``, ``targets`` and :meth:`location` like
    :class:`~sigmoid_qe.training.data.ParallelData`, so the same encoder (and its warnings
    naming the row) serves both.
    """

    sources: List[str]
    targets: List[str]
    spans: List[Tuple[Span, ...]]
    files: List[str]
    #: (file, 1-based data row) of each row, for messages
    rows: List[Tuple[str, int]] = field(default_factory=list)
    error_weight: float = DEFAULT_ERROR_WEIGHT
    #: per file: the language pairs its ``lp`` column names (BioMQM tables), else none
    lps: Dict[str, List[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sources)

    def location(self, side: str, index: int) -> str:
        """"file: row 12" for row ``index`` (``side`` is accepted for the encoder's sake)."""
        path, row = self.rows[index] if index < len(self.rows) else (self.files[0], index + 1)
        return f"{path}: row {row}"

    def check_direction(self, lp: Optional[str]) -> None:
        """Refuse a file whose ``lp`` column names only other directions than the head's:
        its error spans would teach the head about another language's tokens."""
        for path, found in self.lps.items():
            if lp and found and lp not in found:
                raise InputError(f"its rows are {', '.join(found)} (lp column), but the head is "
                                 f"trained for {lp}", path)

    def content_sha256(self) -> str:
        """sha256 of the rows and their spans: what the run learned from, whatever the files."""
        digest = hashlib.sha256()
        for source, target, spans in zip(self.sources, self.targets, self.spans):
            digest.update(json.dumps([source, target, [list(s) for s in spans]],
                                     ensure_ascii=False).encode("utf-8") + b"\n")
        return digest.hexdigest()

    def record(self, error_tokens: Optional[int] = None, tokens: Optional[int] = None) -> Dict:
        """What the head's config.json says about the human labels it was trained with."""
        files = [{"path": path, "sha256": sha256_file(path) if os.path.isfile(path) else None,
                  "rows": sum(1 for p, _ in self.rows if p == path)} for path in self.files]
        out = {"mode": "mqm", "files": files, "rows": len(self), "rows_sha256": self.content_sha256(),
               "error_spans": sum(len(s) for s in self.spans), "error_weight": self.error_weight}
        if tokens is not None:
            out.update(tokens=tokens, error_tokens=error_tokens)
        return out


def read_mqm(paths: Union[PathLike, Sequence[PathLike]],
             error_weight: float = DEFAULT_ERROR_WEIGHT) -> MQMData:
    """Read and check MQM span files before any model is loaded.

    A malformed span (out of the text, crossing another, unknown severity) is refused by the
    reader with the file and row; so is a row with an empty source or translation (nothing
    to condition on, or nothing to label), and a file without rows.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not error_weight > 0:
        raise InputError(f"the MQM error weight must be > 0, got {error_weight}")
    data = MQMData([], [], [], [str(p) for p in paths], error_weight=error_weight)
    for path in data.files:
        rows = read_gold(path)
        if not rows:
            raise InputError("no rows (an MQM table with source, target, error_spans, or "
                             "src, mt, errors records)", path)
        for number, (source, target, spans) in enumerate(rows, start=1):
            if not source.strip():
                raise InputError(f"row {number}: empty source (MQM rows need the source "
                                 "sentence: src / source)", path)
            if not target.strip():
                raise InputError(f"row {number}: empty translation", path)
            data.sources.append(source)
            data.targets.append(target)
            data.spans.append(spans)
            data.rows.append((path, number))
        if not path.endswith((".json", ".jsonl")):
            table = read_table(path)
            if "lp" in table.header:
                k = table.column("lp")
                data.lps[path] = sorted({fields[k].strip() for _, fields in table.rows} - {""})
    return data


def token_errors(offsets: Sequence[Tuple[int, int]], spans: Sequence[Span],
                 text: Optional[str] = None) -> List[bool]:
    """True for each token (its character ``offsets`` in the translation) that overlaps an
    error span. Empty tokens (the end of sentence) and zero-length spans never overlap.

    With ``text``, a token's whitespace is not part of it: tokenizers give a word the space
    before it, and a span that ends with a space (annotators' selections often do) must not
    mark the next word.
    """
    marked = [(s, e) for s, e, *_ in spans if e > s]
    out = []
    for a, b in offsets:
        if text is not None:
            piece = text[a:b]
            a, b = a + len(piece) - len(piece.lstrip()), a + len(piece.rstrip())
        out.append(b > a and any(a < e and b > s for s, e in marked))
    return out
