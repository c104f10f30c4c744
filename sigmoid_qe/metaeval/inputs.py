"""From the paths a user gives to data the evaluation can use.

``sigmoid-qe-eval`` takes an mt-metrics-eval root or one table file (MLQE-PE, BioMQM, WMT DA,
generic TSV) plus ``--add-metric NAME=PATH`` files; these functions turn them into
:class:`~.mtme.MtmeLp` objects or a loader table, checking every file before any long work.
They are the command's domain logic, usable from Python as well.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import PathLike, read_lines
from . import loaders
from .mtme import MtmeLp, parse_float, parse_metric_filename, read_score_file
from .testsets import TESTSETS, lp_info

#: Table columns that are not metric scores (data the loaders keep for other uses).
NON_METRIC_COLUMNS = ("da_mean", "da_raw", "n_ratings", "n_errors", "annotator", "error_spans")
TABLE_FORMATS = ("mlqe", "biomqm", "tsv", "wmt_da")


def parse_metric_spec(spec: str) -> Tuple[str, Path]:
    """``NAME=PATH`` -> (NAME, PATH)."""
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise InputError(f"--add-metric {spec!r}: expected NAME=PATH")
    return name, Path(path)


# -- mt-metrics-eval --------------------------------------------------------------------------------
def default_lps(folder: Path, test_set: str, gold: Optional[str]) -> List[str]:
    """The language pairs of a test-set folder that have the (standard or given) human scores."""
    on_disk = sorted(p.name[:-4] for p in (folder / "sources").glob("*.txt"))
    human = folder / "human-scores"
    out = []
    for lp in on_disk:
        info = TESTSETS.get(test_set, {}).get(lp)
        wanted = gold or (info.std_gold.get("seg") or info.std_gold.get("sys")
                          if info is not None else None)
        if info is not None and not info.std_gold and not gold:
            continue
        pattern = f"{lp}.{wanted}.*.score" if wanted else f"{lp}.*.score"
        if any(human.glob(pattern)):
            out.append(lp)
    return out


def metric_files_for(path: Path, lp: str) -> List[Path]:
    """The score files of one metric for ``lp`` under ``path``: a file (and its seg/sys
    sibling), a folder per lp, a ``metric-scores/LP`` folder inside it, or a flat folder of
    one metric's files."""
    if path.is_file():
        siblings = [path]
        stem = path.name.rsplit(".", 2)[0]
        for level in ("seg", "sys"):
            other = path.with_name(f"{stem}.{level}.score")
            if other.is_file() and other not in siblings:
                siblings.append(other)
        return siblings
    for folder in (path / lp, path / "metric-scores" / lp, path):
        files = sorted(folder.glob("*-*.seg.score")) + sorted(folder.glob("*-*.sys.score"))
        if files:
            if folder == path and len({f.name.rsplit(".", 2)[0] for f in files}) > 1:
                continue  # a flat folder with several metrics: ambiguous
            return files
    return []


def add_metric_paths(data: Dict[str, MtmeLp], specs: Sequence[str], test_set: str,
                     std_ref: Optional[str] = None) -> List[str]:
    """Register ``NAME=PATH`` score files with every lp that has them; returns the names.
    A file scored against a reference the lp is not evaluated with is refused."""
    names = []
    for spec in specs:
        name, path = parse_metric_spec(spec)
        if not path.exists():
            raise InputError("no such file or folder", path)
        for lp, lp_data in data.items():
            if any(n == name for n, _, _ in lp_data.metric_files()):
                raise InputError(f"--add-metric {name}: {lp} already has a metric of that name; "
                                 f"choose another NAME")
        found_any = False
        for lp, lp_data in data.items():
            reference = std_ref or lp_info(test_set, lp).std_ref
            for file in metric_files_for(path, lp):
                _, ref, level = parse_metric_filename(file)
                if level not in ("seg", "sys"):
                    continue
                if ref not in ("src", reference):
                    raise InputError(f"scored with reference {ref!r}, but {lp} is evaluated "
                                     f"with {reference!r} or src", file)
                lp_data.add_metric_file(file, name)
                found_any = True
        if not found_any:
            raise InputError(f"--add-metric {name}: no NAME-REF.seg.score or NAME-REF.sys.score "
                             f"files for {', '.join(data)}", path)
        names.append(name)
    return names


# -- tables ---------------------------------------------------------------------------------------
def load_table(kind: str, path: PathLike, mlqe_gold: Optional[PathLike] = None) -> pd.DataFrame:
    """One of the flat formats (``mlqe``, ``biomqm``, ``tsv``, ``wmt_da``) as a loader table."""
    if kind == "mlqe":
        return loaders.load_mlqe(path, gold=mlqe_gold)
    if kind == "biomqm":
        return loaders.load_biomqm(path)
    if kind == "tsv":
        return loaders.load_tsv(path)
    if kind == "wmt_da":
        return loaders.load_wmt_da(path)
    raise ValueError(f"unknown table format {kind!r}")


def table_metrics(frame: pd.DataFrame, wanted: Optional[Sequence[str]] = None) -> List[str]:
    """The metric columns to evaluate: ``wanted`` (each must exist) or all of them."""
    metrics = [m for m in loaders.metric_columns(frame) if m not in NON_METRIC_COLUMNS]
    if wanted:
        unknown = [m for m in wanted if m not in metrics]
        if unknown:
            raise InputError(f"no metric column(s) {', '.join(unknown)} (available: "
                             f"{', '.join(metrics) or 'none'})")
        metrics = list(wanted)
    if not metrics:
        raise InputError("no metric scores to evaluate: add some with --add-metric NAME=FILE")
    return metrics


def attach_metric(frame: pd.DataFrame, name: str, path: Path) -> pd.DataFrame:
    """Add a metric column from a file with one score per table row, or with
    ``SYSTEM SCORE`` lines (each system's segments in order). Every score must be a finite
    number (as in a ``--tsv`` column), and the name must not already be a column."""
    if name in frame.columns:
        raise InputError(f"--add-metric {name}: the input already has a column named {name!r}")
    lines = [line for line in read_lines(path) if line.strip()]
    if not lines:
        raise InputError("file is empty", path)
    frame = frame.copy()
    if len(lines[0].split()) == 1:
        if len(lines) != len(frame):
            raise InputError(f"has {len(lines)} scores but the input has {len(frame)} rows", path)
        frame[name] = [parse_float(line.strip(), path, number, False)
                       for number, line in enumerate(lines, start=1)]
        return frame
    scores = read_score_file(path, allow_none=False)
    column = np.full(len(frame), np.nan)
    for system, part in frame.groupby("system", sort=False):
        if system not in scores:
            raise InputError(f"no scores for system {system!r}", path)
        order = np.argsort(part["seg"].to_numpy(), kind="stable")
        values = scores[system]
        if len(values) != len(part):
            raise InputError(f"system {system!r} has {len(values)} scores but {len(part)} rows",
                             path)
        column[frame.index.get_indexer(part.index[order])] = values
    frame[name] = column
    return frame
