"""Parallel training data: one TSV with a header naming the language columns, or two aligned
plain-text files.

Everything is read and checked before a model is loaded, so a typo in a path or a missing
column costs a second, not a model load. Errors are :class:`InputError`s that name the file
and line, which the CLI prints as one line (exit code 2).

TSV files are split on tabs only: no quoting, no escaping (a field starting with ``"`` is
taken literally), the way parallel corpora are usually written (:func:`sigmoid_qe.files.read_table`).
Every pair keeps where it came from (file and line), so that a warning about it (an
over-long pair, say) names the line an editor shows.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..errors import InputError, SigmoidQEWarning
from ..files import PathLike, parse_table, read_lines
from ..languages import split_lp

_LANG_SUFFIX = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]+)?$")


@dataclass
class ParallelTable:
    """Columns of aligned text read from one TSV or two plain files, before a direction is
    picked. ``columns`` keeps the file's order; ``files`` are the paths read."""

    columns: Dict[str, List[str]]
    files: List[str]
    #: 1-based line number in the file of each row (TSV: header is line 1), for messages.
    line_numbers: List[int] = field(default_factory=list)
    is_tsv: bool = False

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def select(self, lp: Optional[str]) -> ParallelData:
        """Source and target sides for the language pair ``lp`` ("en-pt": en is the source).

        Without ``lp``: a TSV needs exactly two columns other than metadata, two plain files
        are taken as (source, target) in the order given.
        """
        names = list(self.columns)
        src, tgt = split_lp(lp)
        if src is None:
            if not self.is_tsv:
                src_col, tgt_col = names[0], names[1]
            else:
                raise InputError("give the direction with --lp xx-yy (columns: "
                                 f"{', '.join(names)})", self.files[0])
        elif self.is_tsv:
            missing = [code for code in (src, tgt) if code not in self.columns]
            if missing:
                raise InputError(f"no column named {missing[0]!r} in the header "
                                 f"(columns: {', '.join(names)})", self.files[0], 1)
            src_col, tgt_col = src, tgt
        else:
            # Two files: their suffixes name the languages when they look like codes
            # (train.en / train.pt); otherwise the order given is (source, target).
            if src in self.columns and tgt in self.columns and src != tgt:
                src_col, tgt_col = src, tgt
            else:
                src_col, tgt_col = names[0], names[1]
        sources, targets = self.columns[src_col], self.columns[tgt_col]
        keep, dropped = [], []
        for i, (s, t) in enumerate(zip(sources, targets)):
            (keep if s.strip() and t.strip() else dropped).append(i)
        if not keep:
            raise InputError("no pair with both sides non-empty", ", ".join(self.files))
        if dropped:
            warnings.warn(SigmoidQEWarning(
                f"{', '.join(self.files)}: {len(dropped)} pair(s) with an empty side skipped "
                f"(the first at line {self.line_numbers[dropped[0]]})"), stacklevel=2)
        numbers = self.line_numbers or list(range(1, len(sources) + 1))
        return ParallelData(sources=[sources[i] for i in keep], targets=[targets[i] for i in keep],
                            files=list(self.files), lp=f"{src_col}-{tgt_col}" if lp is None else lp,
                            line_numbers=[numbers[i] for i in keep])


@dataclass
class ParallelData:
    """(source, reference translation) pairs in one direction."""

    sources: List[str]
    targets: List[str]
    files: List[str]
    lp: Optional[str] = None
    #: 1-based line of each pair in its file(s) (TSV: the header is line 1).
    line_numbers: List[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)

    def location(self, side: str, index: int) -> str:
        """"train.tsv:57" for pair ``index``: its line in the file holding that ``side``
        ("source" or "translation"/"target")."""
        path = self.files[-1] if side != "source" and len(self.files) > 1 else self.files[0]
        line = self.line_numbers[index] if index < len(self.line_numbers) else index + 1
        return f"{path}:{line}"

    def file_records(self) -> List[Dict[str, Optional[str]]]:
        """Path and sha256 of every file read, for the head's config.json (sha256 None for a
        path that is not a file, e.g. data built in memory)."""
        return [{"path": str(path), "sha256": sha256_file(path) if Path(path).is_file() else None}
                for path in self.files]

    def content_sha256(self) -> str:
        """sha256 of the pairs themselves, in this direction: identifies the data even when it
        did not come from files, or came from a file that has since changed."""
        digest = hashlib.sha256()
        for source, target in zip(self.sources, self.targets):
            digest.update(source.encode("utf-8") + b"\t" + target.encode("utf-8") + b"\n")
        return digest.hexdigest()


def sha256_file(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_parallel(paths: Union[PathLike, Sequence[PathLike]]) -> ParallelTable:
    """Read one TSV (header = column names) or two aligned plain-text files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [str(p) for p in paths]
    if len(paths) == 1:
        return _read_tsv(paths[0])
    if len(paths) == 2:
        return _read_two_files(paths[0], paths[1])
    raise InputError(f"expected one TSV file or two aligned files, got {len(paths)} paths")


def load_parallel(paths: Union[PathLike, Sequence[PathLike]], lp: Optional[str]) -> ParallelData:
    """:func:`read_parallel` then :meth:`ParallelTable.select` in one call."""
    return read_parallel(paths).select(lp)


def _read_tsv(path: str) -> ParallelTable:
    lines = read_lines(path)  # missing / empty / non-UTF-8 files fail here, with the line
    header = [name.strip() for name in lines[0].split("\t")]
    if len(header) < 2 or any(not name for name in header):
        raise InputError("the first line must be a header naming the columns, tab-separated "
                         "(e.g. 'en<TAB>pt')", path, 1)
    if len(lines) < 2:
        raise InputError("no data rows after the header", path)
    table = parse_table(lines, path)
    if not table.rows:
        raise InputError("no data rows after the header", path)
    columns: Dict[str, List[str]] = {name: [] for name in table.header}
    for _, fields in table.rows:
        for name, value in zip(table.header, fields):
            columns[name].append(value)
    return ParallelTable(columns, [path], [number for number, _ in table.rows], is_tsv=True)


def _read_two_files(source_path: str, target_path: str) -> ParallelTable:
    sources = read_lines(source_path)
    targets = read_lines(target_path)
    if len(sources) != len(targets):
        raise InputError(f"has {len(targets)} lines but {source_path} has {len(sources)}: the "
                         f"two files must be line-aligned", target_path)
    names = [_language_of(source_path), _language_of(target_path)]
    if names[0] is None or names[1] is None or names[0] == names[1]:
        names = ["source", "target"]
    return ParallelTable({names[0]: sources, names[1]: targets}, [source_path, target_path],
                         list(range(1, len(sources) + 1)), is_tsv=False)


def _language_of(path: str) -> Optional[str]:
    """"train.en" -> "en"; None when the suffix does not look like a language code."""
    suffix = Path(path).suffix.lstrip(".")
    return suffix if suffix and _LANG_SUFFIX.match(suffix) and suffix not in ("txt", "tsv") else None
