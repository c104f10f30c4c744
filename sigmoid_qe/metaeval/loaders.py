"""Readers for the human-judgement data metric developers meet, into one tidy table.

Every ``load_*`` function returns a pandas DataFrame with one row per translation and the
columns ``lp, system, seg, doc, domain, source, hypothesis, reference, human`` (``seg`` is the
0-based segment position in its test set; ``doc``/``domain``/``reference`` are empty strings
when the format does not know them, ``human`` is NaN when the segment has no human score),
followed by one float column per metric score the file carries. :func:`metric_columns` lists
those. Mistakes in a file raise :class:`~sigmoid_qe.errors.InputError` naming file and line.

The mt-metrics-eval layout lives in :mod:`.mtme` (:class:`~.mtme.MtmeLp`, :func:`~.mtme.load_mtme`).
"""
from __future__ import annotations

import re
import tarfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import InputError, first_line
from ..files import (
    PathLike,
    decode_text,
    parse_table,
    read_lines,
    read_table,
    read_text,
    split_lines,
)
from .mtme import BASE_COLUMNS, parse_float

__all__ = [
    "load_biomqm",
    "load_mlqe",
    "load_tsv",
    "load_wmt_da",
    "load_wmt_submission",
    "metric_columns",
]


def metric_columns(frame: pd.DataFrame) -> List[str]:
    """The metric-score columns of a loader's table (everything after the base columns)."""
    return [c for c in frame.columns if c not in BASE_COLUMNS and not c.startswith("ref:")]


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
    table = parse_table(split_lines(text), path, _MLQE_REQUIRED,
                        "MLQE-PE DA files have original, translation, z_mean")
    cells = {name: [fields[k] for _, fields in table.rows] for k, name in enumerate(table.header)}
    out = pd.DataFrame({
        "lp": lp, "system": system,
        "seg": _index_column(table) if "index" in cells else range(len(table.rows)),
        "doc": "", "domain": "", "source": cells["original"],
        "hypothesis": cells["translation"], "reference": "",
    })
    out["human"] = _float_column(table, "z_mean")
    if "mean" in cells:
        out["da_mean"] = _float_column(table, "mean")
    if "model_scores" in cells:
        out["model_scores"] = _float_column(table, "model_scores")
    return out


def _index_column(table) -> List[int]:
    k = table.column("index")
    out = []
    for number, fields in table.rows:
        try:
            out.append(int(fields[k]))
        except ValueError:
            raise InputError(f"index {fields[k]!r} is not an integer", table.path, number) from None
    return out


def _float_column(table, name: str) -> np.ndarray:
    """A numeric column of a table; a cell that is not a finite number names line and column."""
    k = table.column(name)
    return np.array([parse_float(fields[k], table.path, number, what=f"column {k + 1}:")
                     for number, fields in table.rows], dtype=np.float64)


#: Largest archive content read (a damaged or hostile archive must not exhaust memory).
MAX_ARCHIVE_BYTES = 2**31


def _read_tar_members(path: Path) -> Dict[str, bytes]:
    try:
        with tarfile.open(path, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            if sum(m.size for m in members) > MAX_ARCHIVE_BYTES:
                raise InputError(f"archive holds more than {MAX_ARCHIVE_BYTES >> 30} GiB of files",
                                 path)
            return {m.name: tar.extractfile(m).read() for m in members}
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InputError(f"not a readable tar archive ({first_line(exc).rstrip(':')})", path) from None


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
        return _mlqe_frame(read_text(path), str(path), lp, system)
    members = _read_tar_members(path)
    tsv = [n for n in members if n.endswith(".tsv")]
    if tsv:
        name = sorted(tsv)[0]
        frame = _mlqe_frame(decode_text(members[name], f"{path}:{name}"), f"{path}:{name}",
                            lp or _lp_from_name(name), system)
        doc_ids = _member(members, ".doc_ids")
        if doc_ids is not None:  # one article name per segment, after a header line
            docs = split_lines(decode_text(members[doc_ids], f"{path}:{doc_ids}"))[1:]
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
    src = split_lines(decode_text(members[src_name], f"{path}:{src_name}"))
    mt = split_lines(decode_text(members[mt_name], f"{path}:{mt_name}"))
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
    da_lines = split_lines(decode_text(da_members[da_name], where))
    if len(da_lines) != len(src):
        raise InputError(f"has {len(da_lines)} scores but test21.src has {len(src)} lines", where)
    human = np.array([parse_float(line.strip(), where, number, False)
                      for number, line in enumerate(da_lines, start=1)], dtype=np.float64)
    return pd.DataFrame({"lp": lp, "system": system, "seg": range(len(src)), "doc": "",
                         "domain": "", "source": src, "hypothesis": mt, "reference": "",
                         "human": human})


# ----------------------------------------------------------------------------------------
# BioMQM, WMT DA CSV, generic TSV


def load_biomqm(path: PathLike) -> pd.DataFrame:
    """A BioMQM segment table (``pt-en.round1.tsv`` and friends): ``human`` is ``mqm``.

    Segments are identified by (doc_id, seg_id); ``seg`` numbers them in order of first
    appearance, so the same source segment has the same ``seg`` for every system.
    """
    table = read_table(path, ("lp", "system", "doc_id", "seg_id", "source", "target", "mqm"),
                       "a BioMQM table")
    rows = table.rows
    col = {h: i for i, h in enumerate(table.header)}
    seg_ids: Dict[Tuple[str, str], int] = {}
    records = []
    for number, f in rows:
        key = (f[col["doc_id"]], f[col["seg_id"]])
        seg = seg_ids.setdefault(key, len(seg_ids))
        records.append({
            "lp": f[col["lp"]], "system": f[col["system"]], "seg": seg, "doc": key[0],
            "domain": "biomedical", "source": f[col["source"]], "hypothesis": f[col["target"]],
            "reference": "",
            "human": parse_float(f[col["mqm"]], path, number, what=f"column {col['mqm'] + 1}:"),
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
    lines = read_lines(path)
    header = lines[0].split()
    needed = ("SYS", "SID", "Z.SCR")
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the header "
                         "(WMT DA files start with SYS SID RAW.SCR Z.SCR N)", path, 1)
    col = {h: i for i, h in enumerate(header)}
    records = []
    first_at: Dict[tuple, int] = {}
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
        key = (fields[col["SYS"]], sid)
        if key in first_at:
            raise InputError(f"duplicate segment {key[0]}/{sid} (first at line {first_at[key]}): "
                             "each system's segment is scored once", path, number)
        first_at[key] = number
        record = {"lp": lp or _lp_from_name(Path(path).name), "system": fields[col["SYS"]],
                  "seg": seg, "doc": "", "domain": "",
                  "source": sources[seg] if sources is not None and 0 <= seg < len(sources)
                  else "", "hypothesis": "", "reference": "",
                  "human": parse_float(fields[col["Z.SCR"]], path, number, False)}
        if "RAW.SCR" in col:
            record["da_raw"] = parse_float(fields[col["RAW.SCR"]], path, number, False)
        if "N" in col:
            record["n_ratings"] = int(parse_float(fields[col["N"]], path, number, False))
        records.append(record)
    return pd.DataFrame.from_records(records)


def load_tsv(path: PathLike, lp: str = "") -> pd.DataFrame:
    """A generic tab-separated table with a header: ``src``, ``mt``, ``score`` (human) and
    optional ``system``, ``doc``, ``ref``, ``lp``; every other column must be numeric and is
    taken as a metric score. Empty or ``None`` human scores are missing."""
    table = read_table(path, ("src", "mt", "score"), "generic TSV: src, mt, score")
    header, rows = table.header, table.rows
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
            parse_float(score, path, number, False)})
    frame = pd.DataFrame.from_records(records, columns=BASE_COLUMNS)
    for name in header:
        if name in known:
            continue
        frame[name] = [parse_float(f[col[name]].strip(), path, number, False)
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
    lines = read_lines(path)
    width = len(lines[0].split("\t"))
    if width not in (len(SEG_SUBMISSION_FIELDS), len(SYS_SUBMISSION_FIELDS)):
        raise InputError(f"expected 9 (segment) or 7 (system) tab-separated fields, found {width}",
                         path, 1)
    fields = SEG_SUBMISSION_FIELDS if width == 9 else SYS_SUBMISSION_FIELDS
    records = []
    first_at: Dict[tuple, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != width:
            raise InputError(f"expected {width} tab-separated fields, found {len(parts)}",
                             path, number)
        record = {k.lower().replace("-", "_"): v for k, v in zip(fields, parts)}
        record["score"] = parse_float(record["score"], path, number, False)
        if width == 9:
            try:
                record["seg"] = int(record.pop("seg_id")) - 1
            except ValueError:
                raise InputError("SEG-ID is not an integer", path, number) from None
        key = tuple(record.get(k) for k in ("metric", "lp", "testset", "domain", "reference",
                                            "system", "seg"))
        if key in first_at:
            raise InputError(f"duplicate score for system {record['system']}"
                             + (f" segment {record['seg'] + 1}" if width == 9 else "")
                             + f" (first at line {first_at[key]})", path, number)
        first_at[key] = number
        records.append(record)
    return pd.DataFrame.from_records(records)
