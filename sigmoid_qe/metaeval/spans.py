"""Error spans and word tags against human annotations, scored as WMT scores them.

**Spans** (WMT23 QE task 2, ``task2_evaluate.py``): each segment is an array of ``len(mt) + 1``
character slots (the extra one holds an omission at the end); a span marks its characters
(``end`` capped at ``len(mt)``), a zero-length span marks the one slot at its ``start``.
Micro-averaged over the set: a character marked in the gold and the prediction counts 1 when
the severities agree (or the gold has both), 0.5 when they do not; recall and precision divide
by the characters marked in the gold and in the prediction. The **binary** variant (what the
Sigmoid Head authors report) ignores severity. Like the WMT scorer, the target is stripped of
surrounding whitespace before the slots are counted.

**Word tags** (WMT word-level QE, OK/BAD per word of a given tokenisation): MCC (primary),
F1 of BAD, F1 of OK and their product.

Gold comes from BioMQM's ``error_spans`` (``neutral`` dropped, ``critical`` counted as
``major``; categories are not used, so omission or locale-convention errors, when a table has
them, count like any other span) or from any table of ``src, mt, errors`` records. Spans out of
the text's range, with an unknown severity, or crossing each other (nesting is allowed, as MQM
annotators nest errors) are refused with one line naming the file and row. Bootstrap intervals
resample segments; the paired test compares two predictors on the same resamples.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..files import PathLike, read_lines, read_table, read_text
from .resampling import item_bootstrap_indices, percentile_interval

GOLD_SEVERITIES = {"minor": "minor", "major": "major", "critical": "major"}
SKIPPED_SEVERITIES = ("neutral",)


@dataclass(frozen=True)
class Segment:
    """One translation with its gold and predicted spans: ``(start, end, severity)``."""

    mt: str
    gold: Tuple[Tuple[int, int, str], ...]
    predicted: Tuple[Tuple[int, int, str], ...]


# -- the WMT23 task-2 computation ---------------------------------------------------------------------
def _slots(length: int, spans) -> Tuple[np.ndarray, np.ndarray]:
    major = np.zeros(length + 1, dtype=bool)
    minor = np.zeros(length + 1, dtype=bool)
    for start, end, severity in spans:
        target = major if severity == "major" else minor
        if start < 0 or end < 0:
            continue
        end = min(end, length)
        if start == end:
            target[min(start, length)] = True
        else:
            target[start:end] = True
    return major, minor


def segment_counts(segment: Segment, severity: bool = True) -> Tuple[float, int, int]:
    """(true-positive credit, gold slots, predicted slots) of one segment."""
    length = len(segment.mt.strip())
    gold_major, gold_minor = _slots(length, segment.gold)
    sys_major, sys_minor = _slots(length, segment.predicted)
    gold_any, sys_any = gold_major | gold_minor, sys_major | sys_minor
    both = gold_any & sys_any
    if not severity:
        tp = float(both.sum())
    else:
        agree = (gold_major & sys_major) | (gold_minor & sys_minor) | (gold_major & gold_minor)
        tp = float((both & agree).sum()) + 0.5 * float((both & ~agree).sum())
    return tp, int(gold_any.sum()), int(sys_any.sum())


def counts(segments: Sequence[Segment], severity: bool = True) -> np.ndarray:
    """[n, 3] per-segment (tp, gold, predicted)."""
    return np.array([segment_counts(s, severity) for s in segments], dtype=np.float64).reshape(-1, 3)


def prf(tp: float, gold: float, predicted: float) -> Dict[str, float]:
    recall = tp / gold if gold else 0.0
    precision = tp / predicted if predicted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def span_f1(segments: Sequence[Segment], severity: bool = True) -> Dict[str, float]:
    """Micro precision, recall and F1 over the set (severity-aware, or binary)."""
    c = counts(segments, severity)
    return prf(*c.sum(axis=0))


def span_f1_ci(segments: Sequence[Segment], severity: bool = True, n_samples: int = 1000,
               seed: int = 1234, alpha: float = 0.05) -> Tuple[float, float]:
    """Bootstrap interval of the F1, resampling segments."""
    c = counts(segments, severity)
    if not len(c):
        return float("nan"), float("nan")
    idx = item_bootstrap_indices(len(c), n_samples, seed)
    sums = c[idx].sum(axis=1)  # [samples, 3]
    return percentile_interval([prf(*row)["f1"] for row in sums], alpha)


def paired_span_test(a: Sequence[Segment], b: Sequence[Segment], severity: bool = True,
                     n_samples: int = 1000, seed: int = 1234) -> Dict[str, float]:
    """Is predictor ``b`` better than ``a`` on the same segments? Paired bootstrap: the share
    of segment resamples where b's F1 does not exceed a's (a one-sided p-value), with both
    observed F1s and the mean difference."""
    if len(a) != len(b) or any(x.mt != y.mt for x, y in zip(a, b)):
        raise InputError("the two span predictions are not over the same segments")
    ca, cb = counts(a, severity), counts(b, severity)
    idx = item_bootstrap_indices(len(ca), n_samples, seed)
    fa = np.array([prf(*row)["f1"] for row in ca[idx].sum(axis=1)])
    fb = np.array([prf(*row)["f1"] for row in cb[idx].sum(axis=1)])
    return {"f1_a": prf(*ca.sum(axis=0))["f1"], "f1_b": prf(*cb.sum(axis=0))["f1"],
            "mean_difference": float(np.mean(fb - fa)),
            "p_value": float((np.sum(fb <= fa) + 1) / (n_samples + 1))}


# -- word tags ------------------------------------------------------------------------------------------
def word_tag_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> Dict[str, float]:
    """MCC, F1-BAD, F1-OK and F1-BAD x F1-OK over every word of every segment."""
    g = np.array([t == "BAD" for tags in gold for t in tags])
    p = np.array([t == "BAD" for tags in predicted for t in tags])
    if len(g) != len(p):
        raise InputError(f"{len(p)} predicted word tags for {len(g)} gold ones")
    tp = float(np.sum(g & p))
    tn = float(np.sum(~g & ~p))
    fp = float(np.sum(~g & p))
    fn = float(np.sum(g & ~p))
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denominator if denominator else 0.0
    f1_bad = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    f1_ok = 2 * tn / (2 * tn + fn + fp) if tn + fn + fp else 0.0
    return {"mcc": mcc, "f1_bad": f1_bad, "f1_ok": f1_ok, "f1_mult": f1_bad * f1_ok}


def word_tag_ci(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                n_samples: int = 1000, seed: int = 1234, alpha: float = 0.05) -> Tuple[float, float]:
    """Bootstrap interval of the MCC, resampling segments."""
    idx = item_bootstrap_indices(len(gold), n_samples, seed)
    return percentile_interval([word_tag_scores([gold[i] for i in row],
                                                [predicted[i] for i in row])["mcc"] for row in idx],
                               alpha)


# -- reading gold and predictions ---------------------------------------------------------------------
def parse_spans(value, mt: str, where: str, line: Optional[int]) -> Tuple[Tuple[int, int, str], ...]:
    """``[{"start", "end", "severity", ...}]`` -> checked (start, end, severity) tuples."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise InputError(f"error spans are not JSON ({exc.msg})", where, line) from None
    if not isinstance(value, list):
        raise InputError("error spans must be a JSON list", where, line)
    out = []
    for span in value:
        if not isinstance(span, dict) or not {"start", "end"} <= set(span):
            raise InputError("each error span needs start and end", where, line)
        start, end = span["start"], span["end"]
        severity = str(span.get("severity", "major")).lower().strip()
        if severity in SKIPPED_SEVERITIES:
            continue
        if severity not in GOLD_SEVERITIES:
            raise InputError(f"unknown severity {severity!r} (minor, major, critical, neutral)",
                             where, line)
        if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start <= end <= len(mt):
            raise InputError(f"error span {start}-{end} is outside the text (length {len(mt)})",
                             where, line)
        out.append((start, end, GOLD_SEVERITIES[severity]))
    out.sort()
    for (s1, e1, _), (s2, e2, _) in zip(out, out[1:]):
        if s2 < e1 and e2 > e1:
            raise InputError(f"error spans {s1}-{e1} and {s2}-{e2} cross (nesting is allowed)",
                             where, line)
    return tuple(out)


def read_gold(path: PathLike) -> List[Tuple[str, str, Tuple[Tuple[int, int, str], ...]]]:
    """(source, mt, gold spans) per row of a BioMQM table (``target``, ``error_spans``), a TSV
    with ``src, mt, errors``, or a JSON list of ``{"src", "mt", "errors"}`` records (what
    ``sigmoid-qe --spans --to-json`` writes, the first system's records)."""
    path_text = str(path)
    if path_text.endswith((".json", ".jsonl")):
        return [(src, mt, parse_spans(errors, mt, path_text, k + 1))
                for k, (src, mt, errors) in enumerate(_json_records(path))]
    table = read_table(path)
    columns = table.header
    mt_col = "target" if "target" in columns else "mt"
    src_col = "source" if "source" in columns else "src"
    errors_col = "error_spans" if "error_spans" in columns else "errors"
    missing = [c for c in (src_col, mt_col, errors_col) if c not in columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (a BioMQM table, or src, mt, "
                         f"errors)", path, 1)
    k_src, k_mt, k_err = (table.column(c) for c in (src_col, mt_col, errors_col))
    return [(fields[k_src], fields[k_mt], parse_spans(fields[k_err], fields[k_mt], path_text,
                                                      number))
            for number, fields in table.rows]


def _json_records(path: PathLike):
    text = read_text(path)
    try:
        data = (json.loads(text) if str(path).endswith(".json")
                else [json.loads(line) for line in text.splitlines() if line.strip()])
    except ValueError as exc:
        raise InputError(f"not JSON ({exc})", path) from None
    if isinstance(data, dict):  # sigmoid-qe --to-json: {"signature": ..., system path: [records]}
        systems = {key: value for key, value in data.items() if isinstance(value, list)}
        if len(systems) > 1:
            raise InputError(f"holds {len(systems)} systems ({', '.join(map(str, systems))}): give "
                             "a file with one system (e.g. --to-json of one -t file)", path)
        data = next(iter(systems.values()), [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError("expected a list of {src, mt, errors} records", path)
    for k, record in enumerate(data):
        if "mt" not in record:
            raise InputError("a record has no 'mt'", path, k + 1)
        for key in ("src", "mt"):
            if key in record and not isinstance(record[key], str):
                raise InputError(f"record {k + 1}: '{key}' must be a string, not "
                                 f"{type(record[key]).__name__}", path)
    return [(r.get("src", ""), r["mt"], r.get("errors", [])) for r in data]


def read_predictions(path: PathLike) -> List[Tuple[str, Tuple[Tuple[int, int, str], ...]]]:
    """(mt, predicted spans) per segment: ``sigmoid-qe --spans --to-json`` output, or a WMT23
    task-2 submission (three header lines, then LP, METHOD, SEG, MT, starts, ends, types)."""
    if str(path).endswith((".json", ".jsonl")):
        return [(mt, parse_spans(errors, mt, str(path), k + 1))
                for k, (_, mt, errors) in enumerate(_json_records(path))]
    lines = read_lines(path)
    out = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if number <= 3 and len(fields) == 1:
            continue  # the submission's disk footprint, parameters, ensemble size
        if not line.strip():
            continue
        if len(fields) != 7:
            raise InputError(f"expected 7 tab-separated fields (a WMT23 task-2 line), found "
                             f"{len(fields)}", path, number)
        mt = fields[3]
        spans = []
        starts, ends, kinds = fields[4].split(), fields[5].split(), fields[6].split()
        if not (len(starts) == len(ends) == len(kinds)):
            raise InputError("start, end and type lists differ in length", path, number)
        for s, e, kind in zip(starts, ends, kinds):
            try:
                s, e = int(s), int(e)
            except ValueError:
                raise InputError(f"span {s}-{e} is not two integers", path, number) from None
            if s == -1 and e == -1:
                continue
            spans.append({"start": s, "end": e, "severity": kind})
        out.append((mt, parse_spans(spans, mt, str(path), number)))
    return out


def pair_up(gold, predicted, where: str = "predictions") -> List[Segment]:
    """Gold rows and predictions, matched by position; their texts must agree."""
    if len(gold) != len(predicted):
        raise InputError(f"{len(predicted)} predicted segments for {len(gold)} gold ones", where)
    out = []
    for k, ((_, mt, spans), (p_mt, p_spans)) in enumerate(zip(gold, predicted)):
        if mt.strip() != p_mt.strip():
            raise InputError(f"segment {k + 1}: the predicted translation differs from the gold one",
                             where)
        out.append(Segment(mt, spans, p_spans))
    return out


def read_word_tags(path: PathLike) -> List[List[str]]:
    """OK/BAD tags per segment from a WMT word-level tags file: either one line per segment
    (space-separated tags), or the MLQE-PE ``task2_wordlevel_mt.tags`` layout (one line per
    word: LP, METHOD, mt, SEGMENT, WORD INDEX, WORD, TAG)."""
    segments: Dict[int, List[str]] = {}
    plain: List[List[str]] = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) == 7:
            try:
                seg, index = int(fields[3]), int(fields[4])
            except ValueError:
                raise InputError("segment and word numbers must be integers", path, number) from None
            tags = segments.setdefault(seg, [])
            if index != len(tags):
                raise InputError(f"word {index} of segment {seg} out of order", path, number)
            tag = fields[6].strip()
        else:
            tags = []
            plain.append(tags)
            for tag in line.split():
                if tag not in ("OK", "BAD"):
                    raise InputError(f"tag {tag!r} is not OK or BAD", path, number)
                tags.append(tag)
            continue
        if tag not in ("OK", "BAD"):
            raise InputError(f"tag {tag!r} is not OK or BAD", path, number)
        tags.append(tag)
    if segments and plain:
        raise InputError("mixes the one-line-per-segment and the one-line-per-word layouts", path)
    return plain if plain else [segments[k] for k in sorted(segments)]


# -- the table ------------------------------------------------------------------------------------------
VARIANTS = {"wmt23": True, "binary": False}


def span_records(predictors: Dict[str, Sequence[Segment]], lp: str = "all", ci: bool = False,
                 ci_samples: int = 1000, seed: int = 1234) -> List[dict]:
    """Precision, recall and F1 of every predictor, both variants (WMT23 task 2 with severity,
    and binary), as evaluation records (``level`` "span")."""
    records = []
    names = list(predictors)
    for variant, severity in VARIANTS.items():
        for name in names:
            result = span_f1(predictors[name], severity)
            for measure in ("precision", "recall", "f1"):
                record = {"lp": lp, "level": "span", "measure": f"{measure} ({variant})",
                          "metric": name, "value": result[measure],
                          "n_segments": len(predictors[name])}
                if ci and measure == "f1":
                    record["ci_low"], record["ci_high"] = span_f1_ci(
                        predictors[name], severity, ci_samples, seed)
                records.append(record)
        if len(names) == 2:
            test = paired_span_test(predictors[names[0]], predictors[names[1]], severity,
                                    ci_samples, seed)
            records.append({"lp": lp, "level": "span", "measure": f"p-value ({variant})",
                            "metric": f"{names[1]} better than {names[0]}",
                            "value": test["p_value"]})
    return records


def word_records(gold: Sequence[Sequence[str]], predictors: Dict[str, Sequence[Sequence[str]]],
                 lp: str = "all", ci: bool = False, ci_samples: int = 1000,
                 seed: int = 1234) -> List[dict]:
    """MCC, F1-BAD, F1-OK and F1-mult of every word-tag predictor (``level`` "word")."""
    records = []
    for name, tags in predictors.items():
        if len(tags) != len(gold):
            raise InputError(f"{name}: {len(tags)} segments of tags for {len(gold)} gold ones")
        for k, (g, p) in enumerate(zip(gold, tags)):
            if len(g) != len(p):
                raise InputError(f"{name}: segment {k}: {len(p)} tags for {len(g)} gold words")
        scores = word_tag_scores(gold, tags)
        for measure, value in scores.items():
            record = {"lp": lp, "level": "word", "measure": measure, "metric": name,
                      "value": value, "n_segments": len(gold)}
            if ci and measure == "mcc":
                record["ci_low"], record["ci_high"] = word_tag_ci(gold, tags, ci_samples, seed)
            records.append(record)
    return records
