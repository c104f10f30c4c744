"""The mt-metrics-eval layout: score files and one language pair of a test set.

mt-metrics-eval (the WMT metrics task's tool) keeps a test set as folders of plain files:
``sources/LP.txt``, ``references/LP.REF.txt``, ``system-outputs/LP/SYSTEM.txt``,
``documents/LP.docs``, ``human-scores/LP.GOLD.LEVEL.score`` and
``metric-scores/LP/NAME-REF.LEVEL.score`` (one ``SYSTEM<ws>SCORE`` line per segment, one block
per system, in source order; ``None`` = no human score). :class:`MtmeLp` reads them lazily into
``{system: np.ndarray}`` maps, which is what the evaluation works on; :func:`load_mtme` gives
the same data as a tidy table (see :mod:`.loaders`).
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import PathLike, read_lines, read_text, split_lines

#: The columns of every loader's table (see :mod:`.loaders`).
BASE_COLUMNS = ["lp", "system", "seg", "doc", "domain", "source", "hypothesis", "reference", "human"]
# mt-metrics-eval writes this line where a system produced no translation.
NO_TRANSLATION = "[No translation supplied]"
LEVELS = ("seg", "sys", "domain", "doc")


# ----------------------------------------------------------------------------------------
# plain files


def read_text_lines(path: PathLike) -> List[Optional[str]]:
    """A segment file as mt-metrics-eval reads it: right-stripped lines, ``None`` for the
    no-translation marker."""
    return [None if line.rstrip() == NO_TRANSLATION else line.rstrip()
            for line in read_lines(path, allow_empty=True)]


def parse_float(token: str, path: PathLike, line: int, allow_none: bool = False,
                what: str = "score") -> float:
    """A finite number from one cell; anything else is an error naming file, line and ``what``
    (the cell: "score", "column 3:"). "None" is NaN where ``allow_none`` (mt-metrics-eval's
    marker of a missing score)."""
    if token == "None" and allow_none:
        return math.nan
    if token == "None" and what == "score":
        raise InputError("missing score 'None' in a metric score file", path, line)
    try:
        value = float(token)
    except ValueError:
        raise InputError(f"{what} {token!r} is not a number", path, line) from None
    if not math.isfinite(value):
        raise InputError(f"{what} {token!r} is not a finite number", path, line)
    return value


def _score_lines_slow(path: PathLike, text: str, fields: int, allow_none: bool):
    """Line-by-line parse that pinpoints the first malformed line."""
    keys: List[Tuple[str, ...]] = []
    values: List[float] = []
    for number, line in enumerate(split_lines(text), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != fields:
            what = " ".join(["DOMAIN"] * (fields == 3) + ["SYSTEM", "SCORE"])
            raise InputError(f"expected {fields} fields ({what}), found {len(parts)}", path, number)
        keys.append(tuple(parts[:-1]))
        values.append(parse_float(parts[-1], path, number, allow_none))
    return keys, np.array(values, dtype=np.float64)


_SMALL_FILE = 8192  # bytes; below this a plain Python parse beats pandas' start-up cost


def _score_columns(path: PathLike, fields: int, allow_none: bool):
    """(key columns, float scores) of a whitespace-separated score file, fast when well-formed.

    Large files go through pandas' C parser (system names read as categories, so grouping
    them costs nothing); anything odd falls back to the line-by-line parse, which names the
    first bad line.
    """
    text = read_text(path)
    if len(text) > _SMALL_FILE:
        parsed = _score_columns_fast(text, fields, allow_none)
        if parsed is not None:
            return parsed
    keys, values = _score_lines_slow(path, text, fields, allow_none)
    columns = [list(k) for k in zip(*keys)] if keys else [[] for _ in range(fields - 1)]
    return columns, values


def _score_columns_fast(text: str, fields: int, allow_none: bool):
    names = [f"k{i}" for i in range(fields - 1)] + ["score"]
    sep = "\t" if "\t" in text[:200] and " " not in text[:200] else r"\s+"
    try:
        with warnings.catch_warnings():
            # pandas only warns when every line has too many fields: treat it as malformed
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=names,
                                index_col=False,
                                dtype={**{n: "category" for n in names[:-1]}, "score": np.float64},
                                na_values={"score": ["None"]}, keep_default_na=False,
                                quoting=csv.QUOTE_NONE, engine="c")
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, TypeError):
        return None
    scores = frame["score"].to_numpy(dtype=np.float64)
    if not np.isfinite(scores).all():
        # a NaN is a 'None' or a line without a score; only the first may be accepted
        if not allow_none or np.isinf(scores).any() \
                or text.count("None") != int(np.isnan(scores).sum()):
            return None
    keys = [frame[n] for n in names[:-1]]
    if any(k.isna().any() for k in keys):
        return None
    return keys, scores


def read_score_file(path: PathLike, allow_none: bool = True) -> Dict[str, np.ndarray]:
    """``SYSTEM<ws>SCORE`` lines into ``{system: scores in file order}``.

    Each system's lines are taken in order of appearance (normally one block per system).
    ``None`` means no score (NaN), allowed in human score files only.
    """
    (systems,), scores = _score_columns(path, 2, allow_none)
    if not len(scores):
        return {}
    if isinstance(systems, pd.Series):
        codes = systems.cat.codes.to_numpy()
        names = list(systems.cat.categories)
    else:
        names, codes = np.unique(np.asarray(systems, dtype=object), return_inverse=True)
        codes = codes.ravel()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return {str(name): scores[order[bounds[k]:bounds[k + 1]]] for k, name in enumerate(names)}


def read_domain_score_file(path: PathLike, domains: Sequence[str],
                           allow_none: bool = True) -> Dict[str, np.ndarray]:
    """``DOMAIN SYSTEM SCORE`` lines into ``{system: scores in the order of domains}``."""
    (domain_col, systems), scores = _score_columns(path, 3, allow_none)
    domain_col, systems = list(map(str, domain_col)), list(map(str, systems))
    index = {d: i for i, d in enumerate(domains)}
    out: Dict[str, np.ndarray] = {}
    seen: Dict[Tuple[str, str], int] = {}
    for number, (domain, system, score) in enumerate(zip(domain_col, systems, scores), start=1):
        if domain not in index:
            raise InputError(f"unknown domain {domain!r} (known: {', '.join(domains)})", path,
                             number)
        row = out.setdefault(system, np.full(len(domains), np.nan))
        if (system, domain) in seen:
            raise InputError(f"duplicate score for system {system} in domain {domain} (first at "
                             f"line {seen[system, domain]})", path, number)
        seen[system, domain] = number
        row[index[domain]] = score
    return out


def parse_metric_filename(path: PathLike) -> Tuple[str, str, str]:
    """``NAME-REF.LEVEL.score`` into (NAME, REF, LEVEL)."""
    base = os.path.basename(str(path))
    parts = base.rsplit(".", 2)
    if len(parts) != 3 or parts[2] != "score" or parts[1] not in LEVELS or "-" not in parts[0]:
        raise InputError("metric score files are named NAME-REF.LEVEL.score "
                         "(REF is src or a reference name, LEVEL seg, sys, domain or doc)", path)
    name, ref = parts[0].rsplit("-", 1)
    return name, ref, parts[1]


# ----------------------------------------------------------------------------------------
# mt-metrics-eval layout


class MtmeLp:
    """One language pair of a test set in the mt-metrics-eval layout, read lazily.

    ``folder`` is the test-set folder (``.../mt-metrics-eval-v2/wmt23``). Texts and scores are
    read on first use and cached; score maps are ``{system: np.ndarray}`` with NaN for
    missing human scores.
    """

    def __init__(self, folder: PathLike, lp: str):
        self.folder = Path(folder)
        self.lp = lp
        if not self.folder.is_dir():
            raise InputError("no such test-set folder", self.folder)
        source = self.folder / "sources" / f"{lp}.txt"
        if not source.is_file():
            known = sorted(p.name[:-4] for p in (self.folder / "sources").glob("*.txt"))
            raise InputError(f"no source file for {lp} (language pairs here: "
                             f"{', '.join(known) or 'none'})", source)
        self._cache: Dict[tuple, object] = {}

    # texts --------------------------------------------------------------------------
    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def src(self) -> List[Optional[str]]:
        return self._cached(("src",), lambda: read_text_lines(
            self.folder / "sources" / f"{self.lp}.txt"))

    @property
    def n_segments(self) -> int:
        return len(self.src)

    def reference_names(self) -> List[str]:
        pattern = re.compile(re.escape(self.lp) + r"\.([^.]+)\.txt$")
        folder = self.folder / "references"
        names = [m.group(1) for p in sorted(folder.glob(f"{self.lp}.*.txt"))
                 if (m := pattern.match(p.name))] if folder.is_dir() else []
        return names

    def reference(self, name: str) -> List[Optional[str]]:
        path = self.folder / "references" / f"{self.lp}.{name}.txt"
        return self._cached(("ref", name), lambda: self._checked_text(path))

    def system_names(self) -> List[str]:
        folder = self.folder / "system-outputs" / self.lp
        if not folder.is_dir():
            raise InputError("no system-outputs folder", folder)
        return sorted(p.name[:-4] for p in folder.glob("*.txt"))

    def system_output(self, system: str) -> List[Optional[str]]:
        path = self.folder / "system-outputs" / self.lp / f"{system}.txt"
        return self._cached(("sys", system), lambda: self._checked_text(path))

    def _checked_text(self, path: Path) -> List[Optional[str]]:
        lines = read_text_lines(path)
        if len(lines) != self.n_segments:
            raise InputError(f"has {len(lines)} lines but the source has {self.n_segments}", path)
        return lines

    def documents(self) -> Tuple[List[str], List[str]]:
        """(domain, document) of every segment, from ``documents/LP.docs``."""
        def read():
            path = self.folder / "documents" / f"{self.lp}.docs"
            if not path.is_file():
                return [""] * self.n_segments, [""] * self.n_segments
            domains, docs = [], []
            for number, line in enumerate(read_lines(path, allow_empty=True), start=1):
                parts = line.split()
                if len(parts) != 2:
                    raise InputError("expected 2 fields (DOMAIN DOCUMENT)", path, number)
                domains.append(parts[0])
                docs.append(parts[1])
            if len(docs) != self.n_segments:
                raise InputError(f"has {len(docs)} lines but the source has {self.n_segments}",
                                 path)
            return domains, docs
        return self._cached(("docs",), read)

    def domain_names(self) -> List[str]:
        """Domains in mt-metrics-eval's canonical (sorted) order."""
        return sorted(set(self.documents()[0]))

    # scores -------------------------------------------------------------------------
    def human_names(self, level: str = "seg") -> List[str]:
        folder = self.folder / "human-scores"
        suffix = f".{level}.score"
        return sorted(p.name[len(self.lp) + 1:-len(suffix)]
                      for p in folder.glob(f"{self.lp}.*{suffix}")) if folder.is_dir() else []

    def human(self, gold: str, level: str = "seg") -> Dict[str, np.ndarray]:
        path = self.folder / "human-scores" / f"{self.lp}.{gold}.{level}.score"
        if not path.is_file():
            known = ", ".join(self.human_names(level)) or "none"
            raise InputError(f"no {level}-level human scores {gold!r} for {self.lp} "
                             f"(available: {known})", path)
        return self._cached(("human", gold, level), lambda: self._scores(path, level, True))

    def metric_files(self) -> Dict[Tuple[str, str, str], Optional[Path]]:
        """{(NAME, REF, LEVEL): path} of the stored metric scores of this lp (path None for
        scores added in memory with :meth:`add_metric_scores`)."""
        def scan():
            folder = self.folder / "metric-scores" / self.lp
            found = {}
            if folder.is_dir():
                for path in sorted(folder.glob("*.score")):
                    found[parse_metric_filename(path)] = path
            return found
        return self._cached(("metric-files",), scan)

    def add_metric_file(self, path: PathLike, name: Optional[str] = None) -> Tuple[str, str, str]:
        """Register an extra score file (``NAME-REF.LEVEL.score``) under its own or a new name."""
        path = Path(path)
        file_name, ref, level = parse_metric_filename(path)
        key = (name or file_name, ref, level)
        files = self.metric_files()
        files[key] = path
        self._cache.pop(("metric",) + key, None)
        return key

    def add_metric_scores(self, name: str, ref: str, level: str,
                          scores: Dict[str, Sequence[float]]) -> Tuple[str, str, str]:
        """Register a metric's scores held in memory (``{system: scores}``), checked like a
        file's: a finite number for every segment (or one per system at level ``sys``)."""
        if level not in ("seg", "sys"):
            raise ValueError("in-memory metric scores are seg or sys level")
        expected = self.n_segments if level == "seg" else 1
        arrays = {}
        for system, values in scores.items():
            array = np.asarray(values, dtype=np.float64).reshape(-1)
            if len(array) != expected or not np.isfinite(array).all():
                raise InputError(f"metric {name}: system {system!r} needs {expected} finite "
                                 f"{level}-level score(s)")
            arrays[system] = array
        key = (name, ref, level)
        self.metric_files()[key] = None
        self._cache[("metric",) + key] = arrays
        return key

    def metric(self, name: str, ref: str, level: str = "seg") -> Dict[str, np.ndarray]:
        key = (name, ref, level)
        if ("metric",) + key in self._cache:
            return self._cache[("metric",) + key]
        path = self.metric_files().get(key)
        if path is None:
            raise InputError(f"no {level}-level scores of metric {name!r} with reference "
                             f"{ref!r} for {self.lp}")
        return self._cached(("metric",) + key, lambda: self._scores(path, level, False))

    def _scores(self, path: Path, level: str, human: bool) -> Dict[str, np.ndarray]:
        if level == "domain":
            scores = read_domain_score_file(path, self.domain_names(), allow_none=human)
        else:
            scores = read_score_file(path, allow_none=human)
        expected = {"seg": self.n_segments, "sys": 1, "domain": len(self.domain_names()),
                    "doc": len(set(self.documents()[1]))}[level]
        for system, values in scores.items():
            if len(values) != expected:
                raise InputError(f"system {system!r} has {len(values)} {level}-level scores, "
                                 f"expected {expected}", path)
        return scores


def find_test_set(root: PathLike, test_set: str) -> Path:
    """The test-set folder under an mt-metrics-eval root (``root/test_set`` or
    ``root/mt-metrics-eval-v2/test_set``), or ``root`` itself when it is one."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("the mt-metrics-eval folder does not exist" if not root.exists() else
                         "the mt-metrics-eval root must be a folder, not a file", root)
    for candidate in (root / test_set, root / "mt-metrics-eval-v2" / test_set):
        if (candidate / "sources").is_dir():
            return candidate
    if (root / "sources").is_dir():
        return root
    raise InputError(f"no test set {test_set!r} here (expected {test_set}/sources/)", root)


def load_mtme(folder: PathLike, lp: str, gold: Optional[str] = "mqm",
              metrics: Optional[Iterable[Tuple[str, str]]] = None,
              reference: Optional[str] = None, level: str = "seg") -> pd.DataFrame:
    """One lp of an mt-metrics-eval test-set folder as a tidy table.

    ``metrics`` is a list of (NAME, REF) pairs to add as columns ``NAME-REF`` (default: all
    stored ones at this level); ``reference`` picks the text of the ``reference`` column
    (every reference is also in a ``ref:NAME`` column). ``level="sys"`` gives one row per
    system with empty texts.
    """
    data = MtmeLp(folder, lp)
    systems = data.system_names()
    refs = data.reference_names()
    if metrics is None:
        metrics = sorted({(n, r) for (n, r, lv) in data.metric_files() if lv == level})
    human = data.human(gold, level) if gold else {}
    columns: Dict[str, list] = {c: [] for c in BASE_COLUMNS}
    metric_values: Dict[str, list] = {f"{n}-{r}": [] for n, r in metrics}
    metric_maps = {f"{n}-{r}": data.metric(n, r, level) for n, r in metrics}
    ref_values: Dict[str, list] = {f"ref:{r}": [] for r in refs}
    n = data.n_segments if level == "seg" else 1
    if level == "seg":
        domains, docs = data.documents()
        src = data.src
        ref_texts = {r: data.reference(r) for r in refs}
    for system in systems:
        hyp = data.system_output(system) if level == "seg" else [""]
        gold_scores = human.get(system)
        for k in range(n):
            columns["lp"].append(lp)
            columns["system"].append(system)
            columns["seg"].append(k)
            columns["doc"].append(docs[k] if level == "seg" else "")
            columns["domain"].append(domains[k] if level == "seg" else "")
            columns["source"].append(src[k] if level == "seg" else "")
            columns["hypothesis"].append(hyp[k])
            columns["reference"].append(
                ref_texts[reference][k] if level == "seg" and reference in refs else "")
            columns["human"].append(np.nan if gold_scores is None else gold_scores[k])
            for r in refs:
                ref_values[f"ref:{r}"].append(ref_texts[r][k] if level == "seg" else "")
            for name, scores in metric_maps.items():
                values = scores.get(system)
                metric_values[name].append(np.nan if values is None else values[k])
    frame = pd.DataFrame({**columns, **ref_values, **metric_values})
    frame["human"] = frame["human"].astype(float)
    return frame
