"""Readers for the human-judgement data metric developers meet, into one tidy table.

Every ``load_*`` function returns a pandas DataFrame with one row per translation and the
columns ``lp, system, seg, doc, domain, source, hypothesis, reference, human`` (``seg`` is the
0-based segment position in its test set; ``doc``/``domain``/``reference`` are empty strings
when the format does not know them, ``human`` is NaN when the segment has no human score),
followed by one float column per metric score the file carries. :func:`metric_columns` lists
those. Mistakes in a file raise :class:`~sigmoid_qe.errors.InputError` naming file and line.

The mt-metrics-eval layout is also exposed as :class:`MtmeLp`, which reads score files lazily
into ``{system: np.ndarray}`` maps; the evaluation uses that for speed.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tarfile
import warnings
import zlib
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from ..errors import InputError

PathLike = Union[str, os.PathLike]

BASE_COLUMNS = ["lp", "system", "seg", "doc", "domain", "source", "hypothesis", "reference", "human"]
# mt-metrics-eval writes this line where a system produced no translation.
NO_TRANSLATION = "[No translation supplied]"
LEVELS = ("seg", "sys", "domain", "doc")


def metric_columns(frame: pd.DataFrame) -> List[str]:
    """The metric-score columns of a loader's table (everything after the base columns)."""
    return [c for c in frame.columns if c not in BASE_COLUMNS and not c.startswith("ref:")]


# ----------------------------------------------------------------------------------------
# plain files


def _read_text(path: PathLike) -> str:
    """Text as Python's ``open()`` reads it: UTF-8, universal newlines."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path) from None


def _lines(text: str) -> List[str]:
    """Lines split on newlines only (not on the Unicode separators ``splitlines`` knows)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_text_lines(path: PathLike) -> List[Optional[str]]:
    """A segment file as mt-metrics-eval reads it: right-stripped lines, ``None`` for the
    no-translation marker."""
    out: List[Optional[str]] = []
    for line in _lines(_read_text(path)):
        line = line.rstrip()
        out.append(None if line == NO_TRANSLATION else line)
    return out


def _parse_float(token: str, path: PathLike, line: int, allow_none: bool) -> float:
    if token == "None":
        if allow_none:
            return math.nan
        raise InputError("missing score 'None' in a metric score file", path, line)
    try:
        value = float(token)
    except ValueError:
        raise InputError(f"score {token!r} is not a number", path, line) from None
    if not math.isfinite(value):
        raise InputError(f"score {token!r} is not a finite number", path, line)
    return value


def _score_lines_slow(path: PathLike, text: str, fields: int, allow_none: bool):
    """Line-by-line parse that pinpoints the first malformed line."""
    keys: List[Tuple[str, ...]] = []
    values: List[float] = []
    for number, line in enumerate(_lines(text), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != fields:
            what = " ".join(["DOMAIN"] * (fields == 3) + ["SYSTEM", "SCORE"])
            raise InputError(f"expected {fields} fields ({what}), found {len(parts)}", path, number)
        keys.append(tuple(parts[:-1]))
        values.append(_parse_float(parts[-1], path, number, allow_none))
    return keys, np.array(values, dtype=np.float64)


_SMALL_FILE = 8192  # bytes; below this a plain Python parse beats pandas' start-up cost


def _score_columns(path: PathLike, fields: int, allow_none: bool):
    """(key columns, float scores) of a whitespace-separated score file, fast when well-formed.

    Large files go through pandas' C parser (system names read as categories, so grouping
    them costs nothing); anything odd falls back to the line-by-line parse, which names the
    first bad line.
    """
    text = _read_text(path)
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
    for number, (domain, system, score) in enumerate(zip(domain_col, systems, scores), start=1):
        if domain not in index:
            raise InputError(f"unknown domain {domain!r} (known: {', '.join(domains)})", path)
        out.setdefault(system, np.full(len(domains), np.nan))[index[domain]] = score
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
            for number, line in enumerate(_lines(_read_text(path)), start=1):
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

    def metric_files(self) -> Dict[Tuple[str, str, str], Path]:
        """{(NAME, REF, LEVEL): path} of the stored metric scores of this lp."""
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

    def metric(self, name: str, ref: str, level: str = "seg") -> Dict[str, np.ndarray]:
        key = (name, ref, level)
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


# ----------------------------------------------------------------------------------------
# MLQE-PE (WMT20/21 QE)

_MLQE_REQUIRED = ("original", "translation", "z_mean")


def _lp_from_name(name: str) -> str:
    match = re.search(r"(?<![a-z])([a-z]{2})-([a-z]{2})(?![a-z])", name)
    if match:
        return f"{match.group(1)}-{match.group(2)}"
    match = re.search(r"\.([a-z]{2})([a-z]{2})\.", name)
    return f"{match.group(1)}-{match.group(2)}" if match else ""


def _mlqe_frame(text: str, path: str, lp: str, system: str) -> pd.DataFrame:
    lines = _lines(text)
    if not lines:
        raise InputError("file is empty", path)
    header = lines[0].split("\t")
    missing = [c for c in _MLQE_REQUIRED if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the header "
                         f"(MLQE-PE DA files have original, translation, z_mean)", path, 1)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} tab-separated fields, found {len(fields)}",
                             path, number)
        rows.append(fields)
    table = dict(zip(header, zip(*rows))) if rows else {h: () for h in header}
    out = pd.DataFrame({
        "lp": lp, "system": system,
        "seg": [int(x) for x in table["index"]] if "index" in table else range(len(rows)),
        "doc": "", "domain": "", "source": list(table["original"]),
        "hypothesis": list(table["translation"]), "reference": "",
    })
    out["human"] = _float_column(table["z_mean"], path, header.index("z_mean"), False)
    if "mean" in table:
        out["da_mean"] = _float_column(table["mean"], path, header.index("mean"), False)
    if "model_scores" in table:
        out["model_scores"] = _float_column(table["model_scores"], path,
                                            header.index("model_scores"), False)
    return out


def _float_column(values: Sequence[str], path: str, column: int, allow_none: bool,
                  first_line: int = 2) -> np.ndarray:
    out = np.empty(len(values))
    for k, token in enumerate(values):
        try:
            out[k] = float(token)
        except ValueError:
            if allow_none and token in ("", "None", "NaN", "nan"):
                out[k] = np.nan
                continue
            raise InputError(f"column {column + 1}: {token!r} is not a number", path,
                             first_line + k) from None
    return out


def _read_tar_members(path: Path) -> Dict[str, bytes]:
    try:
        with tarfile.open(path, "r:*") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InputError(f"not a readable tar archive ({exc})", path) from None


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where) from None


def load_mlqe(path: PathLike, lp: Optional[str] = None, gold: Optional[PathLike] = None,
              system: str = "nmt") -> pd.DataFrame:
    """MLQE-PE direct assessments: a ``*.df.short.tsv`` file, a ``.tar.gz`` holding one, or a
    WMT21 ``test21`` archive with its gold labels.

    For WMT21 test sets the human scores live in the separate gold archive
    (``test21_goldlabels/LP-test21.tar.gz``, file ``goldlabels/test21.da``): pass it as
    ``gold``, or pass the gold archive itself (it also carries ``test21.src``/``test21.mt``).
    ``human`` is ``z_mean``; ``da_mean`` and ``model_scores`` (the NMT model's log-prob)
    come along when the file has them.
    """
    path = Path(path)
    lp = lp or _lp_from_name(path.name)
    if not path.exists():
        raise InputError("no such file", path)
    named_tar = path.name.endswith((".tar.gz", ".tgz", ".tar"))
    try:
        is_tar = tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError):
        is_tar = named_tar
    if not is_tar and not named_tar:
        return _mlqe_frame(_read_text(path), str(path), lp, system)
    members = _read_tar_members(path)
    tsv = [n for n in members if n.endswith(".tsv")]
    if tsv:
        name = sorted(tsv)[0]
        frame = _mlqe_frame(_decode(members[name], f"{path}:{name}"), f"{path}:{name}",
                            lp or _lp_from_name(name), system)
        doc_ids = _member(members, ".doc_ids")
        if doc_ids is not None:  # one article name per segment, after a header line
            docs = _lines(_decode(members[doc_ids], f"{path}:{doc_ids}"))[1:]
            if len(docs) == len(frame):
                frame["doc"] = docs
        return frame
    return _load_test21(path, members, lp, gold, system)


def _member(members: Dict[str, bytes], suffix: str) -> Optional[str]:
    found = sorted(n for n in members if n.endswith(suffix))
    return found[0] if found else None


def _load_test21(path: Path, members: Dict[str, bytes], lp: str, gold: Optional[PathLike],
                 system: str) -> pd.DataFrame:
    src_name, mt_name = _member(members, "test21.src"), _member(members, "test21.mt")
    if src_name is None or mt_name is None:
        raise InputError("archive has neither an MLQE-PE .tsv nor test21.src/test21.mt", path)
    src = _lines(_decode(members[src_name], f"{path}:{src_name}"))
    mt = _lines(_decode(members[mt_name], f"{path}:{mt_name}"))
    if len(src) != len(mt):
        raise InputError(f"test21.src has {len(src)} lines but test21.mt has {len(mt)}", path)
    da_members = members
    da_where = str(path)
    if _member(members, "goldlabels/test21.da") is None:
        if gold is None:
            raise InputError("this WMT21 archive has no gold labels; pass the matching "
                             "test21_goldlabels archive as gold", path)
        da_members = _read_tar_members(Path(gold))
        da_where = str(gold)
    da_name = _member(da_members, "test21.da")
    if da_name is None:
        raise InputError("no goldlabels/test21.da in the gold archive", da_where)
    where = f"{da_where}:{da_name}"
    da_lines = _lines(_decode(da_members[da_name], where))
    if len(da_lines) != len(src):
        raise InputError(f"has {len(da_lines)} scores but test21.src has {len(src)} lines", where)
    human = _float_column([line.strip() for line in da_lines], where, 0, False, first_line=1)
    return pd.DataFrame({"lp": lp, "system": system, "seg": range(len(src)), "doc": "",
                         "domain": "", "source": src, "hypothesis": mt, "reference": "",
                         "human": human})


# ----------------------------------------------------------------------------------------
# BioMQM, WMT DA CSV, generic TSV


def _read_tsv_table(path: PathLike, required: Sequence[str], what: str) -> Tuple[List[str], list]:
    text = _read_text(path)
    lines = _lines(text)
    if not lines:
        raise InputError("file is empty", path)
    header = lines[0].split("\t")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the header ({what})", path, 1)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} tab-separated fields, found {len(fields)}",
                             path, number)
        rows.append((number, fields))
    return header, rows


def load_biomqm(path: PathLike) -> pd.DataFrame:
    """A BioMQM segment table (``pt-en.round1.tsv`` and friends): ``human`` is ``mqm``.

    Segments are identified by (doc_id, seg_id); ``seg`` numbers them in order of first
    appearance, so the same source segment has the same ``seg`` for every system.
    """
    header, rows = _read_tsv_table(path, ("lp", "system", "doc_id", "seg_id", "source", "target",
                                          "mqm"), "a BioMQM table")
    col = {h: i for i, h in enumerate(header)}
    seg_ids: Dict[Tuple[str, str], int] = {}
    records = []
    for number, f in rows:
        key = (f[col["doc_id"]], f[col["seg_id"]])
        seg = seg_ids.setdefault(key, len(seg_ids))
        records.append({
            "lp": f[col["lp"]], "system": f[col["system"]], "seg": seg, "doc": key[0],
            "domain": "biomedical", "source": f[col["source"]], "hypothesis": f[col["target"]],
            "reference": "",
            "human": _float_column([f[col["mqm"]]], str(path), col["mqm"], False, number)[0],
        })
    frame = pd.DataFrame.from_records(records, columns=BASE_COLUMNS)
    for extra in ("n_errors", "annotator", "error_spans"):
        if extra in col:
            frame[extra] = [f[col[extra]] for _, f in rows]
    return frame


def load_wmt_da(path: PathLike, lp: Optional[str] = None,
                sources: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """WMT segment-level DA scores (``ad-seg-scores-xx-yy.csv``: ``SYS SID RAW.SCR Z.SCR N``).

    ``human`` is ``Z.SCR``; ``RAW.SCR`` and ``N`` are kept as ``da_raw`` and ``n_ratings``.
    ``seg`` is ``SID - 1`` (WMT segment ids start at 1); ``sources`` (one per line of the
    test set) fills ``source`` when given.
    """
    text = _read_text(path)
    lines = _lines(text)
    if not lines:
        raise InputError("file is empty", path)
    header = lines[0].split()
    needed = ("SYS", "SID", "Z.SCR")
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the header "
                         "(WMT DA files start with SYS SID RAW.SCR Z.SCR N)", path, 1)
    col = {h: i for i, h in enumerate(header)}
    records = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(fields)}", path, number)
        try:
            sid = int(fields[col["SID"]])
        except ValueError:
            raise InputError(f"segment id {fields[col['SID']]!r} is not an integer",
                             path, number) from None
        seg = sid - 1
        record = {"lp": lp or _lp_from_name(Path(path).name), "system": fields[col["SYS"]],
                  "seg": seg, "doc": "", "domain": "",
                  "source": sources[seg] if sources is not None and 0 <= seg < len(sources)
                  else "", "hypothesis": "", "reference": "",
                  "human": _parse_float(fields[col["Z.SCR"]], path, number, False)}
        if "RAW.SCR" in col:
            record["da_raw"] = _parse_float(fields[col["RAW.SCR"]], path, number, False)
        if "N" in col:
            record["n_ratings"] = int(_parse_float(fields[col["N"]], path, number, False))
        records.append(record)
    return pd.DataFrame.from_records(records)


def load_tsv(path: PathLike, lp: str = "") -> pd.DataFrame:
    """A generic tab-separated table with a header: ``src``, ``mt``, ``score`` (human) and
    optional ``system``, ``doc``, ``ref``, ``lp``; every other column must be numeric and is
    taken as a metric score. Empty or ``None`` human scores are missing."""
    header, rows = _read_tsv_table(path, ("src", "mt", "score"), "generic TSV: src, mt, score")
    col = {h: i for i, h in enumerate(header)}
    known = {"src", "mt", "score", "system", "doc", "ref", "lp"}
    records = []
    per_system: Dict[str, int] = {}
    for number, f in rows:
        system = f[col["system"]] if "system" in col else "system"
        seg = per_system.get(system, 0)
        per_system[system] = seg + 1
        score = f[col["score"]].strip()
        records.append({
            "lp": f[col["lp"]] if "lp" in col else lp, "system": system, "seg": seg,
            "doc": f[col["doc"]] if "doc" in col else "", "domain": "",
            "source": f[col["src"]], "hypothesis": f[col["mt"]],
            "reference": f[col["ref"]] if "ref" in col else "",
            "human": np.nan if score in ("", "None") else
            _parse_float(score, path, number, False)})
    frame = pd.DataFrame.from_records(records, columns=BASE_COLUMNS)
    for name in header:
        if name in known:
            continue
        frame[name] = [_parse_float(f[col[name]].strip(), path, number, False)
                       for number, f in rows]
    return frame


# ----------------------------------------------------------------------------------------
# WMT22/23 submission files

SEG_SUBMISSION_FIELDS = ("METRIC", "LP", "TESTSET", "DOMAIN", "DOCUMENT", "REFERENCE", "SYSTEM",
                         "SEG-ID", "SCORE")
SYS_SUBMISSION_FIELDS = ("METRIC", "LP", "TESTSET", "DOMAIN", "REFERENCE", "SYSTEM", "SCORE")


def load_wmt_submission(path: PathLike) -> pd.DataFrame:
    """A WMT22/23 metrics-task submission file, ``NAME.seg.score`` (9 tab-separated fields)
    or ``NAME.sys.score`` (7 fields), as a table with lower-case column names; ``seg`` is the
    0-based position (``SEG-ID - 1``)."""
    lines = _lines(_read_text(path))
    if not lines:
        raise InputError("file is empty", path)
    width = len(lines[0].split("\t"))
    if width not in (len(SEG_SUBMISSION_FIELDS), len(SYS_SUBMISSION_FIELDS)):
        raise InputError(f"expected 9 (segment) or 7 (system) tab-separated fields, found {width}",
                         path, 1)
    fields = SEG_SUBMISSION_FIELDS if width == 9 else SYS_SUBMISSION_FIELDS
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != width:
            raise InputError(f"expected {width} tab-separated fields, found {len(parts)}",
                             path, number)
        record = {k.lower().replace("-", "_"): v for k, v in zip(fields, parts)}
        record["score"] = _parse_float(record["score"], path, number, False)
        if width == 9:
            try:
                record["seg"] = int(record.pop("seg_id")) - 1
            except ValueError:
                raise InputError("SEG-ID is not an integer", path, number) from None
        records.append(record)
    return pd.DataFrame.from_records(records)


def read_json_records(path: PathLike) -> list:
    """The records ``sigmoid-qe-eval --format json`` writes."""
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg})", path, exc.lineno) from None
