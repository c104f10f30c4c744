"""Writers for metric scores: mt-metrics-eval score files and WMT22/23 submission files.

Both formats are what the WMT metrics task and mt-metrics-eval read back, so a new metric
can be evaluated next to the official ones (``--add-metric``) or submitted as is. Scores are
written with ``repr`` (the shortest text that parses back to the same float), so the loaders
read back exactly what was written. Every writer writes to temporary files and renames them
only when all are complete: an error never leaves a partial file behind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

from ..errors import InputError
from ..files import PathLike
from ..outputs import write_files_atomically


def format_score(value: float) -> str:
    """Shortest round-trip text of a score (``repr``); 'None' for a missing score."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    return repr(float(value))


# ----------------------------------------------------------------------------------------
# mt-metrics-eval


def mtme_score_text(scores: Mapping[str, Sequence[float]]) -> str:
    """``SYSTEM<tab>SCORE`` lines, one block per system in the given order."""
    lines = [f"{system}\t{format_score(v)}" for system, values in scores.items() for v in values]
    return "".join(line + "\n" for line in lines)


def mtme_paths(root: PathLike, lp: str, name: str, ref: str = "src") -> Dict[str, Path]:
    """Where mt-metrics-eval looks for a metric's files under a test-set folder."""
    folder = Path(root) / "metric-scores" / lp
    return {level: folder / f"{name}-{ref}.{level}.score" for level in ("seg", "sys")}


def check_metric_name(name: str) -> None:
    """Metric names become file names and whitespace-separated fields: keep them plain."""
    if not name or any(c.isspace() for c in name) or "/" in name or name.startswith("."):
        raise InputError(f"metric name {name!r} must be non-empty, without spaces or '/'")


def _check_finite(name: str, lp: str, seg: Mapping[str, Sequence[float]],
                  sys: Mapping[str, float]) -> None:
    """Metric score files may not hold missing scores (mt-metrics-eval rejects them)."""
    for system, values in seg.items():
        for k, value in enumerate(values):
            if value is None or not math.isfinite(value):
                raise InputError(f"{name} gave no finite score for {lp} system {system} "
                                 f"segment {k + 1}")
    for system, value in sys.items():
        if value is None or not math.isfinite(value):
            raise InputError(f"{name} gave no finite system score for {lp} system {system}")


def mtme_files(root: PathLike, lp: str, name: str, seg: Mapping[str, Sequence[float]],
               sys: Mapping[str, float], ref: str = "src") -> Dict[Path, str]:
    """The contents of ``metric-scores/LP/NAME-REF.{seg,sys}.score`` (not yet written)."""
    check_metric_name(name)
    _check_finite(name, lp, seg, sys)
    paths = mtme_paths(root, lp, name, ref)
    return {paths["seg"]: mtme_score_text(seg),
            paths["sys"]: mtme_score_text({s: [v] for s, v in sys.items()})}


def write_mtme_scores(root: PathLike, lp: str, name: str, seg: Mapping[str, Sequence[float]],
                      sys: Mapping[str, float], ref: str = "src") -> List[Path]:
    """Write a metric's segment and system scores in the mt-metrics-eval layout."""
    return write_files_atomically(mtme_files(root, lp, name, seg, sys, ref))


# ----------------------------------------------------------------------------------------
# WMT22/23 submission files


@dataclass
class LpScores:
    """One language pair's scores, with the document and domain of every segment."""

    lp: str
    seg: Dict[str, List[float]]  # system -> scores in segment order
    sys: Dict[str, float]  # system -> system score
    docs: Sequence[str] = ()
    domains: Sequence[str] = ()
    domain_sys: Dict[str, Dict[str, float]] = field(default_factory=dict)  # domain -> system -> score


def domain_means(seg: Mapping[str, Sequence[float]], domains: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Per-domain system scores as the mean of the segment scores in the domain."""
    out: Dict[str, Dict[str, float]] = {}
    for domain in sorted(set(domains)):
        picks = [k for k, d in enumerate(domains) if d == domain]
        out[domain] = {s: math.fsum(v[k] for k in picks) / len(picks) for s, v in seg.items()}
    return out


def wmt_submission_texts(name: str, test_set: str, lps: Sequence[LpScores],
                         reference: str = "src") -> Dict[str, str]:
    """``{"seg": ..., "sys": ...}`` contents of NAME.seg.score and NAME.sys.score.

    Segment lines: METRIC LP TESTSET DOMAIN DOCUMENT REFERENCE SYSTEM SEG-ID SCORE (ids from 1);
    system lines: METRIC LP TESTSET DOMAIN REFERENCE SYSTEM SCORE, with DOMAIN ``all`` for the
    whole test set followed by one line per domain.
    """
    check_metric_name(name)
    seg_lines: List[str] = []
    sys_lines: List[str] = []
    for entry in lps:
        n = len(next(iter(entry.seg.values()), []))
        docs = list(entry.docs) or ["-"] * n
        domains = list(entry.domains) or ["-"] * n
        if len(docs) != n or len(domains) != n:
            raise ValueError(f"{entry.lp}: {n} segments but {len(docs)} documents")
        for system, values in entry.seg.items():
            for k, value in enumerate(values):
                seg_lines.append("\t".join([name, entry.lp, test_set, domains[k], docs[k],
                                            reference, system, str(k + 1), format_score(value)]))
        for system, value in entry.sys.items():
            sys_lines.append("\t".join([name, entry.lp, test_set, "all", reference, system,
                                        format_score(value)]))
        for domain, scores in entry.domain_sys.items():
            for system, value in scores.items():
                sys_lines.append("\t".join([name, entry.lp, test_set, domain, reference, system,
                                            format_score(value)]))
    return {"seg": "".join(line + "\n" for line in seg_lines),
            "sys": "".join(line + "\n" for line in sys_lines)}


def wmt_submission_files(directory: PathLike, name: str, test_set: str, lps: Sequence[LpScores],
                         reference: str = "src") -> Dict[Path, str]:
    texts = wmt_submission_texts(name, test_set, lps, reference)
    directory = Path(directory)
    return {directory / f"{name}.seg.score": texts["seg"],
            directory / f"{name}.sys.score": texts["sys"]}


def write_wmt_submission(directory: PathLike, name: str, test_set: str, lps: Sequence[LpScores],
                         reference: str = "src") -> List[Path]:
    """Write NAME.seg.score and NAME.sys.score for the WMT metrics task."""
    return write_files_atomically(wmt_submission_files(directory, name, test_set, lps, reference))
